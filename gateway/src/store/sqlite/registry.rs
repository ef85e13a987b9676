//! [`RegistryStore`] on SQLite.

use std::collections::BTreeMap;

use rusqlite::{OptionalExtension, params};
use sha2::{Digest, Sha256};

use super::{SqliteStore, classify};
use crate::evidence::{Entry, Recorded};
use crate::store::{NewRegistryImport, RegistrySnapshot, RegistryStore, Result};

impl RegistryStore for SqliteStore {
    async fn import_registry(&self, import: NewRegistryImport) -> Result<(i64, Recorded)> {
        self.run_write(move |conn, appender| {
            let now = crate::evidence::format_time(time::OffsetDateTime::now_utc());
            let digest: [u8; 32] = Sha256::digest(import.document.as_bytes()).into();
            conn.execute(
                "INSERT INTO registry_import (imported_at, source, sha256, document) \
                 VALUES (?1, ?2, ?3, ?4)",
                params![now, import.source, &digest[..], import.document],
            )
            .map_err(classify)?;
            let id = conn.last_insert_rowid();
            let mut digests = BTreeMap::from([("registry".to_owned(), hex::encode(digest))]);
            for (court, pem) in &import.certificates {
                conn.execute(
                    "INSERT INTO registry_certificate (import_id, court, pem) VALUES (?1, ?2, ?3)",
                    params![id, court, pem],
                )
                .map_err(classify)?;
                digests.insert(
                    format!("cert-{court}"),
                    hex::encode(Sha256::digest(pem.as_bytes())),
                );
            }
            let recorded = appender.append(Entry {
                agency: import.agency.clone(),
                digests,
                kind: "admin".to_owned(),
                objects: BTreeMap::from([
                    ("registry".to_owned(), id.to_string()),
                    ("source".to_owned(), import.source.clone()),
                ]),
                operation: Some("registry-import".to_owned()),
                outcome: "ok".to_owned(),
                ..Entry::default()
            })?;
            Ok((id, recorded))
        })
        .await
    }

    async fn latest_registry(&self) -> Result<Option<RegistrySnapshot>> {
        self.read(|conn| {
            let found = conn
                .query_row(
                    "SELECT id, imported_at, source, document FROM registry_import \
                     ORDER BY id DESC LIMIT 1",
                    [],
                    |r| {
                        Ok(RegistrySnapshot {
                            id: r.get(0)?,
                            imported_at: r.get(1)?,
                            source: r.get(2)?,
                            document: r.get(3)?,
                            certificates: BTreeMap::new(),
                        })
                    },
                )
                .optional()
                .map_err(classify)?;
            let Some(mut snapshot) = found else {
                return Ok(None);
            };
            let mut stmt = conn
                .prepare_cached("SELECT court, pem FROM registry_certificate WHERE import_id = ?1")
                .map_err(classify)?;
            let rows = stmt
                .query_map([snapshot.id], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(classify)?;
            snapshot.certificates = rows
                .collect::<rusqlite::Result<BTreeMap<String, String>>>()
                .map_err(classify)?;
            Ok(Some(snapshot))
        })
        .await
    }

    async fn latest_registry_id(&self) -> Result<Option<i64>> {
        self.read(|conn| {
            conn.query_row("SELECT MAX(id) FROM registry_import", [], |r| r.get(0))
                .map_err(classify)
        })
        .await
    }
}
