//! Signs checkpoints on a schedule: every `interval` if the tree grew, as
//! soon as `entries` new entries have been appended, and once more at
//! shutdown.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::LogKey;
use crate::store::EvidenceStore;

/// When to checkpoint.
#[derive(Clone, Copy, Debug)]
pub struct Schedule {
    /// Longest time between checkpoints of a growing tree.
    pub interval: Duration,
    /// Most entries appended between checkpoints.
    pub entries: u64,
}

/// Runs until `shutdown` resolves, then signs a final checkpoint.
pub async fn run<S: EvidenceStore>(
    store: S,
    key: Arc<LogKey>,
    origin: String,
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
            match store.checkpoint(Arc::clone(&key), origin.clone()).await {
                Ok(cp) => {
                    last_size = cp.size;
                    last_time = Instant::now();
                    tracing::debug!(size = cp.size, "Signed a checkpoint.");
                }
                Err(error) => tracing::error!(error = %error, "Checkpoint failed."),
            }
        }
    }
    if let Err(error) = store.checkpoint(key, origin).await {
        tracing::error!(error = %error, "Final checkpoint failed.");
    }
}
