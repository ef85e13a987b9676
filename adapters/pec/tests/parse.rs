//! The receipt and court-message parser on the public samples in
//! shared/pec/samples and on hand-made court messages.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use ponte_pec::parse::{MAX_MESSAGE_BYTES, daticert_from_xml};
use ponte_pec::{
    CourtContent, CourtMessageKind, EsitoOutcome, MessageId, ParseError, ParsedMessage, PecKind,
    TransportKind, parse_message,
};

fn read(name: &str) -> Vec<u8> {
    let p = common::samples().join(name);
    std::fs::read(&p)
        .unwrap_or_else(|e| panic!("sample {} missing ({e}); set PONTE_SHARED", p.display()))
}

fn receipt(raw: &[u8]) -> ponte_pec::PecReceipt {
    match parse_message(raw).unwrap() {
        ParsedMessage::Receipt(r) => r,
        other => panic!("not a receipt: {other:?}"),
    }
}

#[test]
fn sample_accettazione() {
    let r = receipt(&read("eml/accettazione.eml"));
    assert_eq!(r.kind, PecKind::Accettazione);
    assert_eq!(r.x_ricevuta.as_deref(), Some("accettazione"));
    let id = "SN05IE$951DEC16C1CFD3E4FD8FF1B1D24A99AE@fakepec.it";
    assert_eq!(r.referenced_message_id.as_deref(), Some(id));
    assert_eq!(r.daticert.msgid.as_deref(), Some(id));
    assert!(r.refers_to(&MessageId::parse(id).unwrap()));
    assert_eq!(
        r.daticert.identificativo.as_deref(),
        Some("opec210312.20241115182038.288127.606.1.53@fakepec.it")
    );
    assert_eq!(
        r.daticert.gestore_emittente.as_deref(),
        Some("FAKEPEC PEC S.p.A.")
    );
    let data = r.daticert.data.as_ref().unwrap();
    assert_eq!(
        (data.giorno.as_str(), data.ora.as_str(), data.zona.as_str()),
        ("15/11/2024", "18:20:38", "+0100")
    );
    assert_eq!(data.instant.unwrap().unix_timestamp(), 1_731_691_238);
    assert_eq!(r.daticert.errore, "nessuno");
    assert_eq!(r.daticert.destinatari[0].address, "rec@fakepec.it");
    assert_eq!(
        r.daticert.destinatari[0].tipo.as_deref(),
        Some("certificato")
    );
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
}

#[test]
fn sample_errore_consegna() {
    let r = receipt(&read("eml/errore-consegna.eml"));
    assert_eq!(r.kind, PecKind::ErroreConsegna);
    assert!(r.kind.is_failure());
    assert_eq!(r.daticert.errore, "no-dest");
    assert_eq!(r.daticert.consegna.as_deref(), Some("rec@fakepec.it"));
    assert_eq!(
        r.daticert.errore_esteso.as_deref(),
        Some("5.1.1 - FAKE Pec S.p.A. - indirizzo non valido")
    );
    // The fixture's header and msgid disagree (different domains): both
    // are kept, and the mismatch is reported.
    assert_eq!(
        r.referenced_message_id.as_deref(),
        Some("SN05IE$951DEC16C1CFD3E4FD8FF1B1D24A99AE@pec.it")
    );
    assert_eq!(
        r.original_message_id(),
        Some("SN05IE$951DEC16C1CFD3E4FD8FF1B1D24A99AE@fakepec.it")
    );
    assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
}

#[test]
fn sample_avvenuta_consegna() {
    let r = receipt(&read("eml/avvenuta-consegna.eml"));
    assert_eq!(r.kind, PecKind::AvvenutaConsegna);
    assert_eq!(r.daticert.ricevuta.as_deref(), Some("completa"));
    assert_eq!(r.daticert.consegna.as_deref(), Some("example.example.com"));
    assert_eq!(
        r.original_message_id(),
        Some("CZPXCJRZKQDRVYXFAZYUIAWNACDAAHEVAEXAKN@example.com")
    );
    assert_eq!(r.daticert.data.as_ref().unwrap().zona, "+0200");
}

#[test]
fn sample_posta_certificata() {
    let ParsedMessage::Certified(c) = parse_message(&read("eml/posta-certificata.eml")).unwrap()
    else {
        panic!("not a transport envelope");
    };
    assert_eq!(c.transport, TransportKind::PostaCertificata);
    let d = c.daticert.as_ref().unwrap();
    assert_eq!(d.kind, PecKind::PostaCertificata);
    assert_eq!(d.oggetto.as_deref(), Some("POSTA CERTIFICATA: SUBJECT"));
    let inner = c.inner.as_ref().unwrap();
    assert_eq!(inner.subject.as_deref(), Some("POSTA CERTIFICATA: SUBJECT"));
    assert!(c.court.is_none());
}

