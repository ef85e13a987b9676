//! An SMTP stand-in on loopback that keeps the outbox's connections
//! waiting, so that a deposit stays `sending` for as long as the test
//! wants: the test kills the gateway long before its SMTP timeouts.
//!
//! The traffic is TLS after STARTTLS, so the stand-in cannot read the SMTP
//! commands; it goes by byte counts instead (see [`Stall::FinalReply`]).
#![cfg(feature = "it-pec")]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Where a connection is held.
#[derive(Clone, Copy, Debug)]
pub enum Stall {
    /// Nothing reaches any server: the connection is accepted and not a
    /// byte answered (the client waits for the greeting). Whatever the
    /// client was sending, no server has it.
    Greeting,
    /// Everything is relayed to `upstream` until the client has sent more
    /// than `after_bytes`; the server's next answer is kept from the client.
    /// With `after_bytes` above everything a client sends before the
    /// message text (TLS handshake and commands, a few KiB) and below the
    /// message text, that answer is the final reply to the message: the
    /// server has taken the message, the client never learns it.
    FinalReply {
        /// The real SMTP server.
        upstream: SocketAddr,
        /// Client bytes after which the server's answers are held.
        after_bytes: usize,
    },
}

/// A listening stand-in; stops accepting when dropped (connections already
/// held stay held until their client goes away).
pub struct SmtpStall {
    port: u16,
    held: Arc<AtomicUsize>,
    accept: tokio::task::JoinHandle<()>,
}

impl SmtpStall {
    /// Listens on an ephemeral loopback port.
    pub async fn start(stall: Stall) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let held = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&held);
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(serve(client, stall, Arc::clone(&counter)));
            }
        });
        Self { port, held, accept }
    }

    /// The port to give the gateway as its SMTP server.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// How many connections are being held now (a held connection whose
    /// client went away no longer counts).
    pub fn held(&self) -> usize {
        self.held.load(Ordering::SeqCst)
    }
}

impl Drop for SmtpStall {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// One connection, until the client closes it.
async fn serve(mut client: TcpStream, stall: Stall, held: Arc<AtomicUsize>) {
    let Stall::FinalReply {
        upstream,
        after_bytes,
    } = stall
    else {
        held.fetch_add(1, Ordering::SeqCst);
        let mut sink = [0u8; 4096];
        while matches!(client.read(&mut sink).await, Ok(n) if n > 0) {}
        held.fetch_sub(1, Ordering::SeqCst);
        return;
    };
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return;
    };
    let (mut from_client, mut from_server) = (vec![0u8; 16384], vec![0u8; 16384]);
    let mut sent = 0usize;
    let mut holding = false;
    loop {
        tokio::select! {
            read = client.read(&mut from_client) => {
                let n = match read { Ok(n) if n > 0 => n, _ => break };
                // Counted before it is relayed: the server cannot answer
                // bytes the count does not include yet.
                sent += n;
                if server.write_all(&from_client[..n]).await.is_err() {
                    break;
                }
            }
            read = server.read(&mut from_server), if !holding => {
                let n = match read { Ok(n) if n > 0 => n, _ => break };
                if sent > after_bytes {
                    holding = true;
                    held.fetch_add(1, Ordering::SeqCst);
                } else if client.write_all(&from_server[..n]).await.is_err() {
                    break;
                }
            }
        }
    }
    if holding {
        held.fetch_sub(1, Ordering::SeqCst);
    }
}
