//! Metrics, health and readiness on the admin listener.

use std::process::{Command, Stdio};

use super::client::{self, Identity};
use super::harness::{Options, Server, metric};

#[tokio::test]
async fn metrics_pass_promtool_and_reflect_requests() {
    let server = Server::start(Options::default());
    let asl = Identity::dev("asl3-genovese");
    for _ in 0..3 {
        let answer = client::send(server.https, Some(&asl), "GET", "/whoami", vec![])
            .await
            .unwrap();
        assert_eq!(answer.status, 200);
    }
    let (status, text) = server.admin_get("/metrics");
    assert_eq!(status, 200);
    assert_eq!(
        metric(
            &text,
            "ponte_http_requests_total",
            &[
                ("route", "/whoami"),
                ("code", "200"),
                ("agency", "asl3-genovese")
            ]
        ),
        3.0
    );
    assert_eq!(
        metric(
            &text,
            "ponte_http_request_duration_seconds_count",
            &[("route", "/whoami")]
        ),
        3.0
    );
    assert_eq!(metric(&text, "ponte_build_info", &[]), 1.0);
    assert!(metric(&text, "ponte_tls_handshakes_total", &[]) >= 3.0);

    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool is installed (Debian package prometheus)");
    use std::io::Write;
    promtool
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = promtool.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn readyz_follows_the_store_file() {
    let server = Server::start(Options::default());
    assert_eq!(server.admin_get("/healthz").0, 200);
    assert_eq!(server.admin_get("/readyz").0, 200);
    let moved = server.db().with_extension("away");
    std::fs::rename(server.db(), &moved).unwrap();
    let (status, body) = server.admin_get("/readyz");
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("\"ready\":false"), "{body}");
    // Requests fail closed while the store is gone…
    let asl = Identity::dev("asl3-genovese");
    let answer = client::send(server.https, Some(&asl), "GET", "/whoami", vec![])
        .await
        .unwrap();
    assert_eq!(answer.status, 503);
    assert!(answer.headers.contains_key("retry-after"));
    // …and recover when it is back, healthz unaffected throughout.
    assert_eq!(server.admin_get("/healthz").0, 200);
    std::fs::rename(&moved, server.db()).unwrap();
    assert_eq!(server.admin_get("/readyz").0, 200);
    let answer = client::send(server.https, Some(&asl), "GET", "/whoami", vec![])
        .await
        .unwrap();
    assert_eq!(answer.status, 200);
}
