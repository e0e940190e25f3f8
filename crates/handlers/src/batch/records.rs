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
use tracing::{Span, info_span};

/// How Lambda's partial batch response names a record: a Kafka record by
/// its `topic-partition` and offset, a stream record by its sequence
/// number, an SQS message by its message id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum ItemIdentifier {
    /// A Kafka record.
    Kafka {
        /// `topic-partition`.
        partition: String,
        /// The record's offset in its partition.
        offset: i64,
    },
    /// A stream record's `SequenceNumber`.
    Sequence(String),
    /// An SQS message's `messageId`.
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
/// One record to retry.
pub struct BatchItemFailure {
    /// Which record.
    pub item_identifier: ItemIdentifier,
}

/// A consumer's answer with `FunctionResponseTypes: [ReportBatchItemFailures]`:
/// the records to retry (Lambda retries each partition or shard from the
/// first one named); none means the whole batch is done.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchResponse {
    /// The records to retry, in batch order.
    pub batch_item_failures: Vec<BatchItemFailure>,
}

/// A record as the function received it, serialised only for a dead
/// letter (most records never need it).
#[derive(Debug, Clone, Copy)]
pub enum RawRecord<'a> {
    /// A record of an `aws:kafka` batch.
    Kafka(&'a KafkaRecord),
    /// A record of a DynamoDB stream batch.
    Stream(&'a aws_lambda_events::event::dynamodb::EventRecord),
    /// A message of an SQS batch.
    Sqs(&'a SqsMessage),
}

impl RawRecord<'_> {
    /// The record alone, as JSON.
    pub fn to_value(&self) -> Value {
        match self {
            RawRecord::Kafka(record) => serde_json::to_value(record),
            RawRecord::Stream(record) => serde_json::to_value(record),
            RawRecord::Sqs(message) => serde_json::to_value(message),
        }
        .unwrap_or(Value::Null)
    }

    /// The record as a batch of its own: the event Lambda would have
    /// invoked the function with had the record come alone. An `aws:kafka`
    /// event with the record under its `topic-partition`; `Records` of the
    /// one stream record or SQS message. What a dead letter keeps, so that a
    /// replay re-drives it as it does the event source mappings' own
    /// failure records.
    pub fn to_batch(&self) -> Value {
        let record = self.to_value();
        match self {
            RawRecord::Kafka(kafka) => {
                let mut records = serde_json::Map::new();
                records.insert(topic_partition(kafka), Value::Array(vec![record]));
                serde_json::json!({ "eventSource": "aws:kafka", "records": records })
            }
            RawRecord::Stream(_) | RawRecord::Sqs(_) => serde_json::json!({ "Records": [record] }),
        }
    }
}

/// How an `aws:kafka` event keys a record's partition: `topic-partition`.
fn topic_partition(record: &KafkaRecord) -> String {
    format!("{}-{}", record.topic.as_deref().unwrap_or_default(), record.partition)
}

/// One record of a batch.
#[derive(Debug, Clone)]
pub struct BatchRecord<'a, E> {
    /// How the partial batch response names it.
    pub id: ItemIdentifier,
    /// The partition (`topic-partition`), shard, order or delivery: order
    /// is kept within it.
    pub group: String,
    /// The record as the function received it.
    pub raw: RawRecord<'a>,
    /// The decoded event, or why it cannot be decoded.
    pub event: Result<E, String>,
    /// The trace the record came with: a Kafka record's `traceparent`
    /// header, the order's on a stream record. A missing or malformed one
    /// is `None`, never a reason to refuse the record.
    pub trace: Option<TraceParent>,
    /// The span the batch policy runs the record's work in: every line
    /// logged for it names the record (its message id, an undecodable Kafka
    /// record's position) or a decoded record's order (and, for Kafka, its
    /// event and trace), so one order can be followed across the functions
    /// (`make logs ORDER=<id>` locally, the same fields in CloudWatch Logs
    /// Insights). The relay publishes its records in groups, outside their
    /// spans: its lines name each event's order themselves.
    pub span: Span,
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
            let group = topic_partition(r);
            let decoded = r
                .value
                .as_deref()
                .ok_or_else(|| "no value".to_owned())
                .and_then(|v| STANDARD.decode(v).map_err(|e| format!("value is not base64: {e}")))
                .and_then(|bytes| decode::<K, D>(&bytes).map_err(|e| e.to_string()));
            let id = ItemIdentifier::Kafka { partition: group.clone(), offset: r.offset };
            let trace = kafka_trace(r);
            let span = envelope_span(&id, &decoded, trace.as_ref());
            BatchRecord { id, group, raw: RawRecord::Kafka(r), event: decoded, trace, span }
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
            let group = format!("message {id}");
            let id = ItemIdentifier::Message(id);
            let span = info_span!("record", message = %id);
            BatchRecord { group, id, raw: RawRecord::Sqs(m), event: decoded, trace: None, span }
        })
        .collect()
}

/// The span of an event record: its order, event and trace once decoded,
/// its name otherwise.
fn envelope_span<K: EventType, D>(
    id: &ItemIdentifier,
    event: &Result<Envelope<K, D>, String>,
    trace: Option<&TraceParent>,
) -> Span {
    let trace_id = trace.map(TraceParent::trace_id);
    match event {
        Ok(event) => info_span!(
            "record",
            order_id = %event.order_id,
            event_id = %event.event_id,
            event_type = event.event_type.as_str(),
            trace_id,
        ),
        Err(_) => info_span!("record", record = %id, trace_id),
    }
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

    fn group(&self) -> &str {
        &self.group
    }

    fn span(&self) -> Span {
        self.span.clone()
    }

    fn write_name(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.id, f)
    }

    fn payload(&self) -> Value {
        self.raw.to_batch()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lambda_events::event::dynamodb::Event as StreamEvent;

    /// An event of `events/`, as Lambda hands it to the function.
    fn event<T: DeserializeOwned>(text: &str) -> T {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn a_kafka_record_is_kept_as_an_aws_kafka_event_of_its_own() {
        let event: KafkaEvent = event(include_str!("../../../../events/log-collector.json"));
        let record = event.records.values().flatten().next().unwrap();
        let batch = RawRecord::Kafka(record).to_batch();
        assert_eq!(batch["eventSource"], "aws:kafka");
        let alone: KafkaEvent = serde_json::from_value(batch.clone()).unwrap();
        assert_eq!(alone.records.len(), 1, "{batch}");
        assert_eq!(alone.records["log-events-0"], vec![record.clone()], "{batch}");
    }

    #[test]
    fn a_stream_record_and_an_sqs_message_are_kept_as_records_of_their_own() {
        let stream: StreamEvent = event(include_str!("../../../../events/order-outbox-relay.json"));
        let batch = RawRecord::Stream(&stream.records[0]).to_batch();
        let alone: StreamEvent = serde_json::from_value(batch.clone()).unwrap();
        assert_eq!(alone.records, stream.records[..1], "{batch}");

        let sqs: SqsEvent = event(include_str!("../../../../events/delivery-completer.json"));
        let batch = RawRecord::Sqs(&sqs.records[0]).to_batch();
        assert_eq!(batch["Records"][0]["eventSource"], "aws:sqs");
        let alone: SqsEvent = serde_json::from_value(batch.clone()).unwrap();
        assert_eq!(alone.records, sqs.records[..1], "{batch}");
    }
}
