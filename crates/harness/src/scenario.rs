//! A client of our own: the whole scenario of SPEC section 2 played through
//! the HTTP API (tokens minted as `make token` mints them), the three topics
//! read by a consumer of its own, and the system's promises checked: every
//! order ends where the rules say, delivery takes the configured time, every
//! status change is an event and notifies its recipients on both channels,
//! and every notification is a log record. [`ScenarioReport::timeline`] prints what
//! happened in order, with timings. `make demo` and the end-to-end tests run
//! it.

use crate::api::{ApiAnswer, ApiClient, page_path};
use chrono::{DateTime, Utc};
use foodstream_domain::events::topics;
use foodstream_local::jwt::{self, Claims};
use rdkafka::Message;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const TOPICS: [&str; 3] = topics::ALL;

#[derive(Debug, Clone)]
pub struct ScenarioConfig {
    pub api: String,
    pub kafka_bootstrap: String,
    /// The stack's topic prefix (`KAFKA_TOPIC_PREFIX`).
    pub topic_prefix: String,
    pub jwt_secret: String,
    /// The stack's delivery time (`DELIVERY_DURATION_MS`).
    pub delivery_duration: Duration,
    /// The stack's refund window; when it is short (≤ 30 s) the scenario
    /// also waits it out and checks that a late refund request is refused.
    pub refund_window: Duration,
    /// How long to wait for the asynchronous parts to settle.
    pub settle_timeout: Duration,
    /// Makes user, store and rider ids unique to this run.
    pub run_id: String,
}

#[derive(Debug, thiserror::Error)]
#[error("scenario step `{step}`: {reason}")]
pub struct ScenarioError {
    pub step: String,
    pub reason: String,
}

fn fail(step: &str, reason: impl Into<String>) -> ScenarioError {
    ScenarioError { step: step.to_owned(), reason: reason.into() }
}

#[derive(Debug, Clone)]
pub struct RequestRecord {
    pub at: DateTime<Utc>,
    pub who: String,
    pub method: String,
    pub path: String,
    pub status: u16,
    pub millis: u128,
    /// Polling (waiting for a status, reading lists until they settle):
    /// counted, not shown in the timeline.
    pub polling: bool,
}

#[derive(Debug, Clone)]
pub struct EventRecord {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    /// The broker record's timestamp (when the producer sent it).
    pub at: DateTime<Utc>,
    pub value: Value,
}

#[derive(Debug, Clone)]
pub struct Check {
    pub name: String,
    pub detail: String,
}

/// What the scenario did and saw.
#[derive(Debug, Default)]
pub struct ScenarioReport {
    pub started: Option<DateTime<Utc>>,
    pub requests: Vec<RequestRecord>,
    /// Every record of the three topics about this run's orders.
    pub events: Vec<EventRecord>,
    /// Final state of each order, by its label in the scenario.
    pub orders: BTreeMap<String, Value>,
    /// (recipient label, notification)
    pub notifications: Vec<(String, Value)>,
    pub logs: Vec<Value>,
    pub checks: Vec<Check>,
    /// Wall-clock times from rider assignment to completion, read from the
    /// delivery-events records.
    pub delivery_times: Vec<Duration>,
}

struct Client {
    api: ApiClient,
    tokens: BTreeMap<String, String>,
    requests: Vec<RequestRecord>,
    polling: bool,
}

