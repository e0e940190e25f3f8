//! The local stack's console: a web page on loopback that shows what the
//! stack does as it happens, where otherwise only its logs would tell.
//!
//! - functions: instances warm and busy, invocations, errors, throttles,
//!   init and duration percentiles, their last log lines (and one
//!   function's log, a click away);
//! - event source mappings: each Kafka partition's committed offset, end
//!   and lag and the batch in flight, each stream shard's position and
//!   iterator age, retries, bisections and failures ([`model`]);
//! - the latest records of each topic, decoded, filtered by order
//!   ([`topics`]);
//! - the failure bucket's records, each with a Replay button (what
//!   `make replay KEY=` does);
//! - one order: its item, timeline and log lines across functions;
//! - the OpenAPI document in Swagger UI (vendored by
//!   `scripts/vendor-assets.sh`), its requests sent to the local API
//!   through the console.
//!
//! Pages are rendered on the server ([`pages`]); each page follows one
//! view on `/events`, a stream of server-sent events that carries a
//! fragment whenever it changed: no polling in the page. The console
//! answers loopback only: it binds there, and refuses a peer or a `Host`
//! that is not loopback (a page elsewhere rebinding its name to
//! 127.0.0.1 cannot read it).

pub mod model;
pub mod pages;
pub mod topics;

use crate::activity::{Activity, StackEvent};
use crate::provision::Names;
use crate::runtime::FunctionPool;
use crate::stack::StackError;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Path, Query, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{any, get, post};
use foodstream_template::{Source, Template};
use futures::StreamExt;
use maud::Markup;
use model::Model;
use pages::{FailureView, FunctionRow, MappingView, SourceKind};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use topics::TopicTail;

/// How many failure records the page shows (the newest).
pub const SHOWN_FAILURES: usize = 50;
/// How many lines of a function's log its page shows.
pub const SHOWN_LOG_LINES: usize = 300;
/// How often a view is rendered again (and sent when it changed).
const REFRESH: Duration = Duration::from_millis(700);

/// What the console knows from the stack's reports; fed before the stack
/// starts (see [`Console::tap`]), served once it runs.
#[derive(Default)]
pub struct Console {
    model: Mutex<Model>,
}

impl Console {
    pub fn new() -> Arc<Console> {
        Arc::new(Console::default())
    }

    /// Takes in one event the stack reported.
    pub fn observe(&self, event: &StackEvent) {
        let now = chrono::Utc::now().timestamp_millis();
        self.model.lock().unwrap_or_else(|p| p.into_inner()).observe(event, now);
    }

    /// An [`Activity`] that reports to the console, then to `inner`.
    pub fn tap(self: &Arc<Self>, inner: Activity) -> Activity {
        let console = self.clone();
        Arc::new(move |event: StackEvent| {
            console.observe(&event);
            inner(event);
        })
    }

