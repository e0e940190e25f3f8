//! The order and its state machine.
//!
//! Every allowed move is a method that returns the next state together with
//! the event it causes ([`Transition`]); any other move is an
//! [`OrderError::IllegalTransition`] naming the current status. The order is
//! never mutated in place: a caller persists the new state conditionally on
//! the version it read, so a concurrent change is detected, not overwritten.

use crate::catalog::MenuItem;
use crate::delivery::{DeliveryFailureReason, Zone};
use crate::events::{OrderEvent, OrderEventData, OrderEventType};
use crate::identity::Role;
use crate::ids::{OrderId, ProductId, RiderId, StoreId, UserId};
use crate::refund::{Refund, RefundMethod, RefundPolicy, RefundStatus, ValidRefundRequest};
use crate::sequencing::{Applicability, DeliveryPosition, DeliveryStage};
use crate::stock::Quantity;
use crate::trace::TraceParent;
use crate::validation::{ValidationErrors, check_identifier, check_line, check_multiline};
use crate::{Timestamp, Won};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::fmt;

pub const MAX_LINES: usize = 20;
pub const MAX_QUANTITY: i64 = 99;
pub const MAX_ADDRESS_PART_CHARS: usize = 200;
pub const MAX_REASON_CHARS: usize = 1000;
/// How often an order may be sent for delivery (the first request, the
/// owner's retries after failures, a redelivery). Each attempt adds to the
/// order's timeline: the bound keeps the item far below DynamoDB's 400 KB
/// (docs/dynamodb.md), and an owner past it cancels the order instead.
pub const MAX_DELIVERY_REQUESTS: usize = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    Paid,
    Accepted,
    Rejected,
    Cancelled,
    DeliveryRequested,
    Delivering,
    DeliveryFailed,
    Delivered,
    RefundRequested,
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

    pub fn parse(value: &str) -> Option<OrderStatus> {
        Self::ALL.into_iter().find(|s| s.as_str() == value)
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    pub street: String,
    pub district: String,
    pub city: String,
}

impl Address {
    /// The delivery zone this address falls in.
    pub fn zone(&self) -> Zone {
        Zone::from_district(&self.district)
    }
}

/// One priced line of an order: name and price are copied from the menu at
/// placement so later menu edits never change a placed order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    pub product_id: ProductId,
    pub name: String,
    pub price: Won,
    pub quantity: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub status: OrderStatus,
    pub at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Where the order's current delivery request stands; delivery events are
/// applied against it so a duplicate or an old attempt's event is ignored.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DeliveryTracking {
    /// The order version at which the current delivery was requested; the
    /// dispatcher echoes it in every delivery event of that attempt.
    pub request_version: Option<u64>,
    pub redelivery: bool,
    /// The last delivery event applied for the current request.
    pub applied: Option<DeliveryPosition>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub order_id: OrderId,
    pub store_id: StoreId,
    pub customer_id: UserId,
    pub status: OrderStatus,
    pub items: Vec<OrderLine>,
    pub total: Won,
    pub address: Address,
    /// Starts at 1 and grows by one on every change; writes are conditional
    /// on it.
    pub version: u64,
    pub timeline: Vec<TimelineEntry>,
    pub rider_id: Option<RiderId>,
    pub delivered_at: Option<Timestamp>,
    /// Until when a refund may be asked for: the refund window counted from
    /// the moment the order became DELIVERED in our records, not from
    /// `delivered_at` (a lagging updater must not eat the window before
    /// anyone could see the delivery). Orders delivered before this field
    /// existed read as `None` and count from `delivered_at`.
    #[serde(default)]
    pub refund_deadline: Option<Timestamp>,
    pub refund: Option<Refund>,
    pub delivery: DeliveryTracking,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// The trace the order was placed under: every later change keeps it,
    /// so every event of the order carries it (see [`crate::trace`]).
    /// Orders placed before it existed have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<TraceParent>,
}

/// Who asks for a cancellation: the rules differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Canceller {
    /// Before the store accepted.
    Customer,
    /// After delivery failed.
    StoreOwner,
}

/// Errors of the order's rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    #[error("cannot {action} an order that is {current}")]
    IllegalTransition { action: &'static str, current: OrderStatus },
    #[error("the refund window closed at {closes_at} ({window_seconds} s after delivery)")]
    RefundWindowClosed { delivered_at: Timestamp, closes_at: Timestamp, window_seconds: i64 },
    #[error("a refund has already been requested for this order")]
    RefundAlreadyRequested,
    #[error("this order was sent for delivery {attempts} times, the most an order may be; cancel it instead")]
    DeliveryAttemptsExhausted { attempts: usize },
    #[error("invalid input: {0}")]
    Invalid(ValidationErrors),
}

