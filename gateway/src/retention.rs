//! The retention worker: purges the content in clear of cases finished for
//! longer than `[retention] content_days`, and the raw bytes of messages the
//! office dismissed from the quarantine that long ago (see
//! [`crate::store::RetentionStore`] for what a finished case is and what is
//! kept).
//!
//! It runs once at start and then every `[retention] interval`, purging in
//! small transactions so that intake and the pipeline never wait long for the
//! store's writer. Without `content_days` it does not run at all: the period
//! is the data controller's decision, never a default.

use std::future::Future;
use std::time::Duration;

use crate::filing::build::ATTO_ENC;
use crate::metrics::Metrics;
use crate::store::{PurgePolicy, PurgedCase, PurgedMessage, RetentionStore};

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

    /// One pass: purges every finished case and every dismissed message
    /// whose period has run out, in batches, counting them in metrics. A
    /// store error ends that part of the pass (the next pass tries again);
    /// it is logged and counted, without case data.
    pub async fn pass(&self) {
        let before = crate::evidence::format_time(cutoff(self.content_days));
        let cases = self
            .drain(
                || {
                    self.store.purge_finished(PurgePolicy {
                        finished_before: before.clone(),
                        keep_artefacts: vec![ATTO_ENC.to_owned()],
                        limit: BATCH,
                    })
                },
                |case: &PurgedCase| case.bytes,
            )
            .await;
        let messages = self
            .drain(
                || self.store.purge_dismissed(before.clone(), BATCH),
                |message: &PurgedMessage| message.bytes,
            )
            .await;
        self.metrics.retention_purged_cases.inc_by(cases.count);
        self.metrics
            .retention_purged_messages
            .inc_by(messages.count);
        self.metrics
            .retention_purged_bytes
            .inc_by(cases.bytes + messages.bytes);
        if cases.count + messages.count > 0 {
            tracing::info!(
                cases = cases.count,
                messages = messages.count,
                "Purged content under the retention policy."
            );
        }
    }

    /// Calls `purge` until a batch comes back short or fails; adds up the
    /// items and their `bytes`.
    async fn drain<T, F, Fut>(&self, purge: F, bytes: fn(&T) -> u64) -> Tally
    where
        F: Fn() -> Fut,
        Fut: Future<Output = crate::store::Result<Vec<T>>>,
    {
        let mut tally = Tally::default();
        loop {
            match purge().await {
                Ok(batch) => {
                    tally.count += batch.len() as u64;
                    tally.bytes += batch.iter().map(bytes).sum::<u64>();
                    if batch.len() < BATCH as usize {
                        return tally;
                    }
                }
                Err(error) => {
                    self.metrics
                        .errors
                        .with_label_values(&["retention", error.code()])
                        .inc();
                    tracing::error!(%error, "The retention purge stopped; it runs again at the next pass.");
                    return tally;
                }
            }
        }
    }
}

/// Items purged and their bytes.
#[derive(Default)]
struct Tally {
    count: u64,
    bytes: u64,
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
