//! Prometheus metrics of the gateway.
//!
//! One registry per process, created here and passed to whoever records; no
//! global registry. Names follow `ponte_<subsystem>_<noun>[_<unit>][_total]`
//! and labels are bounded: route templates, status codes, agency ids from the
//! configuration, reason codes. Never a filing id, personal data or an error
//! text.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

/// The gateway's metrics.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    /// `ponte_http_requests_total{route,method,code,agency}`.
    pub http_requests: IntCounterVec,
    /// `ponte_http_request_duration_seconds{route,method}`.
    pub http_duration: HistogramVec,
    /// `ponte_http_refusals_total{reason}`: requests refused for identity,
    /// role or limits.
    pub http_refusals: IntCounterVec,
    /// `ponte_tls_handshakes_total`: handshakes completed.
    pub tls_handshakes: IntCounter,
    /// `ponte_tls_handshake_errors_total{reason}`.
    pub tls_handshake_errors: IntCounterVec,
    /// `ponte_errors_total{component,error_type}`.
    pub errors: IntCounterVec,
    /// `ponte_filing_builds_total{outcome,code}`: builds ended `ready`,
    /// `failed`, `on-hold`, or given back for a `retry`; `code` is the
    /// problem code (empty when ready).
    pub filing_builds: IntCounterVec,
    /// `ponte_filing_build_duration_seconds`: map, check, render, sign and
    /// seal of one filing.
    pub filing_build_duration: prometheus::Histogram,
    /// `ponte_deposit_attempts_total{outcome}`: PEC deposit attempts by
    /// outcome (`accepted`, `transient`, `exhausted`, `permanent`, `unknown`).
    pub deposit_attempts: IntCounterVec,
    /// `ponte_pec_messages_total{kind,outcome}`: messages read from the PEC
    /// box by kind and what was done (`applied`, `duplicate`, `quarantined`).
    pub receipts: IntCounterVec,
    /// `ponte_pec_read_errors_total{code}`: failures reading the PEC box.
    pub receipt_errors: IntCounterVec,
    /// `ponte_pec_signatures_total{result}`: provider signatures checked on
    /// messages read from the PEC box (`verified`, or the code of why not:
    /// a forged receipt shows here first).
    pub provider_signatures: IntCounterVec,
    /// `ponte_retention_purged_cases_total`: finished cases whose content
    /// in clear was purged under the retention policy.
    pub retention_purged_cases: IntCounter,
    /// `ponte_retention_purged_messages_total`: messages dismissed from the
    /// quarantine whose raw bytes were purged.
    pub retention_purged_messages: IntCounter,
    /// `ponte_retention_purged_bytes_total`: bytes of content those purges
    /// removed.
    pub retention_purged_bytes: IntCounter,
}

// === impl Metrics ===

