//! What the stack does, as it happens: each routed request, each batch and
//! what became of it, each scheduled call, and the trouble a poller meets.
//! Tests match on the variants; the launcher prints each one as a line
//! (`Display`).

use crate::runtime::InvokeOutcome;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Where the stack reports what it does.
pub type Activity = Arc<dyn Fn(StackEvent) + Send + Sync>;

/// A mapping's on-failure destination, by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination {
    /// An SQS queue.
    Queue,
    /// An S3 bucket.
    Bucket,
}

/// One thing the stack did or met: a request, a batch and what became of
/// it, a commit or checkpoint, a scheduled call, a poller's trouble.
#[derive(Debug, Clone)]
pub enum StackEvent {
    /// An API request the gateway handed to a function.
    Request {
        /// The HTTP method.
        method: String,
        /// The request's path.
        path: String,
        /// The status the gateway answered.
        status: u16,
        /// The function the route names.
        function: String,
        /// How long the invocation took, init excluded.
        duration: Duration,
        /// The instance's init, when this call started one.
        init: Option<Duration>,
        /// How the call failed, when it did not answer.
        failure: Option<InvokeOutcome>,
    },
    /// A batch a mapping handed to its function, by the positions of its
    /// first and last records.
    Batch {
        /// The mapping's function.
        function: String,
        /// Records in the batch.
        records: usize,
        /// The first record's position (`partition@offset`, a sequence
        /// number, or an SQS message id).
        first: String,
        /// The last record's position.
        last: String,
        /// How long the invocation took, init excluded.
        duration: Duration,
        /// The instance's init, when this call started one.
        init: Option<Duration>,
        /// How the call failed, when it did not answer.
        failure: Option<InvokeOutcome>,
    },
    /// A batch handed to its function, before the call: in flight until its
    /// `Batch` event.
    BatchStarted {
        /// The mapping's function.
        function: String,
        /// Records in the batch.
        records: usize,
        /// The first record's position.
        first: String,
        /// The last record's position.
        last: String,
    },
    /// A Kafka mapping's consumer group committed `offset` (the next record
    /// to read) for one partition.
    Committed {
        /// The mapping's function.
        function: String,
        /// The topic, as the broker names it (prefixed).
        topic: String,
        /// The partition.
        partition: i32,
        /// The next offset to read.
        offset: i64,
    },
    /// A stream mapping's shard is done up to `sequence`; `iterator_age`:
    /// how old its last record was when done (Lambda's `IteratorAge`).
    Checkpointed {
        /// The mapping's function.
        function: String,
        /// The shard's id.
        shard: String,
        /// The last sequence number done with.
        sequence: String,
        /// The last record's age when done; `None` without a creation time.
        iterator_age: Option<Duration>,
    },
    /// A failed batch split in two (`BisectBatchOnFunctionError`).
    Bisected {
        /// The mapping's function.
        function: String,
        /// Records in the batch that was split.
        records: usize,
    },
    /// A failed batch to be invoked again, whole (its `attempt`-th retry).
    Retrying {
        /// The mapping's function.
        function: String,
        /// Records in the batch.
        records: usize,
        /// Which retry this is, from 1.
        attempt: i64,
    },
    /// A partial batch response that could not be read: the whole batch fails.
    UnreadableAnswer {
        /// The mapping's function.
        function: String,
        /// What is wrong with the answer.
        reason: String,
    },
    /// A partial batch response: these records are retried (by a queue
    /// mapping: left on the queue, to come back after their visibility
    /// timeout).
    RetryFrom {
        /// The mapping's function.
        function: String,
        /// Records to retry.
        records: usize,
        /// The first of them: its position, or its message id.
        from: String,
    },
    /// A batch past its retries (or too old), written to the on-failure destination.
    SentToFailure {
        /// The mapping's function.
        function: String,
        /// Records written.
        records: usize,
        /// The first record's position.
        first: String,
        /// The last record's position.
        last: String,
        /// Where they went.
        destination: Destination,
    },
    /// A batch past its retries with no on-failure destination: lost, as on Lambda.
    Dropped {
        /// The mapping's function.
        function: String,
        /// Records lost.
        records: usize,
    },
    /// A scheduled call and its answer.
    Scheduled {
        /// The scheduled function.
        function: String,
        /// How long the invocation took, init excluded.
        duration: Duration,
        /// The response body (lossy UTF-8), or how the call failed.
        answer: Result<String, InvokeOutcome>,
    },
    /// Something a poller or a destination could not do (it retries).
    Trouble {
        /// The function whose mapping met it.
        function: String,
        /// What went wrong.
        what: String,
    },
}

impl StackEvent {
    /// The function the event is about.
    pub fn function(&self) -> &str {
        match self {
            StackEvent::Request { function, .. }
            | StackEvent::Batch { function, .. }
            | StackEvent::BatchStarted { function, .. }
            | StackEvent::Committed { function, .. }
            | StackEvent::Checkpointed { function, .. }
            | StackEvent::Bisected { function, .. }
            | StackEvent::Retrying { function, .. }
            | StackEvent::UnreadableAnswer { function, .. }
            | StackEvent::RetryFrom { function, .. }
            | StackEvent::SentToFailure { function, .. }
            | StackEvent::Dropped { function, .. }
            | StackEvent::Scheduled { function, .. }
            | StackEvent::Trouble { function, .. } => function,
        }
    }