    fn with_model<T>(&self, read: impl FnOnce(&Model) -> T) -> T {
        read(&self.model.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// Where the console serves and what it reads.
#[derive(Clone)]
pub struct ConsoleConfig {
    /// A loopback address (port 0: any free one).
    pub addr: SocketAddr,
    pub template: Template,
    pub names: Names,
    pub api_url: String,
    pub aws_endpoint: String,
    pub kafka_bootstrap: String,
    /// The functions' logs (`<function>.log`), when the stack writes them.
    pub log_dir: Option<PathBuf>,
    pub failure_bucket: Option<String>,
    /// `docs/openapi.yaml`.
    pub openapi: PathBuf,
    /// The vendored Swagger UI (`.local/vendor/swagger-ui`).
    pub swagger_ui: PathBuf,
}

impl ConsoleConfig {
    /// The console of a running `stack` started with `config`, on `addr`;
    /// `workspace`: where `docs/` and `.local/` are.
    pub fn of_stack(
        stack: &crate::stack::Stack,
        config: &crate::stack::StackConfig,
        addr: SocketAddr,
        workspace: &std::path::Path,
    ) -> Result<ConsoleConfig, StackError> {
        Ok(ConsoleConfig {
            addr,
            template: Template::load_with(&config.template, &config.parameters)?,
            names: stack.names.clone(),
            api_url: stack.api_url.clone(),
            aws_endpoint: config.aws_endpoint.clone(),
            kafka_bootstrap: config.kafka_bootstrap.clone(),
            log_dir: config.log_dir.clone(),
            failure_bucket: stack.failure_bucket.clone(),
            openapi: workspace.join("docs/openapi.yaml"),
            swagger_ui: workspace.join(".local/vendor/swagger-ui"),
        })
    }
}

/// The console, serving.
pub struct RunningConsole {
    pub url: String,
    stop: watch::Sender<bool>,
    server: JoinHandle<()>,
    follower: JoinHandle<()>,
}

impl RunningConsole {
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        self.server.abort();
        let abort = self.follower.abort_handle();
        if tokio::time::timeout(Duration::from_secs(5), self.follower).await.is_err() {
            abort.abort();
        }
    }
}

/// What the handlers share.
struct App {
    console: Arc<Console>,
    pools: HashMap<String, Arc<FunctionPool>>,
    /// By function: what calls it.
    triggers: BTreeMap<String, Vec<String>>,
    mappings: Vec<MappingSpec>,
    tail: Arc<TopicTail>,
    /// The template's topic names, in its order.
    topics: Vec<String>,
    log_dir: Option<PathBuf>,
    s3: aws_sdk_s3::Client,
    sqs: aws_sdk_sqs::Client,
    dynamodb: aws_sdk_dynamodb::Client,
    publisher: Option<foodstream_kafka::KafkaPublisher>,
    failure_bucket: Option<String>,
    orders_table: String,
    api_url: String,
    http: reqwest::Client,
    openapi: PathBuf,
    swagger_ui: PathBuf,
}

struct MappingSpec {
    function: String,
    source: String,
    kind: SourceKind,
    /// Kafka: (the template's topic name, the broker's name, partitions).
    topic: Option<(String, String, i32)>,
}

/// Refuses a console address that is not loopback.
pub fn check_console_address(addr: SocketAddr) -> Result<(), StackError> {
    if addr.ip().is_loopback() {
        Ok(())
    } else {
        Err(StackError::Bind { addr, reason: "the console serves loopback only".into() })
    }
}

/// A `Host` header that names this machine's loopback: `127.0.0.1`,
/// `localhost` or `[::1]`, with any port.
pub fn is_loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name.eq_ignore_ascii_case("localhost")
        || name.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

async fn loopback_only(ConnectInfo(peer): ConnectInfo<SocketAddr>, request: Request, next: Next) -> Response {
    let host = request.headers().get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or_default();
    if !peer.ip().is_loopback() || !is_loopback_host(host) {
        return (
            StatusCode::FORBIDDEN,
            "the foodstream console answers loopback only (127.0.0.1, localhost)\n",
        )
            .into_response();
    }
    next.run(request).await
}

impl Console {
    /// Serves the console on `config.addr` (loopback only) for the stack's
    /// `pools`, and follows the topics.
    pub async fn serve(
        self: Arc<Self>,
        config: ConsoleConfig,
        pools: HashMap<String, Arc<FunctionPool>>,
    ) -> Result<RunningConsole, StackError> {
        check_console_address(config.addr)?;
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
        let tail = Arc::new(TopicTail::default());
        let followed = template
            .topics
            .iter()
            .map(|t| topics::Followed {
                name: t.name.clone(),
                full_name: names.topic(&t.name),
                partitions: i32::try_from(t.partitions).unwrap_or(1),
            })
            .collect();
        let (stop, stopped) = watch::channel(false);
        let follower =
            tokio::spawn(topics::follow(tail.clone(), config.kafka_bootstrap.clone(), followed, stopped));
        let app = Arc::new(App {
            console: self,
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
            orders_table: names.table(foodstream_aws::schema::ORDERS.logical_id),
            api_url: config.api_url.clone(),
            http: reqwest::Client::new(),
            openapi: config.openapi.clone(),
            swagger_ui: config.swagger_ui.clone(),
        });
        let router = Router::new()
            .route("/", get(overview))
            .route("/functions/{name}", get(function_page))
            .route("/topics", get(topics_page))
            .route("/failures", get(failures_page))
            .route("/failures/replay", post(replay))
            .route("/orders", get(find_order))
            .route("/orders/{id}", get(order_page))
            .route("/api", get(api_page))
            .route("/openapi.yaml", get(openapi))
            .route("/proxy/{*path}", any(proxy))
            .route("/events", get(events))
            .route("/assets/console.js", get(|| async { asset("text/javascript", pages::CONSOLE_JS) }))
            .route("/assets/console.css", get(|| async { asset("text/css", pages::CONSOLE_CSS) }))
            .route("/assets/swagger-ui/{file}", get(swagger_asset))
            .layer(axum::middleware::from_fn(loopback_only))
            .with_state(app);
        let listener = tokio::net::TcpListener::bind(config.addr)
            .await
            .map_err(|e| StackError::Bind { addr: config.addr, reason: e.to_string() })?;
        let address = listener.local_addr().map_err(|e| StackError::Other(e.to_string()))?;
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>()).await;
        });
        Ok(RunningConsole { url: format!("http://{address}"), stop, server, follower })
    }
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

