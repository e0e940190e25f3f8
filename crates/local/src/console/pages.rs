//! The console's HTML: whole pages and the live fragments the event
//! stream replaces in them (each fragment is the inside of one element
//! marked `data-live`, by its id). maud escapes every value it renders.

use super::model::{InFlight, MappingState};
use super::topics::TailRecord;
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde_json::Value;
use std::time::Duration;

/// One function's row.
#[derive(Debug, Clone, Default)]
pub struct FunctionRow {
    /// The function's name.
    pub name: String,
    /// What calls it: its routes, its event source, its schedule.
    pub triggers: Vec<String>,
    /// Instances alive, idle or busy.
    pub warm: usize,
    /// Instances running a call.
    pub busy: usize,
    /// Calls, those that failed to start included (as Lambda counts them).
    pub invocations: u64,
    /// Calls that did not answer.
    pub errors: u64,
    /// Calls that waited for an instance at the limit.
    pub throttles: u64,
    /// Median init.
    pub init_p50: Option<Duration>,
    /// 99th percentile init.
    pub init_p99: Option<Duration>,
    /// Median invocation duration (recent calls).
    pub duration_p50: Option<Duration>,
    /// 99th percentile invocation duration (recent calls).
    pub duration_p99: Option<Duration>,
    /// The end of its log, readable.
    pub last_lines: Vec<String>,
}

/// One event source mapping, with what the template says of it.
#[derive(Debug, Clone)]
pub struct MappingView {
    /// The mapping's function.
    pub function: String,
    /// `order-events (group notifier)`, `OrdersTable stream`, `DeliveryTimerQueue`.
    pub source: String,
    /// Which table the page shows.
    pub kind: SourceKind,
    /// What the stack's events told of it.
    pub state: MappingState,
    /// By (topic, partition): the end offset as far as the console read.
    pub ends: Vec<((String, i32), Option<i64>)>,
}

/// What a mapping reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// An MSK topic.
    Kafka,
    /// A DynamoDB table's stream.
    Stream,
    /// An SQS queue.
    Queue,
}

/// One failure record as listed.
#[derive(Debug, Clone)]
pub struct FailureView {
    /// Its key in the bucket.
    pub key: String,
    /// `RetryAttemptsExhausted`, `RecordAgeExceeded`, or `Unprocessable`
    /// (parked by a consumer).
    pub condition: String,
    /// When it was written.
    pub timestamp: String,
    /// Where its batch came from: topic-partitions or a shard.
    pub source: String,
    /// The function that failed.
    pub function_arn: String,
    /// The consumer that parked it itself; empty for a mapping's.
    pub parked_by: String,
    /// Why it was parked, when a consumer says.
    pub reason: String,
    /// The event, cut for the page past [`super::SHOWN_PAYLOAD_BYTES`].
    pub payload: Value,
    /// The orders the payload is about.
    pub orders: Vec<String>,
}

fn ms(duration: Option<Duration>) -> String {
    match duration {
        Some(d) if d < Duration::from_millis(10) => format!("{:.1} ms", d.as_secs_f64() * 1000.0),
        Some(d) => format!("{} ms", d.as_millis()),
        None => "–".into(),
    }
}

fn at(ms_since_epoch: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms_since_epoch)
        .map(|t| t.format("%H:%M:%S%.3f").to_string())
        .unwrap_or_default()
}

/// A link to an order's page.
pub fn order_link(id: &str) -> Markup {
    html! { a.order href={ "/orders/" (urlencode(id)) } { (id) } }
}

/// Percent-encodes a path segment or a query value (a space as `%20`,
/// which both read back as a space).
pub fn urlencode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// The frame of every page: the navigation, the body, and the script that
/// follows the page's live view.
pub fn page(title: &str, view: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · foodstream console" }
                link rel="stylesheet" href="/assets/console.css";
            }
            body data-view=(view) {
                header {
                    strong { "foodstream" } " local console"
                    nav {
                        a href="/" { "Functions & mappings" }
                        a href="/topics" { "Topics" }
                        a href="/failures" { "Failure records" }
                        a href="/api" { "API" }
                        form.search action="/orders" method="get" {
                            input name="id" placeholder="order id" aria-label="order id";
                            button type="submit" { "Open order" }
                        }
                    }
                    span #live-status { "connecting…" }
                }
                main { h1 { (title) } (body) }
                @if !view.is_empty() {
                    script src="/assets/console.js" {}
                }
            }
        }
    }
}

