//! The HTTPS edge: TLS accept loop, the tower stack and the routes.
//!
//! Flow of a request: [`server`] accepts a TCP connection, completes the
//! mutual-TLS handshake, resolves the client certificate to an agency
//! ([`ConnInfo`]) and hands each request to the router built by [`app`],
//! whose layers are listed in order in [`stack`].

mod authorize;
mod body_limit;
mod exchange;
pub mod fhir_body;
mod metrics;
mod problem;
mod request_id;
mod rescue;
mod routes;
mod server;
mod stack;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;

pub use body_limit::too_large;
pub use exchange::{ExchangeRecorded, RECEIPT_HEADER};
pub use problem::Problem;
pub use request_id::RequestId;
pub(crate) use routes::store_problem;
pub use server::{Listener, serve};

use crate::config::{AccessRule, ServerConfig};
use crate::evidence::LogKey;
use crate::identity::{Peer, PeerRejected, Presented};
use crate::metrics::Metrics;
use crate::store::Store;

/// Shared state of the HTTPS routes and layers: one `Arc`, because every
/// layer clones it on every request.
pub struct AppState<S>(Arc<Shared<S>>);

/// What [`AppState`] shares.
pub struct Shared<S> {
    /// The store.
    pub store: S,
    /// Metrics.
    pub metrics: Metrics,
    /// Access rules from the configuration.
    pub access: Vec<AccessRule>,
    /// Listener limits and timeouts.
    pub server: ServerConfig,
    /// The evidence log's key and name.
    pub evidence: Evidence,
    /// FHIR intake limits and policy.
    pub fhir_limits: ponte_fhir::parse::Limits,
    /// Idempotency keys of submissions being processed.
    pub in_flight: crate::intake::InFlight,
    /// The court registry in force (`/registry/…`); `None` when it could
    /// not be loaded (the routes then answer 503).
    pub courts: Option<crate::filing::Courts>,
    /// Wakes the filing pipeline when a submission is accepted or the
    /// office chooses a court.
    pub pipeline_wake: Arc<tokio::sync::Notify>,
}

/// What the edge needs of the evidence log: the key that signs receipts and
/// the log's name.
pub struct Evidence {
    /// The log key.
    pub key: Arc<LogKey>,
    /// The log's origin.
    pub origin: String,
}

// === impl AppState ===

impl<S> AppState<S> {
    /// Wraps the shared state.
    pub fn new(shared: Shared<S>) -> Self {
        Self(Arc::new(shared))
    }
}

impl<S> Clone for AppState<S> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<S> std::ops::Deref for AppState<S> {
    type Target = Shared<S>;

    fn deref(&self) -> &Shared<S> {
        &self.0
    }
}

/// What is known about the connection a request arrived on. Requests carry
/// it as `Arc<ConnInfo>` in their extensions.
#[derive(Clone, Debug)]
pub struct ConnInfo {
    /// The client's address.
    pub peer_addr: SocketAddr,
    /// The certificate presented.
    pub presented: Option<Presented>,
    /// The agency it resolved to, or why none.
    pub identity: Result<Peer, PeerRejected>,
}

impl ConnInfo {
    /// The agency id as a metric label: a configured id, or `unknown`.
    pub fn agency_label(&self) -> &str {
        self.identity
            .as_ref()
            .map_or("unknown", |peer| peer.agency().as_str())
    }
}

/// The HTTPS application: routes wrapped in the full stack.
pub fn app<S: Store>(state: AppState<S>) -> Router {
    stack::stack(routes::routes(state.clone()), state)
}

#[cfg(test)]
pub(crate) mod tests;
