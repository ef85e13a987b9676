//! The per-connection request loops and their send schedule.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{CONNECTION, CONTENT_TYPE, HOST, HeaderName, HeaderValue};
use hyper::{Request, Uri};
use hyper_util::rt::TokioIo;
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep_until, timeout_at};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::stats::Stats;

/// Pause after a failed connection attempt in closed-loop mode, so that a
/// server that refuses connections is not hammered in a tight loop.
const CONNECT_BACKOFF: Duration = Duration::from_millis(10);

/// A body to POST.
pub struct Post {
    /// The bytes.
    pub body: Bytes,
    /// Their media type.
    pub content_type: HeaderValue,
}

/// Everything the workers share: where to connect, what to send, and the
/// phases of the run.
pub struct Ctx {
    /// The one address every connection goes to.
    pub addr: SocketAddr,
    /// Name sent as SNI and checked against the server certificate.
    pub server_name: ServerName<'static>,
    /// Value of the `Host` header (the URL's authority).
    pub host: HeaderValue,
    /// Request target in origin form (path and query).
    pub path: Uri,
    /// POST this instead of GET.
    pub post: Option<Post>,
    /// Header made unique per request.
    pub unique_header: Option<HeaderName>,
    /// Counter for unique header values.
    pub sequence: AtomicU64,
    /// TLS connector carrying the client certificate.
    pub connector: TlsConnector,
    /// Limit on each connection attempt and on each request.
    pub timeout: Duration,
    /// Number of concurrent connections (workers).
    pub connections: usize,
    /// Total requests per second over all connections, if open-loop.
    pub rate: Option<f64>,
    /// Start of the run (start of the warm-up).
    pub start: Instant,
    /// Start of the measurement window (end of the warm-up).
    pub measure_from: Instant,
    /// End of the measurement window: no request is started after it.
    pub end: Instant,
    /// Absolute limit for requests still in flight at `end`.
    pub hard_stop: Instant,
    /// Parameters negotiated by the first successful handshake.
    pub tls_info: OnceLock<TlsInfo>,
}

impl Ctx {
    /// Deadline for an operation starting now: `timeout` from now, but never
    /// past the hard stop.
    fn deadline(&self) -> Instant {
        (Instant::now() + self.timeout).min(self.hard_stop)
    }
}

/// TLS parameters negotiated with the server, for the report.
#[derive(Clone, Debug)]
pub struct TlsInfo {
    /// Protocol version, e.g. `TLSv1_3`.
    pub version: String,
    /// Cipher suite, e.g. `TLS13_AES_256_GCM_SHA384`.
    pub cipher_suite: String,
    /// Application protocol chosen by ALPN, if any.
    pub alpn: Option<String>,
}

/// One client connection: the HTTP/1.1 request handle and the task that
/// drives the connection.
struct Conn {
    /// Sends requests over the connection.
    sender: SendRequest<Full<Bytes>>,
    /// The connection task, aborted when the `Conn` is dropped.
    task: AbortOnDrop,
}

/// Aborts a spawned task when dropped, so connections of failed or
/// timed-out requests do not linger until the end of the run.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// When a worker sends its requests.
enum Schedule {
    /// Closed loop: the next request goes out as soon as the previous one
    /// has completed.
    Closed,
    /// Open loop: requests are due at fixed intervals, whether or not the
    /// previous one has completed.
    Open {
        /// Intended send time of the next request.
        next: Instant,
        /// Time between two requests on this connection.
        interval: Duration,
    },
}

/// A request's place in the schedule.
struct Slot {
    /// When the request should be sent.
    intended: Instant,
}

impl Slot {
    /// Waits until the slot is due and returns the instant latency is
    /// measured from.
    ///
    /// If the worker is behind schedule (the previous response came late),
    /// the request goes out at once and its latency counts from the intended
    /// time, so the wait caused by the slow response is not hidden
    /// (coordinated omission). If the worker is early it sleeps, and latency
    /// counts from when it woke: tokio timers have millisecond granularity,
    /// and that client-side timer jitter is not the server's doing.
    async fn wait(&self) -> Instant {
        if Instant::now() < self.intended {
            sleep_until(self.intended).await;
            Instant::now()
        } else {
            self.intended
        }
    }
}

impl Schedule {
    /// The schedule of worker `id`. In open-loop mode each connection gets
    /// an equal share of the rate, and the connections are staggered so
    /// that requests are spread evenly over time rather than sent in bursts.
    fn new(ctx: &Ctx, id: usize) -> Self {
        match ctx.rate {
            None => Schedule::Closed,
            Some(rate) => Schedule::Open {
                next: ctx.start + Duration::from_secs_f64(id as f64 / rate),
                interval: Duration::from_secs_f64(ctx.connections as f64 / rate),
            },
        }
    }

