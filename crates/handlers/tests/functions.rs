//! Each function's handler run on its `events/` payload against the
//! emulators (DynamoDB and S3 in moto, Kafka in Tansu), with the resulting
//! state checked.

mod support;
use support::payloads::{self, ORDER, PHOTO_KEY};
use support::*;

use foodstream_application::consumers::{CompletePorts, DispatchPorts, NotifyPorts};
use foodstream_application::refunds::PhotoPorts;
use foodstream_aws::{SqsDeliveryTimer, SystemClock};
use foodstream_domain::delivery::{RiderStatus, Zone};
use foodstream_domain::ids::{OrderId, Recipient, RiderId, StoreId, UserId};
use foodstream_domain::order::OrderStatus;
use foodstream_domain::ports::{
    CatalogRepository, DeliveryRepository, LogRepository, NotificationRepository, PageRequest,
    RiderRepository,
};
use foodstream_handlers::batch::consumers;
use foodstream_handlers::http::routes;
use serde_json::json;

const PAGE: PageRequest = PageRequest { limit: 50, cursor: None };

#[test]
fn event_payloads_are_current() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events");
    let write = std::env::var_os("UPDATE_EVENTS").is_some();
    for (name, payload) in payloads::all() {
        let path = dir.join(format!("{name}.json"));
        let text = serde_json::to_string_pretty(&payload).unwrap() + "\n";
        if write {
            std::fs::write(&path, &text).unwrap();
        } else {
            let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(on_disk == text, "{} is stale: run `make events`", path.display());
        }
    }
    let functions: Vec<_> = std::fs::read_dir(dir.join("../functions"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| !n.starts_with('.'))
        .collect();
    assert_eq!(functions.len(), payloads::all().len(), "one payload per function");
    for function in functions {
        assert!(payloads::all().iter().any(|(n, _)| *n == function), "no payload for {function}");
    }
}

#[tokio::test]
async fn put_menu_item_stores_the_item() {
    let env = Env::new().await;
    let (status, body) = answer_of(routes::put_menu_item(&env.catalog, request("put-menu-item")).await);
    assert_eq!((status, body["price"].clone()), (200, json!(9000)));
    let items = env.catalog.list_items(&StoreId::new("store-1")).await.unwrap();
    assert_eq!((items[0].name.as_str(), items[0].stock), ("비빔밥", 10));
}

#[tokio::test]
async fn list_menu_answers_the_items() {
    let env = Env::new().await.with_menu().await;
    let (status, body) = answer_of(routes::list_menu(&env.catalog, request("list-menu")).await);
    assert_eq!(status, 200);
    assert_eq!(body["items"].as_array().unwrap().len(), 2);
    assert_eq!(body["next_cursor"], json!(null));
}

#[tokio::test]
async fn place_order_takes_stock_and_replays_on_the_same_key() {
    let env = Env::new().await.with_menu().await;
    let (status, first) = answer_of(routes::place_order(env.place_ports(), request("place-order")).await);
    assert_eq!((status, first["status"].as_str()), (201, Some("PAID")));
    assert_eq!(first["total"], json!(26000));
    let retry = routes::place_order(env.place_ports(), request("place-order")).await.unwrap();
    assert_eq!(retry.headers().get("idempotent-replayed").unwrap(), "true");
    let (_, again) = answer(retry);
    assert_eq!(again["order_id"], first["order_id"]);
    let stock = env.catalog.list_items(&StoreId::new("store-1")).await.unwrap();
    let bibimbap = stock.iter().find(|i| i.product_id.as_str() == "bibimbap").unwrap();
    assert_eq!(bibimbap.stock, 8, "taken once");
}

#[tokio::test]
async fn list_my_orders_and_get_order_answer_the_customers_order() {
    let env = Env::new().await.with_order(&payloads::placed().0).await;
    let (status, list) =
        answer_of(routes::list_my_orders(&env.orders, &SystemClock, request("list-my-orders")).await);
    assert_eq!((status, list["items"][0]["order_id"].as_str()), (200, Some(ORDER)));
    let (status, order) = answer_of(routes::get_order(&env.orders, &SystemClock, request("get-order")).await);
    assert_eq!((status, order["timeline"][0]["status"].as_str()), (200, Some("PAID")));
}

