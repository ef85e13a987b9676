//! [`RetentionStore`] on SQLite.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use rusqlite::{Connection, params};

use super::writer::Appender;
use super::{SqliteStore, classify};
use crate::deposit::state::DepositState;
use crate::evidence::{Entry, format_time};
use crate::store::{FilingState, PurgePolicy, PurgedCase, PurgedMessage, Result, RetentionStore};

/// Finished cases whose content is still there, finished before `?1`,
/// oldest submission first, at most `?2`: `(submission, filing, task,
/// exchange)`. A filing that never reached a deposit is finished when it
/// failed; one with a deposit when the deposit is in a final state.
static FINISHED_CASES: LazyLock<String> = LazyLock::new(|| {
    let finals: Vec<String> = DepositState::ALL
        .iter()
        .filter(|s| s.is_final())
        .map(|s| format!("'{}'", s.as_str()))
        .collect();
    format!(
        "SELECT s.id, f.id, f.task_id, s.exchange_id FROM submission s \
         JOIN filing f ON f.submission_id = s.id \
         LEFT JOIN deposit d ON d.filing_id = f.id \
         WHERE s.content_purged_at IS NULL AND CASE WHEN d.filing_id IS NULL \
         THEN f.status = '{failed}' AND f.updated_at < ?1 \
         ELSE d.state IN ({finals}) AND d.updated_at < ?1 END \
         ORDER BY s.received_at LIMIT ?2",
        failed = FilingState::Failed.as_str(),
        finals = finals.join(", "),
    )
});

impl RetentionStore for SqliteStore {
    async fn purge_finished(&self, policy: PurgePolicy) -> Result<Vec<PurgedCase>> {
        self.run_write(move |conn, appender| purge(conn, appender, &policy))
            .await
    }

    async fn purge_dismissed(
        &self,
        dismissed_before: String,
        limit: u32,
    ) -> Result<Vec<PurgedMessage>> {
        self.run_write(move |conn, appender| {
            purge_messages(conn, appender, &dismissed_before, limit)
        })
        .await
    }
}

/// Empties the raw bytes of messages dismissed before `before`.
fn purge_messages(
    conn: &Connection,
    appender: &mut Appender<'_>,
    before: &str,
    limit: u32,
) -> Result<Vec<PurgedMessage>> {
    let found = {
        let mut stmt = conn
            .prepare_cached(
                "SELECT id, length(raw) FROM inbound_message WHERE state = 'dismissed' \
                 AND purged_at IS NULL AND dismissed_at < ?1 ORDER BY dismissed_at, id LIMIT ?2",
            )
            .map_err(classify)?;
        let rows = stmt
            .query_map(params![before, limit], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
            })
            .map_err(classify)?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(classify)?
    };
    let now = format_time(time::OffsetDateTime::now_utc());
    let mut purged = Vec::with_capacity(found.len());
    for (id, bytes) in found {
        conn.execute(
            "UPDATE inbound_message SET raw = x'', purged_at = ?2 WHERE id = ?1",
            params![id, now],
        )
        .map_err(classify)?;
        let bytes = bytes.max(0) as u64;
        let recorded = appender.append(Entry {
            kind: "admin".to_owned(),
            operation: Some("content-purged".to_owned()),
            objects: BTreeMap::from([("message".to_owned(), id.to_string())]),
            outcome: "ok".to_owned(),
            size: Some(bytes),
            ..Entry::default()
        })?;
        purged.push(PurgedMessage {
            message: id,
            bytes,
            entry: recorded.index,
        });
    }
    Ok(purged)
}

/// A case found by [`FINISHED_CASES`].
struct Case {
    submission: String,
    filing: String,
    task: String,
    exchange: Vec<u8>,
}

fn purge(
    conn: &Connection,
    appender: &mut Appender<'_>,
    policy: &PurgePolicy,
) -> Result<Vec<PurgedCase>> {
    let cases = {
        let mut stmt = conn.prepare_cached(&FINISHED_CASES).map_err(classify)?;
        let rows = stmt
            .query_map(params![policy.finished_before, policy.limit], |r| {
                Ok(Case {
                    submission: r.get(0)?,
                    filing: r.get(1)?,
                    task: r.get(2)?,
                    exchange: r.get(3)?,
                })
            })
            .map_err(classify)?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(classify)?
    };
    let keep = serde_json::to_string(&policy.keep_artefacts)
        .map_err(|e| crate::store::Error::Other(Box::new(e)))?;
    let now = format_time(time::OffsetDateTime::now_utc());
    cases
        .into_iter()
        .map(|case| purge_case(conn, appender, case, &keep, &now))
        .collect()
}

