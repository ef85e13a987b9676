//! The official R4 examples: each is parsed (no panic, every refusal a
//! 400/413/415/422 Rejection, no false unknown element), checked, and, as a
//! positive control, parsed again with an element added deep inside.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ponte_fhir::bundle;
use serde_json::{Value, json};

use super::{assert_bilingual, collection, parse_value, refused, rules};

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fhir-examples/r4/json")
}

/// A Bundle as is, any other resource wrapped in a collection Bundle.
fn as_bundle(value: Value) -> Value {
    if value["resourceType"] == "Bundle" {
        value
    } else {
        collection(&[value])
    }
}

/// Adds an element no FHIR version defines to the first object found at
/// least two levels inside the first entry's resource; its expected path.
fn inject_unknown(bundle: &mut Value) -> Option<String> {
    fn walk(value: &mut Value, path: String, depth: usize) -> Option<String> {
        match value {
            Value::Object(object) => {
                if depth >= 2 {
                    object.insert("ponteNotAnElement".into(), json!(1));
                    return Some(format!("{path}.ponteNotAnElement"));
                }
                for (key, child) in object.iter_mut() {
                    let name = key.strip_prefix('_').unwrap_or(key);
                    if let Some(found) = walk(child, format!("{path}.{name}"), depth + 1) {
                        return Some(found);
                    }
                }
                None
            }
            Value::Array(items) => items
                .iter_mut()
                .enumerate()
                .find_map(|(i, child)| walk(child, format!("{path}[{i}]"), depth)),
            _ => None,
        }
    }
    let resource = bundle.pointer_mut("/entry/0/resource")?;
    walk(resource, "Bundle.entry[0].resource".to_owned(), 0)
}

#[test]
fn official_examples() {
    let dir = examples_dir();
    let Ok(listing) = std::fs::read_dir(&dir) else {
        eprintln!("skipped: no examples at {}", dir.display());
        return;
    };
    let mut files: Vec<PathBuf> = listing.filter_map(|e| e.ok().map(|e| e.path())).collect();
    files.sort();
    let mut accepted = 0;
    let mut injected = 0;
    let mut refusals: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for file in &files {
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text = std::fs::read(file).expect("readable");
        let value: Value = serde_json::from_slice(&text).expect("examples are JSON");
        let mut bundle = as_bundle(value);
        match parse_value(&bundle) {
            Ok(parsed) => {
                accepted += 1;
                assert!(
                    parsed.warnings.iter().all(|w| w.rule != "unknown_element"),
                    "{name}: {:?}",
                    parsed.warnings
                );
                // Must not panic; the examples break many of our rules.
                let _ = bundle::check(&parsed);
                // Positive control: an element added deep inside is found.
                if let Some(path) = inject_unknown(&mut bundle) {
                    let r = refused(&bundle);
                    assert!(
                        r.issues.iter().any(|i| i.rule == "unknown_element"
                            && i.expression.as_deref() == Some(path.as_str())),
                        "{name}: {path} not reported: {:?}",
                        rules(&r.issues)
                    );
                    injected += 1;
                }
            }
            Err(r) => {
                assert!(matches!(r.status, 400 | 413 | 415 | 422), "{name}: {r:?}");
                assert!(!r.issues.is_empty(), "{name}");
                assert_bilingual(&r.issues);
                let first = &r.issues[0];
                refusals
                    .entry(format!("{} {}: {}", r.status, first.rule, first.en))
                    .or_default()
                    .push(format!(
                        "{name} ({})",
                        first.expression.clone().unwrap_or_default()
                    ));
            }
        }
    }
    println!(
        "official R4 examples: {accepted} of {} accepted",
        files.len()
    );
    println!("unknown element injected and found in {injected} of them");
    for (reason, names) in &refusals {
        println!("refused, {reason} — {}:", names.len());
        for name in names {
            println!("    {name}");
        }
    }
    assert!(accepted > 0);
}
