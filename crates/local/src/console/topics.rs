//! The latest records of each topic, decoded, for the console: one reader
//! of its own (no consumer group, nothing committed) follows every
//! partition from its start and keeps the last [`KEPT_PER_TOPIC`] records
//! of each topic, and each partition's end (the next offset, as far as
//! read: the broker's high watermarks are not to be trusted on Tansu).

use rdkafka::Message;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::Headers;
use rdkafka::{Offset, TopicPartitionList};
use serde_json::Value;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::watch;

/// How many records of each topic the console keeps.
pub const KEPT_PER_TOPIC: usize = 50;

/// One record, decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct TailRecord {
    /// The template's name of the topic (no prefix).
    pub topic: String,
    /// Its partition.
    pub partition: i32,
    /// Its offset in the partition.
    pub offset: i64,
    /// The record's timestamp (milliseconds since the epoch), if it has one.
    pub timestamp_ms: Option<i64>,
    /// The key as text (lossy; empty without one).
    pub key: String,
    /// Header names and values as text (lossy).
    pub headers: Vec<(String, String)>,
    /// The value: JSON when it parses (the event envelope), else its text.
    pub value: Value,
}

impl TailRecord {
    /// The order the record is about: the envelope's `order_id`.
    pub fn order_id(&self) -> Option<&str> {
        self.value.get("order_id").and_then(Value::as_str)
    }

    /// The envelope's `event_type` (`OrderPlaced`).
    pub fn event_type(&self) -> Option<&str> {
        self.value.get("event_type").and_then(Value::as_str)
    }

    /// The W3C trace context the producer wrote, if any.
    pub fn traceparent(&self) -> Option<&str> {
        self.headers.iter().find(|(name, _)| name == "traceparent").map(|(_, value)| value.as_str())
    }

    /// About `order_id`: the envelope's order, or its key.
    pub fn is_about(&self, order_id: &str) -> bool {
        self.order_id() == Some(order_id) || self.key == order_id
    }
}

/// Decodes one record's parts as they came off the wire: text lossily,
/// the value as JSON when it is.
pub fn decode(
    topic: &str,
    partition: i32,
    offset: i64,
    timestamp_ms: Option<i64>,
    key: Option<&[u8]>,
    headers: Vec<(String, Option<Vec<u8>>)>,
    payload: Option<&[u8]>,
) -> TailRecord {
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    let payload = payload.unwrap_or_default();
    let value = serde_json::from_slice(payload).unwrap_or_else(|_| Value::String(text(payload)));
    TailRecord {
        topic: topic.to_owned(),
        partition,
        offset,
        timestamp_ms,
        key: key.map(text).unwrap_or_default(),
        headers: headers
            .into_iter()
            .map(|(name, value)| (name, value.as_deref().map(text).unwrap_or_default()))
            .collect(),
        value,
    }
}

/// What the reader has seen.
#[derive(Debug, Default)]
pub struct TopicTail {
    records: Mutex<BTreeMap<String, VecDeque<TailRecord>>>,
    /// By (topic, partition): the offset after the last record read.
    ends: Mutex<BTreeMap<(String, i32), i64>>,
}

impl TopicTail {
    /// Keeps `record` (dropping its topic's oldest past
    /// [`KEPT_PER_TOPIC`]) and moves its partition's end past it.
    pub fn push(&self, record: TailRecord) {
        {
            let mut ends = self.ends.lock().unwrap_or_else(|p| p.into_inner());
            let end = ends.entry((record.topic.clone(), record.partition)).or_insert(0);
            *end = (*end).max(record.offset.saturating_add(1));
        }
        let mut records = self.records.lock().unwrap_or_else(|p| p.into_inner());
        let kept = records.entry(record.topic.clone()).or_default();
        kept.push_back(record);
        while kept.len() > KEPT_PER_TOPIC {
            kept.pop_front();
        }
    }

    /// The latest records of `topic`, newest first.
    pub fn latest(&self, topic: &str) -> Vec<TailRecord> {
        let records = self.records.lock().unwrap_or_else(|p| p.into_inner());
        records.get(topic).map(|kept| kept.iter().rev().cloned().collect()).unwrap_or_default()
    }

    /// A partition's end as far as read (`None`: nothing read from it yet).
    pub fn end(&self, topic: &str, partition: i32) -> Option<i64> {
        self.ends.lock().unwrap_or_else(|p| p.into_inner()).get(&(topic.to_owned(), partition)).copied()
    }
}

