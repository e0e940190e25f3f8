//! The order and its state machine.
//!
//! Every allowed move is a method that returns the next state together with
//! the event it causes ([`Transition`]); any other move is an
//! [`OrderError::IllegalTransition`] naming the current status. The order is
//! never mutated in place: a caller persists the new state conditionally on
//! the version it read, so a concurrent change is detected, not overwritten.

use crate::catalog::MenuItem;
use crate::delivery::{DeliveryFailureReason, Zone};
use crate::events::{Envelope, EventItem, OrderEvent, OrderEventData, OrderEventType};
use crate::identity::Role;
use crate::ids::{EventId, OrderId, ProductId, RiderId, StoreId, UserId};
use crate::refund::{Refund, RefundMethod, RefundPolicy, RefundStatus, ValidRefundRequest};
use crate::sequencing::{Applicability, DeliveryPosition, DeliveryStage};
use crate::stock::Quantity;
use crate::trace::TraceParent;
use crate::validation::{ValidationErrors, check_identifier, check_line, check_multiline};
use crate::{Timestamp, Won};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};

// Declared below the order so that its events can hold them without
// importing the order; still reachable here, where they were first declared.
pub use crate::sequencing::DeliveryTracking;
pub use crate::validation::{MAX_ADDRESS_PART_CHARS, MAX_LINES, MAX_QUANTITY, MAX_REASON_CHARS};
pub use crate::values::{Address, OrderStatus};
/// How often an order may be sent for delivery (the first request, the
/// owner's retries after failures, a redelivery). Each attempt adds to the
/// order's timeline: the bound keeps the item far below DynamoDB's 400 KB
/// (docs/dynamodb.md), and an owner past it cancels the order instead.
pub const MAX_DELIVERY_REQUESTS: usize = 50;

/// One priced line of an order: name and price are copied from the menu at
/// placement so later menu edits never change a placed order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    /// The product, as on the menu.
    pub product_id: ProductId,
    /// The product's name when the order was placed.
    pub name: String,
    /// The unit price when the order was placed.
    pub price: Won,
    /// How many: 1..=[`MAX_QUANTITY`].
    pub quantity: i64,
}

/// One status change of an order, as its history shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEntry {
    /// The status entered.
    pub status: OrderStatus,
    /// When.
    pub at: Timestamp,
    /// The reason given with the change, if any (rejection, cancellation,
    /// refund, decision, delivery failure).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// An order: what was bought, where it goes, where it stands, and how it