/// The overview's table of functions, a row each.
pub fn functions_table(rows: &[FunctionRow]) -> Markup {
    html! {
        table.functions {
            thead { tr {
                th { "function" } th { "triggers" } th.n { "warm" } th.n { "busy" }
                th.n { "invocations" } th.n { "errors" } th.n { "throttles" }
                th.n { "init p50" } th.n { "init p99" } th.n { "p50" } th.n { "p99" } th { "last log lines" }
            } }
            tbody {
                @for row in rows {
                    tr data-function=(row.name) {
                        td { a href={ "/functions/" (urlencode(&row.name)) } { (row.name) } }
                        td.triggers { @for t in &row.triggers { div { (t) } } }
                        td.n { (row.warm) } td.n { (row.busy) }
                        td.n.invocations { (row.invocations) }
                        td.n.errors.bad[row.errors > 0] { (row.errors) }
                        td.n { (row.throttles) }
                        td.n { (ms(row.init_p50)) } td.n { (ms(row.init_p99)) }
                        td.n { (ms(row.duration_p50)) } td.n { (ms(row.duration_p99)) }
                        td.log { @for line in &row.last_lines { div { (line) } } }
                    }
                }
            }
        }
    }
}

fn in_flight(flight: &Option<InFlight>) -> Markup {
    html! {
        @match flight {
            Some(f) => span.flight { (f.records) " record(s) " (f.first) "…" (f.last) " since " (at(f.since_ms)) },
            None => "–",
        }
    }
}

/// A section per mapping: its counters, and its partitions (with lag),
/// shards, or batches in flight.
pub fn mappings_tables(mappings: &[MappingView]) -> Markup {
    html! {
        @for m in mappings {
            section.mapping data-mapping=(m.function) {
                h3 { a href={ "/functions/" (urlencode(&m.function)) } { (m.function) } " ← " (m.source) }
                p.counters {
                    "batches " b { (m.state.batches) }
                    " · failed calls " b.bad[m.state.failed_batches > 0] { (m.state.failed_batches) }
                    " · records retried " b { (m.state.retried_records) }
                    " · bisections " b { (m.state.bisections) }
                    " · records to the failure destination " b.bad[m.state.records_to_failure > 0] { (m.state.records_to_failure) }
                    " · dropped " b { (m.state.records_dropped) }
                }
                @match m.kind {
                    SourceKind::Kafka => {
                        table { thead { tr { th { "partition" } th.n { "committed" } th.n { "end" } th.n { "lag" } th { "batch in flight" } } }
                        tbody {
                            @for ((topic, partition), end) in &m.ends {
                                // A batch started before the partition's first commit sits under no topic.
                                @let state = m.state.partitions.get(&(topic.clone(), *partition)).or_else(|| m.state.partitions.get(&(String::new(), *partition))).cloned().unwrap_or_default();
                                tr {
                                    td { (topic) "-" (partition) }
                                    td.n { (state.committed.map_or("–".to_string(), |c| c.to_string())) }
                                    td.n { (end.map_or("–".to_string(), |e| e.to_string())) }
                                    td.n.lag { @match (end, state.committed) {
                                        (Some(end), Some(committed)) => ((end - committed).max(0)),
                                        // No commit seen yet (a restarted stack's group): unknown.
                                        _ => "–",
                                    } }
                                    td { (in_flight(&state.in_flight)) }
                                }
                            }
                        } }
                    }
                    SourceKind::Stream => {
                        table { thead { tr { th { "shard" } th { "position (sequence number)" } th.n { "iterator age" } } }
                        tbody {
                            @for (shard, state) in &m.state.shards {
                                tr { td { (shard) } td { (state.position) } td.n { (ms(state.iterator_age)) } }
                            }
                            @if m.state.shards.is_empty() { tr { td colspan="3" { "no batch yet" } } }
                        } }
                        @for flight in m.state.other_in_flight.values() { p { "in flight: " (in_flight(&Some(flight.clone()))) } }
                    }
                    SourceKind::Queue => {
                        @for flight in m.state.other_in_flight.values() { p { "in flight: " (in_flight(&Some(flight.clone()))) } }
                        @if m.state.other_in_flight.is_empty() { p { "no batch in flight" } }
                    }
                }
            }
        }
    }
}

