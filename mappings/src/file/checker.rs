//! The checker's shared tools: errors naming the file and the rule, and the
//! parsing of the paths and templates a rule gives.

use std::path::Path as FsPath;

use crate::error::LoadError;
use crate::path::{self, Path};
use crate::template::Template;

/// Checks the rules of one file; `file` names it in errors.
pub(super) struct Checker<'p> {
    pub(super) file: &'p FsPath,
}

impl Checker<'_> {
    /// A [`LoadError::Rule`] for this file.
    pub(super) fn err(&self, rule: impl Into<String>, problem: impl Into<String>) -> LoadError {
        LoadError::Rule {
            file: self.file.to_path_buf(),
            rule: rule.into(),
            problem: problem.into(),
        }
    }

    /// Parses a rule's paths; at least one must be given.
    pub(super) fn paths(&self, rule: &str, texts: &[&str]) -> Result<Vec<Path>, LoadError> {
        if texts.is_empty() {
            return Err(self.err(rule, "no path given"));
        }
        texts
            .iter()
            .map(|t| {
                path::parse(t).map_err(|e| self.err(rule, format!("path {t:?} does not parse {e}")))
            })
            .collect()
    }

    /// Parses a rule's template.
    pub(super) fn template(&self, rule: &str, text: &str) -> Result<Template, LoadError> {
        text.parse()
            .map_err(|e: String| self.err(rule, format!("template {text:?}: {e}")))
    }

    /// Checks that every placeholder of `t` names something `known`.
    pub(super) fn check_names(
        &self,
        rule: &str,
        t: &Template,
        known: &dyn Fn(&str) -> bool,
    ) -> Result<(), LoadError> {
        match t.names().find(|n| !known(n)) {
            Some(n) => Err(self.err(rule, format!("placeholder {{{n}}} names no field or value"))),
            None => Ok(()),
        }
    }
}
