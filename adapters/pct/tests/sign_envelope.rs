//! CAdES-BES signatures and the Atto.msg / Atto.enc envelope, checked with an
//! independent implementation: the `openssl` command line. Keys are made at
//! test time (a CA, an RSA-2048 signer, an RSA-2048 court encryption
//! certificate); nothing is checked in.
#![allow(clippy::unwrap_used, missing_docs)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ponte_pct::envelope::{
    self, CourtDecryptionKey, CourtRecipientCert, ENVELOPE_LIMIT, Error, MimeFault, Part,
};
use ponte_pct::sign::{
    FileSigner, Pkcs11Object, Pkcs11Signer, SignError, Signer, SignerCert, SigningKey,
    TrustAnchors, VerifyError, verify_cades,
};
use tempfile::TempDir;

/// A throw-away PKI in a temporary folder.
struct Pki {
    dir: TempDir,
}

impl Pki {
    fn new() -> Self {
        let pki = Self {
            dir: tempfile::tempdir().unwrap(),
        };
        pki.generate();
        pki
    }

    fn generate(&self) {
        let pki = self;
        pki.write(
            "signer.ext",
            b"basicConstraints=CA:FALSE\n\
              keyUsage=critical,nonRepudiation,digitalSignature\n\
              subjectKeyIdentifier=hash\n\
              authorityKeyIdentifier=keyid\n",
        );
        pki.write(
            "court.ext",
            b"basicConstraints=CA:FALSE\n\
              keyUsage=critical,keyEncipherment,dataEncipherment\n\
              subjectKeyIdentifier=hash\n\
              authorityKeyIdentifier=keyid\n",
        );
        pki.ca("ca", "/C=IT/O=Ponte Test CA/CN=Ponte Test Root");
        pki.ca("otherca", "/C=IT/O=Someone Else/CN=Other Root");
        pki.leaf(
            "signer",
            "/C=IT/O=Sportello di prossimita/CN=Mario Rossi/serialNumber=TINIT-RSSMRA80A01H501U",
            "signer.ext",
        );
        pki.leaf(
            "court",
            "/C=IT/O=Ministero della Giustizia/CN=Tribunale di Genova cifratura",
            "court.ext",
        );
        pki.openssl(&[
            "pkcs12",
            "-export",
            "-inkey",
            "signer.key",
            "-in",
            "signer.pem",
            "-certfile",
            "ca.pem",
            "-passout",
            "pass:segreto",
            "-out",
            "signer.p12",
        ]);
    }

    fn ca(&self, name: &str, subject: &str) {
        self.openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.pem"),
            "-days",
            "30",
            "-subj",
            subject,
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
    }