/// Removes one case's content and records it; `keep` is a JSON array of
/// artefact names left alone.
fn purge_case(
    conn: &Connection,
    appender: &mut Appender<'_>,
    case: Case,
    keep: &str,
    now: &str,
) -> Result<PurgedCase> {
    let bytes_of = |sql: &str, args: &[&dyn rusqlite::ToSql]| -> Result<u64> {
        conn.prepare_cached(sql)
            .and_then(|mut stmt| stmt.query_row(args, |r| r.get::<_, i64>(0)))
            .map(|n| n.max(0) as u64)
            .map_err(classify)
    };
    let mut bytes = bytes_of(
        "SELECT coalesce(sum(length(body)), 0) FROM exchange_body WHERE exchange_id = ?1",
        &[&case.exchange],
    )?;
    bytes += bytes_of(
        "SELECT length(parsed) FROM submission WHERE id = ?1",
        &[&case.submission],
    )?;
    bytes += bytes_of(
        "SELECT coalesce(sum(length(body)), 0) FROM filing_artefact \
         WHERE filing_id = ?1 AND purged_at IS NULL \
         AND name NOT IN (SELECT value FROM json_each(?2))",
        &[&case.filing, &keep],
    )?;
    let run = |sql: &str, args: &[&dyn rusqlite::ToSql]| -> Result<usize> {
        conn.prepare_cached(sql)
            .and_then(|mut stmt| stmt.execute(args))
            .map_err(classify)
    };
    run(
        "DELETE FROM exchange_body WHERE exchange_id = ?1",
        &[&case.exchange],
    )?;
    run(
        "UPDATE submission SET parsed = x'', content_purged_at = ?2 WHERE id = ?1",
        &[&case.submission, &now],
    )?;
    run(
        "UPDATE filing_artefact SET body = x'', purged_at = ?2 \
         WHERE filing_id = ?1 AND purged_at IS NULL \
         AND name NOT IN (SELECT value FROM json_each(?3))",
        &[&case.filing, &now, &keep],
    )?;
    let recorded = appender.append(Entry {
        kind: "admin".to_owned(),
        operation: Some("content-purged".to_owned()),
        objects: BTreeMap::from([
            ("filing".to_owned(), case.filing.clone()),
            ("submission".to_owned(), case.submission.clone()),
            ("task".to_owned(), case.task.clone()),
        ]),
        outcome: "ok".to_owned(),
        size: Some(bytes),
        ..Entry::default()
    })?;
    Ok(PurgedCase {
        submission: case.submission,
        filing: case.filing,
        task: case.task,
        bytes,
        entry: recorded.index,
    })
}

#[cfg(test)]
mod tests {
    use rusqlite::{Connection, params};

    use super::*;
    use crate::store::{Error, EvidenceStore, ExchangeId, ExchangeStore, FilingStore};

    const OLD: &str = "2026-01-01T00:00:00.000000Z";
    const CUTOFF: &str = "2026-06-01T00:00:00.000000Z";
    const RECENT: &str = "2026-09-01T00:00:00.000000Z";

    /// A case seeded with SQL: its content carries markers that can be
    /// looked for in the database file.
    struct Seeded {
        id: &'static str,
        exchange: ExchangeId,
    }

    impl Seeded {
        fn marker(&self, what: &str) -> String {
            format!("MARKER-{what}-{}", self.id)
        }
    }

    /// Seeds case `id`: a submission received at `received`, its filing in
    /// `filing_status` last updated at `at`, and a deposit in `deposit` (if
    /// any) also updated at `at`.
    fn seed(
        conn: &Connection,
        id: &'static str,
        received: &str,
        filing_status: &str,
        deposit: Option<&str>,
        at: &str,
    ) -> Seeded {
        let case = Seeded {
            id,
            exchange: ExchangeId::new(),
        };
        let exchange = case.exchange.as_uuid().as_bytes().to_vec();
        // The original body spills over several pages; the rest fits in one.
        let body = case.marker("body").repeat(1000);
        conn.execute(
            "INSERT INTO exchange (id, at, direction, method, route, body_size, outcome) \
             VALUES (?1, ?2, 'inbound', 'POST', '/fhir/Bundle', ?3, 'ok')",
            params![exchange, received, body.len() as i64],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO exchange_body (exchange_id, body) VALUES (?1, ?2)",
            params![exchange, body.as_bytes()],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO submission (id, exchange_id, agency, received_at, kind, act, \
             request_sha256, content_type, parsed) VALUES (?1, ?2, 'asl3-genovese', ?3, \
             'capacity-report', 'ads-appointment', x'00', 'application/fhir+json', ?4)",
            params![
                format!("sub-{id}"),
                exchange,
                received,
                case.marker("parsed").as_bytes()
            ],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO task (id, submission_id, agency, status, authored_on, last_modified) \
             VALUES (?1, ?2, 'asl3-genovese', 'in-progress', ?3, ?3)",
            params![format!("task-{id}"), format!("sub-{id}"), received],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO filing (id, task_id, submission_id, agency, act, status, created_at, \
             updated_at) VALUES (?1, ?2, ?3, 'asl3-genovese', 'ads-appointment', ?4, ?5, ?6)",
            params![
                format!("filing-{id}"),
                format!("task-{id}"),
                format!("sub-{id}"),
                filing_status,
                received,
                at
            ],
        )
        .unwrap();
        for (name, content) in [
            ("DatiAtto.xml", case.marker("datiatto")),
            ("Atto.enc", case.marker("envelope")),
        ] {
            conn.execute(
                "INSERT INTO filing_artefact (filing_id, name, content_type, sha256, size, body) \
                 VALUES (?1, ?2, 'application/octet-stream', x'00', ?3, ?4)",
                params![
                    format!("filing-{id}"),
                    name,
                    content.len() as i64,
                    content.as_bytes()
                ],
            )
            .unwrap();
        }
        if let Some(state) = deposit {
            conn.execute(
                "INSERT INTO deposit (filing_id, message_id, state, next_attempt_at, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?4)",
                params![
                    format!("filing-{id}"),
                    format!("{id}@ponte.test"),
                    state,
                    at
                ],
            )
            .unwrap();
        }
        case
    }

