//! Full re-verification of the evidence log, as `ponte audit verify` runs it.
//!
//! Every entry is re-read in index order and re-hashed; every interior node
//! the store keeps for proofs is recomputed and compared; every checkpoint's
//! signature is checked and its root compared with the recomputed tree at
//! its size; consecutive checkpoints are checked for consistency with a
//! proof built from the stored nodes. The first problem found is reported
//! with the entry (or checkpoint) it concerns.

use std::fmt;

use super::key::Verifier;
use super::merkle::{self, Frontier, Hash, NodeSource};
use super::{Checkpoint, Entry, StoredCheckpoint};

/// One stored entry with the columns the store copies out of it for
/// searching; the copies must agree with the entry.
pub struct StoredRow<'a> {
    /// Leaf index.
    pub index: u64,
    /// The canonical bytes.
    pub entry: &'a [u8],
    /// The stored leaf hash.
    pub leaf_hash: &'a Hash,
    /// Copy of `time`.
    pub at: &'a str,
    /// Copy of `agency`.
    pub agency: Option<&'a str>,
    /// Copy of `objects.filing`.
    pub filing: Option<&'a str>,
    /// Copy of `exchange`, as 16 UUID bytes.
    pub exchange: Option<&'a [u8]>,
}

/// Visitor of stored entries in index order.
pub type EntryVisitor<'a> = dyn FnMut(StoredRow<'_>) -> Result<(), Finding> + 'a;

/// What the verifier reads.
pub trait LogSource: NodeSource {
    /// Visits every stored entry in index order: `(index, bytes, leaf hash)`.
    /// Stops at the first `Err` the visitor returns.
    fn each_entry(&mut self, visit: &mut EntryVisitor<'_>) -> Result<(), Finding>;
    /// Stored checkpoints, oldest first.
    fn all_checkpoints(&mut self) -> Result<Vec<StoredCheckpoint>, Finding>;
    /// A stored interior node, if present.
    fn stored_node(&mut self, level: u32, index: u64) -> Result<Option<Hash>, Finding>;
}

/// The first problem found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Finding {
    /// An entry is missing, altered, out of place or unreadable.
    Entry {
        /// The first bad entry's index.
        index: u64,
        /// What is wrong.
        problem: String,
    },
    /// A checkpoint is unsigned, altered, or disagrees with the entries.
    Checkpoint {
        /// The checkpoint's row id.
        id: i64,
        /// What is wrong.
        problem: String,
    },
    /// The store could not be read.
    Unreadable(String),
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Finding::Entry { index, problem } => write!(f, "entry {index}: {problem}"),
            Finding::Checkpoint { id, problem } => write!(f, "checkpoint #{id}: {problem}"),
            Finding::Unreadable(e) => write!(f, "store unreadable: {e}"),
        }
    }
}

/// Summary of a clean log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// Entries verified.
    pub entries: u64,
    /// Checkpoints verified.
    pub checkpoints: usize,
    /// Root of the whole log.
    pub root: Hash,
}

/// Verifies the whole log.
pub fn verify<L: LogSource>(log: &mut L, verifier: &Verifier) -> Result<Report, Finding> {
    let checkpoints = log.all_checkpoints()?;
    let mut opened: Vec<(StoredCheckpoint, Checkpoint)> = Vec::new();
    for cp in checkpoints {
        let note = Checkpoint::open(&cp.note, verifier).map_err(|e| Finding::Checkpoint {
            id: cp.id,
            problem: e.to_string(),
        })?;
        if note.size != cp.size || note.root != cp.root {
            return Err(Finding::Checkpoint {
                id: cp.id,
                problem: "stored size or root differs from the signed note".into(),
            });
        }
        if let Some((prev, _)) = opened.last()
            && prev.size > cp.size
        {
            return Err(Finding::Checkpoint {
                id: cp.id,
                problem: format!("tree size {} after an earlier {}", cp.size, prev.size),
            });
        }
        opened.push((cp, note));
    }

    let mut frontier = Frontier::default();
    let mut previous_time = String::new();
    let mut next_checkpoint = 0usize;
    let mut node_checks: Vec<(u32, u64, Hash)> = Vec::new();
    log.each_entry(&mut |row| {
        let (index, bytes, stored_leaf) = (row.index, row.entry, row.leaf_hash);
        let expected = frontier.size();
        let bad = |problem: String| Finding::Entry {
            index: expected,
            problem,
        };
        if index != expected {
            return Err(bad(format!(
                "missing (the next stored entry is {index}): deleted"
            )));
        }
        let Some(entry) = Entry::decode(bytes) else {
            return Err(bad("not a canonical entry: edited".into()));
        };
        if entry.index != index {
            return Err(bad(format!(
                "holds the entry of index {}: reordered or moved",
                entry.index
            )));
        }
        if entry.time < previous_time {
            return Err(bad("earlier than the entry before it: reordered".into()));
        }
        let leaf = merkle::leaf_hash(bytes);
        if &leaf != stored_leaf {
            return Err(bad("content does not match its leaf hash: edited".into()));
        }
        let exchange = row
            .exchange
            .and_then(|b| <[u8; 16]>::try_from(b).ok())
            .map(|b| uuid::Uuid::from_bytes(b).to_string());
        if row.at != entry.time
            || row.agency != entry.agency.as_deref()
            || row.filing != entry.objects.get("filing").map(String::as_str)
            || exchange != entry.exchange
        {
            return Err(bad(
                "its search columns (time, agency, filing, exchange) disagree with the entry: edited"
                    .into(),
            ));
        }
        previous_time = entry.time;
        node_checks.extend(frontier.push(leaf));
        while let Some((cp, note)) = opened.get(next_checkpoint) {
            if cp.size != frontier.size() {
                break;
            }
            if note.root != frontier.root() {
                let first = opened
                    .get(next_checkpoint.wrapping_sub(1))
                    .map_or(0, |(c, _)| c.size);
                return Err(Finding::Entry {
                    index: first,
                    problem: format!(
                        "entries {first}..{} do not hash to the root signed in checkpoint #{}: \
                         an entry in that range was altered",
                        cp.size, cp.id
                    ),
                });
            }
            next_checkpoint += 1;
        }
        Ok(())
    })?;
    // Checkpoints of the empty tree are settled before any entry.
    while let Some((cp, note)) = opened.get(next_checkpoint) {
        if cp.size == 0 && note.root == merkle::empty_root() {
            next_checkpoint += 1;
        } else {
            break;
        }
    }
    if let Some((cp, _)) = opened.get(next_checkpoint) {
        return Err(Finding::Entry {
            index: frontier.size(),
            problem: format!(
                "missing: checkpoint #{} covers {} entries but the log ends here (truncated)",
                cp.id, cp.size
            ),
        });
    }
    for (level, index, hash) in node_checks {
        if log.stored_node(level, index)? != Some(hash) {
            return Err(Finding::Entry {
                index: index << level,
                problem: format!("the stored proof node ({level}, {index}) above it was altered"),
            });
        }
    }
    for pair in opened.windows(2) {
        let ((a, _), (b, _)) = (&pair[0], &pair[1]);
        let proof = merkle::consistency_path(log, a.size, b.size)
            .map_err(|_| Finding::Unreadable("proof nodes".into()))?;
        if !merkle::verify_consistency(a.size, b.size, &a.root, &b.root, &proof) {
            return Err(Finding::Checkpoint {
                id: b.id,
                problem: format!("not consistent with checkpoint #{}", a.id),
            });
        }
    }
    Ok(Report {
        entries: frontier.size(),
        checkpoints: opened.len(),
        root: frontier.root(),
    })
}
