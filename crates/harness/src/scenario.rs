//! A client of our own: the whole scenario of SPEC section 2 played through
//! the HTTP API (tokens minted as `make token` mints them), the three topics
//! read by a consumer of its own, and the system's promises checked: every
//! order ends where the rules say, delivery takes the configured time, every
//! status change is an event and notifies its recipients on both channels,
//! and every notification is a log record. [`ScenarioReport::timeline`] prints what
//! happened in order, with timings. `make demo` and the end-to-end tests run
//! it.

use crate::api::{ApiAnswer, ApiClient, Route, page_path};
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

/// The topics the scenario reads, as the template names them (before the
/// stack's prefix).
pub const TOPICS: [&str; 3] = topics::ALL;

/// Where the stack is and how it is set up, for [`play`].
#[derive(Debug, Clone)]
pub struct ScenarioConfig {
    /// The API's base URL.
    pub api: String,
    /// The broker's bootstrap servers.
    pub kafka_bootstrap: String,
    /// The stack's topic prefix (`KAFKA_TOPIC_PREFIX`).
    pub topic_prefix: String,
    /// The secret the tokens are signed with.
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

/// The step of the scenario that failed, and why.
#[derive(Debug, thiserror::Error)]
#[error("scenario step `{step}`: {reason}")]
pub struct ScenarioError {
    /// The step.
    pub step: String,
    /// What went wrong.
    pub reason: String,
}

fn fail(step: &str, reason: impl Into<String>) -> ScenarioError {
    ScenarioError { step: step.to_owned(), reason: reason.into() }
}

/// One request the scenario sent, and its answer's status and time.
#[derive(Debug, Clone)]
pub struct RequestRecord {
    /// When it was sent.
    pub at: DateTime<Utc>,
    /// The caller (`customer`, `owner`, ...).
    pub who: String,
    /// The HTTP method.
    pub method: String,
    /// The path, with its query.
    pub path: String,
    /// The answer's status.
    pub status: u16,
    /// How long the answer took, in ms.
    pub millis: u128,
    /// Polling (waiting for a status, reading lists until they settle):
    /// counted, not shown in the timeline.
    pub polling: bool,
}

/// One record read from the topics.
#[derive(Debug, Clone)]
pub struct EventRecord {
    /// The topic, as the template names it (without the stack's prefix).
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// The offset.
    pub offset: i64,
    /// The broker record's timestamp (when the producer sent it).
    pub at: DateTime<Utc>,
    /// The record's JSON value.
    pub value: Value,
}

/// A promise of the system the scenario checked, and what it found.
#[derive(Debug, Clone)]
pub struct Check {
    /// The promise.
    pub name: String,
    /// What was found.
    pub detail: String,
}

/// What the scenario did and saw.
#[derive(Debug, Default)]
pub struct ScenarioReport {
    /// When the scenario started: the timeline's zero.
    pub started: Option<DateTime<Utc>>,
    /// Every request sent, in order.
    pub requests: Vec<RequestRecord>,
    /// Every record of the three topics about this run's orders.
    pub events: Vec<EventRecord>,
    /// Final state of each order, by its label in the scenario.
    pub orders: BTreeMap<String, Value>,
    /// (recipient label, notification)
    pub notifications: Vec<(String, Value)>,
    /// The log records of this run's orders (`GET /ops/logs`).
    pub logs: Vec<Value>,
    /// The promises checked.
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
        route: Route<'_>,
        body: Option<Value>,
    ) -> Result<ApiAnswer, ScenarioError> {
        self.call_with(who, route, body, &[]).await
    }

    async fn call_with(
        &mut self,
        who: &str,
        route: Route<'_>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Result<ApiAnswer, ScenarioError> {
        self.send(who, route.method(), &route.path(), body, headers).await
    }

