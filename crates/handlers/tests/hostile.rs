//! Hostile records for every consumer that takes records (the outbox
//! relay, the delivery dispatcher, the delivery completer, the order
//! delivery updater, the notifier and the log collector), driven through their handlers with the
//! in-memory adapters, which never fail here.
//!
//! The contract (docs/spec.md): a consumer never panics on a record; a
//! record it can never process is parked with a reason and answered as
//! done; only a failed dependency makes a record be retried. So for any
//! batch: the handler returns, every record is processed (applied,
//! duplicate, stale, skipped) or parked with a reason, and the answer names
//! no record for a retry.
//!
//! The records: valid events of every type, of every topic, each mutated in
//! at most one field (extreme timestamps, numbers at their type's edge,
//! floats where an integer is expected, hostile unicode, invalid surrogate
//! escapes, other JSON types, huge strings, a field removed or one added),
//! arbitrary bytes, truncated JSON, and stream records whose attributes are
//! just as hostile. `PROPTEST_CASES` sets the cases per consumer (256 by
//! default).

mod support;
use support::payloads;

use aws_lambda_events::event::dynamodb::Event as DynamoDbEvent;
use aws_lambda_events::event::kafka::KafkaEvent;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use foodstream_application::Settings;
use foodstream_application::consumers::{DispatchPorts, NotifyPorts};
use foodstream_domain::delivery::{DeliveryFailureReason, Zone};
use foodstream_domain::events::{DeliveryEvent, EventType, LogEvent, OrderEvent, OrderEventType};
use foodstream_domain::ids::RiderId;
use foodstream_domain::notification::{Locale, notifications_for};
use foodstream_domain::order::Order;
use foodstream_domain::ports::{OrderRepository, Placement, RiderRepository};
use foodstream_domain::stock::StockPlan;
use foodstream_handlers::batch::consumers::{self, BatchReport};
use foodstream_memory::{InMemoryDeadLetters, InMemoryStore, ManualClock, RecordingPublisher};
use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::test_runner::TestCaseError;
use serde_json::{Value, json};
use std::future::Future;
use std::panic::AssertUnwindSafe;

// ---------------------------------------------------------------------------
// Running a handler

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256);
    // No regression files in the tree: a failure prints its shrunk case.
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

/// Runs a handler to its end on a fresh runtime; a panic is an error
/// carrying its message.
fn run<F: Future>(handler: F) -> Result<F::Output, String> {
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    std::panic::catch_unwind(AssertUnwindSafe(|| runtime.block_on(handler))).map_err(|panic| {
        panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".to_owned())
    })
}

/// What every batch must come to: no panic, nothing retried, every record
/// processed or parked with a reason, and every record in `poison` (by its
/// dead-letter name) parked.
fn check(
    report: Result<BatchReport, String>,
    dead_letters: &InMemoryDeadLetters,
    records: usize,
    poison: &[String],
) -> Result<BatchReport, TestCaseError> {
    let report = report.map_err(|panic| TestCaseError::fail(format!("the handler panicked: {panic}")))?;
    let s = &report.summary;
    prop_assert!(
        report.response.batch_item_failures.is_empty(),
        "records reported for a retry with no port failing: {:?} ({s:?})",
        report.response.batch_item_failures
    );
    prop_assert_eq!(s.retried, 0);
    prop_assert_eq!(s.records, records);
    let letters = dead_letters.letters();
    prop_assert_eq!(letters.len(), s.parked, "one dead letter per parked record");
    for letter in &letters {
        prop_assert!(!letter.reason.trim().is_empty(), "parked without a reason: {}", letter.source);
        prop_assert!(!letter.record.is_null(), "parked without its record: {}", letter.source);
        // A batch of the one record: `Records` (stream, SQS) or an aws:kafka event.
        let batch = &letter.record;
        let records = batch["Records"].as_array().map(Vec::len).or_else(|| {
            let partitions = batch["records"].as_object()?;
            Some(partitions.values().filter_map(Value::as_array).map(Vec::len).sum())
        });
        prop_assert_eq!(records, Some(1), "not parked as a batch of its own: {}", letter.source);
    }
    for name in poison {
        prop_assert!(
            letters.iter().any(|l| &l.source == name),
            "poison record {name} not parked: {letters:?}"
        );
    }
    Ok(report)
}

