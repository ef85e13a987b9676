//! `ponte audit …`: verify the evidence log, sign a checkpoint, write and
//! check offline evidence bundles.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};

use crate::config::Config;
use crate::evidence::bundle::{self, Bundle};
use crate::evidence::{EntryFilter, LogKey, Verifier, checkpointer, verify};
use crate::run::store_path;
use crate::store::{EvidenceStore, LogFile, SqliteStore};

/// `ponte audit verify`: recompute everything; `Err` names the first bad
/// entry or checkpoint.
pub fn verify(config: &Config, vkey: Option<&str>) -> anyhow::Result<String> {
    // With --vkey only the public key is needed: an auditor can verify a
    // copy of the database without the gateway's private key.
    let verifier = match vkey {
        Some(vkey) => Verifier::from_vkey(vkey)?,
        None => LogKey::load(&config.evidence.key, &config.evidence.origin)?
            .verifier()
            .clone(),
    };
    let path = store_path(config);
    let mut log = LogFile::open(&path).with_context(|| format!("opening {}", path.display()))?;
    match verify::verify(&mut log, &verifier) {
        Ok(report) => Ok(format!(
            "evidence log OK: {} entries, {} checkpoints, root {}",
            report.entries,
            report.checkpoints,
            hex::encode(report.root)
        )),
        Err(finding) => bail!("evidence log FAILED verification: {finding}"),
    }
}

/// `ponte audit checkpoint`: sign a checkpoint of the whole log now.
pub async fn checkpoint(config: &Config) -> anyhow::Result<String> {
    let (store, key) = open(config)?;
    let cp = checkpointer::checkpoint_now(
        &store,
        key,
        config.evidence.origin.clone(),
        config.evidence.tsa_url.as_deref(),
    )
    .await?;
    Ok(cp.note)
}

/// `ponte audit prove <id> --out FILE`: an offline bundle for an entry
/// index, an exchange id or a filing id.
pub async fn prove(config: &Config, id: &str, out: &Path) -> anyhow::Result<String> {
    let (store, key) = open(config)?;
    let entries = if let Ok(index) = id.parse::<u64>() {
        vec![store.evidence_entry(index).await.context("no such entry")?]
    } else if id.parse::<uuid::Uuid>().is_ok() {
        store
            .evidence_entries(EntryFilter {
                exchange: Some(id.to_owned()),
                ..EntryFilter::default()
            })
            .await?
    } else {
        let mut all = Vec::new();
        let mut after = None;
        loop {
            let page = store
                .evidence_entries(EntryFilter {
                    filing: Some(id.to_owned()),
                    after,
                    ..EntryFilter::default()
                })
                .await?;
            let Some(last) = page.last() else { break };
            after = Some(last.index);
            all.extend(page);
        }
        all
    };
    if entries.is_empty() {
        bail!("no evidence entry matches {id:?}");
    }
    let bundle = bundle::prove(&store, &key, &config.evidence.origin, &entries).await?;
    let size = bundle.entries.len();
    std::fs::write(out, serde_json::to_vec_pretty(&bundle)?)
        .with_context(|| format!("writing {}", out.display()))?;
    Ok(format!(
        "wrote {size} entries proved against a checkpoint signed now to {}",
        out.display()
    ))
}

/// `ponte audit check-bundle FILE [--vkey KEY]`: verify a bundle offline.
pub fn check_bundle(file: &Path, vkey: Option<&str>) -> anyhow::Result<String> {
    let bundle: Bundle = serde_json::from_slice(
        &std::fs::read(file).with_context(|| format!("reading {}", file.display()))?,
    )
    .context("not an evidence bundle")?;
    let trusted = vkey.map(Verifier::from_vkey).transpose()?;
    let checked = bundle
        .check(trusted.as_ref())
        .map_err(|e| anyhow::anyhow!("bundle FAILED verification: {e}"))?;
    let pinned = if trusted.is_some() {
        "the pinned key"
    } else {
        "the key named in the bundle (pin it with --vkey to prove who signed)"
    };
    Ok(format!(
        "bundle OK: {} entries included in the checkpoint of {} entries signed at {} by {pinned}: {}",
        checked.entries.len(),
        checked.checkpoint.size,
        checked.checkpoint.time,
        checked.verifier.to_vkey()
    ))
}

fn open(config: &Config) -> anyhow::Result<(SqliteStore, Arc<LogKey>)> {
    let key = Arc::new(LogKey::load(&config.evidence.key, &config.evidence.origin)?);
    let path = store_path(config);
    if !path.is_file() {
        bail!("no store at {}", path.display());
    }
    let store = SqliteStore::open(&path, 1, config.store.max_batch)?;
    Ok((store, key))
}
