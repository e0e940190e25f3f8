//! One order's log lines across every function, in time order: the lines
//! that name the order (`order_id`) and those of the order's trace
//! (`trace_id`, which the functions log for every request and record
//! done within it: the placement's request, say, before the order had an
//! id). Reads the local stack's function logs, one JSON object per line
//! (`crates/handlers/src/logging.rs`); on AWS the same two fields are
//! searched with CloudWatch Logs Insights (see `docs/infra.md`, "One order, one trace").

use serde_json::{Map, Value};
use std::collections::BTreeSet;
use std::path::Path;

/// One log line of one function.
#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    /// The function that logged it: its log file's name, less `.log`.
    pub function: String,
    /// The line's `timestamp` (RFC 3339, UTC); empty if it has none.
    pub timestamp: String,
    /// The whole JSON object, the current span's fields under `span`.
    pub line: Map<String, Value>,
}

impl LogLine {
    /// A field of the line or of its span.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.line
            .get(name)
            .or_else(|| self.line.get("span").and_then(|s| s.get(name)))
            .and_then(Value::as_str)
    }

    /// `<time> <function> <LEVEL> <message> key=value...`, for people.
    pub fn render(&self) -> String {
        let level = self.line.get("level").and_then(Value::as_str).unwrap_or("-");
        let message = self.line.get("message").and_then(Value::as_str).unwrap_or("");
        let mut fields: Vec<(String, String)> = Vec::new();
        let mut add = |map: &Map<String, Value>| {
            for (key, value) in map {
                if matches!(key.as_str(), "timestamp" | "level" | "message" | "span" | "name")
                    || fields.iter().any(|(k, _)| k == key)
                {
                    continue;
                }
                fields.push((
                    key.clone(),
                    value.as_str().map(str::to_owned).unwrap_or_else(|| value.to_string()),
                ));
            }
        };
        add(&self.line);
        if let Some(Value::Object(span)) = self.line.get("span") {
            add(span);
        }
        let fields: Vec<String> = fields.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("{} {:<24} {:<5} {message} {}", self.timestamp, self.function, level, fields.join(" "))
    }
}

/// Every JSON line of every `<function>.log` in `dir`.
pub fn read_dir(dir: &Path) -> std::io::Result<Vec<LogLine>> {
    let mut lines = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("log") {
            continue;
        }
        let function = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_owned();
        for text in std::fs::read_to_string(&path)?.lines() {
            // Not every line is ours (a panic message, the runtime's own).
            if let Ok(Value::Object(line)) = serde_json::from_str::<Value>(text) {
                let timestamp = line.get("timestamp").and_then(Value::as_str).unwrap_or_default().to_owned();
                lines.push(LogLine { function: function.clone(), timestamp, line });
            }
        }
    }
    Ok(lines)
}

/// The lines of one order: those naming it, and those of its traces, in
/// time order (RFC 3339 UTC timestamps sort as text).
pub fn of_order(lines: Vec<LogLine>, order_id: &str) -> Vec<LogLine> {
    let traces: BTreeSet<String> = lines
        .iter()
        .filter(|l| l.field("order_id") == Some(order_id))
        .filter_map(|l| l.field("trace_id").map(str::to_owned))
        .collect();
    let mut mine: Vec<LogLine> = lines
        .into_iter()
        .filter(|l| {
            l.field("order_id") == Some(order_id) || l.field("trace_id").is_some_and(|t| traces.contains(t))
        })
        .collect();
    mine.sort_by(|a, b| a.timestamp.cmp(&b.timestamp));
    mine
}

/// The order's own trace: that of the first line naming it, the request
/// that placed it. Every event of the order carries it; each later request
/// about the order (accept, a read) runs in a trace of its own and is
/// found by the order id.
pub fn order_trace<'a>(lines: &'a [LogLine], order_id: &str) -> Option<&'a str> {
    lines
        .iter()
        .filter(|l| l.field("order_id") == Some(order_id))
        .min_by(|a, b| a.timestamp.cmp(&b.timestamp))
        .and_then(|l| l.field("trace_id"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(function: &str, json: &str) -> LogLine {
        let Value::Object(line) = serde_json::from_str(json).unwrap() else { panic!() };
        LogLine { function: function.into(), timestamp: line["timestamp"].as_str().unwrap().into(), line }
    }

    #[test]
    fn an_orders_lines_are_those_naming_it_and_those_of_its_trace_in_time_order() {
        let lines = vec![
            line(
                "notifier",
                r#"{"timestamp":"2026-01-01T00:00:03Z","level":"INFO","message":"record done","span":{"order_id":"o-1","trace_id":"t1"}}"#,
            ),
            line(
                "place-order",
                r#"{"timestamp":"2026-01-01T00:00:01Z","level":"INFO","message":"answered","status":201,"span":{"trace_id":"t1"}}"#,
            ),
            line(
                "place-order",
                r#"{"timestamp":"2026-01-01T00:00:02Z","level":"INFO","message":"answered","span":{"trace_id":"t2","order_id":"o-2"}}"#,
            ),
            line(
                "order-outbox-relay",
                r#"{"timestamp":"2026-01-01T00:00:02Z","level":"INFO","message":"relayed","order_id":"o-1","trace_id":"t1"}"#,
            ),
            line("list-menu", r#"{"timestamp":"2026-01-01T00:00:00Z","level":"INFO","message":"answered"}"#),
        ];
        let mine = of_order(lines, "o-1");
        let order: Vec<_> = mine.iter().map(|l| l.function.as_str()).collect();
        assert_eq!(order, ["place-order", "order-outbox-relay", "notifier"]);
        assert_eq!(order_trace(&mine, "o-1"), Some("t1"));
        assert_eq!(
            mine[0].render(),
            "2026-01-01T00:00:01Z place-order              INFO  answered status=201 trace_id=t1"
        );
    }
}
