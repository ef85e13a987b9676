//! The evidence log under `kill -9` and with checkpoints time-stamped by
//! an RFC 3161 TSA.

use std::collections::HashSet;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use super::super::client::{self, Identity};
use super::super::harness::{Options, Server};
use super::verify;

/// kill -9 during heavy appends, again and again: every acknowledged
/// request is in the log afterwards and the log verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_appends_loses_no_acknowledged_entry() {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let mut acknowledged: Vec<String> = Vec::new();
    for round in 0..4u32 {
        let server = Server::start(Options {
            checkpoint_entries: 50,
            dir: Some(Arc::clone(&dir)),
            ..Options::default()
        });
        let addr = server.https;
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut workers = Vec::new();
        for worker in 0..8 {
            let stop = Arc::clone(&stop);
            workers.push(tokio::spawn(async move {
                let asl = Identity::dev("asl3-genovese");
                let mut acked = Vec::new();
                let mut n = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    n += 1;
                    let id = format!("r{round}-w{worker}-{n}");
                    let sent = client::send_with(
                        addr,
                        Some(&asl),
                        "GET",
                        "/whoami",
                        &[("x-request-id", &id)],
                        vec![],
                    )
                    .await;
                    if matches!(sent, Ok(ref a) if a.status == 200) {
                        acked.push(id);
                    }
                }
                acked
            }));
        }
        tokio::time::sleep(Duration::from_millis(700 + 150 * u64::from(round))).await;
        server.kill9();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for w in workers {
            acknowledged.extend(w.await.unwrap());
        }
        let (code, out) = verify(dir.path());
        assert_eq!(code, 0, "round {round}: {out}");
    }
    assert!(
        acknowledged.len() > 50,
        "load too light: {}",
        acknowledged.len()
    );
    let conn = rusqlite::Connection::open(dir.path().join("data/ponte.db")).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT e.request_id FROM exchange e JOIN evidence_entry v ON v.exchange_id = e.id \
             WHERE e.request_id IS NOT NULL",
        )
        .unwrap();
    let logged: HashSet<String> = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let missing: Vec<&String> = acknowledged
        .iter()
        .filter(|id| !logged.contains(*id))
        .collect();
    assert!(
        missing.is_empty(),
        "acknowledged but not logged: {missing:?}"
    );
}

/// A local RFC 3161 TSA: `openssl ts -reply` behind a minimal HTTP server.
struct LocalTsa {
    url: String,
    dir: tempfile::TempDir,
}

impl LocalTsa {
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let status = Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=Ponte test TSA",
                "-addext",
                "extendedKeyUsage=critical,timeStamping",
                "-addext",
                "keyUsage=critical,digitalSignature",
                "-keyout",
            ])
            .arg(d.join("tsa.key"))
            .arg("-out")
            .arg(d.join("tsa.pem"))
            .output()
            .unwrap();
        assert!(status.status.success(), "{status:?}");
        std::fs::write(d.join("serial"), "01\n").unwrap();
        std::fs::write(
            d.join("tsa.cnf"),
            "[ tsa ]\ndefault_tsa = t\n[ t ]\nserial = ./serial\ncrypto_device = builtin\n\
             signer_digest = sha256\ndefault_policy = 1.2.3.4.1\ndigests = sha256\n\
             accuracy = secs:1\nordering = yes\ntsa_name = no\ness_cert_id_chain = no\n\
             ess_cert_id_alg = sha256\n",
        )
        .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/tsa", listener.local_addr().unwrap());
        let root = d.to_path_buf();
        tokio::spawn(async move {
            let mut n = 0u32;
            while let Ok((stream, _)) = listener.accept().await {
                n += 1;
                let root = root.clone();
                tokio::spawn(serve_tsa(stream, root, n));
            }
        });
        Self { url, dir }
    }
}

async fn serve_tsa(mut stream: tokio::net::TcpStream, root: std::path::PathBuf, n: u32) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let (head_end, length) = loop {
        let read = stream.read(&mut chunk).await.unwrap();
        assert!(read > 0, "client closed early");
        buf.extend_from_slice(&chunk[..read]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            assert!(
                head.contains("content-type: application/timestamp-query"),
                "{head}"
            );
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length: "))
                .unwrap()
                .trim()
                .parse()
                .unwrap();
            break (end + 4, length);
        }
    };
    while buf.len() < head_end + length {
        let read = stream.read(&mut chunk).await.unwrap();
        buf.extend_from_slice(&chunk[..read]);
    }
    let query = root.join(format!("q{n}.tsq"));
    let reply = root.join(format!("r{n}.tsr"));
    std::fs::write(&query, &buf[head_end..head_end + length]).unwrap();
    let out = tokio::process::Command::new("openssl")
        .args([
            "ts", "-reply", "-config", "tsa.cnf", "-signer", "tsa.pem", "-inkey", "tsa.key",
        ])
        .arg("-queryfile")
        .arg(&query)
        .arg("-out")
        .arg(&reply)
        .current_dir(&root)
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let body = std::fs::read(&reply).unwrap();
    let head = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/timestamp-reply\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body).await.unwrap();
}

// Multi-threaded: the TSA task must run while the test blocks on the CLI.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_are_time_stamped_by_an_rfc_3161_tsa() {
    use base64::Engine;
    let tsa = LocalTsa::start().await;
    let server = Server::start(Options {
        tsa_url: Some(tsa.url.clone()),
        ..Options::default()
    });
    let asl = Identity::dev("asl3-genovese");
    for _ in 0..3 {
        client::send(server.https, Some(&asl), "GET", "/whoami", vec![])
            .await
            .unwrap();
    }
    let out = Command::new(super::super::harness::ponte_bin())
        .args(["audit", "checkpoint", "--config"])
        .arg(server.dir.path().join("ponte.toml"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(!log.contains("not time-stamped"), "{log}");
    let auditor = Identity::dev("audit-liguria");
    let answer = client::send(
        server.https,
        Some(&auditor),
        "GET",
        "/audit/checkpoint",
        vec![],
    )
    .await
    .unwrap();
    let cp = answer.json();
    let response = base64::engine::general_purpose::STANDARD
        .decode(cp["tsa_response"].as_str().expect("a time-stamp"))
        .unwrap();
    let d = tsa.dir.path();
    std::fs::write(d.join("resp.tsr"), response).unwrap();
    std::fs::write(d.join("note.txt"), cp["note"].as_str().unwrap()).unwrap();
    let check = |data: &str| {
        Command::new("openssl")
            .args([
                "ts", "-verify", "-in", "resp.tsr", "-data", data, "-CAfile", "tsa.pem",
            ])
            .current_dir(d)
            .output()
            .unwrap()
    };
    let out = check("note.txt");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Verification: OK"),
        "{out:?}"
    );
    std::fs::write(
        d.join("other.txt"),
        cp["note"].as_str().unwrap().replace('4', "5"),
    )
    .unwrap();
    assert!(
        !check("other.txt").status.success(),
        "a different note must not verify"
    );
}
