//! DatiAtto.xml and IndiceBusta.xml for every act Ponte files, checked by
//! `SchemaSet` and, independently, by `xmllint` (Debian `libxml2-utils`)
//! against the Ministry's schemas in `../shared/pct-xsd`.
//!
//! People and numbers are fictitious; the codici fiscali have valid check
//! characters.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use ponte_pct::Error;
use ponte_pct::datiatto::{self, Act, AttachmentKind, DatiAtto, IndexProblem, IstanzaKind};
use ponte_pct::xsd::{Root, SchemaSet, XsdError};

/// Tribunale di Genova.
pub(crate) const GENOVA: &str = "0100250093";

fn schema_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/pct-xsd")
}

/// One `SchemaSet` for the whole test binary: compiled once, shared by every
/// test thread (which is what the gateway does too).
fn schemas() -> &'static SchemaSet {
    static SCHEMAS: OnceLock<SchemaSet> = OnceLock::new();
    SCHEMAS.get_or_init(|| SchemaSet::load(schema_dir()).expect("the shared schemas compile"))
}

mod fixtures;

use fixtures::{istanza, relazione, rendiconto, ricorso, sostituzione, tso};

/// Writes the act, and requires both `SchemaSet` and `xmllint` to accept it
/// against its entry schema.
fn write_and_check(dati: &DatiAtto) -> String {
    let xml = datiatto::to_xml(dati).expect("the act is written");
    let root = dati.act.root();
    if let Err(error) = schemas().validate(root, &xml) {
        panic!("SchemaSet refused: {}\n{}", errors(&error), text(&xml));
    }
    let entry = match root {
        Root::Introduttivi => "Atti/sici/sicid_v7/Introduttivi.xsd",
        Root::Parte => "Atti/sici/sicid_v7/Parte.xsd",
    };
    let (ok, output) = xmllint(
        &["--schema", &schema_dir().join(entry).to_string_lossy()],
        &xml,
    );
    assert!(ok, "xmllint refused:\n{output}\n{}", text(&xml));

    let indice = datiatto::indice_busta_xml(&dati.attachments).expect("the index is written");
    check_indice_busta(&indice, true);
    text(&xml)
}

/// Requires `SchemaSet::validate_indice_busta` and `xmllint --dtdvalid` (the
/// published DTD itself) to agree, and to give `valid`.
fn check_indice_busta(xml: &[u8], valid: bool) {
    let ours = schemas().validate_indice_busta(xml);
    let dtd = schema_dir().join("DTD_20180328/IndiceBusta.dtd");
    let (theirs, output) = xmllint(&["--dtdvalid", &dtd.to_string_lossy()], xml);
    assert_eq!(
        ours.is_ok(),
        valid,
        "SchemaSet on:\n{}\n{ours:?}",
        text(xml)
    );
    assert_eq!(theirs, valid, "xmllint on:\n{}\n{output}", text(xml));
}

/// Runs `xmllint --noout <args> <file>` on `xml`; whether it accepted it,
/// and what it said.
fn xmllint(args: &[&str], xml: &[u8]) -> (bool, String) {
    let dir = tempfile::tempdir().expect("temporary folder");
    let file = dir.path().join("document.xml");
    std::fs::write(&file, xml).expect("document written");
    let output = Command::new("xmllint")
        .arg("--noout")
        .args(args)
        .arg(&file)
        .output()
        .expect("xmllint runs (Debian package libxml2-utils)");
    let said = String::from_utf8_lossy(&output.stderr).into_owned();
    (output.status.success(), said)
}

fn text(xml: &[u8]) -> String {
    String::from_utf8(xml.to_vec()).expect("utf-8")
}

fn errors(error: &Error) -> String {
    match error {
        Error::XsdInvalid(errors) => errors.iter().map(|e| format!("{e}\n")).collect(),
        other => other.to_string(),
    }
}