/// The Kafka consumers answer every record one way or another.
fn check_kafka(
    report: Result<BatchReport, String>,
    dead_letters: &InMemoryDeadLetters,
    batch: &HostileBatch,
) -> Result<(), TestCaseError> {
    let report = check(report, dead_letters, batch.records.len(), &batch.poison())?;
    let s = &report.summary;
    prop_assert_eq!(
        s.applied + s.duplicates + s.stale + s.skipped + s.parked,
        batch.records.len(),
        "{:?}",
        s
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// Hostile values

/// Timestamps as text: the edges of the accepted years, far outside them,
/// fractional seconds, offsets, impossible dates.
fn timestamp_text() -> impl Strategy<Value = String> {
    let fixed = select(vec![
        "0001-01-01T00:00:00Z",
        "1999-12-31T23:59:59Z",
        "1999-12-31T23:59:59.999999999Z",
        "2000-01-01T00:00:00Z",
        "2000-01-01T00:30:00+01:00",
        "2026-11-25T12:00:00.123456789Z",
        "2026-11-25T21:00:00+09:00",
        "2200-12-31T23:59:59Z",
        "2200-12-31T23:59:59.999999999Z",
        "2200-12-31T23:00:00-01:00",
        "2201-01-01T00:00:00Z",
        "+262142-12-31T00:00:00Z",
        "+262142-12-31T23:59:59.999999999Z",
        "+262143-01-01T00:00:00Z",
        "-0001-01-01T00:00:00Z",
        "-262143-01-01T00:00:00Z",
        "2026-02-30T00:00:00Z",
        "2026-11-25T24:00:00Z",
        "2026-11-25T23:59:60Z",
        "2026-11-25 12:00:00",
        "2026-11-25",
        "",
    ])
    .prop_map(str::to_owned);
    let built = (
        select(vec![1, 999, 1999, 2000, 2001, 2026, 2199, 2200, 2201, 9999, 10000, 262142, 262143]),
        1u32..=12,
        1u32..=31,
        0u32..=23,
        0u32..=59,
        0u32..=60,
        prop_oneof![Just(String::new()), (0u32..1_000_000_000).prop_map(|n| format!(".{n:09}"))],
        select(vec!["Z", "+00:00", "+09:00", "-01:00", "+14:00", "-23:59", "+23:59"]),
    )
        .prop_map(|(year, month, day, hour, minute, second, fraction, offset)| {
            let year = if year > 9999 { format!("+{year}") } else { format!("{year:04}") };
            format!("{year}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}{fraction}{offset}")
        });
    prop_oneof![3 => fixed, 1 => built]
}

/// Characters that break naive text handling.
fn hostile_char() -> impl Strategy<Value = char> {
    prop_oneof![
        3 => select(vec![
            '\u{0}', '\n', '\r', '\t', '\u{7f}', '\u{85}', '"', '\\', '/',
            '\u{301}', '\u{308}', '\u{20dd}', // combining marks
            '\u{202e}', '\u{202d}', '\u{2066}', '\u{2067}', '\u{2069}', '\u{200f}', // bidi controls
            '\u{200b}', '\u{200d}', '\u{feff}', '\u{2028}', '\u{2029}', '\u{fffd}',
            '😀', '👩', '🏳', '\u{1f1f0}', '가', '힣', 'ß', 'İ', '\u{10ffff}',
        ]),
        2 => any::<char>(),
        2 => proptest::char::range('a', 'z'),
    ]
}

fn hostile_text() -> impl Strategy<Value = String> {
    proptest::collection::vec(hostile_char(), 0..24).prop_map(String::from_iter)
}

/// A few hundred KB of text, mostly multi-byte.
fn huge_text() -> impl Strategy<Value = String> {
    (1usize..300_000).prop_map(|n| "가\u{301}😀a\u{202e}".chars().cycle().take(n).collect())
}

/// Numbers as raw JSON: the edges of every integer type, past them,
/// floats where an integer is expected, and small ones that fit.
fn number_token() -> impl Strategy<Value = String> {
    let edges = select(vec![
        "0",
        "-0",
        "-1",
        "1",
        "2",
        "3",
        "99",
        "100",
        "9007199254740991",
        "9007199254740992",
        "9223372036854775807",
        "-9223372036854775808",
        "18446744073709551615",
        "18446744073709551616",
        "-9223372036854775809",
        "1e308",
        "-1e308",
        "1E400",
        "1.5",
        "0.0",
        "1e2",
    ])
    .prop_map(str::to_owned);
    prop_oneof![
        4 => edges,
        2 => (0u64..=5).prop_map(|n| n.to_string()),
        1 => any::<i64>().prop_map(|n| n.to_string()),
        1 => any::<u64>().prop_map(|n| n.to_string()),
        1 => any::<f64>().prop_filter("JSON numbers are finite", |f| f.is_finite()).prop_map(|f| format!("{f:e}")),
    ]
}

fn json_string(text: String) -> String {
    serde_json::to_string(&text).unwrap_or_default()
}

/// Text as a raw JSON string: hostile unicode, now and then a huge one,
/// or escapes no Rust string can hold (lone surrogates).
fn string_token() -> impl Strategy<Value = String> {
    let raw = select(vec![
        "\"\"",
        "\"\\ud800\"",
        "\"\\udc00\"",
        "\"a\\ud83d\"",
        "\"\\ud83d\\ude00\"",
        "\"\\udfff\\ud800\"",
        "\"\\u0000\"",
        "\"\\u202e\\u2066evil\"",
    ])
    .prop_map(str::to_owned);
    prop_oneof![
        6 => hostile_text().prop_map(json_string),
        2 => raw,
        1 => huge_text().prop_map(json_string),
    ]
}

/// A JSON value as raw text: anything a field may be replaced with,
/// including what no JSON value of serde_json can hold (invalid surrogate
/// escapes) and what is not JSON at all.
fn hostile_token() -> impl Strategy<Value = String> {
    let fixed = select(vec![
        "NaN",
        "Infinity",
        "null",
        "true",
        "false",
        "[]",
        "{}",
        "[null]",
        "[1,2,3]",
        "{\"a\":1}",
        "\"\\x41\"",
        "\"unterminated",
        "",
        "\"PAID\"",
        "\"DELIVERED\"",
        "\"COMPLETED\"",
        "\"FAILED\"",
        "\"NO_RIDER_IN_ZONE\"",
        "\"REFUND\"",
        "\"app-push\"",
        "\"OrderDeliveryRequested\"",
        "\"DeliveryCompleted\"",
        "\"NotificationProduced\"",
        "\"order-1\"",
        "\"gangnam-gu\"",
    ])
    .prop_map(str::to_owned);
    prop_oneof![
        4 => fixed,
        3 => timestamp_text().prop_map(json_string),
        3 => number_token(),
        3 => string_token(),
        1 => proptest::collection::vec(hostile_text(), 0..4).prop_map(|v| serde_json::to_string(&v).unwrap_or_default()),
    ]
}

// ---------------------------------------------------------------------------
// Hostile records

/// Marks where a raw token goes in a serialised record.
const PLACEHOLDER: &str = "\u{1}hostile\u{1}";

/// Hostile values of each JSON type, for a field to get one of its own type.
#[derive(Debug, Clone)]
struct Alike {
    text: String,
    timestamp: String,
    number: String,
}

fn alike() -> impl Strategy<Value = Alike> {
    (string_token(), timestamp_text().prop_map(json_string), number_token())
        .prop_map(|(text, timestamp, number)| Alike { text, timestamp, number })
}

impl Alike {
    /// The token for a field named `key` holding `value`: a timestamp for a
    /// timestamp, a number for a number, text for text.
    fn for_value(&self, key: &Value, value: &Value) -> String {
        let is_time_key = key.as_str().is_some_and(|k| k.ends_with("_at"));
        match value {
            Value::String(s) if chrono::DateTime::parse_from_rfc3339(s).is_ok() => self.timestamp.clone(),
            Value::Null if is_time_key => self.timestamp.clone(),
            Value::Number(_) => self.number.clone(),
            Value::Bool(b) => (!b).to_string(),
            _ => self.text.clone(),
        }
    }
}

#[derive(Debug, Clone)]
enum Mutation {
    Unchanged,
    /// The field (or array element) at a path given a hostile value of its
    /// own type.
    Alike(Index, Alike),
    /// One of the timestamps given a hostile one.
    AtTime(Index, String),
    /// One of the numbers given a hostile one.
    AtNumber(Index, String),
    /// The field (or array element) at a path replaced by a raw token.
    Replace(Index, String),
    Remove(Index),
    /// A field the type does not know, at the top or in `data`.
    Extra {
        in_data: bool,
        name: String,
        token: String,
    },
    /// The record cut short.
    Truncate(Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => Just(Mutation::Unchanged),
        6 => (any::<Index>(), alike()).prop_map(|(i, a)| Mutation::Alike(i, a)),
        3 => (any::<Index>(), timestamp_text().prop_map(json_string)).prop_map(|(i, t)| Mutation::AtTime(i, t)),
        3 => (any::<Index>(), number_token()).prop_map(|(i, n)| Mutation::AtNumber(i, n)),
        3 => (any::<Index>(), hostile_token()).prop_map(|(i, t)| Mutation::Replace(i, t)),
        1 => any::<Index>().prop_map(Mutation::Remove),
        1 => (any::<bool>(), hostile_text(), hostile_token())
            .prop_map(|(in_data, name, token)| Mutation::Extra { in_data, name, token }),
        1 => any::<Index>().prop_map(Mutation::Truncate),
    ]
}

/// Every path to a field or array element of `value`, parents first.
fn paths(value: &Value) -> Vec<Vec<Value>> {
    fn walk(value: &Value, at: &mut Vec<Value>, out: &mut Vec<Vec<Value>>) {
        match value {
            Value::Object(map) => {
                for (key, child) in map {
                    at.push(json!(key));
                    out.push(at.clone());
                    walk(child, at, out);
                    at.pop();
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    at.push(json!(i));
                    out.push(at.clone());
                    walk(child, at, out);
                    at.pop();
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(value, &mut Vec::new(), &mut out);
    out
}

/// The paths of `value` to what `keep` keeps (by last step and value).
fn paths_to(value: &Value, keep: impl Fn(&Value, &Value) -> bool) -> Vec<Vec<Value>> {
    let mut all = paths(value);
    let mut scratch = value.clone();
    all.retain(|path| {
        let last = path.last().cloned().unwrap_or_default();
        at_path(&mut scratch, path).is_some_and(|v| keep(&last, v))
    });
    all
}

/// The value at `path` in `value`.
fn at_path<'a>(value: &'a mut Value, path: &[Value]) -> Option<&'a mut Value> {
    let (at, last) = parent(value, path)?;
    match last {
        Value::String(key) => at.get_mut(key.as_str()),
        Value::Number(i) => at.get_mut(usize::try_from(i.as_u64()?).ok()?),
        _ => None,
    }
}

/// The parent of `path` in `value` and the last step.
fn parent<'a>(value: &'a mut Value, path: &[Value]) -> Option<(&'a mut Value, Value)> {
    let (last, parents) = path.split_last()?;
    let mut at = value;
    for step in parents {
        at = match step {
            Value::String(key) => at.get_mut(key.as_str())?,
            Value::Number(i) => at.get_mut(usize::try_from(i.as_u64()?).ok()?)?,
            _ => return None,
        };
    }
    Some((at, last.clone()))
}

impl Mutation {
    /// The record text of `base` so mutated.
    fn apply(&self, base: &Value) -> String {
        let mut value = base.clone();
        let token = match self {
            Mutation::Unchanged => return base.to_string(),
            Mutation::Truncate(i) => {
                let text = base.to_string();
                let mut cut = i.index(text.len().max(1));
                while !text.is_char_boundary(cut) {
                    cut -= 1;
                }
                return text[..cut].to_owned();
            }
            Mutation::Replace(i, _)
            | Mutation::Alike(i, _)
            | Mutation::AtTime(i, _)
            | Mutation::AtNumber(i, _) => {
                let all: Vec<Vec<Value>> = match self {
                    Mutation::AtTime(..) => paths_to(base, |key, value| {
                        key.as_str().is_some_and(|k| k.ends_with("_at"))
                            || value.as_str().is_some_and(|s| chrono::DateTime::parse_from_rfc3339(s).is_ok())
                    }),
                    Mutation::AtNumber(..) => paths_to(base, |_, value| value.is_number()),
                    _ => paths(base),
                };
                let Some(path) = all.get(i.index(all.len().max(1))) else { return value.to_string() };
                let Some(slot) = at_path(&mut value, path) else { return value.to_string() };
                let key = path.last().cloned().unwrap_or_default();
                let token = match self {
                    Mutation::Alike(_, alike) => alike.for_value(&key, slot),
                    Mutation::Replace(_, token)
                    | Mutation::AtTime(_, token)
                    | Mutation::AtNumber(_, token) => token.clone(),
                    _ => String::new(),
                };
                *slot = json!(PLACEHOLDER);
                token
            }
            Mutation::Remove(i) => {
                let all = paths(base);
                if let Some((at, step)) =
                    all.get(i.index(all.len().max(1))).and_then(|p| parent(&mut value, p))
                {
                    match (at, step) {
                        (Value::Object(map), Value::String(key)) => {
                            map.remove(&key);
                        }
                        (Value::Array(items), Value::Number(n)) => {
                            if let Some(n) = n.as_u64().map(|n| n as usize).filter(|&n| n < items.len()) {
                                items.remove(n);
                            }
                        }
                        _ => {}
                    }
                }
                return value.to_string();
            }
            Mutation::Extra { in_data, name, token } => {
                let target = if *in_data { value.get_mut("data") } else { Some(&mut value) };
                if let Some(Value::Object(map)) = target {
                    map.insert(name.clone(), json!(PLACEHOLDER));
                }
                token.clone()
            }
        };
        let placeholder = serde_json::to_string(PLACEHOLDER).unwrap_or_default();
        value.to_string().replacen(&placeholder, &token, 1)
    }
}

/// One record's value on a Kafka topic.
#[derive(Debug, Clone)]
enum Payload {
    /// An event of one of the bases (by index), mutated.
    Event(Index, Mutation),
    /// Whatever bytes.
    Bytes(Vec<u8>),
    /// A lone token as the whole record.
    Token(String),
    /// A value that is not base64.
    NotBase64(String),
    /// No value at all.
    Missing,
}

fn payload() -> impl Strategy<Value = Payload> {
    prop_oneof![
        12 => (any::<Index>(), mutation()).prop_map(|(i, m)| Payload::Event(i, m)),
        2 => proptest::collection::vec(any::<u8>(), 0..256).prop_map(Payload::Bytes),
        1 => hostile_token().prop_map(Payload::Token),
        1 => hostile_text().prop_map(|t| Payload::NotBase64(format!("{t}!*"))),
        1 => Just(Payload::Missing),
    ]
}

/// A batch as Lambda hands it over: records over two partitions of one
/// topic, each with its value (if any).
#[derive(Clone)]
struct HostileBatch {
    topic: &'static str,
    /// Partition and value of each record.
    records: Vec<(i32, Option<String>)>,
    /// Which records are not even JSON: whatever the consumer, they must
    /// be parked.
    not_json: Vec<bool>,
}

impl HostileBatch {
    /// Shows each record's value decoded (base64 says nothing to a reader
    /// of a shrunk case), cut after a few thousand characters.
    fn fmt_records(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "HostileBatch on {} [", self.topic)?;
        for (offset, (partition, value)) in self.records.iter().enumerate() {
            let shown = match value.as_deref().map(|v| STANDARD.decode(v)) {
                None => "no value".to_owned(),
                Some(Err(_)) => format!("not base64: {value:?}"),
                Some(Ok(bytes)) => {
                    let text = String::from_utf8_lossy(&bytes);
                    let cut: String = text.chars().take(4000).collect();
                    let more = if cut.len() < text.len() {
                        format!(" ... ({} bytes)", bytes.len())
                    } else {
                        String::new()
                    };
                    format!("{cut:?}{more}")
                }
            };
            writeln!(f, "  {}-{partition}@{offset}: {shown}", self.topic)?;
        }
        write!(f, "]")
    }

    fn of(topic: &'static str, bases: &[Value], records: Vec<(bool, Payload)>) -> HostileBatch {
        let mut batch = HostileBatch { topic, records: Vec::new(), not_json: Vec::new() };
        for (second_partition, payload) in records {
            let bytes: Option<Vec<u8>> = match &payload {
                Payload::Event(i, mutation) => {
                    Some(mutation.apply(&bases[i.index(bases.len())]).into_bytes())
                }
                Payload::Bytes(bytes) => Some(bytes.clone()),
                Payload::Token(token) => Some(token.clone().into_bytes()),
                Payload::NotBase64(_) | Payload::Missing => None,
            };
            let not_json = match &bytes {
                Some(bytes) => serde_json::from_slice::<Value>(bytes).is_err(),
                None => true,
            };
            let value = match payload {
                Payload::NotBase64(text) => Some(text),
                _ => bytes.map(|b| STANDARD.encode(b)),
            };
            batch.records.push((i32::from(second_partition), value));
            batch.not_json.push(not_json);
        }
        batch
    }

    /// The Lambda event, offsets counting up per partition.
    fn event(&self) -> KafkaEvent {
        let mut partitions: serde_json::Map<String, Value> = serde_json::Map::new();
        for (i, (partition, value)) in self.records.iter().enumerate() {
            let mut record = json!({
                "topic": self.topic,
                "partition": partition,
                "offset": i,
                "timestamp": 1795608000000i64,
                "timestampType": "CREATE_TIME",
                "key": STANDARD.encode("order-1"),
                "headers": []
            });
            if let Some(value) = value {
                record["value"] = json!(value);
            }
            if let Value::Array(records) =
                partitions.entry(format!("{}-{partition}", self.topic)).or_insert_with(|| json!([]))
            {
                records.push(record);
            }
        }
        let event = json!({
            "eventSource": "aws:kafka",
            "eventSourceArn": "arn:aws:kafka:us-east-1:000000000000:cluster/foodstream/local",
            "bootstrapServers": "127.0.0.1:9092",
            "records": partitions
        });
        serde_json::from_value(event)
            .unwrap_or_else(|e| panic!("the test built a batch Lambda would not: {e}"))
    }

    /// The dead-letter names of the records that are not JSON.
    fn poison(&self) -> Vec<String> {
        self.records
            .iter()
            .zip(&self.not_json)
            .enumerate()
            .filter(|(_, (_, not_json))| **not_json)
            .map(|(offset, ((partition, _), _))| format!("{}-{partition}@{offset}", self.topic))
            .collect()
    }
}

impl std::fmt::Debug for HostileBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.fmt_records(f)
    }
}

