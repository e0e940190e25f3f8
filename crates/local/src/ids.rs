//! The identifiers the local stack hands the functions, in AWS's formats and
//! in one account and one region: the ARNs of the functions, the MSK
//! cluster, the table streams, the queues and the schedule rules, and the
//! ids API Gateway and the Runtime API give each call.
//!
//! The account is moto's. moto answers a request signed with the
//! emulator's credentials (`test`, no access key of its IAM) in its default
//! account, 123456789012 (`MOTO_ACCOUNT_ID`, which the stack never sets),
//! so every queue URL and stream ARN it hands out carries that account; the
//! ARNs the stack builds itself carry the same one, and nothing a function
//! sees names two accounts. The region is the one the stack's clients and
//! functions use (`foodstream_aws::emulator_config`, `AWS_REGION`).

use chrono::{DateTime, NaiveDateTime, Utc};

/// The stack's one account: moto's default.
pub const LOCAL_ACCOUNT_ID: &str = "123456789012";

/// The stack's one region.
pub const LOCAL_REGION: &str = "us-east-1";

/// The HTTP API's id (`requestContext.apiId`): ten lower-case letters and
/// digits, as API Gateway's ids are.
pub const LOCAL_API_ID: &str = "foodstream";

/// `arn:aws:lambda:<region>:<account>:function:<name>`.
pub fn function_arn(function: &str) -> String {
    format!("arn:aws:lambda:{LOCAL_REGION}:{LOCAL_ACCOUNT_ID}:function:{function}")
}

/// `arn:aws:sqs:<region>:<account>:<queue>`.
pub fn queue_arn(queue: &str) -> String {
    format!("arn:aws:sqs:{LOCAL_REGION}:{LOCAL_ACCOUNT_ID}:{queue}")
}

/// `arn:aws:events:<region>:<account>:rule/<rule>`.
pub fn schedule_rule_arn(rule: &str) -> String {
    format!("arn:aws:events:{LOCAL_REGION}:{LOCAL_ACCOUNT_ID}:rule/{rule}")
}

/// The MSK cluster of a stack: `<stack>-kafka`, as the template names it
/// (`!Sub ${AWS::StackName}-kafka`), the namespace standing for the stack's
/// name. A character MSK does not take in a name becomes `-`.
pub fn msk_cluster_name(namespace: &str) -> String {
    format!("{namespace}-kafka")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '-' })
        .collect()
}

/// `arn:aws:kafka:<region>:<account>:cluster/<name>/<uuid>-<n>`: MSK's
/// cluster ARN, with a UUID derived from the name (the same on every run)
/// and the revision suffix 1.
pub fn msk_cluster_arn(cluster: &str) -> String {
    format!("arn:aws:kafka:{LOCAL_REGION}:{LOCAL_ACCOUNT_ID}:cluster/{cluster}/{}-1", cluster_uuid(cluster))
}

/// A random-shaped (version 4, RFC 4122 variant) UUID derived from
/// `cluster` with FNV-1a, so a cluster's ARN never changes between runs.
pub fn cluster_uuid(cluster: &str) -> uuid::Uuid {
    let high = fnv1a(0xcbf2_9ce4_8422_2325, cluster.as_bytes());
    let low = fnv1a(high ^ 0x9e37_79b9_7f4a_7c15, cluster.as_bytes());
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&high.to_be_bytes());
    bytes[8..].copy_from_slice(&low.to_be_bytes());
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

fn fnv1a(seed: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(seed, |hash, byte| (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3))
}

/// A stream label as DynamoDB writes it: the stream's creation time, UTC,
/// to the millisecond (`2026-12-02T17:20:31.123`).
pub fn stream_label(created: NaiveDateTime) -> String {
    created.format("%Y-%m-%dT%H:%M:%S%.3f").to_string()
}

/// `arn:aws:dynamodb:<region>:<account>:table/<table>/stream/<label>`.
pub fn stream_arn(table: &str, label: &str) -> String {
    format!("arn:aws:dynamodb:{LOCAL_REGION}:{LOCAL_ACCOUNT_ID}:table/{table}/stream/{label}")
}

/// The emulator's ARN of a table's stream as the events and failure
/// records name it: the same table and creation time, in the stack's
/// account and region, the label to the millisecond. moto labels a stream
/// with Python's `isoformat()` (microseconds, and no fraction at all when
/// they are zero), DynamoDB with milliseconds. An ARN that is not a stream's
/// is answered as it is; a label that is not a time is kept.
pub fn event_stream_arn(emulator_arn: &str) -> String {
    // The label holds colons: the resource is everything after the fifth.
    let Some(resource) = emulator_arn.splitn(6, ':').nth(5) else {
        return emulator_arn.to_owned();
    };
    let table_and_label = resource.strip_prefix("table/").and_then(|rest| rest.split_once("/stream/"));
    let Some((table, label)) = table_and_label else {
        return emulator_arn.to_owned();
    };
    let label = match NaiveDateTime::parse_from_str(label, "%Y-%m-%dT%H:%M:%S%.f") {
        Ok(created) => stream_label(created),
        Err(_) => label.to_owned(),
    };
    stream_arn(table, &label)
}

/// A stream record's `eventID`: 32 lower-case hex digits, as DynamoDB
/// Streams writes them. The emulator's own id when it has that form (moto's
/// does), else a new one.
pub fn stream_event_id(emulator_id: Option<&str>) -> String {
    match emulator_id {
        Some(id) if is_lower_hex(id, 32) => id.to_owned(),
        _ => uuid::Uuid::new_v4().simple().to_string(),
    }
}

fn is_lower_hex(text: &str, len: usize) -> bool {
    text.len() == len && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// An instance's `AWS_LAMBDA_LOG_STREAM_NAME`, as Lambda names one:
/// `<yyyy>/<mm>/<dd>/[$LATEST]<32 hex digits>`.
pub fn log_stream_name(started: DateTime<Utc>) -> String {
    format!("{}/[$LATEST]{}", started.format("%Y/%m/%d"), uuid::Uuid::new_v4().simple())
}

/// An HTTP API request id (`requestContext.requestId`): 11 random bytes in
/// base64, 16 characters ending in `=`, like API Gateway's (`JKJaXmPLvHcESHA=`).
pub fn http_api_request_id() -> String {
    use base64::Engine;
    let random = uuid::Uuid::new_v4();
    base64::engine::general_purpose::STANDARD.encode(&random.as_bytes()[..11])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cluster_keeps_its_uuid_and_two_clusters_differ() {
        assert_eq!(cluster_uuid("foodstream-local-kafka"), cluster_uuid("foodstream-local-kafka"));
        assert_ne!(cluster_uuid("foodstream-local-kafka"), cluster_uuid("other-kafka"));
        assert_eq!(cluster_uuid("x").get_version_num(), 4);
    }

    #[test]
    fn moto_stream_labels_are_cut_to_the_millisecond() {
        let moto = "arn:aws:dynamodb:us-east-1:123456789012:table/t-Orders/stream/2026-12-02T17:20:31.123456";
        assert_eq!(event_stream_arn(moto), stream_arn("t-Orders", "2026-12-02T17:20:31.123"));
        // No fraction when moto's microseconds are zero; another account.
        let whole_second = "arn:aws:dynamodb:eu-west-1:000000000000:table/t/stream/2026-12-02T17:20:31";
        assert_eq!(event_stream_arn(whole_second), stream_arn("t", "2026-12-02T17:20:31.000"));
        assert_eq!(event_stream_arn("not an arn"), "not an arn");
    }
}
