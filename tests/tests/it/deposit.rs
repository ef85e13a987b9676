//! PEC deposits end to end through the real Postfix and Dovecot started by
//! `scripts/pec-test-servers.sh`: a FHIR submission becomes a filing, the
//! outbox deposits it in the court's mailbox, `tests/interop/pec_sim.py`
//! plays the PEC provider and the court, and the receipts drive the
//! sender's Task to the clerk's decision. Failure paths, cancellation,
//! quarantine. Kills while deposits are being sent: `deposit_crash.rs`.
#![cfg(feature = "it-pec")]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::client::{self, Identity};
use super::flow::{checked_evidence, get, get_until, output, post, status_is, submit, task_until};
use super::harness::{Options, Server, workspace_root};
use super::pec::{PecEnv, pec_lock};

const COURT: &str = "tribunale@pec.ponte.test";

/// How a test server deposits; [`Setup::default`] goes straight to the
/// local Postfix as the office.
pub(super) struct Setup {
    /// The SMTP port on the test host (default: the submission port).
    pub smtp_port: Option<u16>,
    /// The SMTP password (default: the office's).
    pub smtp_password: Option<&'static str>,
    /// `pec.retry_backoff`.
    pub retry_backoff: &'static str,
    /// `pec.max_attempts`.
    pub max_attempts: u32,
    /// `pec.reconcile_window`.
    pub reconcile_window: &'static str,
    /// More environment variables for the server (`PONTE_…` overrides).
    pub env: Vec<(&'static str, &'static str)>,
}

impl Default for Setup {
    fn default() -> Self {
        Self {
            smtp_port: None,
            smtp_password: None,
            retry_backoff: "1s",
            max_attempts: 3,
            reconcile_window: "4s",
            env: Vec::new(),
        }
    }
}

/// Deposits sent at once (`pec.workers`).
pub(super) const WORKERS: usize = 2;

/// A server that deposits through the local servers as the office, in
/// `dir` if given (a restart), set up as `setup` says.
pub(super) fn start(dir: Option<Arc<tempfile::TempDir>>, setup: Setup) -> Server {
    let env = PecEnv::load();
    let (user, office_password) = env.user("OFFICE");
    let pec = format!(
        r#"
[pec]
workers = {WORKERS}
poll_interval = "100ms"
retry_backoff = "{backoff}"
max_attempts = {attempts}
reconcile_window = "{window}"
lease = "30s"
smtp = {{ host = "{host}", port = {port}, security = "starttls", tls_name = "{name}", ca_file = "{ca}", username = "{user}", password_env = "PEC_TEST_SMTP_PASSWORD" }}
imap = {{ host = "{host}", port = {imaps}, tls_name = "{name}", ca_file = "{ca}", username = "{user}", password_env = "PEC_TEST_IMAP_PASSWORD", poll_interval = "200ms", provider_ca_file = "{provider_ca}" }}
"#,
        backoff = setup.retry_backoff,
        attempts = setup.max_attempts,
        window = setup.reconcile_window,
        host = env.get("PONTE_PEC_HOST"),
        port = setup
            .smtp_port
            .unwrap_or_else(|| env.port("PONTE_PEC_SUBMISSION_PORT")),
        imaps = env.port("PONTE_PEC_IMAPS_PORT"),
        name = env.get("PONTE_PEC_TLS_NAME"),
        ca = env.get("PONTE_PEC_CA"),
        provider_ca = env.get("PONTE_PEC_PROVIDER_SIGNING_CA"),
    );
    Server::start(Options {
        dir,
        pec: Some(pec),
        court_pec: Some(COURT.to_owned()),
        env: [
            (
                "PEC_TEST_SMTP_PASSWORD".to_owned(),
                setup
                    .smtp_password
                    .map_or(office_password.clone(), str::to_owned),
            ),
            ("PEC_TEST_IMAP_PASSWORD".to_owned(), office_password),
        ]
        .into_iter()
        .chain(
            setup
                .env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        )
        .collect(),
        ..Options::default()
    })
}

/// `tests/interop/pec_sim.py`, playing the provider and the court.
pub(super) struct Simulator {
    child: Child,
}

impl Simulator {
    /// Answers the deposits carrying `message_ids` (the mailboxes hold
    /// other tests' deposits too) for up to five minutes.
    pub(super) fn start(scenario: &str, state: &Path, message_ids: &[String]) -> Self {
        Self::start_with(scenario, state, message_ids, &[])
    }

