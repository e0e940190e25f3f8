//! The types the template is read into: the functions, what invokes them
//! (routes, mappings, schedules) and the resources they use, with the
//! look-ups the local stack, the tests and the bench make on them.

use crate::Table;
use serde_norway::Value;
use std::collections::BTreeMap;

/// A value of a function's environment before resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvValue {
    /// A value written as is.
    Literal(String),
    /// `!Ref X`: a parameter or a resource.
    Ref(String),
}

/// An `AWS::Serverless::Function`: what the local stack runs it with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    /// The function's logical id in `Resources`.
    pub logical_id: String,
    /// The binary under `functions/` (`Metadata.BuildProperties.Binary`).
    pub binary: String,
    /// `Timeout`: the function's own, else `Globals`', else Lambda's
    /// default of 3 seconds.
    pub timeout_seconds: u64,
    /// `MemorySize`: the function's own, else `Globals`', else Lambda's
    /// default of 128 MB.
    pub memory_mb: u64,
    /// `Environment.Variables`, `Globals`' with the function's own over
    /// them, unresolved (see [`Template::resolve`]).
    pub environment: BTreeMap<String, EnvValue>,
    /// The statements of `Policies`, as written (see [`Template::policy_grants`]).
    pub policy_statements: Vec<Value>,
    /// `Tracing: Active`: Lambda samples the invocations for X-Ray.
    pub active_tracing: bool,
}

/// An `HttpApi` event: a request the HTTP API sends to a function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The HTTP method, in upper case.
    pub method: String,
    /// The path as written, with its `{parameters}`.
    pub path: String,
    /// The function's binary.
    pub function: String,
}

/// What an event source mapping reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// An MSK topic read with a consumer group.
    Kafka {
        /// The topic's name (the event's one `Topics` entry).
        topic: String,
        /// `ConsumerGroupId`.
        consumer_group: String,
    },
    /// A DynamoDB table's stream.
    TableStream {
        /// The table's logical id.
        table: String,
    },
    /// An SQS queue (by logical id).
    Queue {
        /// The queue's logical id.
        queue: String,
    },
}

/// Where a mapping sends the batches it gives up on. Lambda writes the
/// same failure record to both, and the invocation's payload only to S3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureDestination {
    /// An SQS queue, by logical id.
    Queue(String),
    /// An S3 bucket, by logical id.
    Bucket(String),
}

/// An `MSK`, `DynamoDB` or `SQS` event: an event source mapping, which
/// Lambda polls and calls the function with in batches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    /// The function's binary.
    pub function: String,
    /// What the mapping reads.
    pub source: Source,
    /// `BatchSize`; when absent, Lambda's default: 10 for SQS, 100 otherwise.
    pub batch_size: u64,
    /// `MaximumBatchingWindowInSeconds`; when absent, Lambda's default:
    /// 500 ms for Kafka, none for a stream. An explicit 0 is no window
    /// (Lambda cannot go back to 500 ms once it is set).
    pub batching_window: std::time::Duration,
    /// Event filter patterns, as JSON.
    pub filters: Vec<serde_json::Value>,
    /// `MaximumRetryAttempts` (-1 when absent: no limit).
    pub max_retries: i64,
    /// `MaximumRecordAgeInSeconds` (-1: no limit).
    pub max_record_age_seconds: i64,
    /// `BisectBatchOnFunctionError`: a failed batch is split in two and
    /// each half retried.
    pub bisect_on_error: bool,
    /// `TRIM_HORIZON` or `LATEST`.
    pub starting_position: String,
    /// Where failed batches go: a bucket or a queue, by logical id
    /// (see [`Template::failure_destination`]).
    pub on_failure: Option<String>,
    /// `FunctionResponseTypes: [ReportBatchItemFailures]`: the function
    /// answers which records to retry.
    pub report_batch_item_failures: bool,
    /// `ScalingConfig.MaximumConcurrency` (SQS): calls at once; `None`:
    /// Lambda's own scaling.
    pub maximum_concurrency: Option<u64>,
}

