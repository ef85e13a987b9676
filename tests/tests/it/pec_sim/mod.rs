//! The PEC provider + court simulator (`tests/interop/pec_sim.py`) over the
//! real local Postfix + Dovecot of `scripts/pec-test-servers.sh`: a deposit
//! composed and submitted by `ponte-pec` as the office reaches the court's
//! box; the simulator answers it as the PEC provider and the Tribunale would;
//! `ponte_pec::parse_message` reads every answer back from the office's box
//! and correlates it with the deposit's Message-ID.
//!
//! The mailboxes are shared with other tests: everything here filters by
//! this run's Message-ID and marks processed only its own messages.
#![cfg(feature = "it-pec")]

mod support;

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use ponte_pec::{CourtMessageKind, EsitoOutcome, FetchSelector, ImapMailbox, parse_message};
use sha2::Digest;

use super::harness::{python, workspace_root};
use super::pec::{PecEnv, pec_lock};
use support::{
    check_court, check_receipts, collect, count, imap_config, office, run_json, run_sim,
    send_deposit, sim, sort, wait_in_court_box,
};

#[tokio::test]
async fn scenario_ok_answers_all_four_messages_once() {
    let _lock = pec_lock().await;
    let s = PecEnv::load();
    let (d, _) = send_deposit(&s, "ok").await;
    let id = d.message_id.as_str();
    wait_in_court_box(&s, &d.message_id);
    let state = tempfile::tempdir().unwrap();
    let state_file = state.path().join("sim.json");
    let state_arg = state_file.to_str().unwrap();
    let case = "1234/2026";

    let out = sim(
        &s,
        &[
            "run",
            "--scenario",
            "ok",
            "--once",
            "--case-number",
            case,
            "--state",
            state_arg,
            "--message-id",
            id,
        ],
    );
    let handled = run_json(&out);
    assert_eq!(handled.len(), 1, "{out}");
    assert_eq!(handled[0]["message_id"], id);
    assert_eq!(handled[0]["to"], office(&s));

    let mut office = ImapMailbox::connect(&imap_config(&s, "OFFICE"))
        .await
        .unwrap();
    let a = sort(collect(&mut office, &d.message_id, 4, Duration::from_secs(30)).await);
    let ident = check_receipts(&s, &d, &a);
    assert_eq!(handled[0]["identificativo"], ident.as_str());

    assert_eq!(a.controlli.len(), 1, "one esito controlli automatici");
    let busta = check_court(
        &s,
        &d,
        &ident,
        &a.controlli[0],
        "ESITO CONTROLLI AUTOMATICI",
    );
    let (_, controlli) = &a.controlli[0];
    assert_eq!(controlli.codice_esito, "1");
    assert_eq!(controlli.outcome(), EsitoOutcome::Positive);
    assert_eq!(controlli.numero_ruolo, None);

    assert_eq!(a.intervento.len(), 1, "one esito intervento cancelleria");
    assert_eq!(
        check_court(&s, &d, &ident, &a.intervento[0], "ACCETTAZIONE"),
        busta,
        "the same IDBUSTA in the third and fourth PEC"
    );
    let (_, intervento) = &a.intervento[0];
    assert_eq!(intervento.codice_esito, "2");
    assert_eq!(intervento.outcome(), EsitoOutcome::Positive);
    assert_eq!(intervento.numero_ruolo.as_deref(), Some(case));

    // The state remembers the deposit.
    let st: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state_file).unwrap()).unwrap();
    assert_eq!(st["handled"][id]["scenario"], "ok");

    // Idempotent: again, with the state file and without (the IMAP keyword
    // remembers too), nothing is answered twice.
    for extra in [vec!["--state", state_arg], vec![]] {
        let mut args = vec!["run", "--scenario", "ok", "--once", "--message-id", id];
        args.extend(extra);
        let again = sim(&s, &args);
        assert!(again.trim().is_empty(), "answered twice: {again}");
    }
    let more = collect(&mut office, &d.message_id, 1, Duration::from_secs(3)).await;
    assert!(more.is_empty(), "new messages after a second run: {more:?}");
    office.logout().await;

    // Deposited exactly once, and what the court received is the deposit.
    assert_eq!(
        count(&s, &d.message_id),
        serde_json::json!({"deposits": 1, "messages": 1})
    );
    let listed = run_json(&sim(&s, &["deposits", "--message-id", id]));
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["subject"], format!("DEPOSITO {}", d.description));
    assert_eq!(
        listed[0]["attachment_sha256"],
        hex::encode(sha2::Sha256::digest(&d.atto_enc))
    );
    assert_eq!(listed[0]["handled"], true);
    assert!(listed[0]["date"].as_str().is_some_and(|t| !t.is_empty()));
}

