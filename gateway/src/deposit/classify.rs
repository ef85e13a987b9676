//! What a message read from the PEC box means for a deposit: its kind, the
//! Message-ID it refers to, the event, and the values worth keeping.
//! Pure: the raw bytes in, an [`InboundMessage`] out.

use std::sync::Arc;

use ponte_pec::{
    CourtContent, CourtMessageKind, EsitoOutcome, ParsedMessage, PecKind, ProviderTrust,
};

use super::state::Event;
use crate::store::InboundMessage;

/// How the PEC provider's signature on each message is checked
/// (`[pec.imap] provider_ca_file`, `provider_signatures`).
#[derive(Clone, Debug)]
pub struct SignatureCheck {
    trust: Option<Arc<ProviderTrust>>,
    require: bool,
}

impl SignatureCheck {
    /// Checks against `trust` (nothing verifies without it); with
    /// `require`, a message that does not verify is quarantined.
    pub fn new(trust: Option<ProviderTrust>, require: bool) -> Self {
        Self {
            trust: trust.map(Arc::new),
            require,
        }
    }
}

/// The signature's result when no trust is configured (`record` only).
const UNCHECKED: &str = "provider_signature_unchecked";

/// Classifies `raw` (message `uid` of `mailbox`). Never fails: a message
/// that cannot be parsed, or (under `require`) whose provider signature does
/// not verify, is returned with a problem, for quarantine. The signature's
/// result is kept in the values (`provider-signer` and
/// `provider-signer-sha256`, or `provider-signature` with the code) and
/// returned as a bounded label: `verified` or the code.
pub fn classify(
    mailbox: &str,
    uid_validity: u32,
    uid: u32,
    raw: Vec<u8>,
    signatures: &SignatureCheck,
) -> (InboundMessage, &'static str) {
    let mut message = InboundMessage {
        mailbox: mailbox.to_owned(),
        uid_validity,
        uid,
        raw: Vec::new(),
        kind: "unparseable".to_owned(),
        refers_to: None,
        court_address: None,
        event: None,
        values: Vec::new(),
        problem: None,
    };
    let read = ponte_pec::read_message(&raw, signatures.trust.as_deref());
    match read.parsed {
        Err(e) => message.problem = Some(e.code().to_owned()),
        Ok(parsed) => describe(&parsed, &mut message),
    }
    let result = match read.signature {
        Some(Ok(signer)) => {
            message
                .values
                .push(("provider-signer".to_owned(), signer.subject));
            message
                .values
                .push(("provider-signer-sha256".to_owned(), signer.fingerprint));
            "verified"
        }
        Some(Err(e)) => {
            tracing::warn!(
                uid,
                code = e.code(),
                "PEC message without a verified provider signature."
            );
            e.code()
        }
        // No trust configured: `record`, announced once at start.
        None => UNCHECKED,
    };
    if result != "verified" {
        message
            .values
            .push(("provider-signature".to_owned(), result.to_owned()));
        if signatures.require && message.problem.is_none() {
            message.problem = Some(result.to_owned());
        }
    }
    message.raw = raw;
    (message, result)
}