fn kafka_batch(topic: &'static str, bases: Vec<Value>) -> impl Strategy<Value = HostileBatch> {
    proptest::collection::vec((any::<bool>(), payload()), 1..=6)
        .prop_map(move |records| HostileBatch::of(topic, &bases, records))
}

// ---------------------------------------------------------------------------
// Valid events to start from

fn to_json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or_default()
}

/// An order event of every type, as the order at each step would send it.
fn order_events() -> Vec<OrderEvent> {
    let (placed, placed_event) = payloads::placed();
    let (_, requested) = payloads::delivery_requested();
    let mut events = vec![placed_event, requested];
    for &event_type in OrderEventType::ALL {
        let mut event =
            OrderEvent::of(&placed, event_type, Some("국이 식어서 왔어요".into()), payloads::at());
        event.data.status = event_type.status();
        event.data.rider_id = Some(RiderId::new("rider-1"));
        event.data.delivered_at = Some(payloads::at());
        events.push(event);
    }
    events
}

fn delivery_events() -> Vec<DeliveryEvent> {
    let mut events = payloads::delivery_events();
    let request = payloads::delivery_requested().1.delivery_request().unwrap_or_else(|| unreachable!());
    events.push(DeliveryEvent::of(&request.fail(DeliveryFailureReason::AllRidersBusy, payloads::at())));
    events
}

