//! [`FilingStore`] on SQLite.

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension, Row, params};
use sha2::{Digest, Sha256};

use super::writer::Appender;
use super::{SqliteStore, classify};
use crate::evidence::{Entry, Recorded};
use crate::store::{
    ArtefactInfo, CourtRef, Error, FilingFilter, FilingProblem, FilingRecord, FilingState,
    FilingStore, NewFiling, Result, SubmissionRecord, WorkItem,
};

/// The ready row available longest among those due.
const CLAIM_DUE: &str = "SELECT available_at, id, task_id, job, attempts, court_override \
     FROM work_queue WHERE state = 'ready' AND available_at <= ?1 \
     ORDER BY available_at, id LIMIT 1";

/// The running row available longest among those whose lease has expired.
const CLAIM_EXPIRED: &str = "SELECT available_at, id, task_id, job, attempts, court_override \
     FROM work_queue WHERE state = 'running' AND lease_until < ?1 \
     ORDER BY available_at, id LIMIT 1";

const SELECT_FILING: &str = "SELECT id, task_id, submission_id, agency, act, status, court, \
     court_name, court_pec, mapping_file, deposit_description, problem, envelope_sha256, \
     envelope_size, created_at, updated_at FROM filing";

impl FilingStore for SqliteStore {
    async fn recover_work(&self) -> Result<u64> {
        self.run_write(|conn, _| {
            let n = conn
                .execute(
                    "UPDATE work_queue SET state = 'ready', lease_until = NULL \
                     WHERE state = 'running'",
                    [],
                )
                .map_err(classify)?;
            Ok(n as u64)
        })
        .await
    }

    async fn claim_work(&self, now: String, lease_until: String) -> Result<Option<WorkItem>> {
        self.run_write(move |conn, _| claim(conn, &now, &lease_until))
            .await
    }

    async fn retry_work(
        &self,
        row: i64,
        lease: String,
        available_at: String,
        error: String,
    ) -> Result<()> {
        self.run_write(move |conn, _| {
            let n = conn
                .execute(
                    "UPDATE work_queue SET state = 'ready', lease_until = NULL, \
                     available_at = ?2, last_error = ?3 \
                     WHERE id = ?1 AND state = 'running' AND lease_until = ?4",
                    params![row, available_at, error, lease],
                )
                .map_err(classify)?;
            if n == 1 { Ok(()) } else { Err(Error::Conflict) }
        })
        .await
    }

    async fn finish_filing(&self, filing: NewFiling) -> Result<Recorded> {
        self.run_write(move |conn, appender| finish(conn, appender, &filing))
            .await
    }

