//! `make bench`'s measurements on the local stack: cold starts of every
//! function next to a hello-world `lambda_runtime` binary, end-to-end load
//! through the gateway next to the emulators' own ceilings, and a cost per
//! million orders from the measured durations. Every figure is printed next
//! to its floor or ceiling as a ratio.

use foodstream_local::runtime::{FunctionPool, FunctionSpec, InvokeOutcome};
use foodstream_local::stack::Stack;
use rdkafka::Message;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone)]
pub struct ColdStart {
    pub function: String,
    pub binary_bytes: u64,
    pub init: Duration,
    pub first: Duration,
    pub warm: Duration,
    pub rss_kib: u64,
    pub outcome: String,
}

/// Cold starts measured per function: each sample is a fresh instance.
/// A single process start on a shared 2-core machine moved by a factor of
/// ten between runs; the median of several, the floor's sampled in the same
/// rounds as the functions', is the figure.
pub const COLD_START_SAMPLES: usize = 5;

/// The floor of a delivery's latency, in ms: the delivery time itself, the
/// template's `DeliveryDurationMs` default, which the bench's stacks keep.
pub const DELIVERY_FLOOR_MS: u64 = 1000;

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

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as i64
}

/// The `p` quantile (0 to 1) of sorted values, by the nearest index; NaN
/// when there are none. The bench's figures and its charts share it.
pub(crate) fn percentile(sorted: &[f64], p: f64) -> f64 {
    let index = (sorted.len().saturating_sub(1) as f64 * p).round() as usize;
    sorted.get(index).copied().unwrap_or(f64::NAN)
}

pub struct LoadSettings {
    pub seconds: u64,
    pub concurrency: usize,
    /// Orders per second offered (open loop, spread over the clients), so
    /// the latencies are those of a rate the pipeline holds, not of a
    /// growing backlog.
    pub rate: f64,
    /// The share of orders also accepted and delivered (1.0: every one),
    /// spread evenly over each client's orders.
    pub deliver_share: f64,
    pub kafka_bootstrap: String,
    pub topic_prefix: String,
    pub jwt_secret: String,
    pub run: String,
    /// How long to wait, after the last order, for every order to be
    /// notified and every delivery done.
    pub settle: Duration,
    /// Count the DynamoDB requests with the recorder of the moto at this
    /// endpoint (it slows moto a little: not during latency runs).
    pub record_dynamodb_at: Option<String>,
}

pub struct LoadReport {
    /// The DynamoDB requests made while the load ran and drained (moto's
    /// recorder), when asked for.
    pub dynamodb: Option<DynamoCounts>,
    /// Seconds after the last order was placed (or its delivery asked for)
    /// until every order was notified and every delivery done (`None`: not
    /// within the settle time).
    pub drained_after_seconds: Option<f64>,
    pub orders: usize,
    pub seconds: f64,
    pub paid_latency_ms: Vec<f64>,
    pub delivered_latency_ms: Vec<f64>,
    pub lost_notifications: usize,
    pub lost_deliveries: usize,
    pub errors: usize,
}

