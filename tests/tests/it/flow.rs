//! Steps shared by the tests that follow a submission through the
//! pipeline: submit a fixture, read as an agency, wait for a Task, read a
//! Task's outputs.

use std::time::{Duration, Instant};

use super::client::{self, Identity};
use super::harness::{Server, workspace_root};

/// Submits a valid fixture as the development ASL; returns the Task id.
pub async fn submit(server: &Server, name: &str) -> String {
    let body = std::fs::read(
        workspace_root()
            .join("tests/fixtures/fhir/valid")
            .join(name),
    )
    .unwrap_or_else(|e| panic!("fixture {name}: {e}"));
    let answer = client::send_with(
        server.https,
        Some(&Identity::dev("asl3-genovese")),
        "POST",
        "/fhir/Bundle",
        &[("content-type", "application/fhir+json")],
        body,
    )
    .await
    .unwrap();
    assert_eq!(
        answer.status,
        201,
        "{name}: {}",
        String::from_utf8_lossy(&answer.body)
    );
    let location = answer.headers["location"].to_str().unwrap();
    location.trim_start_matches("/fhir/Task/").to_owned()
}

/// GET `path` as the development agency `who`.
pub async fn get(server: &Server, who: &str, path: &str) -> client::Answer {
    client::send(
        server.https,
        Some(&Identity::dev(who)),
        "GET",
        path,
        Vec::new(),
    )
    .await
    .unwrap()
}

/// POSTs an empty body to `path` as agency `who`.
pub async fn post(server: &Server, who: &str, path: &str) -> client::Answer {
    client::send(
        server.https,
        Some(&Identity::dev(who)),
        "POST",
        path,
        Vec::new(),
    )
    .await
    .unwrap()
}

/// The Task output of this type, if it has one.
pub fn output(task: &serde_json::Value, kind: &str) -> Option<String> {
    task["output"]
        .as_array()?
        .iter()
        .find(|o| o["type"]["text"] == kind)
        .and_then(|o| o["valueString"].as_str())
        .map(str::to_owned)
}

/// Polls GET `path` as the development agency `who` until `done` holds on
/// the answer's JSON, for up to `secs`; returns that JSON.
pub async fn get_until(
    server: &Server,
    who: &str,
    path: &str,
    secs: u64,
    done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let answer = get(server, who, path).await;
        assert_eq!(answer.status, 200, "{path}");
        let value = answer.json();
        if done(&value) {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "{path} stuck after {secs} s: {value}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Polls the sender's Task `id` until `done` holds, for up to `secs`;
/// returns it.
pub async fn task_until(
    server: &Server,
    id: &str,
    secs: u64,
    done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    get_until(
        server,
        "asl3-genovese",
        &format!("/fhir/Task/{id}"),
        secs,
        done,
    )
    .await
}

/// For [`task_until`]: the Task's status is `want`. A Task that ends in
/// another final status fails the test at once, showing the Task.
pub fn status_is(want: &'static str) -> impl Fn(&serde_json::Value) -> bool {
    const FINAL: [&str; 5] = [
        "completed",
        "failed",
        "cancelled",
        "rejected",
        "entered-in-error",
    ];
    move |task| {
        let status = task["status"].as_str().unwrap_or_default();
        assert!(
            status == want || !FINAL.contains(&status),
            "Task is {status}, expected {want}: {task}"
        );
        status == want
    }
}

/// The office's evidence bundle of `filing_id`, after checking that it was
/// served (200) and that it verifies offline with `ponte audit
/// check-bundle`, as an auditor would.
pub async fn checked_evidence(server: &Server, filing_id: &str) -> client::Answer {
    let bundle = get(
        server,
        "upp-genova",
        &format!("/filings/{filing_id}/evidence"),
    )
    .await;
    assert_eq!(bundle.status, 200);
    let file = server.dir.path().join("bundle.json");
    std::fs::write(&file, &bundle.body).unwrap();
    let checked = std::process::Command::new(super::harness::ponte_bin())
        .args(["audit", "check-bundle"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        checked.status.success(),
        "{}",
        String::from_utf8_lossy(&checked.stderr)
    );
    bundle
}

/// `ponte audit verify` on `server`'s store: the whole evidence log
/// recomputed and every checkpoint signature checked, offline.
pub fn audit_verify(server: &Server) {
    let verified = std::process::Command::new(super::harness::ponte_bin())
        .args(["audit", "verify", "--config"])
        .arg(server.dir.path().join("ponte.toml"))
        .current_dir(server.dir.path())
        .output()
        .unwrap();
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
}
