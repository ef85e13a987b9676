//! `GET /filings/{id}/evidence`: a filing's offline evidence bundle, with
//! the files its entries speak of (inline up to a cap, else by reference).

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};

use super::messages::{self, MessageName};
use crate::edge::AppState;
use crate::edge::routes::store_problem;
use crate::evidence::EntryFilter;
use crate::evidence::bundle::BundleFile;
use crate::store::Store;

/// `GET /filings/{id}/evidence`: an offline evidence bundle of every entry
/// about the filing, proved against a checkpoint signed now (check it with
/// `ponte audit check-bundle`).
pub(super) async fn evidence<S: Store>(
    State(state): State<AppState<S>>,
    Path(id): Path<String>,
) -> Response {
    if let Err(e) = state.store.filing(id.clone()).await {
        return store_problem(&e).into_response();
    }
    let entries = match state
        .store
        .evidence_entries(EntryFilter {
            filing: Some(id.clone()),
            ..EntryFilter::default()
        })
        .await
    {
        Ok(entries) => entries,
        Err(e) => return store_problem(&e).into_response(),
    };
    let mut bundle = match crate::evidence::bundle::prove(
        &state.store,
        &state.evidence.key,
        &state.evidence.origin,
        &entries,
    )
    .await
    {
        Ok(bundle) => bundle,
        Err(e) => return store_problem(&e).into_response(),
    };
    match bundle_files(&state.store, &id, &entries, EVIDENCE_INLINE_BYTES).await {
        Ok(files) => bundle.files = files,
        Err(e) => return store_problem(&e).into_response(),
    }
    Json(bundle).into_response()
}

/// How many bytes of files, in total, `GET /filings/{id}/evidence` carries
/// inline (base64 makes the body about 4/3 of that). An envelope may reach
/// 60 MiB and every deposit attempt carries it again, so inlining all of
/// them could make one answer of hundreds of MiB, held in memory at once.
/// Files past the cap are listed by name, size and SHA-256 (still bound to
/// the log by the digest), with the route that serves them (`href`).
pub const EVIDENCE_INLINE_BYTES: usize = 8 * 1024 * 1024;

/// A bundle file with its content inline if it fits in what is left of
/// `budget` (then reduced), else by reference: size, digest and `href`.
pub(super) fn bundle_file(
    name: String,
    bytes: &[u8],
    href: Option<String>,
    budget: &mut usize,
) -> BundleFile {
    use base64::Engine as _;
    use sha2::Digest as _;
    let sha256 = hex::encode(sha2::Sha256::digest(bytes));
    if let Some(left) = budget.checked_sub(bytes.len()) {
        *budget = left;
        return BundleFile {
            name,
            sha256,
            content: Some(base64::engine::general_purpose::STANDARD.encode(bytes)),
            size: None,
            href: None,
        };
    }
    BundleFile {
        name,
        sha256,
        content: None,
        size: Some(bytes.len() as u64),
        href,
    }
}

/// The files a filing's evidence speaks of: the envelope, every deposit
/// message sent and every message read back about it; inline up to
/// `budget` bytes in all, the rest by reference to the route serving them
/// (`/filings/{id}/artefacts/Atto.enc`, `/filings/{id}/messages/{name}`).
pub(super) async fn bundle_files<S: Store>(
    store: &S,
    id: &str,
    entries: &[crate::evidence::StoredEntry],
    mut budget: usize,
) -> Result<Vec<BundleFile>, crate::store::Error> {
    let mut file = |name: String, bytes: &[u8], href| bundle_file(name, bytes, href, &mut budget);
    let mut files = Vec::new();
    let envelope = crate::filing::build::ATTO_ENC;
    match store
        .filing_artefact(id.to_owned(), envelope.to_owned())
        .await
    {
        Ok((_, bytes)) => files.push(file(
            envelope.to_owned(),
            &bytes,
            Some(format!("/filings/{id}/artefacts/{envelope}")),
        )),
        Err(crate::store::Error::NotFound) => {}
        Err(e) => return Err(e),
    }
    for stored in entries {
        let Some(exchange) = messages::sent_exchange(stored, id) else {
            continue;
        };
        if let Some(body) = store.exchange_body(exchange).await?
            && !body.is_empty()
        {
            let name = MessageName::Sent {
                entry: stored.index,
            };
            files.push(file(name.to_string(), &body, Some(name.href(id))));
        }
    }
    if let Some(deposit) = store.deposit(id.to_owned()).await? {
        for message in &deposit.messages {
            // A message whose bytes were purged is still bound to the log
            // by its entry's digest; there is no file to add.
            let raw = match store.inbound_message(message.id, false).await {
                Ok((_, raw)) => raw,
                Err(crate::store::Error::Purged) => continue,
                Err(e) => return Err(e),
            };
            let name = MessageName::Received {
                id: message.id,
                kind: message.kind.clone(),
            };
            files.push(file(name.to_string(), &raw, Some(name.href(id))));
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_inline_until_the_budget_is_spent_then_by_reference() {
        let mut budget = 10;
        let a = bundle_file("a".into(), b"123456", None, &mut budget);
        let big = bundle_file("big".into(), b"12345", Some("/x".into()), &mut budget);
        let c = bundle_file("c".into(), b"1234", None, &mut budget);
        assert_eq!(budget, 0);
        assert_eq!(a.content.as_deref(), Some("MTIzNDU2"));
        assert_eq!((a.size, c.size), (None, None));
        assert!(
            c.content.is_some(),
            "a later file that fits is still inline"
        );
        assert_eq!(big.content, None);
        assert_eq!(big.size, Some(5));
        assert_eq!(big.href.as_deref(), Some("/x"));
        assert_eq!(
            big.sha256,
            "5994471abb01112afcc18159f6cc74b4f511b99806da59b3caf5a9c173cacfc5"
        );
    }
}