    /// `method path` as is: a route's path with a query.
    async fn send(
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

    /// Calls `route` and insists on `expected`.
    async fn expect(
        &mut self,
        step: &str,
        who: &str,
        route: Route<'_>,
        body: Option<Value>,
        expected: &[u16],
    ) -> Result<Value, ScenarioError> {
        self.expect_at(step, who, route.method(), &route.path(), body, expected).await
    }

    /// Sends `method path` as is (a route's path with a query) and insists
    /// on `expected`.
    async fn expect_at(
        &mut self,
        step: &str,
        who: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
        expected: &[u16],
    ) -> Result<Value, ScenarioError> {
        let answer = self.send(who, method.clone(), path, body, &[]).await?;
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
            let body = self.expect(step, who, Route::GetOrder { order }, None, &[200]).await;
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
            let page = self.expect_at(step, who, Method::GET, &page_path, None, &[200]).await?;
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

/// One story of SPEC section 2: a name and the requests that play it.
type Story = (&'static str, for<'s> fn(&'s mut Scene<'_>) -> StoryRun<'s>);
type StoryRun<'s> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), ScenarioError>> + 's>>;

/// The scenario, in order: each story leaves its orders in
/// [`Scene::orders`] under its label, and [`FINAL_STATES`] says where each
/// must end.
const STORIES: &[Story] = &[
    ("riders and menu", |s| Box::pin(s.riders_and_menu())),
    ("cancelled by customer", |s| Box::pin(s.cancelled_by_customer())),
    ("short stock", |s| Box::pin(s.short_stock())),
    ("rejected by owner", |s| Box::pin(s.rejected_by_owner())),
    ("refunded", |s| Box::pin(s.refund_story("refunded", "REFUND", true, "The chicken was cold."))),
    ("redelivered", |s| Box::pin(s.refund_story("redelivered", "REDELIVER", true, "Wrong drink."))),
    ("refund rejected", |s| Box::pin(s.refund_story("refund rejected", "REFUND", false, "Too salty."))),
    ("delivery failed", |s| Box::pin(s.delivery_failed())),
    ("late refund refused", |s| Box::pin(s.late_refund())),
    ("final states", |s| Box::pin(s.final_states())),
];

/// Where each story's order ends.
const FINAL_STATES: &[(&str, &str)] = &[
    ("cancelled by customer", "CANCELLED"),
    ("rejected by owner", "REJECTED"),
    ("refunded", "REFUNDED"),
    ("redelivered", "DELIVERED"),
    ("refund rejected", "DELIVERED"),
    ("delivery failed", "CANCELLED"),
    ("late refund refused", "DELIVERED"),
];

/// Why the owner rejects the refund in the "refund rejected" story.
const REFUND_REJECTION: &str = "Photo shows a full box.";

/// The scenario being played: the client, who is who, and what it found.
struct Scene<'a> {
    c: Client,
    config: &'a ScenarioConfig,
    cast: Cast,
    /// Each story's order, by the story's label.
    orders: BTreeMap<String, String>,
    report: ScenarioReport,
}

/// Plays the whole scenario against the stack of `config`, checks its
/// promises, and reports what it did and saw; the first failed step is the
/// error.
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
    let c = Client {
        api: ApiClient::new(config.api.trim_end_matches('/')),
        tokens,
        requests: Vec::new(),
        polling: false,
    };
    let (events, collector) = collect_events(&config.kafka_bootstrap, &config.topic_prefix, run)?;
    let report = ScenarioReport { started: Some(Utc::now()), ..ScenarioReport::default() };
    let mut scene = Scene { c, config, cast, orders: BTreeMap::new(), report };
    for (name, story) in STORIES {
        story(&mut scene).await.map_err(|e| ScenarioError { step: format!("{name}: {}", e.step), ..e })?;
    }
    let Scene { mut c, cast, orders, mut report, .. } = scene;
    settle(&mut c, config, &cast, &orders, &events, &mut report).await?;
    collector.abort();
    report.requests = std::mem::take(&mut c.requests);
    Ok(report)
}

impl Scene<'_> {
    fn delivery_wait(&self) -> Duration {
        self.config.delivery_duration + Duration::from_secs(20)
    }

    fn order_body(&self, quantity: u32, district: &str) -> Value {
        let items =
            json!([{"product_id": "chicken", "quantity": quantity}, {"product_id": "cola", "quantity": 1}]);
        order_body(&self.cast, items, district)
    }

    /// Places an order of chicken and cola as the customer; it is the
    /// story's order under `label`.
    async fn place(
        &mut self,
        label: &str,
        quantity: u32,
        district: &str,
        key: Option<&str>,
    ) -> Result<String, ScenarioError> {
        let headers: Vec<(&str, &str)> = key.map(|k| vec![("idempotency-key", k)]).unwrap_or_default();
        let body = self.order_body(quantity, district);
        let answer = self.c.call_with("customer", Route::PlaceOrder, Some(body), &headers).await?;
        if answer.status != 201 || answer.body["status"] != "PAID" {
            return Err(fail(label, format!("placing answered {} {}", answer.status, answer.body)));
        }
        let id = answer.body["order_id"].as_str().unwrap_or_default().to_owned();
        self.orders.insert(label.to_owned(), id.clone());
        Ok(id)
    }

    /// The owner accepts and calls a rider; the order is delivered.
    async fn deliver(&mut self, order: &str) -> Result<Value, ScenarioError> {
        let step = "deliver";
        self.c.expect(step, "owner", Route::AcceptOrder { order }, None, &[200]).await?;
        self.c.expect(step, "owner", Route::RequestDelivery { order }, None, &[200, 202]).await?;
        let wait = self.delivery_wait();
        self.c.wait_for(step, "customer", order, "DELIVERED", wait).await
    }

    /// The customer uploads a photo for a refund request; its key.
    async fn photo(&mut self, order: &str) -> Result<String, ScenarioError> {
        let step = "refund photo";
        let body = json!({"content_type": "image/jpeg"});
        let route = Route::CreateRefundPhoto { order };
        let upload = self.c.expect(step, "customer", route, Some(body), &[200, 201]).await?;
        let sent =
            self.c.api.upload_photo(&upload, "image/jpeg", vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10]).await;
        match sent {
            Ok(r) if r.status().is_success() => {
                Ok(upload["photo_key"].as_str().unwrap_or_default().to_owned())
            }
            Ok(r) => Err(fail(step, format!("photo upload answered {}", r.status()))),
            Err(e) => Err(fail(step, format!("photo upload: {e}"))),
        }
    }