/// An `AWS::SQS::Queue` with the properties an SQS mapping depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queue {
    /// The queue's logical id.
    pub logical_id: String,
    /// `VisibilityTimeout`, seconds (SQS's default: 30): how long a
    /// received message stays hidden before it can be received again.
    pub visibility_timeout_seconds: u64,
    /// `MessageRetentionPeriod`, seconds (SQS's default: 4 days).
    pub retention_seconds: u64,
    /// `RedrivePolicy`: the dead-letter queue (logical id) and after how
    /// many receives a message moves there.
    pub redrive: Option<Redrive>,
}

/// A queue's `RedrivePolicy`: where a message goes once it has been
/// received too many times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redrive {
    /// The dead-letter queue's logical id.
    pub dead_letter_queue: String,
    /// `maxReceiveCount` (1 to 1,000): the receives after which a message
    /// moves to the dead-letter queue.
    pub max_receive_count: u64,
}

/// A `Type: Schedule` event: the function is invoked on a fixed rate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// The function's binary.
    pub function: String,
    /// The interval of its `rate(...)` (see [`parse_rate`](crate::parse_rate)).
    pub every: std::time::Duration,
}

/// An `AWS::MSK::Topic`: a Kafka topic the functions publish to or read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topic {
    /// The topic's logical id.
    pub logical_id: String,
    /// `TopicName`: the name producers and mappings use.
    pub name: String,
    /// `PartitionCount` (1 when absent).
    pub partitions: u64,
}

/// The template as the local stack needs it: its parameters, the functions
/// and what invokes them, and the resources they use. Read with
/// [`Template::load`] or [`Template::parse`].
#[derive(Debug, Clone, Default)]
pub struct Template {
    /// Each parameter with its value: an override, else its `Default`;
    /// `None` when it has neither.
    pub parameters: BTreeMap<String, Option<String>>,
    /// The `AWS::Serverless::Function`s, in the template's order.
    pub functions: Vec<Function>,
    /// The functions' `HttpApi` events.
    pub routes: Vec<Route>,
    /// The functions' `MSK`, `DynamoDB` and `SQS` events.
    pub mappings: Vec<Mapping>,
    /// The functions' `Schedule` events.
    pub schedules: Vec<Schedule>,
    /// The `AWS::DynamoDB::Table`s.
    pub tables: Vec<Table>,
    /// The `AWS::MSK::Topic`s.
    pub topics: Vec<Topic>,
    /// The `AWS::S3::Bucket`s, by logical id.
    pub buckets: Vec<String>,
    /// In the template's order, each dead-letter queue before the queues
    /// that redrive to it once [`Template::queues_in_creation_order`] sorts them.
    pub queues: Vec<Queue>,
}

impl Template {
    /// The queues, each dead-letter queue before the queues that redrive
    /// to it (a redrive policy names an existing queue's ARN).
    pub fn queues_in_creation_order(&self) -> Vec<&Queue> {
        let (dead_letter, others): (Vec<&Queue>, Vec<&Queue>) = self.queues.iter().partition(|q| {
            self.queues
                .iter()
                .any(|o| o.redrive.as_ref().is_some_and(|r| r.dead_letter_queue == q.logical_id))
        });
        dead_letter.into_iter().chain(others).collect()
    }

    /// A queue of the template, by logical id.
    pub fn queue_named(&self, logical_id: &str) -> Option<&Queue> {
        self.queues.iter().find(|q| q.logical_id == logical_id)
    }

    /// A mapping's on-failure destination, by the kind of its resource.
    pub fn failure_destination(&self, mapping: &Mapping) -> Option<FailureDestination> {
        let logical = mapping.on_failure.as_ref()?;
        if self.buckets.contains(logical) {
            Some(FailureDestination::Bucket(logical.clone()))
        } else {
            self.queue_named(logical).map(|_| FailureDestination::Queue(logical.clone()))
        }
    }

    /// A function of the template, by its binary (see [`Function::binary`]).
    pub fn function(&self, binary: &str) -> Option<&Function> {
        self.functions.iter().find(|f| f.binary == binary)
    }

    /// A table of the template, by logical id.
    pub fn table(&self, logical_id: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.logical_id == logical_id)
    }
}
