use super::*;

#[test]
fn atto_msg_has_the_pct_part_headers() {
    let pki = Pki::new();
    let parts = filing_parts(&pki.signer());
    let msg = envelope::build_atto_msg(&parts).unwrap();
    assert_eq!(
        msg,
        envelope::build_atto_msg(&parts).unwrap(),
        "deterministic"
    );
    let text = String::from_utf8(msg).unwrap();
    assert!(text.starts_with("MIME-Version: 1.0\r\nContent-Type: multipart/mixed;"));
    for (part, ct) in parts.iter().zip([
        "application/pkcs7-mime",
        "application/pkcs7-mime",
        "text/xml",
    ]) {
        let name = &part.filename;
        let head = format!(
            "Content-Type: {ct}; name=\"{name}\"\r\n\
             Content-Transfer-Encoding: base64\r\n\
             Content-Disposition: attachment; filename=\"{name}\"\r\n\
             Content-ID: <{id}>\r\n\r\n",
            id = part.id
        );
        assert!(text.contains(&head), "missing headers for {name}:\n{text}");
    }
    assert!(text.lines().all(|l| l.len() <= 76));
    assert!(!text.replace("\r\n", "").contains('\n'), "bare LF");
}

#[test]
fn envelope_decrypts_with_openssl_and_round_trips_through_open() {
    let pki = Pki::new();
    let parts = filing_parts(&pki.signer());
    let msg = envelope::build_atto_msg(&parts).unwrap();
    let enc = envelope::seal(&msg, &pki.court_cert()).unwrap();
    pki.write("Atto.enc", &enc);

    // The court's way of opening it.
    pki.decrypt_as_court("Atto.enc", "Atto.msg");
    assert_eq!(pki.read("Atto.msg"), msg);

    let printed = pki.print_cms("Atto.enc");
    assert!(printed.contains("pkcs7-envelopedData"));
    assert!(printed.contains("aes-256-cbc (2.16.840.1.101.3.4.1.42)"));
    assert_eq!(printed.matches("d.ktri:").count(), 1, "{printed}");
    assert_eq!(printed.matches("recipientInfos:").count(), 1);
    assert!(printed.contains("CN=Ponte Test Root"), "court cert issuer");

    // Our own court side.
    let opened = envelope::open(&enc, &pki.court_cert(), &pki.court_key()).unwrap();
    assert_eq!(opened.atto_msg, msg);
    assert_eq!(opened.parts, parts);
    let checks = opened.verify(&pki.trust());
    assert_eq!(checks.len(), 2);
    for (check, id) in checks.iter().zip(["DatiAtto", "Ricorso"]) {
        assert_eq!(check.id, id);
        let verified = check.outcome.as_ref().unwrap();
        assert!(verified.signers[0].subject.contains("CN=Mario Rossi"));
    }

    // A key that is not the court's cannot open it.
    let signer_key = CourtDecryptionKey::from_bytes(&pki.read("signer.key")).unwrap();
    let signer_cert = CourtRecipientCert::from_bytes(&pki.read("signer.pem")).unwrap();
    assert!(matches!(
        envelope::open(&enc, &signer_cert, &signer_key),
        Err(Error::Decrypt(_))
    ));
}

#[test]
fn open_reads_the_reference_openssl_envelope() {
    let pki = Pki::new();
    let parts = filing_parts(&pki.signer());
    let msg = envelope::build_atto_msg(&parts).unwrap();
    pki.write("Atto.msg", &msg);
    pki.openssl(&[
        "cms",
        "-encrypt",
        "-aes-256-cbc",
        "-binary",
        "-outform",
        "DER",
        "-in",
        "Atto.msg",
        "-out",
        "ref.enc",
        "court.pem",
    ]);
    let opened = envelope::open(&pki.read("ref.enc"), &pki.court_cert(), &pki.court_key()).unwrap();
    assert_eq!(opened.parts, parts);
}

#[test]
fn a_tampered_signed_part_fails_verification() {
    let pki = Pki::new();
    let mut parts = filing_parts(&pki.signer());
    let pdf_start = find(&parts[1].bytes, b"%PDF").unwrap();
    parts[1].bytes[pdf_start + 5] ^= 0x20;
    let msg = envelope::build_atto_msg(&parts).unwrap();
    let enc = envelope::seal(&msg, &pki.court_cert()).unwrap();

    let opened = envelope::open(&enc, &pki.court_cert(), &pki.court_key()).unwrap();
    let checks = opened.verify(&pki.trust());
    assert!(checks[0].outcome.is_ok(), "DatiAtto untouched");
    assert_eq!(checks[1].filename, "Ricorso.pdf.p7m");
    assert!(matches!(checks[1].outcome, Err(VerifyError::Invalid(_))));
}

