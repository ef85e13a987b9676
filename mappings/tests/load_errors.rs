//! Mapping files that do not load: each error names the file and the rule.

// Helpers may unwrap too: a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};

use common::{RICORSO, copy_files, edit};
use ponte_mappings::{LoadError, MappingSet};

/// The file, rule and problem of the rule error loading `dir` gives.
fn load_error(dir: &Path) -> (PathBuf, String, String) {
    match MappingSet::load(dir) {
        Err(LoadError::Rule {
            file,
            rule,
            problem,
        }) => (file, rule, problem),
        other => panic!("expected a rule error, got {other:?}"),
    }
}

#[test]
fn unknown_field_fails_to_load() {
    let dir = copy_files();
    edit(
        dir.path(),
        RICORSO,
        "[fields]\n",
        "[fields]\n\"beneficiary.shoe_size\" = \"%subject.id\"\n",
    );
    let (file, rule, problem) = load_error(dir.path());
    assert!(file.ends_with(RICORSO));
    assert_eq!(rule, "beneficiary.shoe_size");
    assert!(problem.contains("unknown field"), "{problem}");
}

#[test]
fn bad_path_fails_to_load() {
    let dir = copy_files();
    edit(
        dir.path(),
        RICORSO,
        "\"beneficiary.surname\" = \"%subject.name.first().family\"",
        "\"beneficiary.surname\" = \"%subject.name.frist().family\"",
    );
    let (file, rule, problem) = load_error(dir.path());
    assert!(file.ends_with(RICORSO));
    assert_eq!(rule, "beneficiary.surname");
    assert!(problem.contains("frist"), "{problem}");
    let message = MappingSet::load(dir.path()).unwrap_err().to_string();
    assert!(
        message.contains(RICORSO) && message.contains("beneficiary.surname"),
        "{message}"
    );
}

#[test]
fn template_naming_nothing_fails_to_load() {
    let dir = copy_files();
    edit(
        dir.path(),
        RICORSO,
        "heading = \"CHIEDE\"",
        "heading = \"CHIEDE {beneficiary.shoe_size}\"",
    );
    let (file, rule, problem) = load_error(dir.path());
    assert!(file.ends_with(RICORSO));
    assert!(rule.starts_with("main_act.blocks["), "{rule}");
    assert!(problem.contains("beneficiary.shoe_size"), "{problem}");
}

#[test]
fn other_load_errors() {
    // Unknown root, unknown transform, unknown key, missing required field,
    // duplicate act, unknown requested act, TOML syntax.
    let cases: &[(&str, &str, &str)] = &[
        (
            "%petitioner.name.first().family",
            "%nobody.name.first().family",
            "petitioner.name",
        ),
        (
            "transform = \"street_name\"",
            "transform = \"streetname\"",
            "petitioner.address.street",
        ),
        (
            "\"beneficiary.residence_town\" = { path = \"%home.city\", required = false }",
            "\"beneficiary.residence_town\" = { path = \"%home.city\", requird = false }",
            "beneficiary.residence_town",
        ),
        (
            "\"beneficiary.surname\" = \"%subject.name.first().family\"\n",
            "",
            "beneficiary.surname",
        ),
        (
            "requested_acts = [\"ads-appointment\"]",
            "requested_acts = [\"ads-appointmnt\"]",
            "requested_acts",
        ),
    ];
    for (from, to, rule) in cases {
        let dir = copy_files();
        edit(dir.path(), RICORSO, from, to);
        let (_, got, problem) = load_error(dir.path());
        assert_eq!(got, *rule, "{problem}");
    }
    let dir = copy_files();
    edit(
        dir.path(),
        "istanza-generica.toml",
        "requested_acts = [\"istanza\"]",
        "requested_acts = [\"ads-report\"]",
    );
    assert!(matches!(
        MappingSet::load(dir.path()),
        Err(LoadError::Duplicate { .. })
    ));
    let dir = copy_files();
    edit(
        dir.path(),
        RICORSO,
        "act = \"RicorsoAmministrazioneSostegno\"",
        "act = \"Ricorso\"",
    );
    let err = MappingSet::load(dir.path()).unwrap_err();
    assert!(
        matches!(&err, LoadError::Syntax { file, .. } if file.ends_with(RICORSO)),
        "{err}"
    );
    assert_eq!(err.code(), "mapping_syntax");
}
