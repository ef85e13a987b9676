//! Edge tests: the full stack called with `oneshot`, a real SQLite store, and
//! identities resolved from certificates of a throwaway PKI.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::{Request, StatusCode};
use tower::ServiceExt;

use super::*;
use crate::config::{self, Config};
use crate::store::{ExchangeFilter, ExchangeStore, Outcome, SqliteStore};

struct Fixture {
    _dir: tempfile::TempDir,
    db: std::path::PathBuf,
    state: AppState<SqliteStore>,
    asl: ConnInfo,
    office: ConnInfo,
    auditor: ConnInfo,
    stranger: ConnInfo,
}

fn conn_for(directory: &crate::identity::AgencyDirectory, cert_pem: &str) -> ConnInfo {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let der = CertificateDer::from_pem_slice(cert_pem.as_bytes()).unwrap();
    let (presented, identity) = directory.resolve(&der);
    ConnInfo {
        peer_addr: "127.0.0.1:40000".parse().unwrap(),
        presented: Some(presented),
        identity,
    }
}

pub(crate) fn test_log_key(dir: &std::path::Path) -> crate::evidence::LogKey {
    let path = dir.join("log-key.pem");
    std::fs::write(&path, ponte_certs::log_key_pem().unwrap()).unwrap();
    crate::evidence::LogKey::load(&path, "ponte.test/evidence").unwrap()
}

fn fixture(tweak: impl FnOnce(&mut Config)) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let (mut config, _) = config::load(&dir.path().join("absent.toml"), []).unwrap();
    tweak(&mut config);
    let db = dir.path().join("ponte.db");
    let store = SqliteStore::open(&db, 1, 64).unwrap();
    let directory = crate::identity::AgencyDirectory::new(&config.agencies);
    let ca = ponte_certs::Ca::create().unwrap();
    let asl = ca
        .issue(&ponte_certs::LeafSpec::client("asl3-genovese", "ASL"))
        .unwrap();
    let office = ca
        .issue(&ponte_certs::LeafSpec::client("upp-genova", "UPP"))
        .unwrap();
    let auditor = ca
        .issue(&ponte_certs::LeafSpec::client("audit-liguria", "Audit"))
        .unwrap();
    let stranger = ca
        .issue(&ponte_certs::LeafSpec::client("nobody", "Nobody"))
        .unwrap();
    Fixture {
        db,
        state: AppState::new(Shared {
            store,
            metrics: crate::metrics::Metrics::new().unwrap(),
            access: config.access.clone(),
            server: config.server.clone(),
            evidence: Evidence {
                key: Arc::new(test_log_key(dir.path())),
                origin: "ponte.test/evidence".into(),
            },
            fhir_limits: Default::default(),
            in_flight: Default::default(),
            courts: None,
            pipeline_wake: Default::default(),
        }),
        asl: conn_for(&directory, &asl.cert_pem),
        office: conn_for(&directory, &office.cert_pem),
        auditor: conn_for(&directory, &auditor.cert_pem),
        stranger: conn_for(&directory, &stranger.cert_pem),
        _dir: dir,
    }
}

fn request(method: &str, path: &str, conn: &ConnInfo, body: Body) -> Request<Body> {
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .body(body)
        .unwrap();
    req.extensions_mut().insert(Arc::new(conn.clone()));
    req
}

