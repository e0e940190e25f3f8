//! A test fixture for the Runtime API host: a real `lambda_runtime`
//! function that echoes its event, sleeps `{"sleep_ms": n}`, fails on
//! `{"fail": "..."}` and exits on `{"exit": true}`.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        let payload = event.payload;
        if let Some(ms) = payload.get("sleep_ms").and_then(Value::as_u64) {
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
        }
        if payload.get("exit").and_then(Value::as_bool) == Some(true) {
            std::process::exit(3);
        }
        if let Some(message) = payload.get("fail").and_then(Value::as_str) {
            return Err(Error::from(message.to_owned()));
        }
        Ok::<_, Error>(
            json!({"echo": payload, "request_id": event.context.request_id, "pid": std::process::id()}),
        )
    }))
    .await
}