#[tokio::test]
async fn cancel_order_cancels_a_paid_order_and_gives_stock_back() {
    let env = Env::new().await.with_menu().await.with_order(&payloads::placed().0).await;
    let (status, order) = answer_of(routes::cancel_order(env.change_ports(), request("cancel-order")).await);
    assert_eq!((status, order["status"].as_str()), (200, Some("CANCELLED")));
    assert_eq!(order["timeline"][1]["reason"], json!("changed my mind"));
    let items = env.catalog.list_items(&StoreId::new("store-1")).await.unwrap();
    assert!(items.iter().any(|i| i.product_id.as_str() == "bibimbap" && i.stock == 12), "{items:?}");
    let (status, again) = answer_of(routes::cancel_order(env.change_ports(), request("cancel-order")).await);
    assert_eq!((status, again["error"]["code"].as_str()), (409, Some("INVALID_STATUS")));
}

#[tokio::test]
async fn list_store_orders_filters_by_status() {
    let env = Env::new().await.with_order(&payloads::placed().0).await;
    let (status, list) =
        answer_of(routes::list_store_orders(&env.orders, &SystemClock, request("list-store-orders")).await);
    assert_eq!((status, list["items"].as_array().unwrap().len()), (200, 1));
}

#[tokio::test]
async fn accept_reject_and_request_delivery_move_the_order() {
    let env = Env::new().await.with_menu().await.with_order(&payloads::placed().0).await;
    let (status, rejected) =
        answer_of(routes::reject_order(env.change_ports(), request("reject-order")).await);
    assert_eq!((status, rejected["status"].as_str()), (200, Some("REJECTED")));

    let env = Env::new().await.with_order(&payloads::placed().0).await;
    let (status, accepted) =
        answer_of(routes::accept_order(env.change_ports(), request("accept-order")).await);
    assert_eq!((status, accepted["status"].as_str()), (200, Some("ACCEPTED")));
    let (status, requested) =
        answer_of(routes::request_delivery(env.change_ports(), request("request-delivery")).await);
    assert_eq!((status, requested["status"].as_str()), (202, Some("DELIVERY_REQUESTED")));
    assert_eq!(env.order().await.version, 3);
}

/// order-1, delivered just now.
fn delivered() -> foodstream_domain::order::Order {
    let (requested, _) = payloads::delivery_requested();
    let events = payloads::delivery_events();
    let now = chrono::Utc::now();
    let assigned =
        requested.rider_assigned(events[0].position(), RiderId::new("rider-1"), now).unwrap().order;
    let policy = foodstream_domain::refund::RefundPolicy::default();
    assigned.delivered(events[1].position(), RiderId::new("rider-1"), now, now, &policy).unwrap().order
}

#[tokio::test]
async fn refund_photo_request_and_decision_work_against_s3_and_dynamodb() {
    let env = Env::new().await.with_order(&delivered()).await;
    let ports = PhotoPorts {
        orders: &env.orders,
        photos: &env.photos,
        clock: &SystemClock,
        refund: &env.settings.refund,
    };
    let (status, upload) =
        answer_of(routes::create_refund_photo(ports, request("create-refund-photo")).await);
    assert_eq!(status, 200, "{upload}");
    assert_eq!(upload["photo_key"], PHOTO_KEY, "one key per order");
    assert_eq!(upload["fields"]["key"], PHOTO_KEY);
    assert_eq!(upload["fields"]["x-amz-signature"].as_str().map(str::len), Some(64), "{upload}");
    assert!(upload["upload_url"].as_str().unwrap().ends_with(&env.bucket), "{upload}");

    // The payload names a fixed key: put a photo there as the phone would.
    let (status, missing) =
        answer_of(routes::request_refund(env.change_ports(), &env.photos, request("request-refund")).await);
    assert_eq!(
        (status, missing["error"]["details"]["fields"][0]["field"].as_str()),
        (400, Some("photo_key"))
    );
    env.upload_photo(4096).await;
    let (status, order) =
        answer_of(routes::request_refund(env.change_ports(), &env.photos, request("request-refund")).await);
    assert_eq!((status, order["status"].as_str()), (200, Some("REFUND_REQUESTED")));
    let (status, order) =
        answer_of(routes::decide_refund(env.change_ports(), request("decide-refund")).await);
    assert_eq!((status, order["status"].as_str()), (200, Some("DELIVERED")));
    assert_eq!(order["refund"]["decision_reason"], json!("the photo shows a full bowl"));
}

