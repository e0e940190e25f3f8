//! Cold starts: every function's init and first call on its `events/`
//! payload in fresh instances, next to a hello-world `lambda_runtime`
//! binary's, the floor.

use foodstream_local::runtime::{FunctionPool, FunctionSpec, InvokeOutcome};
use foodstream_local::stack::Stack;
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;

/// One function's cold start (or the median of several): its init, first
/// and warm calls, binary size and memory.
#[derive(Debug, Clone)]
pub struct ColdStart {
    /// The function's name.
    pub function: String,
    /// The size of its binary.
    pub binary_bytes: u64,
    /// Init: process start to its first `next` on the Runtime API.
    pub init: Duration,
    /// The first call, from handing the event over to the answer.
    pub first: Duration,
    /// The second (warm) call's duration.
    pub warm: Duration,
    /// The idle instance's resident memory after the first call, in KiB.
    pub rss_kib: u64,
    /// The first call's outcome: `HTTP {status}`, `ok` or the failure.
    pub outcome: String,
}

/// Cold starts measured per function: each sample is a fresh instance.
/// A single process start on a shared 2-core machine moved by a factor of
/// ten between runs; the median of several, the floor's sampled in the same
/// rounds as the functions', is the figure.
pub const COLD_START_SAMPLES: usize = 5;

/// One cold start: a fresh pool of `spec`, its first and second calls.
async fn measure(spec: &FunctionSpec, payload: &[u8]) -> ColdStart {
    let pool = FunctionPool::new(spec.clone());
    let first = pool.invoke(payload.to_vec()).await;
    let rss_kib = pool.idle_rss_kib().await.first().copied().unwrap_or_default();
    let warm = pool.invoke(payload.to_vec()).await;
    pool.shutdown().await;
    ColdStart {
        function: spec.name.clone(),
        binary_bytes: std::fs::metadata(&spec.binary).map(|m| m.len()).unwrap_or_default(),
        init: first.init.unwrap_or_default(),
        first: first.duration,
        warm: warm.duration,
        rss_kib,
        outcome: match &first.outcome {
            InvokeOutcome::Response(body) => {
                let status =
                    serde_json::from_slice::<Value>(body).ok().and_then(|v| v["statusCode"].as_u64());
                status.map(|s| format!("HTTP {s}")).unwrap_or_else(|| "ok".into())
            }
            other => other.describe(),
        },
    }
}

/// The median of each figure over `samples` (the first sample's outcome).
fn median_of(samples: Vec<ColdStart>) -> ColdStart {
    fn median<T: Ord + Copy>(mut values: Vec<T>) -> T {
        values.sort_unstable();
        values[values.len() / 2]
    }
    let first = samples[0].clone();
    ColdStart {
        init: median(samples.iter().map(|s| s.init).collect()),
        first: median(samples.iter().map(|s| s.first).collect()),
        warm: median(samples.iter().map(|s| s.warm).collect()),
        rss_kib: median(samples.iter().map(|s| s.rss_kib).collect()),
        ..first
    }
}

/// Every function's cold start on its `events/` payload, and the floor's:
/// [`COLD_START_SAMPLES`] rounds of every one, medians.
pub async fn cold_starts(stack: &Stack, events: &Path, floor: FunctionSpec) -> (ColdStart, Vec<ColdStart>) {
    let mut names: Vec<&String> = stack.pools().keys().collect();
    names.sort();
    let mut subjects: Vec<(FunctionSpec, Vec<u8>)> = vec![(floor, b"{}".to_vec())];
    for name in names {
        let payload = std::fs::read(events.join(format!("{name}.json"))).unwrap_or_else(|_| b"{}".to_vec());
        subjects.push((stack.pools()[name].spec().clone(), payload));
    }
    let mut samples: Vec<Vec<ColdStart>> = vec![Vec::new(); subjects.len()];
    for _ in 0..COLD_START_SAMPLES {
        for (i, (spec, payload)) in subjects.iter().enumerate() {
            samples[i].push(measure(spec, payload).await);
        }
    }
    let mut medians = samples.into_iter().map(median_of);
    let floor = medians.next().expect("the floor was measured");
    (floor, medians.collect())
}

/// The cold starts as JSON: the floor's and each function's, in ms.
pub fn cold_starts_json(floor: &ColdStart, rows: &[ColdStart]) -> Value {
    let row = |r: &ColdStart| {
        json!({
            "function": r.function,
            "binary_bytes": r.binary_bytes,
            "init_ms": r.init.as_secs_f64() * 1000.0,
            "first_ms": r.first.as_secs_f64() * 1000.0,
            "warm_ms": r.warm.as_secs_f64() * 1000.0,
            "rss_kib": r.rss_kib,
            "outcome": r.outcome,
        })
    };
    json!({ "floor": row(floor), "functions": rows.iter().map(row).collect::<Vec<_>>() })
}

/// Prints the cold starts as a table, each figure next to its ratio to the
/// floor's.
pub fn print_cold_starts(floor: &ColdStart, rows: &[ColdStart]) {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let floor_start = ms(floor.init + floor.first).max(0.001);
    println!(
        "{:<24} {:>9} {:>6} {:>9} {:>6} {:>9} {:>8} {:>7} {:>12} {:>6} {:>8} {:>6}  first call",
        "function",
        "binary MB",
        "x",
        "init ms",
        "x",
        "first ms",
        "warm ms",
        "1st/wm",
        "init+1st ms",
        "x",
        "RSS MiB",
        "x"
    );
    for row in std::iter::once(floor).chain(rows) {
        println!(
            "{:<24} {:>9.1} {:>6.1} {:>9.1} {:>6.1} {:>9.1} {:>8.1} {:>7.1} {:>12.1} {:>6.1} {:>8.1} {:>6.1}  {}",
            row.function,
            row.binary_bytes as f64 / 1e6,
            row.binary_bytes as f64 / floor.binary_bytes.max(1) as f64,
            ms(row.init),
            ms(row.init) / ms(floor.init).max(0.001),
            ms(row.first),
            ms(row.warm),
            ms(row.first) / ms(row.warm).max(0.001),
            ms(row.init + row.first),
            ms(row.init + row.first) / floor_start,
            row.rss_kib as f64 / 1024.0,
            row.rss_kib as f64 / floor.rss_kib.max(1) as f64,
            row.outcome,
        );
    }
    println!(
        "(x: the ratio to {}, the hello-world floor; 1st/wm: the first call over the warm one)",
        floor.function
    );
}
