//! `ponte-load`: a load generator for HTTPS servers that require mutual TLS.
//!
//! # What it measures
//!
//! It drives one URL with `--connections` concurrent client connections,
//! every one authenticated with a client certificate, and reports how many
//! requests succeeded, how many failed (non-2xx responses and I/O failures
//! separately), the throughput, and the latency distribution (p50, p90, p99,
//! max). It exists to compare the Ponte gateway's TLS edge with a reference
//! server (nginx, see `bench/nginx-mtls.conf.template`) under the same
//! certificates, the same client and the same machine.
//!
//! Two costs are measured separately, because they scale differently:
//!
//! - `--mode keepalive`: each connection handshakes once and then sends
//!   requests back to back over HTTP/1.1 keep-alive. This is the per-request
//!   cost of the server (routing, identity lookup, response) once the
//!   connection exists.
//! - `--mode handshake`: every iteration opens a new TCP connection, performs
//!   a full TLS handshake with client authentication, sends one request,
//!   reads the response and closes. Session resumption is disabled, so each
//!   iteration pays for the key exchange, both signatures and the
//!   verification of both certificate chains. Throughput is reported as
//!   handshakes per second; latency covers connect, handshake and request.
//!
//! # Method
//!
//! - The run has a warm-up phase (`--warmup`), whose requests are sent but
//!   not recorded, then a measurement window (`--duration`). A request is
//!   measured if its intended send time falls inside the window. No request
//!   starts after the window; a request still in flight then gets at most
//!   `--timeout` to finish, after which it counts as an I/O error. The tool
//!   therefore always stops by itself, at most `--timeout` after
//!   warm-up plus duration.
//! - Without `--rate` the load is closed-loop: each connection sends its next
//!   request as soon as the previous one completes, which finds the maximum
//!   throughput.
//! - With `--rate R` the load is open-loop: requests are due at fixed times,
//!   `R` per second in total, spread evenly over the connections. When a
//!   response is late, the following requests on that connection are sent
//!   as soon as possible and their latency is counted from when they were
//!   *due*, not from when they could actually be sent. Measuring from the
//!   actual send time would hide exactly the queueing a slow server causes
//!   (coordinated omission). Requests still due at the end of the window but
//!   never sent are reported as `unsent`.
//! - Latencies are recorded per connection in an HDR histogram (three
//!   significant digits) and merged at the end, so recording takes no lock.
//! - TLS uses rustls with the `ring` provider, TLS 1.3 and 1.2 (`--tls` to pin
//!   one), and ALPN `http/1.1`. TCP_NODELAY is set on every socket.
//!
//! The client shares the machine with the server, so its own CPU use lowers
//! the figures; compare servers only under the same options on the same
//! machine. Only the address the URL resolves to is contacted, and it must
//! be a loopback address unless `--allow-non-loopback` is given.
//!
//! The exit status is 0 when every measured request got a 2xx response, 1
//! when some did not, and 2 when the run could not be carried out.

mod stats;
mod tls;
mod worker;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Parser;
use hyper::Uri;
use hyper::header::HeaderValue;
use rustls_pki_types::ServerName;
use tokio::time::Instant;
use tokio_rustls::TlsConnector;

use crate::stats::Stats;
use crate::tls::{TlsFiles, TlsVersions};
use crate::worker::{Ctx, TlsInfo};

/// How each connection slot issues its requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Mode {
    /// One TLS connection per slot, requests back to back over HTTP/1.1
    /// keep-alive.
    Keepalive,
    /// A new TCP connection and full TLS handshake for every request.
    Handshake,
}

impl Mode {
    /// Name used in the report.
    fn name(self) -> &'static str {
        match self {
            Mode::Keepalive => "keepalive",
            Mode::Handshake => "handshake",
        }
    }
}

