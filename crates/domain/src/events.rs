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

use crate::delivery::{Delivery, DeliveryFailureReason, DeliveryRequest, DeliveryStatus};
use crate::ids::{EventId, NotificationId, OrderId, ProductId, RiderId, StoreId, UserId};
use crate::notification::{Channel, Notification};
use crate::order::{Address, Order, OrderStatus};
use crate::refund::RefundMethod;
use crate::sequencing::{DeliveryPosition, DeliveryStage};
use crate::{Timestamp, Won};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub mod topics {
    pub const ORDER_EVENTS: &str = "order-events";
    pub const DELIVERY_EVENTS: &str = "delivery-events";
    pub const LOG_EVENTS: &str = "log-events";
    pub const ALL: [&str; 3] = [ORDER_EVENTS, DELIVERY_EVENTS, LOG_EVENTS];
}

/// The envelope every event travels in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope<K, D> {
    pub event_id: EventId,
    pub event_type: K,
    pub occurred_at: Timestamp,
    pub order_id: OrderId,
    pub user_id: UserId,
    pub store_id: StoreId,
    pub order_version: u64,
    pub data: D,
}

pub type OrderEvent = Envelope<OrderEventType, OrderEventData>;
pub type DeliveryEvent = Envelope<DeliveryEventType, DeliveryEventData>;
pub type LogEvent = Envelope<LogEventType, LogEventData>;

/// Something that travels on a topic.
pub trait EventType: Copy + Serialize + DeserializeOwned + 'static {
    const TOPIC: &'static str;
    const ALL: &'static [Self];
    fn as_str(self) -> &'static str;
}

impl<K: EventType, D: Serialize> Envelope<K, D> {
    pub fn topic(&self) -> &'static str {
        K::TOPIC
    }

    /// The partition key: order id on the order and delivery topics, so one
    /// order's events stay in order; the user on the log topic.
    pub fn key(&self) -> &str {
        if K::TOPIC == topics::LOG_EVENTS { self.user_id.as_str() } else { self.order_id.as_str() }
    }

    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("events always serialise")
    }
}

/// Why a record could not be read as an event. Such a record can never be
/// processed: it goes to the on-failure destination, never blocks the
/// partition.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("not JSON: {0}")]
    NotJson(String),
    #[error("unknown event type {0:?} for topic {1}")]
    UnknownType(String, &'static str),
    #[error("event does not match its schema: {0}")]
    Invalid(String),
}

/// Reads one event of topic `K::TOPIC` from raw bytes.
pub fn decode<K: EventType, D: DeserializeOwned>(bytes: &[u8]) -> Result<Envelope<K, D>, DecodeError> {
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
    OrderAccepted,
    OrderRejected,
    OrderCancelled,
    /// -> DELIVERY_REQUESTED, first delivery, retry or redelivery.
    OrderDeliveryRequested,
    /// -> DELIVERING
    OrderOutForDelivery,
    OrderDeliveryFailed,
    OrderDelivered,
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
    pub product_id: ProductId,
    pub name: String,
    pub quantity: i64,
    pub price: Won,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderEventData {
    pub order_id: OrderId,
    pub user_id: UserId,
    pub store_id: StoreId,
    pub status: OrderStatus,
    pub previous_status: Option<OrderStatus>,
    pub items: Vec<EventItem>,
    pub total: Won,
    pub address: Address,
    /// Rejection, cancellation, refund or decision reason; delivery failure
    /// message.
    pub reason: Option<String>,
    pub rider_id: Option<RiderId>,
    pub delivered_at: Option<Timestamp>,
    /// True when a delivery request is the redelivery of an approved refund.
    pub redelivery: bool,
    pub refund_method: Option<RefundMethod>,
}

impl OrderEventData {
    pub fn from_order(order: &Order, reason: Option<String>) -> Self {
        let previous_status = order.timeline.len().checked_sub(2).map(|i| order.timeline[i].status);
        OrderEventData {
            order_id: order.order_id.clone(),
            user_id: order.customer_id.clone(),
            store_id: order.store_id.clone(),
            status: order.status,
            previous_status,
            items: order
                .items
                .iter()
                .map(|l| EventItem {
                    product_id: l.product_id.clone(),
                    name: l.name.clone(),
                    quantity: l.quantity,
                    price: l.price,
                })
                .collect(),
            total: order.total,
            address: order.address.clone(),
            reason,
            rider_id: order.rider_id.clone(),
            delivered_at: order.delivered_at,
            redelivery: order.status == OrderStatus::DeliveryRequested && order.delivery.redelivery,
            refund_method: order.refund.as_ref().map(|r| r.method),
        }
    }
}

impl OrderEvent {
    /// The event of the change that brought `order` to its current version.
    pub fn of(
        order: &Order,
        event_type: OrderEventType,
        reason: Option<String>,
        at: Timestamp,
    ) -> OrderEvent {
        Envelope {
            event_id: EventId::new(format!("{}:v{}", order.order_id, order.version)),
            event_type,
            occurred_at: at,
            order_id: order.order_id.clone(),
            user_id: order.customer_id.clone(),
            store_id: order.store_id.clone(),
            order_version: order.version,
            data: order.event_data(reason),
        }
    }

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DeliveryEventType {
    RiderAssigned,
    DeliveryFailed,
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryEventData {
    pub order_id: OrderId,
    pub status: DeliveryStatus,
    pub rider_id: Option<RiderId>,
    pub reason: Option<DeliveryFailureReason>,
    pub redelivery: bool,
    /// When the food arrived (DeliveryCompleted).
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogEventData {
    /// Who the notification was for: a customer's user id, or a store id
    /// for notifications addressed to a store's owners.
    pub user_id: String,
    pub service: String,
    pub message: String,
    pub notification_id: NotificationId,
    pub channel: Channel,
}

impl LogEvent {
    /// The log event of a produced notification; `service` names the
    /// producer.
    pub fn of_notification(notification: &Notification, store_id: &StoreId, service: &str) -> LogEvent {
        let recipient = notification.recipient.id().to_owned();
        Envelope {
            event_id: EventId::new(format!("log:{}", notification.notification_id)),
            event_type: LogEventType::NotificationProduced,
            occurred_at: notification.created_at,
            order_id: notification.order_id.clone(),
            user_id: UserId::new(recipient.clone()),
            store_id: store_id.clone(),
            order_version: notification.order_version,
            data: LogEventData {
                user_id: recipient,
                service: service.to_owned(),
                message: format!(
                    "{} notification for order {} ({}): {}",
                    notification.channel.as_str(),
                    notification.order_id,
                    notification.status,
                    notification.title
                ),
                notification_id: notification.notification_id.clone(),
                channel: notification.channel,
            },
        }
    }
}
