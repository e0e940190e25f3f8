//! The event source mappings: MSK topics read with the mapping's consumer
//! group, and a DynamoDB table's stream, each handed to its function in
//! batches exactly as Lambda hands them (`aws:kafka`, `aws:dynamodb`
//! events). Filters drop records before the call; a failed call is retried
//! up to the template's `MaximumRetryAttempts` (with `BisectBatchOnFunctionError`
//! splitting the batch to isolate the bad record), then the batch goes to
//! the on-failure destination (a bucket, or a queue) and the source moves
//! on. With `FunctionResponseTypes: [ReportBatchItemFailures]` a successful
//! call's answer names the records to retry, and only those are retried.
//! Kafka offsets are committed only after the batch succeeded or was sent
//! to that destination.

use crate::activity::{Activity, Destination, StackEvent};
use crate::filter;
use crate::runtime::{FunctionPool, InvokeOutcome};
use aws_lambda_events::dynamodb::{Event as StreamEvent, EventRecord as StreamEventRecord, StreamRecord};
use aws_lambda_events::encodings::MillisecondTimestamp;
use aws_lambda_events::kafka::{KafkaEvent, KafkaRecord};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use foodstream_template::Mapping;
use rdkafka::Message;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{Headers, OwnedMessage};
use rdkafka::{Offset, TopicPartitionList};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// One record of a batch: what the function sees, and what the filter sees.
#[derive(Debug, Clone)]
pub struct Record {
    /// `topic-partition` for Kafka, the shard for a stream.
    pub group: String,
    /// `partition@offset` (Kafka) or the sequence number (stream).
    pub position: String,
    /// How a partial batch response names it: `{partition, offset}`
    /// (Kafka, partition as `topic-partition`) or the sequence number.
    pub item: Value,
    /// The record as it appears in the event.
    pub event: SourceRecord,
    /// What `FilterCriteria` is applied to.
    pub subject: Value,
    /// When it entered the topic or stream (epoch ms), for
    /// `MaximumRecordAgeInSeconds`.
    pub created_ms: Option<i64>,
}

/// A record in the event's own type: what the function decodes.
#[derive(Debug, Clone)]
pub enum SourceRecord {
    Kafka(KafkaRecord),
    Stream(Box<StreamEventRecord>),
    /// Only in tests of the batching logic, where the payload is not read.
    None,
}

/// Builds the event around a batch of records.
pub type EventBuilder = Box<dyn Fn(&[Record]) -> Value + Send + Sync>;

/// A mapping's function and what it does with failures.
/// A mapping's on-failure destination on the emulator.
pub enum FailureTarget {
    /// An SQS queue: the failure record only, as Lambda writes it.
    Queue { sqs: aws_sdk_sqs::Client, url: String },
    /// An S3 bucket: the failure record with the invocation's payload.
    Bucket { s3: aws_sdk_s3::Client, bucket: String },
}

pub struct Deliverer {
    pub mapping: Mapping,
    pub pool: Arc<FunctionPool>,
    /// Where batches go after their retries, when the mapping says.
    pub failure: Option<FailureTarget>,
    /// The event around a batch of records.
    pub envelope: EventBuilder,
    pub source_arn: String,
    pub activity: Activity,
    /// The first retry waits this long, doubling up to [`MAX_BACKOFF`].
    pub first_backoff: Duration,
}

pub const MAX_BACKOFF: Duration = Duration::from_secs(2);

fn trouble(function: &str, what: String) -> StackEvent {
    StackEvent::Trouble { function: function.to_owned(), what }
}

