//! Submitting a composed message over SMTP (lettre, rustls with ring), with
//! the outcome classified for the outbox worker.
//!
//! | Outcome | When | What the caller does |
//! |---|---|---|
//! | [`SubmitOutcome::Accepted`] | 2xx after the end of DATA | record the reply; wait for the receipts |
//! | [`SubmitOutcome::Permanent`] | any 5xx; credentials refused; TLS certificate not trusted; STARTTLS or AUTH not offered | stop at once, tell a person |
//! | [`SubmitOutcome::Transient`] | any 4xx; connection refused, reset or timed out **before** the message text was sent | retry later with the same Message-ID |
//! | [`SubmitOutcome::Unknown`] | connection lost, timeout or garbled reply **after** the message text was sent (after DATA's 354) | the server may have accepted it: reconcile (wait for the provider's accettazione referencing the Message-ID) before retrying |

use std::error::Error as _;
use std::time::Duration;

use lettre::address::{Address, Envelope};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{
    AsyncSmtpConnection, Certificate, CertificateStore, TlsParameters,
};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::ClientId;

use crate::Secret;
use crate::compose::ComposedMessage;
use crate::tls::{CaLoadError, TrustAnchors, find_rustls_error, load_pem};

/// How the SMTP connection is protected. There is no plaintext mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// TLS from the first byte (submissions, port 465).
    ImplicitTls,
    /// Plain connection upgraded with STARTTLS (port 587 or 25); refused
    /// when the server does not offer STARTTLS.
    StartTls,
}

/// Login for SMTP AUTH (PLAIN or LOGIN, only over TLS).
#[derive(Debug, Clone)]
pub struct SmtpCredentials {
    /// The user name (for PEC boxes, usually the address).
    pub username: String,
    /// The password.
    pub password: Secret,
}

/// Timeouts of one submission.
#[derive(Debug, Clone, Copy)]
pub struct SmtpTimeouts {
    /// TCP connect, TLS handshake, greeting and EHLO.
    pub connect: Duration,
    /// Each command (STARTTLS, AUTH, MAIL, RCPT, DATA).
    pub command: Duration,
    /// Sending the message text and waiting for the final reply (RFC 5321
    /// §4.5.3.2 suggests 10 minutes).
    pub final_reply: Duration,
}

impl Default for SmtpTimeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(30),
            command: Duration::from_secs(60),
            final_reply: Duration::from_secs(600),
        }
    }
}

/// Where and how to submit.
#[derive(Debug, Clone)]
pub struct SmtpConfig {
    /// Server host name or IP address to connect to.
    pub host: String,
    /// Server port.
    pub port: u16,
    /// Implicit TLS or STARTTLS.
    pub security: SmtpSecurity,
    /// The name the server certificate must carry; `None`: `host`.
    pub tls_name: Option<String>,
    /// Which CAs to trust for the server certificate.
    pub trust: TrustAnchors,
    /// AUTH credentials; `None` submits without AUTH.
    pub credentials: Option<SmtpCredentials>,
    /// The name sent with EHLO.
    pub hello_name: String,
    /// Timeouts.
    pub timeouts: SmtpTimeouts,
}

/// The step of the SMTP transaction where something happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpStage {
    /// TCP connect, implicit TLS, greeting, EHLO.
    Connect,
    /// STARTTLS and the handshake after it.
    StartTls,
    /// AUTH.
    Auth,
    /// MAIL FROM.
    MailFrom,
    /// RCPT TO.
    RcptTo,
    /// The DATA command (before the message text).
    Data,
    /// The message text and the final reply.
    Message,
}

impl SmtpStage {
    /// A bounded snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connect => "connect",
            Self::StartTls => "starttls",
            Self::Auth => "auth",
            Self::MailFrom => "mail_from",
            Self::RcptTo => "rcpt_to",
            Self::Data => "data",
            Self::Message => "message",
        }
    }
}