/// The activity lines, newest first.
pub fn activity_list(lines: &[super::model::Line]) -> Markup {
    html! {
        ol.activity reversed {
            @for line in lines.iter().rev() {
                li.bad[line.bad] { span.time { (at(line.at_ms)) } " " (line.text) }
            }
        }
    }
}

/// Log lines as preformatted text, in the order given.
pub fn log_lines(lines: &[String]) -> Markup {
    html! { pre.log { @for line in lines { (line) "\n" } } }
}

/// Each topic's latest records (about order `filter`, when not empty),
/// newest first.
pub fn topics_list(topics: &[(String, Vec<TailRecord>)], filter: &str) -> Markup {
    html! {
        @for (topic, records) in topics {
            section.topic data-topic=(topic) {
                h3 { (topic) " " small { (records.len()) " latest record(s)" @if !filter.is_empty() { " about " (filter) } } }
                table {
                    thead { tr { th { "partition@offset" } th { "time" } th { "key" } th { "headers" } th { "event" } } }
                    tbody {
                        @for r in records {
                            tr.record {
                                td { (r.partition) "@" (r.offset) }
                                td { (r.timestamp_ms.map(at).unwrap_or_default()) }
                                td { @if r.order_id() == Some(r.key.as_str()) { (order_link(&r.key)) } @else { (r.key) } }
                                td.headers { @for (name, value) in &r.headers { div { b { (name) } ": " code { (value) } } } }
                                td {
                                    b { (r.event_type().unwrap_or("")) }
                                    @if let Some(order) = r.order_id() { " order " (order_link(order)) }
                                    details { summary { "envelope" } pre { (serde_json::to_string_pretty(&r.value).unwrap_or_default()) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The failure records shown, of `total` in the bucket, each with its
/// Replay button; `error` when the bucket could not be read.
pub fn failures_list(records: &[FailureView], total: usize, error: Option<&str>) -> Markup {
    html! {
        @if let Some(error) = error { p.bad { (error) } }
        p { (total) " record(s) in the failure bucket" @if total > records.len() { " (the latest " (records.len()) " shown)" } }
        @for r in records {
            section.failure data-key=(r.key) {
                h3 { code { (r.key) } }
                p {
                    b { (r.condition) } " · " (r.timestamp) " · " (r.source)
                    @if !r.parked_by.is_empty() { " · parked by " (r.parked_by) }
                    " · " (r.function_arn)
                }
                @if !r.reason.is_empty() { p { "reason: " (r.reason) } }
                @if !r.orders.is_empty() { p { "orders: " @for o in &r.orders { (order_link(o)) " " } } }
                form method="post" action="/failures/replay" {
                    input type="hidden" name="key" value=(r.key);
                    button.replay type="submit" { "Replay" }
                }
                details { summary { "payload" } pre { (serde_json::to_string_pretty(&r.payload).unwrap_or_default()) } }
            }
        }
    }
}

/// One order: its item, its timeline, and its log lines across functions.
pub fn order_view(id: &str, item: Option<&Value>, error: Option<&str>, log: &[String]) -> Markup {
    let order = item.and_then(|i| i.get("order"));
    html! {
        @if let Some(error) = error { p.bad { (error) } }
        @match order {
            None => p { "No order " (id) " in the orders table." },
            Some(order) => {
                p.summary {
                    "status " b.status { (order.get("status").and_then(Value::as_str).unwrap_or("?")) }
                    " · version " (order.get("version").map(Value::to_string).unwrap_or_default())
                    " · store " (order.get("store_id").and_then(Value::as_str).unwrap_or(""))
                    " · customer " (order.get("customer_id").and_then(Value::as_str).unwrap_or(""))
                }
                h2 { "Timeline" }
                table.timeline {
                    thead { tr { th { "status" } th { "at" } th { "reason" } } }
                    tbody {
                        @for entry in order.get("timeline").and_then(Value::as_array).into_iter().flatten() {
                            tr {
                                td.status { (entry.get("status").and_then(Value::as_str).unwrap_or("")) }
                                td { (entry.get("at").and_then(Value::as_str).unwrap_or("")) }
                                td { (entry.get("reason").and_then(Value::as_str).unwrap_or("")) }
                            }
                        }
                    }
                }
                h2 { "Item" }
                details { summary { "the orders table's item" } pre { (serde_json::to_string_pretty(item.unwrap_or(&Value::Null)).unwrap_or_default()) } }
            }
        }
        h2 { "Log lines, every function, in time order" }
        (log_lines(log))
    }
}

/// The OpenAPI page: Swagger UI from the vendored bundle, its try-it
/// requests sent through the console's proxy to the local API.
pub fn api_page(assets_ready: bool) -> Markup {
    let body = html! {
        @if assets_ready {
            p { "Try it: mint a token with " code { "make token ROLE=customer SUB=alice" } ", press Authorize and paste it. Requests go to the local API through the console." }
            link rel="stylesheet" href="/assets/swagger-ui/swagger-ui.css";
            div #swagger-ui {}
            script src="/assets/swagger-ui/swagger-ui-bundle.js" {}
            script { (PreEscaped("SwaggerUIBundle({url: '/openapi.yaml', dom_id: '#swagger-ui', tryItOutEnabled: true, persistAuthorization: true});")) }
        } @else {
            p.bad { "Swagger UI is not vendored yet: run " code { "scripts/vendor-assets.sh" } " (make up does)." }
            p { a href="/openapi.yaml" { "The OpenAPI document" } }
        }
    };
    page("API", "", body)
}

/// The pages' script: follows the live view over `/events`.
pub const CONSOLE_JS: &str = r#"// Follows the page's live view: each server-sent event replaces the inside
// of the element whose id it names. No polling: the server pushes changes.
(() => {
  const view = document.body.dataset.view;
  const status = document.getElementById('live-status');
  const events = new EventSource('/events?view=' + encodeURIComponent(view));
  events.onopen = () => { status.textContent = 'live'; status.className = 'live'; };
  events.onerror = () => { status.textContent = 'reconnecting…'; status.className = 'bad'; };
  document.querySelectorAll('[data-live]').forEach((element) => {
    events.addEventListener(element.id, (event) => { element.innerHTML = event.data; });
  });
})();
"#;

/// The pages' style sheet.
pub const CONSOLE_CSS: &str = r#"body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1d2330; background: #f7f8fa; }
header { display: flex; gap: 1.5em; align-items: center; padding: .6em 1.2em; background: #1d2330; color: #fff; }
header a { color: #cfe3ff; margin-right: 1em; text-decoration: none; }
header nav { flex: 1; display: flex; align-items: center; }
form.search { margin-left: auto; }
main { padding: 0 1.2em 2em; }
table { border-collapse: collapse; width: 100%; background: #fff; margin-bottom: 1em; }
th, td { border-bottom: 1px solid #e3e6eb; padding: .25em .5em; text-align: left; vertical-align: top; }
th { background: #eef1f5; font-weight: 600; }
.n { text-align: right; font-variant-numeric: tabular-nums; }
.bad { color: #b3261e; font-weight: 600; }
.live { color: #7ee787; }
td.log, pre.log { font: 12px/1.35 ui-monospace, monospace; white-space: pre-wrap; word-break: break-all; }
td.log { max-width: 38em; color: #555; }
pre { background: #fff; border: 1px solid #e3e6eb; padding: .6em; overflow-x: auto; }
section.mapping, section.topic, section.failure { background: #fff; border: 1px solid #e3e6eb; padding: .2em .8em .6em; margin: .8em 0; }
ol.activity { font: 12px/1.4 ui-monospace, monospace; max-height: 24em; overflow-y: auto; background: #fff; border: 1px solid #e3e6eb; padding: .5em 2.5em; }
.time { color: #888; }
.triggers { font-size: 12px; color: #555; }
button.replay { background: #1f6feb; color: #fff; border: 0; padding: .3em 1em; border-radius: 4px; cursor: pointer; }
.grid { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 1.2em; }
"#;
