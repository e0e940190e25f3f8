//! Events on the three topics, in one envelope.
//!
//! | topic             | key      | types |
//! |-------------------|----------|-------|
//! | `order-events`    | order_id | one per order status change ([`OrderEventType`]) |
//! | `delivery-events` | order_id | [`DeliveryEventType`] |
//! | `log-events`      | user_id  | [`LogEventType`] |
//!
//! Event ids are derived from what happened (order and version, delivery
//! attempt and stage, notification), never random, so a redelivered or
//! re-published event carries the same id and consumers can deduplicate it.
//! A JSON Schema of every type lives in `events/schemas/`.
//!
//! Decoding refuses what no consumer could compute with (see [`bounds`]): a
//! timestamp outside years 2000..=2200, a version, an amount or a quantity
//! out of its range. The record is then unprocessable, parked with the
//! field named, instead of overflowing whatever adds to it downstream.
//!
//! This module says what an event is, not what produces one: an order builds
//! its own events (`OrderEvent::of` is written in [`crate::order`]) and a
//! notification its log event (`LogEvent::of_notification`, in
//! [`crate::notification`]). So the events import neither, and both can
//! import the events.

use crate::delivery::{Delivery, DeliveryFailureReason, DeliveryRequest, DeliveryStatus};
use crate::ids::{EventId, NotificationId, OrderId, ProductId, RiderId, StoreId, UserId};
use crate::refund::RefundMethod;
use crate::sequencing::{DeliveryPosition, DeliveryStage};
use crate::values::{Address, Channel, OrderStatus};
use crate::{Timestamp, Won};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The topics' names.
pub mod topics {
    /// Every order status change, keyed by order.
    pub const ORDER_EVENTS: &str = "order-events";
    /// The dispatcher's decisions on delivery attempts, keyed by order.
    pub const DELIVERY_EVENTS: &str = "delivery-events";
    /// One record per produced notification, keyed by recipient.
    pub const LOG_EVENTS: &str = "log-events";
    /// Every topic.
    pub const ALL: [&str; 3] = [ORDER_EVENTS, DELIVERY_EVENTS, LOG_EVENTS];
}

/// The envelope every event travels in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope<K, D> {
    /// Derived from what happened, so a re-published event keeps its id and
    /// consumers deduplicate on it.
    pub event_id: EventId,
    /// What happened; decides the type of `data`.
    pub event_type: K,
    /// When it happened; decoding refuses one outside [`bounds::YEARS`].
    #[serde(deserialize_with = "bounds::occurred_at")]
    pub occurred_at: Timestamp,
    /// The order it concerns.
    pub order_id: OrderId,
    /// The order's customer (order and delivery events) or the notified
    /// recipient (log events).
    pub user_id: UserId,
    /// The order's store.
    pub store_id: StoreId,
    /// The order version after the change (order events), at which delivery
    /// was requested (delivery events), or that was notified of (log events).
    #[serde(deserialize_with = "bounds::order_version")]
    pub order_version: u64,
    /// What the event type carries.
    pub data: D,
}

/// An order status change, on `order-events`.
pub type OrderEvent = Envelope<OrderEventType, OrderEventData>;
/// A delivery decision, on `delivery-events`.
pub type DeliveryEvent = Envelope<DeliveryEventType, DeliveryEventData>;
/// A produced notification, on `log-events`.
pub type LogEvent = Envelope<LogEventType, LogEventData>;

/// Something that travels on a topic.
pub trait EventType: Copy + Serialize + DeserializeOwned + 'static {
    /// The topic events of this type travel on.
    const TOPIC: &'static str;
    /// Every type of the topic.
    const ALL: &'static [Self];
    /// The wire name (`"OrderPlaced"`), as serde writes it.
    fn as_str(self) -> &'static str;
}

impl<K: EventType, D: Serialize> Envelope<K, D> {
    /// The topic this event travels on.
    pub fn topic(&self) -> &'static str {
        K::TOPIC
    }

    /// The partition key: order id on the order and delivery topics, so one
    /// order's events stay in order; the user on the log topic.
    pub fn key(&self) -> &str {
        if K::TOPIC == topics::LOG_EVENTS { self.user_id.as_str() } else { self.order_id.as_str() }
    }

    /// The event as the JSON it travels as.
    // Derived Serialize of strings, integers, enums and timestamps (never
    // out of chrono's range): serde_json cannot fail on it.
    #[allow(clippy::expect_used)]
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("events always serialise")
    }
}

