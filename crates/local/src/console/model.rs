//! What the console knows from the stack's own reports ([`StackEvent`]s):
//! each mapping's partitions and shards (committed offsets, checkpoints,
//! the batch in flight), its retries, bisections and failures, and the
//! latest activity lines. Pure: fed one event at a time, read as a
//! snapshot.

use crate::activity::{Destination, StackEvent};
use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

/// How many activity lines the console keeps.
pub const KEPT_LINES: usize = 200;

/// One batch a mapping handed to its function and has not heard back from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InFlight {
    /// Records in the batch.
    pub records: usize,
    /// The first record's position.
    pub first: String,
    /// The last record's position.
    pub last: String,
    /// When it started (milliseconds since the epoch).
    pub since_ms: i64,
}

/// One Kafka partition as a mapping's consumer group sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartitionState {
    /// The next offset the group reads (committed after each batch).
    pub committed: Option<i64>,
    /// The batch being handed to the function, if any.
    pub in_flight: Option<InFlight>,
}

/// One stream shard as a mapping reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShardState {
    /// The last sequence number done with.
    pub position: String,
    /// How old its last record was when done.
    pub iterator_age: Option<Duration>,
}

/// One event source mapping, by its function.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MappingState {
    /// By `(topic, partition)`.
    pub partitions: BTreeMap<(String, i32), PartitionState>,
    /// By shard id.
    pub shards: BTreeMap<String, ShardState>,
    /// Batches in flight that name no partition (a stream's or a queue's),
    /// by their first record's position.
    pub other_in_flight: BTreeMap<String, InFlight>,
    /// Calls made with a batch.
    pub batches: u64,
    /// Records retried: whole batches again, or a partial batch's tail.
    pub retried_records: u64,
    /// Failed batches split in two.
    pub bisections: u64,
    /// Records written to the on-failure destination.
    pub records_to_failure: u64,
    /// Records lost past their retries, with no destination.
    pub records_dropped: u64,
    /// Calls that did not answer.
    pub failed_batches: u64,
}

/// One activity line, as the launcher logs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// When it was reported (milliseconds since the epoch).
    pub at_ms: i64,
    /// The function it is about.
    pub function: String,
    /// The event's `Display` line.
    pub text: String,
    /// A call that failed, a batch sent to the failure destination or
    /// dropped, an unreadable answer, trouble.
    pub bad: bool,
}

/// Everything the console has taken in from the stack's events.
#[derive(Debug, Default)]
pub struct Model {
    /// Each mapping's state, by its function.
    pub mappings: BTreeMap<String, MappingState>,
    /// The latest activity lines, oldest first (at most [`KEPT_LINES`]).
    pub lines: VecDeque<Line>,
    /// Bumped at every event: a view rendered at one version is current
    /// until the next.
    pub version: u64,
}

/// A Kafka record's position, `partition@offset`, as the mappings write it.
fn partition_of(position: &str) -> Option<i32> {
    let (partition, offset) = position.split_once('@')?;
    offset.parse::<i64>().ok()?;
    partition.parse().ok()
}

