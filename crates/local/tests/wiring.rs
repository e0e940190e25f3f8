//! The template against the code's own account of each function.
//!
//! Every function binary is run with `FOODSTREAM_WIRING=print` and the
//! environment the template gives it: its `main.rs` builds its adapters,
//! which read their variables through `foodstream_config` and declare the
//! AWS actions of the port methods the function uses, and it prints both
//! instead of serving. The test then holds the template to that account:
//!
//! - it sets exactly the variables the function reads (`RUST_LOG` aside);
//! - its `Policies` allow exactly what its adapters declare plus what its
//!   event source mappings need, no more (no write on an index, no action
//!   nothing calls) and no less. A declaration on a bucket's objects under
//!   a prefix is met by the same action on more of the bucket's objects when
//!   that is needed anyway (a consumer parks its poison records under
//!   `parked/` of the failure bucket, where its mapping's on-failure
//!   destination already has it write every object).
//!
//! The declarations themselves are held to the code at every DynamoDB call
//! (`foodstream_aws::access`), and the Kafka publisher refuses undeclared
//! topics, so every integration and end-to-end test checks them too.

mod support;

use foodstream_template::Template;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

#[test]
fn every_function_is_given_exactly_what_its_code_reads_and_calls() {
    let template = Template::load(&support::workspace().join("infra/template.yaml")).unwrap();
    let mut problems = Vec::new();
    for function in &template.functions {
        let environment = template
            .resolve(function, &BTreeMap::new(), |resource| Some(format!("test-{resource}")))
            .unwrap();
        let binary = support::bin_dir().join(&function.binary);
        let output = Command::new(&binary)
            .env_clear()
            .envs(&environment)
            .env("FOODSTREAM_WIRING", "print")
            // No region lookup through instance metadata: nothing is called.
            .env("AWS_REGION", "us-east-1")
            .output()
            .unwrap_or_else(|e| {
                panic!("{}: {e} (run `cargo build --workspace --bins` first)", binary.display())
            });
        let stdout = String::from_utf8_lossy(&output.stdout);
        let Some(wiring) = stdout.lines().rev().find_map(|l| serde_json::from_str::<Value>(l).ok()) else {
            problems.push(format!(
                "{}: printed no wiring (exit {:?}): {}",
                function.binary,
                output.status.code(),
                String::from_utf8_lossy(&output.stderr).trim()
            ));
            continue;
        };
        let strings = |key: &str| -> BTreeSet<String> {
            wiring[key].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect()
        };

        let read = strings("environment");
        let set: BTreeSet<String> =
            function.environment.keys().filter(|k| *k != "RUST_LOG").cloned().collect();
        for name in read.difference(&set) {
            problems.push(format!("{}: reads {name}, which the template does not set", function.binary));
        }
        for name in set.difference(&read) {
            problems
                .push(format!("{}: the template sets {name}, which the code never reads", function.binary));
        }

        let mut needed = strings("grants");
        needed.extend(template.mapping_grants(function));
        let allowed = template.policy_grants(function).unwrap();
        for grant in needed.difference(&allowed).filter(|g| !allowed.iter().any(|a| covers(a, g))) {
            problems.push(format!("{}: needs {grant}, which its Policies do not allow", function.binary));
        }
        for grant in allowed.difference(&needed) {
            problems.push(format!("{}: its Policies allow {grant}, which nothing calls", function.binary));
        }
    }
    assert!(problems.is_empty(), "the template and the code disagree:\n  {}", problems.join("\n  "));
}

/// Whether the grant `allowed` allows all of `needed`: the same action on
/// a bucket's objects under a prefix of `needed`'s (`s3:PutObject on
/// objects/FailureBucket/` allows `s3:PutObject on
/// objects/FailureBucket/parked/`).
fn covers(allowed: &str, needed: &str) -> bool {
    let (Some((action, objects)), Some((needed_action, needed_objects))) =
        (allowed.split_once(" on "), needed.split_once(" on "))
    else {
        return false;
    };
    action == needed_action && objects.starts_with("objects/") && needed_objects.starts_with(objects)
}

#[test]
fn a_prefix_of_a_bucket_is_allowed_by_its_whole_bucket_and_nothing_else() {
    let whole = "s3:PutObject on objects/FailureBucket/";
    assert!(covers(whole, "s3:PutObject on objects/FailureBucket/parked/"));
    assert!(!covers(whole, "s3:GetObject on objects/FailureBucket/parked/"), "another action");
    assert!(!covers(whole, "s3:PutObject on objects/FailureBucketCopy/parked/"), "another bucket");
    assert!(!covers("s3:PutObject on objects/FailureBucket/parked/", whole), "more than allowed");
    assert!(!covers("dynamodb:Query on table/OrdersTable", "dynamodb:Query on table/OrdersTable/index/x"));
}

/// The adapters name their tables by logical id and write their expiry
/// attributes; keys and indexes are the template's alone (the integration
/// tests create their tables from it, so an adapter's key that differs
/// fails against the emulator).
#[test]
fn the_tables_are_the_ones_the_adapters_expect() {
    let template = Template::load(&support::workspace().join("infra/template.yaml")).unwrap();
    for spec in foodstream_aws::schema::TABLES {
        let table = template.table(spec.logical_id);
        let table = table.unwrap_or_else(|| panic!("{} is not a table of the template", spec.logical_id));
        assert_eq!(table.ttl_attribute.as_deref(), spec.ttl, "{}: TTL", spec.logical_id);
    }
    assert_eq!(template.tables.len(), foodstream_aws::schema::TABLES.len(), "a table no adapter uses");
}

#[test]
fn a_write_on_an_index_or_an_unknown_resource_is_refused_by_the_reader() {
    let template = Template::parse(
        r#"
Resources:
  OrdersTable:
    Type: AWS::DynamoDB::Table
    Properties:
      AttributeDefinitions: [{AttributeName: order_id, AttributeType: S}]
      KeySchema: [{AttributeName: order_id, KeyType: HASH}]
  F:
    Type: AWS::Serverless::Function
    Metadata: {BuildProperties: {Binary: f}}
    Properties:
      Policies:
        - Statement:
            - Effect: Allow
              Action: [dynamodb:PutItem]
              Resource: [!Sub "${OrdersTable.Arn}/index/by-customer"]
  G:
    Type: AWS::Serverless::Function
    Metadata: {BuildProperties: {Binary: g}}
    Properties:
      Policies:
        - Statement:
            - Effect: Allow
              Action: [dynamodb:*]
              Resource: [!GetAtt OrdersTable.Arn]
"#,
    )
    .unwrap();
    // A write on an index reads as exactly that, which no adapter declares.
    let f = template.function("f").unwrap();
    assert_eq!(
        template.policy_grants(f).unwrap(),
        BTreeSet::from(["dynamodb:PutItem on index/OrdersTable/by-customer".to_string()])
    );
    // A wildcard cannot be compared with declarations: refused, named.
    let g = template.function("g").unwrap();
    let error = template.policy_grants(g).unwrap_err().to_string();
    assert!(error.contains("g: Policies: action"), "{error}");
}