#[tokio::test]
async fn register_rider_and_list_logs_are_operator_routes() {
    let env = Env::new().await;
    let (status, rider) =
        answer_of(routes::register_rider(&env.riders, &SystemClock, request("register-rider")).await);
    assert_eq!(
        (status, rider["zone"].as_str(), rider["status"].as_str()),
        (200, Some("gangnam-gu"), Some("AVAILABLE"))
    );
    assert_eq!(env.riders.in_zone(&Zone::from_district("gangnam-gu")).await.unwrap().len(), 1);
    let record = env.settings.log_retention.record(&payloads::log_event());
    env.logs.insert(&record).await.unwrap();
    let (status, logs) = answer_of(routes::list_logs(&env.logs, request("list-logs")).await);
    assert_eq!((status, logs["items"][0]["log_id"].as_str()), (200, Some(record.log_id.as_str())));
}

#[tokio::test]
async fn order_outbox_relay_publishes_the_events_of_the_stream_record() {
    let env = Env::new().await;
    let report =
        consumers::relay(&env.publisher, &env.dead_letters, &stream_batch("order-outbox-relay")).await;
    assert_eq!((report.summary.applied, report.summary.parked), (1, 0));
    assert!(report.response.batch_item_failures.is_empty());
    assert_eq!(env.publisher.sent_ids(), ["order-1:v1"]);
    assert_eq!(env.publisher.sent()[0].topic, "order-events");
}

#[tokio::test]
async fn delivery_dispatcher_takes_a_rider_publishes_the_assignment_and_sets_the_timer() {
    let mut env = Env::new().await;
    env.settings.delivery = foodstream_domain::delivery::DeliverySettings::from_millis(1500);
    env.riders
        .upsert(&RiderId::new("rider-1"), &Zone::from_district("Gangnam-gu"), chrono::Utc::now())
        .await
        .unwrap();
    let (sqs, queue) = timer_queue(&env.config).await;
    let timer = SqsDeliveryTimer::new(sqs.clone(), &queue);
    let ports = DispatchPorts {
        riders: &env.riders,
        deliveries: &env.deliveries,
        publisher: &env.publisher,
        clock: &SystemClock,
        settings: &env.settings,
    };
    let batch = kafka_batch("delivery-dispatcher");
    let started = std::time::Instant::now();
    let summary = consumers::dispatch(&ports, &timer, &env.dead_letters, &batch).await.summary;
    assert_eq!((summary.records, summary.applied), (1, 1));
    assert_eq!(env.publisher.sent_ids(), ["order-1:d3:assigned"], "no completion yet");
    let rider = env.riders.get(&RiderId::new("rider-1")).await.unwrap().unwrap();
    assert_eq!(rider.status, RiderStatus::Busy, "on the delivery");
    // The message waits out its delay (what is left of the 1.5 s, rounded
    // up to whole seconds): it is never received before the delivery is due.
    let message = loop {
        let out = sqs.receive_message().queue_url(&queue).wait_time_seconds(1).send().await.unwrap();
        if let Some(m) = out.messages().first() {
            break m.clone();
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(10), "the timer never fired");
    };
    let received_at = chrono::Utc::now();
    let body = message.body().unwrap();
    let due = foodstream_domain::timer::CompletionDue::decode(body).unwrap();
    assert_eq!(due.delivery_id, "order-1#3");
    assert!(received_at >= due.completes_at, "received at {received_at}, due at {}", due.completes_at);

    // The completer on that message: the completion published, the rider freed.
    let complete =
        CompletePorts { deliveries: &env.deliveries, publisher: &env.publisher, clock: &SystemClock };
    let event = serde_json::from_value(payloads::timer_event(&[body])).unwrap();
    let report = consumers::complete_deliveries(&complete, &env.dead_letters, &event).await;
    assert_eq!((report.summary.applied, report.response.batch_item_failures.len()), (1, 0));
    assert_eq!(env.publisher.sent_ids(), ["order-1:d3:assigned", "order-1:d3:completed"]);
    let rider = env.riders.get(&RiderId::new("rider-1")).await.unwrap().unwrap();
    assert_eq!(rider.status, RiderStatus::Available, "free again after the delivery");
    // The same message again (SQS delivers at least once): nothing more.
    let again = consumers::complete_deliveries(&complete, &env.dead_letters, &event).await.summary;
    assert_eq!(again.duplicates, 1);
    assert_eq!(env.publisher.sent_ids().len(), 2);
    // The same request batch again takes no rider and sets the timer again.
    let again = consumers::dispatch(&ports, &timer, &env.dead_letters, &batch).await.summary;
    assert_eq!(again.duplicates, 1);
}