    /// [`Simulator::start`] with more arguments.
    fn start_with(scenario: &str, state: &Path, message_ids: &[String], extra: &[&str]) -> Self {
        let mut command = Command::new("python3");
        command
            .arg(workspace_root().join("tests/interop/pec_sim.py"))
            .arg("--env")
            .arg(PecEnv::load().file)
            .args([
                "run",
                "--scenario",
                scenario,
                "--for",
                "300",
                "--interval",
                "0.2",
            ])
            .args(["--case-number", "1234/2026", "--state"])
            .arg(state);
        for id in message_ids {
            command.arg("--message-id").arg(id);
        }
        command.args(extra);
        let child = command
            .stdout(Stdio::null())
            .spawn()
            .expect("python3 runs the simulator");
        Self { child }
    }
}

/// Waits until each Task's filing is ready and returns the Message-IDs its
/// deposits will carry (fixed before the first attempt).
pub(super) async fn message_ids(server: &Server, tasks: &[String]) -> Vec<String> {
    let mut ids = Vec::new();
    for task in tasks {
        let ready = task_until(server, task, 120, |t| output(t, "filing").is_some()).await;
        let filing = output(&ready, "filing").unwrap();
        let filing = get(server, "upp-genova", &format!("/filings/{filing}"))
            .await
            .json();
        ids.push(
            filing["deposit"]["message_id"]
                .as_str()
                .unwrap_or_else(|| panic!("no deposit: {filing}"))
                .to_owned(),
        );
    }
    ids
}

impl Drop for Simulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Deposits in the court's mailbox by Message-ID: how many messages carry
/// each.
pub(super) fn court_deposits() -> BTreeMap<String, usize> {
    let out = Command::new("python3")
        .arg(workspace_root().join("tests/interop/pec_sim.py"))
        .arg("--env")
        .arg(PecEnv::load().file)
        .arg("deposits")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut counts = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let value: serde_json::Value = serde_json::from_str(line).unwrap();
        *counts
            .entry(
                value["message_id"]
                    .as_str()
                    .unwrap()
                    .trim_matches(['<', '>'])
                    .to_owned(),
            )
            .or_default() += 1;
    }
    counts
}