    async fn choose_court(
        &self,
        filing_id: String,
        court: String,
        agency: String,
    ) -> Result<Recorded> {
        self.run_write(move |conn, appender| {
            let found: Option<(String, String)> = conn
                .query_row(
                    "SELECT task_id, status FROM filing WHERE id = ?1",
                    [&filing_id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(classify)?;
            let Some((task_id, status)) = found else {
                return Err(Error::NotFound);
            };
            if status != FilingState::OnHold.as_str() {
                return Err(Error::Conflict);
            }
            let now = crate::evidence::format_time(time::OffsetDateTime::now_utc());
            let queued = conn
                .execute(
                    "UPDATE work_queue SET state = 'ready', available_at = ?2, court_override = ?3, \
                     lease_until = NULL, last_error = NULL WHERE task_id = ?1 AND state = 'done'",
                    params![task_id, now, court],
                )
                .map_err(classify)?;
            if queued == 0 {
                return Err(Error::Conflict);
            }
            conn.execute(
                "UPDATE task SET status = 'received', business_status = ?2, last_modified = ?3 \
                 WHERE id = ?1",
                params![
                    task_id,
                    "tribunale scelto dall'ufficio: in preparazione",
                    now
                ],
            )
            .map_err(classify)?;
            conn.execute(
                "UPDATE filing SET updated_at = ?2 WHERE id = ?1",
                params![filing_id, now],
            )
            .map_err(classify)?;
            appender.append(Entry {
                agency: Some(agency.clone()),
                kind: "admin".to_owned(),
                operation: Some("court-chosen".to_owned()),
                objects: BTreeMap::from([
                    ("court".to_owned(), court.clone()),
                    ("filing".to_owned(), filing_id.clone()),
                    ("task".to_owned(), task_id),
                ]),
                outcome: "ok".to_owned(),
                ..Entry::default()
            })
        })
        .await
    }

    async fn filing(&self, id: String) -> Result<FilingRecord> {
        self.read(move |conn| {
            let mut filing = conn
                .query_row(
                    &format!("{SELECT_FILING} WHERE id = ?1"),
                    [id],
                    filing_from_row,
                )
                .optional()
                .map_err(classify)?
                .ok_or(Error::NotFound)?;
            filing.artefacts = artefacts(conn, &filing.id)?;
            filing.deposit = super::deposits::load(conn, &filing.id)?;
            Ok(filing)
        })
        .await
    }

    async fn filings(&self, filter: FilingFilter) -> Result<Vec<FilingRecord>> {
        self.read(move |conn| {
            let limit = filter.limit.clamp(1, 1000);
            let mut stmt = conn
                .prepare_cached(&format!(
                    "{SELECT_FILING} WHERE (?1 IS NULL OR status = ?1) \
                     ORDER BY updated_at DESC, id DESC LIMIT ?2"
                ))
                .map_err(classify)?;
            let rows = stmt
                .query_map(params![filter.status, limit], filing_from_row)
                .map_err(classify)?;
            let mut filings = rows
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(classify)?;
            for filing in &mut filings {
                filing.artefacts = artefacts(conn, &filing.id)?;
                filing.deposit = super::deposits::load(conn, &filing.id)?;
            }
            Ok(filings)
        })
        .await
    }

    async fn filing_artefact(&self, filing_id: String, name: String) -> Result<(String, Vec<u8>)> {
        self.read(move |conn| {
            let found = conn
                .query_row(
                    "SELECT content_type, body, purged_at FROM filing_artefact \
                     WHERE filing_id = ?1 AND name = ?2",
                    params![filing_id, name],
                    |r| Ok(((r.get(0)?, r.get(1)?), r.get(2)?)),
                )
                .optional()
                .map_err(classify)?;
            super::unless_purged(found)
        })
        .await
    }
}

/// A queue row a claim may take: `(available_at, id, task_id, job,
/// attempts, court_override)`.
type Candidate = (String, i64, String, String, u32, Option<String>);

/// Claims the row available longest (ready and due, or running with its
/// lease expired) and loads its submission.
fn claim(conn: &Connection, now: &str, lease_until: &str) -> Result<Option<WorkItem>> {
    // Two queries, each an index range of `work_queue_ready (state,
    // available_at)` read in order with LIMIT 1, then the earlier of the two:
    // one OR query made SQLite collect and sort every due row on each claim
    // (`USE TEMP B-TREE FOR ORDER BY`). Running rows are few
    // (one per worker, plus any whose worker died), so filtering them on
    // `lease_until` costs nothing.
    let pick = |sql: &str| {
        conn.prepare_cached(sql)
            .and_then(|mut stmt| {
                stmt.query_row([now], |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                    ))
                })
                .optional()
            })
            .map_err(classify)
    };
    let due: Option<Candidate> = pick(CLAIM_DUE)?;
    let expired: Option<Candidate> = pick(CLAIM_EXPIRED)?;
    let first = match (due, expired) {
        (Some(a), Some(b)) => Some(if (&b.0, b.1) < (&a.0, a.1) { b } else { a }),
        (a, b) => a.or(b),
    };
    let Some((_, row, task_id, job, attempts, court_override)) = first else {
        return Ok(None);
    };
    conn.execute(
        "UPDATE work_queue SET state = 'running', attempts = attempts + 1, lease_until = ?2 \
         WHERE id = ?1",
        params![row, lease_until],
    )
    .map_err(classify)?;
    let submission = conn
        .query_row(
            "SELECT s.id, s.agency, s.kind, s.act, s.received_at, s.parsed \
             FROM task t JOIN submission s ON s.id = t.submission_id WHERE t.id = ?1",
            [&task_id],
            |r| {
                Ok(SubmissionRecord {
                    id: r.get(0)?,
                    agency: r.get(1)?,
                    kind: r.get(2)?,
                    act: r.get(3)?,
                    received_at: r.get(4)?,
                    parsed: r.get(5)?,
                })
            },
        )
        .map_err(classify)?;
    Ok(Some(WorkItem {
        row,
        task_id,
        job,
        attempts: attempts + 1,
        court_override,
        lease_until: lease_until.to_owned(),
        submission,
    }))
}

