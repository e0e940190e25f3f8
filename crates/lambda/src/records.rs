//! Decoding of event source batches.
//!
//! A record that cannot be decoded never panics: decoding returns
//! [`BatchError::Undecodable`] naming the record, the consumer fails the
//! batch, and the event source mapping retries it (bisecting down to the bad
//! record), then sends it to its on-failure destination and moves on. Every
//! consumer is idempotent, so the good records retried with it change
//! nothing twice. See `docs/functions.md`.

use aws_lambda_events::event::dynamodb::Event as DynamoDbEvent;
use aws_lambda_events::event::kafka::KafkaEvent;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use foodstream_application::consumers::ConsumeError;
use foodstream_aws::{OrderImage, order_events_of_change};
use foodstream_domain::events::{DecodeError, Envelope, EventType, OrderEvent, decode};
use serde::de::DeserializeOwned;
use std::fmt;

/// Where a record came from, for logs and errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordRef {
    Kafka { topic: String, partition: i64, offset: i64 },
    Stream { event_id: String, sequence_number: String },
}

impl fmt::Display for RecordRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordRef::Kafka { topic, partition, offset } => write!(f, "{topic}-{partition}@{offset}"),
            RecordRef::Stream { event_id, sequence_number } => {
                write!(f, "stream {event_id} #{sequence_number}")
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// Will fail on every retry: the mapping sends it to its destination.
    #[error("record {record} cannot be decoded: {reason}")]
    Undecodable { record: RecordRef, reason: String },
    #[error(transparent)]
    Consume(#[from] ConsumeError),
}

/// One Kafka record's value, base64-decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaPayload {
    pub record: RecordRef,
    pub key: Option<Vec<u8>>,
    pub value: Vec<u8>,
}

/// The records of an `aws:kafka` batch in partition order (topic, partition,
/// offset), values base64-decoded.
pub fn kafka_payloads(event: &KafkaEvent) -> Result<Vec<KafkaPayload>, BatchError> {
    let mut records: Vec<_> = event.records.values().flatten().collect();
    records.sort_by(|a, b| (&a.topic, a.partition, a.offset).cmp(&(&b.topic, b.partition, b.offset)));
    records
        .into_iter()
        .map(|r| {
            let record = RecordRef::Kafka {
                topic: r.topic.clone().unwrap_or_default(),
                partition: r.partition,
                offset: r.offset,
            };
            let undecodable = |reason: String| BatchError::Undecodable { record: record.clone(), reason };
            let value = r.value.as_deref().ok_or_else(|| undecodable("no value".into()))?;
            let value =
                STANDARD.decode(value).map_err(|e| undecodable(format!("value is not base64: {e}")))?;
            let key = r
                .key
                .as_deref()
                .map(|k| STANDARD.decode(k))
                .transpose()
                .map_err(|e| undecodable(format!("key is not base64: {e}")))?;
            Ok(KafkaPayload { record, key, value })
        })
        .collect()
}

/// The typed events of a Kafka batch of one topic.
pub fn kafka_events<K: EventType, D: DeserializeOwned>(
    event: &KafkaEvent,
) -> Result<Vec<Envelope<K, D>>, BatchError> {
    kafka_payloads(event)?
        .into_iter()
        .map(|p| {
            decode::<K, D>(&p.value)
                .map_err(|e: DecodeError| BatchError::Undecodable { record: p.record, reason: e.to_string() })
        })
        .collect()
}

/// The order events carried by a batch of the orders table's stream, in
/// stream order. Removals and records without a version change carry none.
pub fn stream_order_events(event: &DynamoDbEvent) -> Result<Vec<OrderEvent>, BatchError> {
    let mut events = Vec::new();
    for record in &event.records {
        let reference = RecordRef::Stream {
            event_id: record.event_id.clone(),
            sequence_number: record.change.sequence_number.clone().unwrap_or_default(),
        };
        let undecodable = |reason: String| BatchError::Undecodable { record: reference.clone(), reason };
        if record.change.new_image.is_empty() {
            continue; // a removal
        }
        let new: OrderImage = serde_dynamo::from_item(record.change.new_image.clone())
            .map_err(|e| undecodable(format!("new image: {e}")))?;
        let old: Option<OrderImage> = if record.change.old_image.is_empty() {
            None
        } else {
            Some(
                serde_dynamo::from_item(record.change.old_image.clone())
                    .map_err(|e| undecodable(format!("old image: {e}")))?,
            )
        };
        events.extend(order_events_of_change(&new, old.as_ref()).map_err(|e| undecodable(e.to_string()))?);
    }
    Ok(events)
}
