//! The mapping files in `mappings/files` against every valid FHIR fixture,
//! with the development registry; the DatiAtto checked by `SchemaSet` and,
//! independently, by `xmllint` against the Ministry's schemas in
//! `../shared/pct-xsd`. Then mapping errors and the office profile. Load
//! errors are in `load_errors.rs`, reloading in `reload.rs`.

// Helpers may unwrap too: a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use common::{files_dir, fixture, fixtures_dir, map_with, office, workspace};
use ponte_mappings::{MapError, MappedFiling, MappingSet, OfficeProfile, RuleProblem};
use ponte_pct::datiatto::{self, Act, AttachmentKind};
use ponte_pct::mainact::Block;
use ponte_pct::xsd::{Root, SchemaSet};
use ponte_registry::CompetenceError;
use serde_json::Value;

const GENOVA: &str = "0100250093";
const SAVONA: &str = "0090560095";
const IMPERIA: &str = "0080310092";
const LA_SPEZIA: &str = "0110150093";

fn schema_dir() -> PathBuf {
    workspace().join("../shared/pct-xsd")
}

fn schemas() -> &'static SchemaSet {
    static S: OnceLock<SchemaSet> = OnceLock::new();
    S.get_or_init(|| SchemaSet::load(schema_dir()).expect("the shared schemas compile"))
}

fn mappings() -> &'static MappingSet {
    static M: OnceLock<MappingSet> = OnceLock::new();
    M.get_or_init(|| MappingSet::load(&files_dir()).expect("the mapping files load"))
}

/// The act a fixture asks for: its requested-act category, else the default
/// of its document type (as the profile decides).
fn requested_act(bundle: &Value) -> String {
    let comp = &bundle["entry"][0]["resource"];
    for cat in comp["category"].as_array().into_iter().flatten() {
        for c in cat["coding"].as_array().into_iter().flatten() {
            if c["system"] == "https://ponte.example/fhir/CodeSystem/requested-act" {
                return c["code"].as_str().unwrap().to_owned();
            }
        }
    }
    let kind = comp["type"]["coding"][0]["code"].as_str().unwrap();
    match kind {
        "tso-proposal" => "tso-convalida".into(),
        "ads-accounts" => "ads-accounts".into(),
        _ => "ads-appointment".into(),
    }
}

fn map(bundle: &Value, court_override: Option<&str>) -> Result<MappedFiling, MapError> {
    map_with(mappings(), bundle, &requested_act(bundle), court_override)
}

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
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Everything a mapped filing must satisfy, whatever the act: valid
/// DatiAtto (SchemaSet and xmllint), valid IndiceBusta.xml, the index and the
/// parts agree, attachments are the Bundle's PDFs, the main act is filled.
fn check_filing(name: &str, filing: &MappedFiling) -> String {
    let dati = &filing.datiatto;
    let xml = datiatto::to_xml(dati).expect("written");
    let root = dati.act.root();
    if let Err(e) = schemas().validate(root, &xml) {
        panic!(
            "{name}: SchemaSet refused: {e:?}\n{}",
            String::from_utf8_lossy(&xml)
        );
    }
    let entry = match root {
        Root::Introduttivi => "Atti/sici/sicid_v7/Introduttivi.xsd",
        Root::Parte => "Atti/sici/sicid_v7/Parte.xsd",
    };
    let (ok, said) = xmllint(
        &["--schema", &schema_dir().join(entry).to_string_lossy()],
        &xml,
    );
    assert!(
        ok,
        "{name}: xmllint refused:\n{said}\n{}",
        String::from_utf8_lossy(&xml)
    );

    let indice = datiatto::indice_busta_xml(&dati.attachments).expect("index");
    schemas()
        .validate_indice_busta(&indice)
        .unwrap_or_else(|e| panic!("{name}: IndiceBusta refused: {e:?}"));
    let dtd = schema_dir().join("DTD_20180328/IndiceBusta.dtd");
    let (ok, said) = xmllint(&["--dtdvalid", &dtd.to_string_lossy()], &indice);
    assert!(ok, "{name}: xmllint refused IndiceBusta.xml: {said}");

    // Index and parts: the principal act first, then the attachments, same
    // ids, names and kinds everywhere.
    let principal = format!("{}.p7m", filing.main_act_name);
    assert_eq!(dati.attachments[0].id, principal);
    assert_eq!(dati.attachments[0].name, principal);
    assert_eq!(dati.attachments[0].kind, AttachmentKind::Principal);
    assert_eq!(dati.attachments.len(), filing.attachments.len() + 1);
    for (a, part) in dati.attachments[1..].iter().zip(&filing.attachments) {
        assert_eq!((&a.id, &a.name, a.kind), (&part.id, &part.name, part.kind));
        assert!(
            part.bytes.starts_with(b"%PDF-"),
            "{name}: {} is a PDF",
            part.name
        );
        assert_eq!(part.content_type, "application/pdf");
        // The main act lists every attachment by its file name.
        assert!(
            filing
                .main_act
                .blocks
                .iter()
                .any(|b| matches!(b, Block::Item(t) if t.contains(&part.name))),
            "{name}: main act lists {}",
            part.name
        );
    }
    assert!(filing.main_act_name.ends_with(".pdf"));
    assert_eq!(dati.court, filing.court.code.as_str());
    let act = &filing.main_act;
    assert!(!act.title.is_empty() && !act.addressee.is_empty() && !act.signatures.is_empty());
    assert!(act.blocks.len() >= 3, "{name}: main act has a body");
    assert_eq!(
        act.place_and_date.as_deref(),
        Some("Genova, 26 novembre 2026")
    );
    assert!(!filing.deposit_description.is_empty());
    assert!(
        filing
            .deposit_description
            .chars()
            .all(|c| c.is_ascii_uppercase() || " -".contains(c)),
        "{name}: the subject text is fixed, no personal data"
    );
    String::from_utf8(xml).expect("utf-8")
}