/// Why a record could not be read as an event. Such a record can never be
/// processed: it goes to the on-failure destination, never blocks the
/// partition.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The bytes are not JSON; says why.
    #[error("not JSON: {0}")]
    NotJson(String),
    /// An `event_type` the topic (second) does not have (first).
    #[error("unknown event type {0:?} for topic {1}")]
    UnknownType(String, &'static str),
    /// Also a value out of [`bounds`]: the reason starts with the field
    /// (`occurred_at: 2201-01-01T00:00:00Z is outside years 2000..=2200`).
    #[error("event does not match its schema: {0}")]
    Invalid(String),
}

/// What a decoded event may hold, so that every consumer can compute with
/// it without overflowing: each field is checked as it is read, and a value
/// out of range fails the decoding with the field named.
pub mod bounds {
    use crate::validation::MAX_QUANTITY;
    use crate::{Timestamp, Won};
    use chrono::{Datelike, SecondsFormat};
    use serde::de::{Deserialize, Deserializer, Error};
    use std::fmt::Display;
    use std::ops::RangeInclusive;

    /// The years (UTC) an event's timestamps may fall in: far beyond any
    /// real order, and far from the ends of what a timestamp can hold.
    pub const YEARS: RangeInclusive<i32> = 2000..=2200;
    /// The largest integer every JSON reader holds exactly (2^53 - 1): the
    /// bound of versions and amounts.
    pub const MAX_EXACT_INTEGER: u64 = (1 << 53) - 1;
    /// Order versions (delivery events: the version that requested the
    /// delivery).
    pub const VERSIONS: RangeInclusive<u64> = 1..=MAX_EXACT_INTEGER;
    /// An order's total.
    pub const TOTALS: RangeInclusive<Won> = 0..=(MAX_EXACT_INTEGER as Won);
    /// A line's unit price.
    pub const PRICES: RangeInclusive<Won> = 1..=(MAX_EXACT_INTEGER as Won);
    /// A line's quantity, as placement allows it.
    pub const QUANTITIES: RangeInclusive<i64> = 1..=MAX_QUANTITY;

    /// Whether `at` falls in [`YEARS`].
    pub fn in_years(at: &Timestamp) -> bool {
        YEARS.contains(&at.year())
    }

    /// An error of `field`: its reading failed, or its value is out of range.
    fn of_field<E: Error>(field: &str, reason: impl Display) -> E {
        E::custom(format_args!("{field}: {reason}"))
    }

    fn timestamp<E: Error>(field: &str, at: Timestamp) -> Result<Timestamp, E> {
        if in_years(&at) {
            return Ok(at);
        }
        let (first, last) = (YEARS.start(), YEARS.end());
        let at = at.to_rfc3339_opts(SecondsFormat::AutoSi, true);
        Err(of_field(field, format_args!("{at} is outside years {first}..={last}")))
    }

    fn integer<'de, D, T>(field: &str, range: RangeInclusive<T>, deserializer: D) -> Result<T, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de> + PartialOrd + Display,
    {
        let n = T::deserialize(deserializer).map_err(|e| of_field::<D::Error>(field, e))?;
        if range.contains(&n) {
            Ok(n)
        } else {
            let (first, last) = (range.start(), range.end());
            Err(of_field(field, format_args!("{n} is outside {first}..={last}")))
        }
    }

    pub(super) fn occurred_at<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Timestamp, D::Error> {
        const FIELD: &str = "occurred_at";
        let at = Timestamp::deserialize(deserializer).map_err(|e| of_field::<D::Error>(FIELD, e))?;
        timestamp(FIELD, at)
    }

    pub(super) fn delivered_at<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Timestamp>, D::Error> {
        const FIELD: &str = "data.delivered_at";
        let at =
            Option::<Timestamp>::deserialize(deserializer).map_err(|e| of_field::<D::Error>(FIELD, e))?;
        at.map(|at| timestamp(FIELD, at)).transpose()
    }

