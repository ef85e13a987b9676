//! The TLS accept loop: TCP → mutual-TLS handshake (with a deadline) →
//! agency identity → HTTP/1.1 or HTTP/2 with a header-read deadline.
//!
//! A failed handshake is counted by reason and recorded as a refused
//! exchange. Shutdown stops accepting, then lets open connections finish
//! their requests.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use time::OffsetDateTime;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use super::{AppState, ConnInfo};
use crate::identity::AgencyDirectory;
use crate::store::{Direction, ExchangeId, NewExchange, Outcome, Store};
use crate::tls::HandshakeFailure;

/// Everything the accept loop needs.
pub struct Listener<S> {
    /// Bound TCP listener.
    pub tcp: TcpListener,
    /// TLS server configuration.
    pub tls: Arc<rustls::ServerConfig>,
    /// Configured agencies.
    pub directory: Arc<AgencyDirectory>,
    /// The application (routes and stack).
    pub app: Router,
    /// Shared state (store, metrics, limits).
    pub state: AppState<S>,
}

/// Serves until `shutdown` resolves, then drains open connections.
pub async fn serve<S: Store>(listener: Listener<S>, shutdown: impl Future<Output = ()>) {
    let Listener {
        tcp,
        tls,
        directory,
        app,
        state,
    } = listener;
    let acceptor = TlsAcceptor::from(tls);
    let graceful = GracefulShutdown::new();
    let mut http = auto::Builder::new(TokioExecutor::new());
    http.http1()
        .timer(TokioTimer::new())
        .header_read_timeout(state.server.header_read_timeout);
    http.http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(256);
    let http = Arc::new(http);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer_addr) = tokio::select! {
            accepted = tcp.accept() => match accepted {
                Ok(pair) => pair,
                Err(error) => {
                    // EMFILE and friends: back off briefly instead of spinning.
                    tracing::warn!(error = %error, "Accept failed.");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let connection = Connection {
            acceptor: acceptor.clone(),
            directory: Arc::clone(&directory),
            app: app.clone(),
            state: state.clone(),
            http: Arc::clone(&http),
        };
        let watcher = graceful.watcher();
        tokio::spawn(async move { connection.run(stream, peer_addr, watcher).await });
    }
    tracing::info!(
        connections = graceful.count(),
        "Stopped accepting; draining connections."
    );
    if tokio::time::timeout(std::time::Duration::from_secs(30), graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("Connections still open after 30 s; closing them.");
    }
}

struct Connection<S> {
    acceptor: TlsAcceptor,
    directory: Arc<AgencyDirectory>,
    app: Router,
    state: AppState<S>,
    http: Arc<auto::Builder<TokioExecutor>>,
}

impl<S: Store> Connection<S> {
    async fn run(
        self,
        stream: TcpStream,
        peer_addr: SocketAddr,
        watcher: hyper_util::server::graceful::Watcher,
    ) {
        let _ = stream.set_nodelay(true);
        let metrics = &self.state.metrics;
        let deadline = self.state.server.handshake_timeout;
        let tls = match tokio::time::timeout(deadline, self.acceptor.accept(stream)).await {
            Ok(Ok(tls)) => tls,
            Ok(Err(error)) => {
                return self.refuse(peer_addr, HandshakeFailure::of(&error)).await;
            }
            Err(_) => return self.refuse(peer_addr, HandshakeFailure::Timeout).await,
        };
        metrics.tls_handshakes.inc();
        let leaf = tls
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|chain| chain.first());
        let info = match leaf {
            Some(leaf) => {
                let (presented, identity) = self.directory.resolve(leaf);
                ConnInfo {
                    peer_addr,
                    presented: Some(presented),
                    identity,
                }
            }
            // Unreachable: the verifier requires a certificate.
            None => return self.refuse(peer_addr, HandshakeFailure::Protocol).await,
        };
        let info = Arc::new(info);
        let app = self.app.clone();
        let service = hyper::service::service_fn(move |mut req: http::Request<Incoming>| {
            req.extensions_mut().insert(Arc::clone(&info));
            app.clone().oneshot(req.map(Body::new))
        });
        let served = self
            .http
            .serve_connection(TokioIo::new(tls), service)
            .into_owned();
        if let Err(error) = watcher.watch(served).await {
            tracing::debug!(error = %error, "Connection ended with an error.");
        }
    }

    async fn refuse(&self, peer_addr: SocketAddr, failure: HandshakeFailure) {
        let reason = failure.code();
        self.state
            .metrics
            .tls_handshake_errors
            .with_label_values(&[reason])
            .inc();
        tracing::debug!(reason, "TLS handshake refused.");
        let exchange = NewExchange {
            id: ExchangeId::new(),
            at: OffsetDateTime::now_utc(),
            direction: Direction::Inbound,
            agency: None,
            fingerprint: None,
            peer_addr: Some(peer_addr),
            request_id: None,
            method: "TLS".to_owned(),
            route: "tls-handshake".to_owned(),
            body_sha256: None,
            body_size: 0,
            outcome: Outcome::Refused,
            status: None,
            reason: Some(reason),
            objects: Default::default(),
            body: None,
        };
        if let Err(error) = self.state.store.record_exchange(exchange).await {
            self.state
                .metrics
                .errors
                .with_label_values(&["store", error.code()])
                .inc();
            tracing::error!(error = %error, "Refused handshake could not be recorded.");
        }
    }
}
