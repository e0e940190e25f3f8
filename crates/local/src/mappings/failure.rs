//! The on-failure destination: where a batch goes after its retries, and
//! the record Lambda writes there about it.

use super::{Record, SourceRecord};
use crate::runtime::InvokeOutcome;
use serde_json::{Value, json};

/// A mapping's on-failure destination on the emulator.
pub enum FailureTarget {
    /// An SQS queue: the failure record only, as Lambda writes it.
    Queue {
        /// The emulator's SQS.
        sqs: aws_sdk_sqs::Client,
        /// The queue's URL.
        url: String,
    },
    /// An S3 bucket: the failure record with the invocation's payload.
    Bucket {
        /// The emulator's S3.
        s3: aws_sdk_s3::Client,
        /// The bucket's name.
        bucket: String,
    },
}

impl FailureTarget {
    /// Puts `record` (of `function`'s mapping, for a batch of `group`, the
    /// partition or shard, failed at `now`) to the destination.
    pub(super) async fn send(
        &self,
        function: &str,
        group: &str,
        now: chrono::DateTime<chrono::Utc>,
        record: &Value,
    ) -> Result<(), String> {
        match self {
            FailureTarget::Queue { sqs, url } => sqs
                .send_message()
                .queue_url(url)
                .message_body(record.to_string())
                .send()
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
            FailureTarget::Bucket { s3, bucket } => {
                // Lambda's layout (`aws/lambda/<mapping>/<shard>/YYYY/MM/DD/
                // YYYY-MM-DDTHH.MM.SS-<random UUID>`), the function's name
                // standing for the mapping's UUID: a random end, so two
                // records of one millisecond never share a key.
                let key = format!(
                    "aws/lambda/{}/{}/{}/{}-{}",
                    function,
                    group,
                    now.format("%Y/%m/%d"),
                    now.format("%Y-%m-%dT%H.%M.%S"),
                    uuid::Uuid::new_v4(),
                );
                s3.put_object()
                    .bucket(bucket)
                    .key(key)
                    .content_type("application/json")
                    .body(record.to_string().into_bytes().into())
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
        }
    }
}

/// What a failure record says about the call that failed.
pub struct Failure<'a> {
    /// The function's name; the record names it by its ARN.
    pub function: &'a str,
    /// The mapping's source: the MSK cluster's or the stream's ARN.
    pub source_arn: &'a str,
    /// The last invocation's request id (empty for records sent for their
    /// age).
    pub request_id: &'a str,
    /// How many times the batch was invoked (`approximateInvokeCount`).
    pub invokes: i64,
    /// How the last call ended (`responseContext.functionError`).
    pub outcome: &'a InvokeOutcome,
    /// `RetryAttemptsExhausted` or `RecordAgeExceeded`.
    pub condition: &'a str,
    /// When the batch was given up (`timestamp`).
    pub at: chrono::DateTime<chrono::Utc>,
}

/// Lambda's on-failure record for `batch`, without the payload: the
/// invocation's context (`requestContext.functionArn` in the stack's
/// account and region), the batch as Lambda describes it for its source
/// (`KafkaBatchInfo` for MSK, `DDBStreamBatchInfo` for a DynamoDB stream),
/// and the stack's own `batchInfo` (the source, first and last position,
/// what `make replay` lists). `payload` is the event the batch was (or
/// would have been) invoked with: `KafkaBatchInfo` gives its size and its
/// bootstrap servers. An empty batch has no record (null).
pub fn failure_record(failure: &Failure<'_>, batch: &[Record], payload: &Value) -> Value {
    let (Some(first), Some(last)) = (batch.first(), batch.last()) else {
        return Value::Null;
    };
    let mut record = json!({
        "requestContext": {
            "requestId": failure.request_id,
            "functionArn": crate::ids::function_arn(failure.function),
            "condition": failure.condition,
            "approximateInvokeCount": failure.invokes,
        },
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": failure.outcome.describe(),
        },
        "version": "1.0",
        "timestamp": failure.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "batchInfo": {
            "eventSourceArn": failure.source_arn,
            "batchSize": batch.len(),
            "source": first.group,
            "startPosition": first.position,
            "endPosition": last.position,
        },
    });
    match &first.event {
        SourceRecord::Kafka(_) => {
            record["KafkaBatchInfo"] = kafka_batch_info(failure.source_arn, batch, payload);
        }
        SourceRecord::Stream(_) => {
            record["DDBStreamBatchInfo"] = stream_batch_info(failure.source_arn, first, last, batch.len());
        }
        SourceRecord::None => {}
    }
    record
}

/// `KafkaBatchInfo` as Lambda writes it for MSK: the cluster, the batch's
/// size and its payload's bytes, and per `topic-partition` the first and
/// last record's offset (a string) and timestamp.
fn kafka_batch_info(cluster_arn: &str, batch: &[Record], payload: &Value) -> Value {
    let mut records_info = serde_json::Map::new();
    for r in batch {
        let SourceRecord::Kafka(kafka) = &r.event else { continue };
        let offset = kafka.offset.to_string();
        let at = kafka.timestamp.0.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        match records_info.get_mut(&r.group) {
            Some(info) => {
                info["lastRecordOffset"] = json!(offset);
                info["lastRecordTimestamp"] = json!(at);
            }
            None => {
                let info = json!({
                    "firstRecordOffset": offset,
                    "lastRecordOffset": offset,
                    "firstRecordTimestamp": at,
                    "lastRecordTimestamp": at,
                });
                records_info.insert(r.group.clone(), info);
            }
        }
    }
    json!({
        "batchSize": batch.len(),
        "eventSourceArn": cluster_arn,
        "bootstrapServers": payload["bootstrapServers"],
        "payloadSize": serde_json::to_vec(payload).map(|bytes| bytes.len()).unwrap_or_default(),
        "recordsInfo": records_info,
    })
}

/// `DDBStreamBatchInfo` as Lambda writes it: the shard, the first and last
/// sequence numbers, when they arrived (to the second) and the stream.
fn stream_batch_info(stream_arn: &str, first: &Record, last: &Record, size: usize) -> Value {
    let arrival = |r: &Record| {
        r.created_ms
            .and_then(chrono::DateTime::<chrono::Utc>::from_timestamp_millis)
            .map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    };
    json!({
        "shardId": first.group,
        "startSequenceNumber": first.position,
        "endSequenceNumber": last.position,
        "approximateArrivalOfFirstRecord": arrival(first),
        "approximateArrivalOfLastRecord": arrival(last),
        "batchSize": size,
        "streamArn": stream_arn,
    })
}
