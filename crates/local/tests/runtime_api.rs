//! The Runtime API host driving a real `lambda_runtime` function process.

use foodstream_local::runtime::{FunctionPool, FunctionSpec, InvokeOutcome};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

fn pool(timeout_ms: u64, max_instances: usize) -> FunctionPool {
    traced_pool(timeout_ms, max_instances, false)
}

fn traced_pool(timeout_ms: u64, max_instances: usize, active_tracing: bool) -> FunctionPool {
    FunctionPool::new(FunctionSpec {
        name: "echo".into(),
        binary: PathBuf::from(env!("CARGO_BIN_EXE_local-echo-function")),
        environment: BTreeMap::from([("RUST_LOG".to_string(), "warn".to_string())]),
        timeout: Duration::from_millis(timeout_ms),
        memory_mb: 128,
        max_instances,
        log_file: None,
        launcher: Vec::new(),
        active_tracing,
    })
}

fn body(outcome: &InvokeOutcome) -> Value {
    match outcome {
        InvokeOutcome::Response(bytes) => serde_json::from_slice(bytes).unwrap(),
        other => panic!("expected a response, got {other:?}"),
    }
}

#[tokio::test]
async fn invocations_reach_the_function_and_reuse_a_warm_instance() {
    let pool = pool(5_000, 2);
    let first = pool.invoke(br#"{"hello": "world"}"#.to_vec()).await;
    let answer = body(&first.outcome);
    assert_eq!(answer["echo"], json!({"hello": "world"}));
    assert_eq!(answer["request_id"], json!(first.request_id), "the request id reaches the function");
    assert!(first.init.is_some(), "a cold start records its init duration");
    let second = pool.invoke(b"{}".to_vec()).await;
    assert_eq!(second.init, None, "warm");
    assert_eq!(body(&second.outcome)["pid"], answer["pid"], "same process");
    pool.shutdown().await;
}

#[tokio::test]
async fn a_function_error_is_reported_with_its_type_and_message() {
    let pool = pool(5_000, 1);
    let report = pool.invoke(br#"{"fail": "no such order"}"#.to_vec()).await;
    match report.outcome {
        InvokeOutcome::Error { message, .. } => assert_eq!(message, "no such order"),
        other => panic!("{other:?}"),
    }
    // The instance survives an error.
    assert!(matches!(pool.invoke(b"{}".to_vec()).await.outcome, InvokeOutcome::Response(_)));
    pool.shutdown().await;
}

#[tokio::test]
async fn a_timed_out_invocation_kills_its_instance_and_says_so() {
    let pool = pool(300, 1);
    pool.invoke(b"{}".to_vec()).await; // warm up
    let report = pool.invoke(br#"{"sleep_ms": 5000}"#.to_vec()).await;
    assert_eq!(report.outcome, InvokeOutcome::TimedOut { after: Duration::from_millis(300) });
    assert_eq!(report.outcome.describe(), "Task timed out after 0.30 seconds");
    assert_eq!(pool.idle_instances().await, 0, "never reused");
    let next = pool.invoke(b"{}".to_vec()).await;
    assert!(next.init.is_some(), "a fresh instance");
    pool.shutdown().await;
}

#[tokio::test]
async fn a_crash_is_reported_and_overlapping_calls_start_more_instances() {
    let pool = pool(5_000, 3);
    let crash = pool.invoke(br#"{"exit": true}"#.to_vec()).await;
    assert!(matches!(crash.outcome, InvokeOutcome::Crashed { .. }), "{:?}", crash.outcome);
    let calls = (0..3).map(|_| pool.invoke(br#"{"sleep_ms": 300}"#.to_vec()));
    let reports = futures::future::join_all(calls).await;
    let pids: std::collections::BTreeSet<_> =
        reports.iter().map(|r| body(&r.outcome)["pid"].to_string()).collect();
    assert_eq!(pids.len(), 3, "three overlapping calls, three instances");
    assert_eq!(pool.idle_instances().await, 3);
    pool.shutdown().await;
}

#[tokio::test]
async fn payloads_over_six_megabytes_are_refused_as_lambda_refuses_them() {
    use foodstream_local::runtime::{MAX_INVOKE_PAYLOAD_BYTES, REQUEST_TOO_LARGE, RESPONSE_TOO_LARGE};
    let pool = pool(10_000, 1);
    // A request over the limit never reaches the function.
    let big = serde_json::to_vec(&json!({ "filler": "x".repeat(MAX_INVOKE_PAYLOAD_BYTES) })).unwrap();
    let report = pool.invoke(big).await;
    match &report.outcome {
        InvokeOutcome::Error { error_type, .. } => assert_eq!(error_type, REQUEST_TOO_LARGE),
        other => panic!("{other:?}"),
    }
    assert_eq!(report.init, None, "no instance was started for it");
    // A response over the limit is an invocation error, not a response.
    let report =
        pool.invoke(serde_json::to_vec(&json!({ "respond_bytes": MAX_INVOKE_PAYLOAD_BYTES })).unwrap()).await;
    match &report.outcome {
        InvokeOutcome::Error { error_type, .. } => assert_eq!(error_type, RESPONSE_TOO_LARGE),
        other => panic!("{other:?}"),
    }
    // Just under both limits goes through.
    let report = pool.invoke(serde_json::to_vec(&json!({ "respond_bytes": 1_000_000 })).unwrap()).await;
    assert!(matches!(report.outcome, InvokeOutcome::Response(_)), "{:?}", report.outcome);
    pool.shutdown().await;
}

/// Lambda gives every invocation an X-Ray trace header of its own, sampled
/// when the function's tracing is active (the functions start an order's
/// trace from it).
#[tokio::test]
async fn every_invocation_gets_its_own_xray_trace_sampled_as_the_template_says() {
    for active in [true, false] {
        let pool = traced_pool(5000, 1, active);
        let first =
            body(&pool.invoke(b"{}".to_vec()).await.outcome)["xray_trace_id"].as_str().unwrap().to_owned();
        let second =
            body(&pool.invoke(b"{}".to_vec()).await.outcome)["xray_trace_id"].as_str().unwrap().to_owned();
        assert_ne!(first, second);
        let parts: Vec<&str> = first.split(';').collect();
        let root: Vec<&str> = parts[0].strip_prefix("Root=").unwrap().split('-').collect();
        assert_eq!((root[0], root[1].len(), root[2].len()), ("1", 8, 24), "{first}");
        assert!(root[2].chars().any(|c| c != '0'), "{first}");
        assert_eq!(parts[2], if active { "Sampled=1" } else { "Sampled=0" }, "{first}");
        pool.shutdown().await;
    }
}