/// got there. Moves only through its transitions (see the module docs).
///
/// The whole lifecycle, from placement to a refund decision:
///
/// ```rust
/// use foodstream_domain::Timestamp;
/// use foodstream_domain::catalog::MenuItem;
/// use foodstream_domain::events::OrderEventType;
/// use foodstream_domain::ids::{OrderId, ProductId, RiderId, UserId};
/// use foodstream_domain::order::{Address, LineInput, Order, OrderStatus, PlaceOrderInput};
/// use foodstream_domain::refund::{PhotoUpload, RefundPolicy, RefundRequestInput};
/// use foodstream_domain::sequencing::{DeliveryPosition, DeliveryStage};
/// use std::collections::HashMap;
///
/// // Seconds after noon.
/// let t = |s: u32| -> Timestamp {
///     format!("2026-11-25T12:{:02}:{:02}Z", s / 60, s % 60).parse().unwrap()
/// };
/// let menu: HashMap<ProductId, MenuItem> = HashMap::from([(
///     ProductId::new("bibimbap"),
///     MenuItem {
///         store_id: "store-1".into(),
///         product_id: "bibimbap".into(),
///         name: "비빔밥".into(),
///         price: 9000,
///         stock: 10,
///         version: 1,
///     },
/// )]);
///
/// // The customer places it: validated, priced from the menu, PAID.
/// let request = PlaceOrderInput {
///     store_id: "store-1".into(),
///     items: vec![LineInput { product_id: "bibimbap".into(), quantity: 2 }],
///     address: Address {
///         street: "1 Teheran-ro".into(),
///         district: "Gangnam-gu".into(),
///         city: "Seoul".into(),
///     },
/// }
/// .validate()
/// .unwrap();
/// let (lines, total) = request.price(&menu).unwrap();
/// let placed = Order::place(OrderId::new("o-1"), UserId::new("cust-1"), &request, lines, t(0));
/// assert_eq!(placed.order.status, OrderStatus::Paid);
/// assert_eq!((placed.order.total, total), (18000, 18000));
/// assert_eq!(placed.events[0].event_type, OrderEventType::OrderPlaced);
///
/// // The store accepts it and calls a rider.
/// let accepted = placed.order.accept(t(10)).unwrap();
/// assert_eq!(accepted.order.status, OrderStatus::Accepted);
/// let requested = accepted.order.request_delivery(t(20)).unwrap();
/// assert_eq!(requested.order.status, OrderStatus::DeliveryRequested);
/// let delivery = requested.events[0].delivery_request().unwrap();
///
/// // The dispatcher's events, positioned in the attempt, move it on.
/// let rider = RiderId::new("rider-1");
/// let at_stage = |stage| DeliveryPosition { request_version: delivery.request_version, stage };
/// let assigned = at_stage(DeliveryStage::Assigned);
/// let delivering = requested.order.rider_assigned(assigned, rider.clone(), t(21)).unwrap();
/// assert_eq!(delivering.order.status, OrderStatus::Delivering);
/// let policy = RefundPolicy::default(); // 10 minutes
/// let finished = at_stage(DeliveryStage::Finished);
/// let delivered = delivering.order.delivered(finished, rider, t(40), t(41), &policy).unwrap();
/// assert_eq!(delivered.order.status, OrderStatus::Delivered);
///
/// // Within the window the customer asks for a refund, with their photo.
/// let refund = RefundRequestInput {
///     photo_key: PhotoUpload::key_of(&OrderId::new("o-1")),
///     reason: "국이 식어서 왔어요".into(),
///     method: "REFUND".into(),
/// }
/// .validate(&delivered.order.order_id)
/// .unwrap();
/// let refund_requested = delivered.order.request_refund(refund, &policy, t(100)).unwrap();
/// assert_eq!(refund_requested.order.status, OrderStatus::RefundRequested);
///
/// // The store decides: approving a REFUND refunds the order...
/// let refunded = refund_requested.order.approve_refund(None, t(200)).unwrap();
/// assert_eq!(refunded.order.status, OrderStatus::Refunded);
/// // ...rejecting it would have closed the request, back at DELIVERED.
/// let kept = refund_requested.order.reject_refund("맛있게 드셨다고 하셨어요", t(200)).unwrap();
/// assert_eq!(kept.order.status, OrderStatus::Delivered);
/// // Each step was one status change and one version, the timeline says so.
/// assert_eq!(refunded.order.version, 7);
/// assert_eq!(refunded.order.timeline.len(), 7);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// The order's id.
    pub order_id: OrderId,
    /// The store it was placed with.
    pub store_id: StoreId,
    /// The customer who placed it.
    pub customer_id: UserId,
    /// Where it stands.
    pub status: OrderStatus,
    /// The priced lines, as placed.
    pub items: Vec<OrderLine>,
    /// The sum of every line's price times quantity.
    pub total: Won,
    /// Where it is delivered.
    pub address: Address,
    /// Starts at 1 and grows by one on every change; writes are conditional
    /// on it.
    pub version: u64,
    /// Every status it entered, oldest first, the first being PAID.
    pub timeline: Vec<TimelineEntry>,
    /// The rider on it (or who delivered it); cleared when delivery is
    /// requested again.
    pub rider_id: Option<RiderId>,
    /// When the food arrived (DELIVERED orders and later).
    pub delivered_at: Option<Timestamp>,
    /// Until when a refund may be asked for: the refund window counted from
    /// the moment the order became DELIVERED in our records, not from
    /// `delivered_at` (a lagging updater must not eat the window before
    /// anyone could see the delivery). Orders delivered before this field
    /// existed read as `None` and count from `delivered_at`.
    #[serde(default)]
    pub refund_deadline: Option<Timestamp>,
    /// The refund request, once one was filed (at most one per order).
    pub refund: Option<Refund>,
    /// Where the current delivery request stands, for sequencing delivery
    /// events.
    pub delivery: DeliveryTracking,
    /// When it was placed.
    pub created_at: Timestamp,
    /// When it last changed.
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
    /// The move is not allowed from the order's current status.
    #[error("cannot {action} an order that is {current}")]
    IllegalTransition {
        /// The move, in words (`"accept"`, `"request a refund for"`).
        action: &'static str,
        /// The status the order is in.
        current: OrderStatus,
    },
    /// A refund was asked for after its window closed.
    #[error("the refund window closed at {closes_at} ({window_seconds} s after delivery)")]
    RefundWindowClosed {
        /// When the food arrived.
        delivered_at: Timestamp,
        /// The last moment a refund could be asked for.
        closes_at: Timestamp,
        /// The window's length.
        window_seconds: i64,
    },
    /// An order gets one refund request, whatever its outcome.
    #[error("a refund has already been requested for this order")]
    RefundAlreadyRequested,
    /// The order was sent for delivery [`MAX_DELIVERY_REQUESTS`] times.
    #[error("this order was sent for delivery {attempts} times, the most an order may be; cancel it instead")]
    DeliveryAttemptsExhausted {
        /// How often it was sent.
        attempts: usize,
    },
    /// A reason or note given with the move is invalid.
    #[error("invalid input: {0}")]
    Invalid(ValidationErrors),
}

