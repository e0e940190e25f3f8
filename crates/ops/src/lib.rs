//! The operator's side of failures: the failure records of the failure
//! bucket, listed and re-driven. The event source mappings write theirs
//! there after their retries (Lambda's record, with the invocation's
//! payload, under `aws/lambda/`); the consumers park the records they can
//! never process there too, in the same shape (condition `Unprocessable`,
//! a one-record batch as the payload, under `parked/`).
//!
//! - A Kafka batch (`aws:kafka`): every record is produced again to its
//!   topic, key, value and headers as they were.
//! - An SQS batch (`aws:sqs`, the delivery timer's messages): every body is
//!   sent again to the queue its `eventSourceARN` names.
//! - An orders-stream batch (`aws:dynamodb`): the outbox relay's own logic
//!   runs again on it, publishing the order events its changes carry.
//!
//! Every consumer is idempotent (conditional writes keyed by the event's
//! ids), so a replay never doubles anything, even of a record that had
//! been half applied. A re-driven record is deleted from the bucket unless
//! asked to keep it.
//!
//! The delivery timer's dead-letter queue is re-driven too: its messages
//! are moved back to the timer queue ([`redrive_queue`]).

#![warn(missing_docs)]

pub mod order_logs;

use aws_lambda_events::event::dynamodb::Event as DynamoDbEvent;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use foodstream_domain::ports::{DeadLetter, DeadLetters, PortError};
use foodstream_kafka::KafkaPublisher;
use serde_json::Value;
use std::sync::Mutex;

/// What the relay would park during a replay: kept to report, not parked
/// (the operator is there to read it).
#[derive(Default)]
struct Unprocessable(Mutex<Vec<String>>);

#[async_trait::async_trait]
impl DeadLetters for Unprocessable {
    async fn park(&self, letter: &DeadLetter) -> Result<(), PortError> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(letter.reason.clone());
        Ok(())
    }
}

/// Why listing or re-driving failed.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The failure bucket could not be listed, read or deleted from: the
    /// walk stops.
    #[error("S3: {0}")]
    Storage(String),
    /// A queue could not be found, read or written (the timer's re-drive).
    #[error("SQS: {0}")]
    Queue(String),
    /// An object of the bucket that is not a failure record, or whose
    /// payload is no batch a replay knows: skipped.
    #[error("{key}: not a failure record: {reason}")]
    NotARecord {
        /// The object's key.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A record whose re-drive failed again: it is left in the bucket.
    #[error("{key}: {reason} (the record stays in the bucket)")]
    StillFailing {
        /// The record's key.
        key: String,
        /// What failed this time.
        reason: String,
    },
}

/// One failure record, as listed.
#[derive(Debug, Clone)]
pub struct FailureRecord {
    /// Its object's key in the failure bucket.
    pub key: String,
    /// Why the batch failed (`requestContext.condition`):
    /// `RetryAttemptsExhausted`, say, or `Unprocessable` for a parked one.
    pub condition: String,
    /// When it was written, as the record gives it.
    pub timestamp: String,
    /// Where the batch came from: its topic-partitions, stream shard or
    /// queue, or for a parked record the record's name (`log-events-0@7`).
    pub source: String,
    /// How many records the batch held (0 when the record does not say).
    pub batch_size: u64,
    /// The function whose batch failed (`requestContext.functionArn`).
    pub function_arn: String,
    /// Who parked it and why (a record a consumer parked itself); empty
    /// for an event source mapping's.
    pub parked_by: String,
    /// Why the consumer parked it; empty for an event source mapping's.
    pub reason: String,
    /// The failed batch, as the function was invoked with it: what a
    /// replay re-drives.
    pub payload: Value,
}

impl FailureRecord {
    fn parse(key: &str, bytes: &[u8]) -> Result<FailureRecord, ReplayError> {
        let not = |reason: &str| ReplayError::NotARecord { key: key.to_owned(), reason: reason.to_owned() };
        let record: Value = serde_json::from_slice(bytes).map_err(|e| not(&e.to_string()))?;
        let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        let payload = record.get("payload").cloned().ok_or_else(|| not("no payload"))?;
        Ok(FailureRecord {
            key: key.to_owned(),
            condition: text(&record["requestContext"]["condition"]),
            timestamp: text(&record["timestamp"]),
            source: source_of(&record),
            batch_size: ["batchInfo", "KafkaBatchInfo", "DDBStreamBatchInfo"]
                .iter()
                .find_map(|info| record[info]["batchSize"].as_u64())
                .unwrap_or_default(),
            function_arn: text(&record["requestContext"]["functionArn"]),
            parked_by: text(&record["parkedBy"]),
            reason: text(&record["reason"]),
            payload,
        })
    }
}