async fn json(response: axum::response::Response) -> serde_json::Value {
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

async fn last_exchange(f: &Fixture) -> crate::store::Exchange {
    f.state
        .store
        .exchanges(ExchangeFilter::default())
        .await
        .unwrap()
        .pop()
        .expect("an exchange was recorded")
}

#[tokio::test]
async fn configured_agency_gets_its_identity_and_the_exchange_is_recorded() {
    let f = fixture(|_| {});
    let response = app(f.state.clone())
        .oneshot(request("GET", "/whoami", &f.asl, Body::empty()))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().contains_key("x-request-id"));
    let body = json(response).await;
    assert_eq!(body["agency"], "asl3-genovese");
    assert_eq!(body["roles"][0], "health-authority");
    let recorded = last_exchange(&f).await;
    assert_eq!(recorded.route, "/whoami");
    assert_eq!(recorded.agency.as_deref(), Some("asl3-genovese"));
    assert_eq!(recorded.outcome, Outcome::Ok);
    // SHA-256 of the empty body.
    assert_eq!(
        recorded.body_sha256.as_deref(),
        Some("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    );
}

#[tokio::test]
async fn unknown_agency_and_wrong_role_are_refused_with_problem_json() {
    let f = fixture(|_| {});
    let cases = [
        (&f.stranger, "/whoami", "agency_not_configured"),
        (&f.asl, "/audit/checkpoint", "role_not_allowed"),
    ];
    for (conn, path, code) in cases {
        let response = app(f.state.clone())
            .oneshot(request("GET", path, conn, Body::empty()))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        assert_eq!(json(response).await["code"], code);
        let recorded = last_exchange(&f).await;
        assert_eq!(recorded.outcome, Outcome::Refused);
        assert_eq!(recorded.reason.as_deref(), Some(code));
    }
    let metrics = String::from_utf8(f.state.metrics.render().unwrap()).unwrap();
    assert!(metrics.contains("ponte_http_refusals_total{reason=\"role_not_allowed\"} 1"));
}

#[tokio::test]
async fn declared_oversized_body_is_refused_before_reading() {
    let f = fixture(|c| c.server.fhir_body_limit = bytesize::ByteSize::b(10));
    let mut req = request("POST", "/fhir/Bundle", &f.asl, Body::from("x".repeat(11)));
    req.headers_mut()
        .insert(http::header::CONTENT_LENGTH, "11".parse().unwrap());
    let response = app(f.state.clone()).oneshot(req).await.unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(response.headers()["content-type"], "application/fhir+json");
    let body = json(response).await;
    assert_eq!(body["resourceType"], "OperationOutcome");
    assert_eq!(body["issue"][0]["code"], "too-long");
    assert_eq!(last_exchange(&f).await.body_size, 0, "nothing was read");
}

async fn panicking() -> &'static str {
    panic!("boom")
}

#[tokio::test]
async fn a_panic_becomes_a_500_and_the_service_lives_on() {
    let f = fixture(|_| {});
    let routes = Router::new().route("/whoami", get(panicking));
    let app = stack::stack(routes, f.state.clone());
    for _ in 0..2 {
        let response = app
            .clone()
            .oneshot(request("GET", "/whoami", &f.asl, Body::empty()))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = json(response).await;
        assert_eq!(body["code"], "internal_error");
        assert!(!body.to_string().contains("boom"), "no internals leak");
    }
}

#[tokio::test]
async fn overload_answers_503_with_retry_after() {
    let f = fixture(|c| c.server.max_concurrent_requests = 1);
    let routes = Router::new().route(
        "/whoami",
        get(|| async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            "slow"
        }),
    );
    let app = stack::stack(routes, f.state.clone());
    let first = tokio::spawn(
        app.clone()
            .oneshot(request("GET", "/whoami", &f.asl, Body::empty())),
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    let second = app
        .oneshot(request("GET", "/whoami", &f.asl, Body::empty()))
        .await
        .unwrap();
    assert_eq!(second.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(second.headers()["retry-after"], "1");
    assert_eq!(first.await.unwrap().unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn slow_requests_time_out_with_408() {
    let f = fixture(|c| c.server.request_timeout = Duration::from_millis(50));
    let routes = Router::new().route(
        "/whoami",
        get(|| async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            "late"
        }),
    );
    let response = stack::stack(routes, f.state.clone())
        .oneshot(request("GET", "/whoami", &f.asl, Body::empty()))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::REQUEST_TIMEOUT);
}

#[tokio::test]
async fn store_failure_fails_closed_with_503() {
    let f = fixture(|_| {});
    std::fs::rename(&f.db, f.db.with_extension("moved")).unwrap();
    let response = app(f.state.clone())
        .oneshot(request("GET", "/whoami", &f.asl, Body::empty()))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key("retry-after"));
    assert_eq!(json(response).await["code"], "store_unavailable");
}

#[tokio::test]
async fn unknown_routes_are_404_problems() {
    let f = fixture(|_| {});
    // /registry/** is open to every role but has no handler yet.
    let response = app(f.state.clone())
        .oneshot(request(
            "GET",
            "/registry/nothing-here",
            &f.asl,
            Body::empty(),
        ))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(json(response).await["code"], "not_found");
    assert_eq!(last_exchange(&f).await.route, "unmatched");
}

#[tokio::test]
async fn tame_client_request_ids_are_kept() {
    let f = fixture(|_| {});
    let mut req = request("GET", "/whoami", &f.asl, Body::empty());
    req.headers_mut()
        .insert("x-request-id", "client-42".parse().unwrap());
    let response = app(f.state.clone()).oneshot(req).await.unwrap();
    assert_eq!(response.headers()["x-request-id"], "client-42");
    assert_eq!(
        last_exchange(&f).await.request_id.as_deref(),
        Some("client-42")
    );
}

#[tokio::test]
async fn accepted_posts_get_a_signed_receipt_that_matches_the_log() {
    use axum::routing::post;

    use crate::evidence::{Entry, Receipt, merkle};
    use crate::store::EvidenceStore;

    let f = fixture(|c| {
        c.access.insert(
            0,
            toml::from_str(
                r#"path = "/echo"
roles = ["health-authority"]"#,
            )
            .unwrap(),
        )
    });
    let routes = Router::new().route(
        "/echo",
        post(|body: axum::body::Bytes| async move { (StatusCode::CREATED, body) }),
    );
    let app = stack::stack(routes, f.state.clone());
    let response = app
        .clone()
        .oneshot(request("POST", "/echo", &f.asl, Body::from("{\"a\":1}")))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let jws = response.headers()[exchange::RECEIPT_HEADER]
        .to_str()
        .unwrap()
        .to_owned();
    let receipt = Receipt::open(&jws, f.state.evidence.key.verifier()).expect("valid receipt");
    use sha2::Digest;
    assert_eq!(
        receipt.request_sha256,
        hex::encode(sha2::Sha256::digest(b"{\"a\":1}"))
    );
    let stored = f.state.store.evidence_entry(receipt.index).await.unwrap();
    assert_eq!(hex::encode(stored.leaf_hash), receipt.leaf_hash);
    assert_eq!(merkle::leaf_hash(&stored.entry), stored.leaf_hash);
    let entry = Entry::decode(&stored.entry).unwrap();
    assert_eq!(entry.exchange.as_deref(), Some(receipt.exchange.as_str()));
    assert_eq!(entry.digests["body"], receipt.request_sha256);
    // A receipt checked against another key is refused.
    let other = test_log_key(tempfile::tempdir().unwrap().path());
    assert!(Receipt::open(&jws, other.verifier()).is_none());

    // Refused or read requests get none.
    let refused = app
        .oneshot(request("POST", "/echo", &f.stranger, Body::from("x")))
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(!refused.headers().contains_key(exchange::RECEIPT_HEADER));
}

#[tokio::test]
async fn a_filings_pec_messages_download_for_office_and_auditor_only() {
    let f = fixture(|_| {});
    let sent = b"Subject: DEPOSITO\r\n\r\nsent";
    let received = b"Subject: ACCETTAZIONE\r\n\r\nreceived";
    let deposited =
        crate::store::tests::deposited_filing(&f.state.store, &f.db, "f-1", sent, received).await;
    let sent_path = format!("/filings/f-1/messages/deposit-{}.eml", deposited.sent_entry);
    let received_name = format!(
        "received-{}-{}.eml",
        deposited.received.id, deposited.received.kind
    );
    let received_path = format!("/filings/f-1/messages/{received_name}");
    let get = |path: &str, conn: &ConnInfo| {
        app(f.state.clone()).oneshot(request("GET", path, conn, Body::empty()))
    };
    for conn in [&f.office, &f.auditor] {
        for (path, body) in [(&sent_path, &sent[..]), (&received_path, &received[..])] {
            let response = get(path, conn).await.unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            let headers = response.headers();
            assert_eq!(headers["content-type"], "message/rfc822");
            assert_eq!(headers["x-content-type-options"], "nosniff");
            let name = path.rsplit('/').next().unwrap();
            assert_eq!(
                headers["content-disposition"],
                format!("attachment; filename=\"{name}\"").as_str()
            );
            let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
                .await
                .unwrap();
            assert_eq!(&bytes[..], body);
        }
    }
    // The sender may not read them.
    let response = get(&sent_path, &f.asl).await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // Unknown filing, unknown or malformed names: 404 problems.
    for path in [
        format!("/filings/f-2/messages/deposit-{}.eml", deposited.sent_entry),
        format!("/filings/f-2/messages/{received_name}"),
        "/filings/f-1/messages/deposit-999999.eml".to_owned(),
        "/filings/f-1/messages/received-1-avvenuta-consegna.eml".to_owned(),
        "/filings/f-1/messages/Atto.enc".to_owned(),
    ] {
        let response = get(&path, &f.office).await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        assert_eq!(json(response).await["code"], "not_found", "{path}");
    }
}