    pub(super) fn order_version<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
        integer("order_version", VERSIONS, deserializer)
    }

    pub(super) fn total<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Won, D::Error> {
        integer("data.total", TOTALS, deserializer)
    }

    pub(super) fn price<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Won, D::Error> {
        integer("data.items[].price", PRICES, deserializer)
    }

    pub(super) fn quantity<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
        integer("data.items[].quantity", QUANTITIES, deserializer)
    }

    /// The longest id (order, user, store, rider, product), as the schemas
    /// say: well within DynamoDB's key sizes.
    pub const MAX_ID_CHARS: usize = 128;
    /// The longest event or notification id.
    pub const MAX_EVENT_ID_CHARS: usize = 256;
    /// The longest item name an event may carry (the menu allows 100).
    pub const MAX_ITEM_NAME_CHARS: usize = 1000;
    /// The longest log message (the schema's bound).
    pub const MAX_MESSAGE_CHARS: usize = 2000;
    /// The longest service name of a log record.
    pub const MAX_SERVICE_CHARS: usize = 64;

    /// `value` is 1..=`max` characters, or `field` is named with why.
    pub(super) fn text(field: &str, value: &str, max: usize) -> Result<(), String> {
        let chars = value.chars().count();
        if value.is_empty() {
            Err(format!("{field}: must not be empty"))
        } else if chars > max {
            Err(format!("{field}: {chars} characters, at most {max}"))
        } else {
            Ok(())
        }
    }

    pub(super) fn optional_text(field: &str, value: Option<&str>, max: usize) -> Result<(), String> {
        value.map_or(Ok(()), |v| text(field, v, max))
    }

    /// The envelope's ids: what every consumer keys on.
    pub(super) fn envelope<K, D>(event: &super::Envelope<K, D>) -> Result<(), String> {
        text("event_id", event.event_id.as_str(), MAX_EVENT_ID_CHARS)?;
        text("order_id", event.order_id.as_str(), MAX_ID_CHARS)?;
        text("user_id", event.user_id.as_str(), MAX_ID_CHARS)?;
        text("store_id", event.store_id.as_str(), MAX_ID_CHARS)
    }
}

impl EventData for OrderEventData {
    fn check(&self) -> Result<(), String> {
        use crate::validation::{MAX_ADDRESS_PART_CHARS, MAX_LINES, MAX_REASON_CHARS};
        use bounds::{MAX_ID_CHARS, MAX_ITEM_NAME_CHARS, optional_text, text};
        text("data.order_id", self.order_id.as_str(), MAX_ID_CHARS)?;
        text("data.user_id", self.user_id.as_str(), MAX_ID_CHARS)?;
        text("data.store_id", self.store_id.as_str(), MAX_ID_CHARS)?;
        if self.items.len() > MAX_LINES {
            return Err(format!("data.items: {} lines, at most {MAX_LINES}", self.items.len()));
        }
        for item in &self.items {
            text("data.items[].product_id", item.product_id.as_str(), MAX_ID_CHARS)?;
            text("data.items[].name", &item.name, MAX_ITEM_NAME_CHARS)?;
        }
        text("data.address.street", &self.address.street, MAX_ADDRESS_PART_CHARS)?;
        text("data.address.district", &self.address.district, MAX_ADDRESS_PART_CHARS)?;
        text("data.address.city", &self.address.city, MAX_ADDRESS_PART_CHARS)?;
        if self.address.zone().as_str().is_empty() {
            return Err("data.address.district: names no zone".into());
        }
        if let Some(reason) = &self.reason
            && reason.chars().count() > MAX_REASON_CHARS
        {
            return Err(format!("data.reason: at most {MAX_REASON_CHARS} characters"));
        }
        optional_text("data.rider_id", self.rider_id.as_ref().map(|r| r.as_str()), MAX_ID_CHARS)
    }
}

impl EventData for DeliveryEventData {
    fn check(&self) -> Result<(), String> {
        use bounds::{MAX_ID_CHARS, optional_text, text};
        text("data.order_id", self.order_id.as_str(), MAX_ID_CHARS)?;
        optional_text("data.rider_id", self.rider_id.as_ref().map(|r| r.as_str()), MAX_ID_CHARS)
    }
}

