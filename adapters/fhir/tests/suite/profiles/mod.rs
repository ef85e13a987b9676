//! Ponte's capacity-report, TSO-proposal and AdS-accounts profiles against the team's
//! fixtures in `tests/fixtures/fhir/` (see its README).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use ponte_fhir::parse::{self, Limits};
use ponte_fhir::profile::{self, CourtCase, Facts, Kind, ProfileLimits, RULES, RequestedAct};
use ponte_fhir::{Format, Issue, Severity, bundle};
use serde_json::{Value, json};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/fhir")
}

fn files(dir: &str, ext: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(fixtures().join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    out.sort();
    out
}

fn name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

fn load(rel: &str) -> Value {
    let bytes = std::fs::read(fixtures().join(rel)).unwrap();
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn errors(issues: &[Issue]) -> Vec<&Issue> {
    issues
        .iter()
        .filter(|i| matches!(i.severity, Severity::Error | Severity::Fatal))
        .collect()
}

fn summary(issues: &[Issue]) -> String {
    issues
        .iter()
        .map(|i| {
            format!(
                "{:?} {} {} at {}",
                i.severity,
                i.rule,
                i.code,
                i.expression.as_deref().unwrap_or("-")
            )
        })
        .collect::<Vec<_>>()
        .join("\n  ")
}

mod expected_toml;
mod invalid;
mod layers;
mod valid;

use expected_toml::{ISSUE_TYPES, expected, generate};
use valid::EXPECTED_WARNINGS;