    async fn riders_and_menu(&mut self) -> Result<(), ScenarioError> {
        let run = self.config.run_id.clone();
        for rider in ["rider-1", "rider-2"] {
            let body = json!({"zone": self.cast.zone});
            let rider = format!("{rider}-{run}");
            let route = Route::RegisterRider { rider: &rider };
            self.c.expect("register riders", "operator", route, Some(body), &[200, 201]).await?;
        }
        let store = self.cast.store.clone();
        for (product, name, price, stock) in [
            ("chicken", "Fried chicken", 18000, 20),
            ("cola", "Cola", 2000, 50),
            ("tteok", "Tteokbokki", 9000, 1),
        ] {
            let body = json!({"name": name, "price": price, "stock": stock});
            let route = Route::PutMenuItem { store: &store, product };
            self.c.expect("menu", "owner", route, Some(body), &[200, 201]).await?;
        }
        let menu = self.c.expect("menu", "customer", Route::ListMenu { store: &store }, None, &[200]).await?;
        if menu["items"].as_array().map(Vec::len) != Some(3) {
            return Err(fail("menu", format!("expected 3 items, got {menu}")));
        }
        Ok(())
    }

    /// Placed, retried with its idempotency key (same order), the key
    /// reused for another body (409), cancelled, cancelled again (409).
    async fn cancelled_by_customer(&mut self) -> Result<(), ScenarioError> {
        let key = format!("key-{}", self.config.run_id);
        let zone = self.cast.zone.clone();
        let cancelled = self.place("cancelled by customer", 2, &zone, Some(&key)).await?;
        let headers = [("idempotency-key", key.as_str())];
        let retry = self
            .c
            .call_with("customer", Route::PlaceOrder, Some(self.order_body(2, &zone)), &headers)
            .await?;
        if retry.body["order_id"] != cancelled.as_str() {
            let reason = format!("a retry with the same key answered {} {}", retry.status, retry.body);
            return Err(fail("idempotent retry", reason));
        }
        let reuse = self
            .c
            .call_with("customer", Route::PlaceOrder, Some(self.order_body(3, &zone)), &headers)
            .await?;
        if reuse.status != 409 {
            let reason = format!("the same key with another body answered {}", reuse.status);
            return Err(fail("idempotency key reused", reason));
        }
        let route = Route::CancelOrder { order: &cancelled };
        self.c.expect("cancel", "customer", route, None, &[200]).await?;
        self.c.expect("cancel twice", "customer", route, None, &[409]).await?;
        Ok(())
    }