fn log_events() -> Vec<LogEvent> {
    let (_, placed) = payloads::placed();
    notifications_for(&placed, Locale::Ko)
        .iter()
        .map(|n| LogEvent::of_notification(n, &placed.store_id, "notifier"))
        .collect()
}

/// Bases for a consumer of `own`: mostly its own topic's events, some of
/// the others (an unknown type for it).
fn bases(own: Vec<Value>) -> Vec<Value> {
    let others: Vec<Value> = order_events()
        .iter()
        .take(1)
        .map(to_json)
        .chain(delivery_events().iter().take(1).map(to_json))
        .chain(log_events().iter().take(1).map(to_json))
        .collect();
    let mut all = Vec::new();
    for _ in 0..4 {
        all.extend(own.iter().cloned());
    }
    all.extend(others);
    all
}

fn order_bases() -> Vec<Value> {
    bases(order_events().iter().map(to_json).collect())
}

/// The dispatcher acts on delivery requests only: mostly those.
fn request_bases() -> Vec<Value> {
    let request = to_json(&payloads::delivery_requested().1);
    let mut own: Vec<Value> = order_events().iter().map(to_json).collect();
    own.extend(std::iter::repeat_n(request, own.len()));
    bases(own)
}

// ---------------------------------------------------------------------------
// The Kafka consumers

