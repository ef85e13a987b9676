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
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > found) {
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
