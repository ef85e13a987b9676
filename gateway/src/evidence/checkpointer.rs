//! Signs checkpoints on a schedule: every `interval` if the tree grew, as
//! soon as `entries` new entries have been appended, and once more at
//! shutdown.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{LogKey, StoredCheckpoint, tsa};
use crate::store::EvidenceStore;

/// When to checkpoint.
#[derive(Clone, Copy, Debug)]
pub struct Schedule {
    /// Longest time between checkpoints of a growing tree.
    pub interval: Duration,
    /// Most entries appended between checkpoints.
    pub entries: u64,
}

/// Signs a checkpoint of the whole log (or finds the newest, if it covers
/// everything) and, with a TSA configured, has it time-stamped. A TSA
/// failure is logged, not fatal: the signed checkpoint stands on its own
/// and a later one will be stamped.
pub async fn checkpoint_now<S: EvidenceStore>(
    store: &S,
    key: Arc<LogKey>,
    origin: String,
    tsa_url: Option<&str>,
) -> Result<StoredCheckpoint, crate::store::Error> {
    let cp = store.checkpoint(key, origin).await?;
    if let (Some(url), None) = (tsa_url, &cp.tsa_response) {
        match tsa::timestamp(url, cp.note.as_bytes()).await {
            Ok(response) => match store.attach_timestamp(cp.id, response.clone()).await {
                Ok(()) => {
                    return Ok(StoredCheckpoint {
                        tsa_response: Some(response),
                        ..cp
                    });
                }
                Err(error) => tracing::warn!(error = %error, "Time-stamp not stored."),
            },
            Err(error) => tracing::warn!(error = %error, "Checkpoint not time-stamped."),
        }
    }
    Ok(cp)
}

/// Runs until `shutdown` resolves, then signs a final checkpoint.
pub async fn run<S: EvidenceStore>(
    store: S,
    key: Arc<LogKey>,
    origin: String,
    tsa_url: Option<String>,
    schedule: Schedule,
    shutdown: impl Future<Output = ()>,
) {
    // Poll often enough to honour `entries` promptly; the check is an
    // atomic load, so this costs nothing when idle.
    let tick = schedule.interval.min(Duration::from_millis(250));
    let mut ticker = tokio::time::interval(tick);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_size = match store.latest_checkpoint().await {
        Ok(Some(cp)) => cp.size,
        _ => 0,
    };
    let mut last_time = Instant::now();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            () = &mut shutdown => break,
        }
        let size = store.tree_size();
        let grown = size.saturating_sub(last_size);
        if grown > 0 && (grown >= schedule.entries || last_time.elapsed() >= schedule.interval) {
            match checkpoint_now(&store, Arc::clone(&key), origin.clone(), tsa_url.as_deref()).await
            {
                Ok(cp) => {
                    last_size = cp.size;
                    last_time = Instant::now();
                    tracing::debug!(size = cp.size, "Signed a checkpoint.");
                }
                Err(error) => tracing::error!(error = %error, "Checkpoint failed."),
            }
        }
    }
    if let Err(error) = checkpoint_now(&store, key, origin, tsa_url.as_deref()).await {
        tracing::error!(error = %error, "Final checkpoint failed.");
    }
}
