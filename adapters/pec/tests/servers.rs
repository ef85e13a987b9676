//! Against real servers: the local Postfix + Dovecot started by
//! scripts/pec-test-servers.sh. These tests fail (never skip) when the
//! servers are not running.
//!
//! Plain Postfix does not generate PEC receipts; the receipt test injects
//! provider-style receipts (built like a PEC provider's) by SMTP into the
//! office's box.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use ponte_pec::{
    ComposedMessage, DepositMessage, FetchSelector, IdleEvent, ImapConfig, ImapError, ImapMailbox,
    MessageId, ParsedMessage, PecAddress, PecKind, ProcessedAction, Secret, SmtpConfig,
    SmtpCredentials, SmtpError, SmtpSecurity, SmtpStage, SmtpSubmitter, SmtpTimeouts,
    SubmitOutcome, TrustAnchors, compose, parse_message,
};

use common::Servers;
use mail_parser::MimeHeaders as _;

fn smtp(
    s: &Servers,
    port: u16,
    security: SmtpSecurity,
    user: &(String, String),
    ca: &std::path::Path,
) -> SmtpSubmitter {
    SmtpSubmitter::new(SmtpConfig {
        host: s.host.clone(),
        port,
        security,
        tls_name: Some(s.tls_name.clone()),
        trust: TrustAnchors::CaFile(ca.to_owned()),
        credentials: Some(SmtpCredentials {
            username: user.0.clone(),
            password: Secret::new(user.1.clone()),
        }),
        hello_name: "client.ponte.test".into(),
        timeouts: SmtpTimeouts {
            connect: Duration::from_secs(10),
            command: Duration::from_secs(10),
            final_reply: Duration::from_secs(30),
        },
    })
    .unwrap()
}

fn imap_config(s: &Servers, user: &(String, String)) -> ImapConfig {
    let mut c = ImapConfig::new(&s.host, s.imaps_port, &user.0, Secret::new(user.1.clone()));
    c.tls_name = Some(s.tls_name.clone());
    c.trust = TrustAnchors::CaFile(s.ca.clone());
    c.timeout = Duration::from_secs(10);
    c
}

