//! Reading the office's PEC box over IMAP (implicit TLS, rustls with ring):
//! receipts and court messages come back here.
//!
//! Messages are fetched with `BODY.PEEK[]` (nothing is marked read by
//! fetching) and returned as raw RFC 822 bytes with their UID and the
//! mailbox's UIDVALIDITY. Once the caller has stored a message it calls
//! [`ImapMailbox::mark_processed`], which sets a keyword (and `\Seen`) or
//! moves the message to another folder, so the next
//! [`FetchSelector::Unprocessed`] fetch does not return it.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use async_imap::Session;
use futures_util::{Stream, TryStreamExt as _};
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::Secret;
use crate::smtp::clean_text;
use crate::tls::{CaLoadError, TrustAnchors, client_config, find_rustls_error};

type ImapSession = Session<TlsStream<TcpStream>>;

/// What "processed" means in the mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProcessedAction {
    /// Set this keyword (an IMAP atom, e.g. `$PonteProcessed`) and `\Seen`.
    Flag(String),
    /// Move the message to this folder (created if missing); MOVE when the
    /// server has it, else COPY + `\Deleted` + UID EXPUNGE.
    MoveTo(String),
}

/// Which messages a fetch returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchSelector {
    /// Messages without `\Seen`.
    Unseen,
    /// Messages not yet marked processed (see [`ProcessedAction`]).
    Unprocessed,
    /// Messages with a UID above `last_uid`, when the mailbox's UIDVALIDITY
    /// is still `uid_validity`; otherwise (the UIDs were reset) like
    /// [`FetchSelector::Unprocessed`], and the batch says so.
    AfterUid {
        /// UIDVALIDITY the caller's `last_uid` belongs to.
        uid_validity: u32,
        /// Highest UID the caller has stored.
        last_uid: u32,
    },
}

/// Connection settings.
#[derive(Debug, Clone)]
pub struct ImapConfig {
    /// Server host name or address.
    pub host: String,
    /// Port (993 for IMAPS).
    pub port: u16,
    /// The name the server certificate must carry; `None`: `host`.
    pub tls_name: Option<String>,
    /// Which CAs to trust.
    pub trust: TrustAnchors,
    /// Login name.
    pub username: String,
    /// Password.
    pub password: Secret,
    /// Mailbox to read, usually `INBOX`.
    pub mailbox: String,
    /// How to mark a message processed.
    pub processed: ProcessedAction,
    /// Limit for each network operation.
    pub timeout: Duration,
    /// Messages larger than this are not downloaded (reported in
    /// [`FetchBatch::oversized`]).
    pub max_message_bytes: u32,
}

impl ImapConfig {
    /// Defaults: INBOX, keyword `$PonteProcessed`, 60 s timeout, 128 MiB
    /// messages, system CAs.
    pub fn new(
        host: impl Into<String>,
        port: u16,
        username: impl Into<String>,
        password: Secret,
    ) -> Self {
        Self {
            host: host.into(),
            port,
            tls_name: None,
            trust: TrustAnchors::System,
            username: username.into(),
            password,
            mailbox: "INBOX".into(),
            processed: ProcessedAction::Flag("$PonteProcessed".into()),
            timeout: Duration::from_secs(60),
            max_message_bytes: crate::parse::MAX_MESSAGE_BYTES as u32,
        }
    }
}

/// One message as stored on the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedMessage {
    /// Its UID.
    pub uid: u32,
    /// The mailbox's UIDVALIDITY (UIDs are only meaningful with it).
    pub uid_validity: u32,
    /// The raw RFC 822 bytes.
    pub raw: Vec<u8>,
}

/// The result of a fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchBatch {
    /// The mailbox's UIDVALIDITY.
    pub uid_validity: u32,
    /// `true` when [`FetchSelector::AfterUid`] named another UIDVALIDITY:
    /// the caller must deduplicate by Message-ID.
    pub uid_validity_changed: bool,
    /// Messages in UID order.
    pub messages: Vec<FetchedMessage>,
    /// `(uid, size)` of messages above the size limit, not downloaded:
    /// quarantine them or handle them by hand.
    pub oversized: Vec<(u32, u32)>,
    /// `true` when more messages matched than the limit let through.
    pub more: bool,
}

/// What ended an IDLE wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdleEvent {
    /// The server announced a change (new message, flags).
    Changed,
    /// Nothing happened within the wait.
    Timeout,
}