impl Metrics {
    /// Creates the registry and registers every metric.
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let http_requests = IntCounterVec::new(
            Opts::new(
                "ponte_http_requests_total",
                "HTTPS requests answered, by route template, method, status code and agency.",
            ),
            &["route", "method", "code", "agency"],
        )?;
        let http_duration = HistogramVec::new(
            HistogramOpts::new(
                "ponte_http_request_duration_seconds",
                "Time from request headers to response headers, durable writes included.",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                10.0,
            ]),
            &["route", "method"],
        )?;
        let http_refusals = IntCounterVec::new(
            Opts::new(
                "ponte_http_refusals_total",
                "Requests refused before reaching a handler, by reason.",
            ),
            &["reason"],
        )?;
        let tls_handshakes = IntCounter::new(
            "ponte_tls_handshakes_total",
            "Mutual-TLS handshakes completed.",
        )?;
        let tls_handshake_errors = IntCounterVec::new(
            Opts::new(
                "ponte_tls_handshake_errors_total",
                "Mutual-TLS handshakes that failed, by reason.",
            ),
            &["reason"],
        )?;
        let errors = IntCounterVec::new(
            Opts::new(
                "ponte_errors_total",
                "Internal errors, by component and error code.",
            ),
            &["component", "error_type"],
        )?;
        let filing_builds = IntCounterVec::new(
            Opts::new(
                "ponte_filing_builds_total",
                "Filing builds by outcome (ready, failed, on-hold, retry) and problem code.",
            ),
            &["outcome", "code"],
        )?;
        let filing_build_duration = prometheus::Histogram::with_opts(
            HistogramOpts::new(
                "ponte_filing_build_duration_seconds",
                "Time to map, check, render, sign and seal one filing.",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
        )?;
        let deposit_attempts = IntCounterVec::new(
            Opts::new(
                "ponte_deposit_attempts_total",
                "PEC deposit attempts by outcome (accepted, transient, exhausted, permanent, unknown).",
            ),
            &["outcome"],
        )?;
        let receipts = IntCounterVec::new(
            Opts::new(
                "ponte_pec_messages_total",
                "Messages read from the PEC box, by kind and outcome (applied, duplicate, quarantined).",
            ),
            &["kind", "outcome"],
        )?;
        let receipt_errors = IntCounterVec::new(
            Opts::new(
                "ponte_pec_read_errors_total",
                "Failures reading the PEC box, by error code.",
            ),
            &["code"],
        )?;
        let provider_signatures = IntCounterVec::new(
            Opts::new(
                "ponte_pec_signatures_total",
                "PEC provider signatures checked on messages read from the box, by result (verified or the refusal code).",
            ),
            &["result"],
        )?;
        let retention_purged_cases = IntCounter::new(
            "ponte_retention_purged_cases_total",
            "Finished cases whose content in clear was purged under the retention policy.",
        )?;
        let retention_purged_messages = IntCounter::new(
            "ponte_retention_purged_messages_total",
            "Messages dismissed from the quarantine whose raw bytes were purged under the retention policy.",
        )?;
        let retention_purged_bytes = IntCounter::new(
            "ponte_retention_purged_bytes_total",
            "Bytes of content removed by retention purges.",
        )?;
        let build_info = IntGaugeVec::new(
            Opts::new(
                "ponte_build_info",
                "Always 1; the labels say which build is running.",
            ),
            &["version"],
        )?;
        build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION")])
            .set(1);
        registry.register(Box::new(http_requests.clone()))?;
        registry.register(Box::new(http_duration.clone()))?;
        registry.register(Box::new(http_refusals.clone()))?;
        registry.register(Box::new(tls_handshakes.clone()))?;
        registry.register(Box::new(tls_handshake_errors.clone()))?;
        registry.register(Box::new(errors.clone()))?;
        registry.register(Box::new(filing_builds.clone()))?;
        registry.register(Box::new(filing_build_duration.clone()))?;
        registry.register(Box::new(deposit_attempts.clone()))?;
        registry.register(Box::new(receipts.clone()))?;
        registry.register(Box::new(receipt_errors.clone()))?;
        registry.register(Box::new(provider_signatures.clone()))?;
        registry.register(Box::new(retention_purged_cases.clone()))?;
        registry.register(Box::new(retention_purged_messages.clone()))?;
        registry.register(Box::new(retention_purged_bytes.clone()))?;
        registry.register(Box::new(build_info))?;
        #[cfg(target_os = "linux")]
        registry.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))?;
        Ok(Self {
            registry,
            http_requests,
            http_duration,
            http_refusals,
            tls_handshakes,
            tls_handshake_errors,
            errors,
            filing_builds,
            filing_build_duration,
            deposit_attempts,
            receipts,
            receipt_errors,
            provider_signatures,
            retention_purged_cases,
            retention_purged_messages,
            retention_purged_bytes,
        })
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> Result<Vec<u8>, prometheus::Error> {
        let mut out = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut out)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_build_info_and_counters() {
        let m = Metrics::new().unwrap();
        m.tls_handshake_errors.with_label_values(&["revoked"]).inc();
        let text = String::from_utf8(m.render().unwrap()).unwrap();
        assert!(text.contains("ponte_build_info{"), "{text}");
        assert!(text.contains("ponte_tls_handshake_errors_total{reason=\"revoked\"} 1"));
    }
}
