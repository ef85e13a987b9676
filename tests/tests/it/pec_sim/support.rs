//! Helpers of the simulator tests: the deposit sent as the office, the
//! simulator run as a child, the answers collected from the office's box and
//! checked.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use ponte_pec::{
    CertifiedMessage, ComposedMessage, CourtContent, CourtMessageKind, DepositMessage, EsitoAtto,
    FetchSelector, ImapConfig, ImapMailbox, MessageId, ParsedMessage, PecAddress, PecKind,
    PecReceipt, Secret, SmtpConfig, SmtpCredentials, SmtpSecurity, SmtpSubmitter, SmtpTimeouts,
    SubmitOutcome, TransportKind, TrustAnchors, compose, parse_message,
};

use super::super::harness::{python, workspace_root};
use super::super::pec::PecEnv;

/// The office's PEC address.
pub(super) fn office(s: &PecEnv) -> String {
    s.user("OFFICE").0
}

/// The court's PEC address.
fn court(s: &PecEnv) -> String {
    s.user("COURT").0
}

pub(super) fn imap_config(s: &PecEnv, who: &str) -> ImapConfig {
    let (user, password) = s.user(who);
    let mut c = ImapConfig::new(
        s.get("PONTE_PEC_HOST"),
        s.port("PONTE_PEC_IMAPS_PORT"),
        user,
        Secret::new(password),
    );
    c.tls_name = Some(s.get("PONTE_PEC_TLS_NAME"));
    c.trust = TrustAnchors::CaFile(s.get("PONTE_PEC_CA").into());
    c.timeout = Duration::from_secs(15);
    c
}

