//! `infra/template.yaml` as the local stack needs it.
//!
//! CloudFormation short-form tags (`!Ref`, `!GetAtt`, `!Sub`, ...) are read
//! as tagged YAML values; [`Template::resolve`] turns the ones a function's
//! environment uses into local values (table and bucket names, parameter
//! values with overrides). Anything else is an error naming the function and
//! the variable, never a silent default.
//!
//! The local stack runs from this model, and the tables of the tests and
//! the bench are created from it ([`dynamodb::create_table`]): the template
//! is the one description of the infrastructure.

pub mod dynamodb;
mod functions;
mod tables;

use serde_norway::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("template: {0}")]
    Invalid(String),
}

fn invalid(message: impl Into<String>) -> TemplateError {
    TemplateError::Invalid(message.into())
}

/// A value of a function's environment before resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvValue {
    Literal(String),
    /// `!Ref X`: a parameter or a resource.
    Ref(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    pub logical_id: String,
    /// The binary under `functions/` (`Metadata.BuildProperties.Binary`).
    pub binary: String,
    pub timeout_seconds: u64,
    pub memory_mb: u64,
    pub environment: BTreeMap<String, EnvValue>,
    /// The statements of `Policies`, as written (see [`Template::policy_grants`]).
    pub policy_statements: Vec<Value>,
    /// `Tracing: Active`: Lambda samples the invocations for X-Ray.
    pub active_tracing: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub method: String,
    pub path: String,
    pub function: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// An MSK topic read with a consumer group.
    Kafka { topic: String, consumer_group: String },
    /// A DynamoDB table's stream.
    TableStream { table: String },
    /// An SQS queue (by logical id).
    Queue { queue: String },
}

/// Where a mapping sends the batches it gives up on. Lambda writes the
/// same failure record to both, and the invocation's payload only to S3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureDestination {
    Queue(String),
    Bucket(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    pub function: String,
    pub source: Source,
    pub batch_size: u64,
    /// `MaximumBatchingWindowInSeconds`; when absent, Lambda's default:
    /// 500 ms for Kafka, none for a stream. An explicit 0 is no window
    /// (Lambda cannot go back to 500 ms once it is set).
    pub batching_window: std::time::Duration,
    /// Event filter patterns, as JSON.
    pub filters: Vec<serde_json::Value>,
    pub max_retries: i64,
    /// `MaximumRecordAgeInSeconds` (-1: no limit).
    pub max_record_age_seconds: i64,
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redrive {
    pub dead_letter_queue: String,
    pub max_receive_count: u64,
}

/// A `Type: Schedule` event: the function is invoked on a fixed rate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub function: String,
    pub every: std::time::Duration,
}

/// What Lambda refuses of an SQS trigger: a batch of 1 to 10,000, over 10
/// only with a batching window of at least a second, and a maximum
/// concurrency of 2 to 1,000.
fn check_queue_mapping(owner: &str, mapping: &Mapping) -> Result<(), TemplateError> {
    if !(1..=10_000).contains(&mapping.batch_size) {
        return Err(invalid(format!("{owner}: BatchSize {} is not 1..=10000", mapping.batch_size)));
    }
    if mapping.batch_size > 10 && mapping.batching_window < std::time::Duration::from_secs(1) {
        return Err(invalid(format!(
            "{owner}: BatchSize {} over 10 needs MaximumBatchingWindowInSeconds of at least 1",
            mapping.batch_size
        )));
    }
    if let Some(concurrency) = mapping.maximum_concurrency
        && !(2..=1000).contains(&concurrency)
    {
        return Err(invalid(format!(
            "{owner}: ScalingConfig.MaximumConcurrency {concurrency} is not 2..=1000"
        )));
    }
    Ok(())
}

/// `rate(1 minute)`, `rate(5 minutes)`, `rate(1 hour)`, `rate(2 days)`.
/// (EventBridge's `cron(...)` is not read: the template uses none.)
pub fn parse_rate(expression: &str) -> Option<std::time::Duration> {
    let inner = expression.trim().strip_prefix("rate(")?.strip_suffix(')')?;
    let (count, unit) = inner.trim().split_once(' ')?;
    let count: u64 = count.parse().ok().filter(|n| *n > 0)?;
    let seconds = match unit.trim() {
        "minute" | "minutes" => 60,
        "hour" | "hours" => 3600,
        "day" | "days" => 86_400,
        _ => return None,
    };
    Some(std::time::Duration::from_secs(count * seconds))
}

pub use tables::{AttributeType, Index, KeyElement, KeyType, ProjectionType, StreamViewType, Table};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topic {
    pub logical_id: String,
    pub name: String,
    pub partitions: u64,
}