/// An IMAP failure.
#[derive(Debug, thiserror::Error)]
pub enum ImapError {
    /// The configuration cannot be used.
    #[error("IMAP configuration: {0}")]
    Config(String),
    /// The CA file cannot be loaded.
    #[error(transparent)]
    Ca(#[from] CaLoadError),
    /// TCP connection failed.
    #[error("cannot connect to the IMAP server: {0}")]
    Connect(String),
    /// TLS handshake failed (certificate not trusted, wrong name).
    #[error("TLS with the IMAP server failed: {0}")]
    Tls(String),
    /// The server refused the credentials.
    #[error("the IMAP server refused the login: {0}")]
    AuthFailed(String),
    /// The server answered NO or BAD to a command.
    #[error("IMAP {command} failed: {reason}")]
    Command {
        /// The command.
        command: &'static str,
        /// The server's or the client's reason.
        reason: String,
    },
    /// The connection was lost or the stream broke.
    #[error("IMAP connection lost during {command}: {reason}")]
    Connection {
        /// The command.
        command: &'static str,
        /// Why.
        reason: String,
    },
    /// The server did not answer in time.
    #[error("IMAP {0} timed out")]
    Timeout(&'static str),
    /// The selected mailbox has no UIDVALIDITY.
    #[error("the IMAP server gave no UIDVALIDITY")]
    NoUidValidity,
}

impl ImapError {
    /// A bounded snake_case code for logs and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Config(_) => "imap_config_invalid",
            Self::Ca(_) => "imap_ca_invalid",
            Self::Connect(_) => "imap_connect_failed",
            Self::Tls(_) => "imap_tls_failed",
            Self::AuthFailed(_) => "imap_auth_failed",
            Self::Command { .. } => "imap_command_failed",
            Self::Connection { .. } => "imap_connection_lost",
            Self::Timeout(_) => "imap_timeout",
            Self::NoUidValidity => "imap_no_uidvalidity",
        }
    }

    /// Whether retrying later may help (network trouble), as opposed to a
    /// configuration or credential problem.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Connect(_) | Self::Connection { .. } | Self::Timeout(_)
        )
    }
}

fn command_error(command: &'static str, e: async_imap::error::Error) -> ImapError {
    use async_imap::error::Error as E;
    match e {
        E::No(r) | E::Bad(r) => ImapError::Command {
            command,
            reason: clean_text(&r),
        },
        E::Validate(v) => ImapError::Command {
            command,
            reason: clean_text(&v.to_string()),
        },
        other => ImapError::Connection {
            command,
            reason: clean_text(&other.to_string()),
        },
    }
}

/// Sends a command whose answer is a stream of responses (FETCH, STORE,
/// EXPUNGE) and reads them all; a failure of either step is `command`'s.
async fn collect_responses<T>(
    command: &'static str,
    sent: impl Future<
        Output = async_imap::error::Result<impl Stream<Item = async_imap::error::Result<T>>>,
    >,
) -> Result<Vec<T>, ImapError> {
    let responses = sent.await.map_err(|e| command_error(command, e))?;
    responses
        .try_collect()
        .await
        .map_err(|e| command_error(command, e))
}

fn is_atom(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_graphic() && !br#"(){%*"\]"#.contains(&b))
}

/// An open, logged-in IMAP session with the mailbox selected.
pub struct ImapMailbox {
    session: Option<ImapSession>,
    config: ImapConfig,
    uid_validity: u32,
    can_move: bool,
}

impl std::fmt::Debug for ImapMailbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImapMailbox")
            .field("mailbox", &self.config.mailbox)
            .field("uid_validity", &self.uid_validity)
            .finish_non_exhaustive()
    }
}

async fn timed<T>(
    limit: Duration,
    command: &'static str,
    fut: impl std::future::Future<Output = Result<T, ImapError>>,
) -> Result<T, ImapError> {
    tokio::time::timeout(limit, fut)
        .await
        .unwrap_or(Err(ImapError::Timeout(command)))
}