impl std::fmt::Display for SmtpStage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What went wrong in a submission (carried by the non-accepted outcomes).
#[derive(Debug, thiserror::Error)]
pub enum SmtpError {
    /// The configuration cannot be used (CA file, TLS name).
    #[error("SMTP configuration: {0}")]
    Config(String),
    /// The CA file cannot be loaded.
    #[error(transparent)]
    Ca(#[from] CaLoadError),
    /// The server refused the credentials.
    #[error("the SMTP server refused the credentials: {code} {text}")]
    AuthRejected {
        /// SMTP reply code (535, 454, …).
        code: u16,
        /// Reply text.
        text: String,
    },
    /// The server answered with an error reply.
    #[error("the SMTP server replied {code} at {stage}: {text}")]
    Reply {
        /// Where.
        stage: SmtpStage,
        /// SMTP reply code.
        code: u16,
        /// Reply text.
        text: String,
    },
    /// The TLS handshake failed (untrusted or wrong certificate, no common
    /// protocol).
    #[error("TLS with the SMTP server failed at {stage}: {reason}")]
    Tls {
        /// Where.
        stage: SmtpStage,
        /// The TLS library's reason.
        reason: String,
    },
    /// STARTTLS was required and the server does not offer it.
    #[error("the SMTP server does not offer STARTTLS")]
    StartTlsUnavailable,
    /// The server offers no AUTH mechanism we use (PLAIN, LOGIN).
    #[error("the SMTP server offers no usable AUTH mechanism")]
    AuthUnavailable,
    /// The client refused to go on (for example 8-bit content without
    /// 8BITMIME).
    #[error("the SMTP client refused at {stage}: {reason}")]
    Client {
        /// Where.
        stage: SmtpStage,
        /// Why.
        reason: String,
    },
    /// The connection failed or was lost.
    #[error("SMTP connection failed at {stage}: {reason}")]
    Connection {
        /// Where.
        stage: SmtpStage,
        /// The network error.
        reason: String,
    },
    /// No answer in time.
    #[error("SMTP timed out at {stage}")]
    Timeout {
        /// Where.
        stage: SmtpStage,
    },
}

impl SmtpError {
    /// A bounded snake_case code for logs and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Config(_) => "smtp_config_invalid",
            Self::Ca(_) => "smtp_ca_invalid",
            Self::AuthRejected { .. } => "smtp_auth_rejected",
            Self::Reply { code, .. } if *code >= 500 => "smtp_reply_permanent",
            Self::Reply { .. } => "smtp_reply_transient",
            Self::Tls { .. } => "smtp_tls_failed",
            Self::StartTlsUnavailable => "smtp_starttls_unavailable",
            Self::AuthUnavailable => "smtp_auth_unavailable",
            Self::Client { .. } => "smtp_client_refused",
            Self::Connection { .. } => "smtp_connection_failed",
            Self::Timeout { .. } => "smtp_timeout",
        }
    }

    /// The SMTP reply code, when the server gave one.
    pub fn reply_code(&self) -> Option<u16> {
        match self {
            Self::AuthRejected { code, .. } | Self::Reply { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// The classified result of one submission attempt.
#[derive(Debug)]
pub enum SubmitOutcome {
    /// The server accepted the message (2xx after the end of DATA).
    Accepted {
        /// The server's final reply, e.g. `250 2.0.0 Ok: queued as 4Fws`.
        reply: String,
    },
    /// Will not succeed by retrying: stop at once.
    Permanent(SmtpError),
    /// Nothing was accepted; retry later with the same Message-ID.
    Transient(SmtpError),
    /// The connection was lost after the message text was sent: the server
    /// may or may not have accepted it. Reconcile before retrying.
    Unknown(SmtpError),
}

impl SubmitOutcome {
    /// `accepted`, `permanent`, `transient` or `unknown`.
    pub fn class(&self) -> &'static str {
        match self {
            Self::Accepted { .. } => "accepted",
            Self::Permanent(_) => "permanent",
            Self::Transient(_) => "transient",
            Self::Unknown(_) => "unknown",
        }
    }

    /// The error of a non-accepted outcome.
    pub fn error(&self) -> Option<&SmtpError> {
        match self {
            Self::Accepted { .. } => None,
            Self::Permanent(e) | Self::Transient(e) | Self::Unknown(e) => Some(e),
        }
    }
}

/// Submits composed messages to one SMTP server, one connection per message.
#[derive(Clone)]
pub struct SmtpSubmitter {
    config: SmtpConfig,
    tls: TlsParameters,
}

impl std::fmt::Debug for SmtpSubmitter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSubmitter")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

enum StepError {
    Smtp(lettre::transport::smtp::Error),
    Timeout,
}

async fn step<T, F>(limit: Duration, fut: F) -> Result<T, StepError>
where
    F: std::future::Future<Output = Result<T, lettre::transport::smtp::Error>>,
{
    match tokio::time::timeout(limit, fut).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(StepError::Smtp(e)),
        Err(_) => Err(StepError::Timeout),
    }
}

/// Keeps server text printable and short.
pub(crate) fn clean_text(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(300)
        .collect();
    out.truncate(out.trim_end().len());
    out
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        cur = s.source();
    }
    clean_text(&parts.join(": "))
}

