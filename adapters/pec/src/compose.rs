//! The deposit PEC message: RFC 5322 bytes with exactly one `Atto.enc`.
//!
//! Layout (CRLF line ends, 7-bit ASCII throughout, deterministic for the same
//! inputs: the MIME boundary is derived from the Message-ID):
//!
//! ```text
//! Message-ID: <id>            fixed by the caller before the first attempt
//! Date: <RFC 5322 date>       given by the caller
//! From: <office PEC address>
//! To: <court deposit address>
//! Subject: DEPOSITO <description>   (RFC 2047 B-encoded when not plain ASCII)
//! MIME-Version: 1.0
//! Content-Type: multipart/mixed; boundary="=_ponte_<hex>"   (folded)
//!   text/plain   a short fixed body (the court ignores it)
//!   application/pkcs7-mime; name="Atto.enc"   base64, attachment
//! ```

use base64::Engine as _;
use sha2::{Digest as _, Sha256};
use time::OffsetDateTime;

use crate::address::{MessageId, PecAddress};

/// Name of the only attachment of a deposit.
pub const ATTACHMENT_NAME: &str = "Atto.enc";

/// Largest `Atto.enc` accepted: the PCT limit for the whole envelope
/// (60 MB since 30/09/2024).
pub const MAX_ATTACHMENT_BYTES: usize = 60 * 1000 * 1000;

/// Longest description (characters) after `DEPOSITO `.
pub const MAX_DESCRIPTION_CHARS: usize = 400;

/// The fixed body text: the court's system ignores the body.
const BODY: &str = "Deposito telematico.\r\nLa busta telematica e' nell'allegato Atto.enc.\r\n";

/// Everything a deposit PEC is made of.
#[derive(Debug, Clone)]
pub struct DepositMessage {
    /// The office's PEC address (registered in ReGIndE).
    pub from: PecAddress,
    /// The court's deposit address.
    pub to: PecAddress,
    /// Free text after `DEPOSITO ` in the subject (may be empty; ignored by
    /// the court's system, but repeated in the subject of the court's answers).
    pub description: String,
    /// The Message-ID, fixed and stored by the caller before the first attempt.
    pub message_id: MessageId,
    /// The `Date:` header.
    pub date: OffsetDateTime,
    /// The busta telematica (CMS EnvelopedData, DER).
    pub atto_enc: Vec<u8>,
}

/// A deposit that cannot be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ComposeError {
    /// `Atto.enc` is empty.
    #[error("Atto.enc is empty")]
    EmptyAttachment,
    /// `Atto.enc` is larger than [`MAX_ATTACHMENT_BYTES`].
    #[error("Atto.enc is {size} bytes, more than the {max} allowed")]
    AttachmentTooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The description has control characters or is longer than
    /// [`MAX_DESCRIPTION_CHARS`].
    #[error("the deposit description is not usable in a subject: {0}")]
    InvalidDescription(&'static str),
    /// The date cannot be written as an RFC 5322 date (e.g. an offset with
    /// seconds, or a year outside 1900..=9999).
    #[error("the date cannot be written as an RFC 5322 date")]
    InvalidDate,
}

impl ComposeError {
    /// A bounded snake_case code for logs and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            Self::EmptyAttachment => "attachment_empty",
            Self::AttachmentTooLarge { .. } => "attachment_too_large",
            Self::InvalidDescription(_) => "description_invalid",
            Self::InvalidDate => "date_invalid",
        }
    }
}

/// A composed message, ready to submit or to write to the dev outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComposedMessage {
    message_id: MessageId,
    from: PecAddress,
    to: Vec<PecAddress>,
    bytes: Vec<u8>,
}

impl ComposedMessage {
    /// Wraps bytes composed elsewhere (for example a provider-style receipt
    /// built by a test, or a message read back from storage). The bytes are
    /// sent as they are; they must use CRLF line ends.
    pub fn from_parts(
        message_id: MessageId,
        from: PecAddress,
        to: Vec<PecAddress>,
        bytes: Vec<u8>,
    ) -> Self {
        Self {
            message_id,
            from,
            to,
            bytes,
        }
    }

    /// The Message-ID.
    pub fn message_id(&self) -> &MessageId {
        &self.message_id
    }

    /// The envelope sender (`MAIL FROM`).
    pub fn from(&self) -> &PecAddress {
        &self.from
    }

