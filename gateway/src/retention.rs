//! The retention worker: purges the content in clear of cases finished for
//! longer than `[retention] content_days` (see [`crate::store::retention`]
//! for what a finished case is and what is kept).
//!
//! It runs once at start and then every `[retention] interval`, purging in
//! small transactions so that intake and the pipeline never wait long for the
//! store's writer. Without `content_days` it does not run at all: the period
//! is the data controller's decision, never a default.

use std::future::Future;
use std::time::Duration;

use crate::filing::build::ATTO_ENC;
use crate::metrics::Metrics;
use crate::store::{PurgePolicy, RetentionStore};

/// Cases purged per transaction.
const BATCH: u32 = 16;

/// The worker.
pub struct Retention<S> {
    /// The store to purge.
    pub store: S,
    /// Days a case stays finished before its content goes.
    pub content_days: u32,
    /// Time between passes.
    pub interval: Duration,
    /// Where purges are counted.
    pub metrics: Metrics,
}

impl<S: RetentionStore> Retention<S> {
    /// Runs a pass now and then every `interval` until `shutdown` resolves.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            self.pass().await;
            tokio::select! {
                () = &mut shutdown => break,
                () = tokio::time::sleep(self.interval) => {}
            }
        }
    }

    /// One pass: purges every case whose period has run out, in batches;
    /// returns how many were purged. A store error ends the pass (the next
    /// one tries again); it is logged and counted, without case data.
    pub async fn pass(&self) -> u64 {
        let finished_before = crate::evidence::format_time(cutoff(self.content_days));
        let mut purged = 0;
        loop {
            let policy = PurgePolicy {
                finished_before: finished_before.clone(),
                keep_artefacts: vec![ATTO_ENC.to_owned()],
                limit: BATCH,
            };
            match self.store.purge_finished(policy).await {
                Ok(cases) => {
                    let bytes: u64 = cases.iter().map(|c| c.bytes).sum();
                    self.metrics
                        .retention_purged_cases
                        .inc_by(cases.len() as u64);
                    self.metrics.retention_purged_bytes.inc_by(bytes);
                    purged += cases.len() as u64;
                    if cases.len() < BATCH as usize {
                        break;
                    }
                }
                Err(error) => {
                    self.metrics
                        .errors
                        .with_label_values(&["retention", error.code()])
                        .inc();
                    tracing::error!(%error, "The retention purge stopped; it runs again at the next pass.");
                    break;
                }
            }
        }
        if purged > 0 {
            tracing::info!(
                cases = purged,
                "Purged the content of finished cases under the retention policy."
            );
        }
        purged
    }
}

/// The instant `days` whole days ago (the Unix epoch if that is earlier).
fn cutoff(days: u32) -> time::OffsetDateTime {
    let now = time::OffsetDateTime::now_utc();
    now.checked_sub(time::Duration::days(i64::from(days)))
        .filter(|t| *t > time::OffsetDateTime::UNIX_EPOCH)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cutoff_is_whole_days_back_and_never_before_the_epoch() {
        let week = cutoff(7);
        let now = time::OffsetDateTime::now_utc();
        let gap = now - week;
        assert!(gap >= time::Duration::days(7), "{gap}");
        assert!(
            gap < time::Duration::days(7) + time::Duration::minutes(1),
            "{gap}"
        );
        assert_eq!(cutoff(u32::MAX), time::OffsetDateTime::UNIX_EPOCH);
        assert!(now - cutoff(0) < time::Duration::minutes(1));
    }
}
