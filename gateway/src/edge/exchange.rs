//! Every request becomes an exchange record before its answer leaves.
//!
//! The layer hashes the request body as the inner service reads it, then,
//! once the inner service has answered, records the exchange durably and
//! only then releases the answer. If the record cannot be written the client
//! gets 503 instead (fail closed): nothing is acknowledged that was not
//! recorded. Handlers that store content record their exchange themselves,
//! inside the same transaction as the content, and mark the response with
//! [`ExchangeRecorded`] so it is not recorded twice.
//!
//! Bodies are not stored here: only their SHA-256 and size.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body::{Body as HttpBody, Frame, SizeHint};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::{AppState, ConnInfo, Problem, RequestId};
use crate::evidence::Receipt;
use crate::store::{Direction, ExchangeId, NewExchange, Outcome, Store};
use http::HeaderValue;

/// Header carrying the signed receipt of an accepted POST.
pub const RECEIPT_HEADER: &str = "ponte-receipt";

/// Response marker: the handler already recorded this exchange.
#[derive(Clone, Copy, Debug)]
pub struct ExchangeRecorded;

/// Middleware: record the exchange, fail closed.
pub async fn record_exchange<S: Store>(
    State(state): State<AppState<S>>,
    req: Request,
    next: Next,
) -> Response {
    let at = OffsetDateTime::now_utc();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().as_str().to_owned();
    let request_id = req.extensions().get::<RequestId>().map(|r| r.0.clone());
    let conn = req.extensions().get::<Arc<ConnInfo>>().cloned();
    let digest = Arc::new(Mutex::new(BodyDigest::default()));
    let req = req.map(|body| {
        let empty = body.is_end_stream();
        Body::new(HashingBody {
            inner: body,
            digest: Arc::clone(&digest),
            empty,
        })
    });

    let response = next.run(req).await;
    if response.extensions().get::<ExchangeRecorded>().is_some() {
        return response;
    }

    let (body_sha256, body_size) = digest.lock().map(|d| d.result()).unwrap_or((None, 0));
    let status = response.status().as_u16();
    // An idempotent replay already carries the first answer's receipt.
    let receipt_wanted = method == "POST"
        && response.status().is_success()
        && !response.headers().contains_key(RECEIPT_HEADER);
    let exchange_id = ExchangeId::new();
    let exchange = NewExchange {
        id: exchange_id,
        at,
        direction: Direction::Inbound,
        agency: conn
            .as_ref()
            .and_then(|c| c.identity.as_ref().ok())
            .map(|p| p.agency().clone()),
        fingerprint: conn
            .as_ref()
            .and_then(|c| c.presented.as_ref())
            .map(|p| p.fingerprint),
        peer_addr: conn.as_ref().map(|c| c.peer_addr),
        request_id,
        method,
        route,
        body_sha256,
        body_size,
        outcome: Outcome::of_status(status),
        status: Some(status),
        reason: response.extensions().get::<Problem>().map(|p| p.code),
        objects: Default::default(),
        body: None,
    };
    match state.store.record_exchange(exchange).await {
        Ok(recorded) if receipt_wanted => {
            let receipt = Receipt {
                exchange: exchange_id.to_string(),
                index: recorded.index,
                leaf_hash: hex::encode(recorded.leaf_hash),
                log: state.evidence.origin.clone(),
                request_sha256: body_sha256.map(hex::encode).unwrap_or_default(),
                time: recorded.time,
                v: 1,
            };
            let mut response = response;
            if let Ok(value) = HeaderValue::from_str(&receipt.sign(&state.evidence.key)) {
                response.headers_mut().insert(RECEIPT_HEADER, value);
            }
            response
        }
        Ok(_) => response,
        Err(error) => {
            state
                .metrics
                .errors
                .with_label_values(&["store", error.code()])
                .inc();
            tracing::error!(error = %error, "Exchange could not be recorded; answering 503.");
            Problem::unavailable(
                "store_unavailable",
                "the gateway cannot record the exchange right now",
                5,
            )
            .into_response()
        }
    }
}

/// Running digest of the bytes read so far.
#[derive(Default)]
struct BodyDigest {
    hasher: Sha256,
    size: u64,
    complete: bool,
}

impl BodyDigest {
    /// SHA-256 if the whole body was read, and the bytes read.
    fn result(&self) -> (Option<[u8; 32]>, u64) {
        let digest = self.complete.then(|| self.hasher.clone().finalize().into());
        (digest, self.size)
    }
}

/// A body that feeds every data frame into a [`BodyDigest`].
struct HashingBody {
    inner: Body,
    digest: Arc<Mutex<BodyDigest>>,
    empty: bool,
}

impl HttpBody for HashingBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Ok(mut digest) = self.digest.lock() {
            match &polled {
                Poll::Ready(Some(Ok(frame))) => {
                    if let Some(data) = frame.data_ref() {
                        digest.hasher.update(data);
                        digest.size += data.len() as u64;
                    }
                }
                Poll::Ready(None) => digest.complete = true,
                Poll::Ready(Some(Err(_))) | Poll::Pending => {}
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for HashingBody {
    fn drop(&mut self) {
        // An empty body that nobody polled was still read in full.
        if self.empty
            && let Ok(mut digest) = self.digest.lock()
        {
            digest.complete = true;
        }
    }
}
