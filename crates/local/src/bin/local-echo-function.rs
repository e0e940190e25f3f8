//! A test fixture for the Runtime API host: a real `lambda_runtime`
//! function that echoes its event, sleeps `{"sleep_ms": n}`, fails on
//! `{"fail": "..."}`, exits on `{"exit": true}` and answers `{"respond_bytes":
//! n}` with n bytes of filler. Given an `aws:kafka`
//! event, it fails when a record's value contains `poison`. With
//! `ECHO_INVOCATIONS_FILE` set, it appends every event it gets there. A
//! record containing `slow` makes the call take 3 s, after which it appends
//! `{"slow_call_done": true}`. Given an `aws:sqs` event, it answers a
//! partial batch response naming the messages whose body contains `fail`
//! (one naming no message of the batch if a body contains `garble`), fails
//! the call if a body contains `error`,
//! and a message containing `slow` makes the call take 1 s (then it appends
//! `{"slow_call_done": true}`). Otherwise it answers the event under `echo`,
//! with the invocation's context (request id, trace id, invoked function
//! ARN) and its log stream's name.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        let payload = event.payload;
        if let Ok(path) = std::env::var("ECHO_INVOCATIONS_FILE") {
            use std::io::Write;
            let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
            // One write per line: lines of instances writing at once never mix.
            file.write_all(format!("{payload}\n").as_bytes())?;
        }
        let any_record = |marker: &str| {
            payload["records"]
                .as_object()
                .into_iter()
                .flatten()
                .flat_map(|(_, r)| r.as_array())
                .flatten()
                .any(|r| {
                    use base64::Engine;
                    let value = r["value"].as_str().unwrap_or_default();
                    let bytes = base64::engine::general_purpose::STANDARD.decode(value).unwrap_or_default();
                    String::from_utf8_lossy(&bytes).contains(marker)
                })
        };
        let messages: Vec<(String, String)> = payload["Records"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| r["eventSource"] == "aws:sqs")
            .map(|r| {
                let id = r["messageId"].as_str().unwrap_or_default().to_owned();
                (id, r["body"].as_str().unwrap_or_default().to_owned())
            })
            .collect();
        if !messages.is_empty() {
            if messages.iter().any(|(_, body)| body.contains("slow")) {
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                if let Ok(path) = std::env::var("ECHO_INVOCATIONS_FILE") {
                    use std::io::Write;
                    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
                    file.write_all(format!("{}\n", json!({"slow_call_done": true})).as_bytes())?;
                }
            }
            if messages.iter().any(|(_, body)| body.contains("error")) {
                return Err(Error::from("a message made the whole call fail"));
            }
            if messages.iter().any(|(_, body)| body.contains("garble")) {
                return Ok(json!({"batchItemFailures": [{"itemIdentifier": "no-such-message"}]}));
            }
            let failures: Vec<Value> = messages
                .iter()
                .filter(|(_, body)| body.contains("fail"))
                .map(|(id, _)| json!({"itemIdentifier": id}))
                .collect();
            return Ok(json!({"batchItemFailures": failures}));
        }
        if any_record("slow") {
            tokio::time::sleep(std::time::Duration::from_secs(3)).await;
            if let Ok(path) = std::env::var("ECHO_INVOCATIONS_FILE") {
                use std::io::Write;
                let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
                file.write_all(format!("{}\n", json!({"slow_call_done": true})).as_bytes())?;
            }
        }
        if any_record("poison") {
            return Err(Error::from("a poison record"));
        }
        if let Some(ms) = payload.get("sleep_ms").and_then(Value::as_u64) {
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
        }
        if payload.get("exit").and_then(Value::as_bool) == Some(true) {
            std::process::exit(3);
        }
        if let Some(bytes) = payload.get("respond_bytes").and_then(Value::as_u64) {
            return Ok(json!({ "filler": "x".repeat(bytes as usize) }));
        }
        if let Some(message) = payload.get("fail").and_then(Value::as_str) {
            return Err(Error::from(message.to_owned()));
        }
        Ok::<_, Error>(json!({
            "echo": payload,
            "request_id": event.context.request_id,
            "xray_trace_id": event.context.xray_trace_id,
            "invoked_function_arn": event.context.invoked_function_arn,
            "log_stream_name": std::env::var("AWS_LAMBDA_LOG_STREAM_NAME").ok(),
            "pid": std::process::id(),
        }))
    }))
    .await
}
