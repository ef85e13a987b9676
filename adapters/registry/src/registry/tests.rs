use std::path::PathBuf;

use super::*;
use crate::{CourtKind, ProblemKind};

const TEXT: &str = r#"format = 1
description = "test registry"
competence = [
  { istat = "010025", comune = "Genova", province = "GE", court = "0100250093" },
  { istat = "011015", comune = "La Spezia", province = "SP", court = "0110150093" },
  { istat = "008047", comune = "Prelà", province = "IM", court = "0100250093" },
  { istat = "009065", comune = "Villanova d'Albenga", province = "SV", court = "0100250093" },
  { istat = "011009", comune = "Carro", province = "SP", court = "none", source = "not established" },
  # Two comuni of the same name (Castro BG and Castro LE, in real life).
  { istat = "016065", comune = "Castro", province = "BG", court = "0100250093" },
  { istat = "075096", comune = "Castro", province = "LE", court = "0110150093" },
]

[[court]]
code = "0100250093"
name = "Tribunale Ordinario - Genova"
kind = "Tribunale"
pec_deposit = "tribunale.genova@civile.ptel.giustiziacert.it"
encryption_cert = "certs/court.pem"
registries = ["VolontariaGiurisdizione"]

[[court]]
code = "0110150093"
name = "Tribunale Ordinario - La Spezia"
kind = "Tribunale"
pec_deposit = "tribunale.laspezia@civile.ptel.giustiziacert.it"
encryption_cert = "/absolute/court.pem"
registries = ["VolontariaGiurisdizione", "ContenziosoCivile"]
source = "test"

[[court]]
code = "0100250060"
name = "Corte d'Appello - Genova"
kind = "CorteAppello"
pec_deposit = "ca.genova@civile.ptel.giustiziacert.it"
registries = ["ContenziosoCivile"]
"#;

fn registry() -> Registry {
    Registry::from_toml(TEXT, "/data").unwrap()
}

fn code(s: &str) -> CourtCode {
    s.parse().unwrap()
}

fn by_istat(r: &Registry, istat: &str) -> Result<String, CompetenceError> {
    r.competent_court(ComuneRef::istat(istat))
        .map(|c| c.code.to_string())
}

fn by_name(r: &Registry, name: &str) -> Result<String, CompetenceError> {
    r.competent_court(ComuneRef::name(name))
        .map(|c| c.code.to_string())
}

#[test]
fn courts_and_competences_are_served() {
    let r = registry();
    assert_eq!(r.description(), Some("test registry"));
    assert_eq!(r.courts().len(), 3);
    assert_eq!(r.competences().len(), 7);
    let spezia = r.court(&code("0110150093")).unwrap();
    assert_eq!(spezia.kind, CourtKind::Tribunale);
    assert!(spezia.keeps(crate::VOLONTARIA_GIURISDIZIONE));
    assert!(spezia.keeps("ContenziosoCivile"));
    assert!(!spezia.keeps("volontariagiurisdizione"));
    assert_eq!(spezia.source.as_deref(), Some("test"));
    assert_eq!(
        r.court(&code("0100250093")).unwrap().encryption_cert,
        Some(PathBuf::from("/data/certs/court.pem"))
    );
    assert_eq!(
        spezia.encryption_cert,
        Some(PathBuf::from("/absolute/court.pem"))
    );
    assert!(r.court(&code("0090560095")).is_none());
    let carro = r.competence(&"011009".parse().unwrap()).unwrap();
    assert_eq!(
        (carro.comune.as_str(), carro.court.as_ref()),
        ("Carro", None)
    );
}

#[test]
fn by_istat_code() {
    let r = registry();
    assert_eq!(by_istat(&r, "010025").unwrap(), "0100250093");
    assert_eq!(by_istat(&r, " 011015 ").unwrap(), "0110150093");
}

#[test]
fn istat_code_wins_over_name() {
    let r = registry();
    let genova = r
        .competent_court(ComuneRef {
            istat: Some("010025"),
            name: Some("La Spezia"),
        })
        .unwrap();
    assert_eq!(genova.code.as_str(), "0100250093");
    // A code that matches nothing is not rescued by the name.
    let err = r
        .competent_court(ComuneRef {
            istat: Some("010999"),
            name: Some("Genova"),
        })
        .unwrap_err();
    assert_eq!(
        err,
        CompetenceError::UnknownComune {
            istat: Some("010999".to_owned()),
            name: None
        }
    );
}