    fn leaf(&self, name: &str, subject: &str, ext: &str) {
        self.openssl(&[
            "req",
            "-new",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.csr"),
            "-subj",
            subject,
        ]);
        self.openssl(&[
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "30",
            "-extfile",
            ext,
            "-out",
            &format!("{name}.pem"),
        ]);
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn read(&self, name: &str) -> Vec<u8> {
        fs::read(self.path(name)).unwrap()
    }

    fn write(&self, name: &str, bytes: &[u8]) {
        fs::write(self.path(name), bytes).unwrap();
    }

    /// Runs `openssl` in the PKI folder and insists that it succeeds.
    fn openssl(&self, args: &[&str]) -> Output {
        openssl_in(self.dir.path(), args)
    }

    fn signer(&self) -> FileSigner {
        FileSigner::from_key_and_cert(&self.read("signer.key"), &self.read("signer.pem")).unwrap()
    }

    fn trust(&self) -> TrustAnchors {
        TrustAnchors::from_pem_bundle(&self.read("ca.pem")).unwrap()
    }

    fn court_cert(&self) -> CourtRecipientCert {
        CourtRecipientCert::from_bytes(&self.read("court.pem")).unwrap()
    }

    fn court_key(&self) -> CourtDecryptionKey {
        CourtDecryptionKey::from_bytes(&self.read("court.key")).unwrap()
    }

    /// `openssl cms -cmsout -print` of a DER file in the folder.
    fn print_cms(&self, name: &str) -> String {
        print_cms_in(self.dir.path(), name)
    }

    /// `openssl cms -verify` of the DER signature `p7m` against `ca.pem`,
    /// the signed content written to `out`.
    fn verify_with_openssl(&self, p7m: &str, out: &str) {
        verify_with_openssl_in(self.dir.path(), p7m, out);
    }

    /// The court's way of opening an envelope: `openssl cms -decrypt` of the
    /// DER `enc` with `court.pem` and `court.key`, written to `out`.
    fn decrypt_as_court(&self, enc: &str, out: &str) {
        self.openssl(&[
            "cms",
            "-decrypt",
            "-inform",
            "DER",
            "-in",
            enc,
            "-recip",
            "court.pem",
            "-inkey",
            "court.key",
            "-out",
            out,
        ]);
    }
}

/// Runs `openssl` in `dir` and insists that it succeeds.
fn openssl_in(dir: &Path, args: &[&str]) -> Output {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `openssl cms -cmsout -print` of a DER file in `dir`.
fn print_cms_in(dir: &Path, name: &str) -> String {
    let out = openssl_in(
        dir,
        &["cms", "-cmsout", "-print", "-inform", "DER", "-in", name],
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `openssl cms -verify` of the DER signature `p7m` in `dir` against the
/// folder's `ca.pem`, the signed content written to `out`.
fn verify_with_openssl_in(dir: &Path, p7m: &str, out: &str) {
    openssl_in(
        dir,
        &[
            "cms", "-verify", "-inform", "DER", "-in", p7m, "-CAfile", "ca.pem", "-binary", "-out",
            out,
        ],
    );
}

fn filing_parts(signer: &FileSigner) -> Vec<Part> {
    let dati_atto =
        b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<RicorsoAmministrazioneSostegno/>\n";
    let ricorso = b"%PDF-1.7\n% not a real pdf, just bytes \x00\xff\xfe\n%%EOF\n";
    let indice = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
                  <IndiceBusta><Atto Nome=\"Ricorso.pdf.p7m\" ID=\"Ricorso\"/>\
                  <Allegato Nome=\"DatiAtto.xml.p7m\" ID=\"DatiAtto\" Tipo=\"DA\"/></IndiceBusta>\n";
    vec![
        Part {
            id: "DatiAtto".into(),
            filename: "DatiAtto.xml.p7m".into(),
            content_type: "application/pkcs7-mime".into(),
            bytes: signer.sign_cades(dati_atto).unwrap(),
        },
        Part {
            id: "Ricorso".into(),
            filename: "Ricorso.pdf.p7m".into(),
            content_type: "application/pkcs7-mime".into(),
            bytes: signer.sign_cades(ricorso).unwrap(),
        },
        Part {
            id: "IndiceBusta".into(),
            filename: "IndiceBusta.xml".into(),
            content_type: "text/xml".into(),
            bytes: indice.as_bytes().to_vec(),
        },
    ]
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

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

/// Where Debian's softhsm2 package puts the module.
const SOFTHSM_MODULES: &[&str] = &[
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
];
const CHILD_PKI: &str = "PONTE_PCT_TEST_PKI";
const CHILD_MODULE: &str = "PONTE_PCT_TEST_MODULE";
const CHILD_DONE: &str = "pkcs11 child: all checks done";

/// Puts the signer key on a fresh SoftHSM2 token and runs
/// [`pkcs11_signer_in_softhsm_child`] in a child process, because SoftHSM2
/// reads its configuration from the environment and tests must not change
/// their own.
#[test]
fn pkcs11_signer_on_softhsm() {
    let Some(module) = SOFTHSM_MODULES
        .iter()
        .find(|p| std::path::Path::new(p).exists())
    else {
        eprintln!(
            "SKIPPED pkcs11_signer_on_softhsm: SoftHSM2 is not installed \
             (Debian package softhsm2)"
        );
        return;
    };
    let pki = Pki::new();
    fs::create_dir(pki.path("tokens")).unwrap();
    pki.write(
        "softhsm2.conf",
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            pki.path("tokens").display()
        )
        .as_bytes(),
    );
    let conf = pki.path("softhsm2.conf");
    let softhsm = |args: &[&str]| {
        let out = Command::new("softhsm2-util")
            .args(args)
            .env("SOFTHSM2_CONF", &conf)
            .current_dir(pki.dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "softhsm2-util {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    softhsm(&[
        "--init-token",
        "--free",
        "--label",
        "ponte",
        "--pin",
        "1234",
        "--so-pin",
        "4321",
    ]);
    pki.openssl(&[
        "pkcs8",
        "-topk8",
        "-nocrypt",
        "-in",
        "signer.key",
        "-out",
        "signer.p8",
    ]);
    softhsm(&[
        "--import",
        "signer.p8",
        "--token",
        "ponte",
        "--label",
        "firma",
        "--id",
        "01",
        "--pin",
        "1234",
    ]);

    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "pkcs11_signer_in_softhsm_child",
            "--exact",
            "--include-ignored",
            "--nocapture",
        ])
        .env("SOFTHSM2_CONF", &conf)
        .env(CHILD_PKI, pki.dir.path())
        .env(CHILD_MODULE, module)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains(CHILD_DONE),
        "the softhsm child test failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
#[ignore = "run by pkcs11_signer_on_softhsm in a child process with SOFTHSM2_CONF set"]
fn pkcs11_signer_in_softhsm_child() {
    let (Ok(dir), Ok(module)) = (std::env::var(CHILD_PKI), std::env::var(CHILD_MODULE)) else {
        return;
    };
    let dir = PathBuf::from(dir);
    let read = |name: &str| fs::read(dir.join(name)).unwrap();
    let uri = format!("pkcs11:token=ponte;object=firma;type=private?module-path={module}");
    let cert = SignerCert::from_bytes(&read("signer.pem")).unwrap();

    // The token holds only the key so far.
    assert!(matches!(
        Pkcs11Signer::open(&uri, Some("1234")),
        Err(SignError::Pkcs11NotFound(Pkcs11Object::Certificate))
    ));
    assert!(matches!(
        Pkcs11Signer::open_with_certificate(&uri, Some("0000"), &cert),
        Err(SignError::Pkcs11Login(_))
    ));
    assert!(matches!(
        Pkcs11Signer::open_with_certificate(
            &format!("pkcs11:token=nessuno?module-path={module}"),
            Some("1234"),
            &cert
        ),
        Err(SignError::Pkcs11NotFound(Pkcs11Object::Token))
    ));
    let court = SignerCert::from_bytes(&read("court.pem")).unwrap();
    assert!(matches!(
        Pkcs11Signer::open_with_certificate(&uri, Some("1234"), &court),
        Err(SignError::KeyCertMismatch)
    ));

    // Sign with the certificate given, check with the openssl command line.
    let signer = Pkcs11Signer::open_with_certificate(&uri, Some("1234"), &cert).unwrap();
    let content = b"firmato su token pkcs#11";
    fs::write(dir.join("hsm.p7m"), signer.sign_cades(content).unwrap()).unwrap();
    verify_with_openssl_in(&dir, "hsm.p7m", "hsm.out");
    assert_eq!(read("hsm.out"), content);
    let printed = print_cms_in(&dir, "hsm.p7m");
    assert!(printed.contains("id-smime-aa-signingCertificateV2"));
    assert!(printed.contains("algorithm: sha256WithRSAEncryption (1.2.840.113549.1.1.11)"));
    let trust = TrustAnchors::from_pem_bundle(&read("ca.pem")).unwrap();
    let verified = verify_cades(&read("hsm.p7m"), &trust).unwrap();
    assert!(verified.signers[0].subject.contains("CN=Mario Rossi"));
    drop(signer);

    // Store the certificate on the token next to the key (same CKA_ID), as a
    // smart card has it; then the URI alone is enough.
    store_certificate_on_token(&module, &read("signer.pem"));
    let signer = Pkcs11Signer::open(&uri, Some("1234")).unwrap();
    assert_eq!(signer.certificate().unwrap(), cert);
    let p7m = signer.sign_cades(b"seconda firma").unwrap();
    assert_eq!(
        verify_cades(&p7m, &trust).unwrap().content,
        b"seconda firma"
    );
    println!("{CHILD_DONE}");
}

fn store_certificate_on_token(module: &str, pem: &[u8]) {
    use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
    use cryptoki::object::{Attribute, CertificateType, ObjectClass};
    use cryptoki::session::UserType;
    use cryptoki::types::AuthPin;

    let x509 = openssl::x509::X509::from_pem(pem).unwrap();
    let ctx = Pkcs11::new(module).unwrap();
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) => {}
        Err(cryptoki::error::Error::Pkcs11(
            cryptoki::error::RvError::CryptokiAlreadyInitialized,
            _,
        )) => {}
        Err(err) => panic!("{err}"),
    }
    let slot = ctx.get_slots_with_token().unwrap()[0];
    let session = ctx.open_rw_session(slot).unwrap();
    match session.login(UserType::User, Some(&AuthPin::from("1234".to_owned()))) {
        Ok(()) => {}
        Err(cryptoki::error::Error::Pkcs11(cryptoki::error::RvError::UserAlreadyLoggedIn, _)) => {}
        Err(err) => panic!("{err}"),
    }
    session
        .create_object(&[
            Attribute::Class(ObjectClass::CERTIFICATE),
            Attribute::CertificateType(CertificateType::X_509),
            Attribute::Token(true),
            Attribute::Id(vec![0x01]),
            Attribute::Label(b"firma".to_vec()),
            Attribute::Subject(x509.subject_name().to_der().unwrap()),
            Attribute::Value(x509.to_der().unwrap()),
        ])
        .unwrap();
}