/// Where a failure record's batch came from: the local stack's and the
/// parked records' `batchInfo.source`, else what Lambda's own records hold
/// (`KafkaBatchInfo.recordsInfo`'s topic-partitions, or
/// `DDBStreamBatchInfo.shardId`).
fn source_of(record: &Value) -> String {
    if let Some(source) = record["batchInfo"]["source"].as_str() {
        return source.to_owned();
    }
    if let Some(partitions) = record["KafkaBatchInfo"]["recordsInfo"].as_object() {
        return partitions.keys().cloned().collect::<Vec<_>>().join(",");
    }
    record["DDBStreamBatchInfo"]["shardId"].as_str().unwrap_or_default().to_owned()
}

/// Visits every key of `bucket`, in S3's listing order, a page (1,000
/// keys) at a time: the bucket is never held whole, whatever its size.
/// `visit` reads what it needs of each; its error stops the walk. Answers
/// how many keys were visited.
pub async fn each_key(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    mut visit: impl AsyncFnMut(&str) -> Result<(), ReplayError>,
) -> Result<usize, ReplayError> {
    let mut visited = 0;
    let mut pages = s3.list_objects_v2().bucket(bucket).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| match e.as_service_error() {
            Some(error) if error.is_no_such_bucket() => ReplayError::Storage(format!(
                "no bucket {bucket}: is the local stack up (make up)? On AWS, set FAILURE_BUCKET to the stack's FailureBucketName output"
            )),
            _ => ReplayError::Storage(aws_sdk_s3::error::DisplayErrorContext(e).to_string()),
        })?;
        for key in page.contents().iter().filter_map(|object| object.key()) {
            visit(key).await?;
            visited += 1;
        }
    }
    Ok(visited)
}

/// The failure records of `bucket`, in S3's listing order (for tests and
/// small buckets: [`each_key`] walks a bucket of any size). An object that
/// is not a failure record is left out.
pub async fn list(s3: &aws_sdk_s3::Client, bucket: &str) -> Result<Vec<FailureRecord>, ReplayError> {
    let mut records = Vec::new();
    each_key(s3, bucket, async |key| {
        match read(s3, bucket, key).await {
            Ok(record) => records.push(record),
            Err(ReplayError::NotARecord { .. }) => {}
            Err(other) => return Err(other),
        }
        Ok(())
    })
    .await?;
    Ok(records)
}

/// The failure record at `key` (one object, fetched alone).
pub async fn read(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Result<FailureRecord, ReplayError> {
    let storage = |e: String| ReplayError::Storage(e);
    let object = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| storage(aws_sdk_s3::error::DisplayErrorContext(e).to_string()))?;
    let bytes = object.body.collect().await.map_err(|e| storage(e.to_string()))?.into_bytes();
    FailureRecord::parse(key, &bytes)
}

/// What a replay did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Replayed {
    /// Kafka records produced again.
    pub produced: usize,
    /// Stream records run through the relay again.
    pub relayed: usize,
    /// SQS messages sent again to their queue.
    pub resent: usize,
}

/// Re-drives the failure record at `key`, then deletes it unless `keep`.
pub async fn replay(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    publisher: &KafkaPublisher,
    sqs: &aws_sdk_sqs::Client,
    keep: bool,
) -> Result<Replayed, ReplayError> {
    let record = read(s3, bucket, key).await?;
    let still = |reason: String| ReplayError::StillFailing { key: key.to_owned(), reason };
    let replayed = match record.payload["eventSource"].as_str() {
        Some("aws:kafka") => {
            let produced = produce_again(&record.payload, publisher).await.map_err(still)?;
            Replayed { produced, ..Replayed::default() }
        }
        _ if record.payload["Records"][0]["eventSource"] == "aws:sqs" => {
            let resent = send_again(&record.payload, sqs).await.map_err(still)?;
            Replayed { resent, ..Replayed::default() }
        }
        _ if record.payload["Records"].is_array() => {
            let event: DynamoDbEvent = serde_json::from_value(record.payload.clone())
                .map_err(|e| ReplayError::NotARecord { key: key.to_owned(), reason: e.to_string() })?;
            let unprocessable = Unprocessable::default();
            let report =
                foodstream_handlers::batch::consumers::relay(publisher, &unprocessable, &event).await;
            if !report.response.batch_item_failures.is_empty() {
                return Err(still(format!(
                    "{} record(s) failed again on a dependency",
                    report.response.batch_item_failures.len()
                )));
            }
            if let Some(reason) = unprocessable.0.lock().unwrap_or_else(|p| p.into_inner()).first() {
                return Err(still(format!("a record cannot be processed: {reason}")));
            }
            Replayed { relayed: event.records.len(), ..Replayed::default() }
        }
        _ => {
            return Err(ReplayError::NotARecord {
                key: key.to_owned(),
                reason: "its payload is neither an aws:kafka, an aws:sqs nor an aws:dynamodb batch".into(),
            });
        }
    };
    if !keep {
        s3.delete_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| ReplayError::Storage(aws_sdk_s3::error::DisplayErrorContext(e).to_string()))?;
    }
    Ok(replayed)
}