/// What each known fixture must give: `Some(court)` or `None` for "the
/// office must choose the court".
fn expected(name: &str) -> Option<Option<&'static str>> {
    Some(match name {
        "capacity-genova-parodi.json" => Some(GENOVA),
        "capacity-savona-ferrando.json" => Some(SAVONA),
        "capacity-imperia-rebaudo.json" => Some(IMPERIA),
        "capacity-la-spezia-bertoni.json" => Some(LA_SPEZIA),
        "capacity-varese-ligure-cevasco.json" => None,
        "capacity-self-rapallo-oneto.json" => None,
        "capacity-ads-report-genova-canepa.json" => Some(GENOVA),
        "capacity-istanza-albenga-ghiglione.json" => Some(SAVONA),
        "tso-genova-musso.json" => Some(GENOVA),
        "tso-la-spezia-baldassini.json" => Some(LA_SPEZIA),
        "tso-sanremo-lorenzi.json" => None,
        n if n.starts_with("ads-accounts-savona-") => Some(SAVONA),
        _ => return None,
    })
}

#[test]
fn every_valid_fixture_maps_or_asks_for_the_court() {
    let mut names: Vec<String> = std::fs::read_dir(fixtures_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    let mut acts = std::collections::BTreeSet::new();
    for name in &names {
        let bundle = fixture(name);
        let result = map(&bundle, None);
        match (expected(name), result) {
            (Some(Some(court)), Ok(filing)) => {
                assert_eq!(filing.court.code.as_str(), court, "{name}");
                check_filing(name, &filing);
                acts.insert(act_name(&filing.datiatto.act));
            }
            (Some(None), Err(MapError::Competence(e))) => {
                assert_eq!(e.code(), "competence_unknown", "{name}");
                assert!(e.to_string().contains("the office must choose the court"));
            }
            // A fixture added later: it must map, or ask for the court.
            (None, Ok(filing)) => {
                check_filing(name, &filing);
                acts.insert(act_name(&filing.datiatto.act));
            }
            (None, Err(MapError::Competence(_))) => {}
            (want, got) => panic!("{name}: expected {want:?}, got {got:?}"),
        }
    }
    assert_eq!(
        acts.into_iter().collect::<Vec<_>>(),
        [
            "IstanzaGenerica",
            "RelazioneAmministrazioneSostegno",
            "RendicontoAmministrazioneSostegno",
            "RicorsoAmministrazioneSostegno",
            "TrattamentoSanitarioObbligatorio",
        ],
        "every act type is exercised by a fixture"
    );
}

fn act_name(act: &Act) -> &'static str {
    match act {
        Act::RicorsoAmministrazioneSostegno(_) => "RicorsoAmministrazioneSostegno",
        Act::TrattamentoSanitarioObbligatorio(_) => "TrattamentoSanitarioObbligatorio",
        Act::RendicontoAmministrazioneSostegno(_) => "RendicontoAmministrazioneSostegno",
        Act::RelazioneAmministrazioneSostegno(_) => "RelazioneAmministrazioneSostegno",
        Act::IstanzaGenerica(_) => "IstanzaGenerica",
        _ => "other",
    }
}

