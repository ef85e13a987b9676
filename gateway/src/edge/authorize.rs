//! Role × route authorisation, from the configured access rules.
//!
//! The caller's certificate was verified during the handshake; here its
//! agency (resolved per connection) must exist and have a role that the first
//! matching access rule allows. The resolved [`Peer`] is then put in the
//! request extensions for handlers; nothing else can create one.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::StatusCode;

use super::{AppState, ConnInfo, Problem};
use crate::config::AccessRule;
use crate::identity::{Peer, PeerRejected};

/// Middleware: refuse callers that are not configured agencies or whose
/// roles the route does not allow.
pub async fn authorize<S>(
    State(state): State<AppState<S>>,
    mut req: Request,
    next: Next,
) -> Response {
    let Some(conn) = req.extensions().get::<Arc<ConnInfo>>() else {
        // Only reachable if the app is served without the TLS edge.
        return Problem::internal().into_response();
    };
    let peer: Result<Peer, PeerRejected> = match &conn.identity {
        Err(rejected) => Err(*rejected),
        Ok(peer) => {
            let allowed = AccessRule::allowed_roles(&state.access, req.method(), req.uri().path())
                .is_some_and(|roles| peer.roles().iter().any(|r| roles.contains(r)));
            if allowed {
                Ok(peer.clone())
            } else {
                Err(PeerRejected::RoleNotAllowed)
            }
        }
    };
    match peer {
        Ok(peer) => {
            req.extensions_mut().insert(peer);
            next.run(req).await
        }
        Err(rejected) => {
            state
                .metrics
                .http_refusals
                .with_label_values(&[rejected.code()])
                .inc();
            tracing::debug!(reason = rejected.code(), "Request refused.");
            refusal(rejected).into_response()
        }
    }
}

fn refusal(rejected: PeerRejected) -> Problem {
    match rejected {
        PeerRejected::NotConfigured => Problem::new(
            StatusCode::FORBIDDEN,
            rejected.code(),
            "the client certificate belongs to no configured agency",
        )
        .detail("ask the gateway operator to register your agency's certificate"),
        PeerRejected::RoleNotAllowed => Problem::new(
            StatusCode::FORBIDDEN,
            rejected.code(),
            "your agency's role may not call this route",
        ),
        // The handshake refuses these; should one reach here, refuse too.
        PeerRejected::NoCertificate
        | PeerRejected::UnknownIssuer
        | PeerRejected::Expired
        | PeerRejected::Revoked => Problem::new(
            StatusCode::FORBIDDEN,
            rejected.code(),
            "the client certificate is not acceptable",
        ),
    }
}
