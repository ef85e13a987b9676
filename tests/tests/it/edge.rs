//! The mutual-TLS edge, identity and the request stack, from outside.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ponte_certs::LeafSpec;
use rustls_pki_types::ServerName;
use time::OffsetDateTime;

use super::client::{self, Identity};
use super::harness::{Options, Server, metric};

fn refused(result: Result<client::Answer, String>, alert: &str) {
    match result {
        Ok(answer) => panic!("expected a refused handshake, got HTTP {}", answer.status),
        Err(error) => assert!(error.contains(alert), "expected {alert}, got {error}"),
    }
}

fn handshake_errors(server: &Server, reason: &str) -> f64 {
    let (_, text) = server.admin_get("/metrics");
    metric(
        &text,
        "ponte_tls_handshake_errors_total",
        &[("reason", reason)],
    )
}

fn refused_exchanges(server: &Server, reason: &str) -> i64 {
    let conn = rusqlite::Connection::open_with_flags(
        server.db(),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    conn.query_row(
        "SELECT count(*) FROM exchange WHERE outcome = 'refused' AND reason = ?1",
        [reason],
        |r| r.get(0),
    )
    .unwrap()
}

#[tokio::test]
async fn valid_client_gets_200_with_its_identity() {
    let server = Server::start(Options::default());
    let asl = Identity::dev("asl3-genovese");
    let answer = client::send(server.https, Some(&asl), "GET", "/whoami", vec![])
        .await
        .unwrap();
    assert_eq!(answer.status, 200);
    let body = answer.json();
    assert_eq!(body["agency"], "asl3-genovese");
    assert_eq!(body["roles"], serde_json::json!(["health-authority"]));
    assert_eq!(body["fingerprint"].as_str().unwrap().len(), 64);
    assert!(
        body["subject"]
            .as_str()
            .unwrap()
            .contains("CN=asl3-genovese")
    );
}

#[tokio::test]
async fn handshakes_without_an_acceptable_certificate_are_refused() {
    let server = Server::start(Options::default());
    refused(
        client::send(server.https, None, "GET", "/whoami", vec![]).await,
        "CertificateRequired",
    );

    let other_ca = ponte_certs::Ca::create_named("Some Other CA").unwrap();
    let foreign = other_ca
        .issue(&LeafSpec::client("asl3-genovese", "Impostor"))
        .unwrap();
    let foreign = Identity {
        cert_pem: foreign.cert_pem,
        key_pem: foreign.key_pem,
    };
    refused(
        client::send(server.https, Some(&foreign), "GET", "/whoami", vec![]).await,
        "UnknownCA",
    );

    let now = OffsetDateTime::now_utc();
    let (expired, _) = Identity::issued(&LeafSpec {
        not_before: now - time::Duration::days(30),
        not_after: now - time::Duration::days(1),
        ..LeafSpec::client("asl3-genovese", "ASL")
    });
    refused(
        client::send(server.https, Some(&expired), "GET", "/whoami", vec![]).await,
        "CertificateExpired",
    );

    server.eventually("refusals counted by reason", || {
        handshake_errors(&server, "no_certificate") >= 1.0
            && handshake_errors(&server, "unknown_issuer") >= 1.0
            && handshake_errors(&server, "expired") >= 1.0
    });
    // Metrics count at once; the exchange record follows its group commit.
    server.eventually("refusals recorded as exchanges", || {
        ["no_certificate", "unknown_issuer", "expired"]
            .iter()
            .all(|reason| refused_exchanges(&server, reason) >= 1)
    });
}

#[tokio::test]
async fn revoked_certificates_are_refused() {
    let (revoked, serial) = Identity::issued(&LeafSpec::client("asl3-genovese", "ASL"));
    let ca = ponte_certs::Ca::load(super::harness::dev_pki()).unwrap();
    let crl_dir = tempfile::tempdir().unwrap();
    let crl = crl_dir.path().join("revoked.crl.pem");
    std::fs::write(&crl, ca.crl(&[&serial]).unwrap()).unwrap();
    let server = Server::start(Options {
        crls: vec![crl],
        ..Options::default()
    });
    refused(
        client::send(server.https, Some(&revoked), "GET", "/whoami", vec![]).await,
        "CertificateRevoked",
    );
    // The same agency's other certificate still works.
    let good = client::send(
        server.https,
        Some(&Identity::dev("asl3-genovese")),
        "GET",
        "/whoami",
        vec![],
    )
    .await
    .unwrap();
    assert_eq!(good.status, 200);
    server.eventually("revocation counted and recorded", || {
        handshake_errors(&server, "revoked") >= 1.0 && refused_exchanges(&server, "revoked") == 1
    });
}

#[tokio::test]
async fn unknown_agency_and_wrong_role_get_403_problem_json() {
    let server = Server::start(Options::default());
    let (stranger, _) = Identity::issued(&LeafSpec::client("asl-sconosciuta", "Unknown ASL"));
    let answer = client::send(server.https, Some(&stranger), "GET", "/whoami", vec![])
        .await
        .unwrap();
    assert_eq!(answer.status, 403);
    assert_eq!(answer.headers["content-type"], "application/problem+json");
    assert_eq!(answer.json()["code"], "agency_not_configured");

    let asl = Identity::dev("asl3-genovese");
    let answer = client::send(server.https, Some(&asl), "GET", "/audit/checkpoint", vec![])
        .await
        .unwrap();
    assert_eq!(answer.status, 403);
    assert_eq!(answer.json()["code"], "role_not_allowed");
    assert_eq!(answer.json()["status"], 403);

    // The auditor passes authorisation on the same route.
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
    assert_ne!(answer.status, 403);

    let (_, text) = server.admin_get("/metrics");
    assert_eq!(
        metric(
            &text,
            "ponte_http_refusals_total",
            &[("reason", "agency_not_configured")]
        ),
        1.0
    );
    assert_eq!(
        metric(
            &text,
            "ponte_http_refusals_total",
            &[("reason", "role_not_allowed")]
        ),
        1.0
    );
    assert_eq!(refused_exchanges(&server, "role_not_allowed"), 1);
    assert_eq!(refused_exchanges(&server, "agency_not_configured"), 1);
}

#[tokio::test]
async fn body_over_the_limit_gets_413() {
    let server = Server::start(Options {
        fhir_body_limit: "1KiB",
        ..Options::default()
    });
    let asl = Identity::dev("asl3-genovese");
    let answer = client::send(
        server.https,
        Some(&asl),
        "POST",
        "/fhir/Bundle",
        vec![b'{'; 4096],
    )
    .await
    .unwrap();
    assert_eq!(answer.status, 413);
    assert_eq!(answer.headers["content-type"], "application/fhir+json");
    let body = answer.json();
    assert_eq!(body["resourceType"], "OperationOutcome");
    assert_eq!(body["issue"][0]["code"], "too-long");
}

/// Slowloris: a client that never finishes its headers is cut off once
/// `server.header_read_timeout` has passed.
#[test]
fn headers_sent_too_slowly_close_the_connection() {
    let server = Server::start(Options {
        header_read_timeout: "1s",
        ..Options::default()
    });
    let asl = Identity::dev("asl3-genovese");
    let config: Arc<rustls::ClientConfig> = client::config(Some(&asl));
    let mut conn =
        rustls::ClientConnection::new(config, ServerName::try_from("localhost").unwrap()).unwrap();
    let mut tcp = TcpStream::connect(server.https).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    while conn.is_handshaking() {
        conn.complete_io(&mut tcp).unwrap();
    }
    let started = Instant::now();
    let mut tls = rustls::Stream::new(&mut conn, &mut tcp);
    tls.write_all(b"GET /whoami HTTP/1.1\r\nHost: localhost\r\n")
        .unwrap();
    tls.flush().unwrap();
    // Trickle one header byte every 300 ms, never ending the header block.
    let mut closed = false;
    for _ in 0..20 {
        std::thread::sleep(Duration::from_millis(300));
        if tls.write_all(b"X").and_then(|()| tls.flush()).is_err() {
            closed = true;
            break;
        }
        if started.elapsed() > Duration::from_secs(2) {
            break;
        }
    }
    if !closed {
        let mut buf = [0u8; 1024];
        // hyper answers 408 or closes; either way the stream ends.
        let mut read = Vec::new();
        loop {
            match tls.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => read.extend_from_slice(&buf[..n]),
            }
        }
        let text = String::from_utf8_lossy(&read);
        assert!(
            text.is_empty() || text.starts_with("HTTP/1.1 408"),
            "unexpected answer {text}"
        );
    }
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_secs(4),
        "connection stayed open {elapsed:?}"
    );
    assert!(
        elapsed >= Duration::from_millis(900),
        "closed too early: {elapsed:?}"
    );
}