/// A store with the payloads' order-1 at DELIVERY_REQUESTED (version 3)
/// and a rider in its zone.
fn store() -> InMemoryStore {
    let store = InMemoryStore::new();
    let (order, _): (Order, _) = payloads::delivery_requested();
    let placement = Placement {
        stock: StockPlan { store_id: order.store_id.clone(), changes: vec![] },
        order,
        events: vec![],
        idempotency: None,
    };
    let seeded = run(async {
        store.place(&placement).await.map_err(|e| e.to_string())?;
        store
            .upsert(&RiderId::new("rider-1"), &Zone::from_district("gangnam-gu"), payloads::at())
            .await
            .map_err(|e| e.to_string())
    });
    assert!(matches!(seeded, Ok(Ok(_))), "{seeded:?}");
    store
}

fn clock() -> ManualClock {
    ManualClock::at(payloads::at())
}

/// The dispatcher on `batch` over a fresh store: its report, what it
/// parked and what it published.
fn dispatched(
    batch: &HostileBatch,
) -> (Result<BatchReport, String>, InMemoryDeadLetters, RecordingPublisher) {
    let (store, publisher, clock, settings) =
        (store(), RecordingPublisher::new(), clock(), Settings::default());
    let dead_letters = InMemoryDeadLetters::new();
    let ports = DispatchPorts {
        riders: &store,
        deliveries: &store,
        publisher: &publisher,
        clock: &clock,
        settings: &settings,
    };
    let timer = foodstream_memory::RecordingTimer::new();
    let report = run(consumers::dispatch(&ports, &timer, &dead_letters, &batch.event()));
    (report, dead_letters, publisher)
}