/// Benchmark an HTTPS server over real mutual TLS.
#[derive(Debug, Parser)]
#[command(name = "ponte-load", version, about)]
struct Args {
    /// HTTPS URL to request, e.g. https://127.0.0.1:8443/whoami
    #[arg(long)]
    url: Uri,
    /// PEM file with the trust root(s) for the server certificate.
    #[arg(long, value_name = "PEM")]
    ca: PathBuf,
    /// PEM file with the client certificate (and any intermediates).
    #[arg(long, value_name = "PEM")]
    cert: PathBuf,
    /// PEM file with the client private key (PKCS#8, SEC1 EC or PKCS#1 RSA).
    #[arg(long, value_name = "PEM")]
    key: PathBuf,
    /// Name sent as SNI and verified in the server certificate
    /// [default: the URL's host].
    #[arg(long)]
    server_name: Option<String>,
    /// Number of concurrent connections.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    connections: u32,
    /// Length of the measurement window, e.g. 10s, 1m.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// Warm-up before measuring; its requests are not recorded.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    warmup: Duration,
    /// Fixed total request rate per second, spread over the connections
    /// (open loop). Without it, each connection sends as fast as it can.
    #[arg(long)]
    rate: Option<f64>,
    /// keepalive: reuse each connection; handshake: new connection and full
    /// TLS handshake for every request.
    #[arg(long, value_enum, default_value_t = Mode::Keepalive)]
    mode: Mode,
    /// Limit for each connection attempt and each request.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    timeout: Duration,
    /// TLS versions to offer.
    #[arg(long, value_enum, default_value_t = TlsVersions::Auto)]
    tls: TlsVersions,
    /// Worker threads of the client runtime [default: number of CPUs].
    #[arg(long)]
    threads: Option<usize>,
    /// Allow a target that does not resolve to a loopback address.
    #[arg(long)]
    allow_non_loopback: bool,
    /// Print the result as one JSON line instead of text.
    #[arg(long)]
    json: bool,
    /// POST this file as the body of every request (instead of GET).
    #[arg(long, value_name = "FILE")]
    body: Option<std::path::PathBuf>,
    /// Content-Type of the POSTed body.
    #[arg(long, default_value = "application/fhir+json")]
    content_type: String,
    /// Send this header with a value unique to every request (e.g.
    /// idempotency-key, so that each POST is a new submission).
    #[arg(long, value_name = "NAME")]
    unique_header: Option<String>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(threads) = args.threads {
        builder.worker_threads(threads.max(1));
    }
    let runtime = match builder.enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("ponte-load: cannot start the runtime: {error}");
            return ExitCode::from(2);
        }
    };
    let outcome = runtime.block_on(run(args));
    // Connection tasks still closing are not worth waiting for.
    runtime.shutdown_background();
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(error) => {
            eprintln!("ponte-load: {error:#}");
            ExitCode::from(2)
        }
    }
}

/// The resolved target of the run.
struct Target {
    /// Address all connections go to.
    addr: std::net::SocketAddr,
    /// Value of the `Host` header.
    host: HeaderValue,
    /// Origin-form request target.
    path: Uri,
    /// SNI and certificate name.
    server_name: ServerName<'static>,
}

/// Checks the URL and resolves its host to a single address.
async fn resolve(args: &Args) -> Result<Target> {
    if args.url.scheme_str() != Some("https") {
        bail!("the URL must start with https://");
    }
    let authority = args.url.authority().context("the URL has no host")?;
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let port = authority.port_u16().unwrap_or(443);
    let addr = tokio::net::lookup_host((host, port))
        .await
        .with_context(|| format!("cannot resolve {host}"))?
        .next()
        .with_context(|| format!("{host} resolves to no address"))?;
    if !addr.ip().is_loopback() && !args.allow_non_loopback {
        bail!("{addr} is not a loopback address; pass --allow-non-loopback to target it");
    }
    let name = args.server_name.clone().unwrap_or_else(|| host.to_owned());
    let server_name = ServerName::try_from(name.clone())
        .with_context(|| format!("invalid server name {name}"))?;
    let path: Uri = args
        .url
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .parse()
        .context("invalid request path")?;
    let host = HeaderValue::from_str(authority.as_str()).context("invalid host")?;
    Ok(Target {
        addr,
        host,
        path,
        server_name,
    })
}

/// Runs the benchmark and prints the report; returns whether every measured
/// request succeeded.
async fn run(args: Args) -> Result<bool> {
    if let Some(rate) = args.rate
        && !(rate.is_finite() && rate > 0.0)
    {
        bail!("--rate must be a positive number");
    }
    if args.duration.is_zero() {
        bail!("--duration must be longer than zero");
    }
    let target = resolve(&args).await?;
    let config = tls::client_config(
        &TlsFiles {
            ca: &args.ca,
            cert: &args.cert,
            key: &args.key,
        },
        args.tls,
    )?;

    let connections = args.connections as usize;
    let start = Instant::now();
    let measure_from = start + args.warmup;
    let end = measure_from + args.duration;
    let ctx = Arc::new(Ctx {
        addr: target.addr,
        server_name: target.server_name,
        host: target.host,
        path: target.path,
        post: match &args.body {
            Some(file) => Some(worker::Post {
                body: bytes::Bytes::from(
                    std::fs::read(file).with_context(|| format!("reading {}", file.display()))?,
                ),
                content_type: hyper::header::HeaderValue::from_str(&args.content_type)
                    .context("content type")?,
            }),
            None => None,
        },
        unique_header: args
            .unique_header
            .as_deref()
            .map(|n| hyper::header::HeaderName::from_bytes(n.as_bytes()))
            .transpose()
            .context("unique header name")?,
        sequence: std::sync::atomic::AtomicU64::new(0),
        connector: TlsConnector::from(config),
        timeout: args.timeout,
        connections,
        rate: args.rate,
        start,
        measure_from,
        end,
        hard_stop: end + args.timeout,
        tls_info: OnceLock::new(),
    });
    eprintln!(
        "ponte-load: {} mode, {connections} connections to {} ({}), warm-up {}, measuring {}{}",
        args.mode.name(),
        args.url,
        ctx.addr,
        humantime::format_duration(args.warmup),
        humantime::format_duration(args.duration),
        args.rate
            .map(|r| format!(", {r} requests/s"))
            .unwrap_or_default(),
    );

    let mut workers = Vec::with_capacity(connections);
    for id in 0..connections {
        let ctx = Arc::clone(&ctx);
        workers.push(match args.mode {
            Mode::Keepalive => tokio::spawn(worker::keepalive(ctx, id)),
            Mode::Handshake => tokio::spawn(worker::handshake(ctx, id)),
        });
    }
    let mut total = Stats::new()?;
    for handle in workers {
        total.merge(handle.await.context("worker panicked")??)?;
    }

    let report = Report {
        args: &args,
        stats: &total,
        tls: ctx.tls_info.get(),
    };
    if args.json {
        println!("{}", report.json());
    } else {
        report.print_text();
    }
    Ok(total.ok > 0 && total.ok == total.requests())
}

