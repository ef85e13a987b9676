//! The development registry, `data/dev-registry.toml`: the lookups the
//! issue names, the refusals, and a cross-check against the shared
//! public-source CSVs it is generated from (`../shared/registry/`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ponte_registry::{
    CompetenceError, ComuneRef, CourtCode, CourtKind, IstatCode, Registry, VOLONTARIA_GIURISDIZIONE,
};

const GENOVA: &str = "0100250093";
const SAVONA: &str = "0090560095";
const IMPERIA: &str = "0080310092";
const LA_SPEZIA: &str = "0110150093";

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn dev() -> Registry {
    Registry::load(manifest_dir().join("data/dev-registry.toml")).unwrap()
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
fn the_four_tribunals_are_competent_for_their_seats() {
    let r = dev();
    assert_eq!(by_istat(&r, "010025").unwrap(), GENOVA);
    assert_eq!(by_istat(&r, "009056").unwrap(), SAVONA);
    assert_eq!(by_istat(&r, "008031").unwrap(), IMPERIA);
    assert_eq!(by_istat(&r, "011015").unwrap(), LA_SPEZIA);
}

#[test]
fn lookup_by_name() {
    let r = dev();
    assert_eq!(by_name(&r, "La Spezia").unwrap(), LA_SPEZIA);
    assert_eq!(by_name(&r, "la spezia").unwrap(), LA_SPEZIA);
    assert_eq!(by_name(&r, "GENOVA").unwrap(), GENOVA);
    assert_eq!(by_name(&r, "Villanova d’Albenga").unwrap(), SAVONA);
    assert_eq!(by_name(&r, "villanova d albenga").unwrap(), SAVONA);
    assert_eq!(by_name(&r, "Albenga").unwrap(), SAVONA);
    // Found by name, but its tribunal is not established in the data.
    let err = by_name(&r, "cairo montenotte").unwrap_err();
    let CompetenceError::CompetenceUnknown { comune } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(
        (comune.istat.as_str(), comune.comune.as_str()),
        ("009015", "Cairo Montenotte")
    );
    // Prelà, with the accent typed as an apostrophe: known comune, no court.
    assert_eq!(
        by_name(&r, "Prela'").unwrap_err().code(),
        "competence_unknown"
    );
}

#[test]
fn unestablished_competence_stops_the_filing() {
    let r = dev();
    // Carro, Maissana and Varese Ligure: Chiavari's former circondario,
    // Genova or La Spezia not established (shared README §3.4).
    for istat in ["011009", "011018", "011029"] {
        let err = by_istat(&r, istat).unwrap_err();
        assert!(
            matches!(&err, CompetenceError::CompetenceUnknown { comune } if comune.istat.as_str() == istat),
            "{err:?}"
        );
        assert!(err.to_string().contains("the office must choose the court"));
        assert!(err.it().contains("l'ufficio deve scegliere il tribunale"));
    }
    assert_eq!(
        by_istat(&r, "011009").unwrap_err().to_string(),
        "the competent tribunal for comune Carro (011009, SP) is not established in the \
         registry: the office must choose the court"
    );
}

#[test]
fn unknown_comuni_stop_the_filing() {
    let r = dev();
    // 001272 is Torino: a real comune, but not in this registry.
    for istat in ["999999", "001272", "10025"] {
        assert!(
            matches!(
                by_istat(&r, istat),
                Err(CompetenceError::UnknownComune {
                    istat: Some(_),
                    name: None
                })
            ),
            "{istat}"
        );
    }
    assert_eq!(by_name(&r, "Torino").unwrap_err().code(), "comune_unknown");
}

#[test]
fn courts_are_the_four_liguria_tribunals() {
    let r = dev();
    let pec: BTreeMap<&str, &str> = r
        .courts()
        .map(|c| (c.code.as_str(), c.pec_deposit.as_str()))
        .collect();
    assert_eq!(
        pec,
        BTreeMap::from([
            (IMPERIA, "tribunale.imperia@civile.ptel.giustiziacert.it"),
            (SAVONA, "tribunale.savona@civile.ptel.giustiziacert.it"),
            (GENOVA, "tribunale.genova@civile.ptel.giustiziacert.it"),
            (LA_SPEZIA, "tribunale.laspezia@civile.ptel.giustiziacert.it"),
        ])
    );
    // `ponte certs dev` writes certs/dev/ at the workspace root.
    let dev_cert = manifest_dir().join("data/../../../certs/dev/court-encryption.pem");
    for court in r.courts() {
        assert_eq!(court.kind, CourtKind::Tribunale);
        assert!(court.keeps(VOLONTARIA_GIURISDIZIONE));
        assert_eq!(court.encryption_cert.as_deref(), Some(dev_cert.as_path()));
    }
}

#[test]
fn counts() {
    let r = dev();
    assert_eq!(r.courts().len(), 4);
    assert_eq!(r.competences().len(), 234);
    let mut per_court: BTreeMap<Option<&str>, usize> = BTreeMap::new();
    let mut per_province: BTreeMap<&str, usize> = BTreeMap::new();
    for c in r.competences() {
        *per_court
            .entry(c.court.as_ref().map(CourtCode::as_str))
            .or_default() += 1;
        *per_province.entry(c.province.as_str()).or_default() += 1;
    }
    assert_eq!(
        per_court,
        BTreeMap::from([
            (None, 193),
            (Some(IMPERIA), 1),
            (Some(SAVONA), 38),
            (Some(GENOVA), 1),
            (Some(LA_SPEZIA), 1),
        ])
    );
    assert_eq!(
        per_province,
        BTreeMap::from([("GE", 67), ("IM", 66), ("SP", 32), ("SV", 69)])
    );
}

/// Every comune of the shared CSV is in the registry with its name and
/// province; its court is the CSV's `tribunale` where filled, the seat's
/// tribunal for the four seats, and "none" everywhere else.
#[test]
fn matches_the_shared_csvs() {
    let shared = manifest_dir().join("../../../shared/registry");
    let comuni = read_csv(&shared.join("circondari-liguria.csv"));
    let offices = read_csv(&shared.join("uffici-giudiziari.csv"));
    let r = dev();
    assert_eq!(comuni.len(), r.competences().len());
    let seats = BTreeMap::from([
        ("010025", GENOVA),
        ("009056", SAVONA),
        ("008031", IMPERIA),
        ("011015", LA_SPEZIA),
    ]);
    for row in &comuni {
        let istat: IstatCode = row["istat_comune"].parse().unwrap();
        let c = r.competence(&istat).unwrap();
        assert_eq!(c.comune, row["comune"]);
        assert_eq!(c.province, row["provincia"]);
        let expected = match (row["tribunale"].as_str(), seats.get(istat.as_str())) {
            ("", Some(seat)) => Some(*seat),
            ("", None) => None,
            (csv, _) => Some(csv),
        };
        assert_eq!(c.court.as_ref().map(CourtCode::as_str), expected, "{istat}");
    }
    for court in r.courts() {
        let row = offices
            .iter()
            .find(|o| o["codice_ufficio"] == court.code.as_str())
            .unwrap();
        assert_eq!(court.name, row["descrizione"]);
        assert_eq!(court.pec_deposit, row["pec_deposito"]);
        assert_eq!(row["tipo_ufficio"], "Tribunale Ordinario");
    }
}

#[test]
fn imports_with_the_development_certificate_in_place() {
    // The workspace layout, in a temporary folder: the data file three
    // levels below the root, the development PKI in certs/dev/.
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("adapters/registry/data");
    let certs = root.path().join("certs/dev");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::create_dir_all(&certs).unwrap();
    std::fs::copy(
        manifest_dir().join("data/dev-registry.toml"),
        data.join("dev-registry.toml"),
    )
    .unwrap();
    let file = data.join("dev-registry.toml");
    let err = ponte_registry::import(&file).unwrap_err();
    assert_eq!(err.problems().len(), 4, "{err}");

    std::fs::copy(
        manifest_dir().join("tests/fixtures/test-court.pem"),
        certs.join("court-encryption.pem"),
    )
    .unwrap();
    let r = ponte_registry::import(&file).unwrap();
    assert_eq!(r.courts().len(), 4);
}

/// A small RFC 4180 reader: header row, quoted fields, doubled quotes.
fn read_csv(path: &PathBuf) -> Vec<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (the shared folder sits beside the repository)",
            path.display()
        )
    });
    let mut records: Vec<Vec<String>> = Vec::new();
    let (mut record, mut field, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => record.push(std::mem::take(&mut field)),
            ('\r', false) => {}
            ('\n', false) => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (c, _) => field.push(c),
        }
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push(record);
    }
    let header = records.remove(0);
    records
        .into_iter()
        .map(|r| {
            assert_eq!(r.len(), header.len(), "{r:?}");
            header.iter().cloned().zip(r).collect()
        })
        .collect()
}
