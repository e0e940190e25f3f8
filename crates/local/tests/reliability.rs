//! Reliability through the local stack, against the real emulators: stock
//! under 200 concurrent orders, riders under more delivery requests than
//! riders, every consumer fed every batch twice (and old batches after new
//! ones), poison records on every topic, functions crashing or timing
//! out mid-batch, and broker outages, short and past the stream's retention. Each test runs its own stack under its own names;
//! everything is bounded in count and time.

mod support;

use foodstream_harness::api::Route;
use foodstream_local::activity::StackEvent;
use foodstream_local::runtime::InvokeOutcome;
use futures::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;
use support::{Operator, Settings, Shop, TestStack};

fn status_of(order: &Value) -> &str {
    order["status"].as_str().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_orders_on_stock_fifty_sell_exactly_fifty() {
    let t = TestStack::start(Settings::new("stock")).await;
    let shop = Shop::open(&t, 50, 0).await;
    let customers: Vec<String> =
        (0..20).map(|i| t.token(&format!("customer-{i}-{}", t.run), "customer", None)).collect();
    let calls = (0..200).map(|i| t.call(Some(&customers[i % 20]), Route::PlaceOrder, Some(shop.order(1))));
    let answers = join_all(calls).await;
    let mut by_status: BTreeMap<u16, usize> = BTreeMap::new();
    for a in &answers {
        *by_status.entry(a.status).or_default() += 1;
        match a.status {
            201 => assert_eq!(a.body["status"], "PAID"),
            409 => assert_eq!(a.body["error"]["code"], "INSUFFICIENT_STOCK", "{}", a.body),
            other => panic!("an order answered {other}: {}", a.body),
        }
    }
    assert_eq!(by_status, BTreeMap::from([(201, 50), (409, 150)]));
    let menu = t.expect(&shop.owner, Route::ListMenu { store: &shop.store }, None, 200).await;
    assert_eq!(menu["items"][0]["stock"], 0);
    let mut paid = 0;
    for customer in &customers {
        paid += t
            .list_all(customer, &Route::ListMyOrders.path())
            .await
            .iter()
            .filter(|o| status_of(o) == "PAID")
            .count();
    }
    assert_eq!(paid, 50);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn more_delivery_requests_than_riders_never_put_a_rider_on_two_deliveries() {
    // Deliveries take 5 s, so both riders stay busy through the burst.
    let t = TestStack::start(Settings::new("riders").parameter("DeliveryDurationMs", 5000)).await;
    let shop = Shop::open(&t, 100, 2).await;
    let customer = t.token(&format!("customer-{}", t.run), "customer", None);
    let mut orders = Vec::new();
    for _ in 0..6 {
        let order = t.expect(&customer, Route::PlaceOrder, Some(shop.order(1)), 201).await;
        let id = order["order_id"].as_str().unwrap().to_owned();
        t.expect(&shop.owner, Route::AcceptOrder { order: &id }, None, 200).await;
        orders.push(id);
    }
    let requests =
        orders.iter().map(|id| t.call(Some(&shop.owner), Route::RequestDelivery { order: id }, None));
    for answer in join_all(requests).await {
        assert!(matches!(answer.status, 200 | 202), "{}", answer.body);
    }
    // Until every delivery has ended: a delivery still under way has no end
    // in the timeline yet, and the order updater applies a completion a
    // batching window after the rider is free again.
    let mut finals = Vec::new();
    for id in &orders {
        finals.push(
            t.wait_until(&customer, &Route::GetOrder { order: id }.path(), Duration::from_secs(60), |o| {
                matches!(status_of(o), "DELIVERED" | "DELIVERY_FAILED")
            })
            .await,
        );
    }
    // Every order got a rider or failed for want of one; under contention
    // some failed; and no rider was ever on two deliveries at once, from
    // assignment to completion as the timelines record them (a rider freed
    // after 5 s may well take a later request: that is correct).
    let at = |order: &Value, status: &str| {
        order["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["status"] == status)
            .and_then(|e| e["at"].as_str())
            .map(|t| chrono::DateTime::parse_from_rfc3339(t).unwrap())
    };
    type Interval = (chrono::DateTime<chrono::FixedOffset>, chrono::DateTime<chrono::FixedOffset>);
    let mut by_rider: BTreeMap<String, Vec<Interval>> = BTreeMap::new();
    let mut failed = 0;
    for order in &finals {
        match order["rider_id"].as_str() {
            Some(rider) => {
                let from = at(order, "DELIVERING").expect("a rider means DELIVERING");
                let to = at(order, "DELIVERED").expect("every delivery has ended");
                by_rider.entry(rider.to_owned()).or_default().push((from, to));
            }
            None => {
                assert_eq!(status_of(order), "DELIVERY_FAILED", "{order}");
                let last = order["timeline"].as_array().unwrap().last().unwrap();
                assert!(last["reason"].as_str().is_some_and(|r| r.contains("busy")), "no reason: {last}");
                failed += 1;
            }
        }
    }
    assert!(failed >= 1, "six requests on two riders busy for 5 s, and none failed: {finals:?}");
    assert!(by_rider.len() == 2, "both riders worked: {by_rider:?}");
    for (rider, mut deliveries) in by_rider {
        deliveries.sort();
        for pair in deliveries.windows(2) {
            assert!(pair[0].1 <= pair[1].0, "{rider} was on two deliveries at once: {pair:?}");
        }
    }
    t.stop().await;
}

/// Orders, notifications and logs of a finished scenario, as the API shows them.
async fn snapshot(t: &TestStack, customer: &str, owner: &str, operator: &str, orders: &[String]) -> Value {
    let mut state = serde_json::Map::new();
    for id in orders {
        let order = t.expect(customer, Route::GetOrder { order: id }, None, 200).await;
        let logs = t.list_all(operator, &Route::ListLogs.query(&[("order_id", id.as_str())])).await;
        let mut log_ids: Vec<String> = logs.iter().map(|l| l["log_id"].to_string()).collect();
        log_ids.sort();
        state.insert(id.clone(), json!({"order": order, "logs": log_ids}));
    }
    let notes = |list: Vec<Value>| {
        let mut ids: Vec<String> = list.iter().map(|n| n["notification_id"].to_string()).collect();
        ids.sort();
        ids
    };
    state.insert(
        "customer notifications".into(),
        json!(notes(t.list_all(customer, &Route::ListMyNotifications.path()).await)),
    );
    state.insert(
        "store notifications".into(),
        json!(notes(t.list_all(owner, &Route::ListMyNotifications.path()).await)),
    );
    Value::Object(state)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_batch_again_and_old_batches_after_new_ones_change_nothing() {
    let first = TestStack::start(Settings::new("replay")).await;
    let namespace = first.run.clone();
    let shop = Shop::open(&first, 100, 1).await;
    let customer = first.token(&format!("customer-{}", first.run), "customer", None);
    let mut orders = Vec::new();
    // Delivered and refunded; delivered and redelivered; cancelled.
    for method in ["REFUND", "REDELIVER"] {
        let id = shop.deliver_one(&first, &customer, Duration::from_secs(30)).await;
        let upload = first
            .expect(
                &customer,
                Route::CreateRefundPhoto { order: &id },
                Some(json!({"content_type": "image/png"})),
                200,
            )
            .await;
        let sent = first.api.upload_photo(&upload, "image/png", vec![0x89, b'P', b'N', b'G']).await.unwrap();
        assert!(sent.status().is_success(), "{sent:?}");
        first
            .expect(
                &customer,
                Route::RequestRefund { order: &id },
                Some(json!({"photo_key": upload["photo_key"], "reason": "cold", "method": method})),
                200,
            )
            .await;
        first
            .expect(&shop.owner, Route::DecideRefund { order: &id }, Some(json!({"approve": true})), 200)
            .await;
        let wanted = if method == "REFUND" { "REFUNDED" } else { "DELIVERED" };
        first
            .wait_until(&customer, &Route::GetOrder { order: &id }.path(), Duration::from_secs(30), |o| {
                status_of(o) == wanted && o["version"].as_u64() > Some(6)
            })
            .await;
        orders.push(id);
    }
    let cancelled = first.expect(&customer, Route::PlaceOrder, Some(shop.order(2)), 201).await["order_id"]
        .as_str()
        .unwrap()
        .to_owned();
    first.expect(&customer, Route::CancelOrder { order: &cancelled }, None, 200).await;
    orders.push(cancelled);
    // Settled: a notification for every status change (2 channels) and a log for each.
    let operator = shop.operator.clone();
    let expected_notes: usize = {
        let mut n = 0;
        for id in &orders {
            let order = first.expect(&customer, Route::GetOrder { order: id }, None, 200).await;
            n += 2 * order["timeline"].as_array().unwrap().len();
        }
        n
    };
    first
        .wait_until(
            &customer,
            &Route::ListMyNotifications.query(&[("limit", "100")]),
            Duration::from_secs(30),
            |l| l["items"].as_array().unwrap().len() == expected_notes,
        )
        .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let before = snapshot(&first, &customer, &shop.owner, &operator, &orders).await;
    let delivered_by_first = first.activity.lock().unwrap().len();
    assert!(delivered_by_first > 0);
    first.stop().await;

    // A second stack on the same tables and topics with new consumer groups
    // and no stream checkpoint: the relay publishes every change again, and
    // every consumer reads every topic from the start, so each batch comes
    // again, old ones after the state has moved on.
    let mut settings = Settings::new("replay2");
    settings.namespace = Some(namespace.clone());
    let second = TestStack::start(settings).await;
    assert_eq!(second.topic_prefix, format!("{namespace}."));
    // Quiet for 4 s after having replayed something: every mapping caught up.
    let mut last = 0;
    let mut quiet = 0;
    let work = |t: &TestStack| {
        t.activity.lock().unwrap().iter().filter(|e| !matches!(e, StackEvent::Scheduled { .. })).count()
    };
    for _ in 0..120 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = work(&second);
        quiet = if now == last && now > 0 { quiet + 1 } else { 0 };
        last = now;
        if quiet >= 8 {
            break;
        }
    }
    assert!(quiet >= 8, "the replay did not settle: {}", second.recent_activity(20));
    let replayed = second.activity.lock().unwrap().clone();
    for function in
        ["order-outbox-relay", "delivery-dispatcher", "notifier", "order-delivery-updater", "log-collector"]
    {
        assert!(
            replayed.iter().any(|e| e.function() == function && matches!(e, StackEvent::Batch { .. })),
            "{function} replayed nothing: {replayed:?}"
        );
    }
    assert!(
        !replayed.iter().any(|e| matches!(e, StackEvent::SentToFailure { .. })),
        "a replayed record failed: {replayed:?}"
    );
    let after = snapshot(&second, &customer, &shop.owner, &operator, &orders).await;
    assert_eq!(after, before, "replaying every batch changed the state");
    second.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn poison_records_on_every_topic_are_parked_in_the_failure_bucket_and_the_partitions_move_on() {
    use rdkafka::config::ClientConfig;
    use rdkafka::producer::{FutureProducer, FutureRecord};
    let t = TestStack::start(Settings::new("poison")).await;
    let producer: FutureProducer =
        ClientConfig::new().set("bootstrap.servers", foodstream_testkit::kafka_bootstrap()).create().unwrap();
    let envelope = |event_type: &str| {
        json!({"event_id": "x", "event_type": event_type, "occurred_at": "2026-01-01T00:00:00Z", "order_id": "o",
               "user_id": "u", "store_id": "s", "order_version": 1, "data": {}})
        .to_string()
    };
    let poisons = |valid_type: &str| {
        vec![
            "not json at all".to_string(),
            envelope("NoSuchEvent"),
            // The right type, the wrong shape: fails its schema.
            json!({"event_type": valid_type, "order_id": 42}).to_string(),
        ]
    };
    let mut sent = 0;
    for (topic, valid_type) in [
        ("order-events", "OrderDeliveryRequested"),
        ("delivery-events", "RiderAssigned"),
        ("log-events", "NotificationProduced"),
    ] {
        for (i, value) in poisons(valid_type).into_iter().enumerate() {
            for key in ["a", "b", "c"] {
                let key = format!("{key}{i}");
                producer
                    .send(
                        FutureRecord::to(&format!("{}{topic}", t.topic_prefix)).key(&key).payload(&value),
                        Duration::from_secs(10),
                    )
                    .await
                    .map_err(|(e, _)| e)
                    .unwrap();
                sent += 1;
            }
        }
    }
    assert_eq!(sent, 27);
    // Good records after them in the same partitions.
    let shop = Shop::open(&t, 10, 1).await;
    let customer = t.token(&format!("customer-{}", t.run), "customer", None);
    let id = shop.deliver_one(&t, &customer, Duration::from_secs(60)).await;
    // 5 status changes, 2 channels, plus the store's 2 for the new order.
    t.wait_until(&customer, &Route::ListMyNotifications.path(), Duration::from_secs(60), |l| {
        l["items"].as_array().unwrap().len() == 10
    })
    .await;
    t.wait_until(
        &shop.operator,
        &Route::ListLogs.query(&[("order_id", id.as_str())]),
        Duration::from_secs(60),
        |l| l["items"].as_array().unwrap().len() == 12,
    )
    .await;

    // The failure bucket's parked/: every poison record each consumer was
    // handed, parked by the function itself at once with its payload (never
    // retried: it can never succeed). The notifier gets all 9 on
    // order-events; the dispatcher's filter lets through only the 3 typed
    // OrderDeliveryRequested; the updater and the collector get their
    // topic's 9.
    let parked = t.parked(Duration::from_secs(60), |m| m.len() >= 30).await;
    let mut failed: BTreeMap<String, usize> = BTreeMap::new();
    for record in &parked {
        let function =
            record["parkedBy"].as_str().unwrap_or_else(|| panic!("not parked: {record}")).to_owned();
        *failed.entry(function).or_default() += 1;
        assert_eq!(record["requestContext"]["condition"], "Unprocessable", "{record}");
        // The payload: an aws:kafka batch of the one record, as make replay reads it.
        assert_eq!(record["payload"]["eventSource"], "aws:kafka", "{record}");
        let records = record["payload"]["records"].as_object().unwrap();
        let batch: Vec<&Value> = records.values().flat_map(|r| r.as_array().unwrap()).collect();
        assert_eq!(batch.len(), 1, "{record}");
        assert!(batch[0]["value"].is_string(), "the payload is kept: {record}");
        assert!(!record["reason"].as_str().unwrap().is_empty(), "{record}");
    }
    let expected: BTreeMap<String, usize> =
        [("notifier", 9), ("delivery-dispatcher", 3), ("order-delivery-updater", 9), ("log-collector", 9)]
            .into_iter()
            .map(|(f, n)| (f.to_string(), n))
            .collect();
    assert_eq!(failed, expected, "{}", t.recent_activity(40));
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn functions_crashing_or_timing_out_mid_batch_are_retried_without_double_effects() {
    use foodstream_local::runtime::Sabotage;
    let t = TestStack::start(Settings::new("chaos")).await;
    let shop = Shop::open(&t, 10, 1).await;
    let customer = t.token(&format!("customer-{}", t.run), "customer", None);
    // The next call of each consumer dies: killed as it answers (its work
    // done, the answer lost), or, for the dispatcher, past a 1 ms timeout
    // (before it decides anything).
    for (function, sabotage) in [
        ("notifier", Sabotage::Crash),
        ("log-collector", Sabotage::Crash),
        ("order-delivery-updater", Sabotage::Crash),
        ("delivery-dispatcher", Sabotage::Timeout { after: Duration::from_millis(1) }),
        ("delivery-completer", Sabotage::Crash),
        ("order-outbox-relay", Sabotage::Crash),
    ] {
        t.stack.pool(function).unwrap().sabotage_next(sabotage).await;
    }
    let id = t.expect(&customer, Route::PlaceOrder, Some(shop.order(1)), 201).await["order_id"]
        .as_str()
        .unwrap()
        .to_owned();
    t.expect(&shop.owner, Route::AcceptOrder { order: &id }, None, 200).await;
    t.expect(&shop.owner, Route::RequestDelivery { order: &id }, None, 202).await;
    let order = t
        .wait_until(&customer, &Route::GetOrder { order: &id }.path(), Duration::from_secs(60), |o| {
            status_of(o) == "DELIVERED"
        })
        .await;
    assert_eq!(order["version"], 5, "{order}");
    t.wait_until(&customer, &Route::ListMyNotifications.path(), Duration::from_secs(60), |l| {
        l["items"].as_array().unwrap().len() >= 10
    })
    .await;
    t.wait_until(
        &shop.operator,
        &Route::ListLogs.query(&[("order_id", id.as_str())]),
        Duration::from_secs(60),
        |l| l["items"].as_array().unwrap().len() >= 12,
    )
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    // Exactly once in effect.
    assert_eq!(t.list_all(&customer, &Route::ListMyNotifications.path()).await.len(), 10);
    assert_eq!(t.list_all(&shop.owner, &Route::ListMyNotifications.path()).await.len(), 2);
    assert_eq!(
        t.list_all(&shop.operator, &Route::ListLogs.query(&[("order_id", id.as_str())])).await.len(),
        12
    );
    let activity = t.activity.lock().unwrap().clone();
    let crashed =
        activity.iter().filter(|e| matches!(e.failure(), Some(InvokeOutcome::Crashed { .. }))).count();
    let timed_out =
        activity.iter().filter(|e| matches!(e.failure(), Some(InvokeOutcome::TimedOut { .. }))).count();
    assert_eq!((crashed, timed_out), (5, 1), "each sabotage fired once: {activity:?}");
    assert!(!activity.iter().any(|e| matches!(e, StackEvent::SentToFailure { .. })), "{activity:?}");
    // The rider is free again.
    let rider = order["rider_id"].as_str().unwrap();
    assert!(rider.starts_with("rider-0-"));
    t.stop().await;
}

/// A Tansu of the test's own on a free loopback port, so stopping it
/// disturbs nothing else, keeping its data in a bucket of the AWS emulator
/// (Tansu's S3 storage engine), so a restart finds its topics, offsets and
/// producer state again, as a restarted MSK broker does.
struct Broker {
    port: u16,
    bucket: String,
    process: Option<tokio::process::Child>,
}

impl Broker {
    async fn start(port: u16, bucket: &str) -> Broker {
        let tansu = support::workspace().join(".local/bin/tansu");
        assert!(tansu.exists(), "no Tansu at {}: run `scripts/emulators.sh install`", tansu.display());
        let url = format!("tcp://127.0.0.1:{port}");
        let process = tokio::process::Command::new(tansu)
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
                "--storage-engine",
                &format!("s3://{bucket}/"),
            ])
            .env("AWS_ENDPOINT", foodstream_testkit::endpoint())
            .env("AWS_ALLOW_HTTP", "true")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let until = std::time::Instant::now() + Duration::from_secs(30);
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            assert!(std::time::Instant::now() < until, "Tansu did not start on {port}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Broker { port, bucket: bucket.to_owned(), process: Some(process) }
    }

    async fn stop(&mut self) {
        if let Some(mut process) = self.process.take() {
            process.kill().await.unwrap();
        }
    }
}

/// A stack whose functions and mappings use a broker of its own.
async fn on_a_broker_of_its_own(mut settings: Settings) -> (Broker, TestStack) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (_, bucket) = foodstream_testkit::bucket(&foodstream_testkit::config().await).await;
    let broker = Broker::start(port, &bucket).await;
    settings.kafka_bootstrap = format!("127.0.0.1:{port}");
    (broker, TestStack::start(settings).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn orders_placed_while_the_broker_is_down_are_published_when_it_is_back() {
    let (mut broker, t) = on_a_broker_of_its_own(Settings::new("outage")).await;
    let shop = Shop::open(&t, 100, 0).await;
    let customer = t.token(&format!("customer-{}", t.run), "customer", None);
    let count = |list: &Value| list["items"].as_array().unwrap().len();
    let notifications = Route::ListMyNotifications.query(&[("limit", "100")]);
    let mut orders = Vec::new();
    for _ in 0..3 {
        orders
            .push(t.expect(&customer, Route::PlaceOrder, Some(shop.order(1)), 201).await["order_id"].clone());
    }
    t.wait_until(&customer, &notifications, Duration::from_secs(60), |l| count(l) == 6).await;

    broker.stop().await;
    for _ in 0..3 {
        orders
            .push(t.expect(&customer, Route::PlaceOrder, Some(shop.order(1)), 201).await["order_id"].clone());
    }
    // The relay's call fails once its publish times out (KAFKA_MESSAGE_TIMEOUT_MS).
    // It answers the records it could not publish for a retry (a partial
    // batch response), or fails the call.
    let relay_failed = || {
        t.activity.lock().unwrap().iter().any(|e| {
            e.function() == "order-outbox-relay"
                && (matches!(e, StackEvent::Batch { failure: Some(_), .. })
                    || matches!(e, StackEvent::RetryFrom { .. }))
        })
    };
    let until = std::time::Instant::now() + Duration::from_secs(60);
    while !relay_failed() {
        assert!(
            std::time::Instant::now() < until,
            "the relay never failed while the broker was down: {}",
            t.recent_activity(20)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let notes = t.expect_at(&customer, Method::GET, &notifications, None, 200).await;
    assert_eq!(count(&notes), 6, "nothing can be notified while the broker is down");

    // Back, with its data: the relay's retries get through.
    let _broker = Broker::start(broker.port, &broker.bucket).await;
    t.wait_until(&customer, &notifications, Duration::from_secs(120), |l| count(l) == 12).await;
    t.wait_until(&shop.owner, &notifications, Duration::from_secs(60), |l| count(l) == 12).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    // None lost, none doubled in effect.
    assert_eq!(t.list_all(&customer, &Route::ListMyNotifications.path()).await.len(), 12);
    assert_eq!(t.list_all(&shop.owner, &Route::ListMyNotifications.path()).await.len(), 12);
    for order in &orders {
        let id = order.as_str().unwrap();
        t.wait_until(
            &shop.operator,
            &Route::ListLogs.query(&[("order_id", id)]),
            Duration::from_secs(60),
            |l| count(l) == 4,
        )
        .await;
    }
    t.stop().await;
}

/// An outage longer than the orders stream keeps its records (24 hours on
/// AWS; here the relay's `OutboxRecordMaxAgeSeconds` at its floor of 60 s):
/// the relay's records expire to the failure bucket with their payload
/// instead of being trimmed unseen; once the broker is back (an order
/// placed then flows at once), `make replay`'s code re-drives them. Every
/// order event is then on `order-events` exactly once by event id.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn relay_records_that_expire_during_an_outage_are_replayed_once_the_broker_is_back() {
    use rdkafka::Message;
    use rdkafka::config::ClientConfig;
    use rdkafka::consumer::{Consumer, StreamConsumer};

    let settings = Settings::new("expiry").parameter("OutboxRecordMaxAgeSeconds", 60);
    let (mut broker, t) = on_a_broker_of_its_own(settings).await;
    let shop = Shop::open(&t, 100, 0).await;
    let customer = t.token(&format!("customer-{}", t.run), "customer", None);
    let count = |list: &Value| list["items"].as_array().unwrap().len();
    let notifications = Route::ListMyNotifications.query(&[("limit", "100")]);
    let mut orders = Vec::new();
    for _ in 0..2 {
        orders
            .push(t.expect(&customer, Route::PlaceOrder, Some(shop.order(1)), 201).await["order_id"].clone());
    }
    // Everything of the first two orders is done (the store's
    // notifications and the log records too), so stopping the broker
    // interrupts no one but the relay.
    t.wait_until(&customer, &notifications, Duration::from_secs(60), |l| count(l) == 4).await;
    t.wait_until(&shop.owner, &notifications, Duration::from_secs(60), |l| count(l) == 4).await;
    for order in &orders {
        let id = order.as_str().unwrap();
        t.wait_until(
            &shop.operator,
            &Route::ListLogs.query(&[("order_id", id)]),
            Duration::from_secs(60),
            |l| count(l) == 4,
        )
        .await;
    }

    broker.stop().await;
    for _ in 0..3 {
        orders
            .push(t.expect(&customer, Route::PlaceOrder, Some(shop.order(1)), 201).await["order_id"].clone());
    }
    // The relay retries without a count until its records are 60 s old,
    // then they go to the bucket: one failure record per expired batch.
    let relay_expired = |r: &&Value| {
        r["requestContext"]["condition"] == "RecordAgeExceeded"
            && r["requestContext"]["functionArn"]
                .as_str()
                .is_some_and(|arn| arn.ends_with(":order-outbox-relay"))
    };
    let expired = |records: &[Value]| {
        records
            .iter()
            .filter(relay_expired)
            .map(|r| r["payload"]["Records"].as_array().map_or(0, Vec::len))
            .sum::<usize>()
    };
    let records = t.failure_bucket(Duration::from_secs(180), |records| expired(records) >= 3).await;
    assert_eq!(expired(&records), 3, "the three orders' records expire: {}", t.recent_activity(30));

    // The broker is back, with its data; the stream's later records flow
    // again, and the expired ones are replayed.
    let _broker = Broker::start(broker.port, &broker.bucket).await;
    // The pipeline flows again: an order placed now is notified.
    orders.push(t.expect(&customer, Route::PlaceOrder, Some(shop.order(1)), 201).await["order_id"].clone());
    t.wait_until(&customer, &notifications, Duration::from_secs(180), |l| count(l) == 6).await;
    let bootstrap = format!("127.0.0.1:{}", broker.port);
    let Operator { s3, sqs, publisher } = Operator::new(&bootstrap, &t.topic_prefix).await;
    let bucket = t.stack.failure_bucket.clone().unwrap();
    let mut relayed = 0;
    for record in foodstream_ops::list(&s3, &bucket).await.unwrap() {
        if record.condition == "RecordAgeExceeded" {
            relayed += foodstream_ops::replay(&s3, &bucket, &record.key, &publisher, &sqs, false)
                .await
                .unwrap()
                .relayed;
        }
    }
    assert_eq!(relayed, 3);
    t.wait_until(&customer, &notifications, Duration::from_secs(120), |l| count(l) == 12).await;

    // Every order event of the run, read back from the topic: one
    // OrderPlaced per order, no event id twice.
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("group.id", foodstream_testkit::unique("expiry-reader"))
        .set("auto.offset.reset", "earliest")
        .set("group.protocol", "classic")
        .set("session.timeout.ms", "6000")
        .create()
        .unwrap();
    consumer.subscribe(&[&format!("{}order-events", t.topic_prefix)]).unwrap();
    // The first receive waits for the group to form; after it, the topic
    // is read until it has been quiet for 10 s. An error is a failure, not
    // an end.
    let mut events = Vec::new();
    let mut wait = Duration::from_secs(60);
    while let Ok(received) = tokio::time::timeout(wait, consumer.recv()).await {
        let message = received.expect("reading order-events");
        events.push(serde_json::from_slice::<Value>(message.payload().unwrap()).unwrap());
        wait = Duration::from_secs(10);
    }
    let ids: std::collections::BTreeSet<&str> =
        events.iter().map(|e| e["event_id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), events.len(), "an event id twice on order-events: {events:#?}");
    let placed: std::collections::BTreeSet<&str> = events
        .iter()
        .filter(|e| e["event_type"] == "OrderPlaced")
        .map(|e| e["order_id"].as_str().unwrap())
        .collect();
    let wanted: std::collections::BTreeSet<&str> = orders.iter().map(|o| o.as_str().unwrap()).collect();
    assert_eq!(placed, wanted, "{events:#?}");
    assert_eq!(events.len(), orders.len(), "only the placements happened: {events:#?}");
    t.stop().await;
}
