//! Classifying what arrives in the office's PEC box: provider receipts
//! (`daticert.xml`), transport envelopes (`posta-certificata`) and, inside
//! them, the court's messages (`EsitoAtto.xml`, `Eccezione.xml`,
//! `Comunicazione.xml`).
//!
//! [`parse_message`] never panics and never trusts the input: the raw
//! message is size-limited, the XML parts are read by a reader that refuses
//! DOCTYPE and entities ([`crate::xml`]), and whatever cannot be understood
//! is a [`ParseError`] the caller can quarantine with the raw bytes.

mod court;
mod daticert;

use std::borrow::Cow;
use std::panic::AssertUnwindSafe;

use mail_parser::{Message, MessageParser, MessagePart, MimeHeaders as _, PartType};

pub use court::{
    Comunicazione, CourtContent, CourtCorrelation, CourtMessage, CourtMessageKind, Eccezione,
    EsitoAtto, EsitoOutcome, IdMsgPdA, Impronta,
};
pub use daticert::{Daticert, DaticertTime, Destinatario, PecKind};

use crate::signature::{ProviderSigner, ProviderTrust, SignatureError, verify_parsed};
use crate::xml::XmlError;

/// Largest raw message parsed. A "ricevuta completa" of a 60 MB deposit
/// carries the whole deposit again, base64-encoded.
pub const MAX_MESSAGE_BYTES: usize = 128 * 1024 * 1024;

/// A message that cannot be classified. Keep the raw bytes for a person.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Larger than [`MAX_MESSAGE_BYTES`].
    #[error("message of {0} bytes is larger than the limit")]
    TooLarge(usize),
    /// Not an RFC 5322 message the MIME parser can read.
    #[error("not a parseable e-mail message")]
    Unparseable,
    /// A PEC message (`X-Ricevuta` or `X-Trasporto: posta-certificata`) without
    /// a `daticert.xml`.
    #[error("PEC message without daticert.xml")]
    MissingDaticert,
    /// `daticert.xml` is not acceptable XML.
    #[error("daticert.xml: {0}")]
    DaticertXml(XmlError),
    /// `daticert.xml` is XML but not a `postacert` with a known `tipo`.
    #[error("daticert.xml: {0}")]
    DaticertContent(String),
    /// A court XML file (EsitoAtto, Eccezione, Comunicazione) is not
    /// acceptable XML or lacks required elements.
    #[error("{file}: {reason}")]
    CourtXml {
        /// The attachment's name.
        file: String,
        /// Why.
        reason: String,
    },
    /// The parser panicked (a bug); the message is quarantined.
    #[error("internal error while parsing the message")]
    Internal,
}

impl ParseError {
    /// A bounded snake_case code for logs and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooLarge(_) => "message_too_large",
            Self::Unparseable => "message_unparseable",
            Self::MissingDaticert => "daticert_missing",
            Self::DaticertXml(_) => "daticert_xml_invalid",
            Self::DaticertContent(_) => "daticert_invalid",
            Self::CourtXml { .. } => "court_xml_invalid",
            Self::Internal => "parser_internal",
        }
    }
}

/// What a raw message is.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)]
pub enum ParsedMessage {
    /// A provider receipt or notice (every `tipo` except `posta-certificata`).
    Receipt(PecReceipt),
    /// A transport envelope (`posta-certificata`), or a busta di anomalia
    /// (`X-Trasporto: errore`), with the original message inside; court
    /// messages arrive this way.
    Certified(CertifiedMessage),
    /// An ordinary e-mail (no PEC markers). Court XML files attached directly
    /// are still recognised.
    Other(OtherMessage),
}

impl ParsedMessage {
    /// The court content, wherever it was found.
    pub fn court(&self) -> Option<&CourtMessage> {
        match self {
            Self::Receipt(_) => None,
            Self::Certified(c) => c.court.as_ref(),
            Self::Other(o) => o.court.as_ref(),
        }
    }

    /// The message's own Message-ID (without brackets).
    pub fn message_id(&self) -> Option<&str> {
        match self {
            Self::Receipt(r) => r.message_id.as_deref(),
            Self::Certified(c) => c.message_id.as_deref(),
            Self::Other(o) => o.message_id.as_deref(),
        }
    }
}

/// A PEC receipt or notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PecReceipt {
    /// The `postacert@tipo`.
    pub kind: PecKind,
    /// The whole `daticert.xml`.
    pub daticert: Daticert,
    /// Header `X-Ricevuta` (should equal `kind`).
    pub x_ricevuta: Option<String>,
    /// Header `X-Riferimento-Message-ID`, without brackets: the Message-ID
    /// of the message this receipt is about (the primary correlation key).
    pub referenced_message_id: Option<String>,
    /// The receipt's own Message-ID.
    pub message_id: Option<String>,
    /// The receipt's subject (`ACCETTAZIONE: …`, `CONSEGNA: …`).
    pub subject: Option<String>,
    /// Inconsistencies noticed (header vs daticert), for the operator.
    pub warnings: Vec<String>,
}