#[tokio::test]
async fn scenario_checks_failed_stops_after_the_third_pec() {
    let _lock = pec_lock().await;
    let s = PecEnv::load();
    let (d, _) = send_deposit(&s, "checks-failed").await;
    let id = d.message_id.as_str();
    wait_in_court_box(&s, &d.message_id);
    let out = sim(
        &s,
        &[
            "run",
            "--scenario",
            "checks-failed",
            "--once",
            "--message-id",
            id,
        ],
    );
    assert_eq!(run_json(&out).len(), 1, "{out}");

    let mut office = ImapMailbox::connect(&imap_config(&s, "OFFICE"))
        .await
        .unwrap();
    let mut got = collect(&mut office, &d.message_id, 3, Duration::from_secs(30)).await;
    // Nothing more arrives (the simulator has finished sending).
    got.extend(collect(&mut office, &d.message_id, 1, Duration::from_secs(2)).await);
    office.logout().await;
    let a = sort(got);
    let ident = check_receipts(&s, &d, &a);
    assert_eq!(a.controlli.len(), 1, "one esito controlli automatici");
    assert!(a.intervento.is_empty(), "no fourth PEC after failed checks");
    let busta = check_court(
        &s,
        &d,
        &ident,
        &a.controlli[0],
        "ESITO CONTROLLI AUTOMATICI",
    );
    let (_, e) = &a.controlli[0];
    assert_eq!(e.codice_esito, "-1");
    assert_eq!(e.outcome(), EsitoOutcome::Negative);
    assert!(e.descrizione_esito.contains("FATAL"), "{e:?}");
    assert!(e.descrizione_esito.contains(&format!("IDBUSTA: {busta}")));

    let again = sim(
        &s,
        &[
            "run",
            "--scenario",
            "checks-failed",
            "--once",
            "--message-id",
            id,
        ],
    );
    assert!(again.trim().is_empty(), "answered twice: {again}");
}