impl Deliverer {
    /// Filters `records`, invokes the function, retries and bisects as the
    /// mapping says, and sends what still fails to the on-failure destination.
    /// Returns only when every record is done with, one way or the other.
    pub async fn deliver(&self, records: Vec<Record>) {
        let records: Vec<Record> =
            records.into_iter().filter(|r| filter::passes(&self.mapping.filters, &r.subject)).collect();
        // Depth first, so the records keep their order.
        let mut work = vec![(records, 0_i64)];
        while let Some((batch, retries)) = work.pop() {
            // Past `MaximumRecordAgeInSeconds`, a record goes to the
            // destination instead of being invoked, on its first attempt or
            // on a retry: a retry without a count ends there, as on AWS.
            let (batch, expired) = self.split_expired(batch);
            if !expired.is_empty() {
                let outcome =
                    InvokeOutcome::Error { error_type: "RecordAgeExceeded".into(), message: String::new() };
                self.send_to_failure(&expired, "", retries, &outcome, "RecordAgeExceeded").await;
            }
            if batch.is_empty() {
                continue;
            }
            let payload = serde_json::to_vec(&(self.envelope)(&batch)).unwrap_or_default();
            if payload.len() > crate::runtime::MAX_INVOKE_PAYLOAD_BYTES && batch.len() > 1 {
                // Lambda keeps every batch under the 6 MB invoke limit.
                let mut first = batch;
                let second = first.split_off(first.len() / 2);
                work.push((second, retries));
                work.push((first, retries));
                continue;
            }
            (self.activity)(StackEvent::BatchStarted {
                function: self.mapping.function.clone(),
                records: batch.len(),
                first: batch[0].position.clone(),
                last: batch[batch.len() - 1].position.clone(),
            });
            let report = self.pool.invoke(payload).await;
            let outcome = &report.outcome;
            (self.activity)(StackEvent::Batch {
                function: self.mapping.function.clone(),
                records: batch.len(),
                first: batch[0].position.clone(),
                last: batch[batch.len() - 1].position.clone(),
                duration: report.duration,
                init: report.init,
                failure: (!matches!(outcome, InvokeOutcome::Response(_))).then(|| outcome.clone()),
            });
            let to_retry = match outcome {
                InvokeOutcome::Response(body) if self.mapping.report_batch_item_failures => {
                    match records_to_retry(body, &batch) {
                        Ok(tail) if tail.is_empty() => continue,
                        Ok(tail) => Some(tail),
                        Err(reason) => {
                            (self.activity)(StackEvent::UnreadableAnswer {
                                function: self.mapping.function.clone(),
                                reason,
                            });
                            None
                        }
                    }
                }
                InvokeOutcome::Response(_) => continue,
                _ => None,
            };
            // A partial batch response: only its records are retried, and
            // past the retry limit only they go to the destination.
            if let Some(tail) = to_retry {
                (self.activity)(StackEvent::RetryFrom {
                    function: self.mapping.function.clone(),
                    records: tail.len(),
                    from: tail[0].position.clone(),
                });
                let limit = self.mapping.max_retries;
                if limit < 0 || retries < limit {
                    let backoff =
                        self.first_backoff.saturating_mul(1 << retries.min(16) as u32).min(MAX_BACKOFF);
                    tokio::time::sleep(backoff).await;
                    work.push((tail, retries + 1));
                } else {
                    self.send_to_failure(
                        &tail,
                        &report.request_id,
                        retries + 1,
                        outcome,
                        "RetryAttemptsExhausted",
                    )
                    .await;
                }
                continue;
            }
            if self.mapping.bisect_on_error && batch.len() > 1 {
                (self.activity)(StackEvent::Bisected {
                    function: self.mapping.function.clone(),
                    records: batch.len(),
                });
                let mut first = batch;
                let second = first.split_off(first.len() / 2);
                work.push((second, retries));
                work.push((first, retries));
                continue;
            }
            let limit = self.mapping.max_retries;
            if limit < 0 || retries < limit {
                let backoff = self.first_backoff.saturating_mul(1 << retries.min(16) as u32).min(MAX_BACKOFF);
                (self.activity)(StackEvent::Retrying {
                    function: self.mapping.function.clone(),
                    records: batch.len(),
                    attempt: retries + 1,
                });
                tokio::time::sleep(backoff).await;
                work.push((batch, retries + 1));
                continue;
            }
            self.send_to_failure(&batch, &report.request_id, retries + 1, outcome, "RetryAttemptsExhausted")
                .await;
        }
    }

    /// The records still young enough to invoke, and those past the
    /// mapping's `MaximumRecordAgeInSeconds` (none when it is -1).
    fn split_expired(&self, records: Vec<Record>) -> (Vec<Record>, Vec<Record>) {
        match self.mapping.max_record_age_seconds {
            age if age >= 0 => {
                let oldest = chrono::Utc::now().timestamp_millis() - age.saturating_mul(1000);
                records.into_iter().partition(|r| r.created_ms.is_none_or(|at| at >= oldest))
            }
            _ => (records, Vec::new()),
        }
    }