    /// More than the stock: 409 naming the line, nothing taken.
    async fn short_stock(&mut self) -> Result<(), ScenarioError> {
        let body = order_body(&self.cast, json!([{"product_id": "tteok", "quantity": 2}]), &self.cast.zone);
        let short = self.c.call("customer", Route::PlaceOrder, Some(body)).await?;
        if short.status != 409 {
            return Err(fail("short stock", format!("answered {} {}", short.status, short.body)));
        }
        Ok(())
    }

    /// Listed among the store's new orders, rejected by the owner; another
    /// customer cannot see it.
    async fn rejected_by_owner(&mut self) -> Result<(), ScenarioError> {
        let zone = self.cast.zone.clone();
        let rejected = self.place("rejected by owner", 1, &zone, None).await?;
        let route = Route::ListStoreOrders { store: &self.cast.store };
        let path = route.query(&[("status", "PAID")]);
        let listed =
            self.c.expect_at("owner lists new orders", "owner", route.method(), &path, None, &[200]).await?;
        if !listed["items"].as_array().into_iter().flatten().any(|o| o["order_id"] == rejected.as_str()) {
            return Err(fail("owner lists new orders", "the new order is not in the owner's PAID list"));
        }
        let body = json!({"reason": "closing early"});
        let order = &rejected;
        self.c.expect("reject", "owner", Route::RejectOrder { order }, Some(body), &[200]).await?;
        self.c.expect("privacy", "customer-b", Route::GetOrder { order }, None, &[404]).await?;
        Ok(())
    }

    /// Delivered, then a refund request with a photo (`method`), which the
    /// owner approves or rejects (with [`REFUND_REJECTION`]).
    async fn refund_story(
        &mut self,
        label: &str,
        method: &str,
        approve: bool,
        reason: &str,
    ) -> Result<(), ScenarioError> {
        let zone = self.cast.zone.clone();
        let order = self.place(label, 1, &zone, None).await?;
        self.deliver(&order).await?;
        let key = self.photo(&order).await?;
        let body = json!({"photo_key": key, "reason": reason, "method": method});
        let route = Route::RequestRefund { order: &order };
        self.c.expect("refund request", "customer", route, Some(body), &[200]).await?;
        let decision = if approve {
            json!({"approve": true})
        } else {
            json!({"approve": false, "reason": REFUND_REJECTION})
        };
        let route = Route::DecideRefund { order: &order };
        self.c.expect("refund decision", "owner", route, Some(decision), &[200]).await?;
        if approve && method == "REDELIVER" {
            let wait = self.delivery_wait();
            self.c.wait_for("redelivery", "customer", &order, "DELIVERED", wait).await?;
        }
        Ok(())
    }