#[test]
fn unreachable_servers_are_a_clear_error() {
    let s = PecEnv::load();
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join("env");
    // Nothing listens on port 1.
    let text = std::fs::read_to_string(&s.file)
        .unwrap()
        .lines()
        .map(|l| {
            if l.starts_with("PONTE_PEC_IMAPS_PORT=") {
                "PONTE_PEC_IMAPS_PORT=1".to_owned()
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&env, text).unwrap();
    for args in [vec!["count"], vec!["run", "--scenario", "ok", "--once"]] {
        let out = run_sim(&env, &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("cannot reach IMAPS") && err.contains("pec-test-servers.sh"),
            "{err}"
        );
    }
    let out = run_sim(&dir.path().join("missing"), &["count"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("pec-test-servers.sh"));
}

#[tokio::test]
async fn scenarios_refused_checks_warn_rda_only_and_no_receipts() {
    let _lock = pec_lock().await;
    let s = PecEnv::load();
    let mut office = ImapMailbox::connect(&imap_config(&s, "OFFICE"))
        .await
        .unwrap();
    for (scenario, expected) in [
        ("refused", 4),
        ("checks-warn", 4),
        ("rda-only", 1),
        ("no-receipts", 0),
    ] {
        let (d, _) = send_deposit(&s, scenario).await;
        let id = d.message_id.as_str();
        wait_in_court_box(&s, &d.message_id);
        let out = sim(
            &s,
            &["run", "--scenario", scenario, "--once", "--message-id", id],
        );
        let handled = run_json(&out);
        assert_eq!(handled.len(), 1, "{scenario}: {out}");
        assert_eq!(
            handled[0]["sent"].as_array().map(Vec::len),
            Some(expected),
            "{scenario}: {out}"
        );
        let mut got = collect(
            &mut office,
            &d.message_id,
            expected,
            Duration::from_secs(30),
        )
        .await;
        got.extend(collect(&mut office, &d.message_id, 1, Duration::from_secs(2)).await);
        let a = sort(got);
        match scenario {
            "refused" => {
                let ident = check_receipts(&s, &d, &a);
                assert_eq!(a.controlli.len(), 1);
                assert_eq!(a.controlli[0].1.outcome(), EsitoOutcome::Positive);
                assert_eq!(a.intervento.len(), 1);
                check_court(&s, &d, &ident, &a.intervento[0], "RIFIUTO");
                let (_, e) = &a.intervento[0];
                assert_eq!(e.codice_esito, "-1");
                assert_eq!(e.outcome(), EsitoOutcome::Negative);
                assert_eq!(e.numero_ruolo, None);
            }
            "checks-warn" => {
                // A non-blocking anomaly: -1, and the office accepts all the same.
                let ident = check_receipts(&s, &d, &a);
                assert_eq!(a.controlli.len(), 1);
                let busta = check_court(
                    &s,
                    &d,
                    &ident,
                    &a.controlli[0],
                    "ESITO CONTROLLI AUTOMATICI",
                );
                assert_eq!(a.controlli[0].1.outcome(), EsitoOutcome::Negative);
                assert!(a.controlli[0].1.descrizione_esito.contains("WARN"));
                assert_eq!(a.intervento.len(), 1);
                assert_eq!(
                    check_court(&s, &d, &ident, &a.intervento[0], "ACCETTAZIONE"),
                    busta
                );
                assert_eq!(a.intervento[0].1.outcome(), EsitoOutcome::Positive);
                assert!(a.intervento[0].1.numero_ruolo.is_some());
            }
            "rda-only" => {
                assert_eq!(a.accettazione.len(), 1);
                assert!(a.consegna.is_empty() && a.controlli.is_empty());
                assert!(a.intervento.is_empty());
            }
            _ => {
                assert!(a.accettazione.is_empty() && a.consegna.is_empty());
                assert!(a.controlli.is_empty() && a.intervento.is_empty());
                // Handled all the same: a later run does not answer it.
                let again = sim(
                    &s,
                    &["run", "--scenario", "ok", "--once", "--message-id", id],
                );
                assert!(again.trim().is_empty(), "answered: {again}");
            }
        }
    }
    office.logout().await;
}

#[tokio::test]
async fn court_may_name_the_deposit_by_the_provider_identificativo() {
    let _lock = pec_lock().await;
    // IdMsgMitt = identificativo: the court messages still correlate, by
    // IdMsgPdA/IdMsg (the identificativo the accettazione gave).
    let s = PecEnv::load();
    let (d, _) = send_deposit(&s, "idmsgmitt").await;
    let id = d.message_id.as_str();
    wait_in_court_box(&s, &d.message_id);
    let out = sim(
        &s,
        &[
            "run",
            "--scenario",
            "ok",
            "--once",
            "--idmsgmitt",
            "identificativo",
            "--message-id",
            id,
        ],
    );
    let ident = run_json(&out)[0]["identificativo"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut office = ImapMailbox::connect(&imap_config(&s, "OFFICE"))
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut court = BTreeMap::new();
    while court.len() < 2 {
        assert!(Instant::now() < deadline, "court messages not delivered");
        let batch = office
            .fetch(FetchSelector::Unprocessed, 5000)
            .await
            .unwrap();
        for m in batch.messages {
            if let Ok(p) = parse_message(&m.raw)
                && let Some(c) = p.court()
                && c.correlation.provider_message_id.as_deref() == Some(ident.as_str())
            {
                assert_eq!(
                    c.correlation.deposit_message_id.as_deref(),
                    Some(ident.as_str())
                );
                court.insert(m.uid, c.kind);
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // The receipts, by the deposit's Message-ID.
    let receipts = collect(&mut office, &d.message_id, 2, Duration::from_secs(30)).await;
    assert_eq!(receipts.len(), 2);
    for uid in court.keys() {
        office.mark_processed(*uid).await.unwrap();
    }
    office.logout().await;
    let mut kinds: Vec<_> = court.into_values().collect();
    kinds.sort_by_key(|k| format!("{k:?}"));
    assert_eq!(
        kinds,
        vec![
            CourtMessageKind::EsitoControlliAutomatici,
            CourtMessageKind::EsitoInterventoUfficio
        ]
    );
}

#[test]
fn the_simulators_offline_self_test_passes() {
    // Message layout, daticert.xml and EsitoAtto.xml order, and the
    // signature modes checked with `openssl smime -verify`.
    let out = Command::new(python())
        .args(["-m", "unittest", "-v", "tests/interop/test_pec_sim.py"])
        .current_dir(workspace_root())
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{report}");
    assert!(report.contains("Ran 5 tests"), "{report}");
    assert!(
        report.contains("test_valid_verifies_and_every_spoiled_mode_does_not"),
        "{report}"
    );
}