/// The result of a run, ready to print.
struct Report<'a> {
    /// The options of the run.
    args: &'a Args,
    /// Merged statistics of all connections.
    stats: &'a Stats,
    /// What the first successful handshake negotiated.
    tls: Option<&'a TlsInfo>,
}

impl Report<'_> {
    /// Responses per second over the measurement window.
    fn per_second(&self) -> f64 {
        self.stats.responses() as f64 / self.args.duration.as_secs_f64()
    }

    /// The rate's label: every iteration of handshake mode is one handshake.
    fn rate_label(&self) -> &'static str {
        match self.args.mode {
            Mode::Keepalive => "requests_per_sec",
            Mode::Handshake => "handshakes_per_sec",
        }
    }

    /// The report as a single-line JSON document.
    fn json(&self) -> String {
        let s = self.stats;
        let latency = s.latency().map(|l| {
            serde_json::json!({
                "p50": round3(l.p50), "p90": round3(l.p90), "p99": round3(l.p99),
                "max": round3(l.max), "mean": round3(l.mean),
            })
        });
        let mut doc = serde_json::json!({
            "mode": self.args.mode.name(),
            "url": self.args.url.to_string(),
            "connections": self.args.connections,
            "warmup_s": self.args.warmup.as_secs_f64(),
            "duration_s": self.args.duration.as_secs_f64(),
            "rate": self.args.rate,
            "requests": s.requests(),
            "ok": s.ok,
            "status_errors": s.status_errors,
            "io_errors": s.io_errors,
            "unsent": s.unsent,
            "reconnects": s.reconnects,
            "latency_ms": latency,
            "tls": self.tls.map(|t| serde_json::json!({
                "version": t.version, "cipher_suite": t.cipher_suite, "alpn": t.alpn,
            })),
            "first_bad_status": s.first_bad_status,
            "first_io_error": s.first_io_error,
        });
        doc[self.rate_label()] = serde_json::json!(round3(self.per_second()));
        doc.to_string()
    }

    /// Prints the report as text.
    fn print_text(&self) {
        let s = self.stats;
        println!(
            "mode        {} ({})",
            self.args.mode.name(),
            match self.args.rate {
                Some(rate) => format!("open loop, {rate} requests/s"),
                None => "closed loop".to_owned(),
            }
        );
        if let Some(t) = self.tls {
            println!(
                "tls         {} {} alpn={}",
                t.version,
                t.cipher_suite,
                t.alpn.as_deref().unwrap_or("none")
            );
        }
        println!(
            "requests    {} in {} (ok {}, non-2xx {}, i/o errors {}, unsent {}, reconnects {})",
            s.requests(),
            humantime::format_duration(self.args.duration),
            s.ok,
            s.status_errors,
            s.io_errors,
            s.unsent,
            s.reconnects
        );
        let unit = match self.args.mode {
            Mode::Keepalive => "requests/s",
            Mode::Handshake => "handshakes/s",
        };
        println!("throughput  {:.1} {unit}", self.per_second());
        match s.latency() {
            Some(l) => println!(
                "latency ms  p50 {:.3}  p90 {:.3}  p99 {:.3}  max {:.3}  (mean {:.3})",
                l.p50, l.p90, l.p99, l.max, l.mean
            ),
            None => println!("latency ms  no response recorded"),
        }
        if let Some(status) = s.first_bad_status {
            println!("first non-2xx status: {status}");
        }
        if let Some(error) = &s.first_io_error {
            println!("first i/o error: {error}");
        }
    }
}

/// Rounds to three decimals for the JSON output.
fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}