fn classify(stage: SmtpStage, err: StepError) -> SubmitOutcome {
    let e = match err {
        StepError::Timeout if stage == SmtpStage::Message => {
            return SubmitOutcome::Unknown(SmtpError::Timeout { stage });
        }
        StepError::Timeout => return SubmitOutcome::Transient(SmtpError::Timeout { stage }),
        StepError::Smtp(e) => e,
    };
    if let Some(code) = e.status() {
        let code: u16 = code.to_string().parse().unwrap_or(0);
        let text = e
            .source()
            .map(|s| clean_text(&s.to_string()))
            .unwrap_or_default();
        let error = if stage == SmtpStage::Auth {
            SmtpError::AuthRejected { code, text }
        } else {
            SmtpError::Reply { stage, code, text }
        };
        return if code >= 500 {
            SubmitOutcome::Permanent(error)
        } else {
            SubmitOutcome::Transient(error)
        };
    }
    // Once the message text has been sent, anything but a reply leaves the
    // outcome unknown: the server may have accepted the message.
    if stage == SmtpStage::Message {
        return SubmitOutcome::Unknown(SmtpError::Connection {
            stage,
            reason: error_chain(&e),
        });
    }
    if let Some(tls) = find_rustls_error(&e) {
        return SubmitOutcome::Permanent(SmtpError::Tls {
            stage,
            reason: clean_text(&tls.to_string()),
        });
    }
    if e.is_tls() {
        return SubmitOutcome::Permanent(SmtpError::Tls {
            stage,
            reason: error_chain(&e),
        });
    }
    if e.is_client() {
        return SubmitOutcome::Permanent(SmtpError::Client {
            stage,
            reason: error_chain(&e),
        });
    }
    let error = if e.is_timeout() {
        SmtpError::Timeout { stage }
    } else {
        SmtpError::Connection {
            stage,
            reason: error_chain(&e),
        }
    };
    if stage == SmtpStage::Message {
        SubmitOutcome::Unknown(error)
    } else {
        SubmitOutcome::Transient(error)
    }
}

impl SmtpSubmitter {
    /// Checks the configuration and loads the CAs once.
    pub fn new(config: SmtpConfig) -> Result<Self, SmtpError> {
        let name = config
            .tls_name
            .clone()
            .unwrap_or_else(|| config.host.clone());
        let builder = TlsParameters::builder(name);
        let builder = match &config.trust {
            TrustAnchors::System => builder.certificate_store(CertificateStore::Default),
            TrustAnchors::CaFile(path) => {
                let pem = load_pem(path)?;
                let cert =
                    Certificate::from_pem(&pem).map_err(|e| SmtpError::Config(e.to_string()))?;
                builder
                    .certificate_store(CertificateStore::None)
                    .add_root_certificate(cert)
            }
        };
        let tls = builder
            .build_rustls()
            .map_err(|e| SmtpError::Config(e.to_string()))?;
        if config.hello_name.is_empty() {
            return Err(SmtpError::Config("empty EHLO name".into()));
        }
        Ok(Self { config, tls })
    }

    /// The configuration.
    pub fn config(&self) -> &SmtpConfig {
        &self.config
    }

