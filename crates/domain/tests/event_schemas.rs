//! Every event type serialises to JSON that its schema under
//! `events/schemas/` accepts, decodes back to the same value, and the
//! schemas refuse broken records.

mod common;
use common::*;

use foodstream_domain::delivery::{DeliveryFailureReason, DeliverySettings};
use foodstream_domain::events::{
    DecodeError, DeliveryEvent, DeliveryEventData, DeliveryEventType, EventType, LogEvent, LogEventData,
    LogEventType, OrderEvent, OrderEventData, OrderEventType, decode,
};
use foodstream_domain::ids::{RiderId, StoreId};
use foodstream_domain::notification::{Locale, notifications_for};
use foodstream_domain::order::{Order, OrderStatus};
use serde_json::{Value, json};
use std::collections::BTreeSet;

use foodstream_testkit::schemas::{Schemas, schema_files};

fn delivery_events() -> Vec<DeliveryEvent> {
    let requested = order_in(OrderStatus::DeliveryRequested);
    let event = requested.request_delivery_event();
    let request = event.delivery_request().unwrap();
    let assigned = request.clone().assign(RiderId::new("r-1"), t(21), &DeliverySettings::default());
    let failed = request.fail(DeliveryFailureReason::AllRidersBusy, t(21));
    vec![
        DeliveryEvent::of(&assigned),
        DeliveryEvent::of(&assigned.completed().unwrap()),
        DeliveryEvent::of(&failed),
    ]
}

/// The `OrderDeliveryRequested` event that brought an order to its state.
trait LastEvent {
    fn request_delivery_event(&self) -> OrderEvent;
}

impl LastEvent for Order {
    fn request_delivery_event(&self) -> OrderEvent {
        OrderEvent::of(self, OrderEventType::OrderDeliveryRequested, None, self.updated_at)
    }
}

fn log_events() -> Vec<LogEvent> {
    let placed_event = &order_events()[0];
    notifications_for(placed_event, Locale::Ko)
        .iter()
        .map(|n| LogEvent::of_notification(n, &StoreId::new("store-1"), "notifier"))
        .collect()
}

fn to_value<T: serde::Serialize>(event: &T) -> Value {
    serde_json::to_value(event).unwrap()
}

