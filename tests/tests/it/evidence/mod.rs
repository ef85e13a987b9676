//! The evidence log from outside: proofs checked by an independent Python
//! verifier, tampering with the SQLite file caught by `ponte audit verify`,
//! offline bundles, and no acknowledged entry lost to `kill -9`.

mod durability;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use serde_json::{Value, json};

use super::client::{self, Identity};
use super::harness::{Options, Server, workspace_root};

/// A server with a few dozen entries and several checkpoints, stopped
/// gracefully (so its last checkpoint covers everything).
async fn populated_log(requests: usize) -> Arc<tempfile::TempDir> {
    let server = Server::start(Options {
        checkpoint_entries: 5,
        ..Options::default()
    });
    let asl = Identity::dev("asl3-genovese");
    for i in 0..requests {
        // A mix of served and refused requests, as in real traffic.
        let path = if i % 4 == 3 {
            "/audit/checkpoint"
        } else {
            "/whoami"
        };
        client::send(server.https, Some(&asl), "GET", path, vec![])
            .await
            .unwrap();
        if i % 5 == 3 {
            // On demand, from another process, while the gateway runs:
            // sizes 5, 10, 15, … (the start entry counts).
            checkpoint_now(&server.dir.path().join("ponte.toml"));
        }
    }
    let dir = Arc::clone(&server.dir);
    server.stop();
    dir
}

fn checkpoint_now(config: &Path) {
    let out = Command::new(super::harness::ponte_bin())
        .args(["audit", "checkpoint", "--config"])
        .arg(config)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
}

fn verify(dir: &Path) -> (i32, String) {
    let out = Command::new(super::harness::ponte_bin())
        .args(["audit", "verify", "--config"])
        .arg(dir.join("ponte.toml"))
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Copies a stopped server's folder so each tamper case starts clean.
fn copy_of(dir: &Path) -> tempfile::TempDir {
    let copy = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(copy.path().join("data")).unwrap();
    for entry in std::fs::read_dir(dir.join("data")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(
            entry.path(),
            copy.path().join("data").join(entry.file_name()),
        )
        .unwrap();
    }
    let config = std::fs::read_to_string(dir.join("ponte.toml"))
        .unwrap()
        .replace(
            &dir.display().to_string(),
            &copy.path().display().to_string(),
        );
    std::fs::write(copy.path().join("ponte.toml"), config).unwrap();
    copy
}

fn tamper(dir: &Path, sql: &str) {
    let conn = rusqlite::Connection::open(dir.join("data/ponte.db")).unwrap();
    conn.execute_batch(sql).unwrap();
}

#[tokio::test]
async fn tampering_with_the_database_is_caught_and_the_entry_named() {
    let dir = populated_log(24).await;
    let (code, out) = verify(dir.path());
    assert_eq!(code, 0, "clean log must verify: {out}");
    // 24 requests + 1 start entry.
    assert!(out.contains("25 entries"), "{out}");

    let cases: &[(&str, &str, &str)] = &[
        (
            "a byte of an entry changed",
            "UPDATE evidence_entry SET entry = CAST(replace(CAST(entry AS TEXT), '\"ok\"', '\"OK\"') AS BLOB) WHERE idx = 7",
            "entry 7:",
        ),
        (
            "a row deleted",
            "DELETE FROM evidence_entry WHERE idx = 5",
            "entry 5: missing",
        ),
        (
            "two rows swapped",
            "UPDATE evidence_entry SET idx = -1 WHERE idx = 3; \
             UPDATE evidence_entry SET idx = 3 WHERE idx = 4; \
             UPDATE evidence_entry SET idx = 4 WHERE idx = -1;",
            "entry 3: holds the entry of index 4",
        ),
        (
            "the log truncated",
            "DELETE FROM evidence_entry WHERE idx >= 12",
            "entry 12: missing",
        ),
        (
            "a checkpoint altered",
            "UPDATE evidence_checkpoint SET note = replace(note, char(10) || '10' || char(10), char(10) || '11' || char(10)) WHERE size = 10",
            "checkpoint #",
        ),
        (
            "an entry rewritten with its leaf hash recomputed",
            "UPDATE evidence_entry SET entry = CAST(replace(CAST(entry AS TEXT), '\"ok\"', '\"OK\"') AS BLOB), \
             leaf_hash = (SELECT leaf_hash FROM evidence_entry WHERE idx = 8) WHERE idx = 7",
            "entry 7:",
        ),
    ];
    for (what, sql, expected) in cases {
        let copy = copy_of(dir.path());
        tamper(copy.path(), sql);
        let (code, out) = verify(copy.path());
        assert_eq!(code, 1, "{what}: verify must fail: {out}");
        assert!(
            out.contains(expected),
            "{what}: expected {expected:?} in {out}"
        );
    }
}

#[tokio::test]
async fn a_forger_who_recomputes_hashes_is_still_caught_by_the_signed_root() {
    let dir = populated_log(12).await;
    let copy = copy_of(dir.path());
    // Rewrite entry 2 and make every stored hash agree with the forgery;
    // only the signed checkpoints stand in the way.
    let conn = rusqlite::Connection::open(copy.path().join("data/ponte.db")).unwrap();
    let entry: Vec<u8> = conn
        .query_row("SELECT entry FROM evidence_entry WHERE idx = 2", [], |r| {
            r.get(0)
        })
        .unwrap();
    let forged = String::from_utf8(entry)
        .unwrap()
        .replace("\"ok\"", "\"OK\"");
    let mut leaf = vec![0u8];
    leaf.extend_from_slice(forged.as_bytes());
    let leaf_hash = sha256(&leaf);
    conn.execute(
        "UPDATE evidence_entry SET entry = ?1, leaf_hash = ?2 WHERE idx = 2",
        rusqlite::params![forged.as_bytes(), leaf_hash],
    )
    .unwrap();
    drop(conn);
    let (code, out) = verify(copy.path());
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("do not hash to the root signed") || out.contains("proof node"),
        "{out}"
    );
}

