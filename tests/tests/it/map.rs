//! `ponte map` builds a filing offline from a FHIR bundle, and `ponte
//! envelope inspect` opens its envelope with the court's key; the court's
//! schema validates DatiAtto.xml with `xmllint`.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::harness::{dev_pki, ponte_bin, run, shared_dir, workspace_root};

#[test]
fn ponte_map_builds_offline_and_envelope_inspect_opens_it() {
    let dir = tempfile::tempdir().unwrap();
    let pki = dev_pki();
    let config = dir.path().join("ponte.toml");
    std::fs::write(
        &config,
        format!(
            "[tls]\ncert = \"x\"\nkey = \"x\"\nclient_cas = [{:?}]\n{}",
            pki.join("ca.pem").display().to_string(),
            super::harness::pipeline_config(dir.path(), None, true)
        ),
    )
    .unwrap();
    let out = dir.path().join("out");
    let bundle: PathBuf =
        workspace_root().join("tests/fixtures/fhir/valid/tso-la-spezia-baldassini.xml");
    let report = run(Command::new(ponte_bin())
        .arg("map")
        .arg(&bundle)
        .arg("--out")
        .arg(&out)
        .arg("--config")
        .arg(&config));
    let report = String::from_utf8_lossy(&report);
    assert!(report.contains("0110150093"), "{report}");
    for file in [
        "DatiAtto.xml",
        "DatiAtto.xml.p7m",
        "IndiceBusta.xml",
        "Atto.msg",
        "Atto.enc",
    ] {
        assert!(out.join(file).is_file(), "{file} missing: {report}");
    }
    run(Command::new("xmllint")
        .args(["--noout", "--schema"])
        .arg(shared_dir().join("pct-xsd/Atti/sici/sicid_v7/Introduttivi.xsd"))
        .arg(out.join("DatiAtto.xml")));
    let inspect = |key: &Path| {
        Command::new(ponte_bin())
            .args(["envelope", "inspect"])
            .arg(out.join("Atto.enc"))
            .arg("--key")
            .arg(key)
            .arg("--cert")
            .arg(pki.join("court-encryption.pem"))
            .arg("--ca")
            .arg(pki.join("ca.pem"))
            .arg("--schemas")
            .arg(shared_dir().join("pct-xsd"))
            .output()
            .unwrap()
    };
    let opened = inspect(&pki.join("court-encryption.key"));
    let text = String::from_utf8_lossy(&opened.stdout);
    assert!(opened.status.success(), "{text}");
    assert!(text.contains("DatiAtto.xml: valid"), "{text}");
    assert!(text.contains("IndiceBusta.xml: valid"), "{text}");
    assert_eq!(text.matches(": valid, 1 signer").count(), 2, "{text}");
    // Another key cannot open it.
    let wrong = inspect(&pki.join("signer.key"));
    assert_eq!(wrong.status.code(), Some(1));
    // A comune without established competence stops `ponte map` too.
    let held = Command::new(ponte_bin())
        .arg("map")
        .arg(workspace_root().join("tests/fixtures/fhir/valid/capacity-varese-ligure-cevasco.json"))
        .arg("--out")
        .arg(dir.path().join("held"))
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(held.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&held.stderr).contains("office must choose"));
}
