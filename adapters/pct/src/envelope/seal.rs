//! `Atto.enc`: CMS EnvelopedData for the court, through OpenSSL 3's CMS.

use openssl::cms::{CMSOptions, CmsContentInfo};
use openssl::stack::Stack;
use openssl::symm::Cipher;

use super::{CourtRecipientCert, Error};

/// The largest `Atto.enc` the court accepts: 60 MiB. The Specifiche tecniche
/// say "60 MB" since 30/09/2024 (30 MB before); the binary reading is used
/// here. Larger filings must go as principale + complementare deposits.
pub const ENVELOPE_LIMIT: u64 = 60 * 1024 * 1024;

/// Encrypts `atto_msg` for the court into `Atto.enc`, refusing anything over
/// [`ENVELOPE_LIMIT`].
///
/// The result is a DER ContentInfo holding an EnvelopedData with exactly one
/// KeyTransRecipientInfo (the court certificate, identified by issuer and
/// serial number, RSA PKCS#1 v1.5 key transport) and the content encrypted
/// with AES-256-CBC, byte for byte as given.
pub fn seal(atto_msg: &[u8], court: &CourtRecipientCert) -> Result<Vec<u8>, Error> {
    seal_with_limit(atto_msg, court, ENVELOPE_LIMIT)
}

/// [`seal`] with another size limit, in bytes (for a court or a rule change
/// that the constant does not know yet).
pub fn seal_with_limit(
    atto_msg: &[u8],
    court: &CourtRecipientCert,
    limit: u64,
) -> Result<Vec<u8>, Error> {
    // Atto.enc is always larger than Atto.msg, so refuse before spending the
    // time and memory on encryption.
    let msg_len = atto_msg.len() as u64;
    if msg_len > limit {
        return Err(Error::TooLarge {
            size: msg_len,
            limit,
        });
    }
    let mut recipients = Stack::new().map_err(Error::Encrypt)?;
    recipients.push(court.x509()).map_err(Error::Encrypt)?;
    // BINARY: encrypt the bytes as they are (Atto.msg already has CRLF line
    // ends; no S/MIME text canonicalisation).
    let cms = CmsContentInfo::encrypt(
        &recipients,
        atto_msg,
        Cipher::aes_256_cbc(),
        CMSOptions::BINARY,
    )
    .map_err(Error::Encrypt)?;
    let der = cms.to_der().map_err(Error::Encrypt)?;
    let size = der.len() as u64;
    if size > limit {
        return Err(Error::TooLarge { size, limit });
    }
    Ok(der)
}
