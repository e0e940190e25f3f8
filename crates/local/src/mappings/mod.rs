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

mod delivery;
mod failure;
mod kafka;
mod stream;

pub use delivery::{Deliverer, EventBuilder, MAX_BACKOFF, records_to_retry};
pub use failure::{Failure, FailureTarget, failure_record};
pub use kafka::{KafkaPollerSettings, kafka_event, kafka_record, run_kafka};
pub use stream::{run_table_stream, stream_event, stream_record};

use crate::activity::StackEvent;
use aws_lambda_events::dynamodb::EventRecord as StreamEventRecord;
use aws_lambda_events::kafka::KafkaRecord;
use serde_json::Value;

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
    /// A record of an `aws:kafka` event.
    Kafka(KafkaRecord),
    /// A record of an `aws:dynamodb` event.
    Stream(Box<StreamEventRecord>),
    /// Only in tests of the batching logic, where the payload is not read.
    None,
}

fn trouble(function: &str, what: String) -> StackEvent {
    StackEvent::Trouble { function: function.to_owned(), what }
}