fn xsd_errors(result: Result<(), Error>) -> Vec<XsdError> {
    match result {
        Err(Error::XsdInvalid(errors)) => errors,
        other => panic!("expected XsdInvalid, got {other:?}"),
    }
}

// --- the five acts ---

#[test]
fn ricorso_amministrazione_sostegno() {
    let xml = write_and_check(&ricorso());
    for expected in [
        r#"<RicorsoAmministrazioneSostegno xmlns="http://schemi.processotelematico.giustizia.it/sicid/introduttivi/v7""#,
        r#"<pt:destinazione ufficio="0100250093" ruolo="VolontariaGiurisdizione"/>"#,
        "<pt:Oggetto>413061</pt:Oggetto>",
        r#"<all:AttoPrincipale id="Ricorso.pdf.p7m"/>"#,
        r#"<all:DelegaSportelloProssimita id="Delega.pdf.p7m"/>"#,
        r#"<pt:Parte naturaGiuridica="PFI" ID="P1">"#,
        r#"<pt:SportelloProssimita naturaGiuridica="SPP" ID="SP1">"#,
        "<at:denominazione>Ufficio di Prossimità di Genova</at:denominazione>",
        r#"<at:parteDelegante ref="P1"/>"#,
        "<Cognome>Rossi</Cognome>",
        "<CodiceFiscale>RSSMRA85T10D969T</CodiceFiscale>",
    ] {
        assert!(xml.contains(expected), "missing {expected} in\n{xml}");
    }
    assert!(
        !xml.contains("ContributoUnificato"),
        "exempt: no contributo"
    );
}

#[test]
fn trattamento_sanitario_obbligatorio() {
    let xml = write_and_check(&tso());
    for expected in [
        "<pt:Oggetto>413050</pt:Oggetto>",
        r#"<pt:Parte naturaGiuridica="ENP" ID="P1">"#,
        "<SottopostoTSO>",
        "<DataConvalida>2024-06-03</DataConvalida>",
        "<Protocollo>PG/2024/123456</Protocollo>",
        r#"<all:OrdinanzaInizioTSO id="Ordinanza.pdf.p7m"/>"#,
    ] {
        assert!(xml.contains(expected), "missing {expected} in\n{xml}");
    }
}

#[test]
fn rendiconto_amministrazione_sostegno() {
    let xml = write_and_check(&rendiconto());
    for expected in [
        r#"<ProduzioneDocumentiRichiesti xmlns="http://schemi.processotelematico.giustizia.it/sicid/parte/v7""#,
        r#"<pt:procedimento ufficio="0100250093" ruolo="VolontariaGiurisdizione">"#,
        "<pt:numero>1234</pt:numero>",
        "<evt:RendicontoAmministrazioneSostegno>",
        "<at:codiceFiscale>BNCGLI75E60D969V</at:codiceFiscale>",
        "<evt:Funzionari>",
        r#"<at:parteRappresentata ref="00856930102"/>"#,
    ] {
        assert!(xml.contains(expected), "missing {expected} in\n{xml}");
    }
}

#[test]
fn relazione_amministrazione_sostegno() {
    let xml = write_and_check(&relazione());
    assert!(
        xml.contains("<evt:RelazioneAmministrazioneSostegno/>"),
        "{xml}"
    );
}

#[test]
fn istanza_generica_every_kind() {
    let kinds = [
        IstanzaKind::Generic,
        sostituzione(),
        IstanzaKind::Removal {
            administrator_codice_fiscale: "BNCGLI75E60D969V".into(),
            via: None,
        },
        IstanzaKind::TsoRenewal,
        IstanzaKind::TsoRevocation,
        IstanzaKind::TsoCessation,
    ];
    for kind in kinds {
        write_and_check(&istanza(kind));
    }
    let xml = write_and_check(&istanza(sostituzione()));
    for expected in [
        "<IstanzaGenerica xmlns=",
        "<evt:SostituzioneAmministrazioneSostegno>",
        "<at:cognome>Neri</at:cognome>",
        r#"<evt:AmministrazioneDaSostituire codiceFiscale="BNCGLI75E60D969V"/>"#,
    ] {
        assert!(xml.contains(expected), "missing {expected} in\n{xml}");
    }
}