/// The result of an allowed move: the next state and what it caused.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    /// The order after the move.
    pub order: Order,
    /// One event per status change, in order (usually exactly one).
    pub events: Vec<OrderEvent>,
}

// ---------------------------------------------------------------------------
// Placement

/// One line of a placement request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineInput {
    /// The product to order.
    pub product_id: String,
    /// How many: 1..=[`MAX_QUANTITY`].
    pub quantity: i64,
}

/// The body of `POST /orders` before validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaceOrderInput {
    /// The store to order from.
    pub store_id: String,
    /// 1..=[`MAX_LINES`] lines, one per product.
    pub items: Vec<LineInput>,
    /// Where to deliver; each part one line of at most
    /// [`MAX_ADDRESS_PART_CHARS`] characters, the district naming a zone.
    pub address: Address,
}

/// A placement request whose shape is valid; pricing needs the menu.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidPlaceOrder {
    /// The store to order from.
    pub store_id: StoreId,
    /// The quantity of each product.
    pub lines: Vec<Quantity>,
    /// The delivery address, trimmed.
    pub address: Address,
    /// Identifies the request body for idempotent retries.
    pub fingerprint: String,
}

impl PlaceOrderInput {
    /// Checks the request's shape: ids, line count, quantities, no product
    /// twice, and the address. Every invalid field is named.
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

    /// Which side of the order a role is on; used for visibility rules.
    pub fn is_visible_to(&self, role: Role, user: &UserId, store: Option<&StoreId>) -> bool {
        match role {
            Role::Customer => &self.customer_id == user,
            Role::Owner => store == Some(&self.store_id),
            Role::Operator => false,
        }
    }
}

// ---------------------------------------------------------------------------
// The events of an order
//
// Written here rather than in `events`: building an event reads the whole
// order, and the order's transitions build events, so `events` holds only
// what an event is and the order says how it describes itself.

impl OrderEventData {
    /// What an order event says about `order` as it is now, with the
    /// `reason` of the change that brought it there.
    pub fn from_order(order: &Order, reason: Option<String>) -> Self {
        let previous_status = order.timeline.iter().rev().nth(1).map(|entry| entry.status);
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
            data: OrderEventData::from_order(order, reason),
        }
    }
}

fn required_reason(reason: &str) -> Result<String, OrderError> {
    let mut errors = ValidationErrors::new();
    check_multiline(&mut errors, "reason", reason, MAX_REASON_CHARS);
    errors.into_result(reason.trim().to_owned()).map_err(OrderError::Invalid)
}
