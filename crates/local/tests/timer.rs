//! The delivery timer through the whole local stack: the real binaries,
//! moto's SQS with the template's queues, Tansu. The dispatcher returns
//! at once; the completer, triggered by the delayed message, completes
//! the delivery exactly once even when its first attempts are killed.

mod support;

use foodstream_harness::api::Route;
use foodstream_local::activity::StackEvent;
use foodstream_local::runtime::{InvokeOutcome, Sabotage};
use serde_json::Value;
use std::time::Duration;
use support::{Settings, Shop, TestStack};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_completer_killed_on_its_first_attempts_still_completes_the_delivery_exactly_once() {
    // The queue's visibility timeout at its lowest (the completer's 15 s
    // timeout): a failed attempt's message comes back 15 s later.
    let settings = Settings::new("timer").parameter("DeliveryTimerRetrySeconds", "15");
    let t = TestStack::start(settings).await;
    let shop = Shop::open(&t, 10, 1).await;
    let customer = t.token(&format!("customer-{}", t.run), "customer", None);
    // Killed before it runs anything, then killed as it answers (its work
    // done, the answer lost): whatever its speed, each attempt dies.
    let completer = t.stack.pool("delivery-completer").unwrap();
    completer.sabotage_next(Sabotage::Refuse).await;
    completer.sabotage_next(Sabotage::Crash).await;
    let id = shop.request_delivery(&t, &customer).await;
    let order = t
        .wait_until(&customer, &Route::GetOrder { order: &id }.path(), Duration::from_secs(90), |o| {
            o["status"] == "DELIVERED"
        })
        .await;
    assert_eq!(order["version"], 5, "{order}");
    // The order is DELIVERED by the second call, whose answer was lost:
    // the message comes back once more, 15 s later, a duplicate.
    let completer_calls = |activity: &[StackEvent]| {
        activity
            .iter()
            .filter(|e| matches!(e, StackEvent::Batch { function, .. } if function == "delivery-completer"))
            .count()
    };
    let waited = std::time::Instant::now();
    while completer_calls(&t.activity.lock().unwrap()) < 3 && waited.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let activity = t.activity.lock().unwrap().clone();
    let calls: Vec<Option<&InvokeOutcome>> = activity
        .iter()
        .filter(|e| matches!(e, StackEvent::Batch { function, .. } if function == "delivery-completer"))
        .map(StackEvent::failure)
        .collect();
    assert!(calls.len() >= 3, "two killed attempts, then one that answered: {calls:?}");
    assert!(matches!(calls[0], Some(InvokeOutcome::Crashed { .. })), "{calls:?}");
    assert!(matches!(calls[1], Some(InvokeOutcome::Crashed { .. })), "{calls:?}");
    assert!(calls[2].is_none(), "{calls:?}");
    // The dispatcher never waited: every call of it well under a second.
    for event in &activity {
        if let StackEvent::Batch { function, duration, .. } = event
            && function == "delivery-dispatcher"
        {
            assert!(*duration < Duration::from_millis(900), "the dispatcher took {duration:?}");
        }
    }
    // One completion on the topic: the second call published and recorded
    // it, and the third found it recorded and published nothing.
    let events = t.delivery_events(&id).await;
    let completed: Vec<&Value> = events.iter().filter(|e| e["event_type"] == "DeliveryCompleted").collect();
    assert_eq!(completed.len(), 1, "{events:?}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    // Delivered once: 5 statuses on 2 channels.
    assert_eq!(t.list_all(&customer, &Route::ListMyNotifications.path()).await.len(), 10);
    // The rider is free: the next order of the zone is delivered by them.
    let next = shop.deliver_one(&t, &customer, Duration::from_secs(30)).await;
    let next = t.expect(&customer, Route::GetOrder { order: &next }, None, 200).await;
    assert_eq!(next["rider_id"], order["rider_id"]);
    t.stop().await;
}