#[test]
fn official_example_validates() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/domain/examples/DatiAtto-RicorsoAmministrazioneSostegno.xml");
    let xml = std::fs::read(example).expect("the official example");
    schemas()
        .validate(Root::Introduttivi, &xml)
        .expect("the official example is valid");
    // And it belongs to Introduttivi.xsd only.
    assert!(schemas().validate(Root::Parte, &xml).is_err());
}

// --- refusals ---

#[test]
fn missing_beneficiario_cognome_is_refused_naming_the_element() {
    let xml = text(&datiatto::to_xml(&ricorso()).expect("written"));
    let broken = xml.replace("<Cognome>Rossi</Cognome>", "");
    assert_ne!(broken, xml);
    let errors = xsd_errors(schemas().validate(Root::Introduttivi, broken.as_bytes()));
    let error = errors
        .iter()
        .find(|e| e.message.contains("Cognome"))
        .unwrap_or_else(|| panic!("no error names Cognome: {errors:?}"));
    assert_eq!(error.element.as_deref(), Some("Nome"), "{error}");
    assert!(error.line.is_some(), "{error}");
    let introduttivi = schema_dir().join("Atti/sici/sicid_v7/Introduttivi.xsd");
    let (accepted, said) = xmllint(
        &["--schema", &introduttivi.to_string_lossy()],
        broken.as_bytes(),
    );
    assert!(
        !accepted && said.contains("Cognome"),
        "xmllint agrees: {said}"
    );

    // The writer refuses the same thing before any XML exists.
    let mut dati = ricorso();
    if let Act::RicorsoAmministrazioneSostegno(act) = &mut dati.act {
        act.beneficiary.surname = " ".into();
    }
    assert!(matches!(
        datiatto::to_xml(&dati),
        Err(Error::MissingValue {
            field: "beneficiary"
        })
    ));
}

#[test]
fn bad_court_code_is_refused() {
    let mut dati = ricorso();
    dati.court = "010025009".into();
    assert!(matches!(
        datiatto::to_xml(&dati),
        Err(Error::InvalidCourtCode)
    ));

    // The schema types @ufficio as xs:string; SchemaSet adds the rule.
    for (root, xml) in [
        (Root::Introduttivi, datiatto::to_xml(&ricorso())),
        (Root::Parte, datiatto::to_xml(&rendiconto())),
    ] {
        let xml = text(&xml.expect("written")).replace(GENOVA, "TRIBGENOVA");
        let errors = xsd_errors(schemas().validate(root, xml.as_bytes()));
        assert_eq!(errors.len(), 1, "{errors:?}");
        let element = errors[0].element.as_deref();
        assert!(
            matches!(element, Some("destinazione" | "procedimento")),
            "{errors:?}"
        );
        assert!(errors[0].message.contains("ufficio"), "{errors:?}");
    }
}

#[test]
fn bad_codice_fiscale_is_refused_without_leaking_it() {
    let mut dati = ricorso();
    if let Act::RicorsoAmministrazioneSostegno(act) = &mut dati.act {
        act.beneficiary.codice_fiscale = Some("RSSMRA85T10D969X".into());
    }
    assert!(matches!(
        datiatto::to_xml(&dati),
        Err(Error::InvalidCodiceFiscale { .. })
    ));

    // A codice fiscale of the wrong shape, past the writer: the schema's
    // pattern refuses it, and the message does not repeat it.
    let xml = text(&datiatto::to_xml(&ricorso()).expect("written"));
    let broken = xml.replace("RSSNNA82C55D969K", "RSS-NNA-82");
    let errors = xsd_errors(schemas().validate(Root::Introduttivi, broken.as_bytes()));
    assert!(
        errors
            .iter()
            .any(|e| e.element.as_deref() == Some("codiceFiscale")),
        "{errors:?}"
    );
    assert!(
        errors.iter().all(|e| !e.message.contains("RSS-NNA-82")),
        "{errors:?}"
    );
}

