//! The office sends a failed deposit again, through the real Postfix and
//! Dovecot: a wrong PEC password fails the deposit at once; once the
//! operator has corrected it, the office retries and the filing reaches the
//! clerk under a new Message-ID, deposited once.
#![cfg(feature = "it-pec")]

use std::sync::Arc;

use super::client;
use super::deposit::{Setup, Simulator, court_deposits, start};
use super::flow::{checked_evidence, get, output, post, status_is, submit, task_until};
use super::pec::pec_lock;

async fn post_retry(server: &super::harness::Server, filing_id: &str) -> client::Answer {
    post(server, "upp-genova", &format!("/filings/{filing_id}/retry")).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deposit_failed_by_a_wrong_password_reaches_the_clerk_when_the_office_retries_it() {
    let _lock = pec_lock().await;
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let server = start(
        Some(dir.clone()),
        Setup {
            smtp_password: Some("not-the-password"),
            ..Setup::default()
        },
    );
    let id = submit(&server, "capacity-savona-ferrando.json").await;
    let failed = task_until(&server, &id, 60, status_is("failed")).await;
    let filing_id = output(&failed, "filing").unwrap();
    let first = output(&failed, "deposit-message-id").unwrap();
    let filing = get(&server, "upp-genova", &format!("/filings/{filing_id}"))
        .await
        .json();
    assert_eq!(filing["deposit"]["failure"], "permanent", "{filing}");
    server.stop();

    // The operator corrects the password and restarts; the failed deposit
    // stays failed until the office asks.
    let server = start(Some(dir), Setup::default());
    let still = task_until(&server, &id, 5, status_is("failed")).await;
    assert_eq!(
        output(&still, "deposit-message-id").as_deref(),
        Some(first.as_str())
    );
    let retried = post_retry(&server, &filing_id).await;
    assert_eq!(
        retried.status,
        202,
        "{}",
        String::from_utf8_lossy(&retried.body)
    );
    let second = retried.json()["message_id"].as_str().unwrap().to_owned();
    assert_ne!(second, first);
    let again = post_retry(&server, &filing_id).await;
    assert_eq!(again.status, 409);
    assert_eq!(again.json()["code"], "deposit_not_retriable");
    assert_eq!(post_retry(&server, "no-such-filing").await.status, 404);

    let sim = Simulator::start(
        "ok",
        &server.dir.path().join("sim.json"),
        std::slice::from_ref(&second),
    );
    let done = task_until(&server, &id, 120, status_is("completed")).await;
    drop(sim);
    assert_eq!(output(&done, "case-number").as_deref(), Some("1234/2026"));
    assert_eq!(
        output(&done, "deposit-message-id").as_deref(),
        Some(second.as_str())
    );
    assert_eq!(output(&done, "deposit-error"), None, "{done}");
    let deposits = court_deposits();
    assert_eq!(deposits.get(&second), Some(&1), "deposited once");
    assert_eq!(deposits.get(&first), None, "the refused attempt never left");

    // The retry is in the filing's evidence, which still verifies offline.
    let bundle = checked_evidence(&server, &filing_id).await;
    let text = String::from_utf8_lossy(&bundle.body);
    assert!(text.contains("deposit-retried"), "{text}");
}