fn describe(parsed: &ParsedMessage, out: &mut InboundMessage) {
    if let Some(court) = parsed.court() {
        out.refers_to = court.correlation.deposit_message_id.clone();
        out.court_address = court_sender(parsed);
        if let Some(provider_id) = &court.correlation.provider_message_id {
            out.values
                .push(("provider-ref".to_owned(), provider_id.clone()));
        }
        if let Some(id_busta) = &court.correlation.id_busta {
            out.values.push(("id-busta".to_owned(), id_busta.clone()));
        }
        match (&court.kind, &court.content) {
            (kind, CourtContent::Esito(esito)) => {
                out.values.push((
                    "esito-code".to_owned(),
                    esito.codice_esito.trim().to_owned(),
                ));
                let positive = esito.outcome() == EsitoOutcome::Positive;
                let (name, event) = match (kind, positive) {
                    (CourtMessageKind::EsitoControlliAutomatici, true) => {
                        ("esito-controlli", Event::ChecksPassed)
                    }
                    // CodiceEsito -1 covers warnings, errors and fatal
                    // errors alike; the description names the level of
                    // each anomaly (PCT specifiche tecniche): only a FATAL
                    // one stops the deposit before the clerk.
                    (CourtMessageKind::EsitoControlliAutomatici, false) => {
                        if esito
                            .descrizione_esito
                            .to_ascii_uppercase()
                            .contains("FATAL")
                        {
                            ("esito-controlli", Event::ChecksFailed)
                        } else {
                            ("esito-controlli", Event::ChecksAnomalies)
                        }
                    }
                    (CourtMessageKind::EsitoInterventoUfficio, true) => {
                        ("esito-cancelleria", Event::ClerkAccepted)
                    }
                    (CourtMessageKind::EsitoInterventoUfficio, false) => {
                        ("esito-cancelleria", Event::ClerkRefused)
                    }
                    _ => ("esito", Event::Note),
                };
                if let Some(case) = &esito.numero_ruolo {
                    out.values.push(("case-number".to_owned(), case.clone()));
                }
                out.kind = name.to_owned();
                out.event = Some(event);
            }
            (_, CourtContent::Eccezione(_)) => {
                out.kind = "eccezione".to_owned();
                out.event = Some(Event::Note);
            }
            (_, CourtContent::Comunicazione(_)) => {
                out.kind = "comunicazione".to_owned();
                out.event = Some(Event::Note);
            }
        }
        if out.refers_to.is_none()
            && court.correlation.provider_message_id.is_none()
            && court.correlation.id_busta.is_none()
        {
            out.problem = Some("court_message_without_reference".to_owned());
        }
        return;
    }
    match parsed {
        ParsedMessage::Receipt(receipt) => {
            out.refers_to = receipt.original_message_id().map(str::to_owned);
            out.kind = receipt.kind.as_str().to_owned();
            out.event = Some(match receipt.kind {
                PecKind::Accettazione => Event::Accepted,
                PecKind::NonAccettazione => Event::NotAccepted,
                PecKind::AvvenutaConsegna => Event::Delivered,
                PecKind::ErroreConsegna => Event::DeliveryFailed,
                _ => Event::Note,
            });
            if receipt.kind == PecKind::Accettazione
                && let Some(id) = &receipt.daticert.identificativo
            {
                out.values.push(("provider-id".to_owned(), id.clone()));
            }
            if receipt.kind == PecKind::AvvenutaConsegna {
                if let Some(id) = &receipt.daticert.identificativo {
                    out.values.push(("delivery-receipt".to_owned(), id.clone()));
                }
                if let Some(at) = receipt.daticert.data.as_ref().and_then(|d| d.instant) {
                    out.values
                        .push(("delivered-at".to_owned(), crate::evidence::format_time(at)));
                }
            }
        }
        ParsedMessage::Certified(c) => {
            out.kind = "posta-certificata".to_owned();
            out.refers_to = c.referenced_message_id.clone();
            out.problem = Some("not_a_receipt".to_owned());
        }
        ParsedMessage::Other(o) => {
            out.kind = "other".to_owned();
            out.refers_to = o.message_id.clone();
            out.problem = Some("not_a_pec_message".to_owned());
        }
    }
}

