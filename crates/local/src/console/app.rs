//! What the console's handlers share, and the views they render: the
//! functions, the mappings, the topics and one order, as live fragments.

use super::logs::{SHOWN_LOG_LINES, order_log, readable_log_line, tail_lines};
use super::model;
use super::pages::{self, FailureView, FunctionRow, MappingView, SourceKind};
use super::topics::{self, TopicTail};
use super::{Console, ConsoleConfig};
use crate::runtime::FunctionPool;
use crate::stack::StackError;
use axum::extract::State;
use foodstream_template::Source;
use maud::Markup;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// What the handlers share.
pub(super) struct App {
    console: Arc<Console>,
    pub(super) pools: HashMap<String, Arc<FunctionPool>>,
    /// By function: what calls it.
    triggers: BTreeMap<String, Vec<String>>,
    mappings: Vec<MappingSpec>,
    tail: Arc<TopicTail>,
    /// The template's topic names, in its order.
    topics: Vec<String>,
    log_dir: Option<PathBuf>,
    pub(super) s3: aws_sdk_s3::Client,
    pub(super) sqs: aws_sdk_sqs::Client,
    dynamodb: aws_sdk_dynamodb::Client,
    pub(super) publisher: Option<foodstream_kafka::KafkaPublisher>,
    pub(super) failure_bucket: Option<String>,
    /// The failure records read so far, by key.
    pub(super) failure_cache: tokio::sync::Mutex<HashMap<String, FailureView>>,
    orders_table: String,
    pub(super) api_url: String,
    pub(super) http: reqwest::Client,
    pub(super) openapi: PathBuf,
    pub(super) swagger_ui: PathBuf,
}

struct MappingSpec {
    function: String,
    source: String,
    kind: SourceKind,
    /// Kafka: (the template's topic name, the broker's name, partitions).
    topic: Option<(String, String, i32)>,
}

/// The handlers' state.
pub(super) type Shared = State<Arc<App>>;

/// One view's live fragments, by element id.
type Fragments = Vec<(String, String)>;

