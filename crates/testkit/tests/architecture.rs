//! `docs/architecture.md`'s crate table is held to `cargo metadata`: every
//! crate of the workspace has its row (the functions one row together),
//! and a row's "depends on" names exactly the crates of ours the crate
//! depends on (normal dependencies), whatever else it names (the AWS SDK,
//! serde). So the table cannot drift from the manifests.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Our crates by their short name (`domain` for `foodstream-domain`), each
/// with the short names of ours it depends on; the functions as one
/// `functions/*` entry, the union of theirs.
fn from_manifests() -> BTreeMap<String, BTreeSet<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = std::process::Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(workspace())
        .output()
        .expect("cargo metadata runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let metadata: Value = serde_json::from_slice(&output.stdout).unwrap();
    let ours: BTreeSet<String> = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect();
    let short = |name: &str| name.strip_prefix("foodstream-").unwrap_or(name).to_owned();
    let mut crates: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for package in metadata["packages"].as_array().unwrap() {
        let manifest = package["manifest_path"].as_str().unwrap();
        let deps: BTreeSet<String> = package["dependencies"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["kind"].is_null())
            .map(|d| d["name"].as_str().unwrap())
            .filter(|name| ours.contains(*name))
            .map(short)
            .collect();
        let key = if manifest.contains("/functions/") {
            "functions/*".to_owned()
        } else {
            format!("crates/{}", Path::new(manifest).parent().unwrap().file_name().unwrap().to_string_lossy())
        };
        crates.entry(key).or_default().extend(deps);
    }
    crates
}

/// The table's rows: the folder in backticks of the second cell, and the
/// words of the last cell (comma-separated, a parenthesis dropped).
fn from_table(text: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut rows = BTreeMap::new();
    for line in text.lines().filter(|l| l.starts_with('|')) {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        let Some(folder) = cells.get(1).and_then(|c| c.strip_prefix('`')).and_then(|c| c.strip_suffix('`'))
        else {
            continue;
        };
        let Some(depends) = cells.last() else { continue };
        let words = depends
            .split(',')
            .map(|word| word.split('(').next().unwrap_or_default().trim().to_owned())
            .filter(|word| !word.is_empty())
            .collect();
        rows.insert(folder.to_owned(), words);
    }
    rows
}

/// What disagrees between the table and the manifests, a line each.
fn disagreements(
    table: &BTreeMap<String, BTreeSet<String>>,
    manifests: &BTreeMap<String, BTreeSet<String>>,
) -> Vec<String> {
    let names: BTreeSet<String> = manifests
        .values()
        .flatten()
        .cloned()
        .chain(manifests.keys().map(|k| k.trim_start_matches("crates/").to_owned()))
        .collect();
    let mut wrong = Vec::new();
    for (folder, deps) in manifests {
        match table.get(folder) {
            None => wrong.push(format!("{folder}: no row in the table")),
            Some(words) => {
                let named: BTreeSet<String> = words.iter().filter(|w| names.contains(*w)).cloned().collect();
                if &named != deps {
                    wrong.push(format!(
                        "{folder}: the table says it depends on {named:?}; its manifest on {deps:?}"
                    ));
                }
            }
        }
    }
    for folder in table.keys().filter(|f| !manifests.contains_key(*f)) {
        wrong.push(format!("{folder}: a row for no crate"));
    }
    wrong
}

#[test]
fn the_architecture_table_names_every_crate_and_its_dependencies_as_cargo_does() {
    let text = std::fs::read_to_string(workspace().join("docs/architecture.md")).unwrap();
    let wrong = disagreements(&from_table(&text), &from_manifests());
    assert!(wrong.is_empty(), "docs/architecture.md's crate table:\n{}", wrong.join("\n"));
}

#[test]
fn a_missing_row_a_missing_dependency_and_a_stray_row_are_each_reported() {
    let manifests: BTreeMap<String, BTreeSet<String>> =
        [("crates/domain", vec![]), ("crates/aws", vec!["domain"]), ("crates/extra", vec![])]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.into_iter().map(String::from).collect()))
            .collect();
    let table = from_table(
        "| layer | crate | what | depends on |\n|---|---|---|---|\n\
         | domain | `crates/domain` | rules | serde |\n\
         | infra | `crates/aws` | adapters | AWS SDK (DynamoDB) |\n\
         | gone | `crates/gone` | nothing | domain |\n",
    );
    let wrong = disagreements(&table, &manifests);
    assert_eq!(wrong.len(), 3, "{wrong:#?}");
    assert!(wrong[0].starts_with("crates/aws: the table says"), "{wrong:#?}");
    assert!(wrong[1].starts_with("crates/extra: no row"), "{wrong:#?}");
    assert!(wrong[2].starts_with("crates/gone: a row for no crate"), "{wrong:#?}");
}