/// A header's value as Lambda writes it: a list of bytes, signed as Java
/// writes them (-128..=127), or unsigned (0..=255) as other writers do.
/// Kept byte for byte; anything else is refused, never dropped.
fn header_bytes(value: &Value) -> Result<Vec<u8>, String> {
    let list = value.as_array().ok_or_else(|| format!("not a list of bytes: {value}"))?;
    list.iter()
        .map(|b| match b.as_i64() {
            Some(n @ -128..=-1) => Ok((n + 256) as u8),
            Some(n @ 0..=255) => Ok(n as u8),
            _ => Err(format!("{b} is not a byte")),
        })
        .collect()
}

/// Every record of an `aws:kafka` batch, produced again as it was.
async fn produce_again(payload: &Value, publisher: &KafkaPublisher) -> Result<usize, String> {
    let mut produced = 0;
    let records = payload["records"].as_object().ok_or("no records")?;
    for record in records.values().flat_map(|r| r.as_array().cloned().unwrap_or_default()) {
        let topic = record["topic"].as_str().ok_or("a record without its topic")?;
        let decode = |field: &str| -> Result<Option<Vec<u8>>, String> {
            record[field]
                .as_str()
                .map(|b64| STANDARD.decode(b64).map_err(|e| format!("{field}: {e}")))
                .transpose()
        };
        let key = decode("key")?;
        let value = decode("value")?.unwrap_or_default();
        // Lambda's headers: a list of single-entry maps of name -> byte values.
        let mut headers = Vec::new();
        for header in record["headers"].as_array().into_iter().flatten() {
            for (name, bytes) in header.as_object().into_iter().flatten() {
                headers.push((name.clone(), header_bytes(bytes).map_err(|e| format!("header {name}: {e}"))?));
            }
        }
        publisher.produce_raw(topic, key.as_deref(), &value, &headers).await.map_err(|e| e.to_string())?;
        produced += 1;
    }
    Ok(produced)
}

/// Every message of an `aws:sqs` batch, its body sent again to the queue
/// its `eventSourceARN` names (by the ARN's last part, the queue's name).
async fn send_again(payload: &Value, sqs: &aws_sdk_sqs::Client) -> Result<usize, String> {
    let mut sent = 0;
    for message in payload["Records"].as_array().into_iter().flatten() {
        let arn = message["eventSourceARN"].as_str().ok_or("a message without its eventSourceARN")?;
        let queue = SqsQueueArn::parse(arn)?;
        // Only a queue of the operator's own region, owned by the account
        // the ARN names: a record written by hand cannot aim elsewhere.
        let region = sqs.config().region().map(|r| r.to_string()).unwrap_or_default();
        if queue.region != region {
            return Err(format!("{arn}: a queue of {}, not of this region ({region})", queue.region));
        }
        let body = message["body"].as_str().ok_or("a message without its body")?;
        let url = sqs
            .get_queue_url()
            .queue_name(queue.name)
            .queue_owner_aws_account_id(queue.account)
            .send()
            .await
            .map_err(|e| format!("queue {arn}: {}", aws_sdk_sqs::error::DisplayErrorContext(e)))?
            .queue_url
            .unwrap_or_default();
        let name = queue.name;
        sqs.send_message()
            .queue_url(&url)
            .message_body(body)
            .send()
            .await
            .map_err(|e| format!("sending to {name}: {}", aws_sdk_sqs::error::DisplayErrorContext(e)))?;
        sent += 1;
    }
    Ok(sent)
}