    /// The next slot, or `None` once the measurement window has ended.
    ///
    /// In open-loop mode, slots that fall inside the window but could not be
    /// sent before it ended are added to `stats.unsent`.
    fn next(&mut self, ctx: &Ctx, stats: &mut Stats) -> Option<Slot> {
        let now = Instant::now();
        match self {
            Schedule::Closed => (now < ctx.end).then_some(Slot { intended: now }),
            Schedule::Open { next, interval } => {
                if *next >= ctx.end {
                    return None;
                }
                if now >= ctx.end {
                    stats.unsent += slots_between(*next, *interval, ctx.measure_from, ctx.end);
                    return None;
                }
                let intended = *next;
                *next += *interval;
                Some(Slot { intended })
            }
        }
    }
}

/// How many of the slots `first`, `first + interval`, … lie in `[from, to)`.
fn slots_between(first: Instant, interval: Duration, from: Instant, to: Instant) -> u64 {
    // Number of slots strictly before `t`, counting from `first`.
    let before = |t: Instant| -> u64 {
        if t <= first {
            0
        } else {
            (t - first).div_duration_f64(interval).ceil() as u64
        }
    };
    before(to).saturating_sub(before(from))
}

/// Runs the keep-alive loop of one connection: requests are sent one after
/// the other over a single HTTP/1.1 connection, which is re-established
/// only if it fails or the server closes it.
pub async fn keepalive(ctx: Arc<Ctx>, id: usize) -> Result<Stats> {
    let mut stats = Stats::new()?;
    let mut schedule = Schedule::new(&ctx, id);
    let mut conn: Option<Conn> = None;
    let mut connected_before = false;
    while let Some(slot) = schedule.next(&ctx, &mut stats) {
        let from = slot.wait().await;
        let result = match timeout_at(
            ctx.deadline(),
            keepalive_request(&ctx, &mut conn, &mut connected_before, &mut stats),
        )
        .await
        {
            Ok(result) => result,
            Err(_) => {
                conn = None;
                Err(anyhow!("timed out after {:?}", ctx.timeout))
            }
        };
        let latency = Instant::now() - from;
        let failed = result.is_err();
        if slot.intended >= ctx.measure_from {
            match result {
                Ok(status) => stats.record_response(status, latency),
                Err(error) => stats.record_io_error(&error),
            }
        }
        if failed && conn.is_none() && matches!(schedule, Schedule::Closed) {
            sleep_until((Instant::now() + CONNECT_BACKOFF).min(ctx.end)).await;
        }
    }
    Ok(stats)
}

/// Sends one request on the worker's connection, (re)connecting first if
/// there is no usable connection. A failed connection is dropped.
async fn keepalive_request(
    ctx: &Ctx,
    conn: &mut Option<Conn>,
    connected_before: &mut bool,
    stats: &mut Stats,
) -> Result<u16> {
    if let Some(c) = conn.as_mut()
        && c.sender.ready().await.is_err()
    {
        // The server closed the connection between requests (for example
        // after its keep-alive request limit): reconnect, not an error.
        *conn = None;
    }
    let c = match conn {
        Some(c) => c,
        None => {
            if *connected_before {
                stats.reconnects += 1;
            }
            *connected_before = true;
            conn.insert(connect(ctx).await?)
        }
    };
    let result = send(&mut c.sender, ctx, false).await;
    if result.is_err() {
        *conn = None;
    }
    result
}

/// Runs the handshake loop of one connection slot: every iteration opens a
/// new TCP connection, performs a full TLS handshake with the client
/// certificate, sends one request, reads the response and closes.
pub async fn handshake(ctx: Arc<Ctx>, id: usize) -> Result<Stats> {
    let mut stats = Stats::new()?;
    let mut schedule = Schedule::new(&ctx, id);
    while let Some(slot) = schedule.next(&ctx, &mut stats) {
        let from = slot.wait().await;
        let result = timeout_at(ctx.deadline(), single_exchange(&ctx))
            .await
            .unwrap_or_else(|_| Err(anyhow!("timed out after {:?}", ctx.timeout)));
        let latency = Instant::now() - from;
        let measured = slot.intended >= ctx.measure_from;
        match result {
            Ok((status, conn)) => {
                if measured {
                    stats.record_response(status, latency);
                }
                close(&ctx, conn).await;
            }
            Err(error) => {
                if measured {
                    stats.record_io_error(&error);
                }
                if matches!(schedule, Schedule::Closed) {
                    sleep_until((Instant::now() + CONNECT_BACKOFF).min(ctx.end)).await;
                }
            }
        }
    }
    Ok(stats)
}