/// The result of an allowed move: the next state and what it caused.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub order: Order,
    /// One event per status change, in order (usually exactly one).
    pub events: Vec<OrderEvent>,
}

// ---------------------------------------------------------------------------
// Placement

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineInput {
    pub product_id: String,
    pub quantity: i64,
}

/// The body of `POST /orders` before validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaceOrderInput {
    pub store_id: String,
    pub items: Vec<LineInput>,
    pub address: Address,
}

/// A placement request whose shape is valid; pricing needs the menu.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidPlaceOrder {
    pub store_id: StoreId,
    pub lines: Vec<Quantity>,
    pub address: Address,
    /// Identifies the request body for idempotent retries.
    pub fingerprint: String,
}

impl PlaceOrderInput {
    pub fn validate(self) -> Result<ValidPlaceOrder, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        check_identifier(&mut errors, "store_id", &self.store_id);
        if self.items.is_empty() || self.items.len() > MAX_LINES {
            errors.add("items", format!("must have 1 to {MAX_LINES} lines, got {}", self.items.len()));
        }
        let mut seen = HashSet::new();
        for (i, line) in self.items.iter().enumerate() {
            if check_identifier(&mut errors, &format!("items[{i}].product_id"), &line.product_id)
                && !seen.insert(line.product_id.as_str())
            {
                errors.add(
                    format!("items[{i}].product_id"),
                    format!("duplicate product {}: put the whole quantity on one line", line.product_id),
                );
            }
            if !(1..=MAX_QUANTITY).contains(&line.quantity) {
                errors.add(format!("items[{i}].quantity"), format!("must be between 1 and {MAX_QUANTITY}"));
            }
        }
        check_line(&mut errors, "address.street", &self.address.street, MAX_ADDRESS_PART_CHARS);
        check_line(&mut errors, "address.district", &self.address.district, MAX_ADDRESS_PART_CHARS);
        check_line(&mut errors, "address.city", &self.address.city, MAX_ADDRESS_PART_CHARS);
        if errors.is_empty() && Zone::from_district(&self.address.district).as_str().is_empty() {
            errors.add("address.district", "must name a district");
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let fingerprint = self.fingerprint();
        Ok(ValidPlaceOrder {
            store_id: StoreId::new(self.store_id),
            lines: self
                .items
                .into_iter()
                .map(|l| Quantity { product_id: ProductId::new(l.product_id), quantity: l.quantity })
                .collect(),
            address: Address {
                street: self.address.street.trim().to_owned(),
                district: self.address.district.trim().to_owned(),
                city: self.address.city.trim().to_owned(),
            },
            fingerprint,
        })
    }

    /// SHA-256 of the body's canonical JSON (fields in declaration order), so
    /// a retry with the same key and body is recognised as the same request.
    #[allow(clippy::expect_used)] // derived Serialize of strings and integers: no map keys, nothing to fail
    pub fn fingerprint(&self) -> String {
        let canonical = serde_json::to_vec(self).expect("plain data always serialises");
        Sha256::digest(&canonical).iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl ValidPlaceOrder {
    /// Prices every line from the menu. Unknown products are field errors.
    pub fn price(
        &self,
        menu: &HashMap<ProductId, MenuItem>,
    ) -> Result<(Vec<OrderLine>, Won), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let mut lines = Vec::with_capacity(self.lines.len());
        for (i, line) in self.lines.iter().enumerate() {
            match menu.get(&line.product_id) {
                Some(item) => lines.push(OrderLine {
                    product_id: line.product_id.clone(),
                    name: item.name.clone(),
                    price: item.price,
                    quantity: line.quantity,
                }),
                None => errors.add(
                    format!("items[{i}].product_id"),
                    format!("store {} has no product {}", self.store_id, line.product_id),
                ),
            }
        }
        let total = lines.iter().map(|l| l.price * l.quantity).sum();
        errors.into_result((lines, total))
    }
}

impl Order {
    /// A new, paid order (payment is assumed), and its `OrderPlaced` event.
    pub fn place(
        order_id: OrderId,
        customer_id: UserId,
        request: &ValidPlaceOrder,
        items: Vec<OrderLine>,
        at: Timestamp,
    ) -> Transition {
        let total = items.iter().map(|l| l.price * l.quantity).sum();
        let order = Order {
            order_id,
            store_id: request.store_id.clone(),
            customer_id,
            status: OrderStatus::Paid,
            items,
            total,
            address: request.address.clone(),
            version: 1,
            timeline: vec![TimelineEntry { status: OrderStatus::Paid, at, reason: None }],
            rider_id: None,
            delivered_at: None,
            refund_deadline: None,
            refund: None,
            delivery: DeliveryTracking::default(),
            created_at: at,
            updated_at: at,
            trace: None,
        };
        let event = OrderEvent::of(&order, OrderEventType::OrderPlaced, None, at);
        Transition { order, events: vec![event] }
    }