#[tokio::test(flavor = "multi_thread")]
async fn a_report_reaches_the_clerk_and_the_case_number_reaches_the_sender() {
    let _lock = pec_lock().await;
    let server = start(None, Setup::default());
    let id = submit(&server, "capacity-genova-parodi.json").await;
    let ids = message_ids(&server, std::slice::from_ref(&id)).await;
    let sim = Simulator::start("ok", &server.dir.path().join("sim.json"), &ids);
    let done = task_until(&server, &id, 120, status_is("completed")).await;
    assert_eq!(
        output(&done, "case-number").as_deref(),
        Some("1234/2026"),
        "{done}"
    );
    assert!(
        output(&done, "rdac").is_some(),
        "the delivery receipt is on the Task: {done}"
    );
    assert!(output(&done, "deposited-at").is_some(), "{done}");
    let filing_id = output(&done, "filing").unwrap();
    // Postfix delivers the four messages in any order: the clerk's may be
    // applied before the others.
    let filing = get_until(
        &server,
        "upp-genova",
        &format!("/filings/{filing_id}"),
        30,
        |f| f["deposit"]["messages"].as_array().map_or(0, Vec::len) >= 4,
    )
    .await;
    let deposit = &filing["deposit"];
    assert_eq!(deposit["state"], "accepted-by-clerk", "{filing}");
    assert_eq!(deposit["case_number"], "1234/2026");
    assert_eq!(deposit["attempts"], 1);
    // Each of the four answers carried a provider signature that verified.
    let (_, metrics) = server.admin_get("/metrics");
    assert_eq!(
        super::harness::metric(
            &metrics,
            "ponte_pec_signatures_total",
            &[("result", "verified")]
        ),
        4.0
    );
    let kinds: Vec<&str> = deposit["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["kind"].as_str().unwrap())
        .collect();
    for kind in [
        "accettazione",
        "avvenuta-consegna",
        "esito-controlli",
        "esito-cancelleria",
    ] {
        assert_eq!(kinds.iter().filter(|k| **k == kind).count(), 1, "{kinds:?}");
    }
    let message_id = deposit["message_id"].as_str().unwrap();
    assert_eq!(court_deposits().get(message_id), Some(&1), "deposited once");
    drop(sim);

    // The evidence bundle carries the envelope, the deposit and the
    // receipts, each bound to the log, and verifies offline.
    let bundle = checked_evidence(&server, &filing_id).await;
    let json = bundle.json();
    let names: Vec<&str> = json["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"Atto.enc"), "{names:?}");
    assert_eq!(
        names.iter().filter(|n| n.starts_with("deposit-")).count(),
        1,
        "{names:?}"
    );
    assert_eq!(
        names.iter().filter(|n| n.starts_with("received-")).count(),
        4,
        "{names:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn non_blocking_anomalies_and_court_messages_citing_the_provider_id_still_reach_the_clerk() {
    let _lock = pec_lock().await;
    let server = start(None, Setup::default());
    let id = submit(&server, "tso-genova-musso.json").await;
    let ids = message_ids(&server, std::slice::from_ref(&id)).await;
    // The court writes the provider's identificativo, not the deposit's
    // Message-ID, in its messages; the checks report a warning (-1).
    let _sim = Simulator::start_with(
        "checks-warn",
        &server.dir.path().join("sim.json"),
        &ids,
        &["--idmsgmitt", "identificativo"],
    );
    let done = task_until(&server, &id, 120, status_is("completed")).await;
    assert_eq!(output(&done, "esito").as_deref(), Some("2"), "{done}");
    assert_eq!(output(&done, "case-number").as_deref(), Some("1234/2026"));
    let filing_id = output(&done, "filing").unwrap();
    // Postfix delivers the four messages in any order: the clerk's may be
    // applied before the others.
    let applied = |filing: &serde_json::Value| {
        filing["deposit"]["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["state"] == "applied")
            .count()
    };
    let filing = get_until(
        &server,
        "upp-genova",
        &format!("/filings/{filing_id}"),
        30,
        |f| applied(f) >= 4,
    )
    .await;
    assert_eq!(
        applied(&filing),
        4,
        "every message tied to the deposit: {filing}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_checks_clerk_refusal_exhausted_attempts_refused_login_cancellation_and_quarantine()
{
    let _lock = pec_lock().await;
    // The court's automatic checks fail: the Task fails with the esito.
    {
        let server = start(None, Setup::default());
        let id = submit(&server, "capacity-savona-ferrando.json").await;
        let ids = message_ids(&server, std::slice::from_ref(&id)).await;
        let _sim = Simulator::start("checks-failed", &server.dir.path().join("sim.json"), &ids);
        let failed = task_until(&server, &id, 120, status_is("failed")).await;
        assert_eq!(output(&failed, "esito").as_deref(), Some("-1"), "{failed}");
        let filing_id = output(&failed, "filing").unwrap();
        let filing = get(&server, "upp-genova", &format!("/filings/{filing_id}"))
            .await
            .json();
        assert_eq!(filing["deposit"]["state"], "checks-failed");
    }
    // The clerk refuses the deposit.
    {
        let server = start(None, Setup::default());
        let id = submit(&server, "capacity-istanza-albenga-ghiglione.json").await;
        let ids = message_ids(&server, std::slice::from_ref(&id)).await;
        let _sim = Simulator::start("refused", &server.dir.path().join("sim.json"), &ids);
        let refused = task_until(&server, &id, 120, status_is("failed")).await;
        let filing_id = output(&refused, "filing").unwrap();
        let filing = get(&server, "upp-genova", &format!("/filings/{filing_id}"))
            .await
            .json();
        assert_eq!(filing["deposit"]["state"], "refused", "{filing}");
    }
    // A server that never answers: transient every time, failed once the
    // attempts run out, each attempt counted.
    {
        let server = start(
            None,
            Setup {
                smtp_port: Some(NOTHING_LISTENS),
                retry_backoff: "200ms",
                ..Setup::default()
            },
        );
        let id = submit(&server, "ads-accounts-savona-siccardi.json").await;
        let failed = task_until(&server, &id, 60, status_is("failed")).await;
        let filing_id = output(&failed, "filing").unwrap();
        let filing = get(&server, "upp-genova", &format!("/filings/{filing_id}"))
            .await
            .json();
        assert_eq!(filing["deposit"]["state"], "failed", "{filing}");
        assert_eq!(filing["deposit"]["attempts"], 3, "{filing}");
        let (_, metrics) = server.admin_get("/metrics");
        let count = |outcome| {
            super::harness::metric(
                &metrics,
                "ponte_deposit_attempts_total",
                &[("outcome", outcome)],
            )
        };
        assert_eq!((count("transient"), count("exhausted")), (2.0, 1.0));
    }
    // A refused login is permanent: one attempt, failed at once.
    {
        let server = start(
            None,
            Setup {
                smtp_password: Some("not-the-password"),
                ..Setup::default()
            },
        );
        let id = submit(&server, "capacity-imperia-rebaudo.json").await;
        let failed = task_until(&server, &id, 60, status_is("failed")).await;
        let filing_id = output(&failed, "filing").unwrap();
        let filing = get(&server, "upp-genova", &format!("/filings/{filing_id}"))
            .await
            .json();
        assert_eq!(filing["deposit"]["state"], "failed", "{filing}");
        assert_eq!(
            filing["deposit"]["attempts"], 1,
            "no retry after a permanent error"
        );
        let (_, metrics) = server.admin_get("/metrics");
        assert_eq!(
            super::harness::metric(
                &metrics,
                "ponte_deposit_attempts_total",
                &[("outcome", "permanent")]
            ),
            1.0
        );
    }
    // Unreachable server: transient, retried with backoff; the office
    // cancels while it waits; a message nobody sent lands in quarantine.
    {
        let server = start(
            None,
            Setup {
                smtp_port: Some(NOTHING_LISTENS),
                retry_backoff: "30s",
                max_attempts: 5,
                ..Setup::default()
            },
        );
        let id = submit(&server, "capacity-la-spezia-bertoni.json").await;
        let queued = task_until(&server, &id, 60, |t| {
            output(t, "deposit-error").is_some()
                && t["businessStatus"]["text"] == "atto pronto per il deposito"
        })
        .await;
        let filing_id = output(&queued, "filing").unwrap();
        let cancel = client::send(
            server.https,
            Some(&Identity::dev("upp-genova")),
            "POST",
            &format!("/filings/{filing_id}/cancel"),
            Vec::new(),
        )
        .await
        .unwrap();
        assert_eq!(
            cancel.status,
            200,
            "{}",
            String::from_utf8_lossy(&cancel.body)
        );
        task_until(&server, &id, 10, status_is("cancelled")).await;
        let again = client::send(
            server.https,
            Some(&Identity::dev("upp-genova")),
            "POST",
            &format!("/filings/{filing_id}/cancel"),
            Vec::new(),
        )
        .await
        .unwrap();
        assert_eq!(again.status, 409);

        // A message that is no PEC receipt: stored in quarantine, listed
        // for the office, raw bytes kept.
        let token = format!("ponte-quarantine-{}", std::process::id());
        send_plain_mail_to_office(&token);
        let found = quarantined_with(&server, &token).await;
        assert_eq!(found["state"], "quarantined");
        assert_eq!(found["reason"], "not_a_pec_message");
        assert_eq!(
            get(&server, "asl3-genovese", "/filings/quarantine")
                .await
                .status,
            403
        );
        // The office reviews it and dismisses it: out of the quarantine.
        let id = found["id"].as_i64().unwrap();
        let dismiss = format!("/filings/quarantine/{id}/dismiss");
        let dismissed = post(&server, "upp-genova", &dismiss).await;
        assert_eq!(
            dismissed.status,
            200,
            "{}",
            String::from_utf8_lossy(&dismissed.body)
        );
        assert_eq!(dismissed.json()["state"], "dismissed");
        let again = post(&server, "upp-genova", &dismiss).await;
        assert_eq!(again.status, 409);
        assert_eq!(again.json()["code"], "message_not_quarantined");
        let list = get(&server, "upp-genova", "/filings/quarantine")
            .await
            .json();
        assert!(
            list["messages"]
                .as_array()
                .unwrap()
                .iter()
                .all(|m| m["id"] != id),
            "{list}"
        );
        let raw = get(&server, "upp-genova", &format!("/filings/quarantine/{id}")).await;
        assert_eq!(raw.status, 404);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn receipts_whose_provider_signature_does_not_verify_are_quarantined_and_move_nothing() {
    let _lock = pec_lock().await;
    let server = start(None, Setup::default());
    let tampered = submit(&server, "capacity-imperia-rebaudo.json").await;
    let untrusted = submit(&server, "capacity-la-spezia-bertoni.json").await;
    let ids = message_ids(&server, &[tampered.clone(), untrusted.clone()]).await;
    // Every receipt and court envelope of the first deposit altered after
    // the provider signed it; those of the second signed by a certificate
    // no trusted PEC provider CA issued. Each says "accepted by the clerk".
    let _forger = Simulator::start_with(
        "ok",
        &server.dir.path().join("sim-tampered.json"),
        &ids[..1],
        &["--signature", "tampered"],
    );
    let _stranger = Simulator::start_with(
        "ok",
        &server.dir.path().join("sim-untrusted.json"),
        &ids[1..],
        &["--signature", "untrusted"],
    );
    let count = |list: &serde_json::Value, reason: &str| {
        list["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["reason"] == reason)
            .count()
    };
    let list = get_until(&server, "upp-genova", "/filings/quarantine", 120, |l| {
        count(l, "provider_signature_invalid") >= 4 && count(l, "provider_signer_untrusted") >= 4
    })
    .await;
    // RdA, RdAC, esito controlli, esito intervento of each deposit.
    assert_eq!(
        (
            count(&list, "provider_signature_invalid"),
            count(&list, "provider_signer_untrusted")
        ),
        (4, 4),
        "{list}"
    );
    // Counted for the security team's alerts, by result.
    let (_, metrics) = server.admin_get("/metrics");
    let signatures = |result| {
        super::harness::metric(
            &metrics,
            "ponte_pec_signatures_total",
            &[("result", result)],
        )
    };
    assert_eq!(signatures("provider_signature_invalid"), 4.0);
    assert_eq!(signatures("provider_signer_untrusted"), 4.0);
    // Nothing moved: both deposits are still only sent, no case number.
    for task in [&tampered, &untrusted] {
        let task = get(&server, "asl3-genovese", &format!("/fhir/Task/{task}"))
            .await
            .json();
        assert_ne!(task["status"], "completed", "{task}");
        assert_eq!(output(&task, "case-number"), None, "{task}");
        let filing_id = output(&task, "filing").unwrap();
        let filing = get(&server, "upp-genova", &format!("/filings/{filing_id}"))
            .await
            .json();
        assert_eq!(filing["deposit"]["state"], "sent", "{filing}");
    }
}

/// The quarantine listing of the message whose raw bytes contain `token`,
/// once the reader has stored it (30 s at most).
pub(super) async fn quarantined_with(server: &Server, token: &str) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let list = get(server, "upp-genova", "/filings/quarantine")
            .await
            .json();
        for message in list["messages"].as_array().unwrap() {
            let id = message["id"].as_i64().unwrap();
            let raw = get(server, "upp-genova", &format!("/filings/quarantine/{id}")).await;
            if String::from_utf8_lossy(&raw.body).contains(token) {
                return message.clone();
            }
        }
        assert!(Instant::now() < deadline, "quarantined message not listed");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Sends an ordinary e-mail to the office's box (as the provider account),
/// with Python's smtplib.
pub(super) fn send_plain_mail_to_office(token: &str) {
    let script = r#"
import smtplib, ssl, sys
env = dict(l.strip().split('=', 1) for l in open(sys.argv[1]) if '=' in l)
env = {k: v.strip('"') for k, v in env.items()}
ctx = ssl.create_default_context(cafile=env['PONTE_PEC_CA'])
# The certificate names mail.pec.ponte.test, reached here as 127.0.0.1: the
# chain is still checked against the test CA.
ctx.check_hostname = False
with smtplib.SMTP(env['PONTE_PEC_HOST'], int(env['PONTE_PEC_SUBMISSION_PORT'])) as s:
    s.starttls(context=ctx)
    s.login(env['PONTE_PEC_PROVIDER_USER'], env['PONTE_PEC_PROVIDER_PASSWORD'])
    msg = "From: %s\r\nTo: %s\r\nSubject: hello\r\n\r\n%s\r\n" % (
        env['PONTE_PEC_PROVIDER_USER'], env['PONTE_PEC_OFFICE_USER'], sys.argv[2])
    s.sendmail(env['PONTE_PEC_PROVIDER_USER'], [env['PONTE_PEC_OFFICE_USER']], msg)
"#;
    let status = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(PecEnv::load().file)
        .arg(token)
        .status()
        .unwrap();
    assert!(status.success(), "sending the plain mail failed");
}

/// A loopback port nothing listens on (discard): connection refused, before
/// any message text, so a transient failure.
const NOTHING_LISTENS: u16 = 9;
