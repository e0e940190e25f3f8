//! Prices and the cost per million orders on AWS (Lambda, API Gateway, the
//! delivery timer's SQS and DynamoDB) from what the load measured.

use super::moto::DynamoCounts;
use super::percentile;
use foodstream_local::stack::Stack;
use std::collections::BTreeMap;

/// Price inputs (us-east-1, on demand), stated with the figures.
pub struct Prices {
    /// Lambda, per GB-second.
    pub lambda_gb_second: f64,
    /// Lambda, per million requests.
    pub lambda_per_million_requests: f64,
    /// API Gateway HTTP API, per million requests.
    pub http_api_per_million_requests: f64,
    /// DynamoDB on demand: a write request unit (an item up to 1 KB; a
    /// transactional write costs two) and a read request unit.
    pub dynamodb_per_million_write_units: f64,
    /// DynamoDB on demand, per million read request units.
    pub dynamodb_per_million_read_units: f64,
    /// SQS standard queues, per million requests.
    pub sqs_per_million_requests: f64,
}

/// The delivery timer's SQS requests per million orders: a send per
/// delivery, and a receive and a delete per completer batch (the mapping's
/// empty long polls, a few per minute per poller whatever the load, are
/// left out).
pub fn sqs_cost_per_million_orders(deliveries: usize, completer_batches: u64, orders: usize) -> f64 {
    let requests = deliveries as f64 + 2.0 * completer_batches as f64;
    requests / orders.max(1) as f64 * PRICES.sqs_per_million_requests
}

/// A pool's invocations since `from` (a
/// [`PoolStats::invocations`](foodstream_local::runtime::PoolStats::invocations)
/// count), as Lambda bills them (rounded up to the millisecond): the `q`
/// quantile.
pub fn billed_ms(pool: &foodstream_local::runtime::FunctionPool, from: u64, q: f64) -> f64 {
    let mut billed: Vec<f64> =
        pool.durations_since(from).iter().map(|d| (d.as_secs_f64() * 1000.0).ceil()).collect();
    billed.sort_by(f64::total_cmp);
    if billed.is_empty() { 0.0 } else { percentile(&billed, q) }
}

/// DynamoDB on-demand cost per million orders from the requests one order
/// makes: transactional item writes count twice; every read is counted as a
/// strongly consistent one (an upper bound: most of ours are eventually
/// consistent, half the price).
pub fn dynamodb_cost_per_million_orders(per_order: &DynamoCounts, orders: f64) -> f64 {
    let orders = orders.max(1.0);
    let write_units = (per_order.item_writes + per_order.transactional_item_writes) as f64 / orders;
    let read_units = per_order.reads as f64 / orders;
    write_units * PRICES.dynamodb_per_million_write_units
        + read_units * PRICES.dynamodb_per_million_read_units
}

/// The prices the bench uses (us-east-1, on demand).
pub const PRICES: Prices = Prices {
    // arm64 (the template's architecture), first pricing tier.
    lambda_gb_second: 0.000_013_333_4,
    lambda_per_million_requests: 0.20,
    // HTTP API, first 300 million requests a month.
    http_api_per_million_requests: 1.00,
    // us-east-1 on demand since the November 2024 price cut.
    dynamodb_per_million_write_units: 0.625,
    dynamodb_per_million_read_units: 0.125,
    // SQS standard queues, after the first million requests a month.
    sqs_per_million_requests: 0.40,
};

/// Lambda and API Gateway cost per million orders, from what the pools
/// measured during the load (every invocation's duration, rounded up to the
/// millisecond as Lambda bills, times its memory).
/// `before` holds the pools' figures from before the load (the cold-start
/// calls), which are left out.
pub fn cost_per_million_orders(
    stack: &Stack,
    orders: usize,
    api_requests: usize,
    before: &BTreeMap<String, foodstream_local::runtime::PoolStats>,
) -> (f64, BTreeMap<String, f64>) {
    let mut per_function = BTreeMap::new();
    let mut total = 0.0;
    for (name, pool) in stack.pools() {
        let now = pool.stats();
        let earlier = before.get(name).copied().unwrap_or_default();
        let stats = foodstream_local::runtime::PoolStats {
            invocations: now.invocations - earlier.invocations,
            busy: now.busy.saturating_sub(earlier.busy),
            inits: now.inits - earlier.inits,
            init_time: now.init_time.saturating_sub(earlier.init_time),
            ..foodstream_local::runtime::PoolStats::default()
        };
        if stats.invocations == 0 {
            continue;
        }
        let gb = pool.spec().memory_mb as f64 / 1024.0;
        let seconds = stats.busy.as_secs_f64() + stats.invocations as f64 * 0.0005; // rounding up to the ms
        let dollars = seconds * gb * PRICES.lambda_gb_second
            + stats.invocations as f64 * PRICES.lambda_per_million_requests / 1e6;
        let per_million = dollars / orders.max(1) as f64 * 1e6;
        per_function.insert(name.clone(), per_million);
        total += per_million;
    }
    let api = api_requests as f64 / orders.max(1) as f64 * PRICES.http_api_per_million_requests;
    per_function.insert("API Gateway (HTTP API requests)".into(), api);
    (total + api, per_function)
}

/// What a profile's dispatcher billed, per invocation.
#[derive(Debug, Clone, Copy, Default)]
pub struct Billed {
    /// The median billed duration, in ms.
    pub p50_ms: f64,
    /// The 99th percentile billed duration, in ms.
    pub p99_ms: f64,
    /// The invocations it was taken over.
    pub invocations: u64,
}
