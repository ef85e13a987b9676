//! The development outbox: with no SMTP server configured, the exact message
//! is written as `<message-id>.eml` into a folder.
//!
//! Writes are atomic (temporary file, fsync, hard link to the final name —
//! which never replaces an existing file — then fsync of the folder) and
//! idempotent: the same Message-ID twice leaves one file. The same
//! Message-ID with different bytes is refused ([`OutboxError::Conflict`]).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use crate::compose::ComposedMessage;

/// An outbox folder.
#[derive(Debug, Clone)]
pub struct DevOutbox {
    dir: PathBuf,
}

/// What [`DevOutbox::deliver`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxDelivery {
    /// The message's file.
    pub path: PathBuf,
    /// `true` when the file was already there with the same bytes.
    pub already_present: bool,
}

/// The outbox cannot take the message.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// File system error.
    #[error("outbox {}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// A different message with the same Message-ID is already there.
    #[error("outbox already holds a different message with this Message-ID: {}", path.display())]
    Conflict {
        /// The existing file.
        path: PathBuf,
    },
}

impl OutboxError {
    /// A bounded snake_case code for logs and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Io { .. } => "outbox_io",
            Self::Conflict { .. } => "outbox_conflict",
        }
    }
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> OutboxError + '_ {
    move |source| OutboxError::Io {
        path: path.to_owned(),
        source,
    }
}

impl DevOutbox {
    /// An outbox in `dir` (created on first delivery).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file a message goes to.
    pub fn path_for(&self, message: &ComposedMessage) -> PathBuf {
        self.dir
            .join(format!("{}.eml", message.message_id().file_stem()))
    }

    /// Writes the message (blocking I/O: call it from a blocking context, or
    /// use [`DevOutbox::deliver_async`]).
    pub fn deliver(&self, message: &ComposedMessage) -> Result<OutboxDelivery, OutboxError> {
        fs::create_dir_all(&self.dir).map_err(io_err(&self.dir))?;
        let path = self.path_for(message);
        if let Some(done) = self.existing(&path, message)? {
            return Ok(done);
        }
        let tmp = self.dir.join(format!(
            ".tmp-{}-{}-{}",
            message.message_id().file_stem(),
            std::process::id(),
            uuid::Uuid::now_v7().simple()
        ));
        let result = (|| {
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&tmp)
                .map_err(io_err(&tmp))?;
            file.write_all(message.bytes()).map_err(io_err(&tmp))?;
            file.sync_all().map_err(io_err(&tmp))?;
            drop(file);
            match fs::hard_link(&tmp, &path) {
                Ok(()) => {}
                // Another writer got there first.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    return self
                        .existing(&path, message)?
                        .ok_or_else(|| io_err(&path)(e));
                }
                Err(e) => return Err(io_err(&path)(e)),
            }
            File::open(&self.dir)
                .and_then(|d| d.sync_all())
                .map_err(io_err(&self.dir))?;
            Ok(OutboxDelivery {
                path: path.clone(),
                already_present: false,
            })
        })();
        let _ = fs::remove_file(&tmp);
        let delivery = result?;
        tracing::info!(message_id = %message.message_id(), already_present = delivery.already_present, "pec written to dev outbox");
        Ok(delivery)
    }

    /// [`DevOutbox::deliver`] on tokio's blocking pool.
    pub async fn deliver_async(
        &self,
        message: &ComposedMessage,
    ) -> Result<OutboxDelivery, OutboxError> {
        let this = self.clone();
        let message = message.clone();
        tokio::task::spawn_blocking(move || this.deliver(&message))
            .await
            .map_err(|e| OutboxError::Io {
                path: self.dir.clone(),
                source: io::Error::other(e.to_string()),
            })?
    }

    fn existing(
        &self,
        path: &Path,
        message: &ComposedMessage,
    ) -> Result<Option<OutboxDelivery>, OutboxError> {
        match fs::read(path) {
            Ok(bytes) if bytes == message.bytes() => Ok(Some(OutboxDelivery {
                path: path.to_owned(),
                already_present: true,
            })),
            Ok(_) => Err(OutboxError::Conflict {
                path: path.to_owned(),
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err(path)(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MessageId, PecAddress};

    fn msg(id: &str, body: &[u8]) -> ComposedMessage {
        ComposedMessage::from_parts(
            MessageId::parse(id).unwrap(),
            PecAddress::parse("a@b.it").unwrap(),
            vec![PecAddress::parse("c@d.it").unwrap()],
            body.to_vec(),
        )
    }

    #[test]
    fn atomic_and_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = DevOutbox::new(dir.path().join("out"));
        let m = msg("<x/1@pec.test>", b"Subject: a\r\n\r\nbody\r\n");
        let first = outbox.deliver(&m).unwrap();
        assert!(!first.already_present);
        assert_eq!(first.path.file_name().unwrap(), "x%2F1@pec.test.eml");
        assert_eq!(fs::read(&first.path).unwrap(), m.bytes());
        let second = outbox.deliver(&m).unwrap();
        assert!(second.already_present);
        assert_eq!(second.path, first.path);
        let names: Vec<_> = fs::read_dir(outbox.dir())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        let other = msg("<x/1@pec.test>", b"different");
        assert_eq!(
            outbox.deliver(&other).unwrap_err().code(),
            "outbox_conflict"
        );
    }
}