    /// The envelope recipients (`RCPT TO`).
    pub fn to(&self) -> &[PecAddress] {
        &self.to
    }

    /// The RFC 5322 bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Consumes the message, returning its bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

/// Writes the deposit PEC. Same inputs, same bytes.
pub fn compose(deposit: &DepositMessage) -> Result<ComposedMessage, ComposeError> {
    if deposit.atto_enc.is_empty() {
        return Err(ComposeError::EmptyAttachment);
    }
    if deposit.atto_enc.len() > MAX_ATTACHMENT_BYTES {
        return Err(ComposeError::AttachmentTooLarge {
            size: deposit.atto_enc.len(),
            max: MAX_ATTACHMENT_BYTES,
        });
    }
    let description = deposit.description.trim();
    if description.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(ComposeError::InvalidDescription("too long"));
    }
    if description.chars().any(char::is_control) {
        return Err(ComposeError::InvalidDescription("control characters"));
    }
    let date = deposit
        .date
        .format(&time::format_description::well_known::Rfc2822)
        .map_err(|_| ComposeError::InvalidDate)?;

    let digest = Sha256::digest(deposit.message_id.as_str().as_bytes());
    let boundary = format!("=_ponte_{}", hex::encode(&digest[..16]));
    let encoded = base64::engine::general_purpose::STANDARD.encode(&deposit.atto_enc);

    let mut out = String::with_capacity(encoded.len() + encoded.len() / 76 * 2 + 1024);
    out.push_str(&format!(
        "Message-ID: {}\r\n",
        deposit.message_id.bracketed()
    ));
    out.push_str(&format!("Date: {date}\r\n"));
    out.push_str(&format!("From: {}\r\n", deposit.from));
    out.push_str(&format!("To: {}\r\n", deposit.to));
    out.push_str(&subject_header(description));
    out.push_str("MIME-Version: 1.0\r\n");
    out.push_str(&format!(
        "Content-Type: multipart/mixed;\r\n boundary=\"{boundary}\"\r\n"
    ));
    out.push_str("\r\nThis is a multi-part message in MIME format.\r\n");
    out.push_str(&format!("\r\n--{boundary}\r\n"));
    out.push_str("Content-Type: text/plain; charset=us-ascii\r\n");
    out.push_str("Content-Transfer-Encoding: 7bit\r\n\r\n");
    out.push_str(BODY);
    out.push_str(&format!("\r\n--{boundary}\r\n"));
    out.push_str(&format!(
        "Content-Type: application/pkcs7-mime; name=\"{ATTACHMENT_NAME}\"\r\n"
    ));
    out.push_str("Content-Transfer-Encoding: base64\r\n");
    out.push_str(&format!(
        "Content-Disposition: attachment; filename=\"{ATTACHMENT_NAME}\"\r\n\r\n"
    ));
    for line in encoded.as_bytes().chunks(76) {
        // base64 output is ASCII.
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push_str("\r\n");
    }
    out.push_str(&format!("\r\n--{boundary}--\r\n"));

    Ok(ComposedMessage {
        message_id: deposit.message_id.clone(),
        from: deposit.from.clone(),
        to: vec![deposit.to.clone()],
        bytes: out.into_bytes(),
    })
}

