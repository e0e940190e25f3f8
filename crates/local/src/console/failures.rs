//! The failure bucket's records as the console lists them, newest first,
//! each with the orders it is about.

use super::app::App;
use super::pages::FailureView;
use serde_json::Value;

/// How many failure records the page shows (the newest).
pub const SHOWN_FAILURES: usize = 50;

impl App {
    /// The newest failure records and how many the bucket holds. The
    /// bucket is listed (keys only) each time; a record is read once, as
    /// it never changes under its key.
    pub(super) async fn failures(&self) -> Result<(Vec<FailureView>, usize), String> {
        let Some(bucket) = &self.failure_bucket else {
            return Err("this stack has no failure bucket".into());
        };
        let mut keys: Vec<(i64, String)> = Vec::new();
        let mut pages = self.s3.list_objects_v2().bucket(bucket).into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_sdk_s3::error::DisplayErrorContext(e).to_string())?;
            for object in page.contents() {
                if let Some(key) = object.key() {
                    let at = object.last_modified().map_or(0, |t| t.secs());
                    keys.push((at, key.to_owned()));
                }
            }
        }
        let total = keys.len();
        keys.sort_by(|a, b| b.cmp(a));
        let shown: Vec<String> = keys.into_iter().take(SHOWN_FAILURES).map(|(_, key)| key).collect();
        let mut cache = self.failure_cache.lock().await;
        cache.retain(|key, _| shown.contains(key));
        let mut views = Vec::new();
        for key in shown {
            if let Some(view) = cache.get(&key) {
                views.push(view.clone());
                continue;
            }
            let view = match foodstream_ops::read(&self.s3, bucket, &key).await {
                Ok(record) => FailureView {
                    orders: orders_in_payload(&record.payload),
                    key: record.key,
                    condition: record.condition,
                    timestamp: record.timestamp,
                    source: record.source,
                    function_arn: record.function_arn,
                    parked_by: record.parked_by,
                    reason: record.reason,
                    payload: shown_payload(&record.payload),
                },
                Err(foodstream_ops::ReplayError::NotARecord { .. }) => continue,
                Err(e) => return Err(e.to_string()),
            };
            cache.insert(key, view.clone());
            views.push(view);
        }
        Ok((views, total))
    }
}

/// How much of a failure record's payload its page shows.
pub const SHOWN_PAYLOAD_BYTES: usize = 64 * 1024;

/// The payload as the page shows it: whole up to [`SHOWN_PAYLOAD_BYTES`]
/// of JSON, else its beginning as text (the bucket keeps it whole).
fn shown_payload(payload: &Value) -> Value {
    let text = payload.to_string();
    if text.len() <= SHOWN_PAYLOAD_BYTES {
        return payload.clone();
    }
    let mut end = SHOWN_PAYLOAD_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Value::String(format!("{}… ({} bytes in all)", &text[..end], text.len()))
}

/// The orders a failure record's payload is about: the `order_id` of each
/// Kafka record's value, or of each stream record's new image (else its
/// keys); sorted, without repeats.
pub fn orders_in_payload(payload: &Value) -> Vec<String> {
    use base64::Engine;
    let mut orders = Vec::new();
    let kafka =
        payload.get("records").and_then(Value::as_object).into_iter().flat_map(|groups| groups.values());
    for record in kafka.filter_map(Value::as_array).flatten() {
        let value = record
            .get("value")
            .and_then(Value::as_str)
            .and_then(|v| base64::engine::general_purpose::STANDARD.decode(v).ok())
            .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok());
        if let Some(id) = value.as_ref().and_then(|v| v.get("order_id")).and_then(Value::as_str) {
            orders.push(id.to_owned());
        }
    }
    for record in payload.get("Records").and_then(Value::as_array).into_iter().flatten() {
        let id = record
            .pointer("/dynamodb/NewImage/order_id/S")
            .or_else(|| record.pointer("/dynamodb/Keys/order_id/S"))
            .and_then(Value::as_str);
        if let Some(id) = id {
            orders.push(id.to_owned());
        }
    }
    orders.sort();
    orders.dedup();
    orders
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_failure_payload_names_its_orders() {
        use base64::Engine;
        let value = base64::engine::general_purpose::STANDARD.encode(br#"{"order_id":"o-7"}"#);
        let kafka = serde_json::json!({"eventSource": "aws:kafka", "records": {"order-events-0": [{"value": value}, {"value": "!!"}]}});
        assert_eq!(orders_in_payload(&kafka), vec!["o-7".to_string()]);
        let stream = serde_json::json!({"Records": [{"dynamodb": {"Keys": {"order_id": {"S": "o-8"}}}}]});
        assert_eq!(orders_in_payload(&stream), vec!["o-8".to_string()]);
    }

    proptest! {
        /// Any payload is searched for orders without a panic.
        #[test]
        fn any_payload_is_searched(text in ".{0,200}") {
            let value = serde_json::from_str::<Value>(&text).unwrap_or(Value::String(text));
            let _ = orders_in_payload(&value);
        }
    }
}