#[test]
fn ricorso_genova_parodi_in_detail() {
    let filing = map(&fixture("capacity-genova-parodi.json"), None).unwrap();
    let xml = check_filing("parodi", &filing);
    assert!(
        filing
            .mapping_file
            .ends_with("ricorso-amministrazione-sostegno.toml")
    );
    assert_eq!(filing.main_act_name, "Ricorso.pdf");
    assert_eq!(
        filing.deposit_description,
        "RICORSO AMMINISTRAZIONE DI SOSTEGNO"
    );
    let Act::RicorsoAmministrazioneSostegno(r) = &filing.datiatto.act else {
        panic!("ricorso expected");
    };
    assert_eq!(r.beneficiary.surname, "Parodi");
    assert_eq!(r.beneficiary.given_name, "Giuseppina");
    assert_eq!(
        r.beneficiary.codice_fiscale.as_deref(),
        Some("PRDGPP38C54D969G")
    );
    assert_eq!(r.beneficiary.birth_date.as_deref(), Some("1938-03-14"));
    assert_eq!(r.beneficiary.birth_place.as_deref(), Some("Genova"));
    assert_eq!(
        r.beneficiary.residence_address.as_deref(),
        Some("Via Cantore 12/3")
    );
    assert_eq!(r.beneficiary.residence_town.as_deref(), Some("Genova"));
    assert_eq!(r.petitioner.codice_fiscale, "BRZLRA66P42D969N");
    let office = r.proximity_office.as_ref().expect("the office");
    assert_eq!(office.codice_fiscale, "00856930102");
    assert!(office.receives_communications && office.sees_case_file);
    for s in [
        "<pt:Oggetto>413061</pt:Oggetto>",
        r#"ufficio="0100250093" ruolo="VolontariaGiurisdizione""#,
        r#"<all:AttoPrincipale id="Ricorso.pdf.p7m"/>"#,
        r#"<all:AllegatoSemplice id="CertificatoMedico.pdf"/>"#,
    ] {
        assert!(xml.contains(s), "{s} in\n{xml}");
    }
    let doc = &filing.main_act;
    assert_eq!(doc.addressee[0], "TRIBUNALE ORDINARIO DI GENOVA");
    let body: Vec<String> = doc
        .blocks
        .iter()
        .map(|b| match b {
            Block::Heading(t) | Block::Paragraph(t) | Block::Item(t) => t.clone(),
        })
        .collect();
    let body = body.join("\n");
    for s in [
        "nata a Genova il 14 marzo 1938",
        "figlia della persona beneficiaria",
        "Malattia di Alzheimer ad esordio tardivo (ICD-10 G30.1).",
        "certificato medico del 9 novembre 2026 (CertificatoMedico.pdf)",
        "CHIEDE",
    ] {
        assert!(body.contains(s), "{s:?} in\n{body}");
    }
    assert_eq!(
        doc.metadata.created.as_deref(),
        Some("2026-11-26T00:00:00Z")
    );
}

#[test]
fn liguria_capitals_reach_their_own_tribunal() {
    for (name, court, pec) in [
        ("capacity-genova-parodi.json", GENOVA, "genova"),
        ("capacity-savona-ferrando.json", SAVONA, "savona"),
        ("capacity-imperia-rebaudo.json", IMPERIA, "imperia"),
        ("capacity-la-spezia-bertoni.json", LA_SPEZIA, "spezia"),
    ] {
        let filing = map(&fixture(name), None).unwrap();
        assert_eq!(filing.court.code.as_str(), court, "{name}");
        assert_eq!(filing.datiatto.court, court, "{name}");
        assert!(filing.court.pec_deposit.contains(pec), "{name}");
    }
}

#[test]
fn unknown_competence_stops_and_an_override_maps() {
    let bundle = fixture("capacity-varese-ligure-cevasco.json");
    match map(&bundle, None) {
        Err(MapError::Competence(CompetenceError::CompetenceUnknown { comune })) => {
            assert_eq!(comune.istat.as_str(), "011029");
        }
        other => panic!("expected CompetenceUnknown, got {other:?}"),
    }
    let err = map(&bundle, None).unwrap_err();
    assert_eq!(err.code(), "competence_unknown");
    let filing = map(&bundle, Some(LA_SPEZIA)).unwrap();
    assert_eq!(filing.court.code.as_str(), LA_SPEZIA);
    check_filing("cevasco", &filing);
    // The override wins even over a sender-named court.
    let filing = map(&fixture("capacity-la-spezia-bertoni.json"), Some(GENOVA)).unwrap();
    assert_eq!(filing.court.code.as_str(), GENOVA);
    // An override the registry does not know.
    match map(&bundle, Some("0999999999")) {
        Err(MapError::UnknownCourt { code }) => assert_eq!(code, "0999999999"),
        other => panic!("expected UnknownCourt, got {other:?}"),
    }
    assert!(matches!(
        map(&bundle, Some("genova")),
        Err(MapError::UnknownCourt { .. })
    ));
}