#[test]
fn other_refusals() {
    let mut elements_out_of_order = text(&datiatto::to_xml(&tso()).expect("written"));
    elements_out_of_order = elements_out_of_order.replace("<Ordinanza>", "<Ordinanza><Altro/>");
    let errors =
        xsd_errors(schemas().validate(Root::Introduttivi, elements_out_of_order.as_bytes()));
    assert_eq!(errors[0].element.as_deref(), Some("Altro"), "{errors:?}");

    let errors = xsd_errors(schemas().validate(Root::Parte, b"<IstanzaGenerica"));
    assert!(!errors.is_empty());

    let mut dati = relazione();
    dati.attachments[0].kind = AttachmentKind::Simple;
    assert!(matches!(
        datiatto::to_xml(&dati),
        Err(Error::AttachmentIndex(IndexProblem::NoPrincipal))
    ));
    let mut dati = ricorso();
    dati.attachments[2].id = "CertificatoMedico.pdf".into();
    assert!(matches!(
        datiatto::to_xml(&dati),
        Err(Error::AttachmentIndex(IndexProblem::DuplicateId {
            index: 2
        }))
    ));
    dati.attachments[2].id = "2 delega.pdf".into();
    assert!(matches!(
        datiatto::indice_busta_xml(&dati.attachments),
        Err(Error::AttachmentIndex(IndexProblem::InvalidId { index: 2 }))
    ));
    dati.attachments[2].id = datiatto::DATI_ATTO_PART.into();
    assert!(matches!(
        datiatto::indice_busta_xml(&dati.attachments),
        Err(Error::AttachmentIndex(IndexProblem::DuplicateId {
            index: 2
        }))
    ));

    let mut dati = rendiconto();
    if let Act::RendicontoAmministrazioneSostegno(act) = &mut dati.act
        && let Some(via) = &mut act.via
    {
        via.office.officers.clear();
    }
    assert!(matches!(
        datiatto::to_xml(&dati),
        Err(Error::MissingValue {
            field: "proximity_office.officers"
        })
    ));
}