    /// The quantities of every line, for stock plans.
    pub fn quantities(&self) -> Vec<Quantity> {
        self.items
            .iter()
            .map(|l| Quantity { product_id: l.product_id.clone(), quantity: l.quantity })
            .collect()
    }

    // -----------------------------------------------------------------------
    // Store owner

    /// PAID -> ACCEPTED: the store starts cooking.
    pub fn accept(&self, at: Timestamp) -> Result<Transition, OrderError> {
        self.require("accept", &[OrderStatus::Paid])?;
        Ok(self.advance(OrderStatus::Accepted, OrderEventType::OrderAccepted, at, None, |_| {}))
    }

    /// PAID -> REJECTED with a mandatory reason; the caller gives the stock
    /// back in the same write.
    pub fn reject(&self, reason: &str, at: Timestamp) -> Result<Transition, OrderError> {
        self.require("reject", &[OrderStatus::Paid])?;
        let reason = required_reason(reason)?;
        Ok(self.advance(OrderStatus::Rejected, OrderEventType::OrderRejected, at, Some(reason), |_| {}))
    }

    /// ACCEPTED or DELIVERY_FAILED -> DELIVERY_REQUESTED: call a rider.
    pub fn request_delivery(&self, at: Timestamp) -> Result<Transition, OrderError> {
        self.require("request delivery for", &[OrderStatus::Accepted, OrderStatus::DeliveryFailed])?;
        let attempts = self.timeline.iter().filter(|e| e.status == OrderStatus::DeliveryRequested).count();
        if attempts >= MAX_DELIVERY_REQUESTS {
            return Err(OrderError::DeliveryAttemptsExhausted { attempts });
        }
        Ok(self.enter_delivery_requested(false, at, None))
    }

    // -----------------------------------------------------------------------
    // Cancellation

    /// Customer while PAID, or store owner after DELIVERY_FAILED ->
    /// CANCELLED. Returns whether stock goes back: only when nothing was
    /// cooked yet (PAID).
    pub fn cancel(
        &self,
        by: Canceller,
        reason: Option<&str>,
        at: Timestamp,
    ) -> Result<(Transition, bool), OrderError> {
        let allowed_from = match by {
            Canceller::Customer => OrderStatus::Paid,
            Canceller::StoreOwner => OrderStatus::DeliveryFailed,
        };
        let action = match by {
            Canceller::Customer => "cancel (as the customer)",
            Canceller::StoreOwner => "cancel (as the store)",
        };
        self.require(action, &[allowed_from])?;
        let reason = match reason {
            Some(r) if !r.trim().is_empty() => Some(required_reason(r)?),
            _ => None,
        };
        let transition =
            self.advance(OrderStatus::Cancelled, OrderEventType::OrderCancelled, at, reason, |_| {});
        Ok((transition, allowed_from == OrderStatus::Paid))
    }

    // -----------------------------------------------------------------------
    // Delivery (driven by delivery events)

    /// Decides whether a delivery event applies to this order now.
    pub fn classify_delivery_event(&self, incoming: DeliveryPosition) -> Applicability {
        crate::sequencing::classify_delivery(&self.delivery, incoming)
    }

    /// DELIVERY_REQUESTED -> DELIVERING with the rider.
    pub fn rider_assigned(
        &self,
        position: DeliveryPosition,
        rider: RiderId,
        at: Timestamp,
    ) -> Result<Transition, OrderError> {
        self.require("assign a rider to", &[OrderStatus::DeliveryRequested])?;
        Ok(self.advance(OrderStatus::Delivering, OrderEventType::OrderOutForDelivery, at, None, |o| {
            o.rider_id = Some(rider);
            o.delivery.applied = Some(position);
        }))
    }

