//! The functions' logs as the console shows them: a log's tail, and one
//! order's lines across every function's log.

use serde_json::Value;

/// How many lines of a function's log its page shows.
pub const SHOWN_LOG_LINES: usize = 300;

/// How much of each function's log the order page reads: its end.
pub const ORDER_LOG_WINDOW: u64 = 4 * 1024 * 1024;

/// One order's log lines across functions, in time order (what
/// `make logs ORDER=` prints), from the last [`ORDER_LOG_WINDOW`] of each log.
pub(super) fn order_log(dir: &std::path::Path, id: &str) -> Vec<String> {
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
pub(super) fn readable_log_line(function: &str, line: &str) -> String {
    match serde_json::from_str::<Value>(line) {
        Ok(Value::Object(map)) => {
            let timestamp = map.get("timestamp").and_then(Value::as_str).unwrap_or_default().to_owned();
            foodstream_ops::order_logs::LogLine { function: function.to_owned(), timestamp, line: map }
                .render()
        }
        _ => line.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_tail_is_its_last_lines() {
        let path = std::env::temp_dir().join(format!("console-tail-{}.log", uuid::Uuid::new_v4()));
        let text: String = (0..50_000).map(|i| format!("line {i}\n")).collect();
        std::fs::write(&path, text).unwrap();
        assert_eq!(tail_lines(&path, 2), vec!["line 49998".to_string(), "line 49999".to_string()]);
        assert!(tail_lines(&path.with_extension("missing"), 2).is_empty());
        std::fs::remove_file(&path).unwrap();
    }
}
