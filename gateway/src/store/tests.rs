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
        objects: Default::default(),
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

#[tokio::test]
async fn evidence_log_appends_proves_and_verifies() {
    use crate::evidence::merkle;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ponte.db");
    let store = SqliteStore::open(&path, 2, 16).unwrap();
    let key = Arc::new(crate::edge::tests::test_log_key(dir.path()));
    let origin = "ponte.test/evidence".to_owned();
    let mut checkpoints = Vec::new();
    for round in 0..5u64 {
        let writes: Vec<_> = (0..7)
            .map(|_| store.record_exchange(sample(Some("asl3-genovese"), Outcome::Ok)))
            .collect();
        for w in futures_util::future::join_all(writes).await {
            w.unwrap();
        }
        assert_eq!(store.tree_size(), (round + 1) * 7);
        checkpoints.push(
            store
                .checkpoint(Arc::clone(&key), origin.clone())
                .await
                .unwrap(),
        );
    }
    // Asking again without new entries returns the same checkpoint.
    let again = store
        .checkpoint(Arc::clone(&key), origin.clone())
        .await
        .unwrap();
    assert_eq!(again.id, checkpoints.last().unwrap().id);

    let last = checkpoints.last().unwrap();
    for index in [0, 6, 17, 34] {
        let entry = store.evidence_entry(index).await.unwrap();
        assert_eq!(merkle::leaf_hash(&entry.entry), entry.leaf_hash);
        let path = store.inclusion_proof(index, last.size).await.unwrap();
        assert!(merkle::verify_inclusion(
            &entry.leaf_hash,
            index,
            last.size,
            &path,
            &last.root
        ));
    }
    for pair in checkpoints.windows(2) {
        let proof = store
            .consistency_proof(pair[0].size, pair[1].size)
            .await
            .unwrap();
        assert!(merkle::verify_consistency(
            pair[0].size,
            pair[1].size,
            &pair[0].root,
            &pair[1].root,
            &proof
        ));
    }
    assert!(matches!(
        store.inclusion_proof(35, 35).await,
        Err(Error::OutOfRange)
    ));
    assert!(matches!(
        store.consistency_proof(3, 99).await,
        Err(Error::OutOfRange)
    ));

    let by_agency = store
        .evidence_entries(crate::evidence::EntryFilter {
            agency: Some("asl3-genovese".into()),
            after: Some(30),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        by_agency.iter().map(|e| e.index).collect::<Vec<_>>(),
        vec![31, 32, 33, 34]
    );

    let mut log = LogFile::open(&path).unwrap();
    let report = crate::evidence::verify::verify(&mut log, key.verifier()).unwrap();
    assert_eq!(report.entries, 35);
    assert_eq!(report.checkpoints, 5);
    assert_eq!(report.root, last.root);

    // A second store on the same file (another process, e.g. the CLI)
    // appends; the first one notices and keeps the tree whole.
    let other = SqliteStore::open(&path, 1, 16).unwrap();
    other
        .append_admin(AdminAction {
            operation: "test".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    store
        .record_exchange(sample(None, Outcome::Ok))
        .await
        .unwrap();
    let cp = store.checkpoint(Arc::clone(&key), origin).await.unwrap();
    assert_eq!(cp.size, 37);
    let mut log = LogFile::open(&path).unwrap();
    crate::evidence::verify::verify(&mut log, key.verifier()).unwrap();
}

#[tokio::test]
async fn deposit_queries_run_on_a_fresh_store() {
    use crate::store::{DepositStore, FilingStore};
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("t.db"), 1, 16).unwrap();
    let r = store.recover_deposits("2026-01-01T00:00:00Z".into()).await;
    assert!(r.is_ok(), "{:?}", r.map_err(|e| format!("{e:?}")));
    let r = store
        .claim_deposit("a".into(), "b".into(), "c".into())
        .await;
    assert!(r.is_ok(), "{:?}", r.map_err(|e| format!("{e:?}")));
    let r = store.claim_work("a".into(), "b".into()).await;
    assert!(r.is_ok(), "{:?}", r.map_err(|e| format!("{e:?}")));
}

/// A filing whose deposit was sent and answered, as
/// [`deposited_filing`] leaves it.
pub(crate) struct Deposited {
    /// The evidence entry of the attempt that sent the deposit message.
    pub sent_entry: u64,
    /// The message read back about the deposit.
    pub received: MessageInfo,
}

/// Seeds filing `id` ready to deposit (with SQL on `db`, the file of
/// `store`; foreign keys off, so without its submission), then has `store`
/// send it with `sent` as the message and read back `received`, the
/// provider's acceptance: the deposit's PEC messages as the store keeps
/// them. Other deposits of the store must not be due.
pub(crate) async fn deposited_filing(
    store: &SqliteStore,
    db: &std::path::Path,
    id: &str,
    sent: &[u8],
    received: &[u8],
) -> Deposited {
    use rusqlite::params;
    const T0: &str = "2026-01-01T00:00:00Z";
    let message_id = format!("{id}@office.ponte.test");
    let seed = rusqlite::Connection::open(db).unwrap();
    seed.busy_timeout(std::time::Duration::from_secs(5))
        .unwrap();
    seed.pragma_update(None, "foreign_keys", "OFF").unwrap();
    seed.execute_batch("BEGIN").unwrap();
    seed.execute(
        "INSERT INTO task (id, submission_id, agency, status, authored_on, last_modified) \
         VALUES (?1, ?2, 'asl3-genovese', 'in-progress', ?3, ?3)",
        params![format!("task-{id}"), format!("sub-{id}"), T0],
    )
    .unwrap();
    seed.execute(
        "INSERT INTO filing (id, task_id, submission_id, agency, act, status, court, \
         court_pec, created_at, updated_at) VALUES (?1, ?2, ?3, 'asl3-genovese', \
         'ads-report', 'ready', '0100000000', 'tribunale@pec.ponte.test', ?4, ?4)",
        params![id, format!("task-{id}"), format!("sub-{id}"), T0],
    )
    .unwrap();
    seed.execute(
        "INSERT INTO filing_artefact (filing_id, name, content_type, sha256, size, body) \
         VALUES (?1, 'Atto.enc', 'application/pkcs7-mime', x'00', 1, x'00')",
        [id],
    )
    .unwrap();
    seed.execute(
        "INSERT INTO deposit (filing_id, message_id, state, next_attempt_at, updated_at) \
         VALUES (?1, ?2, 'queued', ?3, ?3)",
        params![id, message_id, T0],
    )
    .unwrap();
    let uid: u32 = seed
        .query_row("SELECT count(*) + 1 FROM inbound_message", [], |r| r.get(0))
        .unwrap();
    seed.execute_batch("COMMIT").unwrap();
    let job = store
        .claim_deposit(T0.into(), "2026-01-01T00:15:00Z".into(), T0.into())
        .await
        .unwrap()
        .expect("the seeded deposit is due");
    assert_eq!(job.filing_id, id);
    let recorded = store
        .record_attempt(NewAttempt {
            filing_id: job.filing_id,
            lease: job.lease,
            outcome: AttemptOutcome::Accepted {
                reply: "250 ok".into(),
            },
            message: sent.to_vec(),
            court: job.court,
            message_id: job.message_id,
        })
        .await
        .unwrap();
    let ingested = store
        .ingest_message(InboundMessage {
            mailbox: "INBOX".into(),
            uid_validity: 1,
            uid,
            raw: received.to_vec(),
            kind: "accettazione".into(),
            refers_to: Some(message_id),
            court_address: None,
            event: Some(crate::deposit::state::Event::Accepted),
            values: Vec::new(),
            problem: None,
        })
        .await
        .unwrap();
    assert!(matches!(ingested, Ingested::Applied { .. }), "{ingested:?}");
    let received = store
        .deposit(id.to_owned())
        .await
        .unwrap()
        .expect("the seeded deposit")
        .messages
        .pop()
        .expect("the acceptance was tied to the deposit");
    Deposited {
        sent_entry: recorded.index,
        received,
    }
}
