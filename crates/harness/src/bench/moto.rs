//! moto's request recorder: the DynamoDB requests a load made, counted by
//! what each costs.

use serde_json::Value;

/// DynamoDB requests by what they cost: items written (each item of a
/// transaction counted, and also apart, since a transactional write costs
/// twice) and read requests.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct DynamoCounts {
    /// Every DynamoDB request.
    pub requests: u64,
    /// Items written, those of transactions included.
    pub item_writes: u64,
    /// Items written in transactions (condition checks left out).
    pub transactional_item_writes: u64,
    /// Reads: one per GetItem, Query or Scan, one per item of a batch or
    /// transactional get.
    pub reads: u64,
}

pub(super) async fn moto_recorder(endpoint: &str, action: &str) {
    let url = format!("{}/moto-api/recorder/{action}", endpoint.trim_end_matches('/'));
    let _ = reqwest::Client::builder().no_proxy().build().expect("client").post(url).send().await;
}

pub(super) async fn moto_recording(endpoint: &str) -> String {
    let url = format!("{}/moto-api/recorder/download-recording", endpoint.trim_end_matches('/'));
    let client = reqwest::Client::builder().no_proxy().build().expect("client");
    match client.get(url).send().await {
        Ok(response) => response.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// Counts the DynamoDB requests of a moto recording (one JSON request per
/// line, the body base64 when `body_encoded`).
pub fn count_dynamodb_requests(recording: &str) -> DynamoCounts {
    use base64::Engine;
    let mut counts = DynamoCounts::default();
    for line in recording.lines() {
        let Ok(request) = serde_json::from_str::<Value>(line) else { continue };
        let target = request["headers"]["X-Amz-Target"].as_str().unwrap_or_default();
        let Some(operation) = target.strip_prefix("DynamoDB_20120810.") else { continue };
        let text = request["body"].as_str().unwrap_or_default();
        let body: Value = if request["body_encoded"].as_bool() == Some(true) {
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
                .unwrap_or_default()
        } else {
            serde_json::from_str(text).unwrap_or_default()
        };
        counts.requests += 1;
        // BatchWriteItem: {table: [requests]}; BatchGetItem: {table: {Keys: [...]}}.
        let batch_items = || -> u64 {
            let tables = body["RequestItems"].as_object().into_iter().flat_map(|t| t.values());
            tables.map(|v| v.as_array().or_else(|| v["Keys"].as_array()).map_or(0, Vec::len) as u64).sum()
        };
        match operation {
            "PutItem" | "UpdateItem" | "DeleteItem" => counts.item_writes += 1,
            "BatchWriteItem" => counts.item_writes += batch_items(),
            "TransactWriteItems" => {
                let written = body["TransactItems"]
                    .as_array()
                    .map(|items| items.iter().filter(|i| i.get("ConditionCheck").is_none()).count())
                    .unwrap_or(0) as u64;
                counts.item_writes += written;
                counts.transactional_item_writes += written;
            }
            "GetItem" | "Query" | "Scan" => counts.reads += 1,
            "BatchGetItem" => counts.reads += batch_items(),
            "TransactGetItems" => counts.reads += body["TransactItems"].as_array().map_or(0, Vec::len) as u64,
            _ => {}
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::dynamodb_cost_per_million_orders;
    use base64::Engine;
    use serde_json::json;

    #[test]
    fn a_moto_recording_is_counted_by_what_each_request_costs() {
        let request = |operation: &str, body: Value| {
            json!({
                "headers": {"X-Amz-Target": format!("DynamoDB_20120810.{operation}")},
                "body": base64::engine::general_purpose::STANDARD.encode(body.to_string()),
                "body_encoded": true,
            })
            .to_string()
        };
        let recording = [
            request("PutItem", json!({"TableName": "t"})),
            request(
                "TransactWriteItems",
                json!({"TransactItems": [{"Put": {}}, {"Update": {}}, {"ConditionCheck": {}}]}),
            ),
            request("BatchWriteItem", json!({"RequestItems": {"a": [{"PutRequest": {}}, {"PutRequest": {}}], "b": [{"DeleteRequest": {}}]}})),
            request("GetItem", json!({})),
            request("BatchGetItem", json!({"RequestItems": {"a": {"Keys": [{}, {}, {}]}}})),
            json!({"headers": {"X-Amz-Target": "DynamoDBStreams_20120810.GetRecords"}, "body": "{}"}).to_string(),
            "not json".to_owned(),
        ]
        .join("\n");
        let counts = count_dynamodb_requests(&recording);
        assert_eq!(
            counts,
            DynamoCounts { requests: 5, item_writes: 6, transactional_item_writes: 2, reads: 4 }
        );
        // 6 + 2 write units and 4 read units per order.
        let dollars = dynamodb_cost_per_million_orders(&counts, 1.0);
        assert!((dollars - (8.0 * 0.625 + 4.0 * 0.125)).abs() < 1e-9, "{dollars}");
    }
}
