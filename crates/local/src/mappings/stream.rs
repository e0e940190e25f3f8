//! A DynamoDB table's stream: its shards read in parallel, each from its
//! checkpoint, and its records as the `aws:dynamodb` event carries them.

use super::{Deliverer, Record, SourceRecord, trouble};
use crate::activity::StackEvent;
use aws_lambda_events::dynamodb::{Event as StreamEvent, EventRecord as StreamEventRecord, StreamRecord};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

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
}