#[test]
fn every_schema_file_is_valid_json_schema_and_every_event_type_has_one() {
    let files = schema_files();
    for (relative, schema) in &files {
        assert!(jsonschema::meta::is_valid(schema), "{relative} is not a valid JSON Schema");
    }
    let mut expected: BTreeSet<String> = [
        "envelope.json",
        "order-events/order-event.json",
        "delivery-events/delivery-event.json",
        "log-events/log-event.json",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    expected
        .extend(OrderEventType::ALL.iter().map(|k| format!("{}/{}.json", OrderEventType::TOPIC, k.as_str())));
    expected.extend(
        DeliveryEventType::ALL.iter().map(|k| format!("{}/{}.json", DeliveryEventType::TOPIC, k.as_str())),
    );
    expected.extend(LogEventType::ALL.iter().map(|k| format!("{}/{}.json", LogEventType::TOPIC, k.as_str())));
    assert_eq!(files.keys().cloned().collect::<BTreeSet<_>>(), expected);
}

#[test]
fn a_sample_of_every_order_event_type_matches_its_schema_and_round_trips() {
    let schemas = Schemas::load();
    let events = order_events();
    let seen: BTreeSet<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    let all: BTreeSet<&str> = OrderEventType::ALL.iter().map(|k| k.as_str()).collect();
    assert_eq!(seen, all, "the samples cover every order event type");
    for event in &events {
        let value = to_value(event);
        assert_eq!(schemas.errors("order-events", &value), Vec::<String>::new(), "{value:#}");
        let back: OrderEvent = decode(&event.to_json()).unwrap();
        assert_eq!(&back, event);
    }
}

#[test]
fn a_sample_of_every_delivery_event_type_matches_its_schema_and_round_trips() {
    let schemas = Schemas::load();
    let events = delivery_events();
    assert_eq!(events.len(), DeliveryEventType::ALL.len());
    for event in &events {
        let value = to_value(event);
        assert_eq!(schemas.errors("delivery-events", &value), Vec::<String>::new(), "{value:#}");
        let back: DeliveryEvent = decode(&event.to_json()).unwrap();
        assert_eq!(&back, event);
    }
}

#[test]
fn a_sample_of_every_log_event_type_matches_its_schema_and_round_trips() {
    let schemas = Schemas::load();
    let events = log_events();
    // customer and store, on both channels
    assert_eq!(events.len(), 4);
    for event in &events {
        let value = to_value(event);
        assert_eq!(schemas.errors("log-events", &value), Vec::<String>::new(), "{value:#}");
        let back: LogEvent = decode(&event.to_json()).unwrap();
        assert_eq!(&back, event);
    }
}

/// Breaks a valid sample in one way; the schema of its type must refuse it.
fn assert_refused(schemas: &Schemas, topic: &str, sample: &Value, what: &str, break_it: impl Fn(&mut Value)) {
    let mut broken = sample.clone();
    break_it(&mut broken);
    let errors = schemas.errors(topic, &broken);
    assert!(!errors.is_empty(), "{topic}: {what} was accepted: {broken:#}");
}

#[test]
fn invalid_records_are_refused_by_their_schema() {
    let schemas = Schemas::load();
    let orders = order_events();
    let placed = to_value(&orders[0]);
    let rejected = to_value(orders.iter().find(|e| e.event_type == OrderEventType::OrderRejected).unwrap());
    let refund_requested =
        to_value(orders.iter().find(|e| e.event_type == OrderEventType::OrderRefundRequested).unwrap());
    let o = "order-events";
    assert_refused(&schemas, o, &placed, "a missing total", |v| {
        v["data"].as_object_mut().unwrap().remove("total");
    });
    assert_refused(&schemas, o, &placed, "a missing envelope field", |v| {
        v.as_object_mut().unwrap().remove("order_version");
    });
    assert_refused(&schemas, o, &placed, "version 0", |v| v["order_version"] = json!(0));
    assert_refused(&schemas, o, &placed, "an unknown field", |v| v["extra"] = json!(1));
    assert_refused(&schemas, o, &placed, "an unknown data field", |v| v["data"]["extra"] = json!(1));
    assert_refused(&schemas, o, &placed, "a malformed time", |v| v["occurred_at"] = json!("yesterday"));
    assert_refused(&schemas, o, &placed, "an impossible date", |v| {
        v["occurred_at"] = json!("2026-02-30T10:00:00Z")
    });
    assert_refused(&schemas, o, &placed, "a status other than its type's", |v| {
        v["data"]["status"] = json!("ACCEPTED")
    });
    assert_refused(&schemas, o, &placed, "an unknown status", |v| v["data"]["status"] = json!("LOST"));
    assert_refused(&schemas, o, &placed, "quantity 0", |v| v["data"]["items"][0]["quantity"] = json!(0));
    assert_refused(&schemas, o, &placed, "no items", |v| v["data"]["items"] = json!([]));
    assert_refused(&schemas, o, &placed, "a string amount", |v| v["data"]["total"] = json!("26000"));
    assert_refused(&schemas, o, &rejected, "a rejection without reason", |v| {
        v["data"]["reason"] = json!(null)
    });
    assert_refused(&schemas, o, &refund_requested, "an unknown refund method", |v| {
        v["data"]["refund_method"] = json!("STORE_CREDIT")
    });

    let delivery = delivery_events();
    let assigned = to_value(&delivery[0]);
    let failed = to_value(&delivery[2]);
    let d = "delivery-events";
    assert_refused(&schemas, d, &assigned, "an assignment without rider", |v| {
        v["data"]["rider_id"] = json!(null)
    });
    assert_refused(&schemas, d, &failed, "an unknown failure reason", |v| {
        v["data"]["reason"] = json!("RAIN")
    });
    assert_refused(&schemas, d, &failed, "a failure with a rider", |v| v["data"]["rider_id"] = json!("r-1"));

    let log = to_value(&log_events()[0]);
    let l = "log-events";
    assert_refused(&schemas, l, &log, "an unknown channel", |v| v["data"]["channel"] = json!("sms"));
    assert_refused(&schemas, l, &log, "an empty message", |v| v["data"]["message"] = json!(""));
}

#[test]
fn undecodable_records_are_typed_errors_never_panics() {
    assert!(matches!(
        decode::<OrderEventType, OrderEventData>(b"\xff not json"),
        Err(DecodeError::NotJson(_))
    ));
    assert!(matches!(
        decode::<OrderEventType, OrderEventData>(br#"{"event_type":"RiderAssigned"}"#),
        Err(DecodeError::UnknownType(t, "order-events")) if t == "RiderAssigned"
    ));
    assert!(matches!(
        decode::<DeliveryEventType, DeliveryEventData>(br#"{"event_type":"RiderAssigned"}"#),
        Err(DecodeError::Invalid(_))
    ));
    assert!(matches!(decode::<LogEventType, LogEventData>(b"[]"), Err(DecodeError::Invalid(_))));
}
