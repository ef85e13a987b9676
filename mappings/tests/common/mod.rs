//! What the mapping tests share: the workspace's folders, the development
//! registry, the office, the fixtures, and copies of the mapping folder to
//! edit.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ponte_mappings::{
    MapError, MapInput, MappedFiling, MappingSet, OfficeAddress, OfficeProfile, Officer,
};
use ponte_registry::Registry;
use serde_json::Value;

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The mapping files.
pub fn files_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("files")
}

/// The valid FHIR fixtures.
pub fn fixtures_dir() -> PathBuf {
    workspace().join("tests/fixtures/fhir/valid")
}

/// The development registry.
pub fn registry() -> &'static Registry {
    static R: OnceLock<Registry> = OnceLock::new();
    R.get_or_init(|| {
        Registry::load(workspace().join("adapters/registry/data/dev-registry.toml"))
            .expect("the development registry loads")
    })
}

/// The office every test maps for.
pub fn office() -> OfficeProfile {
    OfficeProfile {
        name: "Ufficio di Prossimità di Genova".into(),
        codice_fiscale: "00856930102".into(),
        codice_univoco_pa: None,
        address: OfficeAddress {
            street: "Piazza Dante".into(),
            number: Some("1".into()),
            postcode: "16121".into(),
            town: "Genova".into(),
            province: "GE".into(),
            country: "IT".into(),
        },
        town: "Genova".into(),
        officers: vec![Officer {
            surname: "Verdi".into(),
            given_name: "Paolo".into(),
            codice_fiscale: "VRDPLA70A01D969S".into(),
        }],
        pec_address: "prossimita.genova@pec.example.it".into(),
    }
}

/// A valid fixture, parsed.
pub fn fixture(name: &str) -> Value {
    let text = std::fs::read_to_string(fixtures_dir().join(name)).expect("fixture");
    serde_json::from_str(&text).expect("fixture json")
}

/// The filing date every test maps with.
pub fn filed_on() -> time::Date {
    time::macros::date!(2026 - 11 - 26)
}

/// Maps `bundle` as `act` with `set`.
pub fn map_with(
    set: &MappingSet,
    bundle: &Value,
    act: &str,
    court_override: Option<&str>,
) -> Result<MappedFiling, MapError> {
    let office = office();
    set.map(&MapInput {
        bundle,
        requested_act: act,
        registry: registry(),
        office: &office,
        court_override,
        filed_on: filed_on(),
    })
}

/// A copy of the mapping folder in a temporary folder.
pub fn copy_files() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(files_dir()).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, dir.path().join(p.file_name().unwrap())).unwrap();
    }
    dir
}

/// The mapping file the load tests edit.
pub const RICORSO: &str = "ricorso-amministrazione-sostegno.toml";

/// Replaces the first `from` of `file` in `dir` with `to`.
pub fn edit(dir: &Path, file: &str, from: &str, to: &str) {
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{from:?} in {file}");
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
}
