//! The court side: decrypt `Atto.enc`, parse `Atto.msg`, verify its `.p7m`s.
//!
//! The MIME structure and headers are read by `mail-parser`, an
//! implementation independent of our writer; the part bodies are base64
//! decoded here from the raw bytes, so text parts come back byte for byte
//! (no charset conversion).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use mail_parser::{MessageParser, MimeHeaders};
use openssl::cms::CmsContentInfo;

use super::{CourtDecryptionKey, CourtRecipientCert, Error, MimeFault, Part};
use crate::sign::{TrustAnchors, VerifiedSignature, VerifyError, verify_cades};

/// A decrypted `Atto.enc`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct OpenedEnvelope {
    /// `Atto.msg`, exactly as the sender built it.
    pub atto_msg: Vec<u8>,
    /// Its parts in order, with their Content-ID (without `<>`) as `id`.
    pub parts: Vec<Part>,
}

/// The result of verifying one `.p7m` part.
#[derive(Debug)]
#[non_exhaustive]
pub struct PartVerification {
    /// The part's id (Content-ID).
    pub id: String,
    /// The part's file name.
    pub filename: String,
    /// The signature check, with the signed content and signers on success.
    pub outcome: Result<VerifiedSignature, VerifyError>,
}

/// Decrypts `Atto.enc` with the court's key and certificate and parses the
/// `Atto.msg` inside.
pub fn open(
    atto_enc: &[u8],
    cert: &CourtRecipientCert,
    key: &CourtDecryptionKey,
) -> Result<OpenedEnvelope, Error> {
    let cms = CmsContentInfo::from_der(atto_enc).map_err(Error::Decrypt)?;
    let pkey = key.to_pkey()?;
    let x509 = cert.x509();
    let atto_msg = cms.decrypt(&pkey, &x509).map_err(Error::Decrypt)?;
    OpenedEnvelope::parse(atto_msg)
}

// === impl OpenedEnvelope ===

impl OpenedEnvelope {
    /// Parses an `Atto.msg` that is already in clear (the sender's copy).
    ///
    /// Strict about what PCT needs: a top-level `multipart/mixed` whose every
    /// part is a leaf with `Content-Disposition: attachment; filename=…`, a
    /// Content-Type, a Content-ID and base64 transfer encoding.
    pub fn parse(atto_msg: Vec<u8>) -> Result<Self, Error> {
        let parts = parse_parts(&atto_msg).map_err(Error::MalformedMessage)?;
        Ok(Self { atto_msg, parts })
    }

    /// Verifies every part whose name ends in `.p7m` against `trust`, in
    /// order; other parts are not listed.
    pub fn verify(&self, trust: &TrustAnchors) -> Vec<PartVerification> {
        self.parts
            .iter()
            .filter(|part| part.filename.to_ascii_lowercase().ends_with(".p7m"))
            .map(|part| PartVerification {
                id: part.id.clone(),
                filename: part.filename.clone(),
                outcome: verify_cades(&part.bytes, trust),
            })
            .collect()
    }
}

fn parse_parts(raw: &[u8]) -> Result<Vec<Part>, MimeFault> {
    let message = MessageParser::default()
        .parse(raw)
        .ok_or(MimeFault::Unparseable)?;
    let root = message.root_part();
    let is_mixed = root.content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case("multipart")
            && ct
                .subtype()
                .is_some_and(|sub| sub.eq_ignore_ascii_case("mixed"))
    });
    if !is_mixed {
        return Err(MimeFault::NotMultipartMixed);
    }
    let children = root.sub_parts().ok_or(MimeFault::NotMultipartMixed)?;
    if children.is_empty() {
        return Err(MimeFault::Empty);
    }
    children
        .iter()
        .map(|&child| {
            let part = message.part(child).ok_or(MimeFault::Unparseable)?;
            if part.is_multipart() {
                return Err(MimeFault::NestedPart);
            }
            let filename = part
                .content_disposition()
                .filter(|cd| cd.is_attachment())
                .and_then(|cd| cd.attribute("filename"))
                .ok_or(MimeFault::NotAttachment)?;
            let id = part
                .content_id()
                .map(|cid| cid.trim().trim_start_matches('<').trim_end_matches('>'))
                .filter(|cid| !cid.is_empty())
                .ok_or(MimeFault::MissingContentId)?;
            let ct = part.content_type().ok_or(MimeFault::MissingContentType)?;
            let content_type = match ct.subtype() {
                Some(sub) => format!("{}/{}", ct.ctype(), sub),
                None => return Err(MimeFault::MissingContentType),
            };
            let is_base64 = part
                .content_transfer_encoding()
                .is_some_and(|cte| cte.trim().eq_ignore_ascii_case("base64"));
            if !is_base64 {
                return Err(MimeFault::BadEncoding);
            }
            let body = raw
                .get(part.raw_body_offset() as usize..part.raw_end_offset() as usize)
                .ok_or(MimeFault::BadEncoding)?;
            let bytes = decode_base64_body(body)?;
            Ok(Part {
                id: id.to_owned(),
                filename: filename.to_owned(),
                content_type,
                bytes,
            })
        })
        .collect()
}

/// Base64 with line breaks: whitespace is dropped, anything else outside the
/// alphabet is an error (RFC 2045 would let a reader skip it, but PCT wants
/// strictness).
fn decode_base64_body(body: &[u8]) -> Result<Vec<u8>, MimeFault> {
    let compact: Vec<u8> = body
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    STANDARD.decode(compact).map_err(|_| MimeFault::BadEncoding)
}