#[test]
fn envelopes_over_60_mib_are_refused() {
    let pki = Pki::new();
    let big = Part {
        id: "Allegato1".into(),
        filename: "Perizia.pdf".into(),
        content_type: "application/pdf".into(),
        bytes: vec![0x25; 61 * 1024 * 1024],
    };
    let msg = envelope::build_atto_msg(&[big]).unwrap();
    match envelope::seal(&msg, &pki.court_cert()) {
        Err(Error::TooLarge { size, limit }) => {
            assert_eq!(limit, 60 * 1024 * 1024);
            assert_eq!(limit, ENVELOPE_LIMIT);
            assert!(size > limit);
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }

    // Atto.msg just under the limit, Atto.enc just over: refused after
    // encryption, with the real size.
    let small = vec![b'a'; 1000];
    match envelope::seal_with_limit(&small, &pki.court_cert(), 1000) {
        Err(Error::TooLarge { size, limit: 1000 }) => assert!(size > 1000),
        other => panic!("expected TooLarge, got {other:?}"),
    }
    let enc = envelope::seal_with_limit(&small, &pki.court_cert(), 4096).unwrap();
    assert!(enc.len() <= 4096);
}

#[test]
fn bad_parts_are_refused() {
    let part = |id: &str, filename: &str, ct: &str| Part {
        id: id.into(),
        filename: filename.into(),
        content_type: ct.into(),
        bytes: b"x".to_vec(),
    };
    let build = envelope::build_atto_msg;
    assert!(matches!(build(&[]), Err(Error::NoParts)));
    assert!(matches!(
        build(&[part("1a", "a.pdf", "application/pdf")]),
        Err(Error::InvalidPartId { index: 0 })
    ));
    assert!(matches!(
        build(&[
            part("a", "a.pdf", "application/pdf"),
            part("b", "atto finale.pdf", "application/pdf")
        ]),
        Err(Error::InvalidFilename { index: 1 })
    ));
    assert!(matches!(
        build(&[part("a", "a.pdf", "application/pdf; x=\"y\"")]),
        Err(Error::InvalidContentType { index: 0 })
    ));
    assert!(matches!(
        build(&[
            part("a", "a.pdf", "application/pdf"),
            part("a", "b.pdf", "application/pdf")
        ]),
        Err(Error::DuplicatePartId { index: 1 })
    ));
    assert!(matches!(
        build(&[
            part("a", "a.pdf", "application/pdf"),
            part("b", "A.PDF", "application/pdf")
        ]),
        Err(Error::DuplicateFilename { index: 1 })
    ));
}

#[test]
fn open_refuses_a_message_that_is_not_pct_shaped() {
    let not_mixed = b"MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nhello\r\n".to_vec();
    assert!(matches!(
        envelope::OpenedEnvelope::parse(not_mixed),
        Err(Error::MalformedMessage(MimeFault::NotMultipartMixed))
    ));
    let no_cid = b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
--b\r\nContent-Type: text/xml; name=\"a.xml\"\r\nContent-Transfer-Encoding: base64\r\n\
Content-Disposition: attachment; filename=\"a.xml\"\r\n\r\nPGEvPg==\r\n--b--\r\n"
        .to_vec();
    assert!(matches!(
        envelope::OpenedEnvelope::parse(no_cid),
        Err(Error::MalformedMessage(MimeFault::MissingContentId))
    ));
    let not_base64 = b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
--b\r\nContent-Type: text/xml; name=\"a.xml\"\r\nContent-Transfer-Encoding: 8bit\r\n\
Content-Disposition: attachment; filename=\"a.xml\"\r\nContent-ID: <a>\r\n\r\n<a/>\r\n--b--\r\n"
        .to_vec();
    assert!(matches!(
        envelope::OpenedEnvelope::parse(not_base64),
        Err(Error::MalformedMessage(MimeFault::BadEncoding))
    ));
}

#[test]
fn signers_can_be_shared_across_tasks() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<FileSigner>();
    assert_send_sync::<Box<dyn Signer>>();
}
