//! Independent checks: Ponte's accepted fixtures and answers read by
//! Python `fhir.resources`, and every official R4 example answered cleanly.

use std::path::PathBuf;

use super::super::client::{self, Identity};
use super::super::harness::{Options, Server, workspace_root};
use super::{post, valid_fixtures};

/// What Ponte accepts and what it answers is valid R4 for an independent
/// implementation (Python fhir.resources 6.4.0).
#[tokio::test]
async fn accepted_fixtures_and_answers_are_valid_r4_for_an_independent_library() {
    let server = Server::start(Options::default());
    let asl = Identity::dev("asl3-genovese");
    let out_dir = tempfile::tempdir().unwrap();
    let mut files: Vec<PathBuf> = Vec::new();
    for (i, file) in valid_fixtures().iter().enumerate() {
        let answer = post(&server, &asl, std::fs::read(file).unwrap(), &[]).await;
        assert_eq!(answer.status, 201, "{}", file.display());
        files.push(file.clone());
        let task = out_dir.path().join(format!("task-{i}.json"));
        std::fs::write(&task, &answer.body).unwrap();
        files.push(task);
    }
    let get = |path: &str| {
        let addr = server.https;
        let asl = asl.clone();
        let path = path.to_owned();
        async move {
            client::send(addr, Some(&asl), "GET", &path, vec![])
                .await
                .unwrap()
        }
    };
    for (name, path) in [
        ("capability.json", "/fhir/metadata"),
        ("searchset.json", "/fhir/Task?status=received"),
    ] {
        let answer = get(path).await;
        assert_eq!(answer.status, 200);
        std::fs::write(out_dir.path().join(name), &answer.body).unwrap();
        files.push(out_dir.path().join(name));
    }
    let refused = post(
        &server,
        &asl,
        b"{\"resourceType\":\"Patient\"}".to_vec(),
        &[],
    )
    .await;
    assert_eq!(refused.status, 422);
    std::fs::write(out_dir.path().join("outcome.json"), &refused.body).unwrap();
    files.push(out_dir.path().join("outcome.json"));

    let out = std::process::Command::new(super::super::harness::python())
        .arg(workspace_root().join("tests/interop/check_fhir_r4.py"))
        .args(&files)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every official R4 example, JSON and XML, posted as it is: a 2xx or a
/// 4xx OperationOutcome, never a 5xx, and the gateway still answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_official_example_gets_a_clean_answer() {
    let server = Server::start(Options::default());
    let corpus =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fhir-examples/r4");
    let mut files: Vec<(PathBuf, &str)> = Vec::new();
    for (dir, media) in [
        ("json", "application/fhir+json"),
        ("xml", "application/fhir+xml"),
    ] {
        for entry in std::fs::read_dir(corpus.join(dir)).unwrap() {
            files.push((entry.unwrap().path(), media));
        }
    }
    assert!(files.len() > 1000, "the corpus is there: {}", files.len());
    let files = std::sync::Arc::new(files);
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..8 {
        let (files, next, addr) = (files.clone(), next.clone(), server.https);
        workers.push(tokio::spawn(async move {
            let asl = Identity::dev("asl3-genovese");
            let mut tally = std::collections::BTreeMap::<u16, usize>::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some((path, media)) = files.get(i) else {
                    break;
                };
                let body = wrap(&std::fs::read(path).unwrap(), media, i);
                let answer = client::send_with(
                    addr,
                    Some(&asl),
                    "POST",
                    "/fhir/Bundle",
                    &[("content-type", media)],
                    body,
                )
                .await
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                assert!(answer.status < 500, "{}: {}", path.display(), answer.status);
                if answer.status >= 400 {
                    assert_eq!(
                        answer.json()["resourceType"],
                        "OperationOutcome",
                        "{}",
                        path.display()
                    );
                }
                *tally.entry(answer.status).or_default() += 1;
            }
            tally
        }));
    }
    let mut tally = std::collections::BTreeMap::<u16, usize>::new();
    for w in workers {
        for (status, n) in w.await.unwrap() {
            *tally.entry(status).or_default() += n;
        }
    }
    eprintln!("official examples by status: {tally:?}");
    assert_eq!(tally.values().sum::<usize>(), files.len());
}

/// Wraps a resource that is not a Bundle in a document Bundle, so that it
/// goes through the whole parser (typed models, unknown elements, Bundle
/// rules) rather than stopping at "not a Bundle".
fn wrap(example: &[u8], media: &str, n: usize) -> Vec<u8> {
    let text = String::from_utf8_lossy(example);
    let is_bundle = if media.ends_with("json") {
        text.contains("\"resourceType\": \"Bundle\"")
            || text.contains("\"resourceType\":\"Bundle\"")
    } else {
        text.trim_start_matches(|c: char| c != '>')
            .contains("<Bundle ")
            && text
                .find("<Bundle")
                .is_some_and(|i| text[..i].matches('<').count() <= 2)
    };
    if is_bundle {
        return example.to_vec();
    }
    let uuid = format!("urn:uuid:00000000-0000-4000-8000-{n:012}");
    if media.ends_with("json") {
        format!(
            r#"{{"resourceType":"Bundle","type":"document","identifier":{{"system":"urn:ietf:rfc:3986","value":"{uuid}"}},"timestamp":"2026-11-26T10:00:00Z","entry":[{{"fullUrl":"{uuid}","resource":{text}}}]}}"#
        )
        .into_bytes()
    } else {
        let body = match text.find("?>") {
            Some(end) if text.trim_start().starts_with("<?xml") => &text[end + 2..],
            _ => &text[..],
        };
        format!(
            r#"<Bundle xmlns="http://hl7.org/fhir"><identifier><system value="urn:ietf:rfc:3986"/><value value="{uuid}"/></identifier><type value="document"/><timestamp value="2026-11-26T10:00:00Z"/><entry><fullUrl value="{uuid}"/><resource>{body}</resource></entry></Bundle>"#
        )
        .into_bytes()
    }
}