fn dispatch(batch: &HostileBatch) -> Result<(), TestCaseError> {
    let (report, dead_letters, _) = dispatched(batch);
    check_kafka(report, &dead_letters, batch)
}

fn update_orders(batch: &HostileBatch) -> Result<(), TestCaseError> {
    let (store, clock, settings) = (store(), clock(), Settings::default());
    let dead_letters = InMemoryDeadLetters::new();
    let report = run(consumers::update_orders(&store, &clock, &settings, &dead_letters, &batch.event()));
    check_kafka(report, &dead_letters, batch)
}

fn notify(batch: &HostileBatch) -> Result<(), TestCaseError> {
    let (store, publisher, settings) = (InMemoryStore::new(), RecordingPublisher::new(), Settings::default());
    let dead_letters = InMemoryDeadLetters::new();
    let ports = NotifyPorts { notifications: &store, publisher: &publisher, settings: &settings };
    let report = run(consumers::notify(&ports, &dead_letters, &batch.event()));
    check_kafka(report, &dead_letters, batch)
}

fn collect_logs(batch: &HostileBatch) -> Result<(), TestCaseError> {
    let (store, settings) = (InMemoryStore::new(), Settings::default());
    let dead_letters = InMemoryDeadLetters::new();
    let report = run(consumers::collect_logs(&store, &settings, &dead_letters, &batch.event()));
    check_kafka(report, &dead_letters, batch)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn the_delivery_dispatcher_never_panics_and_parks_what_it_cannot_process(
        batch in kafka_batch("order-events", request_bases())
    ) {
        dispatch(&batch)?;
    }

    #[test]
    fn the_order_delivery_updater_never_panics_and_parks_what_it_cannot_process(
        batch in kafka_batch("delivery-events", bases(delivery_events().iter().map(to_json).collect()))
    ) {
        update_orders(&batch)?;
    }

    #[test]
    fn the_notifier_never_panics_and_parks_what_it_cannot_process(
        batch in kafka_batch("order-events", order_bases())
    ) {
        notify(&batch)?;
    }

    #[test]
    fn the_log_collector_never_panics_and_parks_what_it_cannot_process(
        batch in kafka_batch("log-events", bases(log_events().iter().map(to_json).collect()))
    ) {
        collect_logs(&batch)?;
    }

    #[test]
    fn the_outbox_relay_never_panics_and_parks_what_it_cannot_process(
        records in proptest::collection::vec(stream_record(), 1..=6)
    ) {
        relay(&records)?;
    }
}

// ---------------------------------------------------------------------------
// The outbox relay: records of the orders table's stream

/// A DynamoDB attribute value (DynamoDB JSON) standing for a number.
fn number_attribute() -> impl Strategy<Value = Value> {
    let text = prop_oneof![
        select(vec![
            "0",
            "1",
            "3",
            "-1",
            "18446744073709551615",
            "18446744073709551616",
            "9223372036854775808",
            "1e308",
            "1E400",
            "1.5",
            "-0",
            "",
            "abc",
            "0x10",
        ])
        .prop_map(str::to_owned),
        any::<u64>().prop_map(|n| n.to_string()),
        hostile_text(),
    ];
    prop_oneof![
        8 => (1u64..=5).prop_map(|n| json!({"N": n.to_string()})),
        6 => text.prop_map(|n| json!({"N": n})),
        1 => hostile_text().prop_map(|s| json!({"S": s})),
        1 => Just(json!({"NULL": true})),
        1 => Just(json!({"BOOL": false})),
        1 => Just(json!({"L": []})),
    ]
}

/// What a stream record's images hold.
#[derive(Debug, Clone)]
enum Image {
    /// The order item of an order event (mutated), at a version.
    Item { outbox: Vec<(Index, Mutation)>, version: Value, extra: Option<(String, Value)> },
    /// An outbox that is no list of strings.
    BadOutbox { outbox: Value, version: Value },
    /// No version.
    NoVersion(Vec<(Index, Mutation)>),
    /// A removal.
    Empty,
}

fn image() -> impl Strategy<Value = Image> {
    let outbox = || proptest::collection::vec((any::<Index>(), mutation()), 0..=3);
    let bad_outbox = prop_oneof![
        hostile_text().prop_map(|s| json!({"S": s})),
        Just(json!({"L": [{"N": "1"}]})),
        Just(json!({"L": [{"NULL": true}, {"S": "{}"}]})),
        Just(json!({"M": {}})),
        Just(json!({"SS": ["a", "b"]})),
        hostile_token().prop_map(|t| json!({"L": [{"S": t}]})),
    ];
    prop_oneof![
        8 => (outbox(), number_attribute(), proptest::option::of((hostile_text(), number_attribute())))
            .prop_map(|(outbox, version, extra)| Image::Item { outbox, version, extra }),
        1 => (bad_outbox, number_attribute()).prop_map(|(outbox, version)| Image::BadOutbox { outbox, version }),
        1 => outbox().prop_map(Image::NoVersion),
        1 => Just(Image::Empty),
    ]
}

