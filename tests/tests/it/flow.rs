//! Steps shared by the tests that follow a submission through the
//! pipeline: submit a fixture, read as an agency, read a Task's outputs.

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

/// The Task output of this type, if it has one.
pub fn output(task: &serde_json::Value, kind: &str) -> Option<String> {
    task["output"]
        .as_array()?
        .iter()
        .find(|o| o["type"]["text"] == kind)
        .and_then(|o| o["valueString"].as_str())
        .map(str::to_owned)
}
