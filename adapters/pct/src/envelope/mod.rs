//! The PCT envelope: `Atto.msg` (MIME multipart) and `Atto.enc` (CMS
//! EnvelopedData for the court).
//!
//! What it does:
//! - [`build_atto_msg`] writes `Atto.msg` from a list of [`Part`]s, in the
//!   order given (by convention `DatiAtto.xml.p7m`, the main act
//!   `<Name>.pdf.p7m`, the attachments, `IndiceBusta.xml`). Every part is an
//!   attachment with `filename=`, `name=` in Content-Type, a Content-ID equal to
//!   the id used in the index, and base64 transfer encoding.
//! - [`seal`] encrypts `Atto.msg` into `Atto.enc`: DER EnvelopedData,
//!   AES-256-CBC, exactly one recipient (the court's encryption certificate,
//!   RSA key transport), as `openssl cms -encrypt -aes-256-cbc -binary
//!   -outform DER` does. It refuses an envelope over 60 MiB ([`ENVELOPE_LIMIT`]).
//! - [`open`] is the court side, for tests and inspection: decrypts with the
//!   court key, parses `Atto.msg` and lists its parts; [`OpenedEnvelope::verify`]
//!   checks every `.p7m` with [`crate::sign::verify_cades`].
//!
//! What it does not do: no network I/O and no PEC (that is `ponte-pec`); it
//! does not know the DatiAtto model (parts are opaque bytes); it does not yet
//! split an oversized filing into "principale" + "complementare" deposits —
//! it only refuses it.
//!
//! Place in the flow: `sign` produces the `.p7m` parts, this module packs them,
//! and the gateway hands `Atto.enc` to `ponte-pec` as the only attachment of
//! the deposit message. The sender keeps `Atto.msg`: only the court can open
//! `Atto.enc`.

mod keys;
mod mime;
mod open;
mod seal;

pub use keys::{CourtDecryptionKey, CourtRecipientCert};
pub use mime::build_atto_msg;
pub use open::{OpenedEnvelope, PartVerification, open};
pub use seal::{ENVELOPE_LIMIT, seal, seal_with_limit};

/// One part of `Atto.msg`.
#[derive(Clone, PartialEq, Eq)]
pub struct Part {
    /// The id that the index (`IndiceBusta`, DatiAtto) uses for this part;
    /// becomes the Content-ID `<id>`. An XML NCName made of ASCII letters,
    /// digits, `.`, `_` and `-`, starting with a letter or `_`.
    pub id: String,
    /// The file name, e.g. `Ricorso.pdf.p7m`: ASCII letters, digits, `.`,
    /// `_` and `-` only, not starting with `.` (odd names have been rejected
    /// by courts).
    pub filename: String,
    /// The MIME type without parameters, e.g. `application/pkcs7-mime` or
    /// `text/xml`.
    pub content_type: String,
    /// The content, sent as is (base64 on the wire).
    pub bytes: Vec<u8>,
}