impl Client {
    async fn call(
        &mut self,
        who: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<ApiAnswer, ScenarioError> {
        self.call_with(who, method, path, body, &[]).await
    }

    async fn call_with(
        &mut self,
        who: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Result<ApiAnswer, ScenarioError> {
        let token = self.tokens.get(who).cloned();
        let at = Utc::now();
        let started = Instant::now();
        let answer = self
            .api
            .send(token.as_deref(), method.clone(), path, body.as_ref(), headers)
            .await
            .map_err(|e| fail(path, format!("{method} {path}: {e}")))?;
        self.requests.push(RequestRecord {
            at,
            who: who.to_owned(),
            method: method.to_string(),
            path: path.to_owned(),
            status: answer.status,
            millis: started.elapsed().as_millis(),
            polling: self.polling,
        });
        Ok(answer)
    }

    /// Calls and insists on `expected`.
    async fn expect(
        &mut self,
        step: &str,
        who: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
        expected: &[u16],
    ) -> Result<Value, ScenarioError> {
        let answer = self.call(who, method.clone(), path, body).await?;
        if !expected.contains(&answer.status) {
            return Err(fail(
                step,
                format!("{method} {path} answered {} {}, expected {expected:?}", answer.status, answer.body),
            ));
        }
        Ok(answer.body)
    }

    /// Polls the order until its status is `wanted` (or the timeout).
    async fn wait_for(
        &mut self,
        step: &str,
        who: &str,
        order: &str,
        wanted: &str,
        timeout: Duration,
    ) -> Result<Value, ScenarioError> {
        let until = Instant::now() + timeout;
        loop {
            self.polling = true;
            let body = self.expect(step, who, Method::GET, &format!("/orders/{order}"), None, &[200]).await;
            self.polling = false;
            let body = body?;
            if body["status"] == wanted {
                return Ok(body);
            }
            if Instant::now() > until {
                return Err(fail(
                    step,
                    format!("order {order} still {} after {timeout:?}, waiting for {wanted}", body["status"]),
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Every page of a list.
    async fn list_all(&mut self, step: &str, who: &str, path: &str) -> Result<Vec<Value>, ScenarioError> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page_path = page_path(path, cursor.as_deref());
            let page = self.expect(step, who, Method::GET, &page_path, None, &[200]).await?;
            items.extend(page["items"].as_array().cloned().unwrap_or_default());
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return Ok(items),
            }
        }
    }
}

/// What the scenario's consumer has read so far.
type Collected = Arc<Mutex<Vec<EventRecord>>>;

/// Reads the three topics from the start with a group of its own.
fn collect_events(
    bootstrap: &str,
    topic_prefix: &str,
    run_id: &str,
) -> Result<(Collected, tokio::task::JoinHandle<()>), ScenarioError> {
    let mut properties = ClientConfig::new();
    for (key, value) in foodstream_kafka::consumer_properties() {
        properties.set(key, value);
    }
    let consumer: StreamConsumer = properties
        .set("bootstrap.servers", bootstrap)
        .set("group.id", format!("scenario-{run_id}"))
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .create()
        .map_err(|e| fail("kafka consumer", e.to_string()))?;
    let topics: Vec<String> = TOPICS.iter().map(|t| format!("{topic_prefix}{t}")).collect();
    let topics: Vec<&str> = topics.iter().map(String::as_str).collect();
    consumer.subscribe(&topics).map_err(|e| fail("kafka consumer", e.to_string()))?;
    let prefix = topic_prefix.to_owned();
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let task = tokio::spawn(async move {
        loop {
            let Ok(message) = consumer.recv().await else { continue };
            let Some(value) = message.payload().and_then(|p| serde_json::from_slice::<Value>(p).ok()) else {
                continue;
            };
            let at = message
                .timestamp()
                .to_millis()
                .and_then(DateTime::from_timestamp_millis)
                .unwrap_or_else(Utc::now);
            sink.lock().expect("events lock").push(EventRecord {
                // The template's name, whatever the prefix.
                topic: message.topic().strip_prefix(prefix.as_str()).unwrap_or(message.topic()).to_owned(),
                partition: message.partition(),
                offset: message.offset(),
                at,
                value,
            });
        }
    });
    Ok((events, task))
}

/// Who plays which part.
struct Cast {
    customer: String,
    other_customer: String,
    owner: String,
    store: String,
    zone: String,
    empty_zone: String,
}

fn order_body(cast: &Cast, items: Value, district: &str) -> Value {
    json!({
        "store_id": cast.store,
        "items": items,
        "address": {"street": "1 Teheran-ro", "district": district, "city": "Seoul"},
    })
}

pub async fn play(config: &ScenarioConfig) -> Result<ScenarioReport, ScenarioError> {
    let run = &config.run_id;
    let cast = Cast {
        customer: format!("customer-{run}"),
        other_customer: format!("customer-b-{run}"),
        owner: format!("owner-{run}"),
        store: format!("store-{run}"),
        zone: format!("Gangnam-{run}"),
        empty_zone: format!("Jongno-{run}"),
    };
    let now = Utc::now().timestamp() as u64;
    let mint = |sub: &str, role: &str, store: Option<&str>| {
        jwt::mint(&Claims::new(sub, role, store, now, 3600), &config.jwt_secret)
            .map_err(|e| fail("token", e.to_string()))
    };
    let tokens = BTreeMap::from([
        ("customer".to_string(), mint(&cast.customer, "customer", None)?),
        ("customer-b".to_string(), mint(&cast.other_customer, "customer", None)?),
        ("owner".to_string(), mint(&cast.owner, "owner", Some(&cast.store))?),
        ("operator".to_string(), mint(&format!("operator-{run}"), "operator", None)?),
    ]);
    let mut c = Client {
        api: ApiClient::new(config.api.trim_end_matches('/')),
        tokens,
        requests: Vec::new(),
        polling: false,
    };
    let (events, collector) = collect_events(&config.kafka_bootstrap, &config.topic_prefix, run)?;
    let mut report = ScenarioReport { started: Some(Utc::now()), ..ScenarioReport::default() };
    let delivery_wait = config.delivery_duration + Duration::from_secs(20);
    let mut orders: BTreeMap<String, String> = BTreeMap::new();

    // Riders and menu.
    for (rider, zone) in [("rider-1", &cast.zone), ("rider-2", &cast.zone)] {
        c.expect(
            "register riders",
            "operator",
            Method::PUT,
            &format!("/riders/{rider}-{run}"),
            Some(json!({"zone": zone})),
            &[200, 201],
        )
        .await?;
    }
    let store = cast.store.clone();
    for (product, name, price, stock) in [
        ("chicken", "Fried chicken", 18000, 20),
        ("cola", "Cola", 2000, 50),
        ("tteok", "Tteokbokki", 9000, 1),
    ] {
        c.expect(
            "menu",
            "owner",
            Method::PUT,
            &format!("/stores/{store}/menu/{product}"),
            Some(json!({"name": name, "price": price, "stock": stock})),
            &[200, 201],
        )
        .await?;
    }
    let menu =
        c.expect("menu", "customer", Method::GET, &format!("/stores/{store}/menu"), None, &[200]).await?;
    if menu["items"].as_array().map(Vec::len) != Some(3) {
        return Err(fail("menu", format!("expected 3 items, got {menu}")));
    }

    let chicken = |quantity: u32| json!([{"product_id": "chicken", "quantity": quantity}, {"product_id": "cola", "quantity": 1}]);
    let mut place = async |c: &mut Client,
                           label: &str,
                           items: Value,
                           district: &str,
                           key: Option<&str>|
           -> Result<String, ScenarioError> {
        let headers: Vec<(&str, &str)> = key.map(|k| vec![("idempotency-key", k)]).unwrap_or_default();
        let answer = c
            .call_with(
                "customer",
                Method::POST,
                "/orders",
                Some(order_body(&cast, items, district)),
                &headers,
            )
            .await?;
        if answer.status != 201 || answer.body["status"] != "PAID" {
            return Err(fail(label, format!("placing answered {} {}", answer.status, answer.body)));
        }
        let id = answer.body["order_id"].as_str().unwrap_or_default().to_owned();
        orders.insert(label.to_owned(), id.clone());
        Ok(id)
    };

    // 1. Placed, retried with its idempotency key, then cancelled by the customer.
    let key = format!("key-{run}");
    let cancelled = place(&mut c, "cancelled by customer", chicken(2), &cast.zone, Some(&key)).await?;
    let retry = c
        .call_with(
            "customer",
            Method::POST,
            "/orders",
            Some(order_body(&cast, chicken(2), &cast.zone)),
            &[("idempotency-key", &key)],
        )
        .await?;
    if retry.body["order_id"] != cancelled.as_str() {
        return Err(fail(
            "idempotent retry",
            format!("a retry with the same key answered {} {}", retry.status, retry.body),
        ));
    }
    let reuse = c
        .call_with(
            "customer",
            Method::POST,
            "/orders",
            Some(order_body(&cast, chicken(3), &cast.zone)),
            &[("idempotency-key", &key)],
        )
        .await?;
    if reuse.status != 409 {
        return Err(fail(
            "idempotency key reused",
            format!("the same key with another body answered {}", reuse.status),
        ));
    }
    c.expect("cancel", "customer", Method::POST, &format!("/orders/{cancelled}/cancel"), None, &[200])
        .await?;
    c.expect("cancel twice", "customer", Method::POST, &format!("/orders/{cancelled}/cancel"), None, &[409])
        .await?;

    // 2. Short stock: 409 naming the line, nothing taken.
    let short = c
        .call(
            "customer",
            Method::POST,
            "/orders",
            Some(order_body(&cast, json!([{"product_id": "tteok", "quantity": 2}]), &cast.zone)),
        )
        .await?;
    if short.status != 409 {
        return Err(fail("short stock", format!("answered {} {}", short.status, short.body)));
    }

    // 3. Rejected by the owner.
    let rejected = place(&mut c, "rejected by owner", chicken(1), &cast.zone, None).await?;
    let listed = c
        .expect(
            "owner lists new orders",
            "owner",
            Method::GET,
            &format!("/stores/{store}/orders?status=PAID"),
            None,
            &[200],
        )
        .await?;
    if !listed["items"].as_array().into_iter().flatten().any(|o| o["order_id"] == rejected.as_str()) {
        return Err(fail("owner lists new orders", "the new order is not in the owner's PAID list"));
    }
    c.expect(
        "reject",
        "owner",
        Method::POST,
        &format!("/orders/{rejected}/reject"),
        Some(json!({"reason": "closing early"})),
        &[200],
    )
    .await?;

    // 4. Another customer cannot see the order.
    c.expect("privacy", "customer-b", Method::GET, &format!("/orders/{rejected}"), None, &[404]).await?;

    // 5. Delivered, then refunded (approve + REFUND).
    let deliver = async |c: &mut Client, step: &str, order: &str| -> Result<Value, ScenarioError> {
        c.expect(step, "owner", Method::POST, &format!("/orders/{order}/accept"), None, &[200]).await?;
        c.expect(
            step,
            "owner",
            Method::POST,
            &format!("/orders/{order}/delivery-requests"),
            None,
            &[200, 202],
        )
        .await?;
        c.wait_for(step, "customer", order, "DELIVERED", delivery_wait).await
    };
    let photo = async |c: &mut Client, step: &str, order: &str| -> Result<String, ScenarioError> {
        let upload = c
            .expect(
                step,
                "customer",
                Method::POST,
                &format!("/orders/{order}/refund-photos"),
                Some(json!({"content_type": "image/jpeg"})),
                &[200, 201],
            )
            .await?;
        let sent = c.api.upload_photo(&upload, "image/jpeg", vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10]).await;
        match sent {
            Ok(r) if r.status().is_success() => {
                Ok(upload["photo_key"].as_str().unwrap_or_default().to_owned())
            }
            Ok(r) => Err(fail(step, format!("photo upload answered {}", r.status()))),
            Err(e) => Err(fail(step, format!("photo upload: {e}"))),
        }
    };
    let refunded = place(&mut c, "refunded", chicken(1), &cast.zone, None).await?;
    deliver(&mut c, "deliver", &refunded).await?;
    let key = photo(&mut c, "refund photo", &refunded).await?;
    c.expect(
        "refund request",
        "customer",
        Method::POST,
        &format!("/orders/{refunded}/refund-request"),
        Some(json!({"photo_key": key, "reason": "The chicken was cold.", "method": "REFUND"})),
        &[200],
    )
    .await?;
    c.expect(
        "refund approved",
        "owner",
        Method::POST,
        &format!("/orders/{refunded}/refund-request/decision"),
        Some(json!({"approve": true})),
        &[200],
    )
    .await?;

    // 6. Delivered, then redelivered (approve + REDELIVER).
    let redelivered = place(&mut c, "redelivered", chicken(1), &cast.zone, None).await?;
    deliver(&mut c, "deliver", &redelivered).await?;
    let key = photo(&mut c, "refund photo", &redelivered).await?;
    c.expect(
        "redelivery request",
        "customer",
        Method::POST,
        &format!("/orders/{redelivered}/refund-request"),
        Some(json!({"photo_key": key, "reason": "Wrong drink.", "method": "REDELIVER"})),
        &[200],
    )
    .await?;
    c.expect(
        "redelivery approved",
        "owner",
        Method::POST,
        &format!("/orders/{redelivered}/refund-request/decision"),
        Some(json!({"approve": true})),
        &[200],
    )
    .await?;
    c.wait_for("redelivery", "customer", &redelivered, "DELIVERED", delivery_wait).await?;

    // 7. Delivered, refund rejected with a reason: back to DELIVERED.
    let kept = place(&mut c, "refund rejected", chicken(1), &cast.zone, None).await?;
    deliver(&mut c, "deliver", &kept).await?;
    let key = photo(&mut c, "refund photo", &kept).await?;
    c.expect(
        "refund request",
        "customer",
        Method::POST,
        &format!("/orders/{kept}/refund-request"),
        Some(json!({"photo_key": key, "reason": "Too salty.", "method": "REFUND"})),
        &[200],
    )
    .await?;
    c.expect(
        "refund rejected",
        "owner",
        Method::POST,
        &format!("/orders/{kept}/refund-request/decision"),
        Some(json!({"approve": false, "reason": "Photo shows a full box."})),
        &[200],
    )
    .await?;

    // 8. No rider in the zone: DELIVERY_FAILED, then cancelled by the owner.
    let failed = place(&mut c, "delivery failed", chicken(1), &cast.empty_zone, None).await?;
    c.expect("accept", "owner", Method::POST, &format!("/orders/{failed}/accept"), None, &[200]).await?;
    c.expect(
        "delivery request",
        "owner",
        Method::POST,
        &format!("/orders/{failed}/delivery-requests"),
        None,
        &[200, 202],
    )
    .await?;
    c.wait_for("delivery fails", "customer", &failed, "DELIVERY_FAILED", delivery_wait).await?;
    c.expect("owner cancels", "owner", Method::POST, &format!("/orders/{failed}/cancel"), None, &[200])
        .await?;

    // 9. The refund window, when it is short enough to wait out.
    if config.refund_window <= Duration::from_secs(30) {
        let late = place(&mut c, "late refund refused", chicken(1), &cast.zone, None).await?;
        deliver(&mut c, "deliver", &late).await?;
        let key = photo(&mut c, "refund photo", &late).await?;
        tokio::time::sleep(config.refund_window + Duration::from_millis(500)).await;
        let answer = c
            .call(
                "customer",
                Method::POST,
                &format!("/orders/{late}/refund-request"),
                Some(json!({"photo_key": key, "reason": "Late.", "method": "REFUND"})),
            )
            .await?;
        if answer.status != 409 {
            return Err(fail(
                "late refund",
                format!("a refund after the window answered {} {}", answer.status, answer.body),
            ));
        }
        report.checks.push(Check {
            name: "refund window".into(),
            detail: format!(
                "a request {:.1} s after delivery was refused: {}",
                config.refund_window.as_secs_f64() + 0.5,
                answer.body["error"]["code"]
            ),
        });
    }

    let expected_final = BTreeMap::from([
        ("cancelled by customer", "CANCELLED"),
        ("rejected by owner", "REJECTED"),
        ("refunded", "REFUNDED"),
        ("redelivered", "DELIVERED"),
        ("refund rejected", "DELIVERED"),
        ("delivery failed", "CANCELLED"),
        ("late refund refused", "DELIVERED"),
    ]);
    for (label, id) in &orders {
        let order =
            c.expect("final state", "customer", Method::GET, &format!("/orders/{id}"), None, &[200]).await?;
        if order["status"] != expected_final[label.as_str()] {
            return Err(fail(
                "final state",
                format!("{label}: {} (expected {})", order["status"], expected_final[label.as_str()]),
            ));
        }
        report.orders.insert(label.clone(), order);
    }
    let rejected_refund = &report.orders["refund rejected"]["refund"];
    if rejected_refund["decision_reason"] != "Photo shows a full box." {
        return Err(fail(
            "refund rejected",
            format!("the reason is not visible to the customer: {rejected_refund}"),
        ));
    }
    let stock =
        c.expect("stock", "customer", Method::GET, &format!("/stores/{store}/menu"), None, &[200]).await?;
    let tteok = stock["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|i| i["product_id"] == "tteok")
        .cloned()
        .unwrap_or_default();
    if tteok["stock"] != 1 {
        return Err(fail("stock", format!("the short order took stock: {tteok}")));
    }
    report.checks.push(Check { name: "order states".into(), detail: format!("{} orders ended as the rules say; short stock took nothing; an idempotent retry returned the same order", orders.len()) });

    settle(&mut c, config, &cast, &orders, &events, &mut report).await?;
    collector.abort();
    report.requests = std::mem::take(&mut c.requests);
    Ok(report)
}

/// Waits until the asynchronous promises hold, then records them as checks:
/// an event per status change, both channels for every recipient, a log
/// record per notification, and the delivery time.
async fn settle(
    c: &mut Client,
    config: &ScenarioConfig,
    cast: &Cast,
    orders: &BTreeMap<String, String>,
    events: &Collected,
    report: &mut ScenarioReport,
) -> Result<(), ScenarioError> {
    let ids: BTreeSet<&str> = orders.values().map(String::as_str).collect();
    let until = Instant::now() + config.settle_timeout;
    c.polling = true;
    loop {
        let ours: Vec<EventRecord> = events
            .lock()
            .expect("events lock")
            .iter()
            .filter(|e| e.value["order_id"].as_str().is_some_and(|id| ids.contains(id)))
            .cloned()
            .collect();
        let customer = c.list_all("notifications", "customer", "/me/notifications").await?;
        let owner = c.list_all("notifications", "owner", "/me/notifications").await?;
        let mut logs = Vec::new();
        for id in &ids {
            logs.extend(c.list_all("logs", "operator", &format!("/ops/logs?order_id={id}")).await?);
        }
        let problems = promises(&report.orders, &ours, &customer, &owner, &logs);
        if problems.is_empty() || Instant::now() > until {
            if !problems.is_empty() {
                return Err(fail("settle", problems.join("; ")));
            }
            report.events = ours;
            report.events.sort_by_key(|e| e.at);
            report.notifications = customer
                .into_iter()
                .map(|n| (cast.customer.clone(), n))
                .chain(owner.into_iter().map(|n| (cast.store.clone(), n)))
                .collect();
            report.logs = logs;
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let transitions: usize =
        report.orders.values().map(|o| o["timeline"].as_array().map_or(0, Vec::len)).sum();
    report.checks.push(Check {
        name: "events".into(),
        detail: format!("{transitions} status changes, each one event on order-events"),
    });
    report.checks.push(Check { name: "notifications".into(), detail: format!("{} notifications: every status change to the customer, new orders, cancellations and refund requests to the store, each on app-push and kakao-talk", report.notifications.len()) });
    report.checks.push(Check {
        name: "logs".into(),
        detail: format!("{} log records, one per notification", report.logs.len()),
    });

    // Delivery time: from the assignment (the moment the rider was taken,
    // the RiderAssigned event's `occurred_at`) to the completion's record
    // reaching the broker. The assignment's own record leaves later, after
    // the write that took the rider (longer under emulation), so its
    // broker timestamp is not when the delivery started.
    let mut assigned: BTreeMap<(String, u64), DateTime<Utc>> = BTreeMap::new();
    for e in report.events.iter().filter(|e| e.topic == topics::DELIVERY_EVENTS) {
        let key = (
            e.value["order_id"].as_str().unwrap_or_default().to_owned(),
            e.value["order_version"].as_u64().unwrap_or_default(),
        );
        match e.value["event_type"].as_str() {
            Some("RiderAssigned") => {
                let decided = e.value["occurred_at"].as_str().and_then(|t| t.parse::<DateTime<Utc>>().ok());
                assigned.entry(key).or_insert(decided.unwrap_or(e.at));
            }
            Some("DeliveryCompleted") => {
                if let Some(start) = assigned.get(&key) {
                    report.delivery_times.push((e.at - *start).to_std().unwrap_or_default());
                }
            }
            _ => {}
        }
    }
    let slowest = report.delivery_times.iter().max().copied().unwrap_or_default();
    let fastest = report.delivery_times.iter().min().copied().unwrap_or_default();
    if report.delivery_times.is_empty()
        // The broker's timestamps are whole milliseconds.
        || fastest + Duration::from_millis(1) < config.delivery_duration
        || slowest > config.delivery_duration + Duration::from_secs(2)
    {
        return Err(fail(
            "delivery time",
            format!(
                "assignment to completion took {:?} (configured {:?})",
                report.delivery_times, config.delivery_duration
            ),
        ));
    }
    report.checks.push(Check {
        name: "delivery time".into(),
        detail: format!(
            "{} deliveries completed {:.3}..{:.3} s after assignment (configured {:.3} s)",
            report.delivery_times.len(),
            fastest.as_secs_f64(),
            slowest.as_secs_f64(),
            config.delivery_duration.as_secs_f64()
        ),
    });
    Ok(())
}

/// What still does not hold; empty when everything does.
fn promises(
    orders: &BTreeMap<String, Value>,
    events: &[EventRecord],
    customer: &[Value],
    owner: &[Value],
    logs: &[Value],
) -> Vec<String> {
    let mut problems = Vec::new();
    for (label, order) in orders {
        let id = order["order_id"].as_str().unwrap_or_default();
        let timeline: Vec<&str> =
            order["timeline"].as_array().into_iter().flatten().filter_map(|t| t["status"].as_str()).collect();
        let versions: BTreeSet<u64> = events
            .iter()
            .filter(|e| e.topic == topics::ORDER_EVENTS && e.value["order_id"] == id)
            .filter_map(|e| e.value["order_version"].as_u64())
            .collect();
        if versions.len() != timeline.len() {
            problems.push(format!(
                "{label}: {} order events for {} status changes",
                versions.len(),
                timeline.len()
            ));
        }
        let count = |list: &[Value]| list.iter().filter(|n| n["order_id"] == id).count();
        let to_customer = count(customer);
        if to_customer != 2 * timeline.len() {
            problems.push(format!(
                "{label}: {to_customer} customer notifications for {} status changes",
                timeline.len()
            ));
        }
        let store_statuses =
            timeline.iter().filter(|s| matches!(**s, "PAID" | "CANCELLED" | "REFUND_REQUESTED")).count();
        let to_store = count(owner);
        if to_store != 2 * store_statuses {
            problems
                .push(format!("{label}: {to_store} store notifications, expected {}", 2 * store_statuses));
        }
        let logged = count(logs);
        if logged != to_customer + to_store {
            problems
                .push(format!("{label}: {logged} log records for {} notifications", to_customer + to_store));
        }
    }
    problems
}

impl ScenarioReport {
    /// The timeline a person reads at a glance: requests, events per topic,
    /// notifications and logs in order, with times from the start.
    pub fn timeline(&self) -> String {
        let start = self.started.unwrap_or_else(Utc::now);
        let offset = |at: DateTime<Utc>| (at - start).num_milliseconds() as f64 / 1000.0;
        let short = |id: &str| id.chars().take(8).collect::<String>();
        let ids: Vec<&str> = self.orders.values().filter_map(|o| o["order_id"].as_str()).collect();
        let shorten_path = |path: &str| ids.iter().fold(path.to_owned(), |p, id| p.replace(id, &short(id)));
        let mut lines: Vec<(DateTime<Utc>, u8, String)> = Vec::new();
        for r in self.requests.iter().filter(|r| !r.polling) {
            lines.push((
                r.at,
                0,
                format!(
                    "HTTP   {:<10} {:<5} {:<44} {} {:>4} ms",
                    r.who,
                    r.method,
                    shorten_path(&r.path),
                    r.status,
                    r.millis
                ),
            ));
        }
        // Notifications at the moment the notifier produced them (their
        // log-events records), one line per recipient and status change.
        // (order, version, recipient) -> (first produced, channels)
        type Produced = BTreeMap<(String, u64, String), (DateTime<Utc>, Vec<String>)>;
        let mut produced = Produced::new();
        for e in &self.events {
            let v = &e.value;
            match e.topic.as_str() {
                topics::ORDER_EVENTS => lines.push((
                    e.at,
                    1,
                    format!(
                        "KAFKA  order-events    {:<22} order {} v{} -> {}",
                        v["event_type"].as_str().unwrap_or_default(),
                        short(v["order_id"].as_str().unwrap_or_default()),
                        v["order_version"],
                        v["data"]["status"].as_str().unwrap_or_default()
                    ),
                )),
                topics::DELIVERY_EVENTS => lines.push((
                    e.at,
                    1,
                    format!(
                        "KAFKA  delivery-events {:<22} order {} {}{}",
                        v["event_type"].as_str().unwrap_or_default(),
                        short(v["order_id"].as_str().unwrap_or_default()),
                        v["data"]["rider_id"].as_str().map(|r| format!("rider {r}")).unwrap_or_default(),
                        v["data"]["reason"].as_str().map(|r| format!("reason {r}")).unwrap_or_default()
                    ),
                )),
                _ => {
                    let key = (
                        v["order_id"].as_str().unwrap_or_default().to_owned(),
                        v["order_version"].as_u64().unwrap_or_default(),
                        v["data"]["user_id"].as_str().unwrap_or_default().to_owned(),
                    );
                    let entry = produced.entry(key).or_insert((e.at, Vec::new()));
                    entry.0 = entry.0.min(e.at);
                    let channel = v["data"]["channel"].as_str().unwrap_or_default().to_owned();
                    if !entry.1.contains(&channel) {
                        entry.1.push(channel);
                    }
                }
            }
        }
        for ((order, version, to), (at, mut channels)) in produced {
            channels.sort();
            let status = self
                .orders
                .values()
                .find(|o| o["order_id"] == order.as_str())
                .and_then(|o| o["timeline"].get(version.saturating_sub(1) as usize))
                .and_then(|t| t["status"].as_str())
                .unwrap_or_default()
                .to_owned();
            let title = self
                .notifications
                .iter()
                .find(|(who, n)| {
                    *who == to
                        && n["notification_id"].as_str().is_some_and(|id| {
                            id.starts_with(&format!("{order}.v{version}.")) && id.ends_with("app-push")
                        })
                })
                .and_then(|(_, n)| n["title"].as_str())
                .unwrap_or_default();
            lines.push((
                at,
                2,
                format!(
                    "NOTIFY order {} {:<18} -> {:<20} [{}] {title}",
                    short(&order),
                    status,
                    to,
                    channels.join(", ")
                ),
            ));
        }
        lines.sort_by_key(|(at, kind, _)| (*at, *kind));
        let mut out = String::new();
        for (at, _, line) in lines {
            out.push_str(&format!("{:>8.3}s  {line}\n", offset(at)));
        }
        out.push_str("\nOrders:\n");
        for (label, order) in &self.orders {
            let path: Vec<&str> = order["timeline"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|t| t["status"].as_str())
                .collect();
            let id = order["order_id"].as_str().unwrap_or_default();
            let logged = self.logs.iter().filter(|l| l["order_id"] == id).count();
            out.push_str(&format!(
                "  {:<22} {}  {}  ({logged} log records)\n",
                label,
                short(id),
                path.join(" -> ")
            ));
        }
        let per_topic = |t: &str| self.events.iter().filter(|e| e.topic == t).count();
        out.push_str(&format!(
            "\n{} requests ({} of them polling, not shown); events: order-events {}, delivery-events {}, log-events {}; {} notifications; {} log records\n",
            self.requests.len(),
            self.requests.iter().filter(|r| r.polling).count(),
            per_topic(topics::ORDER_EVENTS),
            per_topic(topics::DELIVERY_EVENTS),
            per_topic(topics::LOG_EVENTS),
            self.notifications.len(),
            self.logs.len()
        ));
        out.push_str("\nChecks passed:\n");
        for check in &self.checks {
            out.push_str(&format!("  ok  {:<14} {}\n", check.name, check.detail));
        }
        out
    }
}