    fn policy(limit: u32) -> PurgePolicy {
        PurgePolicy {
            finished_before: CUTOFF.to_owned(),
            keep_artefacts: vec!["Atto.enc".to_owned()],
            limit,
        }
    }

    #[tokio::test]
    async fn only_cases_finished_before_the_cutoff_lose_their_content_and_the_file_keeps_none_of_it()
     {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let store = SqliteStore::open(&path, 1, 16).unwrap();
        let conn = Connection::open(&path).unwrap();
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .unwrap();
        // As every connection of the store does (`configure`).
        conn.pragma_update(None, "secure_delete", "ON").unwrap();
        conn.execute_batch("BEGIN").unwrap();
        let clerk = seed(
            &conn,
            "clerk",
            "2025-12-01T00:00:00.000000Z",
            "ready",
            Some("accepted-by-clerk"),
            OLD,
        );
        let failed = seed(
            &conn,
            "failed",
            "2025-12-02T00:00:00.000000Z",
            "failed",
            None,
            OLD,
        );
        let kept = [
            seed(
                &conn,
                "recent",
                "2025-12-03T00:00:00.000000Z",
                "ready",
                Some("refused"),
                RECENT,
            ),
            seed(
                &conn,
                "sent",
                "2025-12-04T00:00:00.000000Z",
                "ready",
                Some("sent"),
                OLD,
            ),
            seed(
                &conn,
                "hold",
                "2025-12-05T00:00:00.000000Z",
                "on-hold",
                None,
                OLD,
            ),
            seed(
                &conn,
                "ready",
                "2025-12-06T00:00:00.000000Z",
                "ready",
                None,
                OLD,
            ),
            seed(
                &conn,
                "checks",
                "2025-12-07T00:00:00.000000Z",
                "ready",
                Some("checks-failed"),
                OLD,
            ),
        ];
        conn.execute_batch("COMMIT").unwrap();

        let first = store.purge_finished(policy(1)).await.unwrap();
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].submission, "sub-clerk", "oldest first");
        let rest = store.purge_finished(policy(16)).await.unwrap();
        assert_eq!(
            rest.iter().map(|c| c.filing.as_str()).collect::<Vec<_>>(),
            ["filing-failed"]
        );
        assert!(
            store.purge_finished(policy(16)).await.unwrap().is_empty(),
            "purged once"
        );

        for (purged, case) in [(&first[0], &clerk), (&rest[0], &failed)] {
            let expected = case.marker("body").len() * 1000
                + case.marker("parsed").len()
                + case.marker("datiatto").len();
            assert_eq!(purged.bytes, expected as u64);
            assert_eq!(purged.task, format!("task-{}", case.id));
            let entry = store.evidence_entry(purged.entry).await.unwrap();
            let entry: serde_json::Value = serde_json::from_slice(&entry.entry).unwrap();
            assert_eq!(entry["operation"], "content-purged");
            assert_eq!(entry["objects"]["filing"], format!("filing-{}", case.id));
            assert_eq!(entry["size"], expected);
            assert_eq!(store.exchange_body(case.exchange).await.unwrap(), None);
            let filing = format!("filing-{}", case.id);
            assert!(matches!(
                store
                    .filing_artefact(filing.clone(), "DatiAtto.xml".into())
                    .await,
                Err(Error::Purged)
            ));
            let (_, envelope) = store
                .filing_artefact(filing.clone(), "Atto.enc".into())
                .await
                .unwrap();
            assert_eq!(envelope, case.marker("envelope").as_bytes());
            let listed = store.filing(filing).await.unwrap().artefacts;
            assert!(listed[0].purged_at.is_some() && listed[1].purged_at.is_none());
            assert_eq!(listed[0].size as usize, case.marker("datiatto").len());
        }
        for case in &kept {
            assert!(
                store.exchange_body(case.exchange).await.unwrap().is_some(),
                "{}",
                case.id
            );
            let (_, bytes) = store
                .filing_artefact(format!("filing-{}", case.id), "DatiAtto.xml".into())
                .await
                .unwrap();
            assert_eq!(bytes, case.marker("datiatto").as_bytes());
        }

        // Once the WAL is written back, the file holds none of the purged
        // content (secure_delete zeroes what was freed), and still holds the
        // rest: the check can see a marker where there is one.
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .unwrap();
        let file = std::fs::read(&path).unwrap();
        let contains = |needle: &str| file.windows(needle.len()).any(|w| w == needle.as_bytes());
        for case in [&clerk, &failed] {
            for what in ["body", "parsed", "datiatto"] {
                assert!(
                    !contains(&case.marker(what)),
                    "{} of {} is still in the file",
                    what,
                    case.id
                );
            }
            assert!(contains(&case.marker("envelope")), "{}", case.id);
        }
        for case in &kept {
            for what in ["body", "parsed", "datiatto"] {
                assert!(contains(&case.marker(what)), "{what} of {}", case.id);
            }
        }
    }

    #[tokio::test]
    async fn a_dismissed_message_leaves_the_quarantine_and_its_bytes_go_after_the_period() {
        use crate::store::{DepositStore, Error, InboundMessage, Ingested};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let store = SqliteStore::open(&path, 1, 16).unwrap();
        let mut ids = Vec::new();
        for uid in 1..=2 {
            let got = store
                .ingest_message(InboundMessage {
                    mailbox: "INBOX".into(),
                    uid_validity: 1,
                    uid,
                    raw: format!("MARKER-stray-{uid}").repeat(500).into_bytes(),
                    kind: "unparseable".into(),
                    refers_to: None,
                    court_address: None,
                    event: None,
                    values: Vec::new(),
                    problem: Some("not_a_pec_message".into()),
                })
                .await
                .unwrap();
            assert_eq!(got, Ingested::Quarantined);
            ids.push(store.quarantine(10).await.unwrap()[0].id);
        }
        let (kept, dismissed) = (ids[0], ids[1]);
        assert!(matches!(
            store.dismiss_message(999, "upp-genova".into()).await,
            Err(Error::NotFound)
        ));
        let recorded = store
            .dismiss_message(dismissed, "upp-genova".into())
            .await
            .unwrap();
        assert!(matches!(
            store.dismiss_message(dismissed, "upp-genova".into()).await,
            Err(Error::Conflict)
        ));
        let entry = store.evidence_entry(recorded.index).await.unwrap();
        let entry: serde_json::Value = serde_json::from_slice(&entry.entry).unwrap();
        assert_eq!(entry["operation"], "message-dismissed");
        assert_eq!(entry["objects"]["message"], dismissed.to_string());
        assert!(entry["digests"]["message"].is_string());
        let listed: Vec<i64> = store
            .quarantine(10)
            .await
            .unwrap()
            .iter()
            .map(|m| m.id)
            .collect();
        assert_eq!(listed, [kept]);

        // Not before its period has run out.
        let early = store
            .purge_dismissed("2000-01-01T00:00:00.000000Z".into(), 16)
            .await;
        assert!(early.unwrap().is_empty());
        let purged = store
            .purge_dismissed("2999-01-01T00:00:00.000000Z".into(), 16)
            .await
            .unwrap();
        assert_eq!(purged.len(), 1);
        assert_eq!(purged[0].message, dismissed);
        assert_eq!(purged[0].bytes, "MARKER-stray-2".len() as u64 * 500);
        let entry = store.evidence_entry(purged[0].entry).await.unwrap();
        let entry: serde_json::Value = serde_json::from_slice(&entry.entry).unwrap();
        assert_eq!(entry["operation"], "content-purged");
        assert!(matches!(
            store.inbound_message(dismissed, false).await,
            Err(Error::Purged)
        ));
        assert!(
            store
                .purge_dismissed("2999-01-01T00:00:00.000000Z".into(), 16)
                .await
                .unwrap()
                .is_empty()
        );

        let conn = Connection::open(&path).unwrap();
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .unwrap();
        let file = std::fs::read(&path).unwrap();
        let contains = |needle: &str| file.windows(needle.len()).any(|w| w == needle.as_bytes());
        assert!(!contains("MARKER-stray-2"));
        assert!(contains("MARKER-stray-1"));
    }
}
