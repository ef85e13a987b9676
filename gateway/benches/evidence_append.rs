//! Evidence log benchmarks (issue 3): durable appends and inclusion proofs.
//!
//! Issue 3 set two targets for the evidence log:
//!
//! - at least 20,000 durable entries per second with group commit, with one
//!   writer and with 64 concurrent writers;
//! - an inclusion proof generated in under 1 ms in logs of 1 M and 10 M
//!   entries.
//!
//! **Appends** (`evidence_append/*`) go through the public store API,
//! [`ExchangeStore::record_exchange`], exactly as the edge records a request:
//! one exchange row and one evidence entry (with the Merkle nodes it
//! completes) in one transaction, durable when the future resolves. The
//! store's single writer thread group-commits whatever is queued into one
//! fsync'd SQLite transaction (WAL, `synchronous = FULL`), so throughput
//! depends on how many appends are *queued* at once, not on how many tasks
//! issue them. Three shapes are measured, each on its own fresh database:
//!
//! - `await_each`: one writer that awaits every append before issuing the
//!   next. Every append pays a whole commit, fsync included: this is the
//!   latency bound.
//! - `pipelined_64`: one writer (one task) that keeps 64 appends in flight,
//!   issuing a new one as each completes.
//! - `writers_64`: 64 tokio tasks, each awaiting its own appends one by one,
//!   as 64 concurrent requests would.
//!
//! Exchanges are realistic small ones: an identified agency's `GET`, with
//! certificate fingerprint, peer address and status, no body stored; each
//! evidence entry is about 350 bytes of canonical JSON (the size is printed
//! on stderr).
//!
//! **Proofs** (`evidence_proof/*`) time [`EvidenceStore::inclusion_proof`]
//! for a random leaf of a log of 1 M entries, and of 10 M entries when
//! `PONTE_BENCH_10M=1` is set (building that log takes about 4 minutes and
//! 8 GiB of disk on the 2-core reference machine). The logs are built once
//! through `record_exchange` with many concurrent writers and `max_batch`
//! 4096, the fastest path the API gives, and cached in
//! `target/bench-data/evidence-1m.db` and `evidence-10m.db`; a cached log is
//! reused when its tree size matches (a shorter one, from an interrupted
//! build, is completed). The build time and the database size are printed
//! on stderr and noted beside the database (`*.build.txt`). Before timing,
//! proofs are checked with [`merkle::verify_inclusion`] against the root
//! computed from the stored nodes. The timed call includes the hop to the
//! blocking pool and the SQLite lookups, with the database in the page
//! cache (just built, or warmed by the checks and the warm-up): a cold
//! cache is not measured.
//!
//! Run with `cargo bench -p ponte-gateway --bench evidence_append`; results
//! and their analysis are in `docs/benchmarks.md`. In Criterion's test mode
//! (`cargo test --benches`, `cargo bench -- --test`) every benchmark runs
//! once, on a small log in a temporary directory.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use futures_util::stream::{FuturesUnordered, StreamExt};
use ponte_gateway::evidence::merkle;
use ponte_gateway::identity::{AgencyId, CertFingerprint};
use ponte_gateway::store::{
    Direction, EvidenceStore, ExchangeId, ExchangeStore, LogFile, NewExchange, Outcome, SqliteStore,
};
use time::OffsetDateTime;
use tokio::runtime::Runtime;

/// Appends per timed iteration of the append benchmarks.
const APPENDS_PER_ITER: u64 = 6_400;

/// Appends per timed iteration of `await_each`, about 4× slower than the
/// others: keeps its 10 samples within the measurement time.
const AWAITED_PER_ITER: u64 = 1_600;

/// Appends kept in flight by the pipelined writer, and concurrent writers.
const CONCURRENCY: usize = 64;

/// Read connections and group-commit limit of the stores measured for
/// appends: the gateway's defaults (`[store]` in the configuration).
const APPEND_READ_CONNECTIONS: usize = 4;
const APPEND_MAX_BATCH: usize = 512;

/// Group-commit limit while building the large logs.
const BUILD_MAX_BATCH: usize = 4096;

/// Producer tasks while building the large logs, and appends each keeps in
/// flight: together they fill the writer's queue (8192).
const BUILD_TASKS: u64 = 8;
const BUILD_IN_FLIGHT: usize = 1024;

/// The agencies whose exchanges are recorded.
const AGENCIES: [&str; 4] = [
    "asl3-genovese",
    "asl1-imperiese",
    "trib-genova",
    "upp-genova",
];