#[derive(Debug, Clone, Default)]
pub struct Template {
    pub parameters: BTreeMap<String, Option<String>>,
    pub functions: Vec<Function>,
    pub routes: Vec<Route>,
    pub mappings: Vec<Mapping>,
    pub schedules: Vec<Schedule>,
    pub tables: Vec<Table>,
    pub topics: Vec<Topic>,
    pub buckets: Vec<String>,
    /// In the template's order, each dead-letter queue before the queues
    /// that redrive to it once [`Template::queues_in_creation_order`] sorts them.
    pub queues: Vec<Queue>,
}

fn get<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    value.as_mapping().and_then(|m| m.get(key))
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `!Ref X` or `{Ref: X}`.
fn reference(value: &Value) -> Option<String> {
    match value {
        Value::Tagged(tagged) if tagged.tag == "Ref" => text(&tagged.value),
        Value::Mapping(m) if m.len() == 1 => m.get("Ref").and_then(text),
        _ => None,
    }
}

/// `!GetAtt X.Attr` or `!GetAtt [X, Attr]`: the logical id.
fn get_att(value: &Value) -> Option<String> {
    match value {
        Value::Tagged(tagged) if tagged.tag == "GetAtt" => match &tagged.value {
            Value::String(s) => s.split('.').next().map(String::from),
            Value::Sequence(parts) => parts.first().and_then(text),
            _ => None,
        },
        _ => None,
    }
}

/// A number property: a literal, or a `!Ref` to a parameter with a
/// default; `default` when absent. Anything else is an error naming
/// `owner` and `property`: a bad value never becomes a silent default
/// (a `MaximumRetryAttempts` read as -1 would retry for ever).
fn integer<T: std::str::FromStr>(
    owner: &str,
    property: &str,
    value: Option<&Value>,
    parameters: &BTreeMap<String, Option<String>>,
    default: T,
) -> Result<T, TemplateError> {
    let Some(value) = value else { return Ok(default) };
    let literal = match reference(value) {
        Some(parameter) => parameters.get(&parameter).cloned().flatten().ok_or_else(|| {
            invalid(format!("{owner}: {property}: !Ref {parameter} is not a parameter with a default"))
        })?,
        None => {
            text(value).ok_or_else(|| invalid(format!("{owner}: {property}: {value:?} is not a number")))?
        }
    };
    literal.trim().parse().map_err(|_| {
        invalid(format!("{owner}: {property}: {literal:?} is not an integer of the right range"))
    })
}

impl Template {
    pub fn load(path: &Path) -> Result<Template, TemplateError> {
        Template::load_with(path, &BTreeMap::new())
    }