fn deposit(s: &Servers, description: &str) -> (DepositMessage, ComposedMessage) {
    let atto: Vec<u8> = (0..40_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let d = DepositMessage {
        from: PecAddress::parse(&s.office.0).unwrap(),
        to: PecAddress::parse(&s.court.0).unwrap(),
        description: description.into(),
        message_id: MessageId::generate(&s.domain).unwrap(),
        date: time::OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .unwrap(),
        atto_enc: atto,
    };
    let m = compose(&d).unwrap();
    (d, m)
}

/// Polls the mailbox until messages matching `want` show up.
async fn wait_for(
    mailbox: &mut ImapMailbox,
    want: impl Fn(&[u8]) -> bool,
    count: usize,
) -> Vec<ponte_pec::FetchedMessage> {
    for _ in 0..100 {
        let batch = mailbox
            .fetch(FetchSelector::Unprocessed, 1000)
            .await
            .unwrap();
        let found: Vec<_> = batch
            .messages
            .into_iter()
            .filter(|m| want(&m.raw))
            .collect();
        if found.len() >= count {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("message not delivered within 20 s");
}

fn has_message_id(raw: &[u8], id: &MessageId) -> bool {
    mail_parser::MessageParser::default()
        .parse(raw)
        .and_then(|m| m.message_id().map(|i| i == id.as_str()))
        .unwrap_or(false)
}

#[tokio::test]
async fn deposit_submitted_by_smtp_arrives_byte_for_byte() {
    let s = common::servers();
    let (d, m) = deposit(&s, "Ricorso per amministrazione di sostegno — prova è");
    let outcome = smtp(
        &s,
        s.submission_port,
        SmtpSecurity::StartTls,
        &s.office,
        &s.ca,
    )
    .submit(&m)
    .await;
    let SubmitOutcome::Accepted { reply } = &outcome else {
        panic!("not accepted: {outcome:?}");
    };
    assert!(reply.starts_with("250"), "{reply}");

    let mut court = ImapMailbox::connect(&imap_config(&s, &s.court))
        .await
        .unwrap();
    let got = wait_for(&mut court, |raw| has_message_id(raw, &d.message_id), 1).await;
    let fetched = &got[0];
    assert_eq!(fetched.uid_validity, court.uid_validity());
    // Postfix only prepends trace headers: the rest is our message, byte for byte.
    assert!(
        fetched.raw.ends_with(m.bytes()),
        "delivered message differs from the composed one"
    );
    let parsed = mail_parser::MessageParser::default()
        .parse(&fetched.raw)
        .unwrap();
    assert_eq!(parsed.message_id(), Some(d.message_id.as_str()));
    assert_eq!(
        parsed.subject().unwrap(),
        format!("DEPOSITO {}", d.description)
    );
    assert_eq!(parsed.attachment_count(), 1);
    let att = parsed.attachment(0).unwrap();
    assert_eq!(att.attachment_name(), Some("Atto.enc"));
    assert_eq!(att.contents(), d.atto_enc.as_slice());

    // Marked processed: not returned again (flag mode).
    court.mark_processed(fetched.uid).await.unwrap();
    let again = court.fetch(FetchSelector::Unprocessed, 1000).await.unwrap();
    assert!(again.messages.iter().all(|x| x.uid != fetched.uid));
    // ...and not by UID either, past the last one seen.
    let after = court
        .fetch(
            FetchSelector::AfterUid {
                uid_validity: fetched.uid_validity,
                last_uid: fetched.uid,
            },
            1000,
        )
        .await
        .unwrap();
    assert!(after.messages.iter().all(|x| x.uid > fetched.uid));
    assert!(!after.uid_validity_changed);
    court.logout().await;
}

#[tokio::test]
async fn implicit_tls_submission_is_accepted() {
    let s = common::servers();
    let (_, m) = deposit(&s, "implicit TLS");
    let outcome = smtp(
        &s,
        s.smtps_port,
        SmtpSecurity::ImplicitTls,
        &s.office,
        &s.ca,
    )
    .submit(&m)
    .await;
    assert!(
        matches!(outcome, SubmitOutcome::Accepted { .. }),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn wrong_password_is_a_permanent_auth_error() {
    let s = common::servers();
    let (_, m) = deposit(&s, "bad password");
    let wrong = (s.office.0.clone(), "not-the-password".to_owned());
    let outcome = smtp(&s, s.submission_port, SmtpSecurity::StartTls, &wrong, &s.ca)
        .submit(&m)
        .await;
    match outcome {
        SubmitOutcome::Permanent(e @ SmtpError::AuthRejected { code: 535, .. }) => {
            assert_eq!(e.code(), "smtp_auth_rejected");
        }
        other => panic!("expected a permanent auth error, got {other:?}"),
    }
    let err = ImapMailbox::connect(&imap_config(&s, &wrong))
        .await
        .unwrap_err();
    assert!(matches!(err, ImapError::AuthFailed(_)), "{err:?}");
}

#[tokio::test]
async fn certificate_from_untrusted_ca_is_refused() {
    let s = common::servers();
    let (_, m) = deposit(&s, "untrusted");
    // The server on this port presents a certificate from another CA.
    let outcome = smtp(
        &s,
        s.untrusted_port,
        SmtpSecurity::StartTls,
        &s.office,
        &s.ca,
    )
    .submit(&m)
    .await;
    match &outcome {
        SubmitOutcome::Permanent(SmtpError::Tls {
            stage: SmtpStage::StartTls,
            reason,
        }) => {
            assert!(reason.to_lowercase().contains("certificate"), "{reason}");
        }
        other => panic!("expected a TLS refusal, got {other:?}"),
    }
    // And the IMAP client refuses the real server when told to trust
    // another CA.
    let mut c = imap_config(&s, &s.court);
    c.trust = TrustAnchors::CaFile(s.untrusted_ca.clone());
    let err = ImapMailbox::connect(&c).await.unwrap_err();
    assert!(matches!(err, ImapError::Tls(_)), "{err:?}");
    // Nothing listens: transient.
    let closed = SmtpSubmitter::new(SmtpConfig {
        port: 1,
        ..smtp(
            &s,
            s.submission_port,
            SmtpSecurity::StartTls,
            &s.office,
            &s.ca,
        )
        .config()
        .clone()
    })
    .unwrap();
    let outcome = closed.submit(&m).await;
    assert!(
        matches!(
            outcome,
            SubmitOutcome::Transient(SmtpError::Connection {
                stage: SmtpStage::Connect,
                ..
            })
        ),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn provider_receipts_in_the_office_box_are_fetched_and_parsed() {
    let s = common::servers();
    let (d, m) = deposit(&s, "Ricorso AdS con ricevute");
    let office_smtp = smtp(
        &s,
        s.submission_port,
        SmtpSecurity::StartTls,
        &s.office,
        &s.ca,
    );
    assert!(matches!(
        office_smtp.submit(&m).await,
        SubmitOutcome::Accepted { .. }
    ));

    // What the PEC provider would send back: accettazione, then avvenuta
    // consegna with the deposit attached (ricevuta completa).
    let provider = smtp(
        &s,
        s.submission_port,
        SmtpSecurity::StartTls,
        &s.provider,
        &s.ca,
    );
    let id = d.message_id.as_str();
    let identificativo = format!("opec.{}", &id[..12]);
    let subject = "DEPOSITO Ricorso AdS con ricevute";
    for (tipo, original) in [
        ("accettazione", None),
        ("avvenuta-consegna", Some(m.bytes())),
    ] {
        let raw = common::receipt(tipo, id, &identificativo, subject, original);
        let receipt = ComposedMessage::from_parts(
            MessageId::parse(&format!("opec.{identificativo}.{tipo}@{}", s.domain)).unwrap(),
            PecAddress::parse(&s.provider.0).unwrap(),
            vec![PecAddress::parse(&s.office.0).unwrap()],
            raw,
        );
        let outcome = provider.submit(&receipt).await;
        assert!(
            matches!(outcome, SubmitOutcome::Accepted { .. }),
            "{outcome:?}"
        );
    }

    let mut config = imap_config(&s, &s.office);
    config.processed = ProcessedAction::MoveTo("Processed".into());
    let mut office = ImapMailbox::connect(&config).await.unwrap();
    let refers = |raw: &[u8]| matches!(parse_message(raw), Ok(ParsedMessage::Receipt(r)) if r.refers_to(&d.message_id));
    let got = wait_for(&mut office, refers, 2).await;
    let mut kinds = Vec::new();
    for fetched in &got {
        let ParsedMessage::Receipt(r) = parse_message(&fetched.raw).unwrap() else {
            unreachable!()
        };
        assert_eq!(r.original_message_id(), Some(id));
        assert_eq!(r.referenced_message_id.as_deref(), Some(id));
        assert_eq!(
            r.daticert.identificativo.as_deref(),
            Some(identificativo.as_str())
        );
        assert_eq!(
            r.daticert.gestore_emittente.as_deref(),
            Some("PONTE TEST PEC S.p.A.")
        );
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
        kinds.push(r.kind);
        office.mark_processed(fetched.uid).await.unwrap();
    }
    kinds.sort_by_key(|k| k.as_str());
    assert_eq!(
        kinds,
        vec![PecKind::Accettazione, PecKind::AvvenutaConsegna]
    );
    // Moved away: a second fetch does not return them.
    let again = office
        .fetch(FetchSelector::Unprocessed, 1000)
        .await
        .unwrap();
    assert!(again.messages.iter().all(|x| !refers(&x.raw)));
    office.logout().await;
}

#[tokio::test]
async fn idle_wakes_up_on_new_mail() {
    let s = common::servers();
    let mut court = ImapMailbox::connect(&imap_config(&s, &s.court))
        .await
        .unwrap();
    let (_, m) = deposit(&s, "idle");
    let sender = smtp(
        &s,
        s.submission_port,
        SmtpSecurity::StartTls,
        &s.office,
        &s.ca,
    );
    let send = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        sender.submit(&m).await
    });
    let event = court.idle(Duration::from_secs(20)).await.unwrap();
    assert_eq!(event, IdleEvent::Changed);
    assert!(matches!(
        send.await.unwrap(),
        SubmitOutcome::Accepted { .. }
    ));
    // The session is usable after IDLE.
    court.fetch(FetchSelector::Unseen, 1).await.unwrap();
    court.logout().await;
}