/// Routes of the recorded exchanges.
const ROUTES: [&str; 4] = [
    "/whoami",
    "/fhir/Task/{id}",
    "/fhir/metadata",
    "/fhir/Bundle/{id}",
];

/// Whether Criterion runs in test mode (`cargo test --benches`,
/// `cargo bench -- --test`): every benchmark once, so keep the logs small.
fn test_mode() -> bool {
    let args: Vec<String> = std::env::args().collect();
    let bench = args.iter().any(|a| a == "--bench");
    let test = args.iter().any(|a| a == "--test");
    !bench || test
}

/// The tokio runtime of every benchmark: 2 workers, one per core.
fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// `target/bench-data`, next to the build outputs of this very binary
/// (`target/release/deps/evidence_append-…`), so that `CARGO_TARGET_DIR`
/// is honoured and the data lands on the disk a deployment would use.
fn bench_data_dir() -> PathBuf {
    let target = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.ancestors().nth(3).map(Path::to_path_buf))
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("bench-data")
}

/// Identities of the recorded agencies, made once.
struct Peers {
    agencies: Vec<(AgencyId, CertFingerprint)>,
}

impl Peers {
    fn new() -> Self {
        let agencies = AGENCIES
            .iter()
            .map(|name| {
                let agency = name.parse().expect("agency id");
                let fingerprint = CertFingerprint::of_der(name.as_bytes());
                (agency, fingerprint)
            })
            .collect();
        Self { agencies }
    }

    /// The `n`th exchange: an identified agency's small `GET`, as the edge
    /// records it (no body kept).
    fn exchange(&self, n: u64) -> NewExchange {
        let (agency, fingerprint) = &self.agencies[(n % 4) as usize];
        NewExchange {
            id: ExchangeId::new(),
            at: OffsetDateTime::now_utc(),
            direction: Direction::Inbound,
            agency: Some(agency.clone()),
            fingerprint: Some(*fingerprint),
            peer_addr: Some(
                (
                    [10, 0, (n >> 8) as u8, n as u8],
                    40_000 + (n % 20_000) as u16,
                )
                    .into(),
            ),
            request_id: None,
            method: "GET".to_owned(),
            route: ROUTES[(n / 4 % 4) as usize].to_owned(),
            body_sha256: None,
            body_size: 0,
            outcome: Outcome::Ok,
            status: Some(200),
            reason: None,
            objects: Default::default(),
            body: None,
        }
    }
}

/// Durable appends per second through `record_exchange`.
fn appends(c: &mut Criterion) {
    let rt = runtime();
    let peers = Arc::new(Peers::new());
    let tmp_root = bench_data_dir().join("tmp");
    std::fs::create_dir_all(&tmp_root).expect("bench data directory");
    let (per_iter, awaited_per_iter) = if test_mode() {
        (64, 16)
    } else {
        (APPENDS_PER_ITER, AWAITED_PER_ITER)
    };

    // Flat sampling: every sample runs the same number of iterations, as
    // suits iterations of a fraction of a second; 10 samples of 8 s keep
    // the group under a minute.
    let mut group = c.benchmark_group("evidence_append");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(8));

    // One writer awaiting each append: one commit (and fsync) per entry.
    {
        let (_dir, store) = fresh_store(&tmp_root);
        report_entry_size(&rt, &store, &peers);
        group.throughput(Throughput::Elements(awaited_per_iter));
        group.bench_function("await_each", |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    for i in 0..iters * awaited_per_iter {
                        store
                            .record_exchange(peers.exchange(i))
                            .await
                            .expect("append");
                    }
                    start.elapsed()
                })
            });
        });
    }

    // One writer with 64 appends in flight.
    {
        let (_dir, store) = fresh_store(&tmp_root);
        group.throughput(Throughput::Elements(per_iter));
        group.bench_function("pipelined_64", |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    pipelined(&store, &peers, 0, iters * per_iter, CONCURRENCY).await;
                    start.elapsed()
                })
            });
        });
    }

    // 64 tasks, each awaiting its own appends.
    {
        let (_dir, store) = fresh_store(&tmp_root);
        group.throughput(Throughput::Elements(per_iter));
        group.bench_function("writers_64", |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let each = iters * per_iter / CONCURRENCY as u64;
                    let start = Instant::now();
                    let tasks: Vec<_> = (0..CONCURRENCY as u64)
                        .map(|w| {
                            let store = store.clone();
                            let peers = Arc::clone(&peers);
                            tokio::spawn(async move {
                                for i in 0..each {
                                    store
                                        .record_exchange(peers.exchange(w * each + i))
                                        .await
                                        .expect("append");
                                }
                            })
                        })
                        .collect();
                    for task in tasks {
                        task.await.expect("writer task");
                    }
                    start.elapsed()
                })
            });
        });
    }
    group.finish();
}