/// The address a court message came from, lowercase: the sender certified
/// by the envelope's `daticert.xml` (`mittente`), else the From of the
/// original message inside it, or of an ordinary e-mail.
fn court_sender(parsed: &ParsedMessage) -> Option<String> {
    let address = match parsed {
        ParsedMessage::Certified(c) => c
            .daticert
            .as_ref()
            .and_then(|d| d.mittente.as_deref())
            .or_else(|| c.inner.as_ref().and_then(|i| i.from.as_deref())),
        ParsedMessage::Other(o) => o.from.as_deref(),
        ParsedMessage::Receipt(_) => None,
    }?;
    let address = address.trim().to_ascii_lowercase();
    (!address.is_empty()).then_some(address)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ESITO: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<EsitoAtto><IdMsgPdA><CodicePdA>GIUSTIZIA</CodicePdA><Anno>2026</Anno><IdMsg>opec.1@pec.test</IdMsg></IdMsgPdA><DatiEsito><MsgEsito><CodiceEsito>1</CodiceEsito><DescrizioneEsito>IDBUSTA: 35508878 - controlli superati</DescrizioneEsito></MsgEsito></DatiEsito></EsitoAtto>\n";

    /// The court's own message, `From` its address, with `EsitoAtto.xml`.
    fn court_message(from: &str) -> String {
        format!(
            "Date: Tue, 04 Mar 2025 11:00:00 +0100\r\nFrom: {from}\r\nTo: ufficio@pec.test\r\n\
             Subject: ESITO CONTROLLI AUTOMATICI DEPOSITO Ricorso\r\nMessage-ID: <esito-1@court.test>\r\n\
             MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"C1\"\r\n\r\n\
             --C1\r\nContent-Type: text/plain\r\n\r\nCodice esito: 1\r\n\
             --C1\r\nContent-Type: text/xml; name=\"EsitoAtto.xml\"\r\n\
             Content-Disposition: attachment; filename=\"EsitoAtto.xml\"\r\n\r\n{ESITO}\r\n--C1--\r\n"
        )
    }

    /// The provider's envelope around `inner`, certifying `mittente`.
    fn envelope(mittente: &str, inner: &str) -> String {
        let daticert = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<postacert tipo=\"posta-certificata\" errore=\"nessuno\"><intestazione><mittente>{mittente}</mittente><destinatari tipo=\"certificato\">ufficio@pec.test</destinatari><risposte>{mittente}</risposte><oggetto>ESITO</oggetto></intestazione><dati><gestore-emittente>TEST</gestore-emittente><data zona=\"+0100\"><giorno>04/03/2025</giorno><ora>11:00:01</ora></data><identificativo>opec.court.1@pec.test</identificativo><msgid>&lt;esito-1@court.test&gt;</msgid></dati></postacert>\n"
        );
        format!(
            "Subject: POSTA CERTIFICATA: ESITO\r\nX-Trasporto: posta-certificata\r\n\
             X-Riferimento-Message-ID: <esito-1@court.test>\r\nDate: Tue, 04 Mar 2025 11:00:01 +0100\r\n\
             From: \"Per conto di: {mittente}\" <posta-certificata@pec.test>\r\nTo: ufficio@pec.test\r\n\
             Message-ID: <opec.court.1@pec.test>\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/mixed; boundary=\"E1\"\r\n\r\n\
             --E1\r\nContent-Type: text/plain\r\n\r\nMessaggio di posta certificata\r\n\
             --E1\r\nContent-Type: application/xml; name=\"daticert.xml\"\r\n\
             Content-Disposition: inline; filename=\"daticert.xml\"\r\n\r\n{daticert}\r\n\
             --E1\r\nContent-Type: message/rfc822; name=\"postacert.eml\"\r\n\
             Content-Disposition: inline; filename=\"postacert.eml\"\r\n\r\n{inner}\r\n--E1--\r\n"
        )
    }

    fn classified(raw: String) -> InboundMessage {
        classify(
            "INBOX",
            1,
            1,
            raw.into_bytes(),
            &SignatureCheck::new(None, false),
        )
        .0
    }

    #[test]
    fn an_unverified_signature_is_recorded_and_under_require_quarantines() {
        let raw = envelope("tribunale@pec.test", &court_message("tribunale@pec.test"));
        let recorded = classified(raw.clone());
        assert_eq!(recorded.problem, None);
        assert_eq!(recorded.event, Some(Event::ChecksPassed));
        assert!(recorded.values.contains(&(
            "provider-signature".to_owned(),
            "provider_signature_unchecked".to_owned()
        )));

        let trust = ponte_pec::ProviderTrust::from_pem(TEST_CA.as_bytes()).unwrap();
        let (required, result) = classify(
            "INBOX",
            1,
            1,
            raw.into_bytes(),
            &SignatureCheck::new(Some(trust), true),
        );
        assert_eq!(result, "provider_signature_missing");
        // Unsigned (multipart/mixed): quarantined, whatever it says.
        assert_eq!(
            required.problem.as_deref(),
            Some("provider_signature_missing")
        );
        assert!(required.values.contains(&(
            "provider-signature".to_owned(),
            "provider_signature_missing".to_owned()
        )));
    }

    /// Any CA certificate: nothing here is signed by it.
    const TEST_CA: &str = include_str!("../../../tests/fixtures/pec/unrelated-ca.pem");

    #[test]
    fn a_court_message_names_its_certified_sender() {
        let raw = envelope(
            "Tribunale.A@PEC.test",
            &court_message("someone.else@court.test"),
        );
        let m = classified(raw);
        assert_eq!(m.problem, None);
        assert_eq!(m.event, Some(Event::ChecksPassed));
        assert!(
            m.values
                .contains(&("id-busta".to_owned(), "35508878".to_owned()))
        );
        assert_eq!(m.court_address.as_deref(), Some("tribunale.a@pec.test"));
    }

    #[test]
    fn an_ordinary_mail_from_a_court_names_its_from() {
        let m = classified(court_message("Tribunale.B@pec.test"));
        assert_eq!(m.event, Some(Event::ChecksPassed));
        assert_eq!(m.court_address.as_deref(), Some("tribunale.b@pec.test"));
    }

    #[test]
    fn a_message_without_court_content_names_no_court() {
        let m = classified("From: a@b.test\r\nSubject: hello\r\n\r\nhi\r\n".to_owned());
        assert_eq!(m.court_address, None);
    }
}
