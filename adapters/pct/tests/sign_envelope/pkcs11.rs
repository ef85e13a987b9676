use super::*;

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
            "pkcs11::pkcs11_signer_in_softhsm_child",
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
