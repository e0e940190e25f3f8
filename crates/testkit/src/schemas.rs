//! The event schemas under `events/schemas/`, loaded into one registry so
//! `$ref`s between them resolve, and records checked against the schema of
//! their topic and type.

use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The base of every schema's `$id`: an `$id` is this plus the file's path
/// under `events/schemas/`.
pub const BASE: &str = "https://foodstream.dev/events/schemas/";

/// `events/schemas/` in this checkout.
pub fn schema_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events/schemas")
}

/// Every schema file, by its path relative to `events/schemas/`.
pub fn schema_files() -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    let mut dirs = vec![schema_dir()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                let relative = path.strip_prefix(schema_dir()).unwrap().to_string_lossy().replace('\\', "/");
                let value: Value = serde_json::from_slice(&std::fs::read(&path).unwrap())
                    .unwrap_or_else(|e| panic!("{relative} is not JSON: {e}"));
                out.insert(relative, value);
            }
        }
    }
    out
}

/// Every event schema, and the registry their `$ref`s resolve in.
pub struct Schemas {
    /// Each schema by its path under `events/schemas/` ([`schema_files`]).
    pub files: BTreeMap<String, Value>,
    /// The schemas by their `$id`s.
    pub registry: jsonschema::Registry<'static>,
}

impl Schemas {
    /// Reads every schema; panics on a file that is not JSON, or whose
    /// `$id` is not [`BASE`] plus its path.
    pub fn load() -> Schemas {
        let files = schema_files();
        let resources: Vec<(String, jsonschema::Resource)> = files
            .iter()
            .map(|(relative, value)| {
                assert_eq!(value["$id"], json!(format!("{BASE}{relative}")), "$id of {relative}");
                (format!("{BASE}{relative}"), jsonschema::Resource::from_contents(value.clone()))
            })
            .collect();
        let registry = jsonschema::Registry::new().extend(resources).unwrap().prepare().unwrap();
        Schemas { files, registry }
    }

    /// The validator of `<topic>/<event_type>.json`, formats checked;
    /// panics when there is no such schema or it does not compile.
    pub fn validator(&self, topic: &str, event_type: &str) -> jsonschema::Validator {
        let relative = format!("{topic}/{event_type}.json");
        let schema = self.files.get(&relative).unwrap_or_else(|| panic!("no schema {relative}"));
        jsonschema::options()
            .with_registry(&self.registry)
            .should_validate_formats(true)
            .build(schema)
            .unwrap_or_else(|e| panic!("{relative} does not compile: {e}"))
    }

    /// Why `event` does not match its schema (the one of `topic` and its
    /// `event_type`), each error with the path of the value at fault;
    /// empty when it matches.
    pub fn errors(&self, topic: &str, event: &Value) -> Vec<String> {
        let event_type = event["event_type"].as_str().unwrap_or("missing");
        self.validator(topic, event_type)
            .iter_errors(event)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect()
    }
}