impl PecReceipt {
    /// The original Message-ID this receipt refers to: `daticert.xml`
    /// `msgid`, else the `X-Riferimento-Message-ID` header.
    pub fn original_message_id(&self) -> Option<&str> {
        self.daticert
            .msgid
            .as_deref()
            .or(self.referenced_message_id.as_deref())
    }

    /// Whether the receipt is about `id` (by the header or by `msgid`).
    pub fn refers_to(&self, id: &crate::MessageId) -> bool {
        let same = |s: &Option<String>| s.as_deref().is_some_and(|s| s == id.as_str());
        same(&self.referenced_message_id) || same(&self.daticert.msgid)
    }
}

/// How the certified message is transported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// `X-Trasporto: posta-certificata`, with `daticert.xml`.
    PostaCertificata,
    /// `X-Trasporto: errore`: a busta di anomalia (the original was not a
    /// valid PEC message); no daticert.
    Anomalia,
}

/// A transport envelope and what it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertifiedMessage {
    /// Envelope or anomaly.
    pub transport: TransportKind,
    /// The `daticert.xml` (absent for an anomaly).
    pub daticert: Option<Daticert>,
    /// The envelope's Message-ID (the provider's `identificativo`).
    pub message_id: Option<String>,
    /// The envelope's subject (`POSTA CERTIFICATA: …`).
    pub subject: Option<String>,
    /// Header `X-Riferimento-Message-ID` (the original sender's Message-ID).
    pub referenced_message_id: Option<String>,
    /// The original message (`postacert.eml`), if present.
    pub inner: Option<InnerMessage>,
    /// The court content, when the original message carries one.
    pub court: Option<CourtMessage>,
}

/// The headline of the original message inside an envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InnerMessage {
    /// Its Message-ID.
    pub message_id: Option<String>,
    /// Its subject.
    pub subject: Option<String>,
    /// Its From address.
    pub from: Option<String>,
    /// Names of its attachments.
    pub attachment_names: Vec<String>,
}

/// An ordinary e-mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtherMessage {
    /// Its Message-ID.
    pub message_id: Option<String>,
    /// Its subject.
    pub subject: Option<String>,
    /// Its From address.
    pub from: Option<String>,
    /// Court content attached directly, if any.
    pub court: Option<CourtMessage>,
}

/// Parses a `daticert.xml` on its own (e.g. one stored separately).
pub fn daticert_from_xml(bytes: &[u8]) -> Result<Daticert, ParseError> {
    daticert::parse(bytes)
}

/// Classifies one raw RFC 5322 message. Never panics.
pub fn parse_message(raw: &[u8]) -> Result<ParsedMessage, ParseError> {
    read_message(raw, None).parsed
}

/// A message read once for both questions the box asks of it.
#[derive(Debug)]
pub struct ReadMessage {
    /// What it is ([`parse_message`]).
    pub parsed: Result<ParsedMessage, ParseError>,
    /// Who signed it ([`verify_provider_signature`]), when a trust was
    /// given.
    pub signature: Option<Result<ProviderSigner, SignatureError>>,
}

/// Classifies one raw message and, with `trust`, verifies its provider's
/// signature, parsing its MIME structure once for both. Never panics.
pub fn read_message(raw: &[u8], trust: Option<&ProviderTrust>) -> ReadMessage {
    let refused = |parsed: ParseError, why: &str| ReadMessage {
        parsed: Err(parsed),
        signature: trust.map(|_| Err(SignatureError::Malformed(why.to_owned()))),
    };
    if raw.len() > MAX_MESSAGE_BYTES {
        return refused(ParseError::TooLarge(raw.len()), "message too large");
    }
    std::panic::catch_unwind(AssertUnwindSafe(|| {
        match MessageParser::default().parse(raw) {
            None => ReadMessage {
                parsed: Err(ParseError::Unparseable),
                signature: trust.map(|_| Err(SignatureError::Missing)),
            },
            Some(message) => ReadMessage {
                parsed: parse_inner(&message),
                signature: trust.map(|t| verify_parsed(&message, raw, t)),
            },
        }
    }))
    .unwrap_or_else(|_| refused(ParseError::Internal, "internal error while reading"))
}

