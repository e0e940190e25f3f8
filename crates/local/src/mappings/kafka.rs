//! MSK topics: the poller of a mapping's topic, a worker per partition, and
//! its records as the `aws:kafka` event carries them.

use super::{Deliverer, Record, SourceRecord, trouble};
use crate::activity::StackEvent;
use crate::filter;
use aws_lambda_events::encodings::MillisecondTimestamp;
use aws_lambda_events::kafka::{KafkaEvent, KafkaRecord};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rdkafka::Message;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{Headers, OwnedMessage};
use rdkafka::{Offset, TopicPartitionList};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Settings of the Kafka pollers.
#[derive(Debug, Clone)]
pub struct KafkaPollerSettings {
    /// The broker's `bootstrap.servers`.
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
    let Some(consumer) = subscribe(&deliverer, &topic, &group, &settings) else { return };
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
                report_poll_error(&deliverer, &mut last_trouble, &e);
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
    join_workers(&deliverer, workers).await;
}

/// The mapping's consumer, subscribed to `topic` in its consumer `group`;
/// `None` (reported) when it cannot be.
fn subscribe(
    deliverer: &Deliverer,
    topic: &str,
    group: &str,
    settings: &KafkaPollerSettings,
) -> Option<StreamConsumer> {
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
            return None;
        }
    };
    if let Err(e) = consumer.subscribe(&[topic]) {
        (deliverer.activity)(trouble(&mapping.function, format!("cannot subscribe to {topic}: {e}")));
        return None;
    }
    Some(consumer)
}

/// librdkafka queues its errors (a broker down, every failed
/// reconnect) with the messages: they are read at once, so
/// that after a long outage the records behind them are not
/// held up by a backlog of old errors, and the same error is
/// reported once every 5 s at most (`last_trouble`: the last reported).
fn report_poll_error(
    deliverer: &Deliverer,
    last_trouble: &mut Option<(String, std::time::Instant)>,
    e: &KafkaError,
) {
    let what = format!("poll: {e}");
    let repeated = last_trouble
        .as_ref()
        .is_some_and(|(last, at)| *last == what && at.elapsed() < Duration::from_secs(5));
    if !repeated {
        (deliverer.activity)(trouble(&deliverer.mapping.function, what.clone()));
        *last_trouble = Some((what, std::time::Instant::now()));
    }
}

/// Waits for the partition workers to end, reporting any that panicked.
async fn join_workers(deliverer: &Deliverer, mut workers: tokio::task::JoinSet<()>) {
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
        if commit(&deliverer, &consumer, &offsets, last, &mut stop).await.is_break() {
            return;
        }
    }
}

/// Commits `offsets`, past `last`, the batch's last message; breaks when
/// `stop` turned true while it waited to try again.
async fn commit(
    deliverer: &Deliverer,
    consumer: &StreamConsumer,
    offsets: &TopicPartitionList,
    last: &OwnedMessage,
    stop: &mut watch::Receiver<bool>,
) -> ControlFlow<()> {
    let mapping = &deliverer.mapping;
    // A commit can fail for good (the group moved on while the batch ran:
    // a rebalance, a restarted broker). Then the batch comes again after
    // the consumer rejoins, which idempotent consumers make harmless.
    for attempt in 1..=5 {
        match consumer.commit(offsets, CommitMode::Sync) {
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
                    _ = stop.changed() => return ControlFlow::Break(()),
                    _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                }
            }
        }
    }
    ControlFlow::Continue(())
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