/// Composes a deposit (unique Message-ID) and submits it as the office.
pub(super) async fn send_deposit(s: &PecEnv, what: &str) -> (DepositMessage, ComposedMessage) {
    let message_id = MessageId::generate(&s.get("PONTE_PEC_DOMAIN")).unwrap();
    let atto_enc: Vec<u8> = (0..3000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
        .collect();
    let d = DepositMessage {
        from: PecAddress::parse(&office(s)).unwrap(),
        to: PecAddress::parse(&court(s)).unwrap(),
        description: format!("Ricorso pec_sim {what} {}", &message_id.as_str()[..13]),
        message_id,
        date: time::OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .unwrap(),
        atto_enc,
    };
    let m = compose(&d).unwrap();
    let (user, password) = s.user("OFFICE");
    let smtp = SmtpSubmitter::new(SmtpConfig {
        host: s.get("PONTE_PEC_HOST"),
        port: s.port("PONTE_PEC_SUBMISSION_PORT"),
        security: SmtpSecurity::StartTls,
        tls_name: Some(s.get("PONTE_PEC_TLS_NAME")),
        trust: TrustAnchors::CaFile(s.get("PONTE_PEC_CA").into()),
        credentials: Some(SmtpCredentials {
            username: user,
            password: Secret::new(password),
        }),
        hello_name: "client.ponte.test".into(),
        timeouts: SmtpTimeouts {
            connect: Duration::from_secs(10),
            command: Duration::from_secs(10),
            final_reply: Duration::from_secs(30),
        },
    })
    .unwrap();
    let outcome = smtp.submit(&m).await;
    assert!(
        matches!(outcome, SubmitOutcome::Accepted { .. }),
        "deposit not accepted: {outcome:?}"
    );
    (d, m)
}

fn simulator() -> PathBuf {
    workspace_root().join("tests/interop/pec_sim.py")
}

/// Runs the simulator with `--env` and `args`.
pub(super) fn run_sim(env_file: &Path, args: &[&str]) -> Output {
    Command::new(python())
        .arg(simulator())
        .arg("--env")
        .arg(env_file)
        .args(args)
        .output()
        .expect("python3 runs")
}

/// Runs the simulator; it must succeed. Returns stdout.
pub(super) fn sim(s: &PecEnv, args: &[&str]) -> String {
    let out = run_sim(&s.file, args);
    assert!(
        out.status.success(),
        "pec_sim.py {args:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

pub(super) fn count(s: &PecEnv, id: &MessageId) -> serde_json::Value {
    serde_json::from_str(sim(s, &["count", "--message-id", id.as_str()]).trim()).unwrap()
}

/// Waits until the deposit is in the court's box (LMTP delivery is async).
pub(super) fn wait_in_court_box(s: &PecEnv, id: &MessageId) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while count(s, id)["deposits"] != 1 {
        assert!(
            Instant::now() < deadline,
            "deposit {id:?} not in the court's box within 30 s"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// This deposit's answers in the office's box, by what the parser made of
/// them: receipts by `refers_to`, court messages by `IdMsgMitt`.
fn ours(parsed: &ParsedMessage, id: &MessageId) -> bool {
    match parsed {
        ParsedMessage::Receipt(r) => r.refers_to(id),
        other => other
            .court()
            .is_some_and(|c| c.correlation.deposit_message_id.as_deref() == Some(id.as_str())),
    }
}

/// Polls the office's box (unprocessed messages) until `want` answers to
/// `id` arrived, or `wait` passed; marks the ones found processed.
pub(super) async fn collect(
    office: &mut ImapMailbox,
    id: &MessageId,
    want: usize,
    wait: Duration,
) -> Vec<ParsedMessage> {
    let deadline = Instant::now() + wait;
    // Every answer carries the provider's signature, made by the `openssl`
    // command: it must verify against the test provider's CA.
    let trust = ponte_pec::ProviderTrust::from_file(Path::new(
        &PecEnv::load().get("PONTE_PEC_PROVIDER_SIGNING_CA"),
    ))
    .unwrap();
    let mut found: BTreeMap<u32, ParsedMessage> = BTreeMap::new();
    let mut foreign = std::collections::HashSet::new();
    loop {
        let batch = office
            .fetch(FetchSelector::Unprocessed, 5000)
            .await
            .unwrap();
        for m in batch.messages {
            if found.contains_key(&m.uid) || foreign.contains(&m.uid) {
                continue;
            }
            match parse_message(&m.raw) {
                Ok(p) if ours(&p, id) => {
                    if let Err(e) = ponte_pec::verify_provider_signature(&m.raw, &trust) {
                        panic!("the simulator's message UID {}: {e}", m.uid);
                    }
                    found.insert(m.uid, p);
                }
                _ => {
                    foreign.insert(m.uid);
                }
            }
        }
        if found.len() >= want || Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    for uid in found.keys() {
        office.mark_processed(*uid).await.unwrap();
    }
    found.into_values().collect()
}

pub(super) struct Answers {
    pub(super) accettazione: Vec<PecReceipt>,
    pub(super) consegna: Vec<PecReceipt>,
    pub(super) controlli: Vec<(CertifiedMessage, EsitoAtto)>,
    pub(super) intervento: Vec<(CertifiedMessage, EsitoAtto)>,
}

pub(super) fn sort(answers: Vec<ParsedMessage>) -> Answers {
    let mut a = Answers {
        accettazione: vec![],
        consegna: vec![],
        controlli: vec![],
        intervento: vec![],
    };
    for p in answers {
        match p {
            ParsedMessage::Receipt(r) if r.kind == PecKind::Accettazione => a.accettazione.push(r),
            ParsedMessage::Receipt(r) if r.kind == PecKind::AvvenutaConsegna => a.consegna.push(r),
            ParsedMessage::Certified(c) => {
                assert_eq!(c.transport, TransportKind::PostaCertificata);
                let court = c.court.clone().expect("court content");
                let CourtContent::Esito(e) = court.content else {
                    panic!("not an esito: {court:?}")
                };
                match court.kind {
                    CourtMessageKind::EsitoControlliAutomatici => a.controlli.push((c, e)),
                    CourtMessageKind::EsitoInterventoUfficio => a.intervento.push((c, e)),
                    other => panic!("unexpected court message kind {other:?}"),
                }
            }
            other => panic!("unexpected message: {other:?}"),
        }
    }
    a
}

/// Checks the two provider receipts; returns the deposit's identificativo.
pub(super) fn check_receipts(s: &PecEnv, d: &DepositMessage, a: &Answers) -> String {
    let subject = format!("DEPOSITO {}", d.description);
    assert_eq!(a.accettazione.len(), 1, "one accettazione");
    assert_eq!(a.consegna.len(), 1, "one avvenuta-consegna");
    let rda = &a.accettazione[0];
    let rdac = &a.consegna[0];
    let ident = rda.daticert.identificativo.clone().expect("identificativo");
    for r in [rda, rdac] {
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
        assert_eq!(r.x_ricevuta.as_deref(), Some(r.kind.as_str()));
        assert_eq!(
            r.referenced_message_id.as_deref(),
            Some(d.message_id.as_str())
        );
        assert_eq!(r.daticert.msgid.as_deref(), Some(d.message_id.as_str()));
        assert_eq!(r.daticert.identificativo.as_deref(), Some(ident.as_str()));
        assert_eq!(r.daticert.errore, "nessuno");
        assert_eq!(r.daticert.mittente.as_deref(), Some(office(s).as_str()));
        assert_eq!(r.daticert.destinatari.len(), 1);
        assert_eq!(r.daticert.destinatari[0].address, court(s));
        assert_eq!(r.daticert.oggetto.as_deref(), Some(subject.as_str()));
        assert!(r.daticert.data.as_ref().unwrap().instant.is_some());
        // The receipt's own id is the provider's, not the deposit's.
        assert_ne!(r.message_id.as_deref(), Some(d.message_id.as_str()));
    }
    assert_eq!(
        rda.subject.as_deref(),
        Some(format!("ACCETTAZIONE: {subject}").as_str())
    );
    assert_eq!(
        rdac.subject.as_deref(),
        Some(format!("CONSEGNA: {subject}").as_str())
    );
    assert_eq!(rdac.daticert.consegna.as_deref(), Some(court(s).as_str()));
    assert_eq!(rdac.daticert.ricevuta.as_deref(), Some("completa"));
    ident
}

/// Checks a court message (busta di trasporto around the court's PEC).
pub(super) fn check_court(
    s: &PecEnv,
    d: &DepositMessage,
    ident: &str,
    (c, e): &(CertifiedMessage, EsitoAtto),
    subject_prefix: &str,
) -> String {
    let subject = format!("{subject_prefix} DEPOSITO {}", d.description);
    let dc = c.daticert.as_ref().expect("daticert");
    assert_eq!(dc.kind, PecKind::PostaCertificata);
    assert_eq!(dc.mittente.as_deref(), Some(court(s).as_str()));
    assert_eq!(dc.oggetto.as_deref(), Some(subject.as_str()));
    assert_eq!(
        c.subject.as_deref(),
        Some(format!("POSTA CERTIFICATA: {subject}").as_str())
    );
    let inner = c.inner.as_ref().expect("postacert.eml");
    assert_eq!(inner.subject.as_deref(), Some(subject.as_str()));
    assert_eq!(inner.from.as_deref(), Some(court(s).as_str()));
    assert_eq!(inner.attachment_names, vec!["EsitoAtto.xml".to_owned()]);
    let court = c.court.as_ref().unwrap();
    assert_eq!(court.file_name, "EsitoAtto.xml");
    assert_eq!(
        court.correlation.deposit_message_id.as_deref(),
        Some(d.message_id.as_str())
    );
    assert_eq!(
        court.correlation.provider_message_id.as_deref(),
        Some(ident)
    );
    assert_eq!(
        court.correlation.deposit_subject.as_deref(),
        Some(format!("DEPOSITO {}", d.description).as_str())
    );
    let body = court.body_text.as_deref().unwrap_or_default();
    assert!(
        body.contains(&format!("Codice esito: {}", e.codice_esito)),
        "{body}"
    );
    assert_eq!(e.impronta.as_ref().map(|i| i.tipo.as_str()), Some("File"));
    assert!(e.data.is_some() && e.ora.is_some() && e.zona.is_some());
    court.correlation.id_busta.clone().expect("IDBUSTA")
}

pub(super) fn run_json(stdout: &str) -> Vec<serde_json::Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}