fn parse_inner(message: &Message<'_>) -> Result<ParsedMessage, ParseError> {
    // A real message has at least one of these (RFC 5322 requires From
    // and Date); bytes that merely look like headers are refused.
    let known = [
        "From",
        "Date",
        "Message-ID",
        "Subject",
        "X-Ricevuta",
        "X-Trasporto",
    ];
    if !message.headers().iter().any(|h| {
        known
            .iter()
            .any(|k| h.name.as_str().eq_ignore_ascii_case(k))
    }) {
        return Err(ParseError::Unparseable);
    }
    let x_ricevuta = raw_header(message, "X-Ricevuta").map(|v| v.to_ascii_lowercase());
    let x_trasporto = raw_header(message, "X-Trasporto").map(|v| v.to_ascii_lowercase());
    let referenced = raw_header(message, "X-Riferimento-Message-ID").map(|v| strip_brackets(&v));
    let message_id = message.message_id().map(str::to_owned);
    let subject = message.subject().map(str::to_owned);

    let daticert = match find_part(message, "daticert.xml") {
        Some(part) => Some(daticert::parse(part.contents())?),
        None => None,
    };

    if let Some(daticert) = daticert {
        if daticert.kind == PecKind::PostaCertificata {
            let (inner, court) = inner_and_court(message, subject.as_deref())?;
            return Ok(ParsedMessage::Certified(CertifiedMessage {
                transport: TransportKind::PostaCertificata,
                daticert: Some(daticert),
                message_id,
                subject,
                referenced_message_id: referenced,
                inner,
                court,
            }));
        }
        let mut warnings = Vec::new();
        match &x_ricevuta {
            Some(h) if h != daticert.kind.as_str() => warnings.push(format!(
                "X-Ricevuta {h:?} differs from daticert tipo {:?}",
                daticert.kind.as_str()
            )),
            None => warnings.push("no X-Ricevuta header".into()),
            _ => {}
        }
        if let (Some(h), Some(m)) = (&referenced, &daticert.msgid)
            && h != m
        {
            warnings.push("X-Riferimento-Message-ID differs from daticert msgid".into());
        }
        return Ok(ParsedMessage::Receipt(PecReceipt {
            kind: daticert.kind,
            daticert,
            x_ricevuta,
            referenced_message_id: referenced,
            message_id,
            subject,
            warnings,
        }));
    }

    if x_trasporto.as_deref() == Some("errore") {
        let (inner, court) = inner_and_court(message, subject.as_deref())?;
        return Ok(ParsedMessage::Certified(CertifiedMessage {
            transport: TransportKind::Anomalia,
            daticert: None,
            message_id,
            subject,
            referenced_message_id: referenced,
            inner,
            court,
        }));
    }
    if x_ricevuta.is_some() || x_trasporto.is_some() {
        return Err(ParseError::MissingDaticert);
    }
    let court = court::find(message, subject.as_deref(), referenced.as_deref())?;
    Ok(ParsedMessage::Other(OtherMessage {
        message_id,
        subject,
        from: first_address(message),
        court,
    }))
}

fn inner_and_court(
    message: &Message<'_>,
    outer_subject: Option<&str>,
) -> Result<(Option<InnerMessage>, Option<CourtMessage>), ParseError> {
    let Some(inner) = message.parts.iter().find_map(|p| match &p.body {
        PartType::Message(m) => Some(m),
        _ => None,
    }) else {
        return Ok((None, None));
    };
    let subject = inner
        .subject()
        .or_else(|| outer_subject.map(|s| s.strip_prefix("POSTA CERTIFICATA: ").unwrap_or(s)));
    let inner_ref = raw_header(inner, "X-Riferimento-Message-ID").map(|v| strip_brackets(&v));
    let court = court::find(inner, subject, inner_ref.as_deref())?;
    let info = InnerMessage {
        message_id: inner.message_id().map(str::to_owned),
        subject: inner.subject().map(str::to_owned),
        from: first_address(inner),
        attachment_names: inner
            .attachments()
            .filter_map(|a| a.attachment_name().map(str::to_owned))
            .collect(),
    };
    Ok((Some(info), court))
}

/// The first part (at this message's level, not inside nested messages)
/// named `name`, compared case-insensitively.
pub(crate) fn find_part<'a>(message: &'a Message<'a>, name: &str) -> Option<&'a MessagePart<'a>> {
    message.parts.iter().find(|p| {
        !matches!(p.body, PartType::Multipart(_) | PartType::Message(_))
            && p.attachment_name()
                .is_some_and(|n| n.trim().eq_ignore_ascii_case(name))
    })
}

/// The raw value of a header (unfolded, trimmed), by case-insensitive name.
pub(crate) fn raw_header(message: &Message<'_>, name: &str) -> Option<String> {
    let raw = message.raw_message();
    message
        .headers()
        .iter()
        .find(|h| h.name.as_str().eq_ignore_ascii_case(name))
        .and_then(|h| raw.get(h.offset_start as usize..h.offset_end as usize))
        .map(|v| {
            let v = String::from_utf8_lossy(v);
            v.split(['\r', '\n'])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .filter(|v| !v.is_empty())
}

pub(crate) fn strip_brackets(v: &str) -> String {
    let v = v.trim();
    v.strip_prefix('<')
        .and_then(|s| s.strip_suffix('>'))
        .unwrap_or(v)
        .trim()
        .to_owned()
}

fn first_address(message: &Message<'_>) -> Option<String> {
    message
        .from()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .map(str::to_owned)
}

pub(crate) fn text_of<'a>(part: &'a MessagePart<'a>) -> Cow<'a, str> {
    match &part.body {
        PartType::Text(t) | PartType::Html(t) => Cow::Borrowed(t.as_ref()),
        _ => String::from_utf8_lossy(part.contents()),
    }
}