#[test]
fn sample_daticert_files() {
    for (file, kind) in [
        ("accettazione.daticert.xml", PecKind::Accettazione),
        ("avvenuta-consegna.daticert.xml", PecKind::AvvenutaConsegna),
        ("errore-consegna.daticert.xml", PecKind::ErroreConsegna),
        ("posta-certificata.daticert.xml", PecKind::PostaCertificata),
    ] {
        let d = daticert_from_xml(&read(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(d.kind, kind, "{file}");
        assert!(d.identificativo.is_some() && d.msgid.is_some(), "{file}");
    }
}

#[test]
fn every_receipt_kind_round_trips() {
    for kind in PecKind::ALL {
        if kind == PecKind::PostaCertificata {
            continue;
        }
        let raw = common::receipt(
            kind.as_str(),
            "dep-1@pec.ponte.test",
            "opec.77",
            "DEPOSITO x",
            None,
        );
        let r = receipt(&raw);
        assert_eq!(r.kind, kind);
        assert_eq!(r.original_message_id(), Some("dep-1@pec.ponte.test"));
        assert!(r.warnings.is_empty(), "{kind:?}: {:?}", r.warnings);
    }
}

#[test]
fn esito_controlli_automatici() {
    let subject = "ESITO CONTROLLI AUTOMATICI DEPOSITO Ricorso AdS";
    let xml = common::esito_xml(
        "dep-1@pec.ponte.test",
        "opec.77@pec.ponte.test",
        "-1",
        "IDBUSTA: 35508878 NOME FILE: DatiAtto.xml.p7m Atto non conforme alle specifiche; l'atto verrà comunque accettato",
        None,
    );
    let inner = common::court_inner(
        subject,
        "Codice esito: -1\r\nDescrizione esito: ...",
        "EsitoAtto.xml",
        &xml,
    );
    let parsed = parse_message(&common::court_envelope(subject, &inner)).unwrap();
    let court = parsed.court().expect("court content");
    assert_eq!(court.kind, CourtMessageKind::EsitoControlliAutomatici);
    assert_eq!(court.file_name, "EsitoAtto.xml");
    assert_eq!(
        court.correlation.deposit_message_id.as_deref(),
        Some("dep-1@pec.ponte.test")
    );
    assert_eq!(
        court.correlation.provider_message_id.as_deref(),
        Some("opec.77@pec.ponte.test")
    );
    assert_eq!(court.correlation.id_busta.as_deref(), Some("35508878"));
    assert_eq!(
        court.correlation.deposit_subject.as_deref(),
        Some("DEPOSITO Ricorso AdS")
    );
    let CourtContent::Esito(e) = &court.content else {
        panic!()
    };
    assert_eq!(e.outcome(), EsitoOutcome::Negative);
    assert!(e.descrizione_esito.contains("verrà comunque"));
    assert_eq!(e.impronta.as_ref().unwrap().tipo, "File");
    assert_eq!(e.zona.as_deref(), Some("+0100"));
}

#[test]
fn esito_intervento_ufficio_with_case_number() {
    let subject = "ACCETTAZIONE DEPOSITO Ricorso AdS";
    let xml = common::esito_xml(
        "dep-1@pec.ponte.test",
        "opec.77",
        "2",
        "Accettazione avvenuta con successo",
        Some("1234/2025"),
    );
    let inner = common::court_inner(subject, "Codice esito: 2", "EsitoAtto.xml", &xml);
    let parsed = parse_message(&common::court_envelope(subject, &inner)).unwrap();
    let court = parsed.court().unwrap();
    assert_eq!(court.kind, CourtMessageKind::EsitoInterventoUfficio);
    let CourtContent::Esito(e) = &court.content else {
        panic!()
    };
    assert_eq!(e.outcome(), EsitoOutcome::Positive);
    assert_eq!(e.numero_ruolo.as_deref(), Some("1234/2025"));
}

#[test]
fn eccezione_and_comunicazione() {
    let xml = "<?xml version=\"1.0\"?><Eccezione><IdMsgSMTP>&lt;dep-1@pec.ponte.test&gt;</IdMsgSMTP><IdMsgPdA><CodicePdA>X</CodicePdA><Anno>2025</Anno><IdMsg>opec.77</IdMsg></IdMsgPdA><DatiEccezione><CodiceEccezione>T001</CodiceEccezione><DescrizioneEccezione>Mittente non presente in ReGIndE</DescrizioneEccezione></DatiEccezione></Eccezione>";
    let inner = common::court_inner("ECCEZIONE DEPOSITO x", "", "Eccezione.xml", xml);
    let parsed = parse_message(&common::court_envelope("ECCEZIONE DEPOSITO x", &inner)).unwrap();
    let court = parsed.court().unwrap();
    assert_eq!(court.kind, CourtMessageKind::Eccezione);
    assert_eq!(
        court.correlation.deposit_message_id.as_deref(),
        Some("dep-1@pec.ponte.test")
    );
    let CourtContent::Eccezione(e) = &court.content else {
        panic!()
    };
    assert_eq!(e.codice_eccezione, "T001");

    let xml = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><Comunicazione><NumeroRuolo>1234/2025</NumeroRuolo><Oggetto>Decreto</Oggetto><Contenuto>Si comunica il decreto</Contenuto><CodiceUG>0100070099</CodiceUG><CodiceFiscaleDestinatario>00000000000</CodiceFiscaleDestinatario></Comunicazione>";
    let inner = common::court_inner("Comunicazione di cancelleria", "", "Comunicazione.xml", xml);
    let parsed = parse_message(&common::court_envelope(
        "Comunicazione di cancelleria",
        &inner,
    ))
    .unwrap();
    let court = parsed.court().unwrap();
    assert_eq!(court.kind, CourtMessageKind::Comunicazione);
    let CourtContent::Comunicazione(c) = &court.content else {
        panic!()
    };
    assert_eq!(c.numero_ruolo.as_deref(), Some("1234/2025"));
    assert_eq!(c.codice_ug.as_deref(), Some("0100070099"));
}

#[test]
fn hostile_and_broken_input() {
    // DOCTYPE with an entity in daticert.xml.
    let evil = "<?xml version=\"1.0\"?><!DOCTYPE postacert [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><postacert tipo=\"accettazione\"><dati><msgid>&x;</msgid></dati></postacert>";
    let raw = common::provider_message(
        "Subject: x\r\nX-Ricevuta: accettazione\r\n",
        "x",
        evil,
        None,
    );
    assert_eq!(
        parse_message(&raw).unwrap_err().code(),
        "daticert_xml_invalid"
    );
    // Unknown tipo.
    let bad = common::daticert("boh", "a@b", "c", "d", None);
    let raw = common::provider_message("Subject: x\r\nX-Ricevuta: boh\r\n", "x", &bad, None);
    assert_eq!(parse_message(&raw).unwrap_err().code(), "daticert_invalid");
    // A PEC header without daticert.
    let raw = b"Subject: ACCETTAZIONE: x\r\nX-Ricevuta: accettazione\r\n\r\nbody\r\n";
    assert_eq!(parse_message(raw).unwrap_err(), ParseError::MissingDaticert);
    // A court file that is not XML.
    let inner = common::court_inner(
        "ESITO CONTROLLI AUTOMATICI DEPOSITO x",
        "",
        "EsitoAtto.xml",
        "<EsitoAtto><oops",
    );
    let raw = common::court_envelope("ESITO CONTROLLI AUTOMATICI DEPOSITO x", &inner);
    assert_eq!(parse_message(&raw).unwrap_err().code(), "court_xml_invalid");
    // Not mail at all.
    assert!(parse_message(b"").is_err());
    assert!(parse_message(b"\x00\xff\xfe garbage").is_err());
    // Over the size limit (checked before parsing).
    let big = vec![b'a'; MAX_MESSAGE_BYTES + 1];
    assert_eq!(parse_message(&big).unwrap_err().code(), "message_too_large");
    // An ordinary mail.
    let plain =
        parse_message(b"From: a@b.it\r\nSubject: ciao\r\nMessage-ID: <m1@b.it>\r\n\r\nhello\r\n")
            .unwrap();
    assert!(matches!(plain, ParsedMessage::Other(ref o) if o.subject.as_deref() == Some("ciao")));
    assert_eq!(plain.message_id(), Some("m1@b.it"));
}

#[test]
fn truncations_never_panic() {
    let mut inputs = vec![
        read("eml/accettazione.eml"),
        read("eml/posta-certificata.eml"),
    ];
    let xml = common::esito_xml("d@x", "o", "1", "ok", None);
    let inner = common::court_inner(
        "ESITO CONTROLLI AUTOMATICI DEPOSITO x",
        "",
        "EsitoAtto.xml",
        &xml,
    );
    inputs.push(common::court_envelope(
        "ESITO CONTROLLI AUTOMATICI DEPOSITO x",
        &inner,
    ));
    for raw in inputs {
        for cut in (0..raw.len()).step_by(7) {
            let _ = parse_message(&raw[..cut]);
        }
        // Flip bytes too.
        let mut copy = raw.clone();
        for i in (0..copy.len()).step_by(13) {
            copy[i] ^= 0x5a;
            let _ = parse_message(&copy);
        }
    }
}