/// Connects, sends one request asking the server to close afterwards, and
/// reads the whole response.
async fn single_exchange(ctx: &Ctx) -> Result<(u16, Conn)> {
    let mut conn = connect(ctx).await?;
    let status = send(&mut conn.sender, ctx, true).await?;
    Ok((status, conn))
}

/// Closes a connection cleanly: dropping the last request handle lets the
/// connection task send TLS close_notify and shut the socket down. Waits at
/// most until the operation deadline; outside the measured latency.
async fn close(ctx: &Ctx, conn: Conn) {
    let Conn { sender, mut task } = conn;
    drop(sender);
    // Either the task ends or the deadline passes; in both cases the guard
    // then aborts whatever is left.
    let _ = timeout_at(ctx.deadline(), &mut task.0).await;
}

/// Opens a TCP connection, performs the TLS handshake with the client
/// certificate and starts an HTTP/1.1 connection over it.
async fn connect(ctx: &Ctx) -> Result<Conn> {
    let tcp = TcpStream::connect(ctx.addr)
        .await
        .with_context(|| format!("tcp connect to {}", ctx.addr))?;
    tcp.set_nodelay(true).context("set TCP_NODELAY")?;
    let tls = ctx
        .connector
        .connect(ctx.server_name.clone(), tcp)
        .await
        .context("tls handshake")?;
    note_tls(ctx, &tls);
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .context("http/1.1 handshake")?;
    let task = tokio::spawn(async move {
        // Errors surface to the request that is waiting on the connection.
        let _ = connection.await;
    });
    Ok(Conn {
        sender,
        task: AbortOnDrop(task),
    })
}

/// Records the negotiated TLS parameters the first time a handshake succeeds.
fn note_tls(ctx: &Ctx, tls: &TlsStream<TcpStream>) {
    if ctx.tls_info.get().is_some() {
        return;
    }
    let session = tls.get_ref().1;
    let info = TlsInfo {
        version: session
            .protocol_version()
            .map_or_else(|| "unknown".into(), |v| format!("{v:?}")),
        cipher_suite: session
            .negotiated_cipher_suite()
            .map_or_else(|| "unknown".into(), |s| format!("{:?}", s.suite())),
        alpn: session
            .alpn_protocol()
            .map(|p| String::from_utf8_lossy(p).into_owned()),
    };
    let _ = ctx.tls_info.set(info);
}

/// Sends the request (GET, or POST of the configured body) and reads the
/// whole response body; returns the status code.
async fn send(sender: &mut SendRequest<Full<Bytes>>, ctx: &Ctx, close: bool) -> Result<u16> {
    let method = if ctx.post.is_some() { "POST" } else { "GET" };
    let mut request = Request::builder()
        .method(method)
        .uri(ctx.path.clone())
        .header(HOST, ctx.host.clone());
    if close {
        request = request.header(CONNECTION, HeaderValue::from_static("close"));
    }
    if let Some(name) = &ctx.unique_header {
        let n = ctx.sequence.fetch_add(1, Ordering::Relaxed);
        request = request.header(name, format!("load-{}-{n}", std::process::id()));
    }
    let body = match &ctx.post {
        Some(post) => {
            request = request.header(CONTENT_TYPE, post.content_type.clone());
            Full::new(post.body.clone())
        }
        None => Full::new(Bytes::new()),
    };
    let request = request.body(body).context("build request")?;
    sender.ready().await.context("connection not ready")?;
    let response = sender.send_request(request).await.context("send request")?;
    let status = response.status().as_u16();
    response
        .into_body()
        .collect()
        .await
        .context("read response body")?;
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_counted_inside_the_window() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        // Slots at 0, 10, 20, …; the window [25, 60) holds 30, 40 and 50.
        assert_eq!(slots_between(t0, ms(10), t0 + ms(25), t0 + ms(60)), 3);
        // A window starting before the first slot: 0, 10, 20.
        assert_eq!(slots_between(t0 + ms(0), ms(10), t0, t0 + ms(25)), 3);
        // Empty window.
        assert_eq!(slots_between(t0, ms(10), t0 + ms(40), t0 + ms(40)), 0);
    }
}