fn sha256(data: &[u8]) -> Vec<u8> {
    let out = Command::new("openssl")
        .args(["dgst", "-sha256", "-binary"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(data)?;
            child.wait_with_output()
        })
        .unwrap();
    out.stdout
}

#[tokio::test]
async fn proofs_verify_with_an_independent_python_verifier() {
    let server = Server::start(Options::default());
    let asl = Identity::dev("asl3-genovese");
    let auditor = Identity::dev("audit-liguria");
    let config = server.dir.path().join("ponte.toml");
    for i in 0..9 {
        client::send(server.https, Some(&asl), "GET", "/whoami", vec![])
            .await
            .unwrap();
        if i == 2 {
            checkpoint_now(&config); // start entry + 3 requests = 4
        }
    }
    checkpoint_now(&config);
    let get = |path: String| {
        let auditor = auditor.clone();
        let addr = server.https;
        async move {
            let answer = client::send(addr, Some(&auditor), "GET", &path, vec![])
                .await
                .unwrap();
            assert_eq!(
                answer.status,
                200,
                "{path}: {}",
                String::from_utf8_lossy(&answer.body)
            );
            answer.json()
        }
    };
    let latest = get("/audit/checkpoint".into()).await;
    let size = latest["size"].as_u64().unwrap();
    assert_eq!(size, 10, "{latest}");
    let older = get("/audit/checkpoint?size=4".into()).await;
    let consistency = get(format!("/audit/proof/consistency?first=4&second={size}")).await;
    let mut entries = Vec::new();
    for index in [0, 3, size - 1] {
        let entry = get(format!("/audit/entries/{index}")).await;
        let proof = get(format!("/audit/proof/inclusion?index={index}&size={size}")).await;
        assert_eq!(proof["checkpoint"], latest["note"]);
        entries.push(json!({"index": index, "entry": entry["entry"], "path": proof["path"]}));
    }
    // The FHIR view of an entry, for BALP consumers.
    let event = get("/audit/entries/3/audit-event".into()).await;
    assert_eq!(event["resourceType"], "AuditEvent");
    assert_eq!(
        event["agent"][0]["who"]["identifier"]["value"],
        "asl3-genovese"
    );
    assert_eq!(event["agent"][0]["network"]["address"], "127.0.0.1");

    let case = json!({
        "vkey": latest["vkey"],
        "checkpoint": latest["note"],
        "entries": entries,
        "older_checkpoint": older["note"],
        "consistency_path": consistency["path"],
    });
    let dir = tempfile::tempdir().unwrap();
    let script = workspace_root().join("tests/interop/verify_evidence.py");
    let run = |case: &Value| {
        let path = dir.path().join("case.json");
        std::fs::write(&path, case.to_string()).unwrap();
        Command::new(super::harness::python())
            .arg(&script)
            .arg(&path)
            .output()
            .unwrap()
    };
    let out = run(&case);
    assert!(
        out.status.success(),
        "independent verifier: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // And it is not a rubber stamp.
    let mut forged = case.clone();
    forged["entries"][1]["entry"] = json!(
        forged["entries"][1]["entry"]
            .as_str()
            .unwrap()
            .replace("whoami", "whoamI")
    );
    assert_eq!(run(&forged).status.code(), Some(1));
}

#[tokio::test]
async fn offline_bundle_checks_without_the_store() {
    let server = Server::start(Options::default());
    let asl = Identity::dev("asl3-genovese");
    let answer = client::send_with(
        server.https,
        Some(&asl),
        "GET",
        "/whoami",
        &[("x-request-id", "bundle-test-1")],
        vec![],
    )
    .await
    .unwrap();
    assert_eq!(answer.status, 200);
    let dir = Arc::clone(&server.dir);
    server.stop();
    let exchange: Vec<u8> = rusqlite::Connection::open(dir.path().join("data/ponte.db"))
        .unwrap()
        .query_row(
            "SELECT id FROM exchange WHERE request_id = 'bundle-test-1'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let exchange = uuid_text(&exchange);
    let bundle = dir.path().join("bundle.json");
    let config = dir.path().join("ponte.toml");
    let run = |args: &[&str]| {
        Command::new(super::harness::ponte_bin())
            .args(args)
            .env("RUST_LOG", "error")
            .output()
            .unwrap()
    };
    let out = run(&[
        "audit",
        "prove",
        &exchange,
        "--out",
        bundle.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{out:?}");
    // Move the bundle away from the store and check it there.
    let elsewhere = tempfile::tempdir().unwrap();
    let moved = elsewhere.path().join("bundle.json");
    std::fs::copy(&bundle, &moved).unwrap();
    drop(dir);
    let out = run(&["audit", "check-bundle", moved.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("bundle OK: 1 entries"));

    let mut doc: Value = serde_json::from_slice(&std::fs::read(&moved).unwrap()).unwrap();
    let vkey = doc["vkey"].as_str().unwrap().to_owned();
    let out = run(&[
        "audit",
        "check-bundle",
        moved.to_str().unwrap(),
        "--vkey",
        &vkey,
    ]);
    assert!(out.status.success(), "pinned key: {out:?}");
    doc["entries"][0]["entry"] = json!(
        doc["entries"][0]["entry"]
            .as_str()
            .unwrap()
            .replace("\"ok\"", "\"failed\"")
    );
    std::fs::write(&moved, doc.to_string()).unwrap();
    let out = run(&["audit", "check-bundle", moved.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
}

fn uuid_text(bytes: &[u8]) -> String {
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}