impl App {
    /// The state of a console for `config`'s stack, whose topics `tail` follows.
    pub(super) async fn new(
        console: Arc<Console>,
        config: &ConsoleConfig,
        pools: HashMap<String, Arc<FunctionPool>>,
        tail: Arc<TopicTail>,
    ) -> Result<Arc<App>, StackError> {
        let template = &config.template;
        let names = &config.names;
        let mut triggers: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for route in &template.routes {
            triggers
                .entry(route.function.clone())
                .or_default()
                .push(format!("{} {}", route.method, route.path));
        }
        let mut mappings = Vec::new();
        for mapping in &template.mappings {
            let (source, kind, topic) = match &mapping.source {
                Source::Kafka { topic, consumer_group } => {
                    let partitions = template
                        .topics
                        .iter()
                        .find(|t| &t.name == topic)
                        .map_or(1, |t| i32::try_from(t.partitions).unwrap_or(1));
                    (
                        format!("{topic} (group {consumer_group})"),
                        SourceKind::Kafka,
                        Some((topic.clone(), names.topic(topic), partitions)),
                    )
                }
                Source::TableStream { table } => (format!("{table} stream"), SourceKind::Stream, None),
                Source::Queue { queue } => (format!("{queue} (SQS)"), SourceKind::Queue, None),
            };
            triggers.entry(mapping.function.clone()).or_default().push(source.clone());
            mappings.push(MappingSpec { function: mapping.function.clone(), source, kind, topic });
        }
        for schedule in &template.schedules {
            triggers
                .entry(schedule.function.clone())
                .or_default()
                .push(format!("schedule every {} s", schedule.every.as_secs()));
        }
        let aws = foodstream_aws::emulator_config(&config.aws_endpoint).await;
        let publisher = {
            use foodstream_kafka::{Bootstrap, KafkaPublisher, KafkaSettings};
            let settings = KafkaSettings {
                message_timeout_ms: 10_000,
                idempotence: true,
                client_id: "foodstream-local-console".into(),
                topic_prefix: names.topic_prefix.clone(),
            };
            KafkaPublisher::new(&Bootstrap::Plaintext(config.kafka_bootstrap.clone()), &settings, None).ok()
        };
        Ok(Arc::new(App {
            console,
            pools,
            triggers,
            mappings,
            tail,
            topics: template.topics.iter().map(|t| t.name.clone()).collect(),
            log_dir: config.log_dir.clone(),
            s3: aws_sdk_s3::Client::from_conf(
                aws_sdk_s3::config::Builder::from(&aws).force_path_style(true).build(),
            ),
            sqs: aws_sdk_sqs::Client::new(&aws),
            dynamodb: aws_sdk_dynamodb::Client::new(&aws),
            publisher,
            failure_bucket: config.failure_bucket.clone(),
            failure_cache: tokio::sync::Mutex::default(),
            orders_table: names.table(foodstream_aws::schema::ORDERS.logical_id),
            api_url: config.api_url.clone(),
            // The local API only: no redirect followed, a bounded wait.
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(30))
                .build()
                .map_err(|e| StackError::Other(format!("the console's HTTP client: {e}")))?,
            openapi: config.openapi.clone(),
            swagger_ui: config.swagger_ui.clone(),
        }))
    }

    async fn function_rows(&self) -> Vec<FunctionRow> {
        let mut names: Vec<&String> = self.pools.keys().collect();
        names.sort();
        let mut rows = Vec::new();
        for name in names {
            let Some(pool) = self.pools.get(name) else { continue };
            let stats = pool.stats();
            // The pool keeps its first durations only: the last 2,000 of those.
            let kept = stats.invocations.min(crate::runtime::MAX_KEPT_DURATIONS as u64);
            let recent = pool.durations_since(kept.saturating_sub(2_000));
            let inits = pool.init_durations();
            rows.push(FunctionRow {
                name: name.clone(),
                triggers: self.triggers.get(name).cloned().unwrap_or_default(),
                warm: pool.idle_instances().await + pool.busy_instances(),
                busy: pool.busy_instances(),
                // Lambda counts the calls that failed to start as invocations too.
                invocations: stats.invocations + stats.failed_starts,
                errors: stats.errors,
                throttles: stats.throttles,
                init_p50: model::percentile(&inits, 50.0),
                init_p99: model::percentile(&inits, 99.0),
                duration_p50: model::percentile(&recent, 50.0),
                duration_p99: model::percentile(&recent, 99.0),
                last_lines: self.log_tail(name, 2, 160),
            });
        }
        rows
    }

    fn mapping_views(&self) -> Vec<MappingView> {
        self.console.with_model(|model| {
            self.mappings
                .iter()
                .map(|spec| {
                    let state = model.mappings.get(&spec.function).cloned().unwrap_or_default();
                    let ends = match &spec.topic {
                        Some((name, full_name, partitions)) => (0..*partitions)
                            .map(|p| ((full_name.clone(), p), self.tail.end(name, p)))
                            .collect(),
                        None => Vec::new(),
                    };
                    MappingView {
                        function: spec.function.clone(),
                        source: spec.source.clone(),
                        kind: spec.kind,
                        state,
                        ends,
                    }
                })
                .collect()
        })
    }

    /// The last `count` lines of a function's log, each cut to `width`
    /// characters (0: whole).
    fn log_tail(&self, function: &str, count: usize, width: usize) -> Vec<String> {
        let Some(dir) = &self.log_dir else { return Vec::new() };
        tail_lines(&dir.join(format!("{function}.log")), count)
            .into_iter()
            .map(|line| readable_log_line(function, &line))
            .map(|line| {
                if width > 0 && line.chars().count() > width {
                    line.chars().take(width).chain(['…']).collect()
                } else {
                    line
                }
            })
            .collect()
    }

    fn topic_records(&self, order: &str) -> Vec<(String, Vec<topics::TailRecord>)> {
        self.topics
            .iter()
            .map(|topic| {
                let records = self
                    .tail
                    .latest(topic)
                    .into_iter()
                    .filter(|r| order.is_empty() || r.is_about(order))
                    .collect();
                (topic.clone(), records)
            })
            .collect()
    }

    async fn order(&self, id: &str) -> (Option<Value>, Option<String>, Vec<String>) {
        let item = self
            .dynamodb
            .get_item()
            .table_name(&self.orders_table)
            .key("order_id", aws_sdk_dynamodb::types::AttributeValue::S(id.to_owned()))
            .consistent_read(true)
            .send()
            .await;
        let (item, error) = match item {
            Ok(out) => match out.item {
                Some(item) => match serde_dynamo::from_item::<_, Value>(item) {
                    Ok(value) => (Some(value), None),
                    Err(e) => (None, Some(format!("the item does not read: {e}"))),
                },
                None => (None, None),
            },
            Err(e) => (None, Some(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())),
        };
        let log = match self.log_dir.clone() {
            Some(dir) => {
                let id = id.to_owned();
                tokio::task::spawn_blocking(move || order_log(&dir, &id)).await.unwrap_or_default()
            }
            None => Vec::new(),
        };
        (item, error, log)
    }

    /// The fragments of one view, rendered now.
    pub(super) async fn fragments(&self, view: &str) -> Fragments {
        let fragment = |id: &str, markup: Markup| (id.to_owned(), markup.into_string());
        if view == "overview" {
            let rows = self.function_rows().await;
            let lines: Vec<model::Line> = self.console.with_model(|m| m.lines.iter().cloned().collect());
            return vec![
                fragment("functions", pages::functions_table(&rows)),
                fragment("mappings", pages::mappings_tables(&self.mapping_views())),
                fragment("activity", pages::activity_list(&lines)),
            ];
        }
        if let Some(name) = view.strip_prefix("function:") {
            // Only a function's own log: a name reaches the path only if it
            // is one of the stack's functions.
            if !self.pools.contains_key(name) {
                return Vec::new();
            }
            return vec![fragment("log", pages::log_lines(&self.log_tail(name, SHOWN_LOG_LINES, 0)))];
        }
        if let Some(order) = view.strip_prefix("topics:") {
            return vec![fragment("topics", pages::topics_list(&self.topic_records(order), order))];
        }
        if view == "failures" {
            let markup = match self.failures().await {
                Ok((records, total)) => pages::failures_list(&records, total, None),
                Err(e) => pages::failures_list(&[], 0, Some(&e)),
            };
            return vec![fragment("failures", markup)];
        }
        if let Some(id) = view.strip_prefix("order:") {
            let (item, error, log) = self.order(id).await;
            return vec![fragment("order", pages::order_view(id, item.as_ref(), error.as_deref(), &log))];
        }
        Vec::new()
    }

    /// A page whose live parts are the view's fragments.
    pub(super) async fn live_page(&self, title: &str, view: &str, before: Option<Markup>) -> Markup {
        let fragments = self.fragments(view).await;
        let body = maud::html! {
            @if let Some(before) = before { (before) }
            @for (id, html) in &fragments {
                div id=(id) data-live { (maud::PreEscaped(html)) }
            }
        };
        pages::page(title, view, body)
    }
}
