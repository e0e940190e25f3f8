//! The model-based test of the order lifecycle (`foodstream_harness::model`)
//! through the local stack: the same generator and reference model as the
//! in-memory test (`crates/application/tests/model.rs`), every call made
//! over HTTP with the API client, the asynchronous pipeline waited for
//! (bounded) instead of pumped.
//!
//! Bounded: a few sequences of up to 20 commands, on one stack, each under a
//! namespace of its own (stores, users, riders, zones). Over HTTP the clock
//! is not the test's, so no `Wait` is generated (the refund window stays the
//! template's 600 s and is never crossed; the in-memory test crosses it),
//! and every delivery request is waited for before the next command, so no
//! two deliveries race for one rider.
//!
//! `PROPTEST_CASES` overrides the number of sequences (4 by default).

mod support;

use foodstream_harness::api::Route;
use foodstream_harness::model::*;
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use support::{Settings, TestStack};

/// How long one pump waits for the pipeline to settle an order.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(30);

struct Http<'a> {
    t: &'a TestStack,
    names: Names,
    tokens: HashMap<Caller, String>,
}

impl Http<'_> {
    fn token(&mut self, caller: Caller) -> String {
        let (t, names) = (self.t, &self.names);
        self.tokens
            .entry(caller)
            .or_insert_with(|| match caller {
                Caller::Customer(i) => t.token(&names.customer(i), "customer", None),
                Caller::Owner(i) => t.token(&names.owner(i), "owner", Some(&names.store(i))),
                Caller::Operator => t.token(&names.operator(), "operator", None),
            })
            .clone()
    }

    async fn send(
        &mut self,
        caller: Caller,
        route: Route<'_>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> (u16, Value) {
        self.send_at(caller, route.method(), &route.path(), body, headers).await
    }

    /// `method path` as is: a route's path with a query.
    async fn send_at(
        &mut self,
        caller: Caller,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> (u16, Value) {
        let token = self.token(caller);
        let answer = self
            .t
            .api
            .send(Some(&token), method.clone(), path, body.as_ref(), headers)
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: the gateway answers: {e}"));
        (answer.status, answer.body)
    }
}