/// A topic to follow: the template's name, the broker's (prefixed) and its
/// partitions.
#[derive(Debug, Clone)]
pub struct Followed {
    /// The template's name.
    pub name: String,
    /// The broker's name (prefixed).
    pub full_name: String,
    /// How many partitions to read.
    pub partitions: i32,
}

/// Follows `topics` from their start until `stop` turns true.
pub async fn follow(
    tail: std::sync::Arc<TopicTail>,
    bootstrap: String,
    topics: Vec<Followed>,
    mut stop: watch::Receiver<bool>,
) {
    let consumer: StreamConsumer = match ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        // A group id librdkafka wants for a consumer; with `assign` it
        // never joins the group, and nothing is committed.
        .set("group.id", "foodstream-local-console")
        .set("client.id", "foodstream-local-console")
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .create()
    {
        Ok(consumer) => consumer,
        Err(e) => {
            tracing::warn!(error = %e, "the console cannot read the topics");
            return;
        }
    };
    let mut assignment = TopicPartitionList::new();
    for topic in &topics {
        for partition in 0..topic.partitions.max(1) {
            let _ = assignment.add_partition_offset(&topic.full_name, partition, Offset::Beginning);
        }
    }
    if let Err(e) = consumer.assign(&assignment) {
        tracing::warn!(error = %e, "the console cannot follow the topics");
        return;
    }
    let names: BTreeMap<String, String> = topics.into_iter().map(|t| (t.full_name, t.name)).collect();
    loop {
        let message = tokio::select! {
            _ = stop.changed() => return,
            message = consumer.recv() => message,
        };
        let message = match message {
            Ok(message) => message,
            Err(_) => {
                // The broker away: librdkafka reconnects by itself.
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        let Some(name) = names.get(message.topic()) else { continue };
        let headers = message
            .headers()
            .map(|headers| headers.iter().map(|h| (h.key.to_owned(), h.value.map(<[u8]>::to_vec))).collect())
            .unwrap_or_default();
        tail.push(decode(
            name,
            message.partition(),
            message.offset(),
            message.timestamp().to_millis(),
            message.key(),
            headers,
            message.payload(),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn an_envelope_is_decoded_with_its_order_and_trace() {
        let value = br#"{"event_type":"OrderPlaced","order_id":"o-1","data":{}}"#;
        let record = decode(
            "order-events",
            2,
            7,
            Some(1),
            Some(b"o-1"),
            vec![("traceparent".into(), Some(b"00-abc-def-01".to_vec())), ("empty".into(), None)],
            Some(value),
        );
        assert_eq!(record.order_id(), Some("o-1"));
        assert_eq!(record.event_type(), Some("OrderPlaced"));
        assert_eq!(record.traceparent(), Some("00-abc-def-01"));
        assert!(record.is_about("o-1") && !record.is_about("o-2"));
    }

    #[test]
    fn the_tail_keeps_the_latest_records_newest_first_and_each_partitions_end() {
        let tail = TopicTail::default();
        for offset in 0..(KEPT_PER_TOPIC as i64 + 5) {
            tail.push(decode("log-events", 0, offset, None, None, Vec::new(), Some(b"x")));
        }
        let latest = tail.latest("log-events");
        assert_eq!(latest.len(), KEPT_PER_TOPIC);
        assert_eq!(latest[0].offset, KEPT_PER_TOPIC as i64 + 4);
        assert_eq!(tail.end("log-events", 0), Some(KEPT_PER_TOPIC as i64 + 5));
        assert_eq!(tail.end("log-events", 1), None);
        assert!(tail.latest("order-events").is_empty());
    }

    proptest! {
        /// Any bytes as key, headers and value decode without a panic, and
        /// a value that is not JSON is kept as its text.
        #[test]
        fn hostile_records_decode(key in proptest::collection::vec(any::<u8>(), 0..40),
                                  value in proptest::collection::vec(any::<u8>(), 0..200),
                                  header in proptest::collection::vec(any::<u8>(), 0..40),
                                  offset in any::<i64>()) {
            let tail = TopicTail::default();
            let record = decode("t", 0, offset, None, Some(&key), vec![("h".into(), Some(header))], Some(&value));
            if serde_json::from_slice::<Value>(&value).is_err() {
                prop_assert!(record.value.is_string());
            }
            tail.push(record);
            prop_assert_eq!(tail.latest("t").len(), 1);
        }
    }
}