    /// No rider in the zone: DELIVERY_FAILED, then cancelled by the owner.
    async fn delivery_failed(&mut self) -> Result<(), ScenarioError> {
        let zone = self.cast.empty_zone.clone();
        let failed = self.place("delivery failed", 1, &zone, None).await?;
        let order = &failed;
        self.c.expect("accept", "owner", Route::AcceptOrder { order }, None, &[200]).await?;
        self.c
            .expect("delivery request", "owner", Route::RequestDelivery { order }, None, &[200, 202])
            .await?;
        let wait = self.delivery_wait();
        self.c.wait_for("delivery fails", "customer", &failed, "DELIVERY_FAILED", wait).await?;
        self.c.expect("owner cancels", "owner", Route::CancelOrder { order: &failed }, None, &[200]).await?;
        Ok(())
    }

    /// A refund asked for after the window: 409. Played only when the
    /// window is short enough to wait out.
    async fn late_refund(&mut self) -> Result<(), ScenarioError> {
        let window = self.config.refund_window;
        if window > Duration::from_secs(30) {
            return Ok(());
        }
        let zone = self.cast.zone.clone();
        let late = self.place("late refund refused", 1, &zone, None).await?;
        self.deliver(&late).await?;
        let key = self.photo(&late).await?;
        tokio::time::sleep(window + Duration::from_millis(500)).await;
        let body = json!({"photo_key": key, "reason": "Late.", "method": "REFUND"});
        let answer = self.c.call("customer", Route::RequestRefund { order: &late }, Some(body)).await?;
        if answer.status != 409 {
            let reason = format!("a refund after the window answered {} {}", answer.status, answer.body);
            return Err(fail("late refund", reason));
        }
        let detail = format!(
            "a request {:.1} s after delivery was refused: {}",
            window.as_secs_f64() + 0.5,
            answer.body["error"]["code"]
        );
        self.report.checks.push(Check { name: "refund window".into(), detail });
        Ok(())
    }

    /// Every story's order where the rules say; the rejected refund's
    /// reason visible to the customer; the short order took no stock.
    async fn final_states(&mut self) -> Result<(), ScenarioError> {
        let expected: BTreeMap<&str, &str> = FINAL_STATES.iter().copied().collect();
        for (label, id) in self.orders.clone() {
            let order = self
                .c
                .expect("final state", "customer", Route::GetOrder { order: &id }, None, &[200])
                .await?;
            if order["status"] != expected[label.as_str()] {
                let reason = format!("{label}: {} (expected {})", order["status"], expected[label.as_str()]);
                return Err(fail("final state", reason));
            }
            self.report.orders.insert(label, order);
        }
        let rejected_refund = &self.report.orders["refund rejected"]["refund"];
        if rejected_refund["decision_reason"] != REFUND_REJECTION {
            let reason = format!("the reason is not visible to the customer: {rejected_refund}");
            return Err(fail("refund rejected", reason));
        }
        let route = Route::ListMenu { store: &self.cast.store };
        let stock = self.c.expect("stock", "customer", route, None, &[200]).await?;
        let tteok =
            stock["items"].as_array().into_iter().flatten().find(|i| i["product_id"] == "tteok").cloned();
        if tteok.as_ref().map(|t| &t["stock"]) != Some(&json!(1)) {
            return Err(fail("stock", format!("the short order took stock: {tteok:?}")));
        }
        let detail = format!(
            "{} orders ended as the rules say; short stock took nothing; an idempotent retry returned the same order",
            self.orders.len()
        );
        self.report.checks.push(Check { name: "order states".into(), detail });
        Ok(())
    }
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
        let notifications = Route::ListMyNotifications.path();
        let customer = c.list_all("notifications", "customer", &notifications).await?;
        let owner = c.list_all("notifications", "owner", &notifications).await?;
        let mut logs = Vec::new();
        for id in &ids {
            let path = Route::ListLogs.query(&[("order_id", *id)]);
            logs.extend(c.list_all("logs", "operator", &path).await?);
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