impl Executor for Http<'_> {
    async fn call(&mut self, call: &Call, ids: &[String]) -> (u16, Value, Option<bool>) {
        let id = call.order_id(ids).to_owned();
        let (status, body) = match call.clone() {
            Call::PutMenu { caller, store, product, price, stock, if_match } => {
                let mut body = json!({"name": Names::menu_name(product), "price": price});
                if let Some(stock) = stock {
                    body["stock"] = json!(stock);
                }
                let (store, product) = (self.names.store(store), Names::product(product));
                let route = Route::PutMenuItem { store: &store, product: &product };
                let tag = if_match.map(|v| format!("\"{v}\""));
                let headers: Vec<(&str, &str)> = tag.iter().map(|t| ("If-Match", t.as_str())).collect();
                self.send(caller, route, Some(body), &headers).await
            }
            Call::Place { caller, key, body } => {
                let key = key.map(Names::key);
                let headers: Vec<(&str, &str)> =
                    key.iter().map(|k| ("Idempotency-Key", k.as_str())).collect();
                let body = self.names.place_body(&body);
                self.send(caller, Route::PlaceOrder, Some(body), &headers).await
            }
            Call::Get { caller, .. } => self.send(caller, Route::GetOrder { order: &id }, None, &[]).await,
            Call::ListMine { caller } => {
                let route = Route::ListMyOrders;
                self.send_at(caller, route.method(), &route.query(&[("limit", "100")]), None, &[]).await
            }
            Call::ListStore { caller, store, status } => {
                let store = self.names.store(store);
                let route = Route::ListStoreOrders { store: &store };
                let mut query = vec![("limit", "100")];
                query.extend(status.map(|s| ("status", s.as_str())));
                self.send_at(caller, route.method(), &route.query(&query), None, &[]).await
            }
            Call::Cancel { caller, .. } => {
                self.send(caller, Route::CancelOrder { order: &id }, None, &[]).await
            }
            Call::Accept { caller, .. } => {
                self.send(caller, Route::AcceptOrder { order: &id }, None, &[]).await
            }
            Call::Reject { caller, reason, .. } => {
                let body = reason.then(|| json!({"reason": "out of rice"}));
                self.send(caller, Route::RejectOrder { order: &id }, body, &[]).await
            }
            Call::RequestDelivery { caller, .. } => {
                self.send(caller, Route::RequestDelivery { order: &id }, None, &[]).await
            }
            Call::RegisterRider { caller, rider, district } => {
                let rider = self.names.rider(rider);
                let body = json!({"zone": self.names.district(district)});
                self.send(caller, Route::RegisterRider { rider: &rider }, Some(body), &[]).await
            }
            Call::Photo { caller, content_ok, .. } => {
                let body = json!({"content_type": Names::content_type(content_ok)});
                let (status, upload) =
                    self.send(caller, Route::CreateRefundPhoto { order: &id }, Some(body), &[]).await;
                if status == 200 {
                    // The client uploads right away.
                    let jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10];
                    let sent = self.t.api.upload_photo(&upload, "image/jpeg", jpeg).await;
                    match sent {
                        Ok(r) if r.status().is_success() => {}
                        Ok(r) => panic!("the photo upload answered {}", r.status()),
                        Err(e) => panic!("the photo upload: {e}"),
                    }
                }
                (status, upload)
            }
            Call::RefundRequest { caller, method, reason_ok, key_ok, .. } => {
                let body = json!({
                    "photo_key": Names::photo_key(&id, key_ok),
                    "reason": Names::reason(reason_ok),
                    "method": method.as_str(),
                });
                self.send(caller, Route::RequestRefund { order: &id }, Some(body), &[]).await
            }
            Call::Decide { caller, approve, reason, .. } => {
                let mut body = json!({"approve": approve});
                if reason {
                    body["reason"] = json!("the photo shows a full bowl");
                }
                self.send(caller, Route::DecideRefund { order: &id }, Some(body), &[]).await
            }
            Call::Wait { .. } | Call::Pump => unreachable!("no Wait over HTTP; the runner pumps"),
        };
        // The replay header is not in the client's answer: a replay is told
        // by its order id only.
        (status, body, None)
    }

    async fn pump(&mut self, settling: &[Settling]) {
        let until = Instant::now() + SETTLE_TIMEOUT;
        for order in settling {
            loop {
                let body = self.order(&order.order_id, order.customer).await;
                if body["status"] == order.status.as_str() || Instant::now() >= until {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }

    async fn order(&mut self, id: &str, customer: u8) -> Value {
        let (status, body) =
            self.send(Caller::Customer(customer), Route::GetOrder { order: id }, None, &[]).await;
        assert_eq!(status, 200, "GET /orders/{id}: {body}");
        body
    }

    async fn menu(&mut self, store: u8) -> Value {
        let store = self.names.store(store);
        let route = Route::ListMenu { store: &store };
        let (status, body) = self.send(Caller::Operator, route, None, &[]).await;
        assert_eq!(status, 200, "GET {}: {body}", route.path());
        body
    }
}

#[test]
fn the_local_stack_follows_the_model() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(4).enable_all().build().unwrap();
    let t = runtime.block_on(TestStack::start(Settings::new("model").parameter("DeliveryDurationMs", 300)));
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(4);
    let config = Config {
        cases,
        failure_persistence: None,
        // Each shrinking step replays a sequence over HTTP: a few only.
        max_shrink_iters: 16,
        max_shrink_time: 180_000,
        ..Config::default()
    };
    let sequence = AtomicUsize::new(0);
    let generator = commands(GenConfig { max_len: 20, waits: false });
    let result = TestRunner::new(config).run(&generator, |commands| {
        let n = sequence.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let played = runtime.block_on(async {
            let mut http =
                Http { t: &t, names: Names::new(format!("-{}s{n}", t.run)), tokens: HashMap::new() };
            let mut model = Model::new(Timing { refund_window_ms: 600_000, delivery_ms: 300, waits: false });
            let config =
                RunConfig { check_every_step: false, settle_deliveries: true, strict_creation_order: true };
            let played = run(&mut http, &mut model, &commands, config).await;
            (played, model.reached())
        });
        let (played, reached) = played;
        println!(
            "sequence {n}: {} commands in {:?}; orders reaching each status: {reached:?}",
            commands.len(),
            started.elapsed()
        );
        played.map_err(TestCaseError::fail)
    });
    let activity = t.recent_activity(30);
    runtime.block_on(t.stop());
    match result {
        Ok(()) => {}
        Err(TestError::Fail(why, commands)) => {
            panic!("{why}\nshrunk sequence: {commands:#?}\n--- stack activity ---\n{activity}")
        }
        Err(e) => panic!("{e}"),
    }
}
