//! Load through the gateway: orders placed at an open-loop rate, the
//! latency from placement to the PAID notification and from the delivery
//! request to `OrderDelivered`, the emulators' own ceilings, and the search
//! for the highest rate the pipeline keeps up with.

use super::cost::dynamodb_cost_per_million_orders;
use super::moto::{DynamoCounts, count_dynamodb_requests, moto_recorder, moto_recording};
use super::percentile;
use crate::api::{ApiClient, Route};
use crate::plots;
use foodstream_local::stack::Stack;
use rdkafka::Message;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The floor of a delivery's latency, in ms: the delivery time itself, the
/// template's `DeliveryDurationMs` default, which the bench's stacks keep.
pub const DELIVERY_FLOOR_MS: u64 = 1000;

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as i64
}

/// `route` with `token` as bearer and `body` as JSON: the answer's status
/// and body, or `(0, null)` when the request failed.
async fn call(api: &ApiClient, token: &str, route: Route<'_>, body: Option<Value>) -> (u16, Value) {
    match api.call(Some(token), route, body.as_ref(), &[]).await {
        Ok(answer) => (answer.status, answer.body),
        Err(_) => (0, Value::Null),
    }
}

/// What a [`load`] run offers and where: its rate, length and clients, the
/// stack's broker, topics and token secret.
pub struct LoadSettings {
    /// How long the clients place orders.
    pub seconds: u64,
    /// Clients placing orders at once.
    pub concurrency: usize,
    /// Orders per second offered (open loop, spread over the clients), so
    /// the latencies are those of a rate the pipeline holds, not of a
    /// growing backlog.
    pub rate: f64,
    /// The share of orders also accepted and delivered (1.0: every one),
    /// spread evenly over each client's orders.
    pub deliver_share: f64,
    /// The broker's bootstrap servers, to read the topics.
    pub kafka_bootstrap: String,
    /// The stack's topic prefix.
    pub topic_prefix: String,
    /// The secret the callers' tokens are signed with.
    pub jwt_secret: String,
    /// The run's id: in the store, rider, caller and consumer group names.
    pub run: String,
    /// How long to wait, after the last order, for every order to be
    /// notified and every delivery done.
    pub settle: Duration,
    /// Count the DynamoDB requests with the recorder of the moto at this
    /// endpoint (it slows moto a little: not during latency runs).
    pub record_dynamodb_at: Option<String>,
}

/// What a [`load`] run measured.
pub struct LoadReport {
    /// The DynamoDB requests made while the load ran and drained (moto's
    /// recorder), when asked for.
    pub dynamodb: Option<DynamoCounts>,
    /// Seconds after the last order was placed (or its delivery asked for)
    /// until every order was notified and every delivery done (`None`: not
    /// within the settle time).
    pub drained_after_seconds: Option<f64>,
    /// Orders placed (answered 201).
    pub orders: usize,
    /// How long the clients placed orders, in seconds.
    pub seconds: f64,
    /// Placement to the PAID notification, per notified order, sorted (ms).
    pub paid_latency_ms: Vec<f64>,
    /// Delivery request to `OrderDelivered`, per delivered order, sorted (ms).
    pub delivered_latency_ms: Vec<f64>,
    /// Orders placed but never notified within the settle time.
    pub lost_notifications: usize,
    /// Deliveries requested but never done within the settle time.
    pub lost_deliveries: usize,
    /// Placements that failed (no 201 with an order id).
    pub errors: usize,
}

