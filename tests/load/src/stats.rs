//! Per-connection counters and latency histogram, merged at the end of a run.

use std::time::Duration;

use anyhow::{Context, Result};
use hdrhistogram::Histogram;

/// Highest latency the histogram can hold, in microseconds (one hour).
/// Larger values are clamped, which only matters if `--timeout` is raised
/// beyond it.
const MAX_LATENCY_US: u64 = 3_600_000_000;

/// Significant decimal digits kept by the histogram (0.1% relative error).
const SIGFIGS: u8 = 3;

/// What one connection (worker) observed during the measurement window.
///
/// Each worker owns its own `Stats`, so recording needs no locking; the
/// results are merged once all workers have stopped.
pub struct Stats {
    /// Latency of every measured request that got an HTTP response, in µs.
    latency_us: Histogram<u64>,
    /// Measured requests answered with a 2xx status.
    pub ok: u64,
    /// Measured requests answered with any other status.
    pub status_errors: u64,
    /// Measured requests that got no response: connect, TLS or HTTP failure,
    /// or a timeout.
    pub io_errors: u64,
    /// Requests the `--rate` schedule intended to send inside the window but
    /// that were never sent because the run ended first (the client was
    /// behind schedule). Always 0 in closed-loop mode.
    pub unsent: u64,
    /// Keep-alive connections that had to be re-established (the server
    /// closed one, or a request on it failed). Counted over the whole run.
    pub reconnects: u64,
    /// The first I/O error seen, for the report.
    pub first_io_error: Option<String>,
    /// The first non-2xx status seen, for the report.
    pub first_bad_status: Option<u16>,
}

impl Stats {
    /// An empty set of statistics.
    pub fn new() -> Result<Self> {
        Ok(Self {
            latency_us: Histogram::new_with_bounds(1, MAX_LATENCY_US, SIGFIGS)
                .context("cannot create latency histogram")?,
            ok: 0,
            status_errors: 0,
            io_errors: 0,
            unsent: 0,
            reconnects: 0,
            first_io_error: None,
            first_bad_status: None,
        })
    }

    /// Records a request that got an HTTP response with `status` after `latency`.
    pub fn record_response(&mut self, status: u16, latency: Duration) {
        let us = u64::try_from(latency.as_micros())
            .unwrap_or(u64::MAX)
            .max(1);
        self.latency_us.saturating_record(us);
        if (200..300).contains(&status) {
            self.ok += 1;
        } else {
            self.status_errors += 1;
            self.first_bad_status.get_or_insert(status);
        }
    }

    /// Records a request that failed without an HTTP response.
    pub fn record_io_error(&mut self, error: &anyhow::Error) {
        self.io_errors += 1;
        if self.first_io_error.is_none() {
            self.first_io_error = Some(format!("{error:#}"));
        }
    }

    /// Adds `other` into `self`.
    pub fn merge(&mut self, other: Stats) -> Result<()> {
        self.latency_us
            .add(&other.latency_us)
            .context("cannot merge latency histograms")?;
        self.ok += other.ok;
        self.status_errors += other.status_errors;
        self.io_errors += other.io_errors;
        self.unsent += other.unsent;
        self.reconnects += other.reconnects;
        if self.first_io_error.is_none() {
            self.first_io_error = other.first_io_error;
        }
        if self.first_bad_status.is_none() {
            self.first_bad_status = other.first_bad_status;
        }
        Ok(())
    }

    /// Measured requests that got an HTTP response, whatever the status.
    pub fn responses(&self) -> u64 {
        self.ok + self.status_errors
    }

    /// All measured requests that were sent: responses plus I/O errors.
    pub fn requests(&self) -> u64 {
        self.responses() + self.io_errors
    }

    /// The latency summary, in milliseconds; `None` if nothing was recorded.
    pub fn latency(&self) -> Option<Latency> {
        if self.latency_us.is_empty() {
            return None;
        }
        let ms = |us: u64| us as f64 / 1000.0;
        Some(Latency {
            p50: ms(self.latency_us.value_at_quantile(0.50)),
            p90: ms(self.latency_us.value_at_quantile(0.90)),
            p99: ms(self.latency_us.value_at_quantile(0.99)),
            max: ms(self.latency_us.max()),
            mean: self.latency_us.mean() / 1000.0,
        })
    }
}

/// Latency percentiles of the measured responses, in milliseconds.
#[derive(Clone, Copy, Debug)]
pub struct Latency {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest value recorded.
    pub max: f64,
    /// Arithmetic mean.
    pub mean: f64,
}
