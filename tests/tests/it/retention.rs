//! Retention end to end: with `[retention] content_days = 0`, a case that
//! reached the clerk through the real Postfix and Dovecot loses its content
//! in clear at the next pass, while everything that proves the deposit
//! stays; a message the office dismissed from the quarantine loses its raw
//! bytes.
#![cfg(feature = "it-pec")]

use std::time::{Duration, Instant};

use sha2::Digest;

use super::deposit::{
    Setup, Simulator, message_ids, quarantined_with, send_plain_mail_to_office, start,
};
use super::flow::{checked_evidence, get, output, post, status_is, submit, task_until};
use super::harness::metric;
use super::pec::pec_lock;

#[tokio::test(flavor = "multi_thread")]
async fn a_finished_case_loses_its_content_in_clear_and_keeps_the_proof_of_its_deposit() {
    let _lock = pec_lock().await;
    let server = start(
        None,
        Setup {
            env: vec![
                ("PONTE_RETENTION__CONTENT_DAYS", "0"),
                ("PONTE_RETENTION__INTERVAL", "300ms"),
            ],
            ..Setup::default()
        },
    );
    // A stray message lands in quarantine; it stays there, whole, until
    // the office dismisses it.
    let token = format!("ponte-retention-{}", std::process::id());
    send_plain_mail_to_office(&token);
    let stray = quarantined_with(&server, &token).await["id"]
        .as_i64()
        .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let raw = get(
        &server,
        "upp-genova",
        &format!("/filings/quarantine/{stray}"),
    )
    .await;
    assert!(String::from_utf8_lossy(&raw.body).contains(&token));
    let dismissed = post(
        &server,
        "upp-genova",
        &format!("/filings/quarantine/{stray}/dismiss"),
    )
    .await;
    assert_eq!(dismissed.status, 200);

    let id = submit(&server, "capacity-genova-parodi.json").await;
    let ids = message_ids(&server, std::slice::from_ref(&id)).await;
    let running = task_until(&server, &id, 10, |t| output(t, "filing").is_some()).await;
    let filing_id = output(&running, "filing").unwrap();
    let datiatto = format!("/filings/{filing_id}/artefacts/DatiAtto.xml");

    // While the case runs, several passes go by and its content stays.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(get(&server, "upp-genova", &datiatto).await.status, 200);

    let sim = Simulator::start("ok", &server.dir.path().join("sim.json"), &ids);
    let done = task_until(&server, &id, 120, status_is("completed")).await;
    drop(sim);

    // Within a few passes of the clerk's acceptance, the content goes.
    let deadline = Instant::now() + Duration::from_secs(30);
    let gone = loop {
        let answer = get(&server, "upp-genova", &datiatto).await;
        if answer.status != 200 || Instant::now() > deadline {
            break answer;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(gone.status, 410, "{}", String::from_utf8_lossy(&gone.body));
    assert_eq!(gone.json()["code"], "content_purged");

    let filing = get(&server, "upp-genova", &format!("/filings/{filing_id}"))
        .await
        .json();
    let artefacts = filing["artefacts"].as_array().unwrap();
    assert!(artefacts.len() > 2, "{filing}");
    for artefact in artefacts {
        let kept = artefact["name"] == "Atto.enc";
        assert_eq!(artefact["purged_at"].is_string(), !kept, "{artefact}");
        assert!(artefact["sha256"].is_string() && artefact["size"].as_u64() > Some(0));
    }
    // The envelope deposited is still served, as listed.
    let envelope = get(
        &server,
        "upp-genova",
        &format!("/filings/{filing_id}/envelope"),
    )
    .await;
    assert_eq!(envelope.status, 200);
    let listed = artefacts.iter().find(|a| a["name"] == "Atto.enc").unwrap();
    assert_eq!(
        listed["sha256"].as_str().unwrap(),
        hex::encode(sha2::Sha256::digest(&envelope.body))
    );
    // The sender's Task is unchanged.
    let task = task_until(&server, &id, 5, status_is("completed")).await;
    assert_eq!(output(&task, "case-number"), output(&done, "case-number"));

    // In the store: the original bytes and the parsed Bundle are gone, the
    // purge is in the evidence log.
    let db = rusqlite::Connection::open_with_flags(
        server.db(),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let (parsed, purged_at, bodies): (i64, Option<String>, i64) = db
        .query_row(
            "SELECT length(s.parsed), s.content_purged_at, \
             (SELECT count(*) FROM exchange_body b WHERE b.exchange_id = s.exchange_id) \
             FROM submission s JOIN filing f ON f.submission_id = s.id WHERE f.id = ?1",
            [&filing_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!((parsed, bodies), (0, 0));
    assert!(purged_at.is_some());
    let entries: i64 = db
        .query_row(
            "SELECT count(*) FROM evidence_entry WHERE filing_id = ?1 \
             AND json_extract(entry, '$.operation') = 'content-purged'",
            [&filing_id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(entries, 1);
    let (raw, purged_at): (i64, Option<String>) = db
        .query_row(
            "SELECT length(raw), purged_at FROM inbound_message WHERE id = ?1",
            [stray],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(raw, 0);
    assert!(purged_at.is_some());
    let (_, metrics) = server.admin_get("/metrics");
    assert_eq!(
        metric(&metrics, "ponte_retention_purged_messages_total", &[]),
        1.0
    );
    assert_eq!(
        metric(&metrics, "ponte_retention_purged_cases_total", &[]),
        1.0
    );
    assert!(metric(&metrics, "ponte_retention_purged_bytes_total", &[]) > 20_000.0);

    // The proof of the deposit still verifies offline.
    checked_evidence(&server, &filing_id).await;
    // And the whole log, purges included, still verifies.
    super::flow::audit_verify(&server);
}
