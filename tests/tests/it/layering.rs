//! The workspace's dependency rules (STYLE §1), read from `cargo metadata`:
//! adapters depend on no workspace crate; `mappings` not on `gateway`.

use std::collections::HashSet;

#[test]
fn adapters_are_leaves_and_mappings_do_not_reach_the_gateway() {
    let metadata = cargo_metadata::MetadataCommand::new()
        .manifest_path(super::harness::workspace_root().join("Cargo.toml"))
        .no_deps()
        .exec()
        .unwrap();
    let members: HashSet<&str> = metadata
        .workspace_packages()
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    let mut adapters = 0;
    for package in metadata.workspace_packages() {
        let path = package.manifest_path.as_str();
        let workspace_deps: Vec<&str> = package
            .dependencies
            .iter()
            .filter(|d| d.kind != cargo_metadata::DependencyKind::Development)
            .map(|d| d.name.as_str())
            .filter(|n| members.contains(n))
            .collect();
        if path.contains("/adapters/") {
            adapters += 1;
            assert!(
                workspace_deps.is_empty(),
                "{} depends on workspace crates {workspace_deps:?}",
                package.name
            );
        }
        if package.name == "ponte-mappings" {
            assert!(!workspace_deps.contains(&"ponte-gateway"));
        }
    }
    assert_eq!(adapters, 4, "fhir, pct, pec, registry");
}