#[derive(Debug, Clone)]
struct StreamRecord {
    new: Image,
    old: Option<Image>,
}

fn stream_record() -> impl Strategy<Value = StreamRecord> {
    (image(), proptest::option::of(image())).prop_map(|(new, old)| StreamRecord { new, old })
}

impl Image {
    /// The image in DynamoDB JSON, starting from the real item of order-1.
    fn to_item(&self, base: &Value, events: &[Value]) -> Value {
        let outbox_of = |entries: &[(Index, Mutation)]| -> Value {
            let strings: Vec<Value> =
                entries.iter().map(|(i, m)| json!({"S": m.apply(&events[i.index(events.len())])})).collect();
            json!({"L": strings})
        };
        let mut item = base.clone();
        match self {
            Image::Empty => return json!({}),
            Image::Item { outbox, version, extra } => {
                item["outbox"] = outbox_of(outbox);
                item["version"] = version.clone();
                if let Some((name, value)) = extra {
                    item[name.as_str()] = value.clone();
                }
            }
            Image::BadOutbox { outbox, version } => {
                item["outbox"] = outbox.clone();
                item["version"] = version.clone();
            }
            Image::NoVersion(outbox) => {
                item["outbox"] = outbox_of(outbox);
                if let Value::Object(map) = &mut item {
                    map.remove("version");
                }
            }
        }
        item
    }
}