#[test]
fn sender_named_court_not_in_registry() {
    let mut bundle = fixture("capacity-la-spezia-bertoni.json");
    let text = serde_json::to_string(&bundle)
        .unwrap()
        .replace("0110150093", "0123456789");
    bundle = serde_json::from_str(&text).unwrap();
    let err = map(&bundle, None).unwrap_err();
    assert!(matches!(&err, MapError::UnknownCourt { code } if code == "0123456789"));
    assert_eq!(err.code(), "court_unknown");
}

#[test]
fn tso_genova_musso_in_detail() {
    let filing = map(&fixture("tso-genova-musso.json"), None).unwrap();
    check_filing("musso", &filing);
    let Act::TrattamentoSanitarioObbligatorio(t) = &filing.datiatto.act else {
        panic!("tso expected");
    };
    assert_eq!(t.patient.surname, "Musso");
    assert_eq!(t.order.protocol, "PG/2026/0418733");
    assert_eq!(t.order.municipality.as_deref(), Some("Genova"));
    assert_eq!(t.order.date.as_deref(), Some("2026-11-24"));
    assert_eq!(t.medical.validation_date, "2026-11-24");
    assert_eq!(
        t.medical.proposing_doctor.as_deref(),
        Some("Elena Pittaluga")
    );
    assert_eq!(
        t.medical.validating_doctor.as_deref(),
        Some("Stefano Cavallaro")
    );
    let kinds: Vec<_> = filing
        .attachments
        .iter()
        .map(|a| (a.name.as_str(), a.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            ("OrdinanzaSindacale.pdf", AttachmentKind::OrdinanzaInizioTso),
            (
                "PropostaConvalidaTSO.pdf",
                AttachmentKind::CertificatoMedicoConvalidante
            ),
        ]
    );
}

#[test]
fn tso_validator_given_as_practitioner() {
    // Sanremo's tribunal is not established in the development registry.
    let bundle = fixture("tso-sanremo-lorenzi.json");
    assert!(matches!(map(&bundle, None), Err(MapError::Competence(_))));
    let filing = map(&bundle, Some(IMPERIA)).unwrap();
    check_filing("lorenzi", &filing);
    let Act::TrattamentoSanitarioObbligatorio(t) = &filing.datiatto.act else {
        panic!("tso expected");
    };
    assert_eq!(
        t.medical.validating_doctor.as_deref(),
        Some("Luca Amoretti")
    );
    assert_eq!(t.medical.validation_time.as_deref(), Some("04:00:00"));
}

#[test]
fn relazione_canepa_uses_the_case_and_the_binary() {
    let filing = map(&fixture("capacity-ads-report-genova-canepa.json"), None).unwrap();
    let xml = check_filing("canepa", &filing);
    let Act::RelazioneAmministrazioneSostegno(d) = &filing.datiatto.act else {
        panic!("relazione expected");
    };
    assert_eq!(
        (d.case.number.as_str(), d.case.year.as_str()),
        ("2417", "2023")
    );
    let via = d.via.as_ref().expect("the office files");
    assert_eq!(via.delegant.codice_fiscale, "QRLSLV78S70D969K");
    assert_eq!(via.delegant.name.as_deref(), Some("Queirolo Silvia"));
    assert_eq!(via.office.officers.len(), 1);
    assert!(xml.contains("<pt:numero>2417</pt:numero>"), "{xml}");
    // The certificate came from the Binary named by attachment.url.
    let bundle = fixture("capacity-ads-report-genova-canepa.json");
    let binary = bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["resource"]["resourceType"] == "Binary")
        .unwrap();
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(binary["resource"]["data"].as_str().unwrap())
        .unwrap();
    assert_eq!(filing.attachments[0].bytes, bytes);
}

