//! Rule 13 and 14 through the consumers: a notification for every status
//! change, a log record for every notification, both idempotent; and the
//! outbox relay losing nothing while the broker is down.

mod support;
use support::*;

use foodstream_application::AppError;
use foodstream_application::consumers::{Outcome, collect_log, notify, relay_order_events};
use foodstream_application::logs::{LogQuery, list_logs};
use foodstream_application::notifications::list_my_notifications;
use foodstream_application::ordering::{accept_order, cancel_order, request_delivery};
use foodstream_domain::events::{LogEvent, OrderEvent, decode};
use foodstream_domain::order::OrderStatus;
use foodstream_domain::trace::TraceParent;
use std::collections::BTreeSet;

/// One order delivered, one cancelled: every kind of recipient is notified.
async fn busy_world() -> (World, String, String) {
    let mut w = World::new().with_menu(&[("bibimbap", 9000, 10)]).await;
    w.register_rider("r-1", "Gangnam-gu").await;
    let delivered = w.place(&customer(), &[("bibimbap", 1)]).await.unwrap().order.order_id;
    accept_order(w.change_ports(), &owner(), &delivered).await.unwrap();
    request_delivery(w.change_ports(), &owner(), &delivered).await.unwrap();
    let cancelled = w.place(&customer(), &[("bibimbap", 1)]).await.unwrap().order.order_id;
    cancel_order(w.change_ports(), &customer(), &cancelled, None).await.unwrap();
    w.pump().await;
    (w, delivered, cancelled)
}

#[tokio::test]
async fn rule_13_every_status_change_notifies_the_customer_on_both_channels() {
    let (w, delivered, cancelled) = busy_world().await;
    let mine = list_my_notifications(&*w.store, &customer(), Some("100"), None).await.unwrap();
    for id in [&delivered, &cancelled] {
        let order = w.order(id).await;
        for entry in &order.timeline {
            let channels: BTreeSet<_> = mine
                .items
                .iter()
                .filter(|n| &n.order_id == id && n.status == entry.status)
                .map(|n| n.channel.clone())
                .collect();
            assert_eq!(
                channels,
                BTreeSet::from(["app-push".into(), "kakao-talk".into()]),
                "{id} {}",
                entry.status
            );
        }
    }
    // PAID, ACCEPTED, DELIVERY_REQUESTED, DELIVERING, DELIVERED + PAID, CANCELLED; two channels each.
    assert_eq!(mine.items.len(), 7 * 2);
    assert!(mine.items.windows(2).all(|p| p[0].created_at >= p[1].created_at), "newest first");
}

#[tokio::test]
async fn rule_13_owners_are_notified_as_their_store_of_new_orders_and_cancellations() {
    let (w, _, cancelled) = busy_world().await;
    let store = list_my_notifications(&*w.store, &owner(), None, None).await.unwrap();
    let statuses: Vec<_> = store.items.iter().map(|n| n.status).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == OrderStatus::Paid).count(),
        4,
        "two new orders, two channels"
    );
    assert_eq!(statuses.iter().filter(|s| **s == OrderStatus::Cancelled).count(), 2);
    assert_eq!(statuses.len(), 6, "nothing else concerns the store");
    assert!(store.items.iter().any(|n| n.order_id == cancelled && n.title == "주문 취소"));
    let other = list_my_notifications(&*w.store, &other_owner(), None, None).await.unwrap();
    assert!(other.items.is_empty());
}