impl EventData for LogEventData {
    fn check(&self) -> Result<(), String> {
        use bounds::{MAX_EVENT_ID_CHARS, MAX_ID_CHARS, MAX_MESSAGE_CHARS, MAX_SERVICE_CHARS, text};
        text("data.user_id", &self.user_id, MAX_ID_CHARS)?;
        text("data.service", &self.service, MAX_SERVICE_CHARS)?;
        text("data.message", &self.message, MAX_MESSAGE_CHARS)?;
        text("data.notification_id", self.notification_id.as_str(), MAX_EVENT_ID_CHARS)
    }
}

/// The data of an event of some topic: what it must hold beyond its shape
/// for a consumer to use it (ids it can key on, texts within their bounds).
pub trait EventData {
    /// The first field out of bounds, named, with why.
    fn check(&self) -> Result<(), String>;
}

/// Reads one event of topic `K::TOPIC` from raw bytes. Beyond its shape,
/// every id must be one a store can key on and every text within its
/// bound (as the schemas under `events/` say): a record that is not is
/// unprocessable here, never a write the database refuses and a consumer
/// retries.
pub fn decode<K: EventType, D: DeserializeOwned + EventData>(
    bytes: &[u8],
) -> Result<Envelope<K, D>, DecodeError> {
    let event: Envelope<K, D> = read(bytes)?;
    bounds::envelope(&event).and_then(|()| event.data.check()).map_err(DecodeError::Invalid)?;
    Ok(event)
}

fn read<K: EventType, D: DeserializeOwned>(bytes: &[u8]) -> Result<Envelope<K, D>, DecodeError> {
    // Straight into the envelope: what nearly every record is. Only a record
    // that does not read so goes through a `Value`, to say why.
    if let Ok(event) = serde_json::from_slice(bytes) {
        return Ok(event);
    }
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| DecodeError::NotJson(e.to_string()))?;
    let event_type = value
        .get("event_type")
        .and_then(|t| t.as_str())
        .ok_or_else(|| DecodeError::Invalid("missing event_type".into()))?;
    if !K::ALL.iter().any(|k| k.as_str() == event_type) {
        return Err(DecodeError::UnknownType(event_type.to_owned(), K::TOPIC));
    }
    serde_json::from_value(value).map_err(|e| DecodeError::Invalid(e.to_string()))
}

// ---------------------------------------------------------------------------
// order-events

/// One type per kind of status change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OrderEventType {
    /// -> PAID (the seed's "order completed": payment assumed).
    OrderPlaced,
    /// -> ACCEPTED
    OrderAccepted,
    /// -> REJECTED
    OrderRejected,
    /// -> CANCELLED
    OrderCancelled,
    /// -> DELIVERY_REQUESTED, first delivery, retry or redelivery.
    OrderDeliveryRequested,
    /// -> DELIVERING
    OrderOutForDelivery,
    /// -> DELIVERY_FAILED
    OrderDeliveryFailed,
    /// -> DELIVERED
    OrderDelivered,
    /// -> REFUND_REQUESTED
    OrderRefundRequested,
    /// Refund approved with method REFUND -> REFUNDED.
    OrderRefunded,
    /// Refund rejected -> back to DELIVERED.
    OrderRefundRejected,
}

impl EventType for OrderEventType {
    const TOPIC: &'static str = topics::ORDER_EVENTS;
    const ALL: &'static [Self] = &[
        OrderEventType::OrderPlaced,
        OrderEventType::OrderAccepted,
        OrderEventType::OrderRejected,
        OrderEventType::OrderCancelled,
        OrderEventType::OrderDeliveryRequested,
        OrderEventType::OrderOutForDelivery,
        OrderEventType::OrderDeliveryFailed,
        OrderEventType::OrderDelivered,
        OrderEventType::OrderRefundRequested,
        OrderEventType::OrderRefunded,
        OrderEventType::OrderRefundRejected,
    ];

    fn as_str(self) -> &'static str {
        match self {
            OrderEventType::OrderPlaced => "OrderPlaced",
            OrderEventType::OrderAccepted => "OrderAccepted",
            OrderEventType::OrderRejected => "OrderRejected",
            OrderEventType::OrderCancelled => "OrderCancelled",
            OrderEventType::OrderDeliveryRequested => "OrderDeliveryRequested",
            OrderEventType::OrderOutForDelivery => "OrderOutForDelivery",
            OrderEventType::OrderDeliveryFailed => "OrderDeliveryFailed",
            OrderEventType::OrderDelivered => "OrderDelivered",
            OrderEventType::OrderRefundRequested => "OrderRefundRequested",
            OrderEventType::OrderRefunded => "OrderRefunded",
            OrderEventType::OrderRefundRejected => "OrderRefundRejected",
        }
    }
}