/// `Subject: DEPOSITO <description>\r\n`, folded; the description as RFC 2047
/// encoded words when it is not plain printable ASCII (or could be mistaken
/// for an encoded word).
fn subject_header(description: &str) -> String {
    if description.is_empty() {
        return "Subject: DEPOSITO\r\n".to_owned();
    }
    let plain = description
        .chars()
        .all(|c| c.is_ascii() && !c.is_ascii_control())
        && !description.contains("=?");
    if plain {
        // Fold at spaces to keep lines short; unfolding gives back the text.
        let mut out = String::from("Subject: DEPOSITO");
        let mut line_len = out.len();
        for word in description.split(' ') {
            if line_len + 1 + word.len() > 76 && line_len > 1 && !word.is_empty() {
                out.push_str("\r\n");
                line_len = 0;
            }
            out.push(' ');
            out.push_str(word);
            line_len += 1 + word.len();
        }
        out.push_str("\r\n");
        return out;
    }
    // UTF-8 B-encoded words of at most 45 bytes each (60 base64 characters,
    // 72 with the markers), one per folded line, never splitting a character.
    let mut out = String::from("Subject: DEPOSITO");
    let mut chunk = String::new();
    let flush = |chunk: &mut String, out: &mut String| {
        if !chunk.is_empty() {
            out.push_str("\r\n =?UTF-8?B?");
            out.push_str(&base64::engine::general_purpose::STANDARD.encode(chunk.as_bytes()));
            out.push_str("?=");
            chunk.clear();
        }
    };
    for c in description.chars() {
        if chunk.len() + c.len_utf8() > 45 {
            flush(&mut chunk, &mut out);
        }
        chunk.push(c);
    }
    flush(&mut chunk, &mut out);
    out.push_str("\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use mail_parser::MimeHeaders as _;

    fn deposit(description: &str) -> DepositMessage {
        DepositMessage {
            from: PecAddress::parse("ufficio@pec.ponte.test").unwrap(),
            to: PecAddress::parse("tribunale@pec.ponte.test").unwrap(),
            description: description.to_owned(),
            message_id: MessageId::parse("<0190a1b2c3d4@pec.ponte.test>").unwrap(),
            date: time::macros::datetime!(2025-03-04 10:20:30 +01:00),
            atto_enc: (0..=255u8).cycle().take(5000).collect(),
        }
    }

    fn parse(bytes: &[u8]) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default().parse(bytes).unwrap()
    }

    #[test]
    fn layout_and_determinism() {
        let d = deposit("Ricorso AdS Rossi");
        let a = compose(&d).unwrap();
        let b = compose(&d).unwrap();
        assert_eq!(a, b);
        let text = std::str::from_utf8(a.bytes()).unwrap();
        assert!(text.is_ascii());
        assert!(!text.replace("\r\n", "").contains('\n'), "bare LF");
        assert!(text.lines().all(|l| l.len() <= 78), "long line");
        assert!(text.starts_with(
            "Message-ID: <0190a1b2c3d4@pec.ponte.test>\r\nDate: Tue, 04 Mar 2025 10:20:30 +0100\r\n"
        ));
        assert!(text.contains("\r\nSubject: DEPOSITO Ricorso AdS Rossi\r\n"));
        let m = parse(a.bytes());
        assert_eq!(m.subject(), Some("DEPOSITO Ricorso AdS Rossi"));
        assert_eq!(m.message_id(), Some("0190a1b2c3d4@pec.ponte.test"));
        assert_eq!(m.attachment_count(), 1);
        let att = m.attachment(0).unwrap();
        assert_eq!(att.attachment_name(), Some("Atto.enc"));
        let ct = att.content_type().unwrap();
        assert_eq!(
            (ct.ctype(), ct.subtype()),
            ("application", Some("pkcs7-mime"))
        );
        assert_eq!(att.contents(), d.atto_enc.as_slice());
    }

    #[test]
    fn non_ascii_subject_is_encoded() {
        let desc =
            "Ricorso per l'amministrazione di sostegno di Niccolò Bianchi — università, perché sì";
        let m = compose(&deposit(desc)).unwrap();
        let text = std::str::from_utf8(m.bytes()).unwrap();
        assert!(text.is_ascii());
        assert!(text.lines().all(|l| l.len() <= 78));
        assert_eq!(
            parse(m.bytes()).subject().unwrap(),
            format!("DEPOSITO {desc}")
        );
        // Long ASCII subjects are folded and unfold to the same text.
        let long = "parola ".repeat(30);
        let m = compose(&deposit(&long)).unwrap();
        assert!(
            std::str::from_utf8(m.bytes())
                .unwrap()
                .lines()
                .all(|l| l.len() <= 78)
        );
        assert_eq!(
            parse(m.bytes()).subject().unwrap(),
            format!("DEPOSITO {}", long.trim())
        );
        let m = compose(&deposit("")).unwrap();
        assert_eq!(parse(m.bytes()).subject(), Some("DEPOSITO"));
    }

    #[test]
    fn refusals() {
        let mut d = deposit("x\r\nBcc: a@b.it");
        assert_eq!(compose(&d).unwrap_err().code(), "description_invalid");
        d.description = "ok".into();
        d.atto_enc.clear();
        assert_eq!(compose(&d).unwrap_err(), ComposeError::EmptyAttachment);
    }
}
