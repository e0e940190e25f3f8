//! The event schemas under `events/schemas/`, loaded into one registry so
//! `$ref`s between them resolve, and records checked against the schema of
//! their topic and type.

use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const BASE: &str = "https://foodstream.dev/events/schemas/";

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

pub struct Schemas {
    pub files: BTreeMap<String, Value>,
    pub registry: jsonschema::Registry<'static>,
}

impl Schemas {
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

    pub fn validator(&self, topic: &str, event_type: &str) -> jsonschema::Validator {
        let relative = format!("{topic}/{event_type}.json");
        let schema = self.files.get(&relative).unwrap_or_else(|| panic!("no schema {relative}"));
        jsonschema::options()
            .with_registry(&self.registry)
            .should_validate_formats(true)
            .build(schema)
            .unwrap_or_else(|e| panic!("{relative} does not compile: {e}"))
    }

    pub fn errors(&self, topic: &str, event: &Value) -> Vec<String> {
        let event_type = event["event_type"].as_str().unwrap_or("missing");
        self.validator(topic, event_type)
            .iter_errors(event)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect()
    }
}