impl OrderEventType {
    /// The status an order has after an event of this type.
    pub fn status(self) -> OrderStatus {
        match self {
            OrderEventType::OrderPlaced => OrderStatus::Paid,
            OrderEventType::OrderAccepted => OrderStatus::Accepted,
            OrderEventType::OrderRejected => OrderStatus::Rejected,
            OrderEventType::OrderCancelled => OrderStatus::Cancelled,
            OrderEventType::OrderDeliveryRequested => OrderStatus::DeliveryRequested,
            OrderEventType::OrderOutForDelivery => OrderStatus::Delivering,
            OrderEventType::OrderDeliveryFailed => OrderStatus::DeliveryFailed,
            OrderEventType::OrderDelivered | OrderEventType::OrderRefundRejected => OrderStatus::Delivered,
            OrderEventType::OrderRefundRequested => OrderStatus::RefundRequested,
            OrderEventType::OrderRefunded => OrderStatus::Refunded,
        }
    }
}

/// An item as order events carry it (the seed's fields).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventItem {
    /// The product.
    pub product_id: ProductId,
    /// Its name when ordered.
    pub name: String,
    /// How many: 1..=[`MAX_QUANTITY`](crate::validation::MAX_QUANTITY).
    #[serde(deserialize_with = "bounds::quantity")]
    pub quantity: i64,
    /// The unit price.
    #[serde(deserialize_with = "bounds::price")]
    pub price: Won,
}

/// What an order event says about the order after the change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderEventData {
    /// The order.
    pub order_id: OrderId,
    /// Its customer.
    pub user_id: UserId,
    /// Its store.
    pub store_id: StoreId,
    /// The status entered.
    pub status: OrderStatus,
    /// The status left; `None` on placement.
    pub previous_status: Option<OrderStatus>,
    /// The order's lines.
    pub items: Vec<EventItem>,
    /// The order's total.
    #[serde(deserialize_with = "bounds::total")]
    pub total: Won,
    /// The delivery address.
    pub address: Address,
    /// Rejection, cancellation, refund or decision reason; delivery failure
    /// message.
    pub reason: Option<String>,
    /// The rider on the order, once one was assigned.
    pub rider_id: Option<RiderId>,
    /// When the food arrived, once it did.
    #[serde(default, deserialize_with = "bounds::delivered_at")]
    pub delivered_at: Option<Timestamp>,
    /// True when a delivery request is the redelivery of an approved refund.
    pub redelivery: bool,
    /// The remedy asked for, once a refund was requested.
    pub refund_method: Option<RefundMethod>,
}

impl OrderEvent {
    /// The delivery this event asks for, if it is a delivery request.
    pub fn delivery_request(&self) -> Option<DeliveryRequest> {
        (self.event_type == OrderEventType::OrderDeliveryRequested).then(|| DeliveryRequest {
            order_id: self.order_id.clone(),
            request_version: self.order_version,
            customer_id: self.user_id.clone(),
            store_id: self.store_id.clone(),
            zone: self.data.address.zone(),
            redelivery: self.data.redelivery,
            trace: None,
        })
    }
}

// ---------------------------------------------------------------------------
// delivery-events

/// One type per delivery decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DeliveryEventType {
    /// A rider was taken: the order goes DELIVERING.
    RiderAssigned,
    /// No rider could be taken: the order goes DELIVERY_FAILED.
    DeliveryFailed,
    /// The food is at the door: the order goes DELIVERED.
    DeliveryCompleted,
}