#[tokio::test]
async fn delivery_completer_completes_its_payloads_delivery_once_and_parks_what_is_not_a_completion() {
    let env = Env::new().await;
    env.riders
        .upsert(&RiderId::new("rider-1"), &Zone::from_district("Gangnam-gu"), chrono::Utc::now())
        .await
        .unwrap();
    let request = payloads::delivery_requested().1.delivery_request().unwrap();
    let assigned = request.assign(
        RiderId::new("rider-1"),
        payloads::at(),
        &foodstream_domain::delivery::DeliverySettings::default(),
    );
    env.deliveries.assign(&assigned).await.unwrap();
    let ports = CompletePorts { deliveries: &env.deliveries, publisher: &env.publisher, clock: &SystemClock };
    let batch: aws_lambda_events::event::sqs::SqsEvent =
        serde_json::from_str(&payload_text("delivery-completer")).unwrap();
    let report = consumers::complete_deliveries(&ports, &env.dead_letters, &batch).await;
    assert_eq!((report.summary.applied, report.response.batch_item_failures.len()), (1, 0));
    assert_eq!(env.publisher.sent_ids(), ["order-1:d3:completed"]);
    let rider = env.riders.get(&RiderId::new("rider-1")).await.unwrap().unwrap();
    assert_eq!(rider.status, RiderStatus::Available);
    // A message that is not a completion, and one for no delivery: parked.
    let hostile: aws_lambda_events::event::sqs::SqsEvent = serde_json::from_value(payloads::timer_event(&[
        "{\"delivery_id\": 7}",
        r#"{"delivery_id": "nobody#3", "completes_at": "2026-11-25T12:00:01Z"}"#,
    ]))
    .unwrap();
    let report = consumers::complete_deliveries(&ports, &env.dead_letters, &hostile).await;
    assert_eq!((report.summary.parked, report.response.batch_item_failures.len()), (2, 0));
    assert_eq!(env.dead_letters.letters().len(), 2);
}

#[tokio::test]
async fn order_delivery_updater_delivers_the_order_once() {
    let env = Env::new().await.with_delivery_requested().await;
    let batch = kafka_batch("order-delivery-updater");
    let summary =
        consumers::update_orders(&env.orders, &SystemClock, &env.settings, &env.dead_letters, &batch)
            .await
            .summary;
    assert_eq!((summary.records, summary.applied), (2, 2));
    let order = env.order().await;
    assert_eq!((order.status, order.version), (OrderStatus::Delivered, 5));
    let replay =
        consumers::update_orders(&env.orders, &SystemClock, &env.settings, &env.dead_letters, &batch)
            .await
            .summary;
    assert_eq!((replay.applied, replay.duplicates + replay.stale), (0, 2));
    assert_eq!(env.order().await.version, 5);
}

#[tokio::test]
async fn notifier_stores_notifications_and_publishes_a_log_event_for_each() {
    let env = Env::new().await;
    let ports =
        NotifyPorts { notifications: &env.notifications, publisher: &env.publisher, settings: &env.settings };
    let summary = consumers::notify(&ports, &env.dead_letters, &kafka_batch("notifier")).await.summary;
    assert_eq!(summary.applied, 1);
    let customer =
        env.notifications.list_for(&Recipient::Customer(UserId::new("cust-1")), &PAGE).await.unwrap();
    let store = env.notifications.list_for(&Recipient::Store(StoreId::new("store-1")), &PAGE).await.unwrap();
    assert_eq!((customer.items.len(), store.items.len()), (2, 2));
    assert_eq!(env.publisher.sent().iter().filter(|m| m.topic == "log-events").count(), 4);
    let (status, mine) =
        answer_of(routes::list_my_notifications(&env.notifications, request("list-my-notifications")).await);
    assert_eq!((status, mine["items"].as_array().unwrap().len()), (200, 2));
}

#[tokio::test]
async fn log_collector_stores_the_record_once() {
    let env = Env::new().await;
    let batch = kafka_batch("log-collector");
    let collect = || consumers::collect_logs(&env.logs, &env.settings, &env.dead_letters, &batch);
    assert_eq!(collect().await.summary.applied, 1);
    assert_eq!(collect().await.summary.duplicates, 1);
    let records = env.logs.list_for_order(&OrderId::new(ORDER), &PAGE).await.unwrap();
    assert_eq!(records.items.len(), 1);
    assert_eq!(records.items[0].service, "notifier");
}

