use super::*;

#[test]
fn signature_verifies_with_openssl_and_has_the_cades_attributes() {
    let pki = Pki::new();
    let content = b"DatiAtto di prova \xe2\x82\xac\r\n\x00binary\xff".to_vec();
    let p7m = pki.signer().sign_cades(&content).unwrap();
    pki.write("x.p7m", &p7m);

    pki.verify_with_openssl("x.p7m", "x.out");
    assert_eq!(pki.read("x.out"), content);

    let printed = pki.print_cms("x.p7m");
    for expected in [
        "pkcs7-signedData",
        "id-smime-aa-signingCertificateV2",
        "contentType (1.2.840.113549.1.9.3)",
        "messageDigest (1.2.840.113549.1.9.4)",
        "signingTime (1.2.840.113549.1.9.5)",
        "algorithm: sha256 (2.16.840.1.101.3.4.2.1)",
        "sha256WithRSAEncryption",
        "CN=Mario Rossi",
    ] {
        assert!(printed.contains(expected), "missing {expected}:\n{printed}");
    }
    // The SignerInfo itself: SHA-256 and sha256WithRSAEncryption (not the
    // bare rsaEncryption that OpenSSL's own CMS signer writes).
    let signer_info = &printed[printed.find("signerInfos:").unwrap()..];
    let after = |label: &str| {
        let at = signer_info.find(label).unwrap();
        signer_info[at..].lines().nth(1).unwrap().trim().to_owned()
    };
    assert_eq!(
        after("digestAlgorithm:"),
        "algorithm: sha256 (2.16.840.1.101.3.4.2.1)"
    );
    assert_eq!(
        after("signatureAlgorithm:"),
        "algorithm: sha256WithRSAEncryption (1.2.840.113549.1.1.11)"
    );
    // No revocation data: the crls field is absent and nothing like it is
    // anywhere else.
    let crls = printed.find("crls:").unwrap();
    assert!(
        printed[crls..]
            .trim_start_matches("crls:")
            .trim_start()
            .starts_with("<ABSENT>")
    );
    assert!(!printed.contains("otherRevInfo"));
    assert!(!printed.contains("d.crl"));
    // Nothing but the four CAdES-BES attributes is signed (no S/MIME
    // capabilities).
    assert!(!printed.contains("S/MIME Capabilities"));
    // Content attached.
    assert!(find(&p7m, &content).is_some());
}

#[test]
fn own_verifier_returns_the_signer_and_rejects_tampering() {
    let pki = Pki::new();
    let content = b"ricorso per amministrazione di sostegno".to_vec();
    let p7m = pki.signer().sign_cades(&content).unwrap();

    let verified = verify_cades(&p7m, &pki.trust()).unwrap();
    assert_eq!(verified.content, content);
    assert_eq!(verified.signers.len(), 1);
    let signer = &verified.signers[0];
    assert!(
        signer.subject.contains("CN=Mario Rossi"),
        "{}",
        signer.subject
    );
    assert!(signer.signing_time.is_some());
    assert_eq!(
        signer.certificate,
        SignerCert::from_bytes(&pki.read("signer.pem")).unwrap()
    );

    // One byte of the content changed.
    let mut tampered = p7m.clone();
    let at = find(&tampered, &content).unwrap();
    tampered[at] ^= 0x01;
    assert!(matches!(
        verify_cades(&tampered, &pki.trust()),
        Err(VerifyError::Invalid(_))
    ));

    // A CA we do not trust.
    let other = TrustAnchors::from_pem_bundle(&pki.read("otherca.pem")).unwrap();
    assert!(matches!(
        verify_cades(&p7m, &other),
        Err(VerifyError::Invalid(_))
    ));

    // Not CMS at all.
    assert!(matches!(
        verify_cades(b"not a p7m", &pki.trust()),
        Err(VerifyError::Malformed)
    ));
}

#[test]
fn own_verifier_checks_the_pct_profile_on_openssl_made_signatures() {
    let pki = Pki::new();
    pki.write("doc.txt", b"atto firmato dalla riga di comando");
    let sign = |extra: &[&str], out: &str| {
        let mut args = vec![
            "cms",
            "-sign",
            "-binary",
            "-nodetach",
            "-md",
            "sha256",
            "-outform",
            "DER",
            "-in",
            "doc.txt",
            "-signer",
            "signer.pem",
            "-inkey",
            "signer.key",
            "-out",
            out,
        ];
        args.extend_from_slice(extra);
        pki.openssl(&args);
        pki.read(out)
    };

    // The reference recipe: accepted by our verifier.
    let cades = sign(&["-cades"], "cades.p7m");
    let verified = verify_cades(&cades, &pki.trust()).unwrap();
    assert_eq!(verified.content, b"atto firmato dalla riga di comando");

    // Plain CMS without ESS signing-certificate-v2: "firma non riconosciuta".
    let plain = sign(&[], "plain.p7m");
    assert!(matches!(
        verify_cades(&plain, &pki.trust()),
        Err(VerifyError::SigningCertificateV2Missing)
    ));
}

#[test]
fn file_signer_reads_pkcs12_der_and_refuses_mismatches() {
    let pki = Pki::new();
    let p12 = FileSigner::from_pkcs12(&pki.read("signer.p12"), "segreto").unwrap();
    let p7m = p12.sign_cades(b"da pkcs12").unwrap();
    pki.write("p12.p7m", &p7m);
    pki.verify_with_openssl("p12.p7m", "p12.out");
    assert_eq!(pki.read("p12.out"), b"da pkcs12");
    // The CA certificate from the bundle rides along as the chain.
    assert!(pki.print_cms("p12.p7m").contains("CN=Ponte Test Root"));

    assert!(matches!(
        FileSigner::from_pkcs12(&pki.read("signer.p12"), "sbagliata"),
        Err(SignError::InvalidPkcs12(_))
    ));

    // DER inputs, through the typed wrappers.
    pki.openssl(&[
        "pkcs8",
        "-topk8",
        "-nocrypt",
        "-in",
        "signer.key",
        "-outform",
        "DER",
        "-out",
        "signer.der",
    ]);
    pki.openssl(&[
        "x509",
        "-in",
        "signer.pem",
        "-outform",
        "DER",
        "-out",
        "signer.crt",
    ]);
    let key = SigningKey::from_der(&pki.read("signer.der")).unwrap();
    let cert = SignerCert::from_der(&pki.read("signer.crt")).unwrap();
    let der = FileSigner::new(&key, &cert, &[]).unwrap();
    assert!(verify_cades(&der.sign_cades(b"der").unwrap(), &pki.trust()).is_ok());
    assert!(!format!("{key:?}").contains("BEGIN"));

    // The court's key with the signer's certificate.
    assert!(matches!(
        FileSigner::from_key_and_cert(&pki.read("court.key"), &pki.read("signer.pem")),
        Err(SignError::KeyCertMismatch)
    ));
    assert!(matches!(
        SigningKey::from_bytes(b"garbage"),
        Err(SignError::InvalidKey(_))
    ));
}
