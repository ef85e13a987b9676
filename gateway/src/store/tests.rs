//! The generic store suite: every backend must pass it.

use std::sync::Arc;

use time::OffsetDateTime;

use super::*;

/// A sample exchange.
pub(crate) fn sample(agency: Option<&str>, outcome: Outcome) -> NewExchange {
    NewExchange {
        id: ExchangeId::new(),
        at: OffsetDateTime::now_utc(),
        direction: Direction::Inbound,
        agency: agency.map(|a| a.parse().unwrap()),
        fingerprint: None,
        peer_addr: Some("127.0.0.1:5000".parse().unwrap()),
        request_id: Some("req-1".into()),
        method: "GET".into(),
        route: "/whoami".into(),
        body_sha256: Some([7; 32]),
        body_size: 3,
        outcome,
        status: Some(200),
        reason: None,
        body: Some(b"abc".to_vec()),
    }
}

/// Runs the whole suite against a fresh, empty store.
pub(crate) async fn suite<S: Store>(store: S) {
    records_and_reads_back(&store).await;
    duplicate_ids_conflict_without_failing_the_batch(&store).await;
    concurrent_writes_all_land(&store).await;
    store.ready().await.unwrap();
}

async fn records_and_reads_back<S: Store>(store: &S) {
    let e = sample(Some("asl3-genovese"), Outcome::Ok);
    store.record_exchange(e.clone()).await.unwrap();
    let got = store.exchange(e.id).await.unwrap();
    assert_eq!(got.agency.as_deref(), Some("asl3-genovese"));
    assert_eq!(got.route, "/whoami");
    assert_eq!(got.body_sha256.as_deref(), Some(&"07".repeat(32)[..]));
    assert_eq!(got.outcome, Outcome::Ok);
    assert_eq!(
        store.exchange_body(e.id).await.unwrap().as_deref(),
        Some(&b"abc"[..])
    );
    assert!(matches!(
        store.exchange(ExchangeId::new()).await,
        Err(Error::NotFound)
    ));
}

async fn duplicate_ids_conflict_without_failing_the_batch<S: Store>(store: &S) {
    let e = sample(None, Outcome::Refused);
    store.record_exchange(e.clone()).await.unwrap();
    let (dup, fresh) = tokio::join!(
        store.record_exchange(e.clone()),
        store.record_exchange(sample(None, Outcome::Refused))
    );
    assert!(matches!(dup, Err(Error::Conflict)), "{dup:?}");
    fresh.unwrap();
}

async fn concurrent_writes_all_land<S: Store>(store: &S) {
    let before = store
        .exchanges(ExchangeFilter {
            agency: Some("upp-genova".parse().unwrap()),
            ..Default::default()
        })
        .await
        .unwrap()
        .len();
    let store = Arc::new(store.clone());
    let tasks: Vec<_> = (0..200)
        .map(|_| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                store
                    .record_exchange(sample(Some("upp-genova"), Outcome::Ok))
                    .await
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let after = store
        .exchanges(ExchangeFilter {
            agency: Some("upp-genova".parse().unwrap()),
            outcome: Some(Outcome::Ok),
            limit: None,
        })
        .await
        .unwrap();
    assert_eq!(after.len(), before + 200);
}

#[tokio::test]
async fn sqlite_passes_the_suite() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("ponte.db"), 2, 64).unwrap();
    suite(store).await;
}

#[tokio::test]
async fn sqlite_fails_closed_when_the_file_is_moved_away() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ponte.db");
    let store = SqliteStore::open(&path, 1, 64).unwrap();
    store.ready().await.unwrap();
    std::fs::rename(&path, dir.path().join("moved.db")).unwrap();
    assert!(matches!(store.ready().await, Err(Error::Unavailable(_))));
    let write = store.record_exchange(sample(None, Outcome::Ok)).await;
    assert!(matches!(write, Err(Error::Unavailable(_))), "{write:?}");
    std::fs::rename(dir.path().join("moved.db"), &path).unwrap();
    store.ready().await.unwrap();
    store
        .record_exchange(sample(None, Outcome::Ok))
        .await
        .unwrap();
}

#[tokio::test]
async fn data_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ponte.db");
    let e = sample(Some("asl3-genovese"), Outcome::Ok);
    {
        let store = SqliteStore::open(&path, 1, 64).unwrap();
        store.record_exchange(e.clone()).await.unwrap();
    }
    let store = SqliteStore::open(&path, 1, 64).unwrap();
    assert_eq!(store.exchange(e.id).await.unwrap().id, e.id);
}