/// A store on a fresh database in a temporary directory under `root`
/// (the same disk as the cached logs; `/tmp` may be a tmpfs elsewhere).
fn fresh_store(root: &Path) -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::Builder::new()
        .prefix("evidence-append-")
        .tempdir_in(root)
        .expect("temporary directory");
    let store = SqliteStore::open(
        &dir.path().join("ponte.db"),
        APPEND_READ_CONNECTIONS,
        APPEND_MAX_BATCH,
    )
    .expect("open store");
    (dir, store)
}

/// Prints the size of an entry like those appended.
fn report_entry_size(rt: &Runtime, store: &SqliteStore, peers: &Peers) {
    rt.block_on(async {
        let recorded = store
            .record_exchange(peers.exchange(7))
            .await
            .expect("append");
        let entry = store
            .evidence_entry(recorded.index)
            .await
            .expect("read entry");
        eprintln!(
            "evidence_append: entries are {} bytes, e.g. {}",
            entry.entry.len(),
            String::from_utf8_lossy(&entry.entry)
        );
    });
}

/// Appends exchanges `from..to` from one task, `depth` at a time.
async fn pipelined(store: &SqliteStore, peers: &Peers, from: u64, to: u64, depth: usize) {
    let mut in_flight = FuturesUnordered::new();
    let mut next = from;
    while next < to || !in_flight.is_empty() {
        while next < to && in_flight.len() < depth {
            in_flight.push(store.record_exchange(peers.exchange(next)));
            next += 1;
        }
        if let Some(result) = in_flight.next().await {
            result.expect("append");
        }
    }
}

/// Inclusion-proof generation in logs of 1 M and 10 M entries.
fn proofs(c: &mut Criterion) {
    let rt = runtime();
    let ten_million = std::env::var("PONTE_BENCH_10M").is_ok_and(|v| v == "1");
    let mut sizes = vec![("1M", 1_000_000u64, "evidence-1m.db")];
    if ten_million {
        sizes.push(("10M", 10_000_000, "evidence-10m.db"));
    } else {
        eprintln!("evidence_proof: 10M skipped (set PONTE_BENCH_10M=1 to build and measure it)");
    }

    let mut group = c.benchmark_group("evidence_proof");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    for (label, entries, file) in sizes {
        // Built lazily, so that a filter that skips this benchmark skips
        // the build too.
        let mut log: Option<(Option<tempfile::TempDir>, SqliteStore)> = None;
        group.bench_function(label, |b| {
            let (_, store) = log.get_or_insert_with(|| {
                if test_mode() {
                    let dir = tempfile::tempdir().expect("temporary directory");
                    let store = cached_log(&rt, &dir.path().join(file), 10_000);
                    (Some(dir), store)
                } else {
                    (None, cached_log(&rt, &bench_data_dir().join(file), entries))
                }
            });
            let size = store.tree_size();
            let mut rng = SplitMix64(0x5eed ^ size);
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        let index = rng.next() % size;
                        let proof = store.inclusion_proof(index, size).await.expect("proof");
                        std::hint::black_box(proof);
                    }
                    start.elapsed()
                })
            });
        });
    }
    group.finish();
}

/// Opens the log at `path` holding exactly `entries` entries, building or
/// completing it if needed, and checks a few proofs against its root.
fn cached_log(rt: &Runtime, path: &Path, entries: u64) -> SqliteStore {
    let name = path.display();
    let mut store = SqliteStore::open(path, 4, BUILD_MAX_BATCH).expect("open log");
    let found = store.tree_size();
    if found > entries {
        eprintln!("evidence_proof: {name} has {found} entries, not {entries}: rebuilding");
        drop(store);
        wait_closed(path);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        store = SqliteStore::open(path, 4, BUILD_MAX_BATCH).expect("open log");
    }
    let found = store.tree_size();
    if found == entries {
        eprintln!(
            "evidence_proof: reusing {name}: {entries} entries, {}",
            mib(disk_size(path))
        );
        if let Ok(note) = std::fs::read_to_string(build_note(path)) {
            eprintln!("evidence_proof: {}", note.trim());
        }
    } else {
        let started = Instant::now();
        build(rt, &store, found, entries);
        let took = started.elapsed();
        // Close it so that SQLite checkpoints and removes the WAL, then
        // measure the file and reopen it for reading.
        drop(store);
        wait_closed(path);
        let note = format!(
            "{name}: {} entries appended (from {found} to {entries}) in {:.1} s, \
             {:.0} entries/s; database {}",
            entries - found,
            took.as_secs_f64(),
            (entries - found) as f64 / took.as_secs_f64(),
            mib(disk_size(path)),
        );
        eprintln!("evidence_proof: built {note}");
        let _ = std::fs::write(build_note(path), format!("built {note}\n"));
        store = SqliteStore::open(path, 4, BUILD_MAX_BATCH).expect("reopen log");
    }
    assert_eq!(store.tree_size(), entries, "{name}: tree size");
    check_proofs(rt, &store, path, entries);
    store
}