/// The end of a build: filing, artefacts, Task, queue row, evidence entry.
fn finish(conn: &Connection, appender: &mut Appender<'_>, f: &NewFiling) -> Result<Recorded> {
    let claimed = conn
        .execute(
            "UPDATE work_queue SET state = 'done', lease_until = NULL WHERE id = ?1 \
             AND state = 'running' AND lease_until = ?2",
            params![f.row, f.lease],
        )
        .map_err(classify)?;
    if claimed != 1 {
        // The lease was lost (it expired and another worker claimed the
        // row): write nothing; that worker's outcome will be stored.
        return Err(Error::Conflict);
    }
    let now = crate::evidence::format_time(time::OffsetDateTime::now_utc());
    // One filing per Task: a rebuild (after the office chose the court)
    // keeps the filing's id and replaces its content.
    let existing: Option<(String, String)> = conn
        .query_row(
            "SELECT id, created_at FROM filing WHERE task_id = ?1",
            [&f.task_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(classify)?;
    let (id, created_at) = existing.unwrap_or_else(|| (f.id.clone(), now.clone()));
    conn.execute("DELETE FROM filing_artefact WHERE filing_id = ?1", [&id])
        .map_err(classify)?;
    conn.execute("DELETE FROM filing WHERE id = ?1", [&id])
        .map_err(classify)?;
    let mut digests = BTreeMap::new();
    let mut envelope: Option<([u8; 32], usize)> = None;
    let problem = f
        .problem
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| Error::Other(Box::new(e)))?;
    conn.execute(
        "INSERT INTO filing (id, task_id, submission_id, agency, act, status, court, court_name, \
         court_pec, mapping_file, deposit_description, problem, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        params![
            id,
            f.task_id,
            f.submission_id,
            f.agency,
            f.act,
            f.state.as_str(),
            f.court.as_ref().map(|c| &c.code),
            f.court.as_ref().map(|c| &c.name),
            f.court.as_ref().map(|c| &c.pec),
            f.mapping_file,
            f.deposit_description,
            problem,
            created_at,
            now,
        ],
    )
    .map_err(classify)?;
    for artefact in &f.artefacts {
        let digest: [u8; 32] = Sha256::digest(&artefact.bytes).into();
        conn.prepare_cached(
            "INSERT INTO filing_artefact (filing_id, name, content_type, sha256, size, body) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .and_then(|mut s| {
            s.execute(params![
                id,
                artefact.name,
                artefact.content_type,
                &digest[..],
                artefact.bytes.len() as i64,
                artefact.bytes,
            ])
        })
        .map_err(classify)?;
        if f.envelope.as_deref() == Some(artefact.name.as_str()) {
            envelope = Some((digest, artefact.bytes.len()));
        }
        digests.insert(artefact.name.clone(), hex::encode(digest));
    }
    if let Some((digest, size)) = envelope {
        conn.execute(
            "UPDATE filing SET envelope_sha256 = ?2, envelope_size = ?3 WHERE id = ?1",
            params![id, &digest[..], size as i64],
        )
        .map_err(classify)?;
    }
    if let (FilingState::Ready, Some(message_id)) = (f.state, &f.deposit_message_id) {
        conn.execute(
            "INSERT INTO deposit (filing_id, message_id, state, next_attempt_at, updated_at) \
             VALUES (?1, ?2, 'queued', ?3, ?3) ON CONFLICT (filing_id) DO NOTHING",
            params![id, message_id, now],
        )
        .map_err(classify)?;
    }
    let mut outputs = vec![("filing".to_owned(), id.clone())];
    outputs.extend(f.outputs.iter().cloned());
    let outputs = serde_json::to_string(&outputs).map_err(|e| Error::Other(Box::new(e)))?;
    let updated = conn
        .execute(
            "UPDATE task SET status = ?2, business_status = ?3, outputs = ?4, last_modified = ?5 \
             WHERE id = ?1",
            params![f.task_id, f.task_status, f.business_status, outputs, now],
        )
        .map_err(classify)?;
    if updated != 1 {
        return Err(Error::NotFound);
    }
    let mut objects = BTreeMap::from([
        ("act".to_owned(), f.act.clone()),
        ("filing".to_owned(), id.clone()),
        ("submission".to_owned(), f.submission_id.clone()),
        ("task".to_owned(), f.task_id.clone()),
    ]);
    if let Some(court) = &f.court {
        objects.insert("court".to_owned(), court.code.clone());
    }
    appender.append(Entry {
        agency: Some(f.agency.clone()),
        digests,
        kind: "admin".to_owned(),
        objects,
        operation: Some(
            match f.state {
                FilingState::Ready => "filing-built",
                FilingState::Failed => "filing-failed",
                FilingState::OnHold => "filing-on-hold",
            }
            .to_owned(),
        ),
        outcome: if f.state == FilingState::Ready {
            "ok"
        } else {
            "failed"
        }
        .to_owned(),
        reason: f.problem.as_ref().map(|p| p.code.clone()),
        ..Entry::default()
    })
}

