//! Every valid JSON fixture has an XML twin that says the same thing.
//!
//! The twins are written from the JSON with `PONTE_WRITE_XML_FIXTURES=1
//! cargo test -p ponte-fhir --test suite xml_fixtures::`; the test itself only
//! checks that each XML file converts back to its JSON twin, so a stale or
//! hand-edited twin fails.

use std::path::PathBuf;

use ponte_fhir::{Format, parse, xml};

fn valid_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/fhir/valid")
}

#[test]
fn every_valid_fixture_has_a_matching_xml_twin() {
    let write = std::env::var_os("PONTE_WRITE_XML_FIXTURES").is_some();
    let mut checked = 0;
    for entry in std::fs::read_dir(valid_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let twin = path.with_extension("xml");
        if write {
            std::fs::write(&twin, xml::json_to_xml(&json).unwrap()).unwrap();
        }
        let text =
            std::fs::read(&twin).unwrap_or_else(|_| panic!("{} has no XML twin", path.display()));
        let from_xml = xml::xml_to_json(&text).unwrap();
        assert_eq!(from_xml, json, "{}", twin.display());
        // And the XML twin passes the same intake layers as its JSON.
        parse::parse(&text, Format::Xml, &parse::Limits::default())
            .unwrap_or_else(|r| panic!("{}: {:?}", twin.display(), r.issues));
        checked += 1;
    }
    assert!(checked >= 6);
}
