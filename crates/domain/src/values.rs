//! Plain values that the events and the aggregates above them share: an
//! order's status and delivery address, and a notification's channel.
//!
//! They import nothing of the order, its events or its notifications, so
//! [`crate::events`] can carry them without depending on the modules that
//! produce those events ([`crate::order`], [`crate::notification`]). Those
//! modules re-export them where they were first declared
//! (`order::OrderStatus`, `order::Address`, `notification::Channel`).

use crate::delivery::Zone;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Where an order stands in its lifecycle; the product contract's status set
/// (see [`crate::order`] for the moves between them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    /// Placed and paid (payment is assumed); the store has not answered yet.
    Paid,
    /// The store accepted the order and is cooking it.
    Accepted,
    /// The store refused the order (final); its stock went back.
    Rejected,
    /// Cancelled by the customer before acceptance, or by the store after a
    /// failed delivery (final).
    Cancelled,
    /// Waiting for a rider: a first delivery, a retry or a redelivery.
    DeliveryRequested,
    /// A rider is on the way.
    Delivering,
    /// No rider could be assigned; the store may retry or cancel.
    DeliveryFailed,
    /// The food arrived (or a refund request was turned down); a refund may
    /// be requested once per order, within the window.
    Delivered,
    /// The customer asked for a refund; the store decides.
    RefundRequested,
    /// The refund was approved and the money given back (final).
    Refunded,
}

impl OrderStatus {
    /// The exact status set of the product contract.
    pub const ALL: [OrderStatus; 10] = [
        OrderStatus::Paid,
        OrderStatus::Accepted,
        OrderStatus::Rejected,
        OrderStatus::Cancelled,
        OrderStatus::DeliveryRequested,
        OrderStatus::Delivering,
        OrderStatus::DeliveryFailed,
        OrderStatus::Delivered,
        OrderStatus::RefundRequested,
        OrderStatus::Refunded,
    ];

    /// The wire name (`"DELIVERY_REQUESTED"`), as serde writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Paid => "PAID",
            OrderStatus::Accepted => "ACCEPTED",
            OrderStatus::Rejected => "REJECTED",
            OrderStatus::Cancelled => "CANCELLED",
            OrderStatus::DeliveryRequested => "DELIVERY_REQUESTED",
            OrderStatus::Delivering => "DELIVERING",
            OrderStatus::DeliveryFailed => "DELIVERY_FAILED",
            OrderStatus::Delivered => "DELIVERED",
            OrderStatus::RefundRequested => "REFUND_REQUESTED",
            OrderStatus::Refunded => "REFUNDED",
        }
    }

    /// The status of a wire name (a query parameter, a stored value);
    /// `None` for anything else.
    pub fn parse(value: &str) -> Option<OrderStatus> {
        Self::ALL.into_iter().find(|s| s.as_str() == value)
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an order is delivered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    /// Street and number.
    pub street: String,
    /// The district, which decides the delivery zone (see [`Address::zone`]).
    pub district: String,
    /// The city.
    pub city: String,
}

impl Address {
    /// The delivery zone this address falls in.
    pub fn zone(&self) -> Zone {
        Zone::from_district(&self.district)
    }
}

/// How a notification reaches its recipient. Notifications are rendered per
/// channel and stored, never really sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Channel {
    /// A push message of the app: one short line under a title.
    #[serde(rename = "app-push")]
    AppPush,
    /// A KakaoTalk alert-talk style card with the order summary.
    #[serde(rename = "kakao-talk")]
    KakaoTalk,
}

impl Channel {
    /// Every channel: each notification is produced once per channel.
    pub const ALL: [Channel; 2] = [Channel::AppPush, Channel::KakaoTalk];

    /// The wire name (`"app-push"`), as serde writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::AppPush => "app-push",
            Channel::KakaoTalk => "kakao-talk",
        }
    }
}