/// Orders placed through the gateway by `concurrency` clients for
/// `seconds`; the time from placement to the PAID notification's log record
/// and from the delivery request to `OrderDelivered`, read from the topics.
pub async fn load(stack: &Stack, settings: &LoadSettings) -> LoadReport {
    let api = crate::api::ApiClient::new(stack.api_url.clone());
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    let token = |sub: &str, role: &str, store: Option<&str>| {
        foodstream_local::jwt::mint(
            &foodstream_local::jwt::Claims::new(sub, role, store, now, 7200),
            &settings.jwt_secret,
        )
        .expect("token")
    };
    let run = &settings.run;
    let store = format!("store-{run}");
    let owner = token(&format!("owner-{run}"), "owner", Some(&store));
    let operator = token(&format!("operator-{run}"), "operator", None);
    let zone = format!("Zone-{run}");
    let call = move |token: String, method: Method, path: String, body: Option<Value>| {
        let api = api.clone();
        async move {
            match api.send(Some(&token), method, &path, body.as_ref(), &[]).await {
                Ok(answer) => (answer.status, answer.body),
                Err(_) => (0, Value::Null),
            }
        }
    };
    let item = json!({"name": "Fried chicken", "price": 18000, "stock": 1_000_000});
    call(owner.clone(), Method::PUT, format!("/stores/{store}/menu/chicken"), Some(item)).await;
    for i in 0..40 {
        call(operator.clone(), Method::PUT, format!("/riders/rider-{i}-{run}"), Some(json!({"zone": zone})))
            .await;
    }

    // The topics, read from the start by a group of our own.
    let paid: Arc<Mutex<HashMap<String, i64>>> = Arc::default();
    let delivered: Arc<Mutex<HashMap<String, i64>>> = Arc::default();
    let mut config = ClientConfig::new();
    for (key, value) in foodstream_kafka::consumer_properties() {
        config.set(key, value);
    }
    let consumer: StreamConsumer = config
        .set("bootstrap.servers", &settings.kafka_bootstrap)
        .set("group.id", format!("bench-{run}"))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let topics =
        [format!("{}log-events", settings.topic_prefix), format!("{}order-events", settings.topic_prefix)];
    consumer.subscribe(&[&topics[0], &topics[1]]).expect("subscribe");
    let (paid_sink, delivered_sink) = (paid.clone(), delivered.clone());
    let reader = tokio::spawn(async move {
        loop {
            let Ok(message) = consumer.recv().await else { continue };
            let Some(value) = message.payload().and_then(|p| serde_json::from_slice::<Value>(p).ok()) else {
                continue;
            };
            let at = message.timestamp().to_millis().unwrap_or_else(now_ms);
            let order = value["order_id"].as_str().unwrap_or_default().to_owned();
            match value["event_type"].as_str() {
                Some("NotificationProduced") if value["order_version"] == 1 => {
                    paid_sink.lock().expect("lock").entry(order).or_insert(at);
                }
                Some("OrderDelivered") => {
                    delivered_sink.lock().expect("lock").entry(order).or_insert(at);
                }
                _ => {}
            }
        }
    });

    // Warm-up, not measured: the mappings' consumer groups joined and an
    // instance of every function on the path started, so the figures are
    // those of a running pipeline, not of its first seconds.
    let warm_customer = token(&format!("customer-warmup-{run}"), "customer", None);
    let mut warm_orders = Vec::new();
    for i in 0..settings.concurrency.max(1) {
        let body = json!({"store_id": store, "items": [{"product_id": "chicken", "quantity": 1}],
                          "address": {"street": "1 Teheran-ro", "district": zone, "city": "Seoul"}});
        let (status, order) = call(warm_customer.clone(), Method::POST, "/orders".into(), Some(body)).await;
        let Some(id) = order["order_id"].as_str().filter(|_| status == 201).map(String::from) else {
            continue;
        };
        if i == 0 {
            call(owner.clone(), Method::POST, format!("/orders/{id}/accept"), None).await;
            call(owner.clone(), Method::POST, format!("/orders/{id}/delivery-requests"), None).await;
        }
        warm_orders.push(id);
    }
    let warm_until = Instant::now() + Duration::from_secs(60);
    while Instant::now() < warm_until {
        let notified = warm_orders.iter().all(|id| paid.lock().expect("lock").contains_key(id));
        let delivered = warm_orders.first().is_none_or(|id| delivered.lock().expect("lock").contains_key(id));
        if notified && delivered {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Counted from here: the measured orders only (the warm-up's work is
    // done).
    if let Some(endpoint) = &settings.record_dynamodb_at {
        moto_recorder(endpoint, "reset-recording").await;
        moto_recorder(endpoint, "start-recording").await;
    }

    // Clients: place orders until the time is up; the share asked for is delivered.
    let placed: Arc<Mutex<Vec<(String, i64)>>> = Arc::default();
    let requested: Arc<Mutex<Vec<(String, i64)>>> = Arc::default();
    let errors = Arc::new(Mutex::new(0usize));
    let deadline = Instant::now() + Duration::from_secs(settings.seconds);
    let started = Instant::now();
    let mut clients = Vec::new();
    for c in 0..settings.concurrency {
        let customer = token(&format!("customer-{c}-{run}"), "customer", None);
        let (owner, store, zone) = (owner.clone(), store.clone(), zone.clone());
        let (placed, requested, errors) = (placed.clone(), requested.clone(), errors.clone());
        let call = call.clone();
        let share = settings.deliver_share.clamp(0.0, 1.0);
        // Client c places its orders at start + (c + k * concurrency) / rate.
        let interval = Duration::from_secs_f64(settings.concurrency as f64 / settings.rate.max(0.1));
        let first = Duration::from_secs_f64(c as f64 / settings.rate.max(0.1));
        clients.push(tokio::spawn(async move {
            let mut credit = 0.0_f64;
            let mut next = tokio::time::Instant::now() + first;
            while Instant::now() < deadline {
                tokio::time::sleep_until(next).await;
                next += interval;
                if Instant::now() >= deadline {
                    break;
                }
                let body = json!({"store_id": store, "items": [{"product_id": "chicken", "quantity": 1}],
                                  "address": {"street": "1 Teheran-ro", "district": zone, "city": "Seoul"}});
                let at = now_ms();
                let (status, order) =
                    call(customer.clone(), Method::POST, "/orders".into(), Some(body)).await;
                let Some(id) = order["order_id"].as_str().filter(|_| status == 201).map(String::from) else {
                    *errors.lock().expect("lock") += 1;
                    continue;
                };
                placed.lock().expect("lock").push((id.clone(), at));
                credit += share;
                if credit >= 1.0 - 1e-9 {
                    credit -= 1.0;
                    call(owner.clone(), Method::POST, format!("/orders/{id}/accept"), None).await;
                    let at = now_ms();
                    let (status, _) =
                        call(owner.clone(), Method::POST, format!("/orders/{id}/delivery-requests"), None)
                            .await;
                    if status == 202 {
                        requested.lock().expect("lock").push((id, at));
                    }
                }
            }
        }));
    }
    for client in clients {
        let _ = client.await;
    }
    let seconds = started.elapsed().as_secs_f64();
    // Let the pipeline drain: every order notified, every delivery done.
    let placed = placed.lock().expect("lock").clone();
    let requested = requested.lock().expect("lock").clone();
    // Counted from the last order placed (the clients end up to one
    // interval later).
    let last_order_ms = placed.iter().chain(&requested).map(|(_, at)| *at).max().unwrap_or_else(now_ms);
    let settle_ms = last_order_ms + settings.settle.as_millis() as i64;
    let mut drained_after_seconds = None;
    while now_ms() < settle_ms {
        let all_paid = placed.iter().all(|(id, _)| paid.lock().expect("lock").contains_key(id));
        let all_delivered = requested.iter().all(|(id, _)| delivered.lock().expect("lock").contains_key(id));
        if all_paid && all_delivered {
            drained_after_seconds = Some((now_ms() - last_order_ms) as f64 / 1000.0);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    reader.abort();
    let dynamodb = match &settings.record_dynamodb_at {
        Some(endpoint) => {
            moto_recorder(endpoint, "stop-recording").await;
            Some(count_dynamodb_requests(&moto_recording(endpoint).await))
        }
        None => None,
    };
    let paid = paid.lock().expect("lock").clone();
    let delivered = delivered.lock().expect("lock").clone();
    let latencies = |list: &[(String, i64)], seen: &HashMap<String, i64>| {
        let mut ms: Vec<f64> =
            list.iter().filter_map(|(id, at)| seen.get(id).map(|t| (t - at) as f64)).collect();
        ms.sort_by(f64::total_cmp);
        ms
    };
    LoadReport {
        dynamodb,
        drained_after_seconds,
        orders: placed.len(),
        seconds,
        paid_latency_ms: latencies(&placed, &paid),
        delivered_latency_ms: latencies(&requested, &delivered),
        lost_notifications: placed.iter().filter(|(id, _)| !paid.contains_key(id)).count(),
        lost_deliveries: requested.iter().filter(|(id, _)| !delivered.contains_key(id)).count(),
        errors: *errors.lock().expect("lock"),
    }
}

/// DynamoDB requests by what they cost: items written (each item of a
/// transaction counted, and also apart, since a transactional write costs
/// twice) and read requests.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct DynamoCounts {
    pub requests: u64,
    pub item_writes: u64,
    pub transactional_item_writes: u64,
    pub reads: u64,
}

async fn moto_recorder(endpoint: &str, action: &str) {
    let url = format!("{}/moto-api/recorder/{action}", endpoint.trim_end_matches('/'));
    let _ = reqwest::Client::builder().no_proxy().build().expect("client").post(url).send().await;
}

async fn moto_recording(endpoint: &str) -> String {
    let url = format!("{}/moto-api/recorder/download-recording", endpoint.trim_end_matches('/'));
    let client = reqwest::Client::builder().no_proxy().build().expect("client");
    match client.get(url).send().await {
        Ok(response) => response.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// Counts the DynamoDB requests of a moto recording (one JSON request per
/// line, the body base64 when `body_encoded`).
pub fn count_dynamodb_requests(recording: &str) -> DynamoCounts {
    use base64::Engine;
    let mut counts = DynamoCounts::default();
    for line in recording.lines() {
        let Ok(request) = serde_json::from_str::<Value>(line) else { continue };
        let target = request["headers"]["X-Amz-Target"].as_str().unwrap_or_default();
        let Some(operation) = target.strip_prefix("DynamoDB_20120810.") else { continue };
        let text = request["body"].as_str().unwrap_or_default();
        let body: Value = if request["body_encoded"].as_bool() == Some(true) {
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
                .unwrap_or_default()
        } else {
            serde_json::from_str(text).unwrap_or_default()
        };
        counts.requests += 1;
        // BatchWriteItem: {table: [requests]}; BatchGetItem: {table: {Keys: [...]}}.
        let batch_items = || -> u64 {
            let tables = body["RequestItems"].as_object().into_iter().flat_map(|t| t.values());
            tables.map(|v| v.as_array().or_else(|| v["Keys"].as_array()).map_or(0, Vec::len) as u64).sum()
        };
        match operation {
            "PutItem" | "UpdateItem" | "DeleteItem" => counts.item_writes += 1,
            "BatchWriteItem" => counts.item_writes += batch_items(),
            "TransactWriteItems" => {
                let written = body["TransactItems"]
                    .as_array()
                    .map(|items| items.iter().filter(|i| i.get("ConditionCheck").is_none()).count())
                    .unwrap_or(0) as u64;
                counts.item_writes += written;
                counts.transactional_item_writes += written;
            }
            "GetItem" | "Query" | "Scan" => counts.reads += 1,
            "BatchGetItem" => counts.reads += batch_items(),
            "TransactGetItems" => counts.reads += body["TransactItems"].as_array().map_or(0, Vec::len) as u64,
            _ => {}
        }
    }
    counts
}

/// The emulators' own ceilings at the same concurrency: DynamoDB PutItem
/// on moto (into a scratch copy of `shape`, a template table with a single
/// string partition key), produce with acks=all on the broker.
pub async fn ceilings(
    shape: &foodstream_template::Table,
    aws: &aws_config::SdkConfig,
    bootstrap: &str,
    topic: &str,
    concurrency: usize,
    seconds: u64,
) -> (f64, f64) {
    let dynamodb = aws_sdk_dynamodb::Client::new(aws);
    let table = format!("bench-ceiling-{}", now_ms());
    let key = match shape.key.as_slice() {
        [only] => only.attribute_name.clone(),
        _ => panic!("{}: the ceiling table needs a single partition key", shape.logical_id),
    };
    foodstream_template::dynamodb::create_table(&dynamodb, shape, &table).await.expect("the ceiling table");
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for c in 0..concurrency {
        let (dynamodb, table, key) = (dynamodb.clone(), table.clone(), key.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while Instant::now() < deadline {
                let item = aws_sdk_dynamodb::types::AttributeValue::S(format!("{c}-{n}"));
                if dynamodb.put_item().table_name(&table).item(&key, item).send().await.is_ok() {
                    n += 1;
                }
            }
            n
        }));
    }
    let mut puts = 0;
    for task in tasks {
        puts += task.await.unwrap_or_default();
    }
    let _ = dynamodb.delete_table().table_name(&table).send().await;

    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("acks", "all")
        .set("linger.ms", "2")
        .create()
        .expect("producer");
    let payload = vec![b'x'; 512];
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut sent = 0u64;
    while Instant::now() < deadline {
        let batch = (0..concurrency * 8).map(|i| {
            let key = format!("k{i}");
            let producer = producer.clone();
            let payload = payload.clone();
            let topic = topic.to_owned();
            async move {
                producer
                    .send(FutureRecord::to(&topic).key(&key).payload(&payload), Duration::from_secs(10))
                    .await
                    .is_ok()
            }
        });
        sent += futures::future::join_all(batch).await.into_iter().filter(|ok| *ok).count() as u64;
    }
    (puts as f64 / seconds as f64, sent as f64 / seconds as f64)
}

/// Price inputs (us-east-1, on demand), stated with the figures.
pub struct Prices {
    pub lambda_gb_second: f64,
    pub lambda_per_million_requests: f64,
    pub http_api_per_million_requests: f64,
    /// DynamoDB on demand: a write request unit (an item up to 1 KB; a
    /// transactional write costs two) and a read request unit.
    pub dynamodb_per_million_write_units: f64,
    pub dynamodb_per_million_read_units: f64,
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

/// A pool's invocations since `from` (a [`PoolStats::invocations`] count),
/// as Lambda bills them (rounded up to the millisecond): the `q` quantile.
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
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub invocations: u64,
}

/// One batching profile's figures, next to their floors, for the summary.
pub fn profile_json(
    profile: &str,
    window: &str,
    report: &LoadReport,
    cost_per_million: f64,
    dispatcher: Billed,
) -> Value {
    let p = |v: &[f64], q: f64| percentile(v, q);
    let delivered = report.delivered_latency_ms.len();
    let per_delivered = cost_per_million * report.orders as f64 / delivered.max(1) as f64;
    json!({
        "profile": profile,
        "consumer_batching_window_seconds": window,
        "delivered_orders": delivered,
        "dispatcher_billed_ms": {"p50": dispatcher.p50_ms, "p99": dispatcher.p99_ms, "invocations": dispatcher.invocations},
        "lambda_api_gateway_sqs_dollars_per_million_delivered_orders": per_delivered,
        "orders": report.orders,
        "orders_per_s": report.orders as f64 / report.seconds.max(0.001),
        "failed_requests": report.errors,
        "paid_notification_ms": {"p50": p(&report.paid_latency_ms, 0.5), "p99": p(&report.paid_latency_ms, 0.99), "never": report.lost_notifications},
        "delivered_ms": {"p50": p(&report.delivered_latency_ms, 0.5), "p99": p(&report.delivered_latency_ms, 0.99), "never": report.lost_deliveries, "floor": DELIVERY_FLOOR_MS},
        "lambda_api_gateway_sqs_dollars_per_million_orders": cost_per_million,
    })
}

/// What the figures were measured on.
pub fn machine() -> Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name").and_then(|r| r.split(':').nth(1)))
        .map(str::trim)
        .unwrap_or("unknown");
    json!({
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "cpu": model,
        "arch": std::env::consts::ARCH,
        "date": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    })
}

pub fn print_load(report: &LoadReport, ceilings: (f64, f64), offered: f64) {
    let rate = report.orders as f64 / report.seconds;
    println!("offered: {offered:.1} orders/s");
    let p = |v: &[f64], q: f64| percentile(v, q);
    println!(
        "orders placed: {} in {:.1} s = {:.1} orders/s ({} failed requests)",
        report.orders, report.seconds, rate, report.errors
    );
    println!(
        "  vs moto's PutItem ceiling {:.0} items/s: {:.3} of it (an order is one transaction of 3+ writes)",
        ceilings.0,
        rate / ceilings.0
    );
    println!(
        "  vs the broker's produce ceiling {:.0} msgs/s: {:.3} of it (an order makes 1 order event + 4 log events)",
        ceilings.1,
        rate / ceilings.1
    );
    println!(
        "placement -> PAID notification: p50 {:.0} ms, p99 {:.0} ms over {} orders; {} never notified",
        p(&report.paid_latency_ms, 0.5),
        p(&report.paid_latency_ms, 0.99),
        report.paid_latency_ms.len(),
        report.lost_notifications
    );
    println!(
        "delivery request -> DELIVERED: p50 {:.0} ms, p99 {:.0} ms over {} deliveries (floor: the 1000 ms delivery time); {} never delivered",
        p(&report.delivered_latency_ms, 0.5),
        p(&report.delivered_latency_ms, 0.99),
        report.delivered_latency_ms.len(),
        report.lost_deliveries
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    #[test]
    fn a_moto_recording_is_counted_by_what_each_request_costs() {
        let request = |operation: &str, body: Value| {
            json!({
                "headers": {"X-Amz-Target": format!("DynamoDB_20120810.{operation}")},
                "body": base64::engine::general_purpose::STANDARD.encode(body.to_string()),
                "body_encoded": true,
            })
            .to_string()
        };
        let recording = [
            request("PutItem", json!({"TableName": "t"})),
            request(
                "TransactWriteItems",
                json!({"TransactItems": [{"Put": {}}, {"Update": {}}, {"ConditionCheck": {}}]}),
            ),
            request("BatchWriteItem", json!({"RequestItems": {"a": [{"PutRequest": {}}, {"PutRequest": {}}], "b": [{"DeleteRequest": {}}]}})),
            request("GetItem", json!({})),
            request("BatchGetItem", json!({"RequestItems": {"a": {"Keys": [{}, {}, {}]}}})),
            json!({"headers": {"X-Amz-Target": "DynamoDBStreams_20120810.GetRecords"}, "body": "{}"}).to_string(),
            "not json".to_owned(),
        ]
        .join("\n");
        let counts = count_dynamodb_requests(&recording);
        assert_eq!(
            counts,
            DynamoCounts { requests: 5, item_writes: 6, transactional_item_writes: 2, reads: 4 }
        );
        // 6 + 2 write units and 4 read units per order.
        let dollars = dynamodb_cost_per_million_orders(&counts, 1.0);
        assert!((dollars - (8.0 * 0.625 + 4.0 * 0.125)).abs() < 1e-9, "{dollars}");
    }
}