fn artefacts(conn: &Connection, filing_id: &str) -> Result<Vec<ArtefactInfo>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT name, content_type, sha256, size, purged_at FROM filing_artefact \
             WHERE filing_id = ?1 ORDER BY id",
        )
        .map_err(classify)?;
    let rows = stmt
        .query_map([filing_id], |r| {
            Ok(ArtefactInfo {
                name: r.get(0)?,
                content_type: r.get(1)?,
                sha256: hex::encode(r.get::<_, Vec<u8>>(2)?),
                size: r.get::<_, i64>(3)? as u64,
                purged_at: r.get(4)?,
            })
        })
        .map_err(classify)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(classify)
}

fn filing_from_row(row: &Row<'_>) -> rusqlite::Result<FilingRecord> {
    let court = match (
        row.get::<_, Option<String>>(6)?,
        row.get::<_, Option<String>>(7)?,
        row.get::<_, Option<String>>(8)?,
    ) {
        (Some(code), name, pec) => Some(CourtRef {
            code,
            name: name.unwrap_or_default(),
            pec: pec.unwrap_or_default(),
        }),
        _ => None,
    };
    let problem: Option<String> = row.get(11)?;
    Ok(FilingRecord {
        id: row.get(0)?,
        task_id: row.get(1)?,
        submission_id: row.get(2)?,
        agency: row.get(3)?,
        act: row.get(4)?,
        status: row.get(5)?,
        court,
        mapping_file: row.get(9)?,
        deposit_description: row.get(10)?,
        problem: problem.and_then(|p| serde_json::from_str::<FilingProblem>(&p).ok()),
        envelope_sha256: row.get::<_, Option<Vec<u8>>>(12)?.map(hex::encode),
        envelope_size: row.get::<_, Option<i64>>(13)?.map(|n| n as u64),
        created_at: row.get(14)?,
        updated_at: row.get(15)?,
        artefacts: Vec::new(),
        deposit: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A migrated database with `rows` queue rows `(state, available_at,
    /// lease_until)`, each for its own Task and submission.
    fn queue(rows: &[(&str, &str, Option<&str>)]) -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = Connection::open(dir.path().join("t.db")).unwrap();
        super::super::migrations::apply(&mut conn).unwrap();
        for (i, (state, available_at, lease)) in rows.iter().enumerate() {
            let n = i + 1;
            conn.execute(
                "INSERT INTO exchange (id, at, direction, method, route, body_size, outcome) \
                 VALUES (?1, 't', 'inbound', 'POST', '/fhir/Bundle', 0, 'ok')",
                [vec![u8::try_from(n).unwrap(); 16]],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO submission (id, exchange_id, agency, received_at, kind, act, \
                 request_sha256, content_type, parsed) \
                 VALUES (?1, ?2, 'asl3', 't', 'tso-proposal', 'tso-convalida', x'00', \
                 'application/fhir+json', x'7b7d')",
                params![format!("s{n}"), vec![u8::try_from(n).unwrap(); 16]],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO task (id, submission_id, agency, status, authored_on, last_modified) \
                 VALUES (?1, ?2, 'asl3', 'received', 't', 't')",
                params![format!("t{n}"), format!("s{n}")],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO work_queue (id, task_id, job, state, available_at, lease_until) \
                 VALUES (?1, ?2, 'build-filing', ?3, ?4, ?5)",
                params![n, format!("t{n}"), state, available_at, lease],
            )
            .unwrap();
        }
        (dir, conn)
    }

    const NOW: &str = "2026-01-01T00:10:00Z";
    const LEASE: &str = "2026-01-01T00:15:00Z";

    fn claimed(conn: &Connection) -> Option<(i64, u32, String)> {
        claim(conn, NOW, LEASE)
            .unwrap()
            .map(|w| (w.row, w.attempts, w.task_id))
    }

    #[test]
    fn claims_the_row_available_longest_whether_due_or_lease_expired() {
        let (_dir, conn) = queue(&[
            ("ready", "2026-01-01T00:03:00Z", None),
            (
                "running",
                "2026-01-01T00:02:00Z",
                Some("2026-01-01T00:09:00Z"),
            ),
            (
                "running",
                "2026-01-01T00:01:00Z",
                Some("2026-01-01T00:11:00Z"),
            ),
            ("ready", "2026-01-01T00:11:00Z", None),
            ("done", "2026-01-01T00:00:00Z", None),
            ("ready", "2026-01-01T00:03:00Z", None),
        ]);
        // Row 2's lease expired and it was available before row 1; row 3 is
        // still leased, row 4 not yet due, row 5 done; rows 1 and 6 tie on
        // time and go by id.
        assert_eq!(claimed(&conn), Some((2, 1, "t2".to_owned())));
        assert_eq!(claimed(&conn), Some((1, 1, "t1".to_owned())));
        assert_eq!(claimed(&conn), Some((6, 1, "t6".to_owned())));
        assert_eq!(claimed(&conn), None);
        let (state, lease): (String, String) = conn
            .query_row(
                "SELECT state, lease_until FROM work_queue WHERE id = 2",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((state.as_str(), lease.as_str()), ("running", LEASE));
    }

    #[test]
    fn each_claim_query_reads_an_index_in_order() {
        let (_dir, conn) = queue(&[]);
        for sql in [CLAIM_DUE, CLAIM_EXPIRED] {
            let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
            let plan = stmt
                .query_map([NOW], |r| r.get::<_, String>(3))
                .unwrap()
                .collect::<rusqlite::Result<Vec<_>>>()
                .unwrap()
                .join("\n");
            assert!(
                plan.contains("USING INDEX work_queue_ready"),
                "{sql}: {plan}"
            );
            assert!(!plan.contains("TEMP B-TREE"), "{sql}: {plan}");
        }
    }
}