impl Model {
    /// Takes in one event the stack reported, at `now_ms`.
    pub fn observe(&mut self, event: &StackEvent, now_ms: i64) {
        self.version = self.version.wrapping_add(1);
        let function = event.function().to_owned();
        match event {
            StackEvent::BatchStarted { records, first, last, .. } => {
                let flight = InFlight {
                    records: *records,
                    first: first.clone(),
                    last: last.clone(),
                    since_ms: now_ms,
                };
                let mapping = self.mappings.entry(function).or_default();
                match partition_of(first) {
                    // The topic is not in the position: the partition's
                    // entry is the one its commits made, else a new one.
                    Some(partition) => {
                        let key = mapping
                            .partitions
                            .keys()
                            .find(|(_, p)| *p == partition)
                            .cloned()
                            .unwrap_or((String::new(), partition));
                        mapping.partitions.entry(key).or_default().in_flight = Some(flight);
                    }
                    None => {
                        mapping.other_in_flight.insert(first.clone(), flight);
                    }
                }
            }
            StackEvent::Batch { first, failure, .. } => {
                let mapping = self.mappings.entry(function).or_default();
                mapping.batches += 1;
                if failure.is_some() {
                    mapping.failed_batches += 1;
                }
                match partition_of(first) {
                    Some(partition) => {
                        for ((_, p), state) in mapping.partitions.iter_mut() {
                            if *p == partition {
                                state.in_flight = None;
                            }
                        }
                    }
                    None => {
                        mapping.other_in_flight.remove(first);
                    }
                }
            }
            StackEvent::Committed { topic, partition, offset, .. } => {
                let mapping = self.mappings.entry(function).or_default();
                // A batch started before the first commit sits under no topic.
                let unnamed = mapping.partitions.remove(&(String::new(), *partition)).unwrap_or_default();
                let state = mapping.partitions.entry((topic.clone(), *partition)).or_insert(unnamed);
                state.committed = Some(state.committed.map_or(*offset, |c| c.max(*offset)));
            }
            StackEvent::Checkpointed { shard, sequence, iterator_age, .. } => {
                let mapping = self.mappings.entry(function).or_default();
                mapping.shards.insert(
                    shard.clone(),
                    ShardState { position: sequence.clone(), iterator_age: *iterator_age },
                );
            }
            StackEvent::Bisected { .. } => self.mappings.entry(function).or_default().bisections += 1,
            StackEvent::Retrying { records, .. } | StackEvent::RetryFrom { records, .. } => {
                self.mappings.entry(function).or_default().retried_records += *records as u64;
            }
            StackEvent::SentToFailure { records, destination, .. } => {
                let mapping = self.mappings.entry(function).or_default();
                match destination {
                    Destination::Queue | Destination::Bucket => mapping.records_to_failure += *records as u64,
                }
            }
            StackEvent::Dropped { records, .. } => {
                self.mappings.entry(function).or_default().records_dropped += *records as u64;
            }
            StackEvent::Request { .. }
            | StackEvent::UnreadableAnswer { .. }
            | StackEvent::Scheduled { .. }
            | StackEvent::Trouble { .. } => {}
        }
        if !event.is_progress() {
            let bad = event.failure().is_some()
                || matches!(
                    event,
                    StackEvent::SentToFailure { .. }
                        | StackEvent::Dropped { .. }
                        | StackEvent::Trouble { .. }
                        | StackEvent::UnreadableAnswer { .. }
                );
            self.lines.push_back(Line {
                at_ms: now_ms,
                function: event.function().to_owned(),
                text: event.to_string(),
                bad,
            });
            while self.lines.len() > KEPT_LINES {
                self.lines.pop_front();
            }
        }
    }
}