    /// Lambda's on-failure record: the invocation's context and the batch's
    /// position; to an S3 destination, the invocation's payload as well.
    async fn send_to_failure(
        &self,
        batch: &[Record],
        request_id: &str,
        invokes: i64,
        outcome: &InvokeOutcome,
        condition: &str,
    ) {
        let first = &batch[0];
        let last = &batch[batch.len() - 1];
        let now = chrono::Utc::now();
        let payload = (self.envelope)(batch);
        let failure = Failure {
            function: &self.mapping.function,
            source_arn: &self.source_arn,
            request_id,
            invokes,
            outcome,
            condition,
            at: now,
        };
        let mut record = failure_record(&failure, batch, &payload);
        let what = match &self.failure {
            None => {
                (self.activity)(StackEvent::Dropped {
                    function: self.mapping.function.clone(),
                    records: batch.len(),
                });
                return;
            }
            Some(FailureTarget::Queue { .. }) => Destination::Queue,
            Some(FailureTarget::Bucket { .. }) => {
                record["payload"] = payload;
                Destination::Bucket
            }
        };
        // The destination is on the local emulator; keep trying so nothing is lost.
        loop {
            let sent = match &self.failure {
                Some(FailureTarget::Queue { sqs, url }) => sqs
                    .send_message()
                    .queue_url(url)
                    .message_body(record.to_string())
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string()),
                Some(FailureTarget::Bucket { s3, bucket }) => {
                    // Lambda's layout (`aws/lambda/<mapping>/<shard>/YYYY/MM/DD/
                    // YYYY-MM-DDTHH.MM.SS-<random UUID>`), the function's name
                    // standing for the mapping's UUID: a random end, so two
                    // records of one millisecond never share a key.
                    let key = format!(
                        "aws/lambda/{}/{}/{}/{}-{}",
                        self.mapping.function,
                        first.group,
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
                None => Ok(()),
            };
            match sent {
                Ok(()) => break,
                Err(e) => {
                    (self.activity)(StackEvent::Trouble {
                        function: self.mapping.function.clone(),
                        what: format!("the failure {what:?} is unavailable ({e}); retrying"),
                    });
                    tokio::time::sleep(MAX_BACKOFF).await;
                }
            }
        }
        (self.activity)(StackEvent::SentToFailure {
            function: self.mapping.function.clone(),
            records: batch.len(),
            first: first.position.clone(),
            last: last.position.clone(),
            destination: what,
        });
    }
}

/// What a failure record says about the call that failed.
pub struct Failure<'a> {
    /// The function's name; the record names it by its ARN.
    pub function: &'a str,
    /// The mapping's source: the MSK cluster's or the stream's ARN.
    pub source_arn: &'a str,
    pub request_id: &'a str,
    pub invokes: i64,
    pub outcome: &'a InvokeOutcome,
    /// `RetryAttemptsExhausted` or `RecordAgeExceeded`.
    pub condition: &'a str,
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

/// The records a partial batch response asks to retry: in each partition
/// or shard, every record from the first one it names (Lambda checkpoints
/// before it). A null or empty answer, or no `batchItemFailures`, is a
/// complete success; an identifier that is null, empty or not in the batch
/// makes the whole batch a failure (`Err`), as Lambda treats it.
pub fn records_to_retry(body: &[u8], batch: &[Record]) -> Result<Vec<Record>, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Vec::new());
    }
    let answer: Value = serde_json::from_slice(body).map_err(|e| format!("the answer is not JSON: {e}"))?;
    let failures = match answer.get("batchItemFailures") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(failures)) => failures,
        Some(other) => return Err(format!("batchItemFailures is not a list: {other}")),
    };
    let mut first_failed: BTreeMap<&str, usize> = BTreeMap::new();
    for failure in failures {
        let id = failure.get("itemIdentifier").unwrap_or(&Value::Null);
        if id.is_null() || id == "" {
            return Err(format!("an itemIdentifier is missing or empty: {failure}"));
        }
        let at = batch
            .iter()
            .position(|r| &r.item == id)
            .ok_or_else(|| format!("itemIdentifier {id} is not a record of the batch"))?;
        let first = first_failed.entry(batch[at].group.as_str()).or_insert(at);
        *first = (*first).min(at);
    }
    Ok(batch
        .iter()
        .enumerate()
        .filter(|(at, r)| first_failed.get(r.group.as_str()).is_some_and(|first| at >= first))
        .map(|(_, r)| r.clone())
        .collect())
}

/// Settings of the Kafka pollers.
#[derive(Debug, Clone)]
pub struct KafkaPollerSettings {
    pub bootstrap: String,
    /// Prepended to every consumer group (empty for the template's names).
    pub group_prefix: String,
}