impl EventType for DeliveryEventType {
    const TOPIC: &'static str = topics::DELIVERY_EVENTS;
    const ALL: &'static [Self] = &[
        DeliveryEventType::RiderAssigned,
        DeliveryEventType::DeliveryFailed,
        DeliveryEventType::DeliveryCompleted,
    ];

    fn as_str(self) -> &'static str {
        match self {
            DeliveryEventType::RiderAssigned => "RiderAssigned",
            DeliveryEventType::DeliveryFailed => "DeliveryFailed",
            DeliveryEventType::DeliveryCompleted => "DeliveryCompleted",
        }
    }
}

/// What a delivery event says about the attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryEventData {
    /// The order delivered.
    pub order_id: OrderId,
    /// How the attempt stands.
    pub status: DeliveryStatus,
    /// The rider taken (assigned and completed attempts).
    pub rider_id: Option<RiderId>,
    /// Why no rider was taken (failed attempts).
    pub reason: Option<DeliveryFailureReason>,
    /// True when the attempt is the redelivery of an approved refund.
    pub redelivery: bool,
    /// When the food arrived (DeliveryCompleted).
    #[serde(default, deserialize_with = "bounds::delivered_at")]
    pub delivered_at: Option<Timestamp>,
}

impl DeliveryEvent {
    /// The event announcing `delivery` in its current status. Its
    /// `order_version` is the version at which delivery was requested.
    pub fn of(delivery: &Delivery) -> DeliveryEvent {
        let (event_type, stage, at) = match delivery.status {
            DeliveryStatus::Assigned => (DeliveryEventType::RiderAssigned, "assigned", delivery.decided_at),
            DeliveryStatus::Failed => (DeliveryEventType::DeliveryFailed, "failed", delivery.decided_at),
            DeliveryStatus::Completed => (
                DeliveryEventType::DeliveryCompleted,
                "completed",
                delivery.completes_at.unwrap_or(delivery.decided_at),
            ),
        };
        let request = &delivery.request;
        Envelope {
            event_id: EventId::new(format!("{}:d{}:{stage}", request.order_id, request.request_version)),
            event_type,
            occurred_at: at,
            order_id: request.order_id.clone(),
            user_id: request.customer_id.clone(),
            store_id: request.store_id.clone(),
            order_version: request.request_version,
            data: DeliveryEventData {
                order_id: request.order_id.clone(),
                status: delivery.status,
                rider_id: delivery.rider_id.clone(),
                reason: delivery.failure,
                redelivery: request.redelivery,
                delivered_at: (delivery.status == DeliveryStatus::Completed).then_some(at),
            },
        }
    }

    /// Where this event sits in its order's delivery sequence.
    pub fn position(&self) -> DeliveryPosition {
        DeliveryPosition {
            request_version: self.order_version,
            stage: match self.event_type {
                DeliveryEventType::RiderAssigned => DeliveryStage::Assigned,
                DeliveryEventType::DeliveryFailed | DeliveryEventType::DeliveryCompleted => {
                    DeliveryStage::Finished
                }
            },
        }
    }
}

// ---------------------------------------------------------------------------
// log-events

/// One type per log record kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LogEventType {
    /// A notification was produced (rendered and stored, never sent).
    NotificationProduced,
}

impl EventType for LogEventType {
    const TOPIC: &'static str = topics::LOG_EVENTS;
    const ALL: &'static [Self] = &[LogEventType::NotificationProduced];

    fn as_str(self) -> &'static str {
        match self {
            LogEventType::NotificationProduced => "NotificationProduced",
        }
    }
}