#[test]
fn by_name_ignoring_case_accents_and_apostrophes() {
    let r = registry();
    for name in [
        "La Spezia",
        "la spezia",
        "LA SPEZIA",
        " La  Spezia ",
        "La-Spezia",
    ] {
        assert_eq!(by_name(&r, name).unwrap(), "0110150093", "{name}");
    }
    for name in ["Prelà", "Prela'", "PRELA", "prelá"] {
        assert_eq!(by_name(&r, name).unwrap(), "0100250093", "{name}");
    }
    for name in [
        "Villanova d'Albenga",
        "Villanova d’Albenga",
        "villanova d albenga",
    ] {
        assert_eq!(by_name(&r, name).unwrap(), "0100250093", "{name}");
    }
    // Blank ISTAT codes count as not given.
    let genova = r
        .competent_court(ComuneRef {
            istat: Some("  "),
            name: Some("genova"),
        })
        .unwrap();
    assert_eq!(genova.code.as_str(), "0100250093");
}

#[test]
fn unknown_comuni() {
    let r = registry();
    for istat in ["999999", "10025", "GE", "0100250"] {
        let err = by_istat(&r, istat).unwrap_err();
        assert_eq!(err.code(), "comune_unknown", "{istat}");
    }
    for name in ["Atlantide", "Genova Nervi", "'"] {
        assert_eq!(
            by_name(&r, name).unwrap_err(),
            CompetenceError::UnknownComune {
                istat: None,
                name: Some(name.to_owned())
            }
        );
    }
    assert_eq!(
        by_name(&r, "Atlantide").unwrap_err().to_string(),
        "the comune \"Atlantide\" is not in the court registry: the office must choose the court"
    );
}

#[test]
fn nothing_given() {
    let r = registry();
    for comune in [
        ComuneRef::default(),
        ComuneRef {
            istat: Some(""),
            name: Some(" "),
        },
    ] {
        assert_eq!(
            r.competent_court(comune).unwrap_err(),
            CompetenceError::NoComune
        );
    }
}

#[test]
fn unestablished_competence_is_never_guessed() {
    let r = registry();
    for err in [
        by_istat(&r, "011009").unwrap_err(),
        by_name(&r, "carro").unwrap_err(),
    ] {
        let CompetenceError::CompetenceUnknown { comune } = &err else {
            panic!("{err:?}");
        };
        assert_eq!(comune.istat.as_str(), "011009");
        assert_eq!(err.code(), "competence_unknown");
        assert!(err.to_string().contains("comune Carro (011009, SP)"));
    }
}

#[test]
fn ambiguous_names_need_the_istat_code() {
    let r = registry();
    let err = by_name(&r, "castro").unwrap_err();
    let CompetenceError::Ambiguous { name, candidates } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(name, "castro");
    let provinces: Vec<_> = candidates.iter().map(|c| c.province.as_str()).collect();
    assert_eq!(provinces, ["BG", "LE"]);
    assert!(
        err.to_string()
            .contains("016065 Castro BG, 075096 Castro LE")
    );
    assert!(err.it().contains("codice ISTAT"));
    assert_eq!(by_istat(&r, "075096").unwrap(), "0110150093");
}

#[test]
fn load_resolves_against_the_file_folder() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("registry.toml");
    std::fs::write(&path, TEXT).unwrap();
    let r = Registry::load(&path).unwrap();
    assert_eq!(
        r.court(&code("0100250093")).unwrap().encryption_cert,
        Some(dir.path().join("certs/court.pem"))
    );

    let err = Registry::load(dir.path().join("absent.toml")).unwrap_err();
    assert!(matches!(err, Error::Io { .. }));
    assert_eq!(err.code(), "registry_unreadable");
    assert!(err.to_string().contains("absent.toml"), "{err}");
}

#[test]
fn certificates_are_checked_on_import() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("registry.toml");
    let text = TEXT.replace("/absolute/court.pem", "certs/spezia.pem");
    std::fs::write(&path, &text).unwrap();

    // Neither file exists yet.
    let err = crate::import(&path).unwrap_err();
    assert_eq!(err.code(), "registry_invalid");
    let problems: Vec<_> = err.problems().iter().map(|p| &p.kind).collect();
    assert!(matches!(
        problems[..],
        [
            ProblemKind::CertificateUnreadable { .. },
            ProblemKind::CertificateUnreadable { .. }
        ]
    ));
    assert!(
        err.to_string()
            .contains("court 0100250093: cannot read encryption certificate")
    );

    // One real certificate, one file that is not a certificate.
    std::fs::create_dir(dir.path().join("certs")).unwrap();
    let pem = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/test-court.pem"
    ))
    .unwrap();
    std::fs::write(dir.path().join("certs/court.pem"), &pem).unwrap();
    std::fs::write(
        dir.path().join("certs/spezia.pem"),
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    let err = crate::import(&path).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "registry data has 1 problem: court 0110150093: {} is not a PEM X.509 certificate",
            dir.path().join("certs/spezia.pem").display()
        )
    );

    // A PEM block labelled CERTIFICATE that does not parse.
    std::fs::write(
        dir.path().join("certs/spezia.pem"),
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    assert!(crate::import(&path).is_err());

    std::fs::write(dir.path().join("certs/spezia.pem"), &pem).unwrap();
    let r = crate::import(&path).unwrap();
    assert_eq!(r.courts().len(), 3);
}
