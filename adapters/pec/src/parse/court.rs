//! The court's messages after a deposit: `EsitoAtto.xml` (esito controlli
//! automatici, esito intervento ufficio), `Eccezione.xml` and
//! `Comunicazione.xml`, element names as in the Ministry's DTDs
//! (`DTD_20180328`).

use mail_parser::{Message, MimeHeaders as _, PartType};

use super::{ParseError, strip_brackets, text_of};
use crate::xml::{self, Element, MAX_XML_BYTES};

/// `IdMsgPdA`: the id of the deposit PEC at the access point.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IdMsgPdA {
    /// `CodicePdA`.
    pub codice_pda: Option<String>,
    /// `Anno`.
    pub anno: Option<String>,
    /// `IdMsg`: the `identificativo` of the deposit PEC (from its daticert).
    pub id_msg: Option<String>,
}

/// `Impronta`: SHA-1 (base64) of the act.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Impronta {
    /// The digest, base64.
    pub value: String,
    /// `@tipoImpronta`: `File`, `MIME` or `SMIME` (default `File`).
    pub tipo: String,
}

/// `EsitoAtto.xml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EsitoAtto {
    /// `IdMsgMitt`: the sender's message id (the deposit's Message-ID).
    pub id_msg_mitt: Option<String>,
    /// `IdMsgPdA`.
    pub id_msg_pda: IdMsgPdA,
    /// `DatiEsito/Impronta`.
    pub impronta: Option<Impronta>,
    /// `DatiEsito/MsgEsito/NumeroRuolo`: the case number, when assigned.
    pub numero_ruolo: Option<String>,
    /// `DatiEsito/MsgEsito/CodiceEsito` as written (`1`, `2`, `-1`).
    pub codice_esito: String,
    /// `DatiEsito/MsgEsito/DescrizioneEsito`.
    pub descrizione_esito: String,
    /// `DatiEsito/Tempo/Data` (`yyyy-mm-dd`).
    pub data: Option<String>,
    /// `DatiEsito/Tempo/Ora` (`hh:mm:ss`).
    pub ora: Option<String>,
    /// `Ora@zoneDesignator` or `Tempo@zona` (`±hhmm`).
    pub zona: Option<String>,
}

/// The meaning of `CodiceEsito`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EsitoOutcome {
    /// `1` (checks passed) or `2` (accepted by the office).
    Positive,
    /// `-1` (anomalies found, or refused by the office: see the description).
    Negative,
    /// Any other value (undocumented).
    Unrecognised,
}

impl EsitoAtto {
    /// Decides on `CodiceEsito`, never on the description's words.
    pub fn outcome(&self) -> EsitoOutcome {
        match self.codice_esito.trim().trim_end_matches('.') {
            "1" | "2" => EsitoOutcome::Positive,
            "-1" => EsitoOutcome::Negative,
            _ => EsitoOutcome::Unrecognised,
        }
    }
}

/// `Eccezione.xml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Eccezione {
    /// `IdMsgSMTP`: the Message-ID of the deposit PEC.
    pub id_msg_smtp: Option<String>,
    /// `IdMsgPdA`.
    pub id_msg_pda: IdMsgPdA,
    /// `DatiEccezione/CodiceEccezione` (e.g. T001, T002, T003).
    pub codice_eccezione: String,
    /// `DatiEccezione/DescrizioneEccezione`.
    pub descrizione_eccezione: String,
}

/// `Comunicazione.xml` (biglietto di cancelleria).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comunicazione {
    /// `NumeroRuolo`.
    pub numero_ruolo: Option<String>,
    /// `Oggetto`.
    pub oggetto: Option<String>,
    /// `Contenuto`.
    pub contenuto: Option<String>,
    /// `CodiceUG`: the court office code.
    pub codice_ug: Option<String>,
    /// `CodiceFiscaleDestinatario`.
    pub codice_fiscale_destinatario: Option<String>,
}

/// The structured content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CourtContent {
    /// An esito.
    Esito(EsitoAtto),
    /// An exception from the court's gateway.
    Eccezione(Eccezione),
    /// A clerk's communication.
    Comunicazione(Comunicazione),
}

/// Which court message this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CourtMessageKind {
    /// Third PEC: esito dei controlli automatici.
    EsitoControlliAutomatici,
    /// Fourth PEC: esito dell'intervento dell'ufficio (accepted / refused).
    EsitoInterventoUfficio,
    /// An esito whose stage cannot be told (code -1 and a subject without
    /// `ESITO CONTROLLI AUTOMATICI`, `ACCETTAZIONE` or `RIFIUTO`).
    Esito,
    /// An exception (`Eccezione.xml`).
    Eccezione,
    /// A communication (`Comunicazione.xml`).
    Comunicazione,
}

