//! The `/filings` routes' helpers; the PEC messages of a filing, found by
//! the names the evidence bundle gives them, against a real store.

use sha2::Digest as _;

use super::attachment;
use super::evidence::bundle_files;
use super::messages::{MessageName, lookup};
use crate::evidence::EntryFilter;
use crate::store::tests::{Deposited, deposited_filing};
use crate::store::{Error, EvidenceStore, SqliteStore};

const SENT: &[u8] = b"Subject: DEPOSITO ads-report\r\n\r\nthe envelope";
const RECEIVED: &[u8] = b"Subject: ACCETTAZIONE: DEPOSITO ads-report\r\n\r\nok";

/// A store holding filing `f-1`, deposited and answered.
struct Fixture {
    _dir: tempfile::TempDir,
    store: SqliteStore,
    deposited: Deposited,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let store = SqliteStore::open(&db, 1, 16).unwrap();
    let deposited = deposited_filing(&store, &db, "f-1", SENT, RECEIVED).await;
    Fixture {
        _dir: dir,
        store,
        deposited,
    }
}

impl Fixture {
    fn sent(&self) -> MessageName {
        MessageName::Sent {
            entry: self.deposited.sent_entry,
        }
    }

    fn received(&self) -> MessageName {
        MessageName::Received {
            id: self.deposited.received.id,
            kind: self.deposited.received.kind.clone(),
        }
    }
}

fn not_found(result: Result<Vec<u8>, Error>) -> bool {
    matches!(result, Err(Error::NotFound))
}

#[tokio::test]
async fn a_filings_messages_are_found_by_their_bundle_names() {
    let f = fixture().await;
    assert_eq!(lookup(&f.store, "f-1", &f.sent()).await.unwrap(), SENT);
    assert_eq!(
        lookup(&f.store, "f-1", &f.received()).await.unwrap(),
        RECEIVED
    );
}

#[tokio::test]
async fn another_filing_or_a_wrong_name_finds_nothing() {
    let f = fixture().await;
    assert!(not_found(lookup(&f.store, "f-2", &f.sent()).await));
    assert!(not_found(lookup(&f.store, "f-2", &f.received()).await));
    let wrong_kind = MessageName::Received {
        id: f.deposited.received.id,
        kind: "avvenuta-consegna".into(),
    };
    assert!(not_found(lookup(&f.store, "f-1", &wrong_kind).await));
    let unknown_id = MessageName::Received {
        id: f.deposited.received.id + 1,
        kind: f.deposited.received.kind.clone(),
    };
    assert!(not_found(lookup(&f.store, "f-1", &unknown_id).await));
    // An entry of the filing that is not a deposit attempt, and one past
    // the end of the log.
    let not_a_deposit = MessageName::Sent {
        entry: f.deposited.sent_entry + 1,
    };
    assert!(not_found(lookup(&f.store, "f-1", &not_a_deposit).await));
    let beyond = MessageName::Sent { entry: 1 << 40 };
    assert!(not_found(lookup(&f.store, "f-1", &beyond).await));
}

#[tokio::test]
async fn messages_past_the_budget_are_referenced_by_their_route() {
    let f = fixture().await;
    let entries = f
        .store
        .evidence_entries(EntryFilter {
            filing: Some("f-1".into()),
            ..EntryFilter::default()
        })
        .await
        .unwrap();
    let files = bundle_files(&f.store, "f-1", &entries, 0).await.unwrap();
    let names: Vec<&str> = files.iter().map(|file| file.name.as_str()).collect();
    let sent = f.sent().to_string();
    let received = f.received().to_string();
    assert_eq!(names, ["Atto.enc", sent.as_str(), received.as_str()]);
    for file in &files {
        assert_eq!(file.content, None, "{}", file.name);
        let href = file.href.as_deref().expect("every file has a route");
        if file.name == "Atto.enc" {
            assert_eq!(href, "/filings/f-1/artefacts/Atto.enc");
            continue;
        }
        // The href names the file, and the route finds the very bytes the
        // bundle's digest binds.
        assert_eq!(href, format!("/filings/f-1/messages/{}", file.name));
        let name = MessageName::parse(&file.name).expect("a message name");
        let bytes = lookup(&f.store, "f-1", &name).await.unwrap();
        assert_eq!(file.size, Some(bytes.len() as u64));
        assert_eq!(file.sha256, hex::encode(sha2::Sha256::digest(&bytes)));
    }
    // Within the budget the messages are inline, without a reference.
    let files = bundle_files(&f.store, "f-1", &entries, 1 << 20)
        .await
        .unwrap();
    assert!(
        files
            .iter()
            .all(|file| file.content.is_some() && file.href.is_none())
    );
}

#[test]
fn attachment_names_are_reduced_to_safe_ascii() {
    assert_eq!(
        attachment("Ricorso.pdf"),
        "attachment; filename=\"Ricorso.pdf\""
    );
    assert_eq!(
        attachment("a\"b;c/../d\u{e8}.pdf"),
        "attachment; filename=\"a_b_c_.._d_.pdf\""
    );
    assert_eq!(attachment("..."), "attachment; filename=\"file\"");
}