/// Appends exchanges until the log holds `to` entries: `BUILD_TASKS`
/// producers, each keeping `BUILD_IN_FLIGHT` appends in flight, so the
/// writer always finds a full batch queued.
fn build(rt: &Runtime, store: &SqliteStore, from: u64, to: u64) {
    let name = store.path().display().to_string();
    eprintln!("evidence_proof: building {name}: {from} → {to} entries");
    let peers = Arc::new(Peers::new());
    let next = Arc::new(AtomicU64::new(from));
    let started = Instant::now();
    rt.block_on(async {
        let producers: Vec<_> = (0..BUILD_TASKS)
            .map(|_| {
                let store = store.clone();
                let peers = Arc::clone(&peers);
                let next = Arc::clone(&next);
                tokio::spawn(async move {
                    // Claims chunks of exchange numbers until `to` is reached.
                    const CHUNK: u64 = 4096;
                    loop {
                        let first = next.fetch_add(CHUNK, Ordering::Relaxed);
                        if first >= to {
                            break;
                        }
                        let last = (first + CHUNK).min(to);
                        pipelined(&store, &peers, first, last, BUILD_IN_FLIGHT).await;
                    }
                })
            })
            .collect();
        let progress = {
            let store = store.clone();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_secs(10)).await;
                    let size = store.tree_size();
                    let secs = started.elapsed().as_secs_f64();
                    eprintln!(
                        "evidence_proof: {name}: {size}/{to} entries, {secs:.0} s, {:.0} entries/s",
                        (size - from) as f64 / secs
                    );
                }
            })
        };
        for producer in producers {
            producer.await.expect("producer task");
        }
        progress.abort();
    });
}

/// Checks the first proofs of the benchmark's kind with `verify_inclusion`
/// against the root computed from the stored nodes.
fn check_proofs(rt: &Runtime, store: &SqliteStore, path: &Path, size: u64) {
    let mut file = LogFile::open(path).expect("open log file");
    let root = merkle::root(&mut file, size).expect("root");
    let mut rng = SplitMix64(0x5eed ^ size);
    rt.block_on(async {
        let mut indices: Vec<u64> = (0..16).map(|_| rng.next() % size).collect();
        indices.extend([0, size - 1]);
        for index in indices {
            let proof = store.inclusion_proof(index, size).await.expect("proof");
            let entry = store.evidence_entry(index).await.expect("entry");
            assert_eq!(
                entry.leaf_hash,
                merkle::leaf_hash(&entry.entry),
                "leaf {index}"
            );
            assert!(
                merkle::verify_inclusion(&entry.leaf_hash, index, size, &proof, &root),
                "proof of {index} in {size} does not verify"
            );
        }
    });
    eprintln!(
        "evidence_proof: {}: proofs verify against root {}",
        path.display(),
        root.iter().map(|b| format!("{b:02x}")).collect::<String>()
    );
}

/// Waits (up to a minute) for the last connection to close, which
/// checkpoints and removes the WAL; the writer thread closes its connection
/// after its store is dropped.
fn wait_closed(path: &Path) {
    let wal = PathBuf::from(format!("{}-wal", path.display()));
    let deadline = Instant::now() + Duration::from_secs(60);
    while wal.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Bytes on disk of the database and its WAL.
fn disk_size(path: &Path) -> u64 {
    ["", "-wal"]
        .iter()
        .filter_map(|s| std::fs::metadata(format!("{}{s}", path.display())).ok())
        .map(|m| m.len())
        .sum()
}

fn mib(bytes: u64) -> String {
    format!("{:.0} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// Where the build time of a cached log is noted.
fn build_note(path: &Path) -> PathBuf {
    PathBuf::from(format!("{}.build.txt", path.display()))
}

/// SplitMix64: a small, seeded generator for proof indices (the crate has
/// no `rand`).
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = appends, proofs
}
criterion_main!(benches);