/// The keys that tie a court message to a deposit.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CourtCorrelation {
    /// The deposit's Message-ID (`IdMsgMitt` / `IdMsgSMTP`, brackets removed).
    pub deposit_message_id: Option<String>,
    /// The deposit's provider identificativo (`IdMsgPdA/IdMsg`), known from
    /// the deposit's accettazione.
    pub provider_message_id: Option<String>,
    /// `IDBUSTA: n` found in the description or the body.
    pub id_busta: Option<String>,
    /// The deposit subject (`DEPOSITO …`) found in the subject.
    pub deposit_subject: Option<String>,
}

/// A court message found in a mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CourtMessage {
    /// Which message.
    pub kind: CourtMessageKind,
    /// The structured content.
    pub content: CourtContent,
    /// Correlation keys.
    pub correlation: CourtCorrelation,
    /// Name of the XML attachment it came from.
    pub file_name: String,
    /// The subject of the court's message.
    pub subject: Option<String>,
    /// The plain-text body (`Codice esito: …`), if any. May contain
    /// personal data: do not log it.
    pub body_text: Option<String>,
}

const ROOTS: [&str; 3] = ["EsitoAtto", "Eccezione", "Comunicazione"];

/// Looks for court XML among the parts of `message` (not inside nested
/// messages).
pub(super) fn find(
    message: &Message<'_>,
    subject: Option<&str>,
    _referenced: Option<&str>,
) -> Result<Option<CourtMessage>, ParseError> {
    let mut found: Option<(Element, String)> = None;
    for part in &message.parts {
        if matches!(part.body, PartType::Multipart(_) | PartType::Message(_)) {
            continue;
        }
        let Some(name) = part.attachment_name().map(|n| n.trim().to_owned()) else {
            continue;
        };
        if !name.to_ascii_lowercase().ends_with(".xml") || name.eq_ignore_ascii_case("daticert.xml")
        {
            continue;
        }
        let known = ROOTS
            .iter()
            .any(|r| name.eq_ignore_ascii_case(&format!("{r}.xml")));
        let bytes = part.contents();
        if bytes.len() > MAX_XML_BYTES && !known {
            continue;
        }
        let root = match xml::parse(bytes) {
            Ok(root) => root,
            Err(e) if known => {
                return Err(ParseError::CourtXml {
                    file: name,
                    reason: e.to_string(),
                });
            }
            Err(_) => continue,
        };
        if !ROOTS.contains(&root.name.as_str()) {
            if known {
                return Err(ParseError::CourtXml {
                    file: name,
                    reason: format!("root element is {:?}", root.name),
                });
            }
            continue;
        }
        let rank = |n: &str| ROOTS.iter().position(|r| *r == n).unwrap_or(ROOTS.len());
        if found
            .as_ref()
            .is_none_or(|(f, _)| rank(&root.name) < rank(&f.name))
        {
            found = Some((root, name));
        }
    }
    let Some((root, file_name)) = found else {
        return Ok(None);
    };
    let body_text = message
        .text_bodies()
        .next()
        .map(|p| text_of(p).into_owned());
    let bad = |reason: &str| ParseError::CourtXml {
        file: file_name.clone(),
        reason: reason.to_owned(),
    };
    let mut correlation = CourtCorrelation {
        deposit_subject: subject.and_then(deposit_subject),
        ..CourtCorrelation::default()
    };
    let upper_subject = subject.unwrap_or_default().to_uppercase();
    let (kind, content) = match root.name.as_str() {
        "EsitoAtto" => {
            let dati = root.child("DatiEsito").ok_or_else(|| bad("no DatiEsito"))?;
            let msg = dati.child("MsgEsito").ok_or_else(|| bad("no MsgEsito"))?;
            let codice = msg
                .child_text("CodiceEsito")
                .ok_or_else(|| bad("no CodiceEsito"))?;
            let tempo = dati.child("Tempo");
            let esito = EsitoAtto {
                id_msg_mitt: root.child_text("IdMsgMitt").map(|s| strip_brackets(&s)),
                id_msg_pda: id_msg_pda(&root),
                impronta: dati
                    .child("Impronta")
                    .filter(|i| !i.text.is_empty())
                    .map(|i| Impronta {
                        value: i.text.clone(),
                        tipo: i.attr("tipoImpronta").unwrap_or("File").to_owned(),
                    }),
                numero_ruolo: msg.child_text("NumeroRuolo"),
                codice_esito: codice,
                descrizione_esito: msg.child_text("DescrizioneEsito").unwrap_or_default(),
                data: tempo.and_then(|t| t.child_text("Data")),
                ora: tempo.and_then(|t| t.child_text("Ora")),
                zona: tempo.and_then(|t| {
                    t.child("Ora")
                        .and_then(|o| o.attr("zoneDesignator"))
                        .or_else(|| t.attr("zona"))
                        .map(str::to_owned)
                }),
            };
            correlation.deposit_message_id = esito.id_msg_mitt.clone();
            correlation.provider_message_id = esito.id_msg_pda.id_msg.clone();
            correlation.id_busta = id_busta(&esito.descrizione_esito)
                .or_else(|| body_text.as_deref().and_then(id_busta));
            let kind = if upper_subject.contains("ESITO CONTROLLI AUTOMATICI") {
                CourtMessageKind::EsitoControlliAutomatici
            } else if upper_subject.starts_with("ACCETTAZIONE")
                || upper_subject.starts_with("RIFIUTO")
            {
                CourtMessageKind::EsitoInterventoUfficio
            } else {
                match esito.codice_esito.trim() {
                    "1" => CourtMessageKind::EsitoControlliAutomatici,
                    "2" => CourtMessageKind::EsitoInterventoUfficio,
                    _ => CourtMessageKind::Esito,
                }
            };
            (kind, CourtContent::Esito(esito))
        }
        "Eccezione" => {
            let dati = root
                .child("DatiEccezione")
                .ok_or_else(|| bad("no DatiEccezione"))?;
            let e = Eccezione {
                id_msg_smtp: root.child_text("IdMsgSMTP").map(|s| strip_brackets(&s)),
                id_msg_pda: id_msg_pda(&root),
                codice_eccezione: dati
                    .child_text("CodiceEccezione")
                    .ok_or_else(|| bad("no CodiceEccezione"))?,
                descrizione_eccezione: dati.child_text("DescrizioneEccezione").unwrap_or_default(),
            };
            correlation.deposit_message_id = e.id_msg_smtp.clone();
            correlation.provider_message_id = e.id_msg_pda.id_msg.clone();
            correlation.id_busta = id_busta(&e.descrizione_eccezione)
                .or_else(|| body_text.as_deref().and_then(id_busta));
            (CourtMessageKind::Eccezione, CourtContent::Eccezione(e))
        }
        _ => {
            let c = Comunicazione {
                numero_ruolo: root.child_text("NumeroRuolo"),
                oggetto: root.child_text("Oggetto"),
                contenuto: root.child_text("Contenuto"),
                codice_ug: root.child_text("CodiceUG"),
                codice_fiscale_destinatario: root.child_text("CodiceFiscaleDestinatario"),
            };
            (
                CourtMessageKind::Comunicazione,
                CourtContent::Comunicazione(c),
            )
        }
    };
    Ok(Some(CourtMessage {
        kind,
        content,
        correlation,
        file_name,
        subject: subject.map(str::to_owned),
        body_text,
    }))
}