#[test]
fn indice_busta_transcription_agrees_with_the_dtd() {
    let valid = datiatto::indice_busta_xml(&ricorso().attachments).expect("written");
    let valid = text(&valid);
    assert!(
        valid.contains(r#"<Atto Nome="Ricorso.pdf.p7m" ID="Ricorso.pdf.p7m"/>"#),
        "{valid}"
    );
    assert!(valid.contains(r#"Tipo="DA""#), "{valid}");
    let head = r#"<?xml version="1.0" encoding="UTF-8"?><IndiceBusta>"#;
    let atto = r#"<Atto Nome="a.pdf" ID="a"/>"#;
    let cases: [(String, bool); 8] = [
        (format!("{head}{atto}</IndiceBusta>"), true),
        (
            format!(r#"{head}{atto}<Allegato Nome="b" ID="b" Tipo="PL"/></IndiceBusta>"#),
            true,
        ),
        (format!("{head}</IndiceBusta>"), false),
        (
            format!(r#"{head}<Allegato Nome="b" ID="b" Tipo="SM"/>{atto}</IndiceBusta>"#),
            false,
        ),
        (
            format!(r#"{head}{atto}<Allegato Nome="b" ID="b" Tipo="ZZ"/></IndiceBusta>"#),
            false,
        ),
        (
            format!(r#"{head}{atto}<Allegato Nome="b" ID="a" Tipo="SM"/></IndiceBusta>"#),
            false,
        ),
        (
            format!(r#"{head}{atto}<Allegato ID="b" Tipo="SM"/></IndiceBusta>"#),
            false,
        ),
        (
            format!(r#"{head}{atto}<Allegato Nome="b" ID="1b" Tipo="SM"/></IndiceBusta>"#),
            false,
        ),
    ];
    for (xml, valid) in cases {
        check_indice_busta(xml.as_bytes(), valid);
    }
}

// --- loading and threading ---

#[test]
fn schema_folder_is_checked_at_load() {
    let missing = SchemaSet::load("/nonexistent/pct-xsd");
    assert!(
        matches!(missing, Err(Error::SchemaLoad { .. })),
        "{missing:?}"
    );

    // A copy whose IndiceBusta.dtd gained a Tipo: refused, so the
    // transcription cannot silently fall behind.
    let copy = tempfile::tempdir().expect("temporary folder");
    copy_dir(&schema_dir(), copy.path());
    let dtd = copy.path().join("DTD_20180328/IndiceBusta.dtd");
    let changed = std::fs::read_to_string(&dtd)
        .expect("dtd")
        .replace("| RA)", "| RA | RX)");
    std::fs::write(&dtd, changed).expect("dtd written");
    let refused = SchemaSet::load(copy.path());
    assert!(
        matches!(refused, Err(Error::SchemaLoad { ref path, .. }) if path.ends_with("IndiceBusta.dtd")),
        "{refused:?}"
    );

    // A copy missing a type library: the entry schema does not compile.
    std::fs::write(
        &dtd,
        std::fs::read(schema_dir().join("DTD_20180328/IndiceBusta.dtd")).expect("dtd"),
    )
    .expect("restored");
    std::fs::remove_file(copy.path().join("Atti/sici/base_v4/tipi-anagrafiche.xsd"))
        .expect("removed");
    let broken = SchemaSet::load(copy.path());
    assert!(
        matches!(broken, Err(Error::SchemaLoad { .. })),
        "{broken:?}"
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("folder");
    for entry in std::fs::read_dir(from).expect("readable") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            // Not `fs::copy`: it would keep the read-only bits of shared/.
            let bytes = std::fs::read(entry.path()).expect("read");
            std::fs::write(&target, bytes).expect("copied");
        }
    }
}

#[test]
fn one_schema_set_serves_many_threads() {
    let documents: Vec<(Root, Vec<u8>)> = [ricorso(), tso(), rendiconto(), relazione()]
        .iter()
        .map(|d| (d.act.root(), datiatto::to_xml(d).expect("written")))
        .collect();
    std::thread::scope(|scope| {
        for _ in 0..4 {
            let set = schemas().clone();
            let documents = &documents;
            scope.spawn(move || {
                for _ in 0..25 {
                    for (root, xml) in documents {
                        set.validate(*root, xml).expect("valid");
                    }
                }
            });
        }
    });
}

/// `cargo test --release -p ponte-pct --test datiatto -- --ignored --nocapture`
#[test]
#[ignore = "timing, run by hand in release"]
fn validation_time() {
    let started = std::time::Instant::now();
    let set = SchemaSet::load(schema_dir()).expect("compiles");
    println!("load (compile all schemas): {:?}", started.elapsed());
    for dati in [ricorso(), rendiconto()] {
        let xml = datiatto::to_xml(&dati).expect("written");
        let rounds = 2_000u32;
        let started = std::time::Instant::now();
        for _ in 0..rounds {
            set.validate(dati.act.root(), &xml).expect("valid");
        }
        let write_started = std::time::Instant::now();
        for _ in 0..rounds {
            datiatto::to_xml(&dati).expect("written");
        }
        println!(
            "{:?} ({} bytes): validate {:?}/doc, to_xml {:?}/doc",
            dati.act.root(),
            xml.len(),
            (write_started - started) / rounds,
            write_started.elapsed() / rounds
        );
    }
}
