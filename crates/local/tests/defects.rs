//! Issue 12's defects through the whole local stack: the real binaries,
//! moto and Tansu, the template's mappings and schedules. Each test runs
//! its own stack under its own names, bounded in count and time.

mod support;

use foodstream_harness::api::Route;
use foodstream_local::activity::StackEvent;
use std::time::{Duration, Instant};
use support::{Settings, Shop, TestStack};

// Defect 1: a delivery always ends. The dispatcher takes the rider and
// sets the timer, and its answer is lost; every retry dies, until the
// mapping gives up; and the timer's message is lost outright (the queue
// purged before it came due). The sweeper completes the delivery, frees
// the rider, and the order is delivered and notified exactly as usual.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_delivery_whose_timer_message_is_lost_is_completed_by_the_sweeper() {
    use foodstream_local::runtime::Sabotage;
    let grace = std::env::var("SWEEP_TEST_GRACE_SECONDS").unwrap_or_else(|_| "1".into());
    let mut settings = Settings::new("sweep")
        .parameter("DeliverySweepGraceSeconds", grace)
        // Four seconds to lose the timer's message in, before it comes due.
        .parameter("DeliveryDurationMs", "4000");
    settings.schedule_every = Some(Duration::from_secs(1)); // the sweeper's minute, at test speed
    let t = TestStack::start(settings).await;
    let shop = Shop::open(&t, 10, 1).await;
    let customer = t.token(&format!("customer-{}", t.run), "customer", None);
    // One delivery first, so the dispatcher's group has joined and it reacts
    // at once: the sweeper (a second's grace here) would otherwise decide the
    // request before the dispatcher's first call, which the test kills.
    let warm_up = t.token(&format!("warm-up-{}", t.run), "customer", None);
    shop.deliver_one(&t, &warm_up, Duration::from_secs(30)).await;
    // Killed as it answers (the rider taken, the timer set, the answer
    // lost), then the 5 retries the template allows die before they run.
    let dispatcher = t.stack.pool("delivery-dispatcher").unwrap();
    dispatcher.sabotage_next(Sabotage::Crash).await;
    for _ in 0..5 {
        dispatcher.sabotage_next(Sabotage::Refuse).await;
    }
    let sqs = aws_sdk_sqs::Client::new(&foodstream_testkit::config().await);
    let timer = t.queue_url("DeliveryTimerQueue").await;
    let id = shop.request_delivery(&t, &customer).await;
    // The timer's message is lost: purged the moment it is on the queue,
    // still delayed.
    let waited = Instant::now();
    loop {
        use aws_sdk_sqs::types::QueueAttributeName as A;
        let out = sqs
            .get_queue_attributes()
            .queue_url(&timer)
            .attribute_names(A::ApproximateNumberOfMessagesDelayed)
            .send()
            .await
            .unwrap();
        let delayed = out.attributes().unwrap().get(&A::ApproximateNumberOfMessagesDelayed).unwrap();
        if delayed != "0" {
            break;
        }
        assert!(waited.elapsed() < Duration::from_secs(30), "the dispatcher never set the timer");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    sqs.purge_queue().queue_url(&timer).send().await.unwrap();
    let order = t
        .wait_until(&customer, &Route::GetOrder { order: &id }.path(), Duration::from_secs(60), |o| {
            o["status"] == "DELIVERED"
        })
        .await;
    assert_eq!(order["version"], 5, "{order}");
    let activity = t.activity.lock().unwrap().clone();
    assert!(
        activity.iter().any(|e| matches!(e, StackEvent::Scheduled { function, answer: Ok(body), .. }
            if function == "delivery-sweeper" && swept_one(body))),
        "the sweeper completed it: {activity:?}"
    );
    let completer_batches = activity
        .iter()
        .filter(|e| matches!(e, StackEvent::Batch { function, .. } if function == "delivery-completer"))
        .count();
    assert_eq!(completer_batches, 1, "the completer ran for the warm-up only: {activity:?}");
    // The dispatcher's batch went to the destination after its retries,
    // with its payload: what make replay re-drives.
    let failed = t.failure_bucket(Duration::from_secs(10), |m| !m.is_empty()).await;
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["requestContext"]["approximateInvokeCount"], 6);
    assert_eq!(failed[0]["payload"]["eventSource"], "aws:kafka", "{}", failed[0]);
    // The usual notifications, once: 5 statuses on 2 channels, 2 for the store.
    t.wait_until(&customer, &Route::ListMyNotifications.path(), Duration::from_secs(30), |l| {
        l["items"].as_array().unwrap().len() >= 10
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(t.list_all(&customer, &Route::ListMyNotifications.path()).await.len(), 10);
    // The store's: the new order, for the warm-up's and this one.
    assert_eq!(t.list_all(&shop.owner, &Route::ListMyNotifications.path()).await.len(), 4);
    // One completion on the topic.
    let completed: Vec<_> =
        t.delivery_events(&id).await.into_iter().filter(|e| e["event_type"] == "DeliveryCompleted").collect();
    assert_eq!(completed.len(), 1, "{completed:?}");
    // The rider is free: the next order of the zone is delivered by them.
    let next = shop.deliver_one(&t, &customer, Duration::from_secs(30)).await;
    let next = t.expect(&customer, Route::GetOrder { order: &next }, None, 200).await;
    assert_eq!(next["rider_id"], order["rider_id"]);
    t.stop().await;
}

/// Whether a sweep finished a delivery: an assignment past its time
/// (`completed`), or a request still waiting on the order, its assignment
/// due (`resumed`).
fn swept_one(answer: &str) -> bool {
    let swept: serde_json::Value = serde_json::from_str(answer).unwrap();
    swept["completed"] == 1 || swept["resumed"] == 1
}

// A delivery request no dispatcher ever decided (every attempt
// dies before it records anything, until the mapping gives up) is decided
// by the sweeper a grace period later; the delivery runs to its end, each
// status once, and the rider is free again.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_request_no_dispatcher_decided_is_decided_and_delivered_through_the_sweeper() {
    use foodstream_local::runtime::Sabotage;
    let mut settings = Settings::new("undecided").parameter("DeliverySweepGraceSeconds", "1");
    settings.schedule_every = Some(Duration::from_secs(1)); // the sweeper's minute, at test speed
    let t = TestStack::start(settings).await;
    let shop = Shop::open(&t, 10, 1).await;
    let customer = t.token(&format!("customer-{}", t.run), "customer", None);
    let dispatcher = t.stack.pool("delivery-dispatcher").unwrap();
    for _ in 0..6 {
        dispatcher.sabotage_next(Sabotage::Refuse).await;
    }
    let id = shop.deliver_one(&t, &customer, Duration::from_secs(60)).await;
    let order = t.expect(&customer, Route::GetOrder { order: &id }, None, 200).await;
    let steps: Vec<&str> =
        order["timeline"].as_array().unwrap().iter().map(|e| e["status"].as_str().unwrap()).collect();
    assert_eq!(steps, ["PAID", "ACCEPTED", "DELIVERY_REQUESTED", "DELIVERING", "DELIVERED"], "{order}");
    let activity = t.activity.lock().unwrap().clone();
    assert!(
        activity.iter().any(|e| matches!(e, StackEvent::Scheduled { function, answer: Ok(body), .. }
            if function == "delivery-sweeper" && serde_json::from_str::<serde_json::Value>(body).unwrap()["resumed"] == 1)),
        "the sweeper decided it: {activity:?}"
    );
    // The rider is free: the next order of the zone is delivered by them.
    let next = shop.deliver_one(&t, &customer, Duration::from_secs(30)).await;
    let next = t.expect(&customer, Route::GetOrder { order: &next }, None, 200).await;
    assert_eq!(next["rider_id"], order["rider_id"]);
    t.stop().await;
}

