//! Dependency order: roots that use other roots, values whose templates name
//! other values.

use std::collections::{BTreeMap, HashMap};

/// Orders `items` so that each comes after the items it depends on (names
/// that are not items are ignored). `Err(name)`: a cycle through `name`.
pub(super) fn order<T>(
    items: &(impl MapLike<T> + ?Sized),
    deps: impl Fn(&T) -> Vec<String>,
) -> Result<Vec<String>, String> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Visiting,
        Done,
    }
    fn visit<T>(
        name: &str,
        items: &(impl MapLike<T> + ?Sized),
        deps: &dyn Fn(&T) -> Vec<String>,
        marks: &mut HashMap<String, Mark>,
        out: &mut Vec<String>,
    ) -> Result<(), String> {
        match marks.get(name) {
            Some(Mark::Done) => return Ok(()),
            Some(Mark::Visiting) => return Err(name.to_owned()),
            None => {}
        }
        let Some(item) = items.lookup(name) else {
            return Ok(());
        };
        marks.insert(name.to_owned(), Mark::Visiting);
        for d in deps(item) {
            visit(&d, items, deps, marks, out)?;
        }
        marks.insert(name.to_owned(), Mark::Done);
        out.push(name.to_owned());
        Ok(())
    }
    let mut marks = HashMap::new();
    let mut out = Vec::new();
    let mut names = items.names();
    names.sort();
    for n in names {
        visit(&n, items, &deps, &mut marks, &mut out)?;
    }
    Ok(out)
}

/// A map from names to items, as [`order`] reads it.
pub(super) trait MapLike<T> {
    /// The item named `name`.
    fn lookup(&self, name: &str) -> Option<&T>;
    /// Every item's name.
    fn names(&self) -> Vec<String>;
}

impl<T> MapLike<T> for BTreeMap<String, T> {
    fn lookup(&self, name: &str) -> Option<&T> {
        self.get(name)
    }
    fn names(&self) -> Vec<String> {
        self.keys().cloned().collect()
    }
}

impl<T> MapLike<T> for HashMap<String, T> {
    fn lookup(&self, name: &str) -> Option<&T> {
        self.get(name)
    }
    fn names(&self) -> Vec<String> {
        self.keys().cloned().collect()
    }
}