/// Orders placed through the gateway by `concurrency` clients for
/// `seconds`; the time from placement to the PAID notification's log record
/// and from the delivery request to `OrderDelivered`, read from the topics.
pub async fn load(stack: &Stack, settings: &LoadSettings) -> LoadReport {
    let api = ApiClient::new(stack.api_url.clone());
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
    let item = json!({"name": "Fried chicken", "price": 18000, "stock": 1_000_000});
    call(&api, &owner, Route::PutMenuItem { store: &store, product: "chicken" }, Some(item)).await;
    for i in 0..40 {
        let rider = format!("rider-{i}-{run}");
        call(&api, &operator, Route::RegisterRider { rider: &rider }, Some(json!({"zone": zone}))).await;
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
        let (status, order) = call(&api, &warm_customer, Route::PlaceOrder, Some(body)).await;
        let Some(id) = order["order_id"].as_str().filter(|_| status == 201).map(String::from) else {
            continue;
        };
        if i == 0 {
            call(&api, &owner, Route::AcceptOrder { order: &id }, None).await;
            call(&api, &owner, Route::RequestDelivery { order: &id }, None).await;
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
        let api = api.clone();
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
                let (status, order) = call(&api, &customer, Route::PlaceOrder, Some(body)).await;
                let Some(id) = order["order_id"].as_str().filter(|_| status == 201).map(String::from) else {
                    *errors.lock().expect("lock") += 1;
                    continue;
                };
                placed.lock().expect("lock").push((id.clone(), at));
                credit += share;
                if credit >= 1.0 - 1e-9 {
                    credit -= 1.0;
                    call(&api, &owner, Route::AcceptOrder { order: &id }, None).await;
                    let at = now_ms();
                    let (status, _) = call(&api, &owner, Route::RequestDelivery { order: &id }, None).await;
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

/// Prints a load run's rate against the emulators' `ceilings` (moto PutItem,
/// broker produce) and its latencies.
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

/// DynamoDB writes per order (moto's recorder), the order rate moto's
/// PutItem ceiling allows at that many writes, and the highest open-loop
/// rate, as a share of that ceiling, at which the pipeline keeps up: every
/// order notified and every delivery done within 5 s of the last order.
pub(super) async fn throughput<F, Fut>(
    start_stack: &F,
    moto_put_items_per_s: f64,
    concurrency: usize,
    kafka: &str,
    secret: &str,
    aws_endpoint: &str,
) -> Result<(serde_json::Value, plots::ThroughputChart), Box<dyn std::error::Error>>
where
    F: Fn(BTreeMap<String, String>) -> Fut,
    Fut: std::future::Future<Output = Result<(Stack, String), foodstream_local::stack::StackError>>,
{
    let (stack, run) = start_stack(BTreeMap::new()).await?;
    let settings = |step: &str, rate: f64, seconds: u64, settle: u64, record: bool| LoadSettings {
        seconds,
        concurrency,
        rate,
        deliver_share: 0.2,
        kafka_bootstrap: kafka.to_owned(),
        topic_prefix: format!("{run}."),
        jwt_secret: secret.to_owned(),
        run: format!("{run}-{step}"),
        settle: Duration::from_secs(settle),
        record_dynamodb_at: record.then(|| aws_endpoint.to_owned()),
    };
    println!(
        "\n== Throughput: DynamoDB requests per order (moto's recorder, 10 s at 5 orders/s, economical profile)\n"
    );
    let counted = load(&stack, &settings("count", 5.0, 10, 90, true)).await;
    let counts = counted.dynamodb.unwrap_or_default();
    let orders = counted.orders.max(1) as f64;
    let dynamodb_dollars = dynamodb_cost_per_million_orders(&counts, orders);
    let writes_per_order = counts.item_writes as f64 / orders;
    let ceiling = moto_put_items_per_s / writes_per_order.max(0.001);
    println!(
        "per order (one in 5 delivered): {writes_per_order:.1} item writes ({:.1} of them transactional), {:.1} reads, {:.1} requests",
        counts.transactional_item_writes as f64 / orders,
        counts.reads as f64 / orders,
        counts.requests as f64 / orders
    );
    println!(
        "DynamoDB on demand: ${dynamodb_dollars:.2} per million orders (transactional writes at twice the units, reads as strongly consistent)"
    );
    println!(
        "ceiling: moto's {moto_put_items_per_s:.0} PutItem/s / {writes_per_order:.1} writes = {ceiling:.1} orders/s"
    );
    let mut steps = Vec::new();
    let mut searched = Vec::new();
    let mut highest = 0.0;
    // Up from a quarter of the ceiling; if even that falls behind, one step
    // at an eighth, so the figure is a rate that kept up, not a zero.
    let mut shares = vec![0.25, 0.5, 0.75, 1.0];
    let mut next = 0;
    while let Some(&share) = shares.get(next) {
        next += 1;
        let rate = ceiling * share;
        let placing = |stack: &Stack| stack.pools().get("place-order").map(|pool| pool.stats());
        let before = placing(&stack);
        let report =
            load(&stack, &settings(&format!("{}", (share * 100.0) as u32), rate, 10, 5, false)).await;
        // Where a placement's time goes: inside the function (its DynamoDB
        // calls) or before it.
        let place_order_ms = match (before, placing(&stack)) {
            (Some(b), Some(a)) if a.invocations > b.invocations => {
                Some((a.busy - b.busy).as_secs_f64() * 1000.0 / (a.invocations - b.invocations) as f64)
            }
            _ => None,
        };
        let placed = report.orders as f64 / report.seconds.max(0.001);
        // Open loop: the rate offered must also be the rate placed.
        let kept_up = report.errors == 0 && placed >= 0.9 * rate && report.drained_after_seconds.is_some();
        searched.push(plots::ThroughputStep { offered_per_s: rate, placed_per_s: placed, kept_up });
        println!(
            "offered {rate:.1} orders/s ({:.0}% of the ceiling): placed {placed:.1}/s (place-order: {} ms a call in the function, warm-up included), {} failed, {}",
            share * 100.0,
            place_order_ms.map_or("?".to_owned(), |ms| format!("{ms:.0}")),
            report.errors,
            match report.drained_after_seconds {
                Some(s) => format!("drained {s:.1} s after the last order"),
                None => format!(
                    "still behind 5 s after the last order ({} not notified, {} not delivered)",
                    report.lost_notifications, report.lost_deliveries
                ),
            }
        );
        steps.push(serde_json::json!({
            "offered_orders_per_s": rate, "share_of_ceiling": share, "placed_orders_per_s": placed,
            "failed_requests": report.errors, "drained_after_seconds": report.drained_after_seconds,
            "place_order_ms_in_function": place_order_ms,
            "kept_up": kept_up,
        }));
        if !kept_up {
            if highest == 0.0 && share > 0.125 {
                (shares, next) = (vec![0.125], 0);
                continue;
            }
            break;
        }
        highest = rate;
    }
    println!(
        "highest rate that kept up (placed at 90% of the offered rate or more, drained within 5 s): \
         {highest:.1} orders/s = {:.0}% of the ceiling (goal: 50%)",
        100.0 * highest / ceiling.max(0.001)
    );
    stack.stop().await;
    let chart = plots::ThroughputChart {
        title: format!(
            "Throughput search, 10 s per step, 1 order in 5 delivered: highest that kept up {highest:.1} orders/s"
        ),
        ceiling: Some(plots::Reference {
            label: format!("ceiling (moto PutItem / {writes_per_order:.1} writes per order)"),
            value: ceiling,
        }),
        steps: searched,
    };
    let summary = serde_json::json!({
        "dynamodb_per_order": {
            "item_writes": writes_per_order,
            "transactional_item_writes": counts.transactional_item_writes as f64 / orders,
            "reads": counts.reads as f64 / orders,
            "requests": counts.requests as f64 / orders,
        },
        "dynamodb_dollars_per_million_orders": dynamodb_dollars,
        "ceiling_orders_per_s": ceiling,
        "highest_kept_up_orders_per_s": highest,
        "share_of_ceiling": highest / ceiling.max(0.001),
        "steps": steps,
    });
    Ok((summary, chart))
}
