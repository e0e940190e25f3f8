//! End to end: the local stack started from `infra/template.yaml` with the
//! real function binaries (their Runtime API, the gateway, the MSK and
//! stream mappings) against the emulators `make test` starts, and the whole
//! SPEC scenario played through HTTP with a short refund window. Every
//! record the scenario's own consumer read from the three topics must match
//! its schema under `events/`.
//!
//! The stack runs under a namespace of its own (tables, bucket, queue,
//! consumer groups and topics), so it neither sees nor disturbs anything else
//! on the emulators, a `make up` stack included.

mod support;

use foodstream_harness::scenario::{self, ScenarioConfig};
use foodstream_local::activity::StackEvent;
use foodstream_testkit::schemas::Schemas;
use std::collections::BTreeMap;
use std::time::Duration;
use support::{Settings, TestStack};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_whole_scenario_runs_through_the_local_stack() {
    let refund_window = Duration::from_secs(3);
    let t = TestStack::start(
        Settings::new("e2e")
            .parameter("RefundWindowSeconds", refund_window.as_secs())
            .parameter("DeliveryDurationMs", 1000),
    )
    .await;
    let config = ScenarioConfig {
        api: t.stack.api_url.clone(),
        kafka_bootstrap: foodstream_testkit::kafka_bootstrap(),
        topic_prefix: t.topic_prefix.clone(),
        jwt_secret: support::SECRET.into(),
        delivery_duration: Duration::from_millis(1000),
        refund_window,
        settle_timeout: Duration::from_secs(60),
        run_id: t.run.clone(),
    };
    let played = scenario::play(&config).await;
    let failures_sent = t
        .activity
        .lock()
        .unwrap()
        .iter()
        .filter(|e| matches!(e, StackEvent::SentToFailure { .. }))
        .map(ToString::to_string)
        .collect::<Vec<_>>();
    let (activity, log_dir) = (t.recent_activity(40), t.log_dir.clone());
    t.stop().await;
    let report = match played {
        Ok(report) => report,
        Err(e) => panic!(
            "{e}\n--- stack activity (last 40) ---\n{activity}\n--- function logs in {} ---",
            log_dir.display()
        ),
    };
    println!("{}", report.timeline());

    // The scenario checked its promises; make sure each one was checked.
    let checked: Vec<&str> = report.checks.iter().map(|c| c.name.as_str()).collect();
    for promise in ["refund window", "order states", "events", "notifications", "logs", "delivery time"] {
        assert!(checked.contains(&promise), "{promise} was not checked: {checked:?}");
    }
    assert_eq!(report.orders.len(), 7);
    assert!(report.delivery_times.len() >= 5, "{:?}", report.delivery_times);
    assert!(
        report.delivery_times.iter().all(|d| *d >= Duration::from_millis(950) && *d < Duration::from_secs(3))
    );
    let late = &report.orders["late refund refused"];
    assert_eq!(late["status"], "DELIVERED");
    assert!(late["refund"].is_null(), "a refund after the window left a trace: {late}");
    // Nothing the functions produced was refused on the way.
    assert!(failures_sent.is_empty(), "records went to the failure bucket: {failures_sent:?}");

    // Every record read from the topics matches its schema.
    let schemas = Schemas::load();
    let mut per_topic: BTreeMap<&str, usize> = BTreeMap::new();
    for event in &report.events {
        let errors = schemas.errors(&event.topic, &event.value);
        assert!(errors.is_empty(), "{} record {}: {errors:?}", event.topic, event.value);
        *per_topic.entry(event.topic.as_str()).or_default() += 1;
    }
    let distinct = |topic: &str, field: fn(&serde_json::Value) -> String| {
        report
            .events
            .iter()
            .filter(|e| e.topic == topic)
            .map(|e| field(&e.value))
            .collect::<std::collections::BTreeSet<_>>()
            .len()
    };
    let transitions: usize = report.orders.values().map(|o| o["timeline"].as_array().unwrap().len()).sum();
    assert_eq!(
        distinct("order-events", |v| format!("{}#{}", v["order_id"], v["order_version"])),
        transitions,
        "{per_topic:?}"
    );
    // Assigned + completed for each of the 5 deliveries, and the failed one.
    assert_eq!(distinct("delivery-events", |v| v["event_id"].to_string()), 11, "{per_topic:?}");
    assert_eq!(
        distinct("log-events", |v| v["data"]["notification_id"].to_string()),
        report.logs.len(),
        "{per_topic:?}"
    );
}
