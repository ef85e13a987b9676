//! Forward-only schema migrations, embedded in the binary.
//!
//! Each migration runs in its own transaction together with the bump of
//! `PRAGMA user_version`, so a crash leaves the database at either the old or
//! the new version. A database newer than this binary is refused.

use rusqlite::Connection;

use super::classify;
use crate::store::{Error, Result};

/// `(version, SQL)`, in order. Never edit a migration once merged: add one.
const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        include_str!("../../../migrations/sqlite/0001_exchange.sql"),
    ),
    (
        2,
        include_str!("../../../migrations/sqlite/0002_evidence.sql"),
    ),
    (
        3,
        include_str!("../../../migrations/sqlite/0003_checkpoint_timestamp.sql"),
    ),
    (
        4,
        include_str!("../../../migrations/sqlite/0004_submission.sql"),
    ),
    (
        5,
        include_str!("../../../migrations/sqlite/0005_filing.sql"),
    ),
    (
        6,
        include_str!("../../../migrations/sqlite/0006_deposit.sql"),
    ),
    (
        7,
        include_str!("../../../migrations/sqlite/0007_deposit_failure_and_busta.sql"),
    ),
    (
        8,
        include_str!("../../../migrations/sqlite/0008_retention.sql"),
    ),
    (
        9,
        include_str!("../../../migrations/sqlite/0009_quarantine_review.sql"),
    ),
];

/// The newest schema version this binary knows.
pub(crate) const LATEST: i64 = MIGRATIONS[MIGRATIONS.len() - 1].0;

/// Applies every migration newer than the database's version.
pub(crate) fn apply(conn: &mut Connection) -> Result<()> {
    let found = version(conn)?;
    if found > LATEST {
        return Err(Error::SchemaTooNew {
            found,
            supported: LATEST,
        });
    }
    apply_up_to(conn, found, LATEST)
}

/// Applies the migrations after `found` up to and including `target`.
fn apply_up_to(conn: &mut Connection, found: i64, target: i64) -> Result<()> {
    for (version, sql) in MIGRATIONS
        .iter()
        .filter(|(v, _)| *v > found && *v <= target)
    {
        let tx = conn.transaction().map_err(classify)?;
        tx.execute_batch(sql).map_err(classify)?;
        tx.pragma_update(None, "user_version", version)
            .map_err(classify)?;
        tx.commit().map_err(classify)?;
        tracing::info!(version, "Applied store migration.");
    }
    Ok(())
}

/// The schema version recorded in the database.
pub(crate) fn version(conn: &Connection) -> Result<i64> {
    conn.pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(classify)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_database_reaches_latest_and_reapplying_is_a_no_op() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = Connection::open(dir.path().join("t.db")).unwrap();
        apply(&mut conn).unwrap();
        assert_eq!(version(&conn).unwrap(), LATEST);
        conn.execute(
            "INSERT INTO exchange (id, at, direction, method, route, body_size, outcome) \
             VALUES (x'01', '2026-01-01T00:00:00Z', 'inbound', 'GET', '/', 0, 'ok')",
            [],
        )
        .unwrap();
        apply(&mut conn).unwrap();
        let rows: i64 = conn
            .query_row("SELECT count(*) FROM exchange", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 1, "re-applying must keep data");
    }

    #[test]
    fn each_migration_upgrades_a_database_holding_data() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = Connection::open(dir.path().join("t.db")).unwrap();
        // Version 1 with an exchange → 2 keeps it and adds the log.
        apply_up_to(&mut conn, 0, 1).unwrap();
        conn.execute(
            "INSERT INTO exchange (id, at, direction, method, route, body_size, outcome) \
             VALUES (x'01', '2026-01-01T00:00:00Z', 'inbound', 'GET', '/', 0, 'ok')",
            [],
        )
        .unwrap();
        apply_up_to(&mut conn, 1, 2).unwrap();
        assert_eq!(version(&conn).unwrap(), 2);
        conn.execute(
            "INSERT INTO evidence_checkpoint (size, root, at, note) VALUES (0, x'00', 't', 'n')",
            [],
        )
        .unwrap();
        // Version 2 with a checkpoint → 3 keeps it, without a time-stamp.
        apply(&mut conn).unwrap();
        assert_eq!(version(&conn).unwrap(), LATEST);
        let (exchanges, stamp): (i64, Option<Vec<u8>>) = conn
            .query_row(
                "SELECT (SELECT count(*) FROM exchange), tsa_response FROM evidence_checkpoint",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(exchanges, 1);
        assert_eq!(stamp, None);
    }

    #[test]
    fn deposit_failure_reasons_and_busta_courts_are_filled_in_on_upgrade() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = Connection::open(dir.path().join("t.db")).unwrap();
        apply_up_to(&mut conn, 0, 6).unwrap();
        conn.pragma_update(None, "foreign_keys", "OFF").unwrap();
        conn.execute_batch(
            "INSERT INTO filing (id, task_id, submission_id, agency, act, status, court_pec, \
               created_at, updated_at) VALUES \
               ('f1', 't1', 's1', 'a', 'x', 'ready', 'Tribunale.A@pec.test', 't', 't'), \
               ('f2', 't2', 's2', 'a', 'x', 'ready', 'tribunale.b@pec.test', 't', 't'); \
             INSERT INTO deposit (filing_id, message_id, state, next_attempt_at, updated_at, \
               id_busta) VALUES \
               ('f1', 'm1', 'failed', 't', 't', NULL), \
               ('f2', 'm2', 'failed', 't', 't', '123'); \
             INSERT INTO inbound_message (mailbox, uid_validity, uid, sha256, received_at, \
               kind, filing_id, state, raw) \
               VALUES ('INBOX', 1, 1, x'01', 't', 'non-accettazione', 'f1', 'applied', x'00');",
        )
        .unwrap();
        apply(&mut conn).unwrap();
        let row = |id: &str| -> (Option<String>, Option<String>) {
            conn.query_row(
                "SELECT failure, id_busta_court FROM deposit WHERE filing_id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap()
        };
        assert_eq!(row("f1"), (Some("not-accepted".to_owned()), None));
        assert_eq!(
            row("f2"),
            (
                Some("exhausted".to_owned()),
                Some("tribunale.b@pec.test".to_owned())
            )
        );
        // The IDBUSTA lookup (deposits.rs) is an index search.
        let plan: String = conn
            .query_row(
                "EXPLAIN QUERY PLAN SELECT filing_id, state, failure FROM deposit \
                 WHERE id_busta_court = ?1 AND id_busta = ?2",
                ["c", "b"],
                |r| r.get(3),
            )
            .unwrap();
        assert!(plan.contains("USING INDEX deposit_busta"), "{plan}");
    }

    #[test]
    fn versions_increase() {
        assert!(MIGRATIONS.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = Connection::open(dir.path().join("t.db")).unwrap();
        conn.pragma_update(None, "user_version", LATEST + 1)
            .unwrap();
        assert!(matches!(
            apply(&mut conn),
            Err(Error::SchemaTooNew { found, .. }) if found == LATEST + 1
        ));
    }
}