/// What a log event records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogEventData {
    /// Who the notification was for: a customer's user id, or a store id
    /// for notifications addressed to a store's owners.
    pub user_id: String,
    /// The service that produced it.
    pub service: String,
    /// One line saying what was produced.
    pub message: String,
    /// The notification's id.
    pub notification_id: NotificationId,
    /// The channel it was rendered for.
    pub channel: Channel,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::{DeliverySettings, Zone};
    use crate::notification::{Locale, notifications_for};
    use crate::order::{LineInput, Order, OrderLine, PlaceOrderInput};
    use serde_json::{Value, json};

    fn at() -> Timestamp {
        "2026-11-25T12:00:00Z".parse().unwrap()
    }

    fn order_event() -> OrderEvent {
        let address =
            Address { street: "1 Teheran-ro".into(), district: "Gangnam-gu".into(), city: "Seoul".into() };
        let input = PlaceOrderInput {
            store_id: "s1".into(),
            items: vec![LineInput { product_id: "p1".into(), quantity: 2 }],
            address,
        };
        let lines =
            vec![OrderLine { product_id: "p1".into(), name: "비빔밥".into(), price: 9000, quantity: 2 }];
        let placed = Order::place("o1".into(), "c1".into(), &input.validate().unwrap(), lines, at());
        placed.events[0].clone()
    }

    fn delivery_event() -> DeliveryEvent {
        let request = DeliveryRequest {
            order_id: "o1".into(),
            request_version: 3,
            customer_id: "c1".into(),
            store_id: "s1".into(),
            zone: Zone::from_district("gangnam-gu"),
            redelivery: false,
            trace: None,
        };
        let assigned = request.assign("r1".into(), at(), &DeliverySettings::default());
        DeliveryEvent::of(&assigned.completed().unwrap())
    }

    fn log_event() -> LogEvent {
        let event = order_event();
        let notification = notifications_for(&event, Locale::Ko).remove(0);
        LogEvent::of_notification(&notification, &event.store_id, "notifier")
    }

    /// The JSON of `event` with `edit` applied, decoded as its topic's event.
    fn decoded<K: EventType, D: Serialize + DeserializeOwned + EventData>(
        event: &Envelope<K, D>,
        edit: impl FnOnce(&mut Value),
    ) -> Result<Envelope<K, D>, DecodeError> {
        let mut value = serde_json::to_value(event).unwrap();
        edit(&mut value);
        decode(value.to_string().as_bytes())
    }

    fn refused_naming<T: std::fmt::Debug>(result: Result<T, DecodeError>, field: &str) {
        match result {
            Err(DecodeError::Invalid(reason)) => assert!(reason.contains(field), "{field}: {reason}"),
            other => panic!("{field}: expected a refusal naming it, got {other:?}"),
        }
    }

    #[test]
    fn timestamps_outside_years_2000_to_2200_are_refused_naming_their_field() {
        let outside = [
            "0001-01-01T00:00:00Z",
            "1999-12-31T23:59:59Z",
            "1999-12-31T23:59:59.999999999Z",
            // 1999-12-31T23:30:00Z once in UTC.
            "2000-01-01T00:30:00+01:00",
            "2201-01-01T00:00:00Z",
            "2200-12-31T23:00:00-01:00",
            "+262142-12-31T00:00:00Z",
        ];
        for text in outside {
            let at = json!(text);
            refused_naming(decoded(&order_event(), |v| v["occurred_at"] = at.clone()), "occurred_at");
            refused_naming(decoded(&delivery_event(), |v| v["occurred_at"] = at.clone()), "occurred_at");
            refused_naming(decoded(&log_event(), |v| v["occurred_at"] = at.clone()), "occurred_at");
            refused_naming(
                decoded(&order_event(), |v| v["data"]["delivered_at"] = at.clone()),
                "data.delivered_at",
            );
            refused_naming(
                decoded(&delivery_event(), |v| v["data"]["delivered_at"] = at.clone()),
                "data.delivered_at",
            );
        }
        // Beyond what a timestamp can hold at all: still named.
        refused_naming(
            decoded(&log_event(), |v| v["occurred_at"] = json!("+262143-01-01T00:00:00Z")),
            "occurred_at",
        );
        refused_naming(decoded(&log_event(), |v| v["occurred_at"] = json!(1e308)), "occurred_at");
    }

    #[test]
    fn timestamps_within_years_2000_to_2200_are_read_in_any_offset_and_precision() {
        let inside = ["2000-01-01T00:00:00Z", "2200-12-31T23:59:59.999999999Z", "2026-11-25T21:00:00+09:00"];
        for text in inside {
            let at: Timestamp = text.parse().unwrap();
            let event = decoded(&delivery_event(), |v| {
                v["occurred_at"] = json!(text);
                v["data"]["delivered_at"] = json!(text);
            })
            .unwrap();
            assert_eq!((event.occurred_at, event.data.delivered_at), (at, Some(at)));
        }
        // The bound is on the instant, in UTC.
        // 2000-01-01 in Seoul, still 1999 in UTC.
        refused_naming(
            decoded(&log_event(), |v| v["occurred_at"] = json!("2000-01-01T08:59:59.5+09:00")),
            "occurred_at",
        );
        assert_eq!(
            decoded(&order_event(), |v| v["data"]["delivered_at"] = Value::Null).unwrap(),
            order_event()
        );
    }

    /// What a store cannot key on or hold is refused at decode, named:
    /// an empty or over-long id, a log message past its bound, a district
    /// that names no zone. Never a write the database refuses, retried.
    #[test]
    fn ids_a_store_cannot_key_on_and_texts_past_their_bounds_are_refused_naming_their_field() {
        let long_id = "i".repeat(129);
        refused_naming(decoded(&log_event(), |v| v["data"]["user_id"] = json!("")), "data.user_id");
        refused_naming(
            decoded(&log_event(), |v| v["data"]["message"] = json!("m".repeat(2001))),
            "data.message",
        );
        refused_naming(decoded(&log_event(), |v| v["order_id"] = json!("")), "order_id");
        refused_naming(decoded(&log_event(), |v| v["event_id"] = json!("e".repeat(257))), "event_id");
        refused_naming(decoded(&delivery_event(), |v| v["data"]["order_id"] = json!("")), "data.order_id");
        refused_naming(
            decoded(&delivery_event(), |v| v["data"]["rider_id"] = json!(long_id)),
            "data.rider_id",
        );
        refused_naming(decoded(&order_event(), |v| v["store_id"] = json!(long_id)), "store_id");
        refused_naming(
            decoded(&order_event(), |v| v["data"]["address"]["district"] = json!("  ")),
            "data.address.district",
        );
        refused_naming(
            decoded(&order_event(), |v| v["data"]["items"][0]["product_id"] = json!("")),
            "data.items[].product_id",
        );
        // At their bounds, accepted.
        assert!(decoded(&log_event(), |v| v["data"]["message"] = json!("m".repeat(2000))).is_ok());
        assert!(decoded(&order_event(), |v| v["store_id"] = json!("s".repeat(128))).is_ok());
    }

    #[test]
    fn numbers_at_their_types_edges_are_refused_naming_their_field() {
        type Edit = fn(&mut Value);
        let cases: [(&str, Edit); 12] = [
            ("order_version", |v| v["order_version"] = json!(0)),
            ("order_version", |v| v["order_version"] = json!(u64::MAX)),
            ("order_version", |v| v["order_version"] = json!(1u64 << 53)),
            ("order_version", |v| v["order_version"] = json!(-1)),
            ("data.total", |v| v["data"]["total"] = json!(-1)),
            ("data.total", |v| v["data"]["total"] = json!(i64::MIN)),
            ("data.total", |v| v["data"]["total"] = json!(i64::MAX)),
            ("data.items[].price", |v| v["data"]["items"][0]["price"] = json!(0)),
            ("data.items[].price", |v| v["data"]["items"][0]["price"] = json!(i64::MAX)),
            ("data.items[].quantity", |v| v["data"]["items"][0]["quantity"] = json!(0)),
            ("data.items[].quantity", |v| v["data"]["items"][0]["quantity"] = json!(100)),
            ("data.items[].quantity", |v| v["data"]["items"][0]["quantity"] = json!(i64::MIN)),
        ];
        for (field, edit) in cases {
            refused_naming(decoded(&order_event(), edit), field);
        }
        refused_naming(decoded(&delivery_event(), |v| v["order_version"] = json!(u64::MAX)), "order_version");
        refused_naming(decoded(&log_event(), |v| v["order_version"] = json!(0)), "order_version");
        // The largest integer every JSON reader holds exactly is still a version.
        let max = (1u64 << 53) - 1;
        assert_eq!(decoded(&log_event(), |v| v["order_version"] = json!(max)).unwrap().order_version, max);
        assert_eq!(decoded(&order_event(), |v| v["data"]["total"] = json!(0)).unwrap().data.total, 0);
    }

    #[test]
    fn every_event_it_produces_decodes_back() {
        assert_eq!(decoded(&order_event(), |_| {}).unwrap(), order_event());
        assert_eq!(decoded(&delivery_event(), |_| {}).unwrap(), delivery_event());
        assert_eq!(decoded(&log_event(), |_| {}).unwrap(), log_event());
    }
}