#[tokio::test]
async fn rule_14_every_notification_becomes_a_log_record_operators_can_read() {
    let (w, delivered, _) = busy_world().await;
    assert_eq!(w.traffic.log_events.len(), w.store.notification_count());
    assert_eq!(w.store.log_count(), w.store.notification_count());
    let by_order = list_logs(
        &*w.store,
        &operator(),
        LogQuery { order_id: Some(&delivered), limit: Some("100"), ..Default::default() },
    )
    .await
    .unwrap();
    // 5 statuses to the customer + the new order to the store, two channels each.
    assert_eq!(by_order.items.len(), 12);
    assert!(by_order.items.iter().all(|r| r.service == "notifier" && r.order_id == delivered));
    let by_user = list_logs(
        &*w.store,
        &operator(),
        LogQuery { user_id: Some("cust-1"), limit: Some("100"), ..Default::default() },
    )
    .await
    .unwrap();
    assert_eq!(by_user.items.len(), 14);
    let by_store = list_logs(&*w.store, &operator(), LogQuery { user_id: Some(STORE), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(by_store.items.len(), 6);
}

#[tokio::test]
async fn log_queries_are_for_operators_with_exactly_one_filter() {
    let (w, delivered, _) = busy_world().await;
    let err =
        list_logs(&*w.store, &customer(), LogQuery { user_id: Some("cust-1"), ..Default::default() }).await;
    assert_eq!(api(err.unwrap_err()), (403, "FORBIDDEN"));
    for query in [
        LogQuery::default(),
        LogQuery { user_id: Some("cust-1"), order_id: Some(&delivered), ..Default::default() },
    ] {
        match list_logs(&*w.store, &operator(), query).await.unwrap_err() {
            AppError::Invalid(e) => assert_eq!(e.fields()[0].field, "user_id"),
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test]
async fn a_replayed_order_event_stores_no_second_notification_and_no_second_log() {
    let (mut w, _, _) = busy_world().await;
    let event: OrderEvent = w.traffic.order_events[0].clone();
    let notifications = w.store.notification_count();
    let logs = w.store.log_count();
    assert_eq!(notify(&w.notify_ports(), &event, None).await.unwrap(), Outcome::Duplicate);
    // The log events are published again (the first publish may have been
    // lost) and the collector ignores them.
    let again: Vec<LogEvent> = w.publisher.take().iter().map(|m| decode(&m.payload).unwrap()).collect();
    assert_eq!(again.len(), 4);
    for log in &again {
        assert_eq!(collect_log(&*w.store, &w.settings.log_retention, log).await.unwrap(), Outcome::Duplicate);
    }
    assert_eq!((w.store.notification_count(), w.store.log_count()), (notifications, logs));
    assert!(w.pump().await.order_events.is_empty());
}

#[tokio::test]
async fn the_outbox_relay_loses_nothing_while_the_broker_is_down() {
    let w = World::new().with_menu(&[("bibimbap", 9000, 10)]).await;
    w.place(&customer(), &[("bibimbap", 1)]).await.unwrap();
    let events = w.store.drain_outbox();
    let changes: Vec<_> = events.iter().map(|e| (e.clone(), None)).collect();
    w.publisher.set_down(true);
    assert!(relay_order_events(&*w.publisher, &changes).await.is_err(), "the stream batch is retried");
    assert!(w.publisher.messages().is_empty());
    w.publisher.set_down(false);
    assert_eq!(relay_order_events(&*w.publisher, &changes).await.unwrap(), 1);
    let published = w
        .publisher
        .events::<foodstream_domain::events::OrderEventType, foodstream_domain::events::OrderEventData>();
    assert_eq!(published, events);
    assert_eq!(w.publisher.messages()[0].key, events[0].order_id.as_str(), "keyed by order");
}

#[tokio::test]
async fn a_notifier_that_cannot_publish_fails_so_the_batch_is_retried() {
    let (w, _, _) = busy_world().await;
    let event = w.traffic.order_events[0].clone();
    w.publisher.set_down(true);
    assert!(notify(&w.notify_ports(), &event, None).await.is_err());
}

#[tokio::test]
async fn the_trace_an_order_was_placed_in_rides_on_every_message_of_its_life() {
    let mut w = World::new().with_menu(&[("bibimbap", 9000, 10)]).await;
    w.register_rider("rider-1", "Gangnam-gu").await;
    let trace = TraceParent::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
    let placed = w.place_traced(&customer(), &[("bibimbap", 1)], &trace).await.unwrap();
    let id = placed.order.order_id;
    accept_order(w.change_ports(), &owner(), &id).await.unwrap();
    request_delivery(w.change_ports(), &owner(), &id).await.unwrap();
    w.pump().await;
    assert_eq!(w.order(&id).await.status, OrderStatus::Delivered);

    let topics: std::collections::BTreeSet<_> = w.traffic.traces.iter().map(|(topic, ..)| *topic).collect();
    assert_eq!(topics.len(), 3, "order, delivery and log events: {topics:?}");
    for (topic, event_id, carried) in &w.traffic.traces {
        assert_eq!(carried.as_ref(), Some(&trace), "{topic} {event_id}");
    }
    // An order placed without one carries none, rather than another's.
    let untraced = w.place(&customer(), &[("bibimbap", 1)]).await.unwrap();
    let round = w.pump().await;
    assert!(
        round.traces.iter().all(|(_, _, t)| t.is_none()),
        "{:?} of {}",
        round.traces,
        untraced.order.order_id
    );
}
