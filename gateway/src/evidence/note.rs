//! Checkpoints as C2SP signed notes.
//!
//! ```text
//! <origin>
//! <tree size>
//! <root hash, base64>
//! time <RFC 3339>
//!
//! — <key name> <base64(key id ‖ Ed25519 signature)>
//! ```
//!
//! The first three lines are the C2SP `tlog-checkpoint` body; the `time`
//! extension line records when Ponte signed it. The signature covers the
//! body, final newline included.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::Error;
use super::key::{LogKey, Verifier};
use super::merkle::Hash;

/// The content of a checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// Log origin.
    pub origin: String,
    /// Tree size.
    pub size: u64,
    /// Root hash of the first `size` entries.
    pub root: Hash,
    /// When it was signed (RFC 3339).
    pub time: String,
}

impl Checkpoint {
    /// The signed body.
    pub fn body(&self) -> String {
        format!(
            "{}\n{}\n{}\ntime {}\n",
            self.origin,
            self.size,
            STANDARD.encode(self.root),
            self.time
        )
    }

    /// The signed note.
    pub fn sign(&self, key: &LogKey) -> String {
        let body = self.body();
        let verifier = key.verifier();
        let mut sig = verifier.key_id().to_vec();
        sig.extend_from_slice(&key.sign(body.as_bytes()));
        format!(
            "{body}\n\u{2014} {} {}\n",
            verifier.name(),
            STANDARD.encode(sig)
        )
    }

    /// Parses a signed note and checks its signature by `verifier`.
    pub fn open(note: &str, verifier: &Verifier) -> Result<Self, Error> {
        let bad = |why: &str| Error::Checkpoint(why.to_owned());
        let (body, signatures) = note
            .split_once("\n\n")
            .ok_or_else(|| bad("no blank line before the signatures"))?;
        let body = format!("{body}\n");
        let mut lines = body.lines();
        let origin = lines.next().ok_or_else(|| bad("no origin"))?.to_owned();
        let size = lines
            .next()
            .and_then(|l| l.parse::<u64>().ok())
            .ok_or_else(|| bad("bad tree size"))?;
        let root: Hash = lines
            .next()
            .and_then(|l| STANDARD.decode(l).ok())
            .and_then(|r| r.try_into().ok())
            .ok_or_else(|| bad("bad root hash"))?;
        let time = lines
            .next()
            .and_then(|l| l.strip_prefix("time "))
            .ok_or_else(|| bad("no time line"))?
            .to_owned();
        if origin != verifier.name() {
            return Err(bad("origin does not match the verifier key"));
        }
        let signed = signatures.lines().any(|line| {
            let Some(rest) = line.strip_prefix("\u{2014} ") else {
                return false;
            };
            let Some((name, sig)) = rest.split_once(' ') else {
                return false;
            };
            let Ok(sig) = STANDARD.decode(sig) else {
                return false;
            };
            name == verifier.name()
                && sig.len() == 68
                && sig[..4] == verifier.key_id()
                && verifier.verify(body.as_bytes(), &sig[4..])
        });
        if !signed {
            return Err(bad("no valid signature by the log key"));
        }
        Ok(Self {
            origin,
            size,
            root,
            time,
        })
    }
}
