//! `make invoke`: one function run once against a running stack's
//! emulators, with the environment that stack gives it (the names of
//! `stack.json`), through `foodstream_local::invoke`.

mod support;

use base64::Engine;
use foodstream_harness::api::Route;
use foodstream_local::invoke::{self, InvokeError, Target};
use foodstream_local::runtime::InvokeOutcome;
use serde_json::{Value, json};
use std::path::PathBuf;

fn target(state_dir: PathBuf, log_dir: PathBuf) -> Target {
    Target {
        template: support::workspace().join("infra/template.yaml"),
        bin_dir: Some(support::bin_dir()),
        state_dir,
        // The running stack's, from its stack.json.
        aws_endpoint: None,
        kafka: None,
        log_dir,
        launcher: support::launcher().join(" "),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn invoke_runs_a_function_once_on_the_running_stacks_tables() {
    let t = support::TestStack::start(support::Settings::new("invoke")).await;
    let owner = t.token("owner-1", "owner", Some("store-1"));
    t.expect(
        &owner,
        Route::PutMenuItem { store: "store-1", product: "chicken" },
        Some(json!({"name": "Fried chicken", "price": 18000, "stock": 10})),
        200,
    )
    .await;
    // What `foodstream-local up` writes, for this test's stack.
    let state_dir = t.log_dir.join("invoke-state");
    std::fs::create_dir_all(&state_dir).unwrap();
    let settings = json!({
        "namespace": t.run,
        "topic_prefix": t.topic_prefix,
        "pid": std::process::id(),
        "aws_endpoint": foodstream_testkit::endpoint(),
        "kafka_bootstrap": foodstream_testkit::kafka_bootstrap(),
    });
    std::fs::write(state_dir.join("stack.json"), settings.to_string()).unwrap();
    let target = target(state_dir, t.log_dir.clone());

    let event = support::workspace().join("events/list-menu.json");
    let invocation = invoke::invoke(&target, "list-menu", Some(event.as_path())).await.expect("invoked");
    let InvokeOutcome::Response(body) = &invocation.outcome else {
        panic!("list-menu failed: {}", invocation.outcome.describe());
    };
    assert!(invocation.init.is_some(), "a new instance");
    let response: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(response["statusCode"], json!(200), "{response}");
    let text = response["body"].as_str().unwrap_or_default();
    let menu = if response["isBase64Encoded"] == json!(true) {
        String::from_utf8(base64::engine::general_purpose::STANDARD.decode(text).unwrap()).unwrap()
    } else {
        text.to_owned()
    };
    assert!(menu.contains("Fried chicken"), "the item the stack's own function stored: {menu}");

    // Its environment is the stack's: the table of this namespace.
    let spec = invoke::function_spec(&target, "list-menu").await.unwrap();
    assert_eq!(spec.environment["CATALOG_TABLE"], format!("{}-CatalogTable", t.run));
    t.stop().await;
}

#[tokio::test]
async fn invoke_names_the_functions_asks_an_api_function_for_its_event_and_needs_a_stack() {
    let nowhere = std::env::temp_dir().join(foodstream_testkit::unique("invoke-no-stack"));
    let target = target(nowhere.clone(), nowhere.join("logs"));

    let unknown = invoke::invoke(&target, "list-menus", None).await.unwrap_err();
    assert!(matches!(unknown, InvokeError::UnknownFunction { .. }), "{unknown}");
    let unknown = unknown.to_string();
    assert!(unknown.contains("list-menu,") && unknown.contains("place-order"), "{unknown}");

    let api = invoke::invoke(&target, "list-menu", None).await.unwrap_err().to_string();
    assert!(api.contains("EVENT=events/") && api.contains("list-menu.json"), "{api}");

    let not_up = invoke::invoke(&target, "delivery-sweeper", None).await.unwrap_err();
    assert!(matches!(not_up, InvokeError::NotUp { .. }), "{not_up}");
    assert!(not_up.to_string().contains("make up"), "{not_up}");
}