/// Why an envelope could not be built or opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `Atto.msg` would have no part (caller fault).
    #[error("atto.msg needs at least one part")]
    NoParts,
    /// The part at `index` has an id that is not a plain NCName (caller
    /// fault).
    #[error("part {index} has an invalid id")]
    InvalidPartId {
        /// Position in the list given.
        index: usize,
    },
    /// The part at `index` has a file name outside the plain set (caller
    /// fault).
    #[error("part {index} has an invalid file name")]
    InvalidFilename {
        /// Position in the list given.
        index: usize,
    },
    /// The part at `index` has a content type that is not `type/subtype`
    /// (caller fault).
    #[error("part {index} has an invalid content type")]
    InvalidContentType {
        /// Position in the list given.
        index: usize,
    },
    /// The part at `index` repeats the id of an earlier part (caller fault).
    #[error("part {index} repeats an id")]
    DuplicatePartId {
        /// Position in the list given.
        index: usize,
    },
    /// The part at `index` repeats the file name of an earlier part (caller
    /// fault).
    #[error("part {index} repeats a file name")]
    DuplicateFilename {
        /// Position in the list given.
        index: usize,
    },
    /// `Atto.enc` would exceed the court's size limit (the filing's fault:
    /// too many or too large documents; a principale/complementare split is
    /// needed). `size` is the size of `Atto.enc`, or of `Atto.msg` when that
    /// alone already exceeds the limit (then nothing was encrypted).
    #[error("envelope of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// Bytes of the envelope (see above).
        size: u64,
        /// The limit applied, in bytes.
        limit: u64,
    },
    /// The court certificate is not a readable X.509 certificate
    /// (registry/configuration fault).
    #[error("court certificate is not a readable x.509 certificate")]
    InvalidRecipientCert(#[source] openssl::error::ErrorStack),
    /// The court private key is not readable (configuration fault).
    #[error("court key is not a readable private key")]
    InvalidCourtKey(#[source] openssl::error::ErrorStack),
    /// OpenSSL failed to encrypt (internal fault).
    #[error("cms encryption failed")]
    Encrypt(#[source] openssl::error::ErrorStack),
    /// `Atto.enc` is not DER EnvelopedData, is not for this court key, or was
    /// altered (sender fault, or the wrong court key).
    #[error("atto.enc cannot be decrypted")]
    Decrypt(#[source] openssl::error::ErrorStack),
    /// The decrypted `Atto.msg` is not a well-formed PCT multipart (sender
    /// fault).
    #[error("atto.msg is malformed: {0}")]
    MalformedMessage(MimeFault),
}

/// What is wrong with an `Atto.msg` being opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MimeFault {
    /// Not parseable as a MIME message.
    Unparseable,
    /// The top-level Content-Type is not `multipart/mixed`.
    NotMultipartMixed,
    /// A part is itself multipart or a nested message.
    NestedPart,
    /// A part is not `Content-Disposition: attachment` with a `filename`.
    NotAttachment,
    /// A part lacks a Content-ID.
    MissingContentId,
    /// A part lacks a Content-Type.
    MissingContentType,
    /// A part is not base64 transfer encoded, or its base64 is broken.
    BadEncoding,
    /// The multipart holds no part.
    Empty,
}

// === impl Part ===

impl std::fmt::Debug for Part {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Part")
            .field("id", &self.id)
            .field("filename", &self.filename)
            .field("content_type", &self.content_type)
            .field("len", &self.bytes.len())
            .finish()
    }
}

// === impl Error ===

impl Error {
    /// A bounded, stable code for logs, metrics and problem responses.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoParts => "envelope_no_parts",
            Self::InvalidPartId { .. } => "envelope_part_id_invalid",
            Self::InvalidFilename { .. } => "envelope_filename_invalid",
            Self::InvalidContentType { .. } => "envelope_content_type_invalid",
            Self::DuplicatePartId { .. } => "envelope_part_id_duplicate",
            Self::DuplicateFilename { .. } => "envelope_filename_duplicate",
            Self::TooLarge { .. } => "envelope_too_large",
            Self::InvalidRecipientCert(_) => "court_certificate_invalid",
            Self::InvalidCourtKey(_) => "court_key_invalid",
            Self::Encrypt(_) => "envelope_encrypt_failed",
            Self::Decrypt(_) => "envelope_decrypt_failed",
            Self::MalformedMessage(_) => "atto_msg_malformed",
        }
    }

    /// Whether trying again may help: nothing here depends on the outside
    /// world, so no.
    pub fn is_retriable(&self) -> bool {
        match self {
            Self::NoParts
            | Self::InvalidPartId { .. }
            | Self::InvalidFilename { .. }
            | Self::InvalidContentType { .. }
            | Self::DuplicatePartId { .. }
            | Self::DuplicateFilename { .. }
            | Self::TooLarge { .. }
            | Self::InvalidRecipientCert(_)
            | Self::InvalidCourtKey(_)
            | Self::Encrypt(_)
            | Self::Decrypt(_)
            | Self::MalformedMessage(_) => false,
        }
    }
}

// === impl MimeFault ===

impl std::fmt::Display for MimeFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Unparseable => "not a mime message",
            Self::NotMultipartMixed => "not multipart/mixed",
            Self::NestedPart => "a part is nested",
            Self::NotAttachment => "a part is not an attachment with a file name",
            Self::MissingContentId => "a part has no content-id",
            Self::MissingContentType => "a part has no content-type",
            Self::BadEncoding => "a part is not valid base64",
            Self::Empty => "no parts",
        })
    }
}
