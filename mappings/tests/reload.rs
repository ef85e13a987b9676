//! Reloading the mapping folder: changes are picked up, a broken folder
//! keeps the last good set.

// Helpers may unwrap too: a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{RICORSO, copy_files, edit, fixture, map_with};
use ponte_mappings::{MappingSet, Mappings};

#[test]
fn reload_picks_up_changes_and_keeps_the_last_good_set() {
    let dir = copy_files();
    let mappings = Mappings::open_with_interval(dir.path(), Duration::ZERO).unwrap();
    let bundle = fixture("capacity-genova-parodi.json");
    let deposit = |set: &MappingSet| {
        map_with(set, &bundle, "ads-appointment", None)
            .unwrap()
            .deposit_description
    };
    assert_eq!(
        deposit(&mappings.current()),
        "RICORSO AMMINISTRAZIONE DI SOSTEGNO"
    );

    // A change is picked up.
    edit(
        dir.path(),
        RICORSO,
        "deposit_description = \"RICORSO AMMINISTRAZIONE DI SOSTEGNO\"",
        "deposit_description = \"RICORSO PER AMMINISTRAZIONE DI SOSTEGNO\"",
    );
    assert_eq!(
        deposit(&mappings.current()),
        "RICORSO PER AMMINISTRAZIONE DI SOSTEGNO"
    );
    assert_eq!(mappings.last_reload_error(), None);

    // A broken file: the previous set stays, the error is reported.
    edit(
        dir.path(),
        RICORSO,
        "[fields]\n",
        "[fields]\n\"beneficiary.shoe_size\" = \"%subject.id\"\n",
    );
    assert_eq!(
        deposit(&mappings.current()),
        "RICORSO PER AMMINISTRAZIONE DI SOSTEGNO"
    );
    let error = mappings.last_reload_error().expect("the reload error");
    assert!(
        error.contains(RICORSO) && error.contains("beneficiary.shoe_size"),
        "{error}"
    );

    // Fixed again: the error clears.
    edit(
        dir.path(),
        RICORSO,
        "\"beneficiary.shoe_size\" = \"%subject.id\"\n",
        "",
    );
    assert_eq!(
        deposit(&mappings.current()),
        "RICORSO PER AMMINISTRAZIONE DI SOSTEGNO"
    );
    assert_eq!(mappings.last_reload_error(), None);

    // A removed file: its act is no longer served.
    std::fs::remove_file(dir.path().join("istanza-generica.toml")).unwrap();
    let set = mappings.current();
    assert!(set.requested_acts().all(|(a, _)| a != "istanza"));

    // With the default interval, changes wait for the next look.
    let slow = Mappings::open(dir.path()).unwrap();
    edit(
        dir.path(),
        RICORSO,
        "RICORSO PER AMMINISTRAZIONE",
        "RICORSO NUOVO PER AMMINISTRAZIONE",
    );
    assert_eq!(
        deposit(&slow.current()),
        "RICORSO PER AMMINISTRAZIONE DI SOSTEGNO"
    );
    assert_eq!(
        deposit(&slow.refresh()),
        "RICORSO NUOVO PER AMMINISTRAZIONE DI SOSTEGNO"
    );
}