fn relay(records: &[StreamRecord]) -> Result<(), TestCaseError> {
    let (order, placed) = payloads::placed();
    let base = foodstream_aws::order_stream_image(&order, std::slice::from_ref(&placed))
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let events: Vec<Value> = order_events().iter().map(to_json).collect();
    let stream: Vec<Value> = records
        .iter()
        .enumerate()
        .map(|(i, record)| {
            let mut change = json!({
                "ApproximateCreationDateTime": 1795608000,
                "Keys": {"order_id": {"S": "order-1"}},
                "NewImage": record.new.to_item(&base, &events),
                "SequenceNumber": (i + 1).to_string(),
                "SizeBytes": 1024,
                "StreamViewType": "NEW_AND_OLD_IMAGES"
            });
            if let Some(old) = &record.old {
                change["OldImage"] = old.to_item(&base, &events);
            }
            json!({
                "eventID": format!("e{i}"),
                "eventName": "MODIFY",
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": "us-east-1",
                "dynamodb": change,
                "eventSourceARN": "arn:aws:dynamodb:us-east-1:000000000000:table/foodstream-orders/stream/2026-11-25T00:00:00.000"
            })
        })
        .collect();
    let batch: DynamoDbEvent = serde_json::from_value(json!({"Records": stream}))
        .map_err(|e| TestCaseError::fail(format!("the test built a batch Lambda would not: {e}")))?;
    let (publisher, dead_letters) = (RecordingPublisher::new(), InMemoryDeadLetters::new());
    let report = run(consumers::relay(&publisher, &dead_letters, &batch));
    let report = check(report, &dead_letters, records.len(), &[])?;
    prop_assert_eq!(report.summary.applied, publisher.messages().len(), "every relayed event published once");
    for message in publisher.messages() {
        let event = foodstream_domain::events::decode::<
            OrderEventType,
            foodstream_domain::events::OrderEventData,
        >(&message.payload);
        prop_assert!(event.is_ok(), "relayed an event its consumers cannot read: {event:?}");
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// The defects, one record each

/// A batch of one record of `topic` holding `event` with `edit` applied.
fn one_record(topic: &'static str, event: Value, edit: impl FnOnce(&mut Value)) -> HostileBatch {
    let mut event = event;
    edit(&mut event);
    HostileBatch {
        topic,
        records: vec![(0, Some(STANDARD.encode(event.to_string())))],
        not_json: vec![false],
    }
}

/// `check` for one record: it must be parked, naming `field`.
fn parked_naming(report: Result<BatchReport, String>, dead_letters: &InMemoryDeadLetters, field: &str) {
    let report = report.unwrap_or_else(|panic| panic!("the handler panicked: {panic}"));
    assert!(report.response.batch_item_failures.is_empty(), "{:?}", report.response);
    assert_eq!(report.summary.parked, 1, "{:?}", report.summary);
    let letters = dead_letters.letters();
    assert!(letters[0].reason.contains(field), "{}", letters[0].reason);
}

#[test]
fn the_log_collector_parks_a_notification_produced_in_the_year_262142() {
    let batch = one_record("log-events", to_json(&payloads::log_event()), |e| {
        e["occurred_at"] = json!("+262142-12-31T00:00:00Z");
    });
    let (store, settings, dead_letters) =
        (InMemoryStore::new(), Settings::default(), InMemoryDeadLetters::new());
    let report = run(consumers::collect_logs(&store, &settings, &dead_letters, &batch.event()));
    parked_naming(report, &dead_letters, "occurred_at");
}

#[test]
fn the_order_delivery_updater_parks_a_delivery_completed_at_the_end_of_time() {
    let completed = to_json(&payloads::delivery_events()[1]);
    let batch = one_record("delivery-events", completed, |e| {
        e["data"]["delivered_at"] = json!("+262142-12-31T23:59:00Z");
    });
    let (store, clock, settings, dead_letters) =
        (store(), clock(), Settings::default(), InMemoryDeadLetters::new());
    let report = run(consumers::update_orders(&store, &clock, &settings, &dead_letters, &batch.event()));
    parked_naming(report, &dead_letters, "data.delivered_at");
}

#[test]
fn the_notifier_parks_an_order_event_whose_total_is_the_smallest_i64() {
    let batch = one_record("order-events", to_json(&payloads::placed().1), |e| {
        e["data"]["total"] = json!(i64::MIN);
    });
    let (store, publisher, settings) = (InMemoryStore::new(), RecordingPublisher::new(), Settings::default());
    let dead_letters = InMemoryDeadLetters::new();
    let ports = NotifyPorts { notifications: &store, publisher: &publisher, settings: &settings };
    let report = run(consumers::notify(&ports, &dead_letters, &batch.event()));
    parked_naming(report, &dead_letters, "data.total");
}

#[test]
fn the_delivery_dispatcher_parks_a_request_at_the_largest_u64_version() {
    let batch = one_record("order-events", to_json(&payloads::delivery_requested().1), |e| {
        e["order_version"] = json!(u64::MAX);
    });
    let (report, dead_letters, publisher) = dispatched(&batch);
    parked_naming(report, &dead_letters, "order_version");
    assert!(publisher.messages().is_empty(), "no delivery of a version no order can have");
}

#[test]
fn the_outbox_relay_parks_an_order_change_whose_event_happened_in_the_year_262142() {
    let (order, placed) = payloads::placed();
    let mut event = to_json(&placed);
    event["occurred_at"] = json!("+262142-12-31T00:00:00Z");
    let mut item = foodstream_aws::order_stream_image(&order, &[placed]).unwrap_or_default();
    item["outbox"] = json!({"L": [{"S": event.to_string()}]});
    let batch: DynamoDbEvent = serde_json::from_value(json!({"Records": [{
        "eventID": "e1",
        "eventName": "INSERT",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {"Keys": {"order_id": {"S": "order-1"}}, "NewImage": item, "SequenceNumber": "1", "SizeBytes": 1, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:000000000000:table/foodstream-orders/stream/x"
    }]}))
    .unwrap_or_else(|e| panic!("{e}"));
    let (publisher, dead_letters) = (RecordingPublisher::new(), InMemoryDeadLetters::new());
    let report = run(consumers::relay(&publisher, &dead_letters, &batch));
    parked_naming(report, &dead_letters, "occurred_at");
    assert!(publisher.messages().is_empty(), "nothing relayed that no consumer can process");
}

// ---------------------------------------------------------------------------
// The delivery completer: messages of the delivery timer's queue

/// A message body: a completion whose fields are each a fair value or a
/// hostile token, or whatever text, or none at all.
fn timer_body() -> impl Strategy<Value = Option<String>> {
    let fair_id = json_string(payloads::completion_due().delivery_id);
    let fair_at = json_string("2026-11-25T12:00:01Z".to_owned());
    let field = |fair: String| prop_oneof![2 => Just(fair), 3 => hostile_token()];
    let completion = (field(fair_id), field(fair_at), any::<bool>()).prop_map(|(id, at, extra)| {
        let extra = if extra { r#", "extra": 1"# } else { "" };
        format!(r#"{{"delivery_id": {id}, "completes_at": {at}{extra}}}"#)
    });
    prop_oneof![
        6 => completion.prop_map(Some),
        2 => hostile_text().prop_map(Some),
        1 => huge_text().prop_map(Some),
        1 => Just(None),
    ]
}

/// The completer on messages with `bodies` (and, where `false`, no
/// message id), over a store holding the payloads' delivery, assigned.
fn complete(messages: &[(bool, Option<String>)]) -> Result<(), TestCaseError> {
    let store = store();
    let request = payloads::delivery_requested().1.delivery_request().unwrap();
    let assigned = request.assign(RiderId::new("rider-1"), payloads::at(), &Default::default());
    let seeded = run(foodstream_domain::ports::DeliveryRepository::assign(&store, &assigned))
        .map_err(TestCaseError::fail)?;
    prop_assert!(seeded.is_ok());
    let (publisher, clock) = (RecordingPublisher::new(), clock());
    let dead_letters = InMemoryDeadLetters::new();
    let ports = foodstream_application::consumers::CompletePorts {
        deliveries: &store,
        publisher: &publisher,
        clock: &clock,
    };
    let mut event = payloads::timer_event(&vec![""; messages.len()]);
    for (record, (has_id, body)) in event["Records"].as_array_mut().unwrap().iter_mut().zip(messages) {
        record["body"] = body.clone().map_or(Value::Null, Value::String);
        if !has_id {
            record["messageId"] = Value::Null;
        }
    }
    let batch: aws_lambda_events::event::sqs::SqsEvent = serde_json::from_value(event).unwrap();
    let report = run(consumers::complete_deliveries(&ports, &dead_letters, &batch));
    let report = check(report, &dead_letters, messages.len(), &[])?;
    let s = &report.summary;
    prop_assert_eq!(s.applied + s.duplicates + s.stale + s.skipped + s.parked, messages.len(), "{:?}", s);
    // However many good messages, the delivery completed at most once.
    let completions = publisher.messages().len();
    prop_assert!(completions <= 1, "{completions} completions published");
    prop_assert_eq!(s.applied, completions);
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn the_delivery_completer_never_panics_completes_once_and_parks_what_it_cannot_process(
        messages in proptest::collection::vec((prop::bool::weighted(0.9), timer_body()), 1..8)
    ) {
        complete(&messages)?;
    }
}
