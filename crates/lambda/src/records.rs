//! The records of event source batches, one by one.
//!
//! Decoding never fails a batch: each record comes with the identifier
//! Lambda's partial batch response names it by, the group whose order must
//! be kept (a Kafka partition, a stream shard), the record as received (for
//! a dead letter) and its decoded event, or why it cannot be decoded. The
//! consumer then parks what can never be processed, retries only what
//! failed on a dependency, and answers [`BatchResponse`]. See
//! `docs/functions.md`.

use aws_lambda_events::event::kafka::{KafkaEvent, KafkaRecord};
use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use foodstream_domain::events::{Envelope, EventData, EventType, decode};
use foodstream_domain::trace::{TRACEPARENT, TraceParent};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::fmt;

/// How Lambda's partial batch response names a record: a Kafka record by
/// its `topic-partition` and offset, a stream record by its sequence
/// number, an SQS message by its message id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum ItemIdentifier {
    Kafka { partition: String, offset: i64 },
    Sequence(String),
    Message(String),
}

impl fmt::Display for ItemIdentifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ItemIdentifier::Kafka { partition, offset } => write!(f, "{partition}@{offset}"),
            ItemIdentifier::Sequence(sequence) => write!(f, "#{sequence}"),
            ItemIdentifier::Message(id) => write!(f, "message {id}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchItemFailure {
    pub item_identifier: ItemIdentifier,
}

/// A consumer's answer with `FunctionResponseTypes: [ReportBatchItemFailures]`:
/// the records to retry (Lambda retries each partition or shard from the
/// first one named); none means the whole batch is done.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchResponse {
    pub batch_item_failures: Vec<BatchItemFailure>,
}

/// A record as the function received it, serialised only for a dead
/// letter (most records never need it).
#[derive(Debug, Clone, Copy)]
pub enum RawRecord<'a> {
    Kafka(&'a KafkaRecord),
    Stream(&'a aws_lambda_events::event::dynamodb::EventRecord),
    Sqs(&'a SqsMessage),
}

impl RawRecord<'_> {
    pub fn to_value(&self) -> Value {
        match self {
            RawRecord::Kafka(record) => serde_json::to_value(record),
            RawRecord::Stream(record) => serde_json::to_value(record),
            RawRecord::Sqs(message) => serde_json::to_value(message),
        }
        .unwrap_or(Value::Null)
    }
}

/// One record of a batch.
#[derive(Debug, Clone)]
pub struct BatchRecord<'a, E> {
    pub id: ItemIdentifier,
    /// The partition (`topic-partition`) or shard: order is kept within it.
    pub group: String,
    /// The record as the function received it.
    pub raw: RawRecord<'a>,
    /// The decoded event, or why it cannot be decoded.
    pub event: Result<E, String>,
    /// The trace the record came with: a Kafka record's `traceparent`
    /// header, the order's on a stream record. A missing or malformed one
    /// is `None`, never a reason to refuse the record.
    pub trace: Option<TraceParent>,
}

/// The records of an `aws:kafka` batch in partition order, each decoded as
/// an event of the topic's type.
pub fn kafka_records<K: EventType, D: DeserializeOwned + EventData>(
    event: &KafkaEvent,
) -> Vec<BatchRecord<'_, Envelope<K, D>>> {
    let mut records: Vec<_> = event.records.values().flatten().collect();
    records.sort_by(|a, b| (&a.topic, a.partition, a.offset).cmp(&(&b.topic, b.partition, b.offset)));
    records
        .into_iter()
        .map(|r| {
            let group = format!("{}-{}", r.topic.as_deref().unwrap_or_default(), r.partition);
            let decoded = r
                .value
                .as_deref()
                .ok_or_else(|| "no value".to_owned())
                .and_then(|v| STANDARD.decode(v).map_err(|e| format!("value is not base64: {e}")))
                .and_then(|bytes| decode::<K, D>(&bytes).map_err(|e| e.to_string()));
            BatchRecord {
                id: ItemIdentifier::Kafka { partition: group.clone(), offset: r.offset },
                group,
                raw: RawRecord::Kafka(r),
                event: decoded,
                trace: kafka_trace(r),
            }
        })
        .collect()
}

/// The messages of an `aws:sqs` batch, each read by `decode` (a standard
/// queue keeps no order, so each message is its own group). A message
/// without an id cannot be named in the answer: it is decoded as an error,
/// and its batch item failure, if any, names it by the empty id, which
/// Lambda reads as the whole batch failed (nothing is lost).
pub fn sqs_records<E>(
    event: &SqsEvent,
    decode: impl Fn(&str) -> Result<E, String>,
) -> Vec<BatchRecord<'_, E>> {
    event
        .records
        .iter()
        .map(|m| {
            let id = m.message_id.clone().unwrap_or_default();
            let decoded = match (&m.message_id, &m.body) {
                (None, _) => Err("no messageId".to_owned()),
                (_, None) => Err("no body".to_owned()),
                (Some(_), Some(body)) => decode(body),
            };
            BatchRecord {
                group: format!("message {id}"),
                id: ItemIdentifier::Message(id),
                raw: RawRecord::Sqs(m),
                event: decoded,
                trace: None,
            }
        })
        .collect()
}

/// The `traceparent` header of a Kafka record (Lambda hands header values
/// over as signed bytes).
fn kafka_trace(record: &KafkaRecord) -> Option<TraceParent> {
    let bytes: Vec<u8> =
        record.headers.iter().find_map(|header| header.get(TRACEPARENT))?.iter().map(|&b| b as u8).collect();
    TraceParent::parse(std::str::from_utf8(&bytes).ok()?)
}

/// The batch policy (`foodstream_application::batches`) reads a record
/// through this: its event, its trace, its name and its payload.
impl<E: Sync> foodstream_application::batches::BatchItem for BatchRecord<'_, E> {
    type Event = E;

    fn event(&self) -> Result<&E, &str> {
        self.event.as_ref().map_err(String::as_str)
    }

    fn trace(&self) -> Option<&TraceParent> {
        self.trace.as_ref()
    }

    fn write_name(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.id, f)
    }

    fn payload(&self) -> Value {
        self.raw.to_value()
    }
}