    /// DELIVERY_REQUESTED -> DELIVERY_FAILED with the reason.
    pub fn delivery_failed(
        &self,
        position: DeliveryPosition,
        reason: DeliveryFailureReason,
        at: Timestamp,
    ) -> Result<Transition, OrderError> {
        self.require("fail delivery of", &[OrderStatus::DeliveryRequested])?;
        Ok(self.advance(
            OrderStatus::DeliveryFailed,
            OrderEventType::OrderDeliveryFailed,
            at,
            Some(reason.message().to_owned()),
            |o| o.delivery.applied = Some(position),
        ))
    }

    /// DELIVERING -> DELIVERED at `delivered_at`, recorded at `recorded_at`,
    /// from which the refund window of `policy` runs. A completion that
    /// overtakes its assignment (possible after a replay) applies both, one
    /// event each.
    pub fn delivered(
        &self,
        position: DeliveryPosition,
        rider: RiderId,
        delivered_at: Timestamp,
        recorded_at: Timestamp,
        policy: &RefundPolicy,
    ) -> Result<Transition, OrderError> {
        if self.status == OrderStatus::DeliveryRequested {
            let assigned_position = DeliveryPosition {
                request_version: position.request_version,
                stage: DeliveryStage::Assigned,
            };
            let first = self.rider_assigned(assigned_position, rider.clone(), delivered_at)?;
            let mut second = first.order.delivered(position, rider, delivered_at, recorded_at, policy)?;
            second.events.splice(0..0, first.events);
            return Ok(second);
        }
        self.require("deliver", &[OrderStatus::Delivering])?;
        Ok(self.advance(OrderStatus::Delivered, OrderEventType::OrderDelivered, delivered_at, None, |o| {
            o.delivered_at = Some(delivered_at);
            o.refund_deadline = Some(policy.deadline(recorded_at.max(delivered_at)));
            o.rider_id = Some(rider);
            o.delivery.applied = Some(position);
        }))
    }

    /// The delivery request this order is waiting on, while it is
    /// DELIVERY_REQUESTED: what the dispatcher was handed, rebuilt from the
    /// order, so that the sweeper can decide a request whose dispatcher never
    /// did (or whose decision never reached the order).
    pub fn pending_delivery_request(&self) -> Option<crate::delivery::DeliveryRequest> {
        if self.status != OrderStatus::DeliveryRequested {
            return None;
        }
        let request_version = self.delivery.request_version?;
        Some(crate::delivery::DeliveryRequest {
            order_id: self.order_id.clone(),
            request_version,
            customer_id: self.customer_id.clone(),
            store_id: self.store_id.clone(),
            zone: self.address.zone(),
            redelivery: self.delivery.redelivery,
            trace: self.trace.clone(),
        })
    }

    /// Until when a refund may be asked for, while one may at `now`:
    /// DELIVERED, none asked for, and the window still open.
    pub fn open_refund_deadline(&self, now: Timestamp) -> Option<Timestamp> {
        (self.status == OrderStatus::Delivered && self.refund.is_none())
            .then_some(self.refund_deadline)
            .flatten()
            .filter(|deadline| now <= *deadline)
    }

    // -----------------------------------------------------------------------
    // Refunds

    /// Whether a refund may be requested now: DELIVERED, none requested
    /// before, inside the window. Also checked before handing out a photo
    /// upload URL, so a customer is told early.
    pub fn check_refundable(&self, policy: &RefundPolicy, at: Timestamp) -> Result<(), OrderError> {
        self.require("request a refund for", &[OrderStatus::Delivered])?;
        // Back at DELIVERED after a rejected request: still only one per order.
        if self.refund.is_some() {
            return Err(OrderError::RefundAlreadyRequested);
        }
        // A DELIVERED order always has `delivered_at`; one without (corrupt
        // stored data) counts from its last change rather than panicking.
        let delivered_at = self.delivered_at.unwrap_or(self.updated_at);
        let closes_at = self.refund_deadline.unwrap_or_else(|| policy.deadline(delivered_at));
        if at <= closes_at {
            Ok(())
        } else {
            Err(OrderError::RefundWindowClosed {
                delivered_at,
                closes_at,
                window_seconds: policy.window.num_seconds(),
            })
        }
    }

    /// DELIVERED -> REFUND_REQUESTED, once per order, within the window.
    pub fn request_refund(
        &self,
        request: ValidRefundRequest,
        policy: &RefundPolicy,
        at: Timestamp,
    ) -> Result<Transition, OrderError> {
        self.check_refundable(policy, at)?;
        Ok(self.advance(
            OrderStatus::RefundRequested,
            OrderEventType::OrderRefundRequested,
            at,
            Some(request.reason.clone()),
            |o| {
                o.refund = Some(Refund {
                    method: request.method,
                    reason: request.reason,
                    photo_key: request.photo_key,
                    status: RefundStatus::Requested,
                    decision_reason: None,
                    requested_at: at,
                    decided_at: None,
                })
            },
        ))
    }