/// The parts of an SQS queue's ARN, `arn:<partition>:sqs:<region>:<account>:<name>`.
#[derive(Debug, PartialEq, Eq)]
struct SqsQueueArn<'a> {
    region: &'a str,
    account: &'a str,
    name: &'a str,
}

impl<'a> SqsQueueArn<'a> {
    /// Refuses anything else: another service, a missing part, an account
    /// that is not 12 digits, a name SQS would not take.
    fn parse(arn: &'a str) -> Result<SqsQueueArn<'a>, String> {
        let parts: Vec<&str> = arn.split(':').collect();
        let [prefix, partition, service, region, account, name] = parts[..] else {
            return Err(format!("{arn}: not an SQS queue's ARN"));
        };
        let name_ok = |n: &str| {
            let base = n.strip_suffix(".fifo").unwrap_or(n);
            (1..=80).contains(&n.len())
                && base.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        if prefix != "arn"
            || !partition.starts_with("aws")
            || service != "sqs"
            || region.is_empty()
            || account.len() != 12
            || !account.bytes().all(|b| b.is_ascii_digit())
            || !name_ok(name)
        {
            return Err(format!("{arn}: not an SQS queue's ARN"));
        }
        Ok(SqsQueueArn { region, account, name })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lambdas_own_failure_records_are_listed_with_their_source_and_size() {
        let kafka = serde_json::json!({
            "requestContext": {"condition": "RetryAttemptsExhausted", "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:notifier"},
            "KafkaBatchInfo": {"batchSize": 3, "recordsInfo": {"order-events-2": {"firstRecordOffset": "7"}}},
            "payload": {"eventSource": "aws:kafka", "records": {}},
        });
        let listed = FailureRecord::parse("k", kafka.to_string().as_bytes()).unwrap();
        assert_eq!((listed.source.as_str(), listed.batch_size), ("order-events-2", 3));
        let stream = serde_json::json!({
            "DDBStreamBatchInfo": {"batchSize": 2, "shardId": "shardId-00000001"},
            "payload": {"Records": []},
        });
        let listed = FailureRecord::parse("k", stream.to_string().as_bytes()).unwrap();
        assert_eq!((listed.source.as_str(), listed.batch_size), ("shardId-00000001", 2));
    }

    proptest::proptest! {
        /// Whatever a hand-written record names, parsing never panics, and
        /// what it accepts is exactly an SQS ARN: its parts come back as
        /// they were written.
        #[test]
        fn any_text_is_parsed_without_panic_and_accepted_only_as_an_sqs_arn(text in "\\PC{0,120}") {
            if let Ok(queue) = SqsQueueArn::parse(&text) {
                proptest::prop_assert!(text.starts_with("arn:aws"));
                let tail = format!(":sqs:{}:{}:{}", queue.region, queue.account, queue.name);
                proptest::prop_assert!(text.ends_with(&tail), "{text}");
            }
        }

        #[test]
        fn every_well_formed_queue_arn_is_accepted(
            region in "[a-z]{2}-[a-z]{4,9}-[1-9]",
            account in "[0-9]{12}",
            name in "[A-Za-z0-9_-]{1,75}(\\.fifo)?",
        ) {
            let arn = format!("arn:aws:sqs:{region}:{account}:{name}");
            let parsed = SqsQueueArn::parse(&arn);
            proptest::prop_assert_eq!(
                parsed,
                Ok(SqsQueueArn { region: region.as_str(), account: account.as_str(), name: name.as_str() })
            );
        }
    }

    #[test]
    fn only_an_sqs_queue_arn_is_a_target_to_send_again_to() {
        assert_eq!(
            SqsQueueArn::parse("arn:aws:sqs:us-east-1:123456789012:stack-DeliveryTimerQueue-AB12"),
            Ok(SqsQueueArn {
                region: "us-east-1",
                account: "123456789012",
                name: "stack-DeliveryTimerQueue-AB12"
            })
        );
        assert!(SqsQueueArn::parse("arn:aws-cn:sqs:cn-north-1:123456789012:q.fifo").is_ok());
        for hostile in [
            "",
            "foo",
            "arn:aws:sns:us-east-1:123456789012:topic",
            "arn:aws:sqs:us-east-1:123456789012:",
            "arn:aws:sqs::123456789012:q",
            "arn:aws:sqs:us-east-1:1234:q",
            "arn:aws:sqs:us-east-1:123456789012:q:extra",
            "arn:aws:sqs:us-east-1:123456789012:q/../x",
            "arn:aws:sqs:us-east-1:123456789012:a-name-longer-than-eighty-characters-is-refused-by-sqs-so-it-is-refused-here-too-x",
        ] {
            assert!(SqsQueueArn::parse(hostile).is_err(), "{hostile}");
        }
    }

    #[test]
    fn header_bytes_are_kept_byte_for_byte_signed_or_not() {
        // "é" in UTF-8 is 0xC3 0xA9: Java's signed bytes -61 and -87.
        assert_eq!(header_bytes(&serde_json::json!([104, -61, -87])), Ok(vec![104, 0xC3, 0xA9]));
        assert_eq!(header_bytes(&serde_json::json!([0, 127, -128, -1])), Ok(vec![0, 127, 128, 255]));
        assert_eq!(header_bytes(&serde_json::json!([195, 169])), Ok(vec![195, 169]));
        assert!(header_bytes(&serde_json::json!([256])).is_err(), "not a byte: refused, never dropped");
        assert!(header_bytes(&serde_json::json!([-129])).is_err());
        assert!(header_bytes(&serde_json::json!("abc")).is_err());
    }
}

/// How many empty receives in a row end a re-drive.
pub const EMPTY_RECEIVES_TO_STOP: usize = 3;

/// What re-driving a dead-letter queue did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Moved {
    /// Messages sent to the target queue and deleted from the source.
    pub moved: usize,
}

/// Moves every message of the queue `from` back to `to` (the delivery
/// timer's dead-letter queue to the timer queue), ten at a time: each is
/// sent to `to` without delay, then deleted from `from`, so a failure in
/// between leaves a copy rather than a loss (the completer is idempotent).
/// Stops after [`EMPTY_RECEIVES_TO_STOP`] receives in a row find nothing
/// (each waits up to a second: SQS answers a receive from a sample of its
/// servers, so one empty answer does not mean an empty queue), or after
/// `limit` messages.
pub async fn redrive_queue(
    sqs: &aws_sdk_sqs::Client,
    from: &str,
    to: &str,
    limit: usize,
) -> Result<Moved, ReplayError> {
    let failed = |what: &str, e: String| ReplayError::Queue(format!("{what}: {e}"));
    let mut done = Moved::default();
    let mut empty = 0;
    while done.moved < limit && empty < EMPTY_RECEIVES_TO_STOP {
        let want = (limit - done.moved).min(10) as i32;
        let received = sqs
            .receive_message()
            .queue_url(from)
            .max_number_of_messages(want)
            .visibility_timeout(60)
            .wait_time_seconds(1)
            .send()
            .await
            .map_err(|e| failed("receive", aws_sdk_sqs::error::DisplayErrorContext(e).to_string()))?;
        let messages = received.messages.unwrap_or_default();
        if messages.is_empty() {
            empty += 1;
            continue;
        }
        empty = 0;
        for message in &messages {
            sqs.send_message()
                .queue_url(to)
                .message_body(message.body().unwrap_or_default())
                .send()
                .await
                .map_err(|e| failed("send", aws_sdk_sqs::error::DisplayErrorContext(e).to_string()))?;
            sqs.delete_message()
                .queue_url(from)
                .receipt_handle(message.receipt_handle().unwrap_or_default())
                .send()
                .await
                .map_err(|e| failed("delete", aws_sdk_sqs::error::DisplayErrorContext(e).to_string()))?;
            done.moved += 1;
        }
    }
    Ok(done)
}

/// A queue's URL from its name (a URL is taken as it is).
pub async fn queue_url(sqs: &aws_sdk_sqs::Client, name_or_url: &str) -> Result<String, ReplayError> {
    if name_or_url.starts_with("http://") || name_or_url.starts_with("https://") {
        return Ok(name_or_url.to_owned());
    }
    let out = sqs.get_queue_url().queue_name(name_or_url).send().await.map_err(|e| {
        ReplayError::Queue(format!("queue {name_or_url}: {}", aws_sdk_sqs::error::DisplayErrorContext(e)))
    })?;
    Ok(out.queue_url.unwrap_or_default())
}

/// How many messages wait in a queue (visible ones).
pub async fn waiting(sqs: &aws_sdk_sqs::Client, url: &str) -> Result<usize, ReplayError> {
    use aws_sdk_sqs::types::QueueAttributeName;
    let out = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await
        .map_err(|e| {
            ReplayError::Queue(format!("queue {url}: {}", aws_sdk_sqs::error::DisplayErrorContext(e)))
        })?;
    Ok(out
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::ApproximateNumberOfMessages))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0))
}
