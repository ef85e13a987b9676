//! Read-only access to a database's evidence log, for `ponte audit verify`.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension};

use super::{DbNodes, checkpoint_from_row, open_reader};
use crate::evidence::StoredCheckpoint;
use crate::evidence::merkle::{Hash, NodeSource};
use crate::evidence::verify::Finding;
use crate::store::{Error, Result};

/// Read-only access to a database's evidence log, for `ponte audit verify`
/// (which must work without a running gateway and without writing).
pub struct LogFile {
    conn: Connection,
}

impl LogFile {
    /// Opens the database at `path` read-only.
    pub fn open(path: &Path) -> Result<Self> {
        if !path.is_file() {
            return Err(Error::NotFound);
        }
        Ok(Self {
            conn: open_reader(path)?,
        })
    }
}

impl NodeSource for LogFile {
    type Error = Error;

    fn leaf(&mut self, index: u64) -> Result<Hash> {
        DbNodes(&self.conn).leaf(index)
    }

    fn node(&mut self, level: u32, index: u64) -> Result<Hash> {
        DbNodes(&self.conn).node(level, index)
    }
}

impl crate::evidence::verify::LogSource for LogFile {
    fn each_entry(
        &mut self,
        visit: &mut crate::evidence::verify::EntryVisitor<'_>,
    ) -> Result<(), Finding> {
        let unreadable = |e: rusqlite::Error| Finding::Unreadable(e.to_string());
        let mut stmt = self
            .conn
            .prepare(
                "SELECT idx, entry, leaf_hash, at, agency, filing_id, exchange_id \
                 FROM evidence_entry ORDER BY idx",
            )
            .map_err(unreadable)?;
        let mut rows = stmt.query([]).map_err(unreadable)?;
        while let Some(row) = rows.next().map_err(unreadable)? {
            let index: i64 = row.get(0).map_err(unreadable)?;
            let entry: Vec<u8> = row.get(1).map_err(unreadable)?;
            let leaf: Vec<u8> = row.get(2).map_err(unreadable)?;
            let leaf: Hash = leaf.try_into().unwrap_or([0; 32]);
            let at: String = row.get(3).map_err(unreadable)?;
            let agency: Option<String> = row.get(4).map_err(unreadable)?;
            let filing: Option<String> = row.get(5).map_err(unreadable)?;
            let exchange: Option<Vec<u8>> = row.get(6).map_err(unreadable)?;
            visit(crate::evidence::verify::StoredRow {
                index: index as u64,
                entry: &entry,
                leaf_hash: &leaf,
                at: &at,
                agency: agency.as_deref(),
                filing: filing.as_deref(),
                exchange: exchange.as_deref(),
            })?;
        }
        Ok(())
    }

    fn all_checkpoints(&mut self) -> Result<Vec<StoredCheckpoint>, Finding> {
        let unreadable = |e: rusqlite::Error| Finding::Unreadable(e.to_string());
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, size, root, note, tsa_response FROM evidence_checkpoint ORDER BY id",
            )
            .map_err(unreadable)?;
        let rows = stmt
            .query_map([], checkpoint_from_row)
            .map_err(unreadable)?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(unreadable)
    }

    fn stored_node(&mut self, level: u32, index: u64) -> Result<Option<Hash>, Finding> {
        self.conn
            .prepare_cached("SELECT hash FROM evidence_node WHERE level = ?1 AND idx = ?2")
            .and_then(|mut s| {
                s.query_row([level as i64, index as i64], |r| r.get::<_, Vec<u8>>(0))
                    .optional()
            })
            .map(|h| h.and_then(|h| h.try_into().ok()))
            .map_err(|e| Finding::Unreadable(e.to_string()))
    }
}
