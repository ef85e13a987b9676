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

mod atto_envelope;
mod pkcs11;
mod signatures;