/// Polls the mapping's topic with its consumer group until `stop` turns
/// true. As Lambda does for MSK, each partition has its own batches: one in
/// flight per partition, in order within it, while the other partitions
/// go on (a worker per partition, fed by this one consumer).
pub async fn run_kafka(
    deliverer: Deliverer,
    topic: String,
    group: String,
    settings: KafkaPollerSettings,
    mut stop: watch::Receiver<bool>,
) {
    let mapping = &deliverer.mapping;
    let reset = if mapping.starting_position == "LATEST" { "latest" } else { "earliest" };
    let mut config = ClientConfig::new();
    // The classic group protocol and a short session by default (Tansu, SPEC
    // section 5); KAFKA_CONSUMER_PROPERTIES tunes them for another broker.
    for (key, value) in foodstream_kafka::consumer_properties() {
        config.set(key, value);
    }
    let consumer: StreamConsumer = match config
        .set("bootstrap.servers", &settings.bootstrap)
        .set("group.id", format!("{}{group}", settings.group_prefix))
        .set("client.id", format!("local-esm-{}", mapping.function))
        // Offsets move only when a batch is done with.
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", reset)
        .set("max.poll.interval.ms", "3600000")
        .create()
    {
        Ok(consumer) => consumer,
        Err(e) => {
            (deliverer.activity)(trouble(&mapping.function, format!("cannot create a consumer: {e}")));
            return;
        }
    };
    if let Err(e) = consumer.subscribe(&[&topic]) {
        (deliverer.activity)(trouble(&mapping.function, format!("cannot subscribe to {topic}: {e}")));
        return;
    }
    let consumer = Arc::new(consumer);
    let deliverer = Arc::new(deliverer);
    let mut partitions: BTreeMap<i32, tokio::sync::mpsc::Sender<OwnedMessage>> = BTreeMap::new();
    let mut workers = tokio::task::JoinSet::new();
    let mut last_trouble: Option<(String, std::time::Instant)> = None;
    loop {
        let message = tokio::select! {
            _ = stop.changed() => break,
            message = consumer.recv() => message,
        };
        let message = match message {
            Ok(m) => m.detach(),
            Err(e) => {
                // librdkafka queues its errors (a broker down, every failed
                // reconnect) with the messages: they are read at once, so
                // that after a long outage the records behind them are not
                // held up by a backlog of old errors, and the same error is
                // reported once every 5 s at most.
                let what = format!("poll: {e}");
                let repeated = last_trouble
                    .as_ref()
                    .is_some_and(|(last, at)| *last == what && at.elapsed() < Duration::from_secs(5));
                if !repeated {
                    (deliverer.activity)(trouble(&deliverer.mapping.function, what.clone()));
                    last_trouble = Some((what, std::time::Instant::now()));
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        let sender = partitions.entry(message.partition()).or_insert_with(|| {
            // Room for a few batches: a busy partition holds the poll loop
            // only once it is that far behind.
            let (sender, receiver) =
                tokio::sync::mpsc::channel(deliverer.mapping.batch_size.max(1) as usize * 4);
            workers.spawn(run_partition(deliverer.clone(), consumer.clone(), receiver, stop.clone()));
            sender
        });
        let sent = tokio::select! {
            _ = stop.changed() => break,
            sent = sender.send(message) => sent,
        };
        if sent.is_err() {
            break;
        }
    }
    drop(partitions);
    // Not `join_all`, which panics on a worker cancelled by a runtime
    // shutting down (a test that failed), burying the test's own message.
    while let Some(ended) = workers.join_next().await {
        if let Err(error) = ended
            && error.is_panic()
        {
            (deliverer.activity)(trouble(
                &deliverer.mapping.function,
                format!("a partition worker panicked: {error}"),
            ));
        }
    }
}

/// One partition's batches, one at a time: a batch closes at the batch
/// size or the batching window, is delivered, and its offset committed.
async fn run_partition(
    deliverer: Arc<Deliverer>,
    consumer: Arc<StreamConsumer>,
    mut messages: tokio::sync::mpsc::Receiver<OwnedMessage>,
    mut stop: watch::Receiver<bool>,
) {
    let mapping = &deliverer.mapping;
    let window = mapping.batching_window;
    loop {
        let first = tokio::select! {
            _ = stop.changed() => return,
            first = messages.recv() => first,
        };
        let Some(first) = first else { return };
        let mut batch = vec![first];
        let deadline = tokio::time::Instant::now() + window;
        while (batch.len() as u64) < mapping.batch_size.max(1) {
            match tokio::time::timeout_at(deadline, messages.recv()).await {
                Ok(Some(m)) => batch.push(m),
                Ok(None) | Err(_) => break,
            }
        }
        let last = &batch[batch.len() - 1];
        let mut offsets = TopicPartitionList::new();
        let _ =
            offsets.add_partition_offset(last.topic(), last.partition(), Offset::Offset(last.offset() + 1));
        deliverer.deliver(batch.iter().map(kafka_record).collect()).await;
        // A commit can fail for good (the group moved on while the batch ran:
        // a rebalance, a restarted broker). Then the batch comes again after
        // the consumer rejoins, which idempotent consumers make harmless.
        for attempt in 1..=5 {
            match consumer.commit(&offsets, CommitMode::Sync) {
                Ok(()) => {
                    (deliverer.activity)(StackEvent::Committed {
                        function: mapping.function.clone(),
                        topic: last.topic().to_owned(),
                        partition: last.partition(),
                        offset: last.offset() + 1,
                    });
                    break;
                }
                Err(e) if attempt == 5 => {
                    (deliverer.activity)(trouble(
                        &mapping.function,
                        format!("commit: {e}; giving up, the batch may come again"),
                    ));
                }
                Err(e) => {
                    (deliverer.activity)(trouble(&mapping.function, format!("commit: {e}; retrying")));
                    tokio::select! {
                        _ = stop.changed() => return,
                        _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                    }
                }
            }
        }
    }
}

/// A Kafka record as the `aws:kafka` event carries it.
pub fn kafka_record(m: &rdkafka::message::OwnedMessage) -> Record {
    let (timestamp, timestamp_type) = match m.timestamp() {
        rdkafka::Timestamp::CreateTime(t) => (t, "CREATE_TIME"),
        rdkafka::Timestamp::LogAppendTime(t) => (t, "LOG_APPEND_TIME"),
        rdkafka::Timestamp::NotAvailable => (0, "NO_TIMESTAMP_TYPE"),
    };
    let value = m.payload().unwrap_or_default();
    let mut record = KafkaRecord::default();
    record.topic = Some(m.topic().to_owned());
    record.partition = i64::from(m.partition());
    record.offset = m.offset();
    record.timestamp =
        MillisecondTimestamp(chrono::DateTime::from_timestamp_millis(timestamp).unwrap_or_default());
    record.timestamp_type = Some(timestamp_type.to_owned());
    record.key = m.key().map(|key| STANDARD.encode(key));
    record.value = Some(STANDARD.encode(value));
    // Header values are Java byte arrays: signed bytes.
    record.headers = m
        .headers()
        .map(|headers| {
            headers
                .iter()
                .map(|h| {
                    let bytes: Vec<i8> = h.value.unwrap_or_default().iter().map(|b| *b as i8).collect();
                    std::collections::HashMap::from([(h.key.to_owned(), bytes)])
                })
                .collect()
        })
        .unwrap_or_default();
    let group = format!("{}-{}", m.topic(), m.partition());
    Record {
        item: json!({"partition": group, "offset": m.offset()}),
        group,
        position: format!("{}@{}", m.partition(), m.offset()),
        event: SourceRecord::Kafka(record),
        subject: filter::kafka_subject(value),
        created_ms: (timestamp > 0).then_some(timestamp),
    }
}

/// The `aws:kafka` event around `records`, grouped by `topic-partition`.
pub fn kafka_event(source_arn: &str, bootstrap: &str, records: &[Record]) -> Value {
    let mut event = KafkaEvent::default();
    event.event_source = Some("aws:kafka".into());
    event.event_source_arn = Some(source_arn.to_owned());
    event.bootstrap_servers = Some(bootstrap.to_owned());
    for r in records {
        if let SourceRecord::Kafka(record) = &r.event {
            event.records.entry(r.group.clone()).or_default().push(record.clone());
        }
    }
    let mut value = serde_json::to_value(&event).expect("an event always serialises");
    // aws_lambda_events writes `timestamp` as a string of milliseconds;
    // Lambda sends a number (the MSK event in Lambda's documentation).
    let records = value["records"].as_object_mut().into_iter().flat_map(|groups| groups.values_mut());
    for record in records.flat_map(|group| group.as_array_mut().into_iter().flatten()) {
        if let Some(millis) = record["timestamp"].as_str().and_then(|t| t.parse::<i64>().ok()) {
            record["timestamp"] = json!(millis);
        }
    }
    value
}

/// Polls a table's stream like Lambda's DynamoDB event source mapping: one
/// batch in flight per shard, shards in parallel, a child shard (after a
/// split) only once its parent is read to its end, so one item's changes
/// stay in order. Each shard's position (the last sequence number done
/// with) is checkpointed after its batch in `checkpoint_file`, so a
/// restarted stack resumes where it stopped. Runs until `stop` turns true.
///
/// `stream_arn` is the emulator's ARN of the stream, for its API and the
/// checkpoints; the events and the failure records name the stream by the
/// deliverer's `source_arn` (AWS's format, [`crate::ids::event_stream_arn`]).
pub async fn run_table_stream(
    deliverer: Deliverer,
    streams: aws_sdk_dynamodbstreams::Client,
    stream_arn: String,
    checkpoint_file: Option<PathBuf>,
    mut stop: watch::Receiver<bool>,
) {
    let name = deliverer.mapping.function.clone();
    let event_arn = deliverer.source_arn.clone();
    let shards = Arc::new(StreamShards {
        deliverer,
        streams,
        checkpoints: std::sync::Mutex::new(load_checkpoints(checkpoint_file.as_deref(), &stream_arn)),
        checkpoint_file,
        stream_arn,
        event_arn,
    });
    let mut workers = tokio::task::JoinSet::new();
    let (mut running, mut finished) = (BTreeSet::new(), BTreeSet::new());
    while !*stop.borrow() {
        while let Some(ended) = workers.try_join_next() {
            if let Ok(shard) = ended {
                running.remove(&shard);
                finished.insert(shard);
            }
        }
        match shards.streams.describe_stream().stream_arn(&shards.stream_arn).send().await {
            Ok(description) => {
                let described: Vec<(String, Option<String>)> = description
                    .stream_description()
                    .map(|d| d.shards())
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|s| Some((s.shard_id()?.to_owned(), s.parent_shard_id().map(str::to_owned))))
                    .collect();
                for shard in shards_ready(&described, &running, &finished) {
                    running.insert(shard.clone());
                    workers.spawn(shards.clone().read_shard(shard, stop.clone()));
                }
            }
            Err(e) => (shards.deliverer.activity)(trouble(&name, format!("describe stream: {e}"))),
        }
        // New shards appear on a split, about every four hours on AWS.
        tokio::select! {
            _ = stop.changed() => break,
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
    while workers.join_next().await.is_some() {}
}

/// The shards to start reading: not started yet, and whose parent is read
/// to its end (or gone from the stream, trimmed after 24 hours).
fn shards_ready(
    described: &[(String, Option<String>)],
    running: &BTreeSet<String>,
    finished: &BTreeSet<String>,
) -> Vec<String> {
    let present: BTreeSet<&str> = described.iter().map(|(id, _)| id.as_str()).collect();
    described
        .iter()
        .filter(|(id, _)| !running.contains(id) && !finished.contains(id))
        .filter(|(_, parent)| match parent {
            Some(parent) => finished.contains(parent) || !present.contains(parent.as_str()),
            None => true,
        })
        .map(|(id, _)| id.clone())
        .collect()
}

/// What the shard readers of one stream share.
struct StreamShards {
    deliverer: Deliverer,
    streams: aws_sdk_dynamodbstreams::Client,
    /// The emulator's ARN: for its API and the checkpoints.
    stream_arn: String,
    /// The ARN the events name (`eventSourceARN`).
    event_arn: String,
    checkpoints: std::sync::Mutex<BTreeMap<String, String>>,
    checkpoint_file: Option<PathBuf>,
}

/// A checkpoint belongs to one stream: a table created again (a fresh
/// emulator) has a new stream ARN and starts from its starting position.
fn load_checkpoints(file: Option<&std::path::Path>, stream_arn: &str) -> BTreeMap<String, String> {
    let saved: Value = file
        .and_then(|p| std::fs::read(p).ok())
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    if saved["stream_arn"] == stream_arn {
        serde_json::from_value(saved["shards"].clone()).unwrap_or_default()
    } else {
        BTreeMap::new()
    }
}

impl StreamShards {
    /// Reads one shard to its end (or until stopped), one batch at a time;
    /// answers the shard's id once it is closed and read.
    async fn read_shard(self: Arc<Self>, shard: String, mut stop: watch::Receiver<bool>) -> String {
        let name = &self.deliverer.mapping.function;
        let mut iterator: Option<String> = None;
        while !*stop.borrow() {
            let current = match iterator.take() {
                Some(current) => current,
                None => match self.shard_iterator(&shard).await {
                    Ok(Some(fresh)) => fresh,
                    Ok(None) => return shard,
                    Err(e) => {
                        (self.deliverer.activity)(trouble(name, format!("shard iterator: {e}")));
                        self.pause(&mut stop).await;
                        continue;
                    }
                },
            };
            let limit = self.deliverer.mapping.batch_size.clamp(1, 1000) as i32;
            match self.streams.get_records().shard_iterator(current).limit(limit).send().await {
                Ok(out) => {
                    let records: Vec<Record> =
                        out.records().iter().map(|r| stream_record(r, &shard, &self.event_arn)).collect();
                    let Some(next) = out.next_shard_iterator().map(String::from) else {
                        // A closed shard, read to its end.
                        if !records.is_empty() {
                            self.deliver(&shard, records).await;
                        }
                        return shard;
                    };
                    iterator = Some(next);
                    if records.is_empty() {
                        self.pause(&mut stop).await;
                    } else {
                        self.deliver(&shard, records).await;
                    }
                }
                Err(e) => {
                    (self.deliverer.activity)(trouble(name, format!("get records: {e}")));
                    self.pause(&mut stop).await;
                }
            }
        }
        shard
    }

    /// From the shard's checkpoint, else the mapping's starting position.
    async fn shard_iterator(&self, shard: &str) -> Result<Option<String>, String> {
        use aws_sdk_dynamodbstreams::types::ShardIteratorType;
        let checkpoint = self.checkpoints.lock().unwrap_or_else(|p| p.into_inner()).get(shard).cloned();
        let request = self.streams.get_shard_iterator().stream_arn(&self.stream_arn).shard_id(shard);
        let request = match checkpoint {
            Some(sequence) => {
                request.shard_iterator_type(ShardIteratorType::AfterSequenceNumber).sequence_number(sequence)
            }
            None if self.deliverer.mapping.starting_position == "LATEST" => {
                request.shard_iterator_type(ShardIteratorType::Latest)
            }
            None => request.shard_iterator_type(ShardIteratorType::TrimHorizon),
        };
        let out = request.send().await.map_err(|e| e.to_string())?;
        Ok(out.shard_iterator().map(String::from))
    }

    async fn deliver(&self, shard: &str, records: Vec<Record>) {
        let last = records.last().map(|r| r.position.clone()).unwrap_or_default();
        let created_ms = records.last().and_then(|r| r.created_ms);
        self.deliverer.deliver(records).await;
        {
            let mut checkpoints = self.checkpoints.lock().unwrap_or_else(|p| p.into_inner());
            checkpoints.insert(shard.to_owned(), last.clone());
            if let Some(path) = &self.checkpoint_file {
                let saved = json!({"stream_arn": self.stream_arn, "shards": *checkpoints});
                let _ = std::fs::write(path, saved.to_string());
            }
        }
        let iterator_age = created_ms.map(|at| {
            let age = chrono::Utc::now().timestamp_millis().saturating_sub(at);
            Duration::from_millis(u64::try_from(age).unwrap_or_default())
        });
        (self.deliverer.activity)(StackEvent::Checkpointed {
            function: self.deliverer.mapping.function.clone(),
            shard: shard.to_owned(),
            sequence: last,
            iterator_age,
        });
    }

    /// Lambda polls each shard four times a second when it is idle.
    async fn pause(&self, stop: &mut watch::Receiver<bool>) {
        tokio::select! {
            _ = stop.changed() => {}
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
        }
    }
}

fn image(
    item: Option<&std::collections::HashMap<String, aws_sdk_dynamodbstreams::types::AttributeValue>>,
) -> serde_dynamo::Item {
    item.map(|item| serde_dynamo::Item::from(item.clone())).unwrap_or_default()
}

/// A stream record as the `aws:dynamodb` event carries it, as DynamoDB
/// Streams writes it whatever the emulator answered: `eventVersion` 1.1,
/// the stack's region, a 32-hex-digit `eventID`, and `stream_arn` (the
/// stream's ARN in AWS's format, [`crate::ids::event_stream_arn`]) as
/// `eventSourceARN`.
pub fn stream_record(r: &aws_sdk_dynamodbstreams::types::Record, shard: &str, stream_arn: &str) -> Record {
    let change = r.dynamodb();
    let sequence = change.and_then(|c| c.sequence_number()).unwrap_or_default().to_owned();
    let created = change.and_then(|c| c.approximate_creation_date_time());
    let mut stream = StreamRecord::default();
    if let Some(at) = created {
        stream.approximate_creation_date_time =
            chrono::DateTime::from_timestamp(at.secs(), 0).unwrap_or_default();
    }
    stream.keys = image(change.and_then(|c| c.keys()));
    stream.new_image = image(change.and_then(|c| c.new_image()));
    stream.old_image = image(change.and_then(|c| c.old_image()));
    stream.sequence_number = Some(sequence.clone());
    stream.size_bytes = change.and_then(|c| c.size_bytes()).unwrap_or_default();
    // The SDK's view type read as the event's (the same names).
    stream.stream_view_type = change
        .and_then(|c| c.stream_view_type())
        .and_then(|v| serde_json::from_value(Value::String(v.as_str().to_owned())).ok());
    let mut record = StreamEventRecord::default();
    // moto answers `1.0` and its own fixed region; Lambda hands `1.1`.
    record.aws_region = crate::ids::LOCAL_REGION.to_owned();
    record.change = stream;
    record.event_id = crate::ids::stream_event_id(r.event_id());
    record.event_name = r.event_name().map(|n| n.as_str()).unwrap_or_default().to_owned();
    record.event_source = Some("aws:dynamodb".into());
    record.event_version = Some("1.1".into());
    record.event_source_arn = Some(stream_arn.to_owned());
    Record {
        group: shard.to_owned(),
        item: json!(sequence),
        position: sequence,
        subject: serde_json::to_value(&record).expect("a record always serialises"),
        event: SourceRecord::Stream(Box::new(record)),
        created_ms: created.map(|at| at.secs() * 1000),
    }
}

/// The `aws:dynamodb` event around `records`.
pub fn stream_event(records: &[Record]) -> Value {
    let mut event = StreamEvent::default();
    for r in records {
        if let SourceRecord::Stream(record) = &r.event {
            event.records.push(record.as_ref().clone());
        }
    }
    serde_json::to_value(&event).expect("an event always serialises")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_are_read_in_parallel_and_a_child_only_after_its_parent() {
        let set = |ids: &[&str]| ids.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
        let described = vec![
            ("a".to_owned(), None),
            ("b".to_owned(), None),
            ("a1".to_owned(), Some("a".to_owned())),
            ("orphan".to_owned(), Some("trimmed".to_owned())),
        ];
        // Every shard without a parent to wait for starts at once.
        assert_eq!(shards_ready(&described, &set(&[]), &set(&[])), ["a", "b", "orphan"]);
        // The child waits while its parent is being read...
        assert_eq!(shards_ready(&described, &set(&["a", "b", "orphan"]), &set(&[])), Vec::<String>::new());
        // ...and starts once the parent is read to its end.
        assert_eq!(shards_ready(&described, &set(&["b", "orphan"]), &set(&["a"])), ["a1"]);
    }

    fn kafka(partition: i32, offset: i64) -> Record {
        let group = format!("t-{partition}");
        Record {
            item: json!({"partition": group, "offset": offset}),
            group,
            position: format!("{partition}@{offset}"),
            event: SourceRecord::None,
            subject: Value::Null,
            created_ms: None,
        }
    }

    fn positions(records: &[Record]) -> Vec<&str> {
        records.iter().map(|r| r.position.as_str()).collect()
    }

    #[test]
    fn a_partial_answer_retries_each_named_partition_from_its_first_named_record() {
        let batch = [kafka(0, 1), kafka(0, 2), kafka(0, 3), kafka(1, 7), kafka(1, 8), kafka(2, 5)];
        for done in ["", "null", "{}", r#"{"batchItemFailures": []}"#, r#"{"batchItemFailures": null}"#] {
            assert!(records_to_retry(done.as_bytes(), &batch).unwrap().is_empty(), "{done}");
        }
        let answer = json!({"batchItemFailures": [
            {"itemIdentifier": {"partition": "t-0", "offset": 3}},
            {"itemIdentifier": {"partition": "t-0", "offset": 2}},
            {"itemIdentifier": {"partition": "t-1", "offset": 8}},
        ]});
        let retry = records_to_retry(answer.to_string().as_bytes(), &batch).unwrap();
        assert_eq!(positions(&retry), ["0@2", "0@3", "1@8"]);
        for broken in [
            json!({"batchItemFailures": [{"itemIdentifier": null}]}),
            json!({"batchItemFailures": [{"itemIdentifier": ""}]}),
            json!({"batchItemFailures": [{"itemIdentifier": {"partition": "t-9", "offset": 1}}]}),
            json!({"batchItemFailures": "all of them"}),
        ] {
            assert!(records_to_retry(broken.to_string().as_bytes(), &batch).is_err(), "{broken}");
        }
        assert!(records_to_retry(b"not json", &batch).is_err());
    }
}