type Shared = State<Arc<App>>;

/// One view's live fragments, by element id.
type Fragments = Vec<(String, String)>;

impl App {
    async fn function_rows(&self) -> Vec<FunctionRow> {
        let mut names: Vec<&String> = self.pools.keys().collect();
        names.sort();
        let mut rows = Vec::new();
        for name in names {
            let Some(pool) = self.pools.get(name) else { continue };
            let stats = pool.stats();
            let recent = pool.durations_since(stats.invocations.saturating_sub(2_000));
            let inits = pool.init_durations();
            rows.push(FunctionRow {
                name: name.clone(),
                triggers: self.triggers.get(name).cloned().unwrap_or_default(),
                warm: pool.idle_instances().await + pool.busy_instances(),
                busy: pool.busy_instances(),
                invocations: stats.invocations,
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

    /// The newest failure records and how many the bucket holds.
    async fn failures(&self) -> Result<(Vec<FailureView>, usize), String> {
        let Some(bucket) = &self.failure_bucket else {
            return Err("this stack has no failure bucket".into());
        };
        let mut keys: Vec<(i64, String)> = Vec::new();
        let mut pages = self.s3.list_objects_v2().bucket(bucket).into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_sdk_s3::error::DisplayErrorContext(e).to_string())?;
            for object in page.contents() {
                if let Some(key) = object.key() {
                    let at = object.last_modified().map_or(0, |t| t.secs());
                    keys.push((at, key.to_owned()));
                }
            }
        }
        let total = keys.len();
        keys.sort_by(|a, b| b.cmp(a));
        let mut views = Vec::new();
        for (_, key) in keys.into_iter().take(SHOWN_FAILURES) {
            match foodstream_ops::read(&self.s3, bucket, &key).await {
                Ok(record) => views.push(FailureView {
                    orders: orders_in_payload(&record.payload),
                    key: record.key,
                    condition: record.condition,
                    timestamp: record.timestamp,
                    source: record.source,
                    function_arn: record.function_arn,
                    parked_by: record.parked_by,
                    reason: record.reason,
                    payload: record.payload,
                }),
                Err(foodstream_ops::ReplayError::NotARecord { .. }) => {}
                Err(e) => return Err(e.to_string()),
            }
        }
        Ok((views, total))
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
        let log = match &self.log_dir {
            Some(dir) => foodstream_ops::order_logs::read_dir(dir)
                .map(|lines| {
                    foodstream_ops::order_logs::of_order(lines, id).iter().map(|l| l.render()).collect()
                })
                .unwrap_or_default(),
            None => Vec::new(),
        };
        (item, error, log)
    }

    /// The fragments of one view, rendered now.
    async fn fragments(&self, view: &str) -> Fragments {
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
    async fn live_page(&self, title: &str, view: &str, before: Option<Markup>) -> Markup {
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

/// The last `count` lines of a file, reading at most its last 256 KiB.
pub fn tail_lines(path: &std::path::Path, count: usize) -> Vec<String> {
    use std::io::{Read, Seek, SeekFrom};
    const WINDOW: u64 = 256 * 1024;
    let Ok(mut file) = std::fs::File::open(path) else { return Vec::new() };
    let length = file.metadata().map(|m| m.len()).unwrap_or_default();
    let start = length.saturating_sub(WINDOW);
    if file.seek(SeekFrom::Start(start)).is_err() {
        return Vec::new();
    }
    let mut bytes = Vec::new();
    if file.read_to_end(&mut bytes).is_err() {
        return Vec::new();
    }
    let text = String::from_utf8_lossy(&bytes);
    let mut lines: Vec<&str> = text.lines().collect();
    if start > 0 && !lines.is_empty() {
        // The first line was cut by the window.
        lines.remove(0);
    }
    let skip = lines.len().saturating_sub(count);
    lines.into_iter().skip(skip).map(str::to_owned).collect()
}

/// A function's JSON log line as `make logs ORDER=` prints it; any other
/// line as it is.
fn readable_log_line(function: &str, line: &str) -> String {
    match serde_json::from_str::<Value>(line) {
        Ok(Value::Object(map)) => {
            let timestamp = map.get("timestamp").and_then(Value::as_str).unwrap_or_default().to_owned();
            foodstream_ops::order_logs::LogLine { function: function.to_owned(), timestamp, line: map }
                .render()
        }
        _ => line.to_owned(),
    }
}

/// The orders a failure record's payload is about: the `order_id` of each
/// Kafka record's value, or of each stream record's new image.
pub fn orders_in_payload(payload: &Value) -> Vec<String> {
    use base64::Engine;
    let mut orders = Vec::new();
    let kafka =
        payload.get("records").and_then(Value::as_object).into_iter().flat_map(|groups| groups.values());
    for record in kafka.filter_map(Value::as_array).flatten() {
        let value = record
            .get("value")
            .and_then(Value::as_str)
            .and_then(|v| base64::engine::general_purpose::STANDARD.decode(v).ok())
            .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok());
        if let Some(id) = value.as_ref().and_then(|v| v.get("order_id")).and_then(Value::as_str) {
            orders.push(id.to_owned());
        }
    }
    for record in payload.get("Records").and_then(Value::as_array).into_iter().flatten() {
        let id = record
            .pointer("/dynamodb/NewImage/order_id/S")
            .or_else(|| record.pointer("/dynamodb/Keys/order_id/S"))
            .and_then(Value::as_str);
        if let Some(id) = id {
            orders.push(id.to_owned());
        }
    }
    orders.sort();
    orders.dedup();
    orders
}

async fn overview(State(app): Shared) -> Markup {
    app.live_page("Functions & event source mappings", "overview", None).await
}

async fn function_page(State(app): Shared, Path(name): Path<String>) -> Response {
    if !app.pools.contains_key(&name) {
        return (
            StatusCode::NOT_FOUND,
            pages::page("No such function", "", maud::html! { p { "No function " (name) "." } }),
        )
            .into_response();
    }
    let intro = maud::html! { p { "The last " (SHOWN_LOG_LINES) " lines of " code { (name) ".log" } ", newest last." } };
    app.live_page(&format!("{name}: log"), &format!("function:{name}"), Some(intro)).await.into_response()
}

#[derive(serde::Deserialize)]
struct OrderFilter {
    #[serde(default)]
    order: String,
}

async fn topics_page(State(app): Shared, Query(filter): Query<OrderFilter>) -> Markup {
    let order = filter.order.trim().to_owned();
    let form = maud::html! {
        form method="get" action="/topics" {
            input name="order" value=(order) placeholder="order id" aria-label="filter by order id";
            button type="submit" { "Filter" }
            @if !order.is_empty() { " " a href="/topics" { "all records" } }
        }
    };
    app.live_page("Topics: the latest records", &format!("topics:{order}"), Some(form)).await
}

async fn failures_page(State(app): Shared) -> Markup {
    app.live_page("Failure records", "failures", None).await
}

async fn replay(State(app): Shared, body: Bytes) -> Response {
    let key = form_urlencoded::parse(&body).find(|(name, _)| name == "key").map(|(_, v)| v.into_owned());
    let outcome = match (key, &app.failure_bucket, &app.publisher) {
        (None, _, _) => Err("key: a failure record's key is required".to_owned()),
        (Some(_), None, _) => Err("this stack has no failure bucket".to_owned()),
        (Some(_), _, None) => Err("no Kafka producer: is the broker up?".to_owned()),
        (Some(key), Some(bucket), Some(publisher)) => {
            match foodstream_ops::replay(&app.s3, bucket, &key, publisher, &app.sqs, false).await {
                Ok(done) => Ok(format!(
                    "Replayed {key}: {} Kafka record(s) produced again, {} stream record(s) relayed, {} message(s) sent again.",
                    done.produced, done.relayed, done.resent
                )),
                Err(e) => Err(e.to_string()),
            }
        }
    };
    let (status, flash) = match &outcome {
        Ok(message) => (StatusCode::OK, maud::html! { p.replayed { (message) } }),
        Err(message) => (StatusCode::BAD_REQUEST, maud::html! { p.bad.replayed { (message) } }),
    };
    (status, app.live_page("Failure records", "failures", Some(flash)).await).into_response()
}

#[derive(serde::Deserialize)]
struct OrderQuery {
    #[serde(default)]
    id: String,
}

async fn find_order(Query(query): Query<OrderQuery>) -> Redirect {
    match query.id.trim() {
        "" => Redirect::to("/"),
        id => Redirect::to(&format!("/orders/{}", pages::urlencode(id))),
    }
}

async fn order_page(State(app): Shared, Path(id): Path<String>) -> Markup {
    let links = maud::html! { p { a href={ "/topics?order=" (pages::urlencode(&id)) } { "Its records on the topics" } } };
    app.live_page(&format!("Order {id}"), &format!("order:{id}"), Some(links)).await
}

async fn api_page(State(app): Shared) -> Markup {
    pages::api_page(app.swagger_ui.join("swagger-ui-bundle.js").is_file())
}

/// The OpenAPI document, its server the console's proxy to the local API.
async fn openapi(State(app): Shared) -> Response {
    let text = match std::fs::read_to_string(&app.openapi) {
        Ok(text) => text,
        Err(e) => {
            return (StatusCode::NOT_FOUND, format!("{}: {e}\n", app.openapi.display())).into_response();
        }
    };
    let mut document: serde_norway::Value = match serde_norway::from_str(&text) {
        Ok(document) => document,
        Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, format!("openapi.yaml: {e}\n")).into_response(),
    };
    if let Some(map) = document.as_mapping_mut() {
        let server = serde_norway::to_value(
            serde_json::json!([{ "url": "/proxy", "description": format!("the local API ({}), through the console", app.api_url) }]),
        );
        if let Ok(server) = server {
            map.insert(serde_norway::Value::String("servers".into()), server);
        }
    }
    match serde_norway::to_string(&document) {
        Ok(text) => ([(header::CONTENT_TYPE, "application/yaml")], text).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("openapi.yaml: {e}\n")).into_response(),
    }
}

/// The vendored Swagger UI files, by name (nothing else of the folder).
async fn swagger_asset(State(app): Shared, Path(file): Path<String>) -> Response {
    let content_type = match file.as_str() {
        "swagger-ui-bundle.js" => "text/javascript",
        "swagger-ui.css" => "text/css",
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    match tokio::fs::read(app.swagger_ui.join(&file)).await {
        Ok(bytes) => ([(header::CONTENT_TYPE, content_type)], bytes).into_response(),
        Err(_) => (
            StatusCode::NOT_FOUND,
            format!(
                "{} is not vendored: run scripts/vendor-assets.sh\n",
                app.swagger_ui.join(&file).display()
            ),
        )
            .into_response(),
    }
}

/// The try-it panel's requests, to the local API: same method, path,
/// query, body and the headers a client sets.
async fn proxy(State(app): Shared, method: Method, Path(path): Path<String>, request: Request) -> Response {
    let query = request.uri().query().map(|q| format!("?{q}")).unwrap_or_default();
    let headers = request.headers().clone();
    let body = match axum::body::to_bytes(request.into_body(), crate::runtime::MAX_INVOKE_PAYLOAD_BYTES).await
    {
        Ok(body) => body,
        Err(e) => return (StatusCode::PAYLOAD_TOO_LARGE, e.to_string()).into_response(),
    };
    let url = format!("{}/{path}{query}", app.api_url.trim_end_matches('/'));
    let mut forward = app.http.request(method, url).body(body);
    for name in [header::AUTHORIZATION, header::CONTENT_TYPE, header::ACCEPT] {
        if let Some(value) = headers.get(&name) {
            forward = forward.header(name, value);
        }
    }
    for (name, value) in &headers {
        if name.as_str().eq_ignore_ascii_case("idempotency-key") {
            forward = forward.header(name, value);
        }
    }
    match forward.send().await {
        Ok(answer) => {
            let status = answer.status();
            let content_type = answer.headers().get(header::CONTENT_TYPE).cloned();
            let bytes = answer.bytes().await.unwrap_or_default();
            let mut response = Response::new(Body::from(bytes));
            *response.status_mut() = status;
            if let Some(content_type) = content_type {
                response.headers_mut().insert(header::CONTENT_TYPE, content_type);
            }
            response
        }
        Err(e) => (StatusCode::BAD_GATEWAY, format!("the local API does not answer: {e}\n")).into_response(),
    }
}

#[derive(serde::Deserialize)]
struct ViewQuery {
    view: String,
}

/// The view's fragments as server-sent events, each sent when it changed.
async fn events(
    State(app): Shared,
    Query(query): Query<ViewQuery>,
) -> Sse<impl futures::Stream<Item = Result<Event, Infallible>>> {
    let sent: HashMap<String, String> = HashMap::new();
    let stream =
        futures::stream::unfold((app, query.view, sent, true), |(app, view, mut sent, first)| async move {
            if !first {
                tokio::time::sleep(REFRESH).await;
            }
            let mut changed = Vec::new();
            for (id, html) in app.fragments(&view).await {
                if sent.get(&id) != Some(&html) {
                    changed.push(Event::default().event(&id).data(&html));
                    sent.insert(id, html);
                }
            }
            Some((changed, (app, view, sent, false)))
        })
        .flat_map(|events| futures::stream::iter(events.into_iter().map(Ok)));
    Sse::new(stream).keep_alive(KeepAlive::default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn only_loopback_hosts_are_loopback() {
        for host in ["127.0.0.1:3001", "localhost:3001", "LOCALHOST", "[::1]:3001", "127.0.0.2", "[::1]"] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in
            ["", "10.0.0.2:3001", "evil.example", "localhost.evil.example:3001", "[::2]:1", "0.0.0.0:3001"]
        {
            assert!(!is_loopback_host(host), "{host}");
        }
        assert!(check_console_address("127.0.0.1:0".parse().unwrap()).is_ok());
        assert!(check_console_address("0.0.0.0:0".parse().unwrap()).is_err());
    }

    #[test]
    fn a_failure_payload_names_its_orders() {
        use base64::Engine;
        let value = base64::engine::general_purpose::STANDARD.encode(br#"{"order_id":"o-7"}"#);
        let kafka = serde_json::json!({"eventSource": "aws:kafka", "records": {"order-events-0": [{"value": value}, {"value": "!!"}]}});
        assert_eq!(orders_in_payload(&kafka), vec!["o-7".to_string()]);
        let stream = serde_json::json!({"Records": [{"dynamodb": {"Keys": {"order_id": {"S": "o-8"}}}}]});
        assert_eq!(orders_in_payload(&stream), vec!["o-8".to_string()]);
    }

    #[test]
    fn a_log_tail_is_its_last_lines() {
        let path = std::env::temp_dir().join(format!("console-tail-{}.log", uuid::Uuid::new_v4()));
        let text: String = (0..50_000).map(|i| format!("line {i}\n")).collect();
        std::fs::write(&path, text).unwrap();
        assert_eq!(tail_lines(&path, 2), vec!["line 49998".to_string(), "line 49999".to_string()]);
        assert!(tail_lines(&path.with_extension("missing"), 2).is_empty());
        std::fs::remove_file(&path).unwrap();
    }

    proptest! {
        /// Any Host header is judged without a panic, and never loopback
        /// unless its name is one.
        #[test]
        fn any_host_header_is_judged(host in ".{0,40}") {
            let loopback = is_loopback_host(&host);
            if loopback {
                let lower = host.to_ascii_lowercase();
                prop_assert!(lower.starts_with("localhost") || lower.starts_with("127.") || lower.starts_with("[::1]") || lower.starts_with("::1") || lower.starts_with("[0:0:0:0:0:0:0:1]") || lower.starts_with("0:0:0:0:0:0:0:1"), "{}", host);
            }
        }

        /// Any payload is searched for orders without a panic.
        #[test]
        fn any_payload_is_searched(text in ".{0,200}") {
            let value = serde_json::from_str::<Value>(&text).unwrap_or(Value::String(text));
            let _ = orders_in_payload(&value);
        }
    }
}