impl ImapMailbox {
    /// Connects with TLS, logs in and selects the mailbox.
    pub async fn connect(config: &ImapConfig) -> Result<Self, ImapError> {
        if let ProcessedAction::Flag(k) = &config.processed
            && (!is_atom(k) || k.starts_with('\\'))
        {
            return Err(ImapError::Config(format!(
                "{k:?} is not a usable IMAP keyword"
            )));
        }
        let tls = client_config(&config.trust)?;
        let name = config
            .tls_name
            .clone()
            .unwrap_or_else(|| config.host.clone());
        let server_name =
            ServerName::try_from(name).map_err(|e| ImapError::Config(e.to_string()))?;
        let t = config.timeout;
        let tcp = timed(t, "connect", async {
            TcpStream::connect((config.host.as_str(), config.port))
                .await
                .map_err(|e| ImapError::Connect(clean_text(&e.to_string())))
        })
        .await?;
        let stream = timed(t, "tls", async {
            TlsConnector::from(Arc::clone(&tls))
                .connect(server_name, tcp)
                .await
                .map_err(|e| match find_rustls_error(&e) {
                    Some(tls) => ImapError::Tls(clean_text(&tls.to_string())),
                    None => ImapError::Connect(clean_text(&e.to_string())),
                })
        })
        .await?;
        let mut client = async_imap::Client::new(stream);
        timed(t, "greeting", async {
            match client.read_response().await {
                Ok(Some(_)) => Ok(()),
                Ok(None) => Err(ImapError::Connection {
                    command: "greeting",
                    reason: "closed".into(),
                }),
                Err(e) => Err(ImapError::Connection {
                    command: "greeting",
                    reason: clean_text(&e.to_string()),
                }),
            }
        })
        .await?;
        let mut session = timed(t, "login", async {
            client
                .login(&config.username, config.password.expose())
                .await
                .map_err(|(e, _)| match e {
                    async_imap::error::Error::No(r) | async_imap::error::Error::Bad(r) => {
                        ImapError::AuthFailed(clean_text(&r))
                    }
                    other => command_error("login", other),
                })
        })
        .await?;
        let can_move = timed(t, "capability", async {
            session
                .capabilities()
                .await
                .map(|c| c.has_str("MOVE"))
                .map_err(|e| command_error("capability", e))
        })
        .await?;
        if let ProcessedAction::MoveTo(folder) = &config.processed {
            // Already existing is fine.
            let _ = timed(t, "create", async {
                session
                    .create(folder)
                    .await
                    .map_err(|e| command_error("create", e))
            })
            .await;
        }
        let mailbox = timed(t, "select", async {
            session
                .select(&config.mailbox)
                .await
                .map_err(|e| command_error("select", e))
        })
        .await?;
        let uid_validity = mailbox.uid_validity.ok_or(ImapError::NoUidValidity)?;
        tracing::debug!(mailbox = %config.mailbox, uid_validity, "imap mailbox selected");
        Ok(Self {
            session: Some(session),
            config: config.clone(),
            uid_validity,
            can_move,
        })
    }

    /// The selected mailbox's UIDVALIDITY.
    pub fn uid_validity(&self) -> u32 {
        self.uid_validity
    }

    fn session(&mut self) -> Result<&mut ImapSession, ImapError> {
        self.session.as_mut().ok_or(ImapError::Connection {
            command: "session",
            reason: "the session was lost during IDLE".into(),
        })
    }

