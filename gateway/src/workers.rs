//! A pool of queue workers: each takes work while there is some, then waits
//! for a wake-up or the poll interval; on shutdown, the work in progress is
//! finished before the pool returns. Used by the filing pipeline and the
//! PEC outbox.

use std::future::Future;
use std::time::Duration;

use tokio::sync::{Notify, watch};

/// Runs `workers` copies of the loop around `step` (which does one unit of
/// work and says whether it found any) until `shutdown` resolves.
pub async fn run_pool<F, Fut>(
    workers: usize,
    wake: &Notify,
    poll_interval: Duration,
    shutdown: impl Future<Output = ()>,
    step: F,
) where
    F: Fn() -> Fut,
    Fut: Future<Output = bool>,
{
    let (stop, _) = watch::channel(false);
    let loops = (0..workers.max(1)).map(|_| worker(stop.subscribe(), wake, poll_interval, &step));
    let all = futures_util::future::join_all(loops);
    tokio::pin!(all);
    tokio::select! {
        () = shutdown => {
            let _ = stop.send(true);
            all.await;
        }
        _ = &mut all => {}
    }
}

/// The wait before retry number `attempts` (counted from 1):
/// `base × 2^(attempts − 1)`, at most a day. Shared by the pipeline's build
/// retries and the outbox's transient deposit failures.
pub fn backoff(base: Duration, attempts: u32) -> Duration {
    let factor = 2u32.saturating_pow(attempts.saturating_sub(1).min(16));
    base.saturating_mul(factor).min(Duration::from_secs(86_400))
}

async fn worker<F, Fut>(
    mut stop: watch::Receiver<bool>,
    wake: &Notify,
    poll_interval: Duration,
    step: &F,
) where
    F: Fn() -> Fut,
    Fut: Future<Output = bool>,
{
    loop {
        while !*stop.borrow() && step().await {}
        tokio::select! {
            _ = stop.changed() => return,
            () = wake.notified() => {}
            () = tokio::time::sleep(poll_interval) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let base = Duration::from_secs(30);
        assert_eq!(backoff(base, 0), base);
        assert_eq!(backoff(base, 1), base);
        assert_eq!(backoff(base, 3), Duration::from_secs(120));
        assert_eq!(backoff(base, 40), Duration::from_secs(86_400));
        assert_eq!(backoff(Duration::MAX, 2), Duration::from_secs(86_400));
    }

    #[tokio::test]
    async fn workers_drain_the_work_and_stop_on_shutdown() {
        let left = AtomicU32::new(10);
        let wake = Notify::new();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let pool = run_pool(
            2,
            &wake,
            Duration::from_millis(10),
            async {
                let _ = rx.await;
            },
            || async {
                left.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok()
            },
        );
        let stopper = async {
            while left.load(Ordering::SeqCst) > 0 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            let _ = tx.send(());
        };
        tokio::time::timeout(Duration::from_secs(5), async {
            tokio::join!(pool, stopper)
        })
        .await
        .expect("the pool stops after shutdown");
        assert_eq!(left.load(Ordering::SeqCst), 0);
    }
}