#[test]
fn rendiconto_and_istanza() {
    let name = std::fs::read_dir(fixtures_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .find(|n| n.starts_with("ads-accounts-savona-") && n.ends_with(".json"))
        .expect("the ads-accounts fixture");
    let filing = map(&fixture(&name), None).unwrap();
    check_filing(&name, &filing);
    assert!(matches!(
        filing.datiatto.act,
        Act::RendicontoAmministrazioneSostegno(_)
    ));
    assert_eq!(filing.main_act_name, "DepositoRendiconto.pdf");
    assert_eq!(filing.attachments[0].name, "Rendiconto.pdf");

    let filing = map(&fixture("capacity-istanza-albenga-ghiglione.json"), None).unwrap();
    check_filing("ghiglione", &filing);
    let Act::IstanzaGenerica(i) = &filing.datiatto.act else {
        panic!("istanza expected");
    };
    assert_eq!(
        (i.case.number.as_str(), i.case.year.as_str()),
        ("655", "2025")
    );
}

#[test]
fn no_mapping_for_an_unknown_act() {
    let bundle = fixture("capacity-genova-parodi.json");
    let err = map_with(mappings(), &bundle, "interdizione", None).unwrap_err();
    assert!(matches!(err, MapError::NoMapping { .. }));
    assert_eq!(err.code(), "mapping_missing");
}

#[test]
fn a_missing_required_value_names_file_rule_and_path() {
    let mut bundle = fixture("capacity-genova-parodi.json");
    let patient = bundle["entry"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|e| e["resource"]["resourceType"] == "Patient")
        .unwrap();
    patient["resource"]["name"][0]
        .as_object_mut()
        .unwrap()
        .remove("family");
    let err = map(&bundle, None).unwrap_err();
    match &err {
        MapError::Rule {
            file,
            rule,
            element,
            problem,
        } => {
            assert!(file.ends_with("ricorso-amministrazione-sostegno.toml"));
            assert_eq!(rule, "beneficiary.surname");
            assert_eq!(element.as_deref(), Some("%subject.name.first().family"));
            assert_eq!(*problem, RuleProblem::Missing);
        }
        other => panic!("expected a rule error, got {other:?}"),
    }
    assert_eq!(err.code(), "mapping_value_missing");
    let message = err.to_string();
    assert!(
        message.contains("ricorso-amministrazione-sostegno.toml"),
        "{message}"
    );
    assert!(message.contains("beneficiary.surname"), "{message}");
    assert!(
        !message.contains("Giuseppina"),
        "no patient data: {message}"
    );
}

#[test]
fn bad_values_in_the_bundle() {
    // A case number that is not <numero>/<anno>.
    let bundle = fixture("capacity-ads-report-genova-canepa.json");
    let text = serde_json::to_string(&bundle)
        .unwrap()
        .replace("2417/2023", "2417-2023");
    let err = map(&serde_json::from_str(&text).unwrap(), None).unwrap_err();
    assert!(
        matches!(&err, MapError::Rule { rule, problem: RuleProblem::BadFormat { .. }, .. } if rule == "case.number"),
        "{err:?}"
    );
    assert!(!err.to_string().contains("2417"), "no case data in {err}");
    // Attachment data that is not base64.
    let mut bundle = fixture("capacity-genova-parodi.json");
    for e in bundle["entry"].as_array_mut().unwrap() {
        if e["resource"]["resourceType"] == "DocumentReference" {
            e["resource"]["content"][0]["attachment"]["data"] = "not base64!".into();
        }
    }
    let err = map(&bundle, None).unwrap_err();
    assert!(
        matches!(&err, MapError::Rule { rule, problem: RuleProblem::AttachmentBase64, .. } if rule == "attachments[0]"),
        "{err:?}"
    );
    // Two given-name-less petitioners do not matter; two certificates do.
    let mut bundle = fixture("capacity-genova-parodi.json");
    let entries = bundle["entry"].as_array_mut().unwrap();
    let mut copy = entries
        .iter()
        .find(|e| e["resource"]["resourceType"] == "DocumentReference")
        .unwrap()
        .clone();
    copy["fullUrl"] = "urn:uuid:00000000-0000-0000-0000-000000000001".into();
    copy["resource"]["id"] = "copy".into();
    entries.push(copy);
    let err = map(&bundle, None).unwrap_err();
    assert!(
        matches!(
            &err,
            MapError::Rule {
                problem: RuleProblem::Several { count: 2 },
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn office_profile_from_config() {
    let office: OfficeProfile = toml::from_str(
        r#"
        name = "Ufficio di Prossimità di Genova"
        codice_fiscale = "00856930102"
        town = "Genova"
        pec_address = "prossimita.genova@pec.example.it"
        address = { street = "Piazza Dante", number = "1", postcode = "16121", town = "Genova", province = "GE", country = "IT" }
        officers = [{ surname = "Verdi", given_name = "Paolo", codice_fiscale = "VRDPLA70A01D969S" }]
        "#,
    )
    .unwrap();
    assert_eq!(office, self::office());
    assert!(toml::from_str::<OfficeProfile>("name = \"x\"\nnickname = \"y\"").is_err());
}