    /// The template with parameter values that replace the defaults (as
    /// `sam deploy --parameter-overrides` does) wherever a `!Ref` names them.
    pub fn load_with(path: &Path, overrides: &BTreeMap<String, String>) -> Result<Template, TemplateError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| TemplateError::Read { path: path.display().to_string(), reason: e.to_string() })?;
        Template::parse_with(&text, overrides)
    }

    pub fn parse(source: &str) -> Result<Template, TemplateError> {
        Template::parse_with(source, &BTreeMap::new())
    }

    pub fn parse_with(source: &str, overrides: &BTreeMap<String, String>) -> Result<Template, TemplateError> {
        let root: Value = serde_norway::from_str(source).map_err(|e| invalid(e.to_string()))?;
        let mut template = Template::default();
        if let Some(parameters) = get(&root, "Parameters").and_then(Value::as_mapping) {
            for (name, spec) in parameters {
                let name = text(name).ok_or_else(|| invalid("a parameter without a name"))?;
                let value = overrides.get(&name).cloned().or_else(|| get(spec, "Default").and_then(text));
                template.parameters.insert(name, value);
            }
        }
        if let Some(unknown) = overrides.keys().find(|name| !template.parameters.contains_key(*name)) {
            return Err(invalid(format!("the template has no parameter {unknown}")));
        }
        let globals: functions::FunctionProperties =
            match get(&root, "Globals").and_then(|g| get(g, "Function")) {
                Some(globals) => functions::typed("Globals", "Function", globals.clone())?,
                None => functions::FunctionProperties::default(),
            };
        let resources =
            get(&root, "Resources").and_then(Value::as_mapping).ok_or_else(|| invalid("no Resources"))?;
        for (logical, resource) in resources {
            let logical = text(logical).ok_or_else(|| invalid("a resource without a logical id"))?;
            let kind = get(resource, "Type").and_then(text).unwrap_or_default();
            let properties =
                get(resource, "Properties").cloned().unwrap_or_else(|| Value::Mapping(Default::default()));
            match kind.as_str() {
                "AWS::Serverless::Function" => {
                    template.add_function(&logical, resource, properties, &globals)?
                }
                "AWS::DynamoDB::Table" => template.tables.push(Table::from_properties(&logical, properties)?),
                "AWS::S3::Bucket" => template.buckets.push(logical),
                "AWS::SQS::Queue" => {
                    let queue = template.queue(&logical, properties)?;
                    template.queues.push(queue);
                }
                "AWS::MSK::Topic" => {
                    let name = get(&properties, "TopicName")
                        .and_then(text)
                        .ok_or_else(|| invalid(format!("{logical}: no TopicName")))?;
                    let partitions = integer(
                        &logical,
                        "PartitionCount",
                        get(&properties, "PartitionCount"),
                        &template.parameters,
                        1,
                    )?;
                    template.topics.push(Topic { logical_id: logical, name, partitions });
                }
                _ => {}
            }
        }
        Ok(template)
    }

    fn add_function(
        &mut self,
        logical: &str,
        resource: &Value,
        properties: Value,
        globals: &functions::FunctionProperties,
    ) -> Result<(), TemplateError> {
        let metadata = get(resource, "Metadata").cloned().unwrap_or(Value::Null);
        let metadata: functions::FunctionMetadata = functions::typed(logical, "Metadata", metadata)?;
        let binary = metadata.build_properties.binary;
        let properties: functions::FunctionProperties = functions::typed(logical, "Properties", properties)?;
        let mut environment = BTreeMap::new();
        let variables = [&globals.environment, &properties.environment].into_iter().flatten();
        for (name, value) in variables.flat_map(|e| &e.variables) {
            let value = match (text(value), reference(value)) {
                (Some(literal), _) => EnvValue::Literal(literal),
                (None, Some(target)) => EnvValue::Ref(target),
                _ => return Err(invalid(format!("{logical}: {name} is neither a literal nor a !Ref"))),
            };
            environment.insert(name.clone(), value);
        }
        let mut policy_statements = Vec::new();
        for policy in &properties.policies {
            let policy: functions::InlinePolicy = functions::typed(logical, "Policies", policy.clone()).map_err(|_| {
                invalid(format!("{logical}: a policy that is not an inline statement list (SAM policy templates are not used here)"))
            })?;
            policy_statements.extend(policy.statement);
        }
        let number = |name: &str, own: &Option<Value>, global: &Option<Value>, default: u64| {
            integer(logical, name, own.as_ref().or(global.as_ref()), &self.parameters, default)
        };
        let function = Function {
            logical_id: logical.to_owned(),
            binary: binary.clone(),
            timeout_seconds: number("Timeout", &properties.timeout, &globals.timeout, 3)?,
            memory_mb: number("MemorySize", &properties.memory_size, &globals.memory_size, 128)?,
            environment,
            policy_statements,
            active_tracing: properties.tracing.or(globals.tracing) == Some(functions::TracingMode::Active),
        };
        self.functions.push(function);
        for (name, event) in properties.events {
            let owner = format!("{logical}: Events.{name}");
            self.add_event(&binary, &owner, event)?;
        }
        Ok(())
    }

    /// A function's event: a route, a mapping or a schedule.
    fn add_event(
        &mut self,
        binary: &str,
        owner: &str,
        event: functions::EventDeclaration,
    ) -> Result<(), TemplateError> {
        let props = event.properties;
        match event.kind.as_str() {
            "HttpApi" => {
                let route: functions::HttpApiEvent = functions::typed(owner, "Properties", props)?;
                self.routes.push(Route {
                    method: route.method.to_uppercase(),
                    path: route.path,
                    function: binary.to_owned(),
                });
            }
            "MSK" => {
                let event: functions::MappingEvent = functions::typed(owner, "Properties", props)?;
                let [topic] = event.topics.as_deref().unwrap_or_default() else {
                    return Err(invalid(format!("{owner}: an MSK event reads exactly one topic here")));
                };
                let consumer_group = event
                    .consumer_group_id
                    .clone()
                    .ok_or_else(|| invalid(format!("{owner}: no ConsumerGroupId")))?;
                let source = Source::Kafka { topic: topic.clone(), consumer_group };
                let mapping = self.mapping(binary, source, event)?;
                self.mappings.push(mapping);
            }
            "DynamoDB" => {
                let event: functions::MappingEvent = functions::typed(owner, "Properties", props)?;
                let table = get_att(&event.stream)
                    .ok_or_else(|| invalid(format!("{owner}: Stream is not a !GetAtt")))?;
                let mapping = self.mapping(binary, Source::TableStream { table }, event)?;
                self.mappings.push(mapping);
            }
            "SQS" => {
                let event: functions::MappingEvent = functions::typed(owner, "Properties", props)?;
                let queue = get_att(&event.queue)
                    .ok_or_else(|| invalid(format!("{owner}: Queue is not a !GetAtt")))?;
                let mapping = self.mapping(binary, Source::Queue { queue }, event)?;
                check_queue_mapping(owner, &mapping)?;
                self.mappings.push(mapping);
            }
            "Schedule" => {
                let schedule: functions::ScheduleEvent = functions::typed(owner, "Properties", props)?;
                let every = parse_rate(&schedule.schedule).ok_or_else(|| {
                    invalid(format!(
                        "{owner}: Schedule {:?} is not rate(N minute(s)|hour(s)|day(s))",
                        schedule.schedule
                    ))
                })?;
                self.schedules.push(Schedule { function: binary.to_owned(), every });
            }
            other => {
                return Err(invalid(format!(
                    "{owner}: Type {other} is not an event the local stack runs (HttpApi, MSK, DynamoDB, SQS, Schedule)"
                )));
            }
        }
        Ok(())
    }

    fn mapping(
        &self,
        function: &str,
        source: Source,
        event: functions::MappingEvent,
    ) -> Result<Mapping, TemplateError> {
        let mut filters = Vec::new();
        for filter in event.filter_criteria.into_iter().flat_map(|f| f.filters) {
            let pattern = filter.pattern;
            filters.push(
                serde_json::from_str(&pattern)
                    .map_err(|e| invalid(format!("{function}: filter {pattern}: {e}")))?,
            );
        }
        let on_failure = event.destination_config.and_then(|d| get_att(&d.on_failure.destination));
        let default_window_ms = match source {
            Source::Kafka { .. } => 500,
            Source::TableStream { .. } | Source::Queue { .. } => 0,
        };
        let default_batch = match source {
            Source::Queue { .. } => 10,
            _ => 100,
        };
        let concurrency = event.scaling_config.as_ref().and_then(|c| c.maximum_concurrency.as_ref());
        let maximum_concurrency = match concurrency {
            None => None,
            some => Some(integer(function, "ScalingConfig.MaximumConcurrency", some, &self.parameters, 0)?),
        };
        let window = event.maximum_batching_window_in_seconds.as_ref();
        let window_ms: u64 = match window {
            None => default_window_ms,
            window => {
                integer::<u64>(function, "MaximumBatchingWindowInSeconds", window, &self.parameters, 0)?
                    * 1000
            }
        };
        let number = |name: &str, value: &Option<Value>, default: i64| {
            integer(function, name, value.as_ref(), &self.parameters, default)
        };
        Ok(Mapping {
            function: function.to_owned(),
            source,
            batch_size: integer(
                function,
                "BatchSize",
                event.batch_size.as_ref(),
                &self.parameters,
                default_batch,
            )?,
            batching_window: std::time::Duration::from_millis(window_ms),
            filters,
            max_retries: number("MaximumRetryAttempts", &event.maximum_retry_attempts, -1)?,
            max_record_age_seconds: number(
                "MaximumRecordAgeInSeconds",
                &event.maximum_record_age_in_seconds,
                -1,
            )?,
            bisect_on_error: event.bisect_batch_on_function_error.unwrap_or(false),
            starting_position: match event.starting_position {
                Some(functions::StartingPosition::Latest) => "LATEST".into(),
                Some(functions::StartingPosition::TrimHorizon) | None => "TRIM_HORIZON".into(),
            },
            on_failure,
            report_batch_item_failures: event
                .function_response_types
                .contains(&functions::ResponseType::ReportBatchItemFailures),
            maximum_concurrency,
        })
    }

    fn queue(&self, logical: &str, properties: Value) -> Result<Queue, TemplateError> {
        let props: functions::QueueProperties = functions::typed(logical, "Properties", properties)?;
        let number = |name: &str, value: Option<&Value>, default: u64| {
            integer(logical, name, value, &self.parameters, default)
        };
        let redrive = match &props.redrive_policy {
            None => None,
            Some(policy) => Some(Redrive {
                dead_letter_queue: get_att(&policy.dead_letter_target_arn).ok_or_else(|| {
                    invalid(format!("{logical}: RedrivePolicy.deadLetterTargetArn is not a !GetAtt"))
                })?,
                max_receive_count: match number(
                    "RedrivePolicy.maxReceiveCount",
                    Some(&policy.max_receive_count),
                    0,
                )? {
                    count @ 1..=1000 => count,
                    other => {
                        return Err(invalid(format!(
                            "{logical}: RedrivePolicy.maxReceiveCount {other} is not 1..=1000"
                        )));
                    }
                },
            }),
        };
        Ok(Queue {
            logical_id: logical.to_owned(),
            visibility_timeout_seconds: number("VisibilityTimeout", props.visibility_timeout.as_ref(), 30)?,
            retention_seconds: number(
                "MessageRetentionPeriod",
                props.message_retention_period.as_ref(),
                345_600,
            )?,
            redrive,
        })
    }

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

    /// A function's environment with every `!Ref` resolved: parameters to
    /// their value (`overrides` first, then the default), resources through
    /// `resource` (table and bucket names, ...). `None` from `resource` drops
    /// the variable (e.g. `MSK_CLUSTER_ARN`, replaced locally by
    /// `KAFKA_BOOTSTRAP_SERVERS`).
    pub fn resolve(
        &self,
        function: &Function,
        overrides: &BTreeMap<String, String>,
        resource: impl Fn(&str) -> Option<String>,
    ) -> Result<BTreeMap<String, String>, TemplateError> {
        let mut resolved = BTreeMap::new();
        for (name, value) in &function.environment {
            let value = match value {
                EnvValue::Literal(v) => Some(v.clone()),
                EnvValue::Ref(target) if self.parameters.contains_key(target) => Some(
                    overrides.get(target).cloned().or_else(|| self.parameters[target].clone()).ok_or_else(
                        || invalid(format!("{}: {name}: parameter {target} has no value", function.binary)),
                    )?,
                ),
                EnvValue::Ref(target) => resource(target),
            };
            if let Some(value) = value {
                resolved.insert(name.clone(), value);
            }
        }
        Ok(resolved)
    }

    /// Every action a function's `Policies` allow, each on one resource, in
    /// the form `foodstream_config::Grant` prints: `dynamodb:GetItem on
    /// table/OrdersTable`, `kafka-cluster:WriteData on topic/order-events`.
    /// A statement this cannot read (a `Deny`, a wildcard action, a
    /// resource of an unknown shape) is an error naming it.
    pub fn policy_grants(&self, function: &Function) -> Result<BTreeSet<String>, TemplateError> {
        let mut grants = BTreeSet::new();
        let fail = |what: String| invalid(format!("{}: Policies: {what}", function.binary));
        for statement in &function.policy_statements {
            if get(statement, "Effect").and_then(text).as_deref() != Some("Allow") {
                return Err(fail(format!("only Allow statements are read, found {statement:?}")));
            }
            let list = |key: &str| -> Vec<Value> {
                match get(statement, key) {
                    Some(Value::Sequence(items)) => items.clone(),
                    Some(one) => vec![one.clone()],
                    None => Vec::new(),
                }
            };
            let conditional = get(statement, "Condition").is_some();
            for resource in list("Resource") {
                let resource =
                    self.policy_resource(&resource).ok_or_else(|| fail(format!("resource {resource:?}")))?;
                let resource = if conditional { format!("{resource} (conditional)") } else { resource };
                for action in list("Action") {
                    let action = text(&action)
                        .filter(|a| !a.contains('*'))
                        .ok_or_else(|| fail(format!("action {action:?}")))?;
                    grants.insert(format!("{action} on {resource}"));
                }
            }
        }
        Ok(grants)
    }

    /// What Lambda's event source mappings of a function need from its
    /// role: for an MSK trigger, connecting, reading its topic and
    /// committing as its group; for a stream, reading the stream; and
    /// sending to the on-failure destination. (Lambda's documentation on
    /// MSK, DynamoDB and SQS triggers; the managed policies SAM attaches do
    /// not cover the `kafka-cluster:` data plane, and this template writes
    /// every grant inline, on its resource.)
    pub fn mapping_grants(&self, function: &Function) -> BTreeSet<String> {
        let mut grants = BTreeSet::new();
        for mapping in self.mappings.iter().filter(|m| m.function == function.binary) {
            match &mapping.source {
                Source::Kafka { topic, consumer_group } => {
                    for (action, resource) in [
                        ("Connect", "cluster".to_string()),
                        ("DescribeClusterDynamicConfiguration", "cluster".into()),
                        ("DescribeTopic", format!("topic/{topic}")),
                        ("ReadData", format!("topic/{topic}")),
                        ("DescribeGroup", format!("group/{consumer_group}")),
                        ("AlterGroup", format!("group/{consumer_group}")),
                    ] {
                        grants.insert(format!("kafka-cluster:{action} on {resource}"));
                    }
                }
                Source::TableStream { table } => {
                    for action in ["DescribeStream", "GetRecords", "GetShardIterator", "ListStreams"] {
                        grants.insert(format!("dynamodb:{action} on stream/{table}"));
                    }
                }
                Source::Queue { queue } => {
                    for action in ["ReceiveMessage", "DeleteMessage", "GetQueueAttributes"] {
                        grants.insert(format!("sqs:{action} on queue/{queue}"));
                    }
                }
            }
            match self.failure_destination(mapping) {
                Some(FailureDestination::Queue(queue)) => {
                    grants.insert(format!("sqs:SendMessage on queue/{queue}"));
                }
                Some(FailureDestination::Bucket(bucket)) => {
                    grants.insert(format!("s3:PutObject on objects/{bucket}/"));
                    grants.insert(format!("s3:ListBucket on bucket/{bucket}"));
                }
                None => {}
            }
        }
        grants
    }

    /// A policy resource in the form of `foodstream_config::Resource`'s
    /// `Display`, from the shapes the template uses.
    fn policy_resource(&self, value: &Value) -> Option<String> {
        if reference(value).as_deref() == Some("MskCluster") {
            return Some("cluster".into());
        }
        if let Value::Tagged(tagged) = value
            && tagged.tag == "GetAtt"
        {
            let (logical, attribute) = match &tagged.value {
                Value::String(s) => s.split_once('.').map(|(l, a)| (l.to_owned(), a.to_owned()))?,
                Value::Sequence(parts) => (text(parts.first()?)?, text(parts.get(1)?)?),
                _ => return None,
            };
            return match attribute.as_str() {
                "StreamArn" => Some(format!("stream/{logical}")),
                "TopicArn" => {
                    self.topics.iter().find(|t| t.logical_id == logical).map(|t| format!("topic/{}", t.name))
                }
                "Arn" if self.tables.iter().any(|t| t.logical_id == logical) => {
                    Some(format!("table/{logical}"))
                }
                "Arn" if self.queue_named(&logical).is_some() => Some(format!("queue/{logical}")),
                "Arn" if self.buckets.contains(&logical) => Some(format!("bucket/{logical}")),
                _ => None,
            };
        }
        if let Value::Tagged(tagged) = value
            && tagged.tag == "Sub"
        {
            let pattern = match &tagged.value {
                Value::String(s) => s.clone(),
                Value::Sequence(parts) => text(parts.first()?)?,
                _ => return None,
            };
            if let Some(group) = pattern.split_once(":group/${Cluster}/").map(|(_, g)| g) {
                return Some(format!("group/{group}"));
            }
            let rest = pattern.strip_prefix("${")?;
            let (logical, path) = rest.split_once(".Arn}/")?;
            if let Some(index) = path.strip_prefix("index/") {
                return Some(format!("index/{logical}/{index}"));
            }
            if self.buckets.iter().any(|b| b == logical) {
                return Some(format!("objects/{logical}/{}", path.strip_suffix('*')?));
            }
        }
        None
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

    pub fn function(&self, binary: &str) -> Option<&Function> {
        self.functions.iter().find(|f| f.binary == binary)
    }

    pub fn table(&self, logical_id: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.logical_id == logical_id)
    }
}