    /// Submits `message` once and classifies the outcome. Never retries by
    /// itself.
    pub async fn submit(&self, message: &ComposedMessage) -> SubmitOutcome {
        let envelope = match envelope(message) {
            Ok(e) => e,
            Err(e) => return SubmitOutcome::Permanent(e),
        };
        let t = self.config.timeouts;
        let hello = ClientId::Domain(self.config.hello_name.clone());
        let implicit = match self.config.security {
            SmtpSecurity::ImplicitTls => Some(self.tls.clone()),
            SmtpSecurity::StartTls => None,
        };
        let server = (self.config.host.as_str(), self.config.port);
        let mut conn = match step(
            t.connect,
            AsyncSmtpConnection::connect_tokio1(server, Some(t.connect), &hello, implicit, None),
        )
        .await
        {
            Ok(c) => c,
            Err(e) => return self.log(classify(SmtpStage::Connect, e), message),
        };
        let outcome = self
            .transaction(&mut conn, &hello, &envelope, message)
            .await;
        // Say QUIT only on a healthy connection: after a network or TLS
        // failure the stream may be gone (lettre must not write to it).
        let healthy = match outcome.error() {
            None => true,
            Some(e) => matches!(
                e,
                SmtpError::Reply { .. }
                    | SmtpError::AuthRejected { .. }
                    | SmtpError::StartTlsUnavailable
                    | SmtpError::AuthUnavailable
            ),
        };
        if healthy {
            let _ = tokio::time::timeout(t.command, conn.quit()).await;
        }
        self.log(outcome, message)
    }

    async fn transaction(
        &self,
        conn: &mut AsyncSmtpConnection,
        hello: &ClientId,
        envelope: &Envelope,
        message: &ComposedMessage,
    ) -> SubmitOutcome {
        let t = self.config.timeouts;
        if self.config.security == SmtpSecurity::StartTls {
            if !conn.can_starttls() {
                return SubmitOutcome::Permanent(SmtpError::StartTlsUnavailable);
            }
            if let Err(e) = step(t.command, conn.starttls(self.tls.clone(), hello)).await {
                return classify(SmtpStage::StartTls, e);
            }
        }
        if let Some(creds) = &self.config.credentials {
            let mechanisms = [Mechanism::Plain, Mechanism::Login];
            if conn.server_info().get_auth_mechanism(&mechanisms).is_none() {
                return SubmitOutcome::Permanent(SmtpError::AuthUnavailable);
            }
            let credentials =
                Credentials::new(creds.username.clone(), creds.password.expose().to_owned());
            if let Err(e) = step(t.command, conn.auth(&mechanisms, &credentials)).await {
                return classify(SmtpStage::Auth, e);
            }
        }
        if let Err(e) = step(
            t.command,
            conn.command(Mail::new(envelope.from().cloned(), vec![])),
        )
        .await
        {
            return classify(SmtpStage::MailFrom, e);
        }
        for to in envelope.to() {
            if let Err(e) = step(t.command, conn.command(Rcpt::new(to.clone(), vec![]))).await {
                return classify(SmtpStage::RcptTo, e);
            }
        }
        if let Err(e) = step(t.command, conn.command(Data)).await {
            return classify(SmtpStage::Data, e);
        }
        // lettre ends the data with CRLF "." CRLF: the message's own final
        // CRLF is that first CRLF, so the server stores exactly our bytes.
        let bytes = message.bytes();
        let bytes = bytes.strip_suffix(b"\r\n").unwrap_or(bytes);
        match step(t.final_reply, conn.message(bytes)).await {
            Ok(response) => {
                let text: Vec<&str> = response.message().collect();
                SubmitOutcome::Accepted {
                    reply: clean_text(&format!("{} {}", response.code(), text.join(" "))),
                }
            }
            Err(e) => classify(SmtpStage::Message, e),
        }
    }

    fn log(&self, outcome: SubmitOutcome, message: &ComposedMessage) -> SubmitOutcome {
        // Only the Message-ID, the class and bounded codes: never the
        // subject or the content.
        match outcome.error() {
            None => {
                tracing::info!(message_id = %message.message_id(), outcome = outcome.class(), "pec submitted")
            }
            Some(e) => tracing::warn!(
                message_id = %message.message_id(),
                outcome = outcome.class(),
                error = e.code(),
                reply_code = e.reply_code(),
                "pec submission failed"
            ),
        }
        outcome
    }
}

fn envelope(message: &ComposedMessage) -> Result<Envelope, SmtpError> {
    let parse = |a: &crate::PecAddress| {
        a.as_str()
            .parse::<Address>()
            .map_err(|e| SmtpError::Config(format!("address not usable for SMTP: {e}")))
    };
    let to = message
        .to()
        .iter()
        .map(parse)
        .collect::<Result<Vec<_>, _>>()?;
    Envelope::new(Some(parse(message.from())?), to).map_err(|e| SmtpError::Config(e.to_string()))
}
