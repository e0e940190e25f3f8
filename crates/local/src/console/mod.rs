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
    /// A console that has seen nothing yet.
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
    /// The stack's template, with its parameters.
    pub template: Template,
    /// The local names of its resources.
    pub names: Names,
    /// The local API, which the try-it panel's requests go to.
    pub api_url: String,
    /// The AWS emulator (the failure bucket, the orders table).
    pub aws_endpoint: String,
    /// The broker (the topics followed, replays produced).
    pub kafka_bootstrap: String,
    /// The functions' logs (`<function>.log`), when the stack writes them.
    pub log_dir: Option<PathBuf>,
    /// The bucket of failure records the page lists, if any.
    pub failure_bucket: Option<String>,
    /// `docs/openapi.yaml`.
    pub openapi: PathBuf,
    /// The vendored Swagger UI (`.local/vendor/swagger-ui`).
    pub swagger_ui: PathBuf,
}

impl ConsoleConfig {
    /// The console of a running `stack` started with `config`;
    /// `workspace`: where `docs/` and `.local/` are.
    pub fn of_stack(
        stack: &crate::stack::Stack,
        config: &crate::stack::StackConfig,
        workspace: &std::path::Path,
    ) -> Result<ConsoleConfig, StackError> {
        Ok(ConsoleConfig {
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
    /// Where it serves (`http://127.0.0.1:3001`).
    pub url: String,
    stop: watch::Sender<bool>,
    server: JoinHandle<()>,
    follower: JoinHandle<()>,
}

impl RunningConsole {
    /// Stops serving and following the topics.
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
    /// The failure records read so far, by key.
    failure_cache: tokio::sync::Mutex<HashMap<String, FailureView>>,
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

/// A request that changes something (a replay, a try-it call) comes from
/// the console's own pages: a browser names the page's origin in `Origin`
/// and says `Sec-Fetch-Site`; a form another site posts to 127.0.0.1 says
/// `cross-site` and its own origin. A client that is no browser (curl)
/// sends neither and is let through.
pub fn is_same_origin(method: &Method, host: &str, origin: Option<&str>, fetch_site: Option<&str>) -> bool {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return true;
    }
    let origin_ok = origin.is_none_or(|origin| origin == format!("http://{host}"));
    let site_ok = fetch_site.is_none_or(|site| matches!(site, "same-origin" | "none"));
    origin_ok && site_ok
}

async fn loopback_only(ConnectInfo(peer): ConnectInfo<SocketAddr>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let text = |name: &str| headers.get(name).and_then(|h| h.to_str().ok());
    let host = text("host").unwrap_or_default();
    if !peer.ip().is_loopback() || !is_loopback_host(host) {
        return (
            StatusCode::FORBIDDEN,
            "the foodstream console answers loopback only (127.0.0.1, localhost)\n",
        )
            .into_response();
    }
    if !is_same_origin(request.method(), host, text("origin"), text("sec-fetch-site")) {
        return (StatusCode::FORBIDDEN, "the foodstream console takes changes from its own pages only\n")
            .into_response();
    }
    next.run(request).await
}

impl Console {
    /// The console's listener on `addr`: loopback only (port 0: any free
    /// one). Bound before the stack starts, so a taken port fails at once.
    pub async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, StackError> {
        check_console_address(addr)?;
        tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| StackError::Bind { addr, reason: e.to_string() })
    }

    /// Serves the console on `listener` (see [`Console::bind`]) for the stack's
    /// `pools`, and follows the topics.
    pub async fn serve(
        self: Arc<Self>,
        listener: tokio::net::TcpListener,
        config: ConsoleConfig,
        pools: HashMap<String, Arc<FunctionPool>>,
    ) -> Result<RunningConsole, StackError> {
        let address = listener.local_addr().map_err(|e| StackError::Other(e.to_string()))?;
        check_console_address(address)?;
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
            .route("/proxy", any(proxy))
            .route("/proxy/{*path}", any(proxy))
            .route("/events", get(events))
            .route("/assets/console.js", get(|| async { asset("text/javascript", pages::CONSOLE_JS) }))
            .route("/assets/console.css", get(|| async { asset("text/css", pages::CONSOLE_CSS) }))
            .route("/assets/swagger-ui/{file}", get(swagger_asset))
            .layer(axum::middleware::from_fn(loopback_only))
            .with_state(app);
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

    /// The newest failure records and how many the bucket holds. The
    /// bucket is listed (keys only) each time; a record is read once, as
    /// it never changes under its key.
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
        let shown: Vec<String> = keys.into_iter().take(SHOWN_FAILURES).map(|(_, key)| key).collect();
        let mut cache = self.failure_cache.lock().await;
        cache.retain(|key, _| shown.contains(key));
        let mut views = Vec::new();
        for key in shown {
            if let Some(view) = cache.get(&key) {
                views.push(view.clone());
                continue;
            }
            let view = match foodstream_ops::read(&self.s3, bucket, &key).await {
                Ok(record) => FailureView {
                    orders: orders_in_payload(&record.payload),
                    key: record.key,
                    condition: record.condition,
                    timestamp: record.timestamp,
                    source: record.source,
                    function_arn: record.function_arn,
                    parked_by: record.parked_by,
                    reason: record.reason,
                    payload: shown_payload(&record.payload),
                },
                Err(foodstream_ops::ReplayError::NotARecord { .. }) => continue,
                Err(e) => return Err(e.to_string()),
            };
            cache.insert(key, view.clone());
            views.push(view);
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

/// How much of each function's log the order page reads: its end.
pub const ORDER_LOG_WINDOW: u64 = 4 * 1024 * 1024;

/// One order's log lines across functions, in time order (what
/// `make logs ORDER=` prints), from the last [`ORDER_LOG_WINDOW`] of each log.
fn order_log(dir: &std::path::Path, id: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut lines = Vec::new();
    for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
        if path.extension().and_then(|e| e.to_str()) != Some("log") {
            continue;
        }
        let function = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_owned();
        for text in tail_window(&path, ORDER_LOG_WINDOW, usize::MAX) {
            if let Ok(Value::Object(line)) = serde_json::from_str::<Value>(&text) {
                let timestamp = line.get("timestamp").and_then(Value::as_str).unwrap_or_default().to_owned();
                lines.push(foodstream_ops::order_logs::LogLine {
                    function: function.clone(),
                    timestamp,
                    line,
                });
            }
        }
    }
    foodstream_ops::order_logs::of_order(lines, id).iter().map(|l| l.render()).collect()
}

/// How much of a failure record's payload its page shows.
pub const SHOWN_PAYLOAD_BYTES: usize = 64 * 1024;

/// The payload as the page shows it: whole up to [`SHOWN_PAYLOAD_BYTES`]
/// of JSON, else its beginning as text (the bucket keeps it whole).
fn shown_payload(payload: &Value) -> Value {
    let text = payload.to_string();
    if text.len() <= SHOWN_PAYLOAD_BYTES {
        return payload.clone();
    }
    let mut end = SHOWN_PAYLOAD_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Value::String(format!("{}… ({} bytes in all)", &text[..end], text.len()))
}

/// The last `count` lines of a file, reading at most its last 256 KiB.
pub fn tail_lines(path: &std::path::Path, count: usize) -> Vec<String> {
    tail_window(path, 256 * 1024, count)
}

/// The last `count` lines within the last `window` bytes of a file.
fn tail_window(path: &std::path::Path, window: u64, count: usize) -> Vec<String> {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut file) = std::fs::File::open(path) else { return Vec::new() };
    let length = file.metadata().map(|m| m.len()).unwrap_or_default();
    let start = length.saturating_sub(window);
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
/// Kafka record's value, or of each stream record's new image (else its
/// keys); sorted, without repeats.
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

#[derive(serde::Deserialize)]
struct ReplayOutcome {
    ok: Option<String>,
    outcome: Option<String>,
}

async fn failures_page(State(app): Shared, Query(replayed): Query<ReplayOutcome>) -> Markup {
    let flash = replayed.outcome.map(|message| {
        let ok = replayed.ok.as_deref() == Some("1");
        maud::html! { p.replayed.bad[!ok] { (message) } }
    });
    app.live_page("Failure records", "failures", flash).await
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
    // Post, redirect, get: a reload shows the outcome again instead of
    // replaying again.
    let (ok, message) = match outcome {
        Ok(message) => ("1", message),
        Err(message) => ("0", message),
    };
    let query: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("ok", ok)
        .append_pair("outcome", &message)
        .finish();
    Redirect::to(&format!("/failures?{query}")).into_response()
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

/// Headers that belong to one connection, or to the console's own origin,
/// and do not cross the proxy (RFC 9110, 7.6.1).
fn crosses_the_proxy(name: &header::HeaderName) -> bool {
    !matches!(
        name.as_str(),
        "host"
            | "connection"
            | "keep-alive"
            | "proxy-connection"
            | "transfer-encoding"
            | "te"
            | "trailer"
            | "upgrade"
            | "content-length"
            | "cookie"
            | "origin"
            | "referer"
    ) && !name.as_str().starts_with("sec-")
}

/// The try-it panel's requests, to the local API: the method, the path and
/// query as sent (still encoded), the body, and every end-to-end header
/// both ways (`If-Match` and `ETag` included).
async fn proxy(State(app): Shared, method: Method, request: Request) -> Response {
    let path_and_query = request.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let Some(rest) = path_and_query.strip_prefix("/proxy") else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let url = format!("{}{rest}", app.api_url.trim_end_matches('/'));
    let headers = request.headers().clone();
    let body = match axum::body::to_bytes(request.into_body(), crate::runtime::MAX_INVOKE_PAYLOAD_BYTES).await
    {
        Ok(body) => body,
        Err(e) => return (StatusCode::PAYLOAD_TOO_LARGE, e.to_string()).into_response(),
    };
    let mut forward = app.http.request(method, url).body(body);
    for (name, value) in headers.iter().filter(|(name, _)| crosses_the_proxy(name)) {
        forward = forward.header(name, value);
    }
    match forward.send().await {
        Ok(answer) => {
            let status = answer.status();
            let mut headers = axum::http::HeaderMap::new();
            for (name, value) in answer.headers().iter().filter(|(name, _)| crosses_the_proxy(name)) {
                headers.append(name.clone(), value.clone());
            }
            let bytes = answer.bytes().await.unwrap_or_default();
            let mut response = Response::new(Body::from(bytes));
            *response.status_mut() = status;
            *response.headers_mut() = headers;
            response
                .headers_mut()
                .insert(header::X_CONTENT_TYPE_OPTIONS, header::HeaderValue::from_static("nosniff"));
            response
        }
        Err(e) => (StatusCode::BAD_GATEWAY, format!("the local API does not answer: {e}\n")).into_response(),
    }
}

#[derive(serde::Deserialize)]
struct ViewQuery {
    view: String,
}

/// How often a view is rendered again: the bucket and the logs less often
/// than what the stack holds in memory.
fn refresh_of(view: &str) -> Duration {
    if view == "failures" || view.starts_with("order:") { Duration::from_secs(2) } else { REFRESH }
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
                tokio::time::sleep(refresh_of(&view)).await;
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
    // A short keep-alive: a closed page's stream ends at the next write.
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(5)))
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
        assert!(check_console_address("[::]:0".parse().unwrap()).is_err());
        assert!(check_console_address("0.0.0.0:0".parse().unwrap()).is_err());
    }

    #[test]
    fn changes_come_from_the_consoles_own_pages_only() {
        let host = "127.0.0.1:3001";
        assert!(is_same_origin(&Method::POST, host, Some("http://127.0.0.1:3001"), Some("same-origin")));
        assert!(is_same_origin(&Method::POST, host, None, None), "curl");
        assert!(is_same_origin(&Method::GET, host, Some("http://evil.example"), Some("cross-site")), "reads");
        assert!(!is_same_origin(&Method::POST, host, Some("http://evil.example"), Some("cross-site")));
        assert!(!is_same_origin(&Method::POST, host, Some("null"), None));
        assert!(!is_same_origin(&Method::POST, host, None, Some("cross-site")));
        assert!(
            !is_same_origin(&Method::DELETE, host, Some("http://localhost:3001"), None),
            "another origin"
        );
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
