//! The edge seen by `curl` (OpenSSL), an independent TLS client.

use std::process::{Command, Output};

use super::harness::{Options, Server, dev_pki, metric};

fn curl(server: &Server, agency: Option<&str>, extra: &[&str]) -> Output {
    let pki = dev_pki();
    let mut cmd = Command::new("curl");
    cmd.args([
        "-sS",
        "--max-time",
        "10",
        "-o",
        "-",
        "-w",
        "\n%{http_code} %{http_version}",
    ])
    .arg("--cacert")
    .arg(pki.join("ca.pem"));
    if let Some(agency) = agency {
        cmd.arg("--cert")
            .arg(pki.join(format!("client-{agency}.pem")))
            .arg("--key")
            .arg(pki.join(format!("client-{agency}.key")));
    }
    cmd.args(extra)
        .arg(format!("https://localhost:{}/whoami", server.https.port()));
    cmd.output().expect("curl is installed")
}

fn status_line(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn curl_with_the_dev_certificates_gets_200_over_http2_and_http1() {
    let server = Server::start(Options::default());
    let out = curl(&server, Some("upp-genova"), &[]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(status_line(&out), "200 2", "ALPN negotiates HTTP/2");
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"agency\":\"upp-genova\""));
    let out = curl(&server, Some("upp-genova"), &["--http1.1"]);
    assert_eq!(status_line(&out), "200 1.1");
}

#[test]
fn curl_without_a_certificate_is_refused() {
    let server = Server::start(Options::default());
    let out = curl(&server, None, &[]);
    assert!(!out.status.success(), "{out:?}");
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("agency"),
        "no answer may leak"
    );
    // curl reports the TLS alert or, when the server closes first, a reset;
    // the server's own count says which refusal it was.
    server.eventually("the refusal counted as no_certificate", || {
        let (_, text) = server.admin_get("/metrics");
        metric(
            &text,
            "ponte_tls_handshake_errors_total",
            &[("reason", "no_certificate")],
        ) >= 1.0
    });
}

#[test]
fn only_tls_12_and_13_are_offered() {
    let server = Server::start(Options::default());
    let out = curl(
        &server,
        Some("upp-genova"),
        &["--tlsv1.2", "--tls-max", "1.2"],
    );
    assert_eq!(status_line(&out), "200 2", "TLS 1.2 works: {out:?}");
    let out = curl(&server, Some("upp-genova"), &["--tlsv1.3"]);
    assert_eq!(status_line(&out), "200 2", "TLS 1.3 works: {out:?}");
    let out = curl(
        &server,
        Some("upp-genova"),
        &["--tlsv1.0", "--tls-max", "1.1"],
    );
    assert!(!out.status.success(), "TLS 1.1 must be refused: {out:?}");
}