/// This checkout's `infra/template.yaml`, for the tests, the bench and the
/// tools run from the workspace (a deployed function never reads it).
pub fn project_template_path() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infra/template.yaml")
}

/// This checkout's template, with its parameters' defaults.
pub fn project_template() -> Result<Template, TemplateError> {
    Template::load(&project_template_path())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project_template() -> Template {
        super::project_template().unwrap()
    }

    #[test]
    fn the_project_template_reads_as_the_whole_topology() {
        let t = project_template();
        assert_eq!(t.functions.len(), 23);
        assert_eq!(t.routes.len(), 16);
        assert_eq!(t.mappings.len(), 6);
        assert!(t.mappings.iter().all(|m| m.report_batch_item_failures), "every mapping answers partially");
        assert_eq!(
            t.schedules,
            [Schedule { function: "delivery-sweeper".into(), every: std::time::Duration::from_secs(60) }]
        );
        assert_eq!(t.tables.len(), 7);
        assert_eq!(
            t.topics.iter().map(|t| (t.name.as_str(), t.partitions)).collect::<Vec<_>>(),
            [("order-events", 3), ("delivery-events", 3), ("log-events", 3)]
        );
        let dispatcher = t.mappings.iter().find(|m| m.function == "delivery-dispatcher").unwrap();
        assert_eq!(
            dispatcher.source,
            Source::Kafka { topic: "order-events".into(), consumer_group: "delivery".into() }
        );
        assert_eq!(dispatcher.filters[0]["value"]["event_type"][0], "OrderDeliveryRequested");
        assert_eq!((dispatcher.max_retries, dispatcher.bisect_on_error), (5, true));
        assert_eq!(
            t.failure_destination(dispatcher),
            Some(FailureDestination::Bucket("FailureBucket".into()))
        );
        let completer = t.mappings.iter().find(|m| m.function == "delivery-completer").unwrap();
        assert_eq!(completer.source, Source::Queue { queue: "DeliveryTimerQueue".into() });
        assert_eq!((completer.batch_size, completer.batching_window), (10, std::time::Duration::ZERO));
        assert_eq!(completer.maximum_concurrency, Some(10));
        let timer = t.queue_named("DeliveryTimerQueue").unwrap();
        let redrive = timer.redrive.as_ref().unwrap();
        assert_eq!(
            (redrive.dead_letter_queue.as_str(), redrive.max_receive_count),
            ("DeliveryTimerDeadLetterQueue", 5)
        );
        assert_eq!(timer.visibility_timeout_seconds, 90);
        let order: Vec<_> = t.queues_in_creation_order().iter().map(|q| q.logical_id.as_str()).collect();
        let position = |q: &str| order.iter().position(|o| *o == q).unwrap();
        assert!(position("DeliveryTimerDeadLetterQueue") < position("DeliveryTimerQueue"), "{order:?}");
        let relay = t.mappings.iter().find(|m| m.function == "order-outbox-relay").unwrap();
        assert_eq!(relay.source, Source::TableStream { table: "OrdersTable".into() });
        assert_eq!(relay.filters[0]["eventName"][1], "MODIFY");
        let orders = t.table("OrdersTable").unwrap();
        assert_eq!(orders.key, [KeyElement { attribute_name: "order_id".into(), key_type: KeyType::Hash }]);
        assert_eq!(orders.indexes.len(), 4);
        assert_eq!(orders.stream_view, Some(StreamViewType::NewAndOldImages));
        let idempotency = t.table("IdempotencyTable").unwrap();
        assert_eq!(idempotency.ttl_attribute.as_deref(), Some("expires_at"));
        assert!(t.routes.contains(&Route {
            method: "POST".into(),
            path: "/orders".into(),
            function: "place-order".into()
        }));
    }

    #[test]
    fn no_function_waits_a_delivery_out_and_the_timer_fits_its_completer() {
        let t = project_template();
        let max_ms = foodstream_domain::delivery::MAX_DELIVERY_DURATION_MS as u64;
        // The sweeper waits out an assignment of its own inside its call:
        // the longest delivery leaves it 10 s to complete and publish.
        let sweeper = t.function("delivery-sweeper").unwrap();
        assert!(
            sweeper.timeout_seconds * 1000 >= max_ms + 10_000,
            "sweeper Timeout {}",
            sweeper.timeout_seconds
        );
        // The completer waits at most a message's early part, then
        // publishes (KAFKA_MESSAGE_TIMEOUT_MS) and writes.
        let completer = t.function("delivery-completer").unwrap();
        let publish_ms: u64 = match completer.environment.get("KAFKA_MESSAGE_TIMEOUT_MS") {
            Some(EnvValue::Literal(ms)) => ms.parse().unwrap(),
            other => panic!("KAFKA_MESSAGE_TIMEOUT_MS: {other:?}"),
        };
        let early_ms = foodstream_domain::timer::MAX_EARLY_MS as u64;
        assert!(completer.timeout_seconds * 1000 >= early_ms + publish_ms + 2_000);
        // Lambda refuses an SQS trigger whose queue hides a message for less
        // than the function's timeout: the parameter cannot go below it.
        let path = project_template_path();
        let raw: Value = serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let parameter = |name: &str| get(&raw, "Parameters").and_then(|p| get(p, name)).unwrap().clone();
        let retry = parameter("DeliveryTimerRetrySeconds");
        let min: u64 = get(&retry, "MinValue").and_then(text).unwrap().parse().unwrap();
        assert!(min >= completer.timeout_seconds, "MinValue {min} < the completer's Timeout");
        // SQS delays are whole seconds up to 15 minutes: every delivery fits.
        assert!(max_ms <= 900_000);
        // The parameter refuses what the functions would refuse at start.
        let duration = parameter("DeliveryDurationMs");
        assert_eq!(get(&duration, "MaxValue").and_then(text), Some(max_ms.to_string()));
    }

    #[test]
    fn sqs_triggers_and_queues_lambda_would_refuse_are_refused() {
        let with = |event: &str, redrive: u64| {
            format!(
                "Resources:\n  D:\n    Type: AWS::SQS::Queue\n  Q:\n    Type: AWS::SQS::Queue\n    Properties:\n      \
                 RedrivePolicy: {{deadLetterTargetArn: !GetAtt D.Arn, maxReceiveCount: {redrive}}}\n  \
                 F:\n    Type: AWS::Serverless::Function\n    \
                 Metadata: {{BuildProperties: {{Binary: f}}}}\n    Properties:\n      Events:\n        S:\n          \
                 Type: SQS\n          Properties:\n            Queue: !GetAtt Q.Arn\n{event}"
            )
        };
        let fine = Template::parse(&with("            BatchSize: 10\n", 5)).unwrap();
        assert_eq!(fine.mappings[0].batch_size, 10);
        assert_eq!(fine.queue_named("Q").unwrap().redrive.as_ref().unwrap().max_receive_count, 5);
        for (event, redrive, expected) in [
            ("            BatchSize: 11\n", 5, "over 10 needs MaximumBatchingWindowInSeconds"),
            ("            BatchSize: 0\n", 5, "BatchSize 0"),
            ("            ScalingConfig: {MaximumConcurrency: 1}\n", 5, "MaximumConcurrency 1"),
            ("            BatchSize: 10\n", 0, "maxReceiveCount 0"),
        ] {
            let error = Template::parse(&with(event, redrive)).unwrap_err().to_string();
            assert!(error.contains(expected), "{event}: {error}");
        }
        let windowed = "            BatchSize: 100\n            MaximumBatchingWindowInSeconds: 1\n";
        assert!(Template::parse(&with(windowed, 5)).is_ok());
    }

    #[test]
    fn a_number_that_cannot_be_read_is_an_error_naming_it_never_a_default() {
        let with_retries = |retries: &str| {
            format!(
                "Parameters:\n  Retries:\n    Type: Number\nResources:\n  F:\n    Type: AWS::Serverless::Function\n    \
                 Metadata: {{BuildProperties: {{Binary: f}}}}\n    Properties:\n      Events:\n        S:\n          \
                 Type: MSK\n          Properties:\n            Topics: [t]\n            ConsumerGroupId: g\n            \
                 MaximumRetryAttempts: {retries}\n"
            )
        };
        // A !Ref to a parameter without a default used to read as -1: infinite retries.
        let error = Template::parse(&with_retries("!Ref Retries")).unwrap_err().to_string();
        assert!(
            error.contains("f: MaximumRetryAttempts: !Ref Retries is not a parameter with a default"),
            "{error}"
        );
        let error = Template::parse(&with_retries("often")).unwrap_err().to_string();
        assert!(error.contains("f: MaximumRetryAttempts: \"often\""), "{error}");
        let t = Template::parse(&with_retries("3")).unwrap();
        assert_eq!(t.mappings[0].max_retries, 3);
    }

    /// Lambda's Kafka default window (500 ms) applies only when the window is
    /// absent; an explicit 0 is no window. The stack used to read both as
    /// 500 ms, so the low-latency profile could not be measured.
    #[test]
    fn a_kafka_window_of_zero_is_none_and_an_absent_one_is_lambdas_500_ms() {
        let mapping = |window: &str| {
            format!(
                "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    \
                 Metadata: {{BuildProperties: {{Binary: f}}}}\n    Properties:\n      Events:\n        S:\n          \
                 Type: MSK\n          Properties:\n            Topics: [t]\n            ConsumerGroupId: g\n{window}"
            )
        };
        let window = |yaml: &str| Template::parse(&mapping(yaml)).unwrap().mappings[0].batching_window;
        assert_eq!(window(""), std::time::Duration::from_millis(500));
        assert_eq!(window("            MaximumBatchingWindowInSeconds: 0\n"), std::time::Duration::ZERO);
        assert_eq!(
            window("            MaximumBatchingWindowInSeconds: 2\n"),
            std::time::Duration::from_secs(2)
        );
    }

    #[test]
    fn rates_are_read_and_anything_else_refused() {
        assert_eq!(parse_rate("rate(1 minute)"), Some(std::time::Duration::from_secs(60)));
        assert_eq!(parse_rate("rate(5 minutes)"), Some(std::time::Duration::from_secs(300)));
        assert_eq!(parse_rate("rate(2 hours)"), Some(std::time::Duration::from_secs(7200)));
        for bad in ["rate(0 minutes)", "cron(0 12 * * ? *)", "rate(1 fortnight)", "every minute"] {
            assert_eq!(parse_rate(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_batching_windows_follow_their_parameter_and_an_unknown_override_is_an_error() {
        let path = project_template_path();
        let windows = |t: &Template| {
            t.mappings
                .iter()
                .filter(|m| matches!(m.source, Source::Kafka { .. }))
                .map(|m| m.batching_window.as_millis())
                .collect::<Vec<_>>()
        };
        assert_eq!(windows(&Template::load(&path).unwrap()), [1000; 4], "economical by default");
        let low = BTreeMap::from([("ConsumerBatchingWindowSeconds".to_string(), "0".to_string())]);
        assert_eq!(windows(&Template::load_with(&path, &low).unwrap()), [0; 4]);
        let typo = BTreeMap::from([("ConsumerBatchingWindow".to_string(), "0".to_string())]);
        assert!(Template::load_with(&path, &typo).is_err());
    }

    #[test]
    fn environments_resolve_parameters_with_overrides_and_resources_by_name() {
        let t = project_template();
        let refund = t.function("request-refund").unwrap();
        assert_eq!(refund.timeout_seconds, 10);
        let overrides = BTreeMap::from([("RefundWindowSeconds".to_string(), "5".to_string())]);
        let env = t.resolve(refund, &overrides, |r| Some(format!("local-{r}"))).unwrap();
        assert_eq!(env["REFUND_WINDOW_SECONDS"], "5");
        assert_eq!(env["ORDERS_TABLE"], "local-OrdersTable");
        assert_eq!(env["RUST_LOG"], "info");
        let dispatcher = t.function("delivery-dispatcher").unwrap();
        let env = t.resolve(dispatcher, &BTreeMap::new(), |r| Some(r.to_owned())).unwrap();
        assert_eq!(env["DELIVERY_DURATION_MS"], "1000");
        let notifier = t.function("notifier").unwrap();
        let env =
            t.resolve(notifier, &BTreeMap::new(), |r| (r != "MskCluster").then(|| r.to_owned())).unwrap();
        assert!(!env.contains_key("MSK_CLUSTER_ARN"));
        assert_eq!(env["KAFKA_ENABLE_IDEMPOTENCE"], "true");
    }
}