fn id_msg_pda(root: &Element) -> IdMsgPdA {
    root.child("IdMsgPdA")
        .map(|p| IdMsgPdA {
            codice_pda: p.child_text("CodicePdA"),
            anno: p.child_text("Anno"),
            id_msg: p.child_text("IdMsg"),
        })
        .unwrap_or_default()
}

/// The number after `IDBUSTA` (`IDBUSTA: 35508878`).
pub(crate) fn id_busta(text: &str) -> Option<String> {
    let upper = text.to_ascii_uppercase();
    let at = upper.find("IDBUSTA")?;
    let rest = &text[at + "IDBUSTA".len()..];
    let rest = rest.trim_start_matches(|c: char| c == ':' || c == '=' || c.is_whitespace());
    let digits: String = rest
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect();
    (!digits.is_empty()).then_some(digits)
}

/// The deposit subject inside a court message's subject: from the word
/// `DEPOSITO` on (`ESITO CONTROLLI AUTOMATICI DEPOSITO Ricorso …` →
/// `DEPOSITO Ricorso …`).
pub(crate) fn deposit_subject(subject: &str) -> Option<String> {
    let s = subject
        .strip_prefix("POSTA CERTIFICATA: ")
        .unwrap_or(subject);
    let mut from = 0;
    while let Some(i) = s[from..].find("DEPOSITO") {
        let at = from + i;
        let before_ok = at == 0 || s[..at].ends_with(char::is_whitespace);
        let after = &s[at + "DEPOSITO".len()..];
        if before_ok && (after.is_empty() || after.starts_with(char::is_whitespace)) {
            return Some(s[at..].trim_end().to_owned());
        }
        from = at + "DEPOSITO".len();
    }
    None
}