#[tokio::test]
async fn a_poison_record_is_parked_with_its_payload_and_the_batch_answered_done() {
    let env = Env::new().await;
    let mut batch = kafka_batch("log-collector");
    let record = batch.records.values_mut().next().unwrap().first_mut().unwrap();
    record.value = Some("bm90IGpzb24=".into()); // "not json"
    let report = consumers::collect_logs(&env.logs, &env.settings, &env.dead_letters, &batch).await;
    assert_eq!((report.summary.parked, report.summary.retried), (1, 0));
    assert!(report.response.batch_item_failures.is_empty(), "never retried: it can never succeed");
    let letters = env.dead_letters.letters();
    assert_eq!(letters.len(), 1);
    assert_eq!(
        (letters[0].consumer.as_str(), letters[0].source.as_str()),
        ("log-collector", "log-events-0@100")
    );
    // Kept for a replay as an aws:kafka batch of the one record, as Lambda
    // would have invoked the function with it alone.
    let batch = &letters[0].record;
    assert_eq!(batch["eventSource"], "aws:kafka", "{batch}");
    assert_eq!(batch["records"].as_object().unwrap().len(), 1, "{batch}");
    assert_eq!(batch["records"]["log-events-0"][0]["value"], "bm90IGpzb24=", "the payload is kept: {batch}");
    assert_eq!(batch["records"]["log-events-0"][0]["offset"], 100, "{batch}");
}

#[tokio::test]
async fn delivery_sweeper_completes_an_overdue_delivery_and_publishes_what_the_dispatcher_would() {
    use foodstream_application::sweeper::{SweepPorts, SweepSettings};
    use foodstream_domain::delivery::DeliverySettings;
    let env = Env::new().await;
    // The payload is the schedule's event: the sweeper reads nothing from it.
    let _tick: aws_lambda_events::event::eventbridge::EventBridgeEvent =
        serde_json::from_str(&payload_text("delivery-sweeper")).unwrap();
    let zone = Zone::from_district("Gangnam-gu");
    env.riders.upsert(&RiderId::new("rider-1"), &zone, chrono::Utc::now()).await.unwrap();
    let (_, requested) = payloads::delivery_requested();
    let request = requested.delivery_request().unwrap();
    // Assigned two minutes ago; its dispatcher never came back.
    let assigned_at = chrono::Utc::now() - chrono::Duration::minutes(2);
    let assigned = request.assign(RiderId::new("rider-1"), assigned_at, &DeliverySettings::default());
    env.deliveries.assign(&assigned).await.unwrap();
    let ports = SweepPorts {
        orders: &env.orders,
        dispatch: foodstream_application::consumers::DispatchPorts {
            riders: &env.riders,
            deliveries: &env.deliveries,
            publisher: &env.publisher,
            clock: &SystemClock,
            settings: &env.settings,
        },
        settings: SweepSettings::default(),
    };
    let completed_one = foodstream_application::sweeper::Swept { resumed: 0, completed: 1 };
    assert_eq!(consumers::sweep(&ports).await.unwrap(), completed_one);
    assert_eq!(env.publisher.sent_ids(), ["order-1:d3:assigned", "order-1:d3:completed"]);
    let rider = env.riders.get(&RiderId::new("rider-1")).await.unwrap().unwrap();
    assert_eq!(rider.status, RiderStatus::Available, "the rider is free again");
    assert_eq!(consumers::sweep(&ports).await.unwrap(), Default::default(), "once");
}

#[tokio::test]
async fn only_the_cognito_claims_are_read_a_plain_role_is_refused() {
    let env = Env::new().await.with_menu().await;
    // The claims API Gateway hands over from a Cognito ID token: accepted.
    let (status, _) = answer_of(routes::list_menu(&env.catalog, request("list-menu")).await);
    assert_eq!(status, 200);
    // No token on AWS carries a plain `role`: one that does is not trusted.
    let plain = edited_request("list-menu", |r| {
        let claims = &mut r["requestContext"]["authorizer"]["jwt"]["claims"];
        claims.as_object_mut().unwrap().remove("custom:role");
        claims["role"] = json!("customer");
    });
    let (status, body) = answer_of(routes::list_menu(&env.catalog, plain).await);
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("UNAUTHENTICATED")), "{body}");
}

/// A fresh queue in the emulator for the delivery timer.
async fn timer_queue(config: &aws_config::SdkConfig) -> (aws_sdk_sqs::Client, String) {
    let sqs = aws_sdk_sqs::Client::new(config);
    let name = foodstream_testkit::unique("timer");
    let created = sqs.create_queue().queue_name(name).send().await.unwrap();
    (sqs, created.queue_url().unwrap().to_owned())
}