    /// REFUND_REQUESTED -> REFUNDED (approved, method REFUND) or
    /// DELIVERY_REQUESTED as a redelivery (approved, method REDELIVER).
    pub fn approve_refund(&self, note: Option<&str>, at: Timestamp) -> Result<Transition, OrderError> {
        self.require("approve the refund of", &[OrderStatus::RefundRequested])?;
        let note = match note {
            Some(n) if !n.trim().is_empty() => Some(required_reason(n)?),
            _ => None,
        };
        // A REFUND_REQUESTED order always has its refund; one without
        // (corrupt stored data) cannot be approved.
        let method = self
            .refund
            .as_ref()
            .map(|r| r.method)
            .ok_or(OrderError::IllegalTransition { action: "approve the refund of", current: self.status })?;
        let decide = |o: &mut Order| {
            if let Some(refund) = o.refund.as_mut() {
                refund.status = RefundStatus::Approved;
                refund.decision_reason = note.clone();
                refund.decided_at = Some(at);
            }
        };
        Ok(match method {
            RefundMethod::Refund => {
                self.advance(OrderStatus::Refunded, OrderEventType::OrderRefunded, at, note.clone(), decide)
            }
            RefundMethod::Redeliver => {
                let mut decided = self.clone();
                decide(&mut decided);
                decided.enter_delivery_requested(true, at, note.clone())
            }
        })
    }

    /// REFUND_REQUESTED -> DELIVERED, closed; the reason is kept for the
    /// customer.
    pub fn reject_refund(&self, reason: &str, at: Timestamp) -> Result<Transition, OrderError> {
        self.require("reject the refund of", &[OrderStatus::RefundRequested])?;
        let reason = required_reason(reason)?;
        Ok(self.advance(
            OrderStatus::Delivered,
            OrderEventType::OrderRefundRejected,
            at,
            Some(reason.clone()),
            |o| {
                if let Some(refund) = o.refund.as_mut() {
                    refund.status = RefundStatus::Rejected;
                    refund.decision_reason = Some(reason);
                    refund.decided_at = Some(at);
                }
            },
        ))
    }

    // -----------------------------------------------------------------------
    // Mechanics

    fn require(&self, action: &'static str, allowed: &[OrderStatus]) -> Result<(), OrderError> {
        if allowed.contains(&self.status) {
            Ok(())
        } else {
            Err(OrderError::IllegalTransition { action, current: self.status })
        }
    }

    fn enter_delivery_requested(
        &self,
        redelivery: bool,
        at: Timestamp,
        reason: Option<String>,
    ) -> Transition {
        let next_version = self.version + 1;
        self.advance(
            OrderStatus::DeliveryRequested,
            OrderEventType::OrderDeliveryRequested,
            at,
            reason,
            |o| {
                o.rider_id = None;
                o.delivery =
                    DeliveryTracking { request_version: Some(next_version), redelivery, applied: None };
            },
        )
    }

    /// The one way an order changes: new status, version + 1, a timeline
    /// entry, and the event describing the change.
    fn advance(
        &self,
        to: OrderStatus,
        event_type: OrderEventType,
        at: Timestamp,
        reason: Option<String>,
        change: impl FnOnce(&mut Order),
    ) -> Transition {
        let mut order = self.clone();
        change(&mut order);
        order.status = to;
        order.version += 1;
        order.updated_at = at;
        order.timeline.push(TimelineEntry { status: to, at, reason: reason.clone() });
        let event = OrderEvent::of(&order, event_type, reason, at);
        Transition { order, events: vec![event] }
    }

    /// What `OrderEventData` says about this order now.
    pub(crate) fn event_data(&self, reason: Option<String>) -> OrderEventData {
        OrderEventData::from_order(self, reason)
    }

    /// Which side of the order a role is on; used for visibility rules.
    pub fn is_visible_to(&self, role: Role, user: &UserId, store: Option<&StoreId>) -> bool {
        match role {
            Role::Customer => &self.customer_id == user,
            Role::Owner => store == Some(&self.store_id),
            Role::Operator => false,
        }
    }
}

fn required_reason(reason: &str) -> Result<String, OrderError> {
    let mut errors = ValidationErrors::new();
    check_multiline(&mut errors, "reason", reason, MAX_REASON_CHARS);
    errors.into_result(reason.trim().to_owned()).map_err(OrderError::Invalid)
}