/// The `p`-th percentile (0 to 100) of `values` by nearest rank; `None`
/// when there are none.
pub fn percentile(values: &[Duration], p: f64) -> Option<Duration> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn started(first: &str, last: &str) -> StackEvent {
        StackEvent::BatchStarted {
            function: "notifier".into(),
            records: 2,
            first: first.into(),
            last: last.into(),
        }
    }

    fn done(first: &str, last: &str) -> StackEvent {
        StackEvent::Batch {
            function: "notifier".into(),
            records: 2,
            first: first.into(),
            last: last.into(),
            duration: Duration::from_millis(3),
            init: None,
            failure: None,
        }
    }

    #[test]
    fn a_partition_shows_its_batch_in_flight_until_done_and_its_committed_offset() {
        let mut model = Model::default();
        model.observe(&started("1@4", "1@5"), 10);
        let partition = &model.mappings["notifier"].partitions[&(String::new(), 1)];
        assert_eq!(partition.in_flight.as_ref().map(|f| f.first.as_str()), Some("1@4"));
        model.observe(&done("1@4", "1@5"), 20);
        model.observe(
            &StackEvent::Committed {
                function: "notifier".into(),
                topic: "order-events".into(),
                partition: 1,
                offset: 6,
            },
            21,
        );
        let mapping = &model.mappings["notifier"];
        assert_eq!(mapping.partitions.len(), 1, "the unnamed entry became the topic's: {mapping:?}");
        let partition = &mapping.partitions[&("order-events".to_string(), 1)];
        assert_eq!((partition.committed, partition.in_flight.clone()), (Some(6), None));
        assert_eq!(mapping.batches, 1);
        // The next batch of that partition shows under the topic's entry.
        model.observe(&started("1@6", "1@6"), 30);
        assert!(model.mappings["notifier"].partitions[&("order-events".to_string(), 1)].in_flight.is_some());
        // Only the batch's own line is logged, not its progress.
        assert_eq!(model.lines.len(), 1, "{:?}", model.lines);
    }

    #[test]
    fn a_commit_never_goes_back_and_failures_retries_and_bisections_add_up() {
        let mut model = Model::default();
        let commit = |offset| StackEvent::Committed {
            function: "log-collector".into(),
            topic: "log-events".into(),
            partition: 0,
            offset,
        };
        model.observe(&commit(9), 1);
        model.observe(&commit(7), 2);
        model.observe(&StackEvent::Bisected { function: "log-collector".into(), records: 4 }, 3);
        model.observe(&StackEvent::Retrying { function: "log-collector".into(), records: 2, attempt: 1 }, 4);
        model.observe(
            &StackEvent::RetryFrom { function: "log-collector".into(), records: 3, from: "0@8".into() },
            5,
        );
        model.observe(
            &StackEvent::SentToFailure {
                function: "log-collector".into(),
                records: 2,
                first: "0@8".into(),
                last: "0@9".into(),
                destination: Destination::Bucket,
            },
            6,
        );
        let mapping = &model.mappings["log-collector"];
        assert_eq!(mapping.partitions[&("log-events".to_string(), 0)].committed, Some(9));
        assert_eq!((mapping.bisections, mapping.retried_records, mapping.records_to_failure), (1, 5, 2));
        assert!(model.lines.back().is_some_and(|l| l.bad), "{:?}", model.lines);
    }

    #[test]
    fn a_shard_keeps_its_position_and_iterator_age_and_other_batches_their_own_flight() {
        let mut model = Model::default();
        let relay = |event: StackEvent| event;
        model.observe(
            &relay(StackEvent::BatchStarted {
                function: "order-outbox-relay".into(),
                records: 1,
                first: "000100".into(),
                last: "000100".into(),
            }),
            1,
        );
        assert_eq!(model.mappings["order-outbox-relay"].other_in_flight.len(), 1);
        model.observe(
            &StackEvent::Batch {
                function: "order-outbox-relay".into(),
                records: 1,
                first: "000100".into(),
                last: "000100".into(),
                duration: Duration::from_millis(1),
                init: None,
                failure: None,
            },
            2,
        );
        model.observe(
            &StackEvent::Checkpointed {
                function: "order-outbox-relay".into(),
                shard: "shardId-1".into(),
                sequence: "000100".into(),
                iterator_age: Some(Duration::from_millis(250)),
            },
            3,
        );
        let mapping = &model.mappings["order-outbox-relay"];
        assert!(mapping.other_in_flight.is_empty());
        assert_eq!(mapping.shards["shardId-1"].position, "000100");
        assert_eq!(mapping.shards["shardId-1"].iterator_age, Some(Duration::from_millis(250)));
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let ms = |v: &[u64]| v.iter().map(|m| Duration::from_millis(*m)).collect::<Vec<_>>();
        assert_eq!(percentile(&[], 50.0), None);
        assert_eq!(percentile(&ms(&[5]), 99.0), Some(Duration::from_millis(5)));
        assert_eq!(percentile(&ms(&[4, 1, 3, 2]), 50.0), Some(Duration::from_millis(2)));
        assert_eq!(percentile(&ms(&[4, 1, 3, 2]), 99.0), Some(Duration::from_millis(4)));
    }

    proptest! {
        /// Whatever the stack reports, in any order and with any positions,
        /// the model takes it without a panic and keeps at most
        /// [`KEPT_LINES`] lines.
        #[test]
        fn any_sequence_of_events_is_taken_without_panic(
            events in proptest::collection::vec((0u8..8, ".{0,12}", any::<i32>(), any::<i64>(), 0usize..5), 0..300)
        ) {
            let mut model = Model::default();
            for (kind, position, partition, offset, records) in events {
                let function = "f".to_string();
                let event = match kind {
                    0 => StackEvent::BatchStarted { function, records, first: position.clone(), last: position },
                    1 => StackEvent::Batch { function, records, first: position.clone(), last: position, duration: Duration::ZERO, init: None, failure: None },
                    2 => StackEvent::Committed { function, topic: position, partition, offset },
                    3 => StackEvent::Checkpointed { function, shard: position.clone(), sequence: position, iterator_age: None },
                    4 => StackEvent::Bisected { function, records },
                    5 => StackEvent::Retrying { function, records, attempt: offset },
                    6 => StackEvent::Dropped { function, records },
                    _ => StackEvent::Trouble { function, what: position },
                };
                model.observe(&event, offset);
            }
            prop_assert!(model.lines.len() <= KEPT_LINES);
        }
    }
}