    /// Progress the console follows and the launcher's log leaves out
    /// (one per batch and commit: the log has the batch's own line).
    pub fn is_progress(&self) -> bool {
        matches!(
            self,
            StackEvent::BatchStarted { .. } | StackEvent::Committed { .. } | StackEvent::Checkpointed { .. }
        )
    }

    /// A call that did not answer: how it failed.
    pub fn failure(&self) -> Option<&InvokeOutcome> {
        match self {
            StackEvent::Request { failure, .. } | StackEvent::Batch { failure, .. } => failure.as_ref(),
            StackEvent::Scheduled { answer: Err(failure), .. } => Some(failure),
            _ => None,
        }
    }
}

fn init(init: &Option<Duration>) -> String {
    init.map(|i| format!(" (init {} ms)", i.as_millis())).unwrap_or_default()
}

impl fmt::Display for StackEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StackEvent::Request { method, path, status, function, duration, init: i, failure } => {
                write!(
                    f,
                    "{method} {path} -> {status} {function} in {} ms{}",
                    duration.as_millis(),
                    init(i)
                )?;
                match failure {
                    Some(failure) => write!(f, ": {}", failure.describe()),
                    None => Ok(()),
                }
            }
            StackEvent::Batch { function, records, first, last, duration, init: i, failure } => write!(
                f,
                "{function} <- {records} record(s) [{first}..{last}]: {} in {} ms{}",
                failure.as_ref().map_or_else(|| "ok".to_string(), InvokeOutcome::describe),
                duration.as_millis(),
                init(i)
            ),
            StackEvent::BatchStarted { function, records, first, last } => {
                write!(f, "{function} <- {records} record(s) [{first}..{last}]: in flight")
            }
            StackEvent::Committed { function, topic, partition, offset } => {
                write!(f, "{function}: committed {topic}-{partition} at {offset}")
            }
            StackEvent::Checkpointed { function, shard, sequence, iterator_age } => write!(
                f,
                "{function}: {shard} done up to {sequence}{}",
                iterator_age.map(|age| format!(" (iterator age {} ms)", age.as_millis())).unwrap_or_default()
            ),
            StackEvent::Bisected { function, records } => {
                write!(f, "{function}: a failed batch of {records} record(s) split in two")
            }
            StackEvent::Retrying { function, records, attempt } => {
                write!(f, "{function}: {records} record(s) retried whole (retry {attempt})")
            }
            StackEvent::UnreadableAnswer { function, reason } => {
                write!(f, "{function}: batch failed: {reason}")
            }
            StackEvent::RetryFrom { function, records, from } => {
                write!(f, "{function}: {records} record(s) to retry from {from}")
            }
            StackEvent::SentToFailure { function, records, first, last, destination } => write!(
                f,
                "{function}: {records} record(s) [{first}..{last}] sent to the failure {}",
                match destination {
                    Destination::Queue => "queue",
                    Destination::Bucket => "bucket",
                }
            ),
            StackEvent::Dropped { function, records } => {
                write!(f, "{function}: {records} record(s) dropped after retries (no on-failure destination)")
            }
            StackEvent::Scheduled { function, duration, answer } => write!(
                f,
                "{function} <- schedule: {} in {} ms",
                match answer {
                    Ok(body) => body.clone(),
                    Err(failure) => failure.describe(),
                },
                duration.as_millis()
            ),
            StackEvent::Trouble { function, what } => write!(f, "{function}: {what}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_event_prints_as_the_launchers_log_line() {
        let batch = StackEvent::Batch {
            function: "notifier".into(),
            records: 2,
            first: "0@4".into(),
            last: "0@5".into(),
            duration: Duration::from_millis(12),
            init: Some(Duration::from_millis(30)),
            failure: Some(InvokeOutcome::Crashed { reason: "signal 9".into() }),
        };
        assert_eq!(
            batch.to_string(),
            "notifier <- 2 record(s) [0@4..0@5]: Runtime exited: signal 9 in 12 ms (init 30 ms)"
        );
        assert!(matches!(batch.failure(), Some(InvokeOutcome::Crashed { .. })));
        let sent = StackEvent::SentToFailure {
            function: "notifier".into(),
            records: 1,
            first: "0@4".into(),
            last: "0@4".into(),
            destination: Destination::Bucket,
        };
        assert_eq!(sent.to_string(), "notifier: 1 record(s) [0@4..0@4] sent to the failure bucket");
        let tick = StackEvent::Scheduled {
            function: "delivery-sweeper".into(),
            duration: Duration::from_millis(3),
            answer: Ok(r#"{"completed":0}"#.into()),
        };
        assert_eq!(tick.to_string(), r#"delivery-sweeper <- schedule: {"completed":0} in 3 ms"#);
        assert_eq!(tick.failure(), None);
    }
}
