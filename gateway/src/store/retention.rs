//! Retention: what the store keeps of a finished case, and for how long.
//!
//! A case is finished when nothing more can happen to it: its filing failed
//! before any deposit, or its deposit reached a final state (accepted by the
//! clerk, refused, failed, cancelled). Once it has been finished for the
//! period the data controller chose, the content in clear that Ponte kept
//! for it is purged: the submission's original bytes and parsed Bundle, and
//! every filing artefact except the court's encrypted envelope. What stays:
//! every row, digest and size, the evidence log, the envelope and the PEC
//! messages (encrypted for the court, and the proof of the deposit).
//!
//! A message the office dismissed from the quarantine belongs to no case;
//! its raw bytes are purged the same period after its dismissal.

use std::future::Future;

use serde::Serialize;

use super::Result;

/// What one purge pass may do.
#[derive(Clone, Debug)]
pub struct PurgePolicy {
    /// Cases finished before this instant (RFC 3339) are purged.
    pub finished_before: String,
    /// Artefacts kept whatever their age (the encrypted envelope).
    pub keep_artefacts: Vec<String>,
    /// Most cases purged in one call (one transaction).
    pub limit: u32,
}

/// One case whose content was purged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PurgedCase {
    /// The submission.
    pub submission: String,
    /// Its filing.
    pub filing: String,
    /// Its Task.
    pub task: String,
    /// Bytes of content removed.
    pub bytes: u64,
    /// Leaf index of the evidence entry recording the purge.
    pub entry: u64,
}

/// One dismissed message whose raw bytes were purged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PurgedMessage {
    /// The stored message's id.
    pub message: i64,
    /// Bytes removed.
    pub bytes: u64,
    /// Leaf index of the evidence entry recording the purge.
    pub entry: u64,
}

/// Purging the content of finished cases and dismissed messages.
pub trait RetentionStore: Send + Sync + 'static {
    /// Purges the content of at most `policy.limit` cases finished before
    /// `policy.finished_before`, oldest first, in one transaction, each with
    /// an evidence entry (`content-purged`). Durable when the future
    /// resolves. A case already purged is never purged again.
    fn purge_finished(
        &self,
        policy: PurgePolicy,
    ) -> impl Future<Output = Result<Vec<PurgedCase>>> + Send;

    /// Purges the raw bytes of at most `limit` messages dismissed from the
    /// quarantine before `dismissed_before` (RFC 3339), oldest first, in one
    /// transaction, each with an evidence entry (`content-purged`). Durable
    /// when the future resolves.
    fn purge_dismissed(
        &self,
        dismissed_before: String,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<PurgedMessage>>> + Send;
}
