//! What a message read from the PEC box means for a deposit: its kind, the
//! Message-ID it refers to, the event, and the values worth keeping.
//! Pure: the raw bytes in, an [`InboundMessage`] out.

use ponte_pec::{CourtContent, CourtMessageKind, EsitoOutcome, ParsedMessage, PecKind};

use super::state::Event;
use crate::store::InboundMessage;

/// Classifies `raw` (message `uid` of `mailbox`). Never fails: a message
/// that cannot be parsed is returned with a problem, for quarantine.
pub fn classify(mailbox: &str, uid_validity: u32, uid: u32, raw: Vec<u8>) -> InboundMessage {
    let mut message = InboundMessage {
        mailbox: mailbox.to_owned(),
        uid_validity,
        uid,
        raw: Vec::new(),
        kind: "unparseable".to_owned(),
        refers_to: None,
        event: None,
        values: Vec::new(),
        problem: None,
    };
    match ponte_pec::parse_message(&raw) {
        Err(e) => message.problem = Some(e.code().to_owned()),
        Ok(parsed) => describe(&parsed, &mut message),
    }
    message.raw = raw;
    message
}

fn describe(parsed: &ParsedMessage, out: &mut InboundMessage) {
    if let Some(court) = parsed.court() {
        out.refers_to = court.correlation.deposit_message_id.clone();
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
