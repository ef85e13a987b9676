//! Where paths start: the file's `[roots]` (checked and ordered) besides the
//! built-in roots, and the `[court]` paths, which start from them.

use std::collections::BTreeMap;

use super::checker::Checker;
use super::order::order;
use super::raw::{PathList, RawCourt};
use super::{BUILTIN_ROOTS, CourtRule};
use crate::error::LoadError;
use crate::path::Path;
use crate::template::is_value_name;

/// The file's own roots, checked: known names, no `%court`, no cycle.
pub(super) struct Roots {
    paths: BTreeMap<String, Vec<Path>>,
    /// Root names in an order where each comes after the roots it uses.
    order: Vec<String>,
}

impl Roots {
    /// Parses `[roots]`, checks names and dependencies, orders them.
    pub(super) fn check(
        c: &Checker<'_>,
        raw: &BTreeMap<String, PathList>,
    ) -> Result<Self, LoadError> {
        let mut paths = BTreeMap::new();
        for (name, list) in raw {
            let rule = format!("roots.{name}");
            if !is_value_name(name) || name.contains('.') || BUILTIN_ROOTS.contains(&name.as_str())
            {
                return Err(c.err(
                    &rule,
                    "a root name is letters, digits and _, not a built-in root",
                ));
            }
            paths.insert(name.clone(), c.paths(&rule, &list.texts())?);
        }
        let mut roots = Self {
            paths,
            order: Vec::new(),
        };
        for (name, paths) in &roots.paths {
            for p in paths {
                if p.root == "court" {
                    return Err(c.err(format!("roots.{name}"), "roots cannot use %court"));
                }
                if !roots.known(&p.root) {
                    return Err(c.err(format!("roots.{name}"), format!("unknown root %{}", p.root)));
                }
            }
        }
        roots.order = order(&roots.paths, |paths: &Vec<Path>| {
            paths.iter().map(|p| p.root.clone()).collect()
        })
        .map_err(|cycle| {
            c.err(
                format!("roots.{cycle}"),
                "roots refer to each other in a cycle",
            )
        })?;
        Ok(roots)
    }

    /// Whether `root` is built in or one of the file's.
    fn known(&self, root: &str) -> bool {
        BUILTIN_ROOTS.contains(&root) || self.paths.contains_key(root)
    }

    /// Checks that each of `paths` starts from a known root (`%court` only
    /// where `court_allowed`).
    pub(super) fn check_paths(
        &self,
        c: &Checker<'_>,
        rule: &str,
        paths: &[Path],
        court_allowed: bool,
    ) -> Result<(), LoadError> {
        for p in paths {
            if !self.known(&p.root) || (!court_allowed && p.root == "court") {
                return Err(c.err(rule, format!("unknown root %{} in {:?}", p.root, p.text)));
            }
        }
        Ok(())
    }

    /// The roots with their paths, each after the roots it uses.
    pub(super) fn into_ordered(self) -> Vec<(String, Vec<Path>)> {
        let Self { mut paths, order } = self;
        order
            .into_iter()
            .filter_map(|n| paths.remove(&n).map(|p| (n, p)))
            .collect()
    }
}

/// Checks `[court]`: its paths may not start from `%court`.
pub(super) fn court(
    c: &Checker<'_>,
    roots: &Roots,
    raw: &RawCourt,
) -> Result<CourtRule, LoadError> {
    let opt_paths = |rule: &str, list: &Option<PathList>| -> Result<Vec<Path>, LoadError> {
        match list {
            Some(l) => {
                let paths = c.paths(rule, &l.texts())?;
                roots.check_paths(c, rule, &paths, false)?;
                Ok(paths)
            }
            None => Ok(Vec::new()),
        }
    };
    Ok(CourtRule {
        sender: opt_paths("court.sender", &raw.sender)?,
        comune_istat: opt_paths("court.comune_istat", &raw.comune_istat)?,
        comune_name: opt_paths("court.comune_name", &raw.comune_name)?,
    })
}
