//! kill -9 while deposits are `sending`, through the real Postfix and
//! Dovecot of `scripts/pec-test-servers.sh` and SMTP stand-ins that hold
//! the outbox inside its attempts: every filing is deposited exactly once.
#![cfg(feature = "it-pec")]

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::deposit::{Setup, Simulator, WORKERS, court_deposits, message_ids, start};
use super::flow::{output, status_is, submit, task_until};
use super::pec::{PecEnv, pec_lock};
use super::smtp_stall::{SmtpStall, Stall};

/// More than a client sends before the message text (TLS handshake, EHLO,
/// AUTH, MAIL, RCPT, DATA: a few KiB), less than any envelope.
const BEFORE_THE_MESSAGE: usize = 16 * 1024;

/// The filings whose deposit is in `state`, read-only from the store at
/// `db`.
fn deposits_in(db: &Path, state: &str) -> BTreeSet<String> {
    let db = read_only(db);
    let mut query = db
        .prepare("SELECT filing_id FROM deposit WHERE state = ?1")
        .unwrap();
    query
        .query_map([state], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Every deposit's attempts, by filing, read-only from the store at `db`.
fn attempts(db: &Path) -> BTreeMap<String, i64> {
    let db = read_only(db);
    let mut query = db
        .prepare("SELECT filing_id, attempts FROM deposit")
        .unwrap();
    query
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// The store at `db`, opened read-only.
fn read_only(db: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap()
}

/// Waits until `stall` holds one connection per outbox worker, for up to
/// two minutes: each worker is then inside an attempt it cannot finish.
async fn until_every_worker_is_held(stall: &SmtpStall) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while stall.held() < WORKERS {
        assert!(
            Instant::now() < deadline,
            "{} of {WORKERS} outbox workers reached the stalled SMTP server",
            stall.held()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// kill -9 twice while deposits are `sending`, made certain by SMTP
/// stand-ins that keep every outbox worker inside its attempt. The store
/// says `sending` from the claim, before a byte leaves, until the outcome
/// is recorded; the test kills as soon as both workers are held, well
/// inside the gateway's SMTP timeouts (30 s for the greeting, 10 min for
/// the final reply) and the 30 s lease:
///
/// 1. the real server has taken each message but its final reply is
///    withheld ([`Stall::FinalReply`]): deposited, and the gateway cannot
///    know it. After the restart they wait for the acceptance receipt,
///    inside a reconcile window of ten minutes, and must not be sent again;
/// 2. the next deposits wait for a greeting that never comes
///    ([`Stall::Greeting`]): nothing reached a server. After the next
///    restart (a one-second window) no receipt can come; they are sent
///    again, once.
///
/// The simulator answers from the first restart on, so receipts are
/// applied while the second kill comes. Whether that kill lands inside the
/// application of a receipt is not certain; that receipts are applied once
/// across it is asserted. In the end every Task is completed, each filing
/// was deposited exactly once, and each deposit's attempts are as the
/// kills make them.
#[tokio::test(flavor = "multi_thread")]
async fn kill_9_while_deposits_are_sending_deposits_each_filing_exactly_once() {
    let _lock = pec_lock().await;
    let env = PecEnv::load();
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let names = [
        "capacity-genova-parodi.json",
        "capacity-savona-ferrando.json",
        "capacity-imperia-rebaudo.json",
        "capacity-la-spezia-bertoni.json",
        "tso-genova-musso.json",
        "capacity-ads-report-genova-canepa.json",
    ];

    // 1. Messages taken by the server, final replies withheld.
    let upstream: SocketAddr = format!(
        "{}:{}",
        env.get("PONTE_PEC_HOST"),
        env.port("PONTE_PEC_SUBMISSION_PORT")
    )
    .parse()
    .unwrap();
    let withheld = SmtpStall::start(Stall::FinalReply {
        upstream,
        after_bytes: BEFORE_THE_MESSAGE,
    })
    .await;
    let server = start(
        Some(dir.clone()),
        Setup {
            smtp_port: Some(withheld.port()),
            ..Setup::default()
        },
    );
    let db = server.db();
    let mut tasks = Vec::new();
    for name in names {
        tasks.push(submit(&server, name).await);
    }
    let ids = message_ids(&server, &tasks).await;
    let smallest: i64 = read_only(&db)
        .query_row(
            "SELECT min(size) FROM filing_artefact WHERE name = 'Atto.enc'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        smallest > BEFORE_THE_MESSAGE as i64,
        "an envelope of {smallest} bytes: the stall would withhold an earlier reply"
    );
    until_every_worker_is_held(&withheld).await;
    server.kill9();
    let taken = deposits_in(&db, "sending");
    assert_eq!(
        taken.len(),
        WORKERS,
        "killed with a deposit in `sending` per worker, its message taken by the server"
    );

    // 2. Restarted: those wait for their receipts, which the simulator now
    // sends; the next deposits go to a server that never greets.
    let sim = Simulator::start("ok", &dir.path().join("sim.json"), &ids);
    let silent = SmtpStall::start(Stall::Greeting).await;
    let server = start(
        Some(dir.clone()),
        Setup {
            smtp_port: Some(silent.port()),
            reconcile_window: "10m",
            ..Setup::default()
        },
    );
    until_every_worker_is_held(&silent).await;
    server.kill9();
    let unsent = deposits_in(&db, "sending");
    assert_eq!(
        unsent.len(),
        WORKERS,
        "killed with a deposit in `sending` per worker, its message sent nowhere"
    );
    assert!(taken.is_disjoint(&unsent), "{taken:?} claimed again");

    // 3. Restarted with the real server.
    let server = start(
        Some(dir.clone()),
        Setup {
            reconcile_window: "1s",
            ..Setup::default()
        },
    );
    for id in &tasks {
        let done = task_until(&server, id, 180, status_is("completed")).await;
        assert_eq!(output(&done, "case-number").as_deref(), Some("1234/2026"));
    }
    drop(sim);
    let deposits = court_deposits();
    for id in &ids {
        assert_eq!(
            deposits.get(id.as_str()),
            Some(&1),
            "{id} deposited {:?} times",
            deposits.get(id.as_str())
        );
    }
    // Taken by the server: never sent again. Sent nowhere: sent again once.
    // The others: sent once.
    let attempts = attempts(&db);
    assert_eq!(attempts.len(), names.len());
    for (filing, n) in &attempts {
        let want = if unsent.contains(filing) { 2 } else { 1 };
        assert_eq!(*n, want, "attempts of {filing}: {attempts:?}");
    }
    // Each receipt applied once: per filing, one message of each kind.
    let twice: i64 = read_only(&db)
        .query_row(
            "SELECT count(*) FROM (SELECT filing_id, kind FROM inbound_message \
             WHERE state = 'applied' GROUP BY filing_id, kind HAVING count(*) > 1)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(twice, 0, "a receipt was applied twice");
    super::flow::audit_verify(&server);
}