// Defect 5: one bad item on the orders stream is parked within a minute,
// with its payload, and the orders placed after it flow meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_bad_stream_item_is_parked_at_once_and_later_orders_flow() {
    let t = TestStack::start(Settings::new("badstream")).await;
    let shop = Shop::open(&t, 10, 0).await;
    let customer = t.token(&format!("customer-{}", t.run), "customer", None);
    // An item no relay can ever decode, written straight to the table.
    let dynamodb = aws_sdk_dynamodb::Client::new(&foodstream_testkit::config().await);
    let poison = format!("poison-{}", t.run);
    let s = |v: &str| aws_sdk_dynamodb::types::AttributeValue::S(v.to_owned());
    dynamodb
        .put_item()
        .table_name(t.stack.names.table("OrdersTable"))
        .item("order_id", s(&poison))
        .item("version", s("not a version"))
        .send()
        .await
        .unwrap();
    let started = Instant::now();
    t.expect(&customer, Route::PlaceOrder, Some(shop.order(1)), 201).await;
    t.wait_until(&customer, &Route::ListMyNotifications.path(), Duration::from_secs(45), |l| {
        l["items"].as_array().unwrap().len() == 2
    })
    .await;
    let parked = t.parked(Duration::from_secs(60), |m| !m.is_empty()).await;
    assert!(started.elapsed() < Duration::from_secs(60), "{:?}", started.elapsed());
    assert_eq!(parked.len(), 1, "{parked:?}");
    assert_eq!(parked[0]["parkedBy"], "order-outbox-relay", "{}", parked[0]);
    assert_eq!(parked[0]["requestContext"]["condition"], "Unprocessable", "{}", parked[0]);
    // The record as a stream batch of its own: what make replay re-drives.
    let record = &parked[0]["payload"]["Records"][0];
    assert_eq!(record["dynamodb"]["Keys"]["order_id"]["S"], poison.as_str(), "{}", parked[0]);
    assert!(parked[0]["reason"].as_str().unwrap().contains("version"), "{}", parked[0]);
    t.stop().await;
}
