//! The writer driven by hand: batches, failures within them, the frontier.

use super::*;
use crate::store::Outcome;
use crate::store::tests::sample;

/// A writer on a fresh database, driven by hand (no thread), so that a
/// test decides exactly which ops share a batch.
fn writer(dir: &Path) -> Writer {
    let path = dir.join("writer.db");
    let mut conn = Connection::open(&path).unwrap();
    super::super::configure(&conn).unwrap();
    super::super::migrations::apply(&mut conn).unwrap();
    let identity = FileIdentity::of(&path).unwrap();
    let log = load_log(&conn).unwrap();
    Writer {
        conn,
        path,
        identity,
        max_batch: 64,
        log,
        published_size: Arc::new(AtomicU64::new(0)),
    }
}

fn record(exchange: NewExchange) -> (WriteOp, oneshot::Receiver<Result<Recorded>>) {
    let (reply, rx) = oneshot::channel();
    let op = WriteOp::RecordExchange {
        exchange: Box::new(exchange),
        reply,
    };
    (op, rx)
}

fn count(conn: &Connection, table: &str) -> i64 {
    conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

#[test]
fn a_failing_op_is_rolled_back_alone_and_its_neighbours_commit() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = writer(dir.path());
    let first = sample(None, Outcome::Ok);
    let (op, mut rx) = record(first.clone());
    writer.commit(&mut vec![op]);
    assert_eq!(rx.try_recv().unwrap().unwrap().index, 0);

    // One batch: a fresh exchange, the same exchange id again, another
    // fresh one. The usual path (no savepoints) fails on the duplicate
    // and the batch is applied again op by op.
    let (a, mut rx_a) = record(sample(None, Outcome::Ok));
    let (dup, mut rx_dup) = record(first);
    let (b, mut rx_b) = record(sample(None, Outcome::Ok));
    writer.commit(&mut vec![a, dup, b]);
    assert_eq!(rx_a.try_recv().unwrap().unwrap().index, 1);
    assert!(matches!(rx_dup.try_recv().unwrap(), Err(Error::Conflict)));
    assert_eq!(rx_b.try_recv().unwrap().unwrap().index, 2);

    // What is stored is exactly what was acknowledged, and the frontier
    // in memory is the one the database gives.
    assert_eq!(count(&writer.conn, "exchange"), 3);
    assert_eq!(count(&writer.conn, "evidence_entry"), 3);
    assert_eq!(writer.published_size.load(Ordering::Acquire), 3);
    let stored = load_log(&writer.conn).unwrap();
    assert_eq!(stored.frontier.size(), 3);
    assert_eq!(stored.frontier.root(), writer.log.frontier.root());

    // The next batch takes the usual path again.
    let (c, mut rx_c) = record(sample(None, Outcome::Ok));
    writer.commit(&mut vec![c]);
    assert_eq!(rx_c.try_recv().unwrap().unwrap().index, 3);
    assert_eq!(
        load_log(&writer.conn).unwrap().frontier.root(),
        writer.log.frontier.root()
    );
}