    /// Fetches at most `limit` messages chosen by `selector`, oldest UID
    /// first, without marking them read.
    pub async fn fetch(
        &mut self,
        selector: FetchSelector,
        limit: usize,
    ) -> Result<FetchBatch, ImapError> {
        let t = self.config.timeout;
        let max = self.config.max_message_bytes;
        let uid_validity = self.uid_validity;
        let unprocessed = match &self.config.processed {
            ProcessedAction::Flag(k) => format!("UNDELETED NOT KEYWORD {k}"),
            ProcessedAction::MoveTo(_) => "UNDELETED".to_owned(),
        };
        let (query, floor, changed) = match selector {
            FetchSelector::Unseen => ("UNSEEN UNDELETED".to_owned(), 0, false),
            FetchSelector::Unprocessed => (unprocessed, 0, false),
            FetchSelector::AfterUid {
                uid_validity: v,
                last_uid,
            } if v == uid_validity => (
                format!("UID {}:* UNDELETED", last_uid.saturating_add(1)),
                last_uid,
                false,
            ),
            FetchSelector::AfterUid { .. } => (unprocessed, 0, true),
        };
        let session = self.session()?;
        let found: HashSet<u32> = timed(t, "search", async {
            session
                .uid_search(&query)
                .await
                .map_err(|e| command_error("search", e))
        })
        .await?;
        // "n:*" also matches the highest UID when it is below n.
        let mut uids: Vec<u32> = found.into_iter().filter(|u| *u > floor).collect();
        uids.sort_unstable();
        let more = uids.len() > limit;
        uids.truncate(limit);
        let mut batch = FetchBatch {
            uid_validity,
            uid_validity_changed: changed,
            messages: Vec::new(),
            oversized: Vec::new(),
            more,
        };
        if uids.is_empty() {
            return Ok(batch);
        }
        let set = uids
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let sizes = timed(
            t,
            "fetch",
            collect_responses("fetch", session.uid_fetch(&set, "(UID RFC822.SIZE)")),
        )
        .await?;
        let mut wanted = Vec::new();
        for f in &sizes {
            let (Some(uid), size) = (f.uid, f.size.unwrap_or(0)) else {
                continue;
            };
            if size > max {
                batch.oversized.push((uid, size));
            } else {
                wanted.push(uid);
            }
        }
        wanted.sort_unstable();
        for uid in wanted {
            let fetched = timed(
                t,
                "fetch",
                collect_responses(
                    "fetch",
                    session.uid_fetch(uid.to_string(), "(UID BODY.PEEK[])"),
                ),
            )
            .await?;
            if let Some(raw) = fetched
                .iter()
                .find(|f| f.uid == Some(uid))
                .and_then(|f| f.body())
            {
                batch.messages.push(FetchedMessage {
                    uid,
                    uid_validity,
                    raw: raw.to_vec(),
                });
            }
        }
        tracing::debug!(
            count = batch.messages.len(),
            oversized = batch.oversized.len(),
            "imap messages fetched"
        );
        Ok(batch)
    }

    /// Marks one message processed (keyword + `\Seen`, or move).
    pub async fn mark_processed(&mut self, uid: u32) -> Result<(), ImapError> {
        let t = self.config.timeout;
        let action = self.config.processed.clone();
        let can_move = self.can_move;
        let session = self.session()?;
        let set = uid.to_string();
        timed(t, "store", async {
            match &action {
                ProcessedAction::Flag(keyword) => {
                    let flags = format!("+FLAGS.SILENT (\\Seen {keyword})");
                    collect_responses("store", session.uid_store(&set, flags)).await?;
                }
                ProcessedAction::MoveTo(folder) if can_move => {
                    session
                        .uid_mv(&set, folder)
                        .await
                        .map_err(|e| command_error("move", e))?;
                }
                ProcessedAction::MoveTo(folder) => {
                    session
                        .uid_copy(&set, folder)
                        .await
                        .map_err(|e| command_error("copy", e))?;
                    let flags = "+FLAGS.SILENT (\\Seen \\Deleted)";
                    collect_responses("store", session.uid_store(&set, flags)).await?;
                    collect_responses("expunge", session.uid_expunge(&set)).await?;
                }
            }
            Ok(())
        })
        .await
    }

    /// Appends a raw message to `mailbox` (tools and tests: e.g. to put a
    /// message back, or to inject one).
    pub async fn append(&mut self, mailbox: &str, raw: &[u8]) -> Result<(), ImapError> {
        let t = self.config.timeout;
        let session = self.session()?;
        timed(t, "append", async {
            session
                .append(mailbox, None, None, raw)
                .await
                .map_err(|e| command_error("append", e))
        })
        .await
    }

    /// Waits up to `wait` (keep it under 29 minutes) for the server to
    /// announce a change with IDLE. Fetch again after
    /// [`IdleEvent::Changed`].
    pub async fn idle(&mut self, wait: Duration) -> Result<IdleEvent, ImapError> {
        let t = self.config.timeout;
        let session = self.session.take().ok_or(ImapError::Connection {
            command: "idle",
            reason: "no session".into(),
        })?;
        let mut handle = session.idle();
        timed(t, "idle", async {
            handle.init().await.map_err(|e| command_error("idle", e))
        })
        .await?;
        let (fut, _stop) = handle.wait_with_timeout(wait);
        let result = fut.await.map_err(|e| command_error("idle", e))?;
        let session = timed(t, "idle", async {
            handle.done().await.map_err(|e| command_error("idle", e))
        })
        .await?;
        self.session = Some(session);
        Ok(match result {
            async_imap::extensions::idle::IdleResponse::NewData(_) => IdleEvent::Changed,
            _ => IdleEvent::Timeout,
        })
    }

    /// Logs out (best effort).
    pub async fn logout(mut self) {
        if let Some(mut s) = self.session.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), s.logout()).await;
        }
    }
}
