//! Model-based testing of the order lifecycle: a small reference model of
//! the contract (docs/spec.md sections 2 and 3, docs/architecture.md's
//! state machine and decisions), a proptest generator of API command
//! sequences by three customers, two store owners and an operator, and a
//! runner that plays a sequence against an [`Executor`] and the model side
//! by side, comparing after every command what a client sees (status, error
//! code and its key detail) and, after the asynchronous pipeline settled,
//! every order (status, version, timeline, total, rider, refund, deadline)
//! and every menu item (stock, price, version).
//!
//! Two executors run it: the use cases over the in-memory adapters
//! (`crates/application/tests/model.rs`) and the HTTP API of the local stack
//! (`crates/local/tests/model.rs`). This file is compiled twice: as
//! `foodstream_harness::model`, and inside the application's test through
//! `#[path]`, so that test does not link the harness (nor the AWS SDK and
//! librdkafka it brings). It uses nothing but std, proptest and serde_json.
//!
//! What the model keeps: orders (owner, store, lines, zone, status history,
//! rider, refund, photo uploaded, refund deadline), stock, price and version
//! of every menu item, riders by zone, idempotency keys by customer, the
//! delivery requests not yet dispatched, and the time (model milliseconds:
//! the in-memory clock moves only by `Wait` and by each delivery's duration,
//! exactly as the in-memory dispatcher sleeps).

use proptest::prelude::*;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// Customers `0..CUSTOMERS`; owners `0..STORES` (owner `i` runs store `i`).
pub const CUSTOMERS: u8 = 3;
/// Stores `0..STORES`, store `i` run by owner `i`.
pub const STORES: u8 = 2;
/// Products `p0..p{PRODUCTS-1}`; the initial menu has `p0` and `p1` only.
pub const PRODUCTS: u8 = 3;
/// Riders `0..RIDERS`.
pub const RIDERS: u8 = 3;
/// Districts `0..DISTRICTS`: 0 and 2 are spellings of one zone, 1 another.
pub const DISTRICTS: u8 = 3;
/// The most lines an order may have.
pub const MAX_LINES: usize = 20;
/// The largest quantity of a line (quantities are `1..=MAX_QUANTITY`).
pub const MAX_QUANTITY: i64 = 99;

// ---------------------------------------------------------------------------
// Names

/// How an executor spells the model's actors and things. `suffix` keeps
/// the runs of one shared emulator apart (empty in memory).
#[derive(Debug, Clone)]
pub struct Names {
    /// Appended to the names of actors, stores and districts.
    pub suffix: String,
}

impl Names {
    /// Names with `suffix`.
    pub fn new(suffix: impl Into<String>) -> Names {
        Names { suffix: suffix.into() }
    }
    /// Store `i`'s id.
    pub fn store(&self, i: u8) -> String {
        format!("store-{i}{}", self.suffix)
    }
    /// Customer `i`'s user id.
    pub fn customer(&self, i: u8) -> String {
        format!("cust-{i}{}", self.suffix)
    }
    /// Owner `i`'s user id (the owner of store `i`).
    pub fn owner(&self, i: u8) -> String {
        format!("owner-{i}{}", self.suffix)
    }
    /// The operator's user id.
    pub fn operator(&self) -> String {
        format!("ops{}", self.suffix)
    }
    /// Rider `i`'s id.
    pub fn rider(&self, i: u8) -> String {
        format!("rider-{i}{}", self.suffix)
    }
    /// Product `i`'s id: `p{i}`.
    pub fn product(i: u8) -> String {
        format!("p{i}")
    }
    /// The product index of a product id, if it is one of the model's.
    pub fn product_index(id: &str) -> Option<u8> {
        id.strip_prefix('p')?.parse().ok()
    }
    /// Idempotency key `i`: `key-{i}`.
    pub fn key(i: u8) -> String {
        format!("key-{i}")
    }
    /// District 2 is district 0 in other case and spacing: the same zone
    /// once normalised.
    pub fn district(&self, i: u8) -> String {
        match i {
            0 => format!("Gangnam-gu{}", self.suffix),
            1 => format!("Mapo-gu{}", self.suffix),
            _ => format!("  GANGNAM-GU{}  ", self.suffix.to_uppercase()),
        }
    }
    /// The zone of a district, as the model sees it.
    pub fn zone_of(district: u8) -> u8 {
        if district == 1 { 1 } else { 0 }
    }
    /// The body of `POST /orders`.
    pub fn place_body(&self, body: &PlaceBody) -> Value {
        json!({
            "store_id": self.store(body.store),
            "items": body.lines.iter().map(|(p, q)| json!({"product_id": Self::product(*p), "quantity": q})).collect::<Vec<_>>(),
            "address": {"street": "1 Teheran-ro", "district": self.district(body.district), "city": "Seoul"},
        })
    }
    /// A refund request's `photo_key`: the order's uploaded photo when
    /// `right`, else another key under the order's prefix.
    pub fn photo_key(order_id: &str, right: bool) -> String {
        if right {
            format!("refund-photos/{order_id}/photo")
        } else {
            format!("refund-photos/{order_id}/other.jpg")
        }
    }
    /// A refund request's reason: a real one when `ok`, else blank.
    pub fn reason(ok: bool) -> &'static str {
        if ok { "the soup was cold" } else { "   " }
    }
    /// A photo upload's content type: JPEG when `ok`, else GIF.
    pub fn content_type(ok: bool) -> &'static str {
        if ok { "image/jpeg" } else { "image/gif" }
    }
    /// Product `product`'s name on the menu.
    pub fn menu_name(product: u8) -> String {
        format!("dish {product}")
    }
}

// ---------------------------------------------------------------------------
// Commands, as generated (and shrunk)

/// An order picked among those placed so far, counted from the newest
/// (`Pick(0)` is the newest); with no order yet, an unknown id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pick(pub u16);

/// Who makes an order call relative to the order: its rightful party, a
/// stranger of the same role (another customer, another store's owner:
/// 404), or a wrong role (403).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum As {
    /// The rightful party: the order's customer, its store's owner.
    Right,
    /// Another caller of the same role.
    Stranger,
    /// A caller of another role.
    WrongRole,
}

/// The `If-Match` of a menu item update, relative to the item's version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IfMatch {
    /// No `If-Match`.
    Absent,
    /// The current version.
    Current,
    /// A version other than the current one.
    Stale,
}

/// How a customer wants a refund settled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum RefundMethod {
    /// Money back: `REFUND`.
    Refund,
    /// The order delivered again: `REDELIVER`.
    Redeliver,
}

impl RefundMethod {
    /// The API's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            RefundMethod::Refund => "REFUND",
            RefundMethod::Redeliver => "REDELIVER",
        }
    }
}

/// An order's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// `PAID`
    Paid,
    /// `ACCEPTED`
    Accepted,
    /// `REJECTED`
    Rejected,
    /// `CANCELLED`
    Cancelled,
    /// `DELIVERY_REQUESTED`
    DeliveryRequested,
    /// `DELIVERING`
    Delivering,
    /// `DELIVERY_FAILED`
    DeliveryFailed,
    /// `DELIVERED`
    Delivered,
    /// `REFUND_REQUESTED`
    RefundRequested,
    /// `REFUNDED`
    Refunded,
}

impl Status {
    /// Every status.
    pub const ALL: [Status; 10] = [
        Status::Paid,
        Status::Accepted,
        Status::Rejected,
        Status::Cancelled,
        Status::DeliveryRequested,
        Status::Delivering,
        Status::DeliveryFailed,
        Status::Delivered,
        Status::RefundRequested,
        Status::Refunded,
    ];

    /// The API's spelling: `DELIVERY_REQUESTED`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Paid => "PAID",
            Status::Accepted => "ACCEPTED",
            Status::Rejected => "REJECTED",
            Status::Cancelled => "CANCELLED",
            Status::DeliveryRequested => "DELIVERY_REQUESTED",
            Status::Delivering => "DELIVERING",
            Status::DeliveryFailed => "DELIVERY_FAILED",
            Status::Delivered => "DELIVERED",
            Status::RefundRequested => "REFUND_REQUESTED",
            Status::Refunded => "REFUNDED",
        }
    }
}

/// One generated step. Order-targeted commands name the order by [`Pick`]
/// and the caller by [`As`]; both are resolved against the model when the
/// step runs, so a shrunk sequence stays meaningful.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// An owner puts a menu item: `PUT /stores/{storeId}/menu/{productId}`.
    PutMenu {
        /// Who, relative to the store.
        who: As,
        /// The store (modulo [`STORES`]).
        store: u8,
        /// The product (modulo [`PRODUCTS`]).
        product: u8,
        /// The price.
        price: i64,
        /// The stock, if given.
        stock: Option<i64>,
        /// The `If-Match` sent.
        if_match: IfMatch,
    },
    /// A customer places an order: `POST /orders`.
    Place {
        /// The customer (modulo [`CUSTOMERS`]).
        customer: u8,
        /// The store (modulo [`STORES`]).
        store: u8,
        /// `(product, quantity)` per line.
        lines: Vec<(u8, i64)>,
        /// The address' district (modulo [`DISTRICTS`]).
        district: u8,
        /// The Idempotency-Key, if any.
        key: Option<u8>,
    },
    /// An owner tries to order: 403.
    PlaceAsOwner {
        /// The owner (modulo [`STORES`]).
        owner: u8,
    },
    /// A retry of an earlier placement with its Idempotency-Key (`key-0`
    /// if it had none), with the same body or a changed one.
    RetryPlace {
        /// The placement retried, counted from the newest.
        pick: Pick,
        /// Whether the body is the same (else one quantity changed).
        same_body: bool,
    },
    /// The next step of the happy path of an order (accept, call a rider,
    /// register one, pump, photo, refund request, decision...), `choice`
    /// picking among the alternatives: keeps sequences reaching deep states.
    Next {
        /// The order.
        order: Pick,
        /// Picks among the alternatives.
        choice: u8,
    },
    /// `GET /orders/{orderId}`.
    Get {
        /// The order.
        order: Pick,
        /// Who, relative to the order (a wrong role: the operator).
        who: As,
        /// Whether the caller is of the store's side (else the customer's).
        owner_side: bool,
    },
    /// A customer lists their orders: `GET /orders`.
    ListMine {
        /// The customer (modulo [`CUSTOMERS`]).
        customer: u8,
    },
    /// An owner lists a store's orders: `GET /stores/{storeId}/orders`.
    ListStore {
        /// Who, relative to the store.
        who: As,
        /// The store (modulo [`STORES`]).
        store: u8,
        /// The `status` filter, if any.
        status: Option<Status>,
    },
    /// An order cancelled: `POST /orders/{orderId}/cancel`.
    Cancel {
        /// The order.
        order: Pick,
        /// Whether by the store's side (else by the customer's).
        by_owner: bool,
        /// Who, relative to the order (a wrong role: the operator).
        who: As,
    },
    /// The store accepts an order: `POST /orders/{orderId}/accept`.
    Accept {
        /// The order.
        order: Pick,
        /// Who, relative to the order's store.
        who: As,
    },
    /// The store rejects an order: `POST /orders/{orderId}/reject`.
    Reject {
        /// The order.
        order: Pick,
        /// Who, relative to the order's store.
        who: As,
        /// Whether a reason is given.
        reason: bool,
    },
    /// The store asks for a delivery: `POST /orders/{orderId}/delivery-requests`.
    RequestDelivery {
        /// The order.
        order: Pick,
        /// Who, relative to the order's store.
        who: As,
    },
    /// A rider registered in a district's zone: `PUT /riders/{riderId}`.
    RegisterRider {
        /// The rider (modulo [`RIDERS`]).
        rider: u8,
        /// The district (modulo [`DISTRICTS`]).
        district: u8,
        /// Whether the operator registers it (else owner 0: 403).
        operator: bool,
    },
    /// The customer uploads a refund photo: `POST /orders/{orderId}/refund-photos`.
    Photo {
        /// The order.
        order: Pick,
        /// Who, relative to the order's customer.
        who: As,
        /// Whether the content type is one the API takes.
        content_ok: bool,
    },
    /// The customer asks for a refund: `POST /orders/{orderId}/refund-request`.
    RefundRequest {
        /// The order.
        order: Pick,
        /// Who, relative to the order's customer.
        who: As,
        /// Money back or a redelivery.
        method: RefundMethod,
        /// Whether the reason is a real one.
        reason_ok: bool,
        /// Whether the photo key is the order's uploaded photo.
        key_ok: bool,
    },
    /// The store decides on a refund request:
    /// `POST /orders/{orderId}/refund-request/decision`.
    Decide {
        /// The order.
        order: Pick,
        /// Who, relative to the order's store.
        who: As,
        /// Whether it approves.
        approve: bool,
        /// Whether a reason is given.
        reason: bool,
    },
    /// Time passes (in memory: the clock moves; never generated over HTTP).
    Wait {
        /// Seconds.
        secs: u64,
    },
    /// The table stream and the topics are played through the consumers
    /// until nothing moves (over HTTP: waited for, bounded).
    Pump,
}

// ---------------------------------------------------------------------------
// Calls, as executed

/// Who makes a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Caller {
    /// Customer `i`.
    Customer(u8),
    /// The owner of store `i`.
    Owner(u8),
    /// The operator.
    Operator,
}

/// An order by its index in the model (placement order), or an id nobody
/// has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// The model's order at this index.
    Order(usize),
    /// An id nobody has: [`UNKNOWN_ORDER_ID`].
    Unknown,
}

/// The order id of [`Target::Unknown`].
pub const UNKNOWN_ORDER_ID: &str = "no-such-order";

/// The body of a placement, in the model's terms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlaceBody {
    /// The store.
    pub store: u8,
    /// `(product, quantity)` per line.
    pub lines: Vec<(u8, i64)>,
    /// The address' district.
    pub district: u8,
}

/// One API call (or `Wait` / `Pump`), fully resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Call {
    /// `PUT /stores/{storeId}/menu/{productId}`
    PutMenu {
        /// Who calls.
        caller: Caller,
        /// The store.
        store: u8,
        /// The product.
        product: u8,
        /// The price.
        price: i64,
        /// The stock, if given.
        stock: Option<i64>,
        /// The `If-Match` version, if any.
        if_match: Option<u64>,
    },
    /// `POST /orders`
    Place {
        /// Who calls.
        caller: Caller,
        /// The Idempotency-Key, if any.
        key: Option<u8>,
        /// The body.
        body: PlaceBody,
    },
    /// `GET /orders/{orderId}`
    Get {
        /// Who calls.
        caller: Caller,
        /// The order.
        order: Target,
    },
    /// `GET /orders`
    ListMine {
        /// Who calls.
        caller: Caller,
    },
    /// `GET /stores/{storeId}/orders`
    ListStore {
        /// Who calls.
        caller: Caller,
        /// The store.
        store: u8,
        /// The `status` filter, if any.
        status: Option<Status>,
    },
    /// `POST /orders/{orderId}/cancel`
    Cancel {
        /// Who calls.
        caller: Caller,
        /// The order.
        order: Target,
    },
    /// `POST /orders/{orderId}/accept`
    Accept {
        /// Who calls.
        caller: Caller,
        /// The order.
        order: Target,
    },
    /// `POST /orders/{orderId}/reject`
    Reject {
        /// Who calls.
        caller: Caller,
        /// The order.
        order: Target,
        /// Whether a reason is given.
        reason: bool,
    },
    /// `POST /orders/{orderId}/delivery-requests`
    RequestDelivery {
        /// Who calls.
        caller: Caller,
        /// The order.
        order: Target,
    },
    /// `PUT /riders/{riderId}`
    RegisterRider {
        /// Who calls.
        caller: Caller,
        /// The rider.
        rider: u8,
        /// The district of the rider's zone.
        district: u8,
    },
    /// `POST /orders/{orderId}/refund-photos`, then the upload.
    Photo {
        /// Who calls.
        caller: Caller,
        /// The order.
        order: Target,
        /// Whether the content type is one the API takes.
        content_ok: bool,
    },
    /// `POST /orders/{orderId}/refund-request`
    RefundRequest {
        /// Who calls.
        caller: Caller,
        /// The order.
        order: Target,
        /// Money back or a redelivery.
        method: RefundMethod,
        /// Whether the reason is a real one.
        reason_ok: bool,
        /// Whether the photo key is the order's uploaded photo.
        key_ok: bool,
    },
    /// `POST /orders/{orderId}/refund-request/decision`
    Decide {
        /// Who calls.
        caller: Caller,
        /// The order.
        order: Target,
        /// Whether it approves.
        approve: bool,
        /// Whether a reason is given.
        reason: bool,
    },
    /// Time passes: the model's clock moves.
    Wait {
        /// Seconds.
        secs: u64,
    },
    /// The asynchronous pipeline runs until nothing moves.
    Pump,
}

impl Call {
    /// The HTTP status of success of this route.
    pub fn success_status(&self) -> u16 {
        match self {
            Call::Place { .. } => 201,
            Call::RequestDelivery { .. } => 202,
            _ => 200,
        }
    }

    /// The order the call is about, if any.
    pub fn target(&self) -> Option<Target> {
        match self {
            Call::Get { order, .. }
            | Call::Cancel { order, .. }
            | Call::Accept { order, .. }
            | Call::Reject { order, .. }
            | Call::RequestDelivery { order, .. }
            | Call::Photo { order, .. }
            | Call::RefundRequest { order, .. }
            | Call::Decide { order, .. } => Some(*order),
            _ => None,
        }
    }

    /// The real id of the call's order.
    pub fn order_id<'a>(&self, ids: &'a [String]) -> &'a str {
        match self.target() {
            Some(Target::Order(i)) => ids.get(i).map_or(UNKNOWN_ORDER_ID, String::as_str),
            _ => UNKNOWN_ORDER_ID,
        }
    }
}

// ---------------------------------------------------------------------------
// Outcomes

/// What a client can tell from an answer: the status, the error code, and
/// the one detail that matters (an INVALID_STATUS's `current_status`, the
/// first invalid field, the short products, the item's current version; on
/// success, the order's status or the item's stock, price and version).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The HTTP status.
    pub status: u16,
    /// The error code; empty on success.
    pub code: String,
    /// The detail that matters.
    pub detail: String,
}

impl Outcome {
    /// A success: `status` and its detail.
    pub fn ok(status: u16, detail: impl Into<String>) -> Outcome {
        Outcome { status, code: String::new(), detail: detail.into() }
    }
    /// A failure: `status`, its error code and detail.
    pub fn err(status: u16, code: &str, detail: impl Into<String>) -> Outcome {
        Outcome { status, code: code.into(), detail: detail.into() }
    }
    fn forbidden() -> Outcome {
        Outcome::err(403, "FORBIDDEN", "")
    }
    fn not_found() -> Outcome {
        Outcome::err(404, "NOT_FOUND", "")
    }
    fn invalid(field: &str) -> Outcome {
        Outcome::err(400, "VALIDATION_FAILED", field)
    }
    fn invalid_status(current: Status) -> Outcome {
        Outcome::err(409, "INVALID_STATUS", current.as_str())
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} {}", self.status, self.code, self.detail)
    }
}

/// What an executor saw, read from the status and the JSON body exactly as
/// a client would.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observed {
    /// The status, error code and detail.
    pub outcome: Outcome,
    /// The order id of an answer carrying an order.
    pub order_id: Option<String>,
    /// Whether a placement was a replay, where the executor can tell.
    pub replayed: Option<bool>,
    /// The order ids of a list.
    pub listed: Option<Vec<String>>,
}

/// Reads an answer of `call`: `{"error": {code, details}}` on failure, the
/// route's resource on success.
pub fn observe(call: &Call, status: u16, body: &Value, replayed: Option<bool>) -> Observed {
    let mut observed =
        Observed { outcome: Outcome::ok(status, ""), order_id: None, replayed: None, listed: None };
    if status >= 400 {
        let error = &body["error"];
        let code = error["code"].as_str().unwrap_or("?").to_owned();
        let details = &error["details"];
        let detail = match code.as_str() {
            "INVALID_STATUS" => details["current_status"].as_str().unwrap_or("?").to_owned(),
            "VALIDATION_FAILED" => details["fields"][0]["field"].as_str().unwrap_or("?").to_owned(),
            "INSUFFICIENT_STOCK" => {
                let mut short: Vec<String> = details["short_lines"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|l| l["product_id"].as_str().unwrap_or("?").to_owned())
                    .collect();
                short.sort();
                short.join(",")
            }
            "PRECONDITION_FAILED" => details["current_version"].to_string(),
            _ => String::new(),
        };
        observed.outcome = Outcome { status, code, detail };
        return observed;
    }
    match call {
        Call::Place { .. }
        | Call::Get { .. }
        | Call::Cancel { .. }
        | Call::Accept { .. }
        | Call::Reject { .. }
        | Call::RequestDelivery { .. }
        | Call::RefundRequest { .. }
        | Call::Decide { .. } => {
            observed.outcome.detail = body["status"].as_str().unwrap_or("?").to_owned();
            observed.order_id = body["order_id"].as_str().map(String::from);
            if matches!(call, Call::Place { .. }) {
                observed.replayed = replayed;
            }
        }
        Call::PutMenu { .. } => {
            observed.outcome.detail =
                menu_detail(body["stock"].as_i64(), body["price"].as_i64(), body["version"].as_u64());
        }
        Call::ListMine { .. } | Call::ListStore { .. } => {
            observed.listed = Some(
                body["items"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|o| o["order_id"].as_str().unwrap_or("?").to_owned())
                    .collect(),
            );
        }
        Call::RegisterRider { .. } => {
            observed.outcome.detail = body["status"].as_str().unwrap_or("?").to_owned();
        }
        Call::Photo { .. } | Call::Wait { .. } | Call::Pump => {}
    }
    observed
}

fn menu_detail(stock: Option<i64>, price: Option<i64>, version: Option<u64>) -> String {
    format!("stock={stock:?} price={price:?} version={version:?}")
}

/// What the model expects of a call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expected {
    /// The status, error code and detail.
    pub outcome: Outcome,
    /// A placement: the model's order, and whether it is a replay.
    pub placed: Option<(usize, bool)>,
    /// A list: the model's orders in it (in any order).
    pub listed: Option<Vec<usize>>,
}

impl From<Outcome> for Expected {
    fn from(outcome: Outcome) -> Self {
        Expected { outcome, placed: None, listed: None }
    }
}

/// One order as a client reads it, reduced to what the model predicts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderSnap {
    /// The status.
    pub status: String,
    /// The version.
    pub version: u64,
    /// Each entry's status, and whether it carries a reason.
    pub timeline: Vec<(String, bool)>,
    /// The total.
    pub total: i64,
    /// Whether a rider is assigned (`rider_id` shown).
    pub rider: bool,
    /// Whether `delivered_at` is shown.
    pub delivered_at: bool,
    /// `(method, status, whether it has a decision_reason)` of the refund.
    pub refund: Option<(String, String, bool)>,
    /// Whether `refund_deadline` is shown (a refund can still be asked for).
    pub deadline: bool,
}

impl OrderSnap {
    /// Reduces an order's JSON as the API answers it.
    pub fn of(order: &Value) -> OrderSnap {
        OrderSnap {
            status: order["status"].as_str().unwrap_or("?").to_owned(),
            version: order["version"].as_u64().unwrap_or(0),
            timeline: order["timeline"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| (e["status"].as_str().unwrap_or("?").to_owned(), !e["reason"].is_null()))
                .collect(),
            total: order["total"].as_i64().unwrap_or(-1),
            rider: !order["rider_id"].is_null(),
            delivered_at: !order["delivered_at"].is_null(),
            refund: (!order["refund"].is_null()).then(|| {
                (
                    order["refund"]["method"].as_str().unwrap_or("?").to_owned(),
                    order["refund"]["status"].as_str().unwrap_or("?").to_owned(),
                    !order["refund"]["decision_reason"].is_null(),
                )
            }),
            deadline: !order["refund_deadline"].is_null(),
        }
    }
}

/// `(stock, price, version)` of each item of a `GET /stores/{id}/menu`.
pub fn menu_of(list: &Value) -> BTreeMap<u8, (i64, i64, u64)> {
    list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| {
            let product = Names::product_index(i["product_id"].as_str()?)?;
            Some((product, (i["stock"].as_i64()?, i["price"].as_i64()?, i["version"].as_u64()?)))
        })
        .collect()
}

// ---------------------------------------------------------------------------
// The reference model

/// A menu item in the model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    /// Its price.
    pub price: i64,
    /// Its stock.
    pub stock: i64,
    /// Its version.
    pub version: u64,
}

/// Where a refund stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefundState {
    /// `REQUESTED`
    Requested,
    /// `APPROVED`
    Approved,
    /// `REJECTED`
    Rejected,
}

impl RefundState {
    fn as_str(self) -> &'static str {
        match self {
            RefundState::Requested => "REQUESTED",
            RefundState::Approved => "APPROVED",
            RefundState::Rejected => "REJECTED",
        }
    }
}

/// An order in the model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelOrder {
    /// Its customer.
    pub customer: u8,
    /// Its store.
    pub store: u8,
    /// What it was placed with.
    pub body: PlaceBody,
    /// Its total: each line's price at placement times its quantity.
    pub total: i64,
    /// The zone of its address' district.
    pub zone: u8,
    /// Every status the order went through: the timeline; its length is the
    /// version.
    pub history: Vec<Status>,
    /// Whether each timeline entry carries a reason (a rejection's, a
    /// failed delivery's, a refund request's, a refund decision's).
    pub reasons: Vec<bool>,
    /// Whether a rider was assigned (set when delivered).
    pub rider: bool,
    /// Whether `delivered_at` is set.
    pub delivered_at: bool,
    /// The refund's method, state, and whether a decision reason was given.
    pub refund: Option<(RefundMethod, RefundState, bool)>,
    /// Whether a refund photo was uploaded.
    pub photo: bool,
    /// Model time the refund window closes, once delivered.
    pub deadline_ms: Option<i64>,
    /// Model time of placement.
    pub created_ms: i64,
}

impl ModelOrder {
    /// The current status: the history's last.
    pub fn status(&self) -> Status {
        *self.history.last().expect("an order has a status")
    }

    /// The order as a client should read it at model time `now_ms`.
    pub fn snap(&self, now_ms: i64) -> OrderSnap {
        OrderSnap {
            status: self.status().as_str().into(),
            version: self.history.len() as u64,
            timeline: self
                .history
                .iter()
                .zip(&self.reasons)
                .map(|(s, r)| (s.as_str().to_owned(), *r))
                .collect(),
            total: self.total,
            rider: self.rider,
            delivered_at: self.delivered_at,
            refund: self.refund.map(|(m, s, r)| (m.as_str().into(), s.as_str().into(), r)),
            deadline: self.status() == Status::Delivered
                && self.refund.is_none()
                && self.deadline_ms.is_some_and(|d| now_ms <= d),
        }
    }
}

/// The timing rules the model runs with.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    /// The refund window, in ms.
    pub refund_window_ms: i64,
    /// A delivery's duration, in ms.
    pub delivery_ms: i64,
    /// Whether time is the model's to move (`Wait`); over HTTP it is not,
    /// and no `Wait` is generated or resolved.
    pub waits: bool,
}

/// The reference model: what the contract says the system holds after the
/// calls so far.
#[derive(Clone, Debug)]
pub struct Model {
    /// The timing rules.
    pub timing: Timing,
    /// Model time, in ms.
    pub now_ms: i64,
    /// `(store, product)` -> its item.
    pub menu: BTreeMap<(u8, u8), Item>,
    /// Every order, in placement order ([`Target::Order`]'s index).
    pub orders: Vec<ModelOrder>,
    /// Rider -> zone.
    pub riders: BTreeMap<u8, u8>,
    /// `(customer, key)` -> the body first placed with it and its order.
    pub keys: BTreeMap<(u8, u8), (PlaceBody, usize)>,
    /// Delivery requests not yet dispatched, in the order they were made.
    pub pending: Vec<usize>,
    /// Every placement attempted, for `RetryPlace`.
    pub placements: Vec<(u8, Option<u8>, PlaceBody)>,
}

impl Model {
    /// An empty model at time 0.
    pub fn new(timing: Timing) -> Model {
        Model {
            timing,
            now_ms: 0,
            menu: BTreeMap::new(),
            orders: Vec::new(),
            riders: BTreeMap::new(),
            keys: BTreeMap::new(),
            pending: Vec::new(),
            placements: Vec::new(),
        }
    }

    /// The calls every sequence starts with: a menu of two items per store
    /// (`p2` is not on it until a `PutMenu` creates it).
    pub fn setup() -> Vec<Call> {
        let item = |store, product, price, stock| Call::PutMenu {
            caller: Caller::Owner(store),
            store,
            product,
            price,
            stock: Some(stock),
            if_match: None,
        };
        vec![item(0, 0, 9000, 5), item(0, 1, 12000, 2), item(1, 0, 7000, 3), item(1, 1, 3000, 1)]
    }

    fn pick(&self, pick: Pick) -> Target {
        if self.orders.is_empty() {
            Target::Unknown
        } else {
            Target::Order(self.orders.len() - 1 - (pick.0 as usize % self.orders.len()))
        }
    }

    /// The caller of an order's owner-side call.
    fn owner_side(&self, target: Target, who: As) -> Caller {
        let store = match target {
            Target::Order(i) => self.orders[i].store,
            Target::Unknown => 0,
        };
        match who {
            As::Right => Caller::Owner(store),
            As::Stranger => Caller::Owner((store + 1) % STORES),
            As::WrongRole => match target {
                Target::Order(i) => Caller::Customer(self.orders[i].customer),
                Target::Unknown => Caller::Operator,
            },
        }
    }

    /// The caller of an order's customer-side call.
    fn customer_side(&self, target: Target, who: As) -> Caller {
        let customer = match target {
            Target::Order(i) => self.orders[i].customer,
            Target::Unknown => 0,
        };
        match who {
            As::Right => Caller::Customer(customer),
            As::Stranger => Caller::Customer((customer + 1) % CUSTOMERS),
            As::WrongRole => match target {
                Target::Order(i) => Caller::Owner(self.orders[i].store),
                Target::Unknown => Caller::Operator,
            },
        }
    }

    fn rider_in_zone(&self, zone: u8) -> bool {
        self.riders.values().any(|z| *z == zone)
    }

    /// Turns a generated command into the call it means now.
    pub fn resolve(&self, command: &Command) -> Call {
        match command.clone() {
            Command::PutMenu { who, store, product, price, stock, if_match } => {
                let store = store % STORES;
                let product = product % PRODUCTS;
                let caller = match who {
                    As::Right => Caller::Owner(store),
                    As::Stranger => Caller::Owner((store + 1) % STORES),
                    As::WrongRole => Caller::Customer(0),
                };
                let current = self.menu.get(&(store, product)).map(|i| i.version);
                let if_match = match (if_match, current) {
                    (IfMatch::Absent, _) => None,
                    (IfMatch::Current, Some(v)) => Some(v),
                    (IfMatch::Stale, Some(v)) => Some(if v > 1 { v - 1 } else { v + 1 }),
                    (_, None) => Some(1),
                };
                Call::PutMenu { caller, store, product, price, stock, if_match }
            }
            Command::Place { customer, store, lines, district, key } => Call::Place {
                caller: Caller::Customer(customer % CUSTOMERS),
                key,
                body: PlaceBody { store: store % STORES, lines, district: district % DISTRICTS },
            },
            Command::PlaceAsOwner { owner } => Call::Place {
                caller: Caller::Owner(owner % STORES),
                key: None,
                body: PlaceBody { store: owner % STORES, lines: vec![(0, 1)], district: 0 },
            },
            Command::RetryPlace { pick, same_body } => {
                let Some((customer, key, body)) = (!self.placements.is_empty()).then(|| {
                    self.placements[self.placements.len() - 1 - pick.0 as usize % self.placements.len()]
                        .clone()
                }) else {
                    return Call::Place {
                        caller: Caller::Customer(0),
                        key: Some(0),
                        body: PlaceBody { store: 0, lines: vec![(0, 1)], district: 0 },
                    };
                };
                let mut body = body;
                if !same_body {
                    match body.lines.first_mut() {
                        Some(line) => line.1 = if line.1 == 1 { 2 } else { 1 },
                        None => body.lines.push((0, 1)),
                    }
                }
                Call::Place { caller: Caller::Customer(customer), key: Some(key.unwrap_or(0)), body }
            }
            Command::Next { order, choice } => self.next_step(self.pick(order), choice),
            Command::Get { order, who, owner_side } => {
                let target = self.pick(order);
                let caller =
                    if owner_side { self.owner_side(target, who) } else { self.customer_side(target, who) };
                let caller = match (who, caller) {
                    (As::WrongRole, _) => Caller::Operator,
                    (_, c) => c,
                };
                Call::Get { caller, order: target }
            }
            Command::ListMine { customer } => {
                Call::ListMine { caller: Caller::Customer(customer % CUSTOMERS) }
            }
            Command::ListStore { who, store, status } => {
                let store = store % STORES;
                let caller = match who {
                    As::Right => Caller::Owner(store),
                    As::Stranger => Caller::Owner((store + 1) % STORES),
                    As::WrongRole => Caller::Customer(0),
                };
                Call::ListStore { caller, store, status }
            }
            Command::Cancel { order, by_owner, who } => {
                let target = self.pick(order);
                let caller = match (by_owner, who) {
                    (_, As::WrongRole) => Caller::Operator,
                    (true, who) => self.owner_side(target, who),
                    (false, who) => self.customer_side(target, who),
                };
                Call::Cancel { caller, order: target }
            }
            Command::Accept { order, who } => {
                let target = self.pick(order);
                Call::Accept { caller: self.owner_side(target, who), order: target }
            }
            Command::Reject { order, who, reason } => {
                let target = self.pick(order);
                Call::Reject { caller: self.owner_side(target, who), order: target, reason }
            }
            Command::RequestDelivery { order, who } => {
                let target = self.pick(order);
                Call::RequestDelivery { caller: self.owner_side(target, who), order: target }
            }
            Command::RegisterRider { rider, district, operator } => Call::RegisterRider {
                caller: if operator { Caller::Operator } else { Caller::Owner(0) },
                rider: rider % RIDERS,
                district: district % DISTRICTS,
            },
            Command::Photo { order, who, content_ok } => {
                let target = self.pick(order);
                Call::Photo { caller: self.customer_side(target, who), order: target, content_ok }
            }
            Command::RefundRequest { order, who, method, reason_ok, key_ok } => {
                let target = self.pick(order);
                Call::RefundRequest {
                    caller: self.customer_side(target, who),
                    order: target,
                    method,
                    reason_ok,
                    key_ok,
                }
            }
            Command::Decide { order, who, approve, reason } => {
                let target = self.pick(order);
                Call::Decide { caller: self.owner_side(target, who), order: target, approve, reason }
            }
            Command::Wait { secs } if self.timing.waits => Call::Wait { secs },
            Command::Wait { .. } | Command::Pump => Call::Pump,
        }
    }

    /// The happy path's next call for an order.
    fn next_step(&self, target: Target, choice: u8) -> Call {
        let Target::Order(i) = target else {
            return Call::Place {
                caller: Caller::Customer(choice % CUSTOMERS),
                key: None,
                body: PlaceBody { store: choice % STORES, lines: vec![(0, 1)], district: choice % DISTRICTS },
            };
        };
        let order = &self.orders[i];
        let (customer, owner) = (Caller::Customer(order.customer), Caller::Owner(order.store));
        let call_rider = |otherwise: Call| {
            if self.rider_in_zone(order.zone) || choice % 5 == 4 {
                otherwise
            } else {
                Call::RegisterRider {
                    caller: Caller::Operator,
                    rider: choice % RIDERS,
                    district: order.body.district,
                }
            }
        };
        match order.status() {
            Status::Paid => match choice % 6 {
                0..=3 => Call::Accept { caller: owner, order: target },
                4 => Call::Reject { caller: owner, order: target, reason: true },
                _ => Call::Cancel { caller: customer, order: target },
            },
            Status::Accepted => call_rider(Call::RequestDelivery { caller: owner, order: target }),
            Status::DeliveryRequested | Status::Delivering => Call::Pump,
            Status::DeliveryFailed => match choice % 4 {
                0 => Call::Cancel { caller: owner, order: target },
                _ => call_rider(Call::RequestDelivery { caller: owner, order: target }),
            },
            Status::Delivered if order.refund.is_none() => {
                if self.timing.waits && choice % 8 == 7 {
                    Call::Wait { secs: 601 }
                } else if !order.photo {
                    Call::Photo { caller: customer, order: target, content_ok: true }
                } else {
                    let method =
                        if choice.is_multiple_of(2) { RefundMethod::Refund } else { RefundMethod::Redeliver };
                    Call::RefundRequest {
                        caller: customer,
                        order: target,
                        method,
                        reason_ok: true,
                        key_ok: true,
                    }
                }
            }
            Status::RefundRequested => match choice % 3 {
                1 => Call::Decide { caller: owner, order: target, approve: false, reason: true },
                _ => Call::Decide {
                    caller: owner,
                    order: target,
                    approve: true,
                    reason: choice.is_multiple_of(2),
                },
            },
            // A second refund request, after a rejected one or a redelivery.
            Status::Delivered if choice.is_multiple_of(3) => {
                Call::Photo { caller: customer, order: target, content_ok: true }
            }
            Status::Delivered if choice % 3 == 1 => Call::RefundRequest {
                caller: customer,
                order: target,
                method: RefundMethod::Refund,
                reason_ok: true,
                key_ok: true,
            },
            Status::Delivered | Status::Rejected | Status::Cancelled | Status::Refunded => {
                if choice.is_multiple_of(2) {
                    Call::Get { caller: customer, order: target }
                } else {
                    Call::ListStore { caller: owner, store: order.store, status: Some(order.status()) }
                }
            }
        }
    }

    fn visible(&self, caller: Caller, target: Target) -> Result<usize, Outcome> {
        let Target::Order(i) = target else {
            return Err(Outcome::not_found());
        };
        let order = &self.orders[i];
        let visible = match caller {
            Caller::Customer(c) => order.customer == c,
            Caller::Owner(s) => order.store == s,
            Caller::Operator => false,
        };
        if visible { Ok(i) } else { Err(Outcome::not_found()) }
    }

    /// 403 unless the caller is an owner, then 404 unless the order is
    /// their store's.
    fn store_order(&self, caller: Caller, target: Target) -> Result<usize, Outcome> {
        match caller {
            Caller::Owner(_) => self.visible(caller, target),
            _ => Err(Outcome::forbidden()),
        }
    }

    /// 403 unless the caller is a customer, then 404 unless it is theirs.
    fn customer_order(&self, caller: Caller, target: Target) -> Result<usize, Outcome> {
        match caller {
            Caller::Customer(_) => self.visible(caller, target),
            _ => Err(Outcome::forbidden()),
        }
    }

    fn require(&self, i: usize, allowed: &[Status]) -> Result<(), Outcome> {
        let current = self.orders[i].status();
        if allowed.contains(&current) { Ok(()) } else { Err(Outcome::invalid_status(current)) }
    }

    fn refundable(&self, i: usize) -> Result<(), Outcome> {
        self.require(i, &[Status::Delivered])?;
        let order = &self.orders[i];
        if order.refund.is_some() {
            return Err(Outcome::err(409, "REFUND_ALREADY_REQUESTED", ""));
        }
        match order.deadline_ms {
            Some(deadline) if self.now_ms <= deadline => Ok(()),
            _ => Err(Outcome::err(409, "REFUND_WINDOW_CLOSED", "")),
        }
    }

    /// A status change, with or without a reason in its timeline entry.
    fn advance(&mut self, i: usize, to: Status, reason: bool) -> Outcome {
        self.orders[i].history.push(to);
        self.orders[i].reasons.push(reason);
        Outcome::ok(200, to.as_str())
    }

    fn give_back(&mut self, i: usize) {
        let (store, lines) = (self.orders[i].store, self.orders[i].body.lines.clone());
        for (product, quantity) in lines {
            let item = self.menu.get_mut(&(store, product)).expect("an ordered item exists");
            item.stock += quantity;
            item.version += 1;
        }
    }

    fn request_delivery(&mut self, i: usize, reason: bool) -> Outcome {
        self.orders[i].rider = false;
        self.pending.push(i);
        let mut outcome = self.advance(i, Status::DeliveryRequested, reason);
        outcome.status = 202;
        outcome
    }

    /// Applies a call to the model: what a client should get.
    pub fn apply(&mut self, call: &Call) -> Expected {
        match self.apply_inner(call) {
            Ok(expected) => expected,
            Err(outcome) => outcome.into(),
        }
    }

    fn apply_inner(&mut self, call: &Call) -> Result<Expected, Outcome> {
        let ok = |o: Outcome| -> Result<Expected, Outcome> { Ok(o.into()) };
        match call.clone() {
            Call::PutMenu { caller, store, product, price, stock, if_match } => {
                if caller != Caller::Owner(store) {
                    return Err(Outcome::forbidden());
                }
                if price <= 0 {
                    return Err(Outcome::invalid("price"));
                }
                if stock.is_some_and(|s| s < 0) {
                    return Err(Outcome::invalid("stock"));
                }
                let current = self.menu.get(&(store, product)).cloned();
                if let Some(expected) = if_match
                    && current.as_ref().map(|c| c.version) != Some(expected)
                {
                    let shown = current.map_or("null".to_owned(), |c| c.version.to_string());
                    return Err(Outcome::err(412, "PRECONDITION_FAILED", shown));
                }
                let item = Item {
                    price,
                    stock: stock.or(current.as_ref().map(|c| c.stock)).unwrap_or(0),
                    version: current.map_or(0, |c| c.version) + 1,
                };
                let detail = menu_detail(Some(item.stock), Some(item.price), Some(item.version));
                self.menu.insert((store, product), item);
                ok(Outcome::ok(200, detail))
            }
            Call::Place { caller, key, body } => {
                let Caller::Customer(customer) = caller else {
                    return Err(Outcome::forbidden());
                };
                self.placements.push((customer, key, body.clone()));
                if body.lines.is_empty() || body.lines.len() > MAX_LINES {
                    return Err(Outcome::invalid("items"));
                }
                let mut seen = BTreeSet::new();
                for (i, (product, quantity)) in body.lines.iter().enumerate() {
                    if !seen.insert(*product) {
                        return Err(Outcome::invalid(&format!("items[{i}].product_id")));
                    }
                    if !(1..=MAX_QUANTITY).contains(quantity) {
                        return Err(Outcome::invalid(&format!("items[{i}].quantity")));
                    }
                }
                if let Some(key) = key
                    && let Some((first, order)) = self.keys.get(&(customer, key))
                {
                    if *first != body {
                        return Err(Outcome::err(409, "IDEMPOTENCY_KEY_REUSED", ""));
                    }
                    let status = self.orders[*order].status();
                    return Ok(Expected {
                        outcome: Outcome::ok(201, status.as_str()),
                        placed: Some((*order, true)),
                        listed: None,
                    });
                }
                for (i, (product, _)) in body.lines.iter().enumerate() {
                    if !self.menu.contains_key(&(body.store, *product)) {
                        return Err(Outcome::invalid(&format!("items[{i}].product_id")));
                    }
                }
                let mut short: Vec<String> = body
                    .lines
                    .iter()
                    .filter(|(p, q)| self.menu[&(body.store, *p)].stock < *q)
                    .map(|(p, _)| Names::product(*p))
                    .collect();
                if !short.is_empty() {
                    short.sort();
                    return Err(Outcome::err(409, "INSUFFICIENT_STOCK", short.join(",")));
                }
                let mut total = 0;
                for (product, quantity) in &body.lines {
                    let item = self.menu.get_mut(&(body.store, *product)).expect("checked above");
                    item.stock -= quantity;
                    item.version += 1;
                    total += item.price * quantity;
                }
                let index = self.orders.len();
                self.orders.push(ModelOrder {
                    customer,
                    store: body.store,
                    zone: Names::zone_of(body.district),
                    body: body.clone(),
                    total,
                    history: vec![Status::Paid],
                    reasons: vec![false],
                    rider: false,
                    delivered_at: false,
                    refund: None,
                    photo: false,
                    deadline_ms: None,
                    created_ms: self.now_ms,
                });
                if let Some(key) = key {
                    self.keys.insert((customer, key), (body, index));
                }
                Ok(Expected { outcome: Outcome::ok(201, "PAID"), placed: Some((index, false)), listed: None })
            }
            Call::Get { caller, order } => {
                if caller == Caller::Operator {
                    return Err(Outcome::forbidden());
                }
                let i = self.visible(caller, order)?;
                ok(Outcome::ok(200, self.orders[i].status().as_str()))
            }
            Call::ListMine { caller } => {
                let Caller::Customer(c) = caller else {
                    return Err(Outcome::forbidden());
                };
                let listed = (0..self.orders.len()).filter(|i| self.orders[*i].customer == c).collect();
                Ok(Expected { outcome: Outcome::ok(200, ""), placed: None, listed: Some(listed) })
            }
            Call::ListStore { caller, store, status } => {
                if caller != Caller::Owner(store) {
                    return Err(Outcome::forbidden());
                }
                let listed = (0..self.orders.len())
                    .filter(|i| {
                        let o = &self.orders[*i];
                        o.store == store && status.is_none_or(|s| o.status() == s)
                    })
                    .collect();
                Ok(Expected { outcome: Outcome::ok(200, ""), placed: None, listed: Some(listed) })
            }
            Call::Cancel { caller, order } => {
                if caller == Caller::Operator {
                    return Err(Outcome::forbidden());
                }
                let i = self.visible(caller, order)?;
                if matches!(caller, Caller::Customer(_)) {
                    // Before acceptance: nothing was cooked, stock back.
                    self.require(i, &[Status::Paid])?;
                    self.give_back(i);
                } else {
                    // After a failed delivery: the food was made, no stock back.
                    self.require(i, &[Status::DeliveryFailed])?;
                }
                ok(self.advance(i, Status::Cancelled, false))
            }
            Call::Accept { caller, order } => {
                let i = self.store_order(caller, order)?;
                self.require(i, &[Status::Paid])?;
                ok(self.advance(i, Status::Accepted, false))
            }
            Call::Reject { caller, order, reason } => {
                let i = self.store_order(caller, order)?;
                self.require(i, &[Status::Paid])?;
                if !reason {
                    return Err(Outcome::invalid("reason"));
                }
                self.give_back(i);
                ok(self.advance(i, Status::Rejected, true))
            }
            Call::RequestDelivery { caller, order } => {
                let i = self.store_order(caller, order)?;
                self.require(i, &[Status::Accepted, Status::DeliveryFailed])?;
                ok(self.request_delivery(i, false))
            }
            Call::RegisterRider { caller, rider, district } => {
                if caller != Caller::Operator {
                    return Err(Outcome::forbidden());
                }
                self.riders.insert(rider, Names::zone_of(district));
                // Between pumps no delivery is in flight: every rider is free.
                ok(Outcome::ok(200, "AVAILABLE"))
            }
            Call::Photo { caller, order, content_ok } => {
                let i = self.customer_order(caller, order)?;
                if !content_ok {
                    return Err(Outcome::invalid("content_type"));
                }
                self.refundable(i)?;
                self.orders[i].photo = true;
                ok(Outcome::ok(200, ""))
            }
            Call::RefundRequest { caller, order, method, reason_ok, key_ok } => {
                let i = self.customer_order(caller, order)?;
                if !key_ok {
                    return Err(Outcome::invalid("photo_key"));
                }
                if !reason_ok {
                    return Err(Outcome::invalid("reason"));
                }
                self.refundable(i)?;
                if !self.orders[i].photo {
                    return Err(Outcome::invalid("photo_key"));
                }
                self.orders[i].refund = Some((method, RefundState::Requested, false));
                ok(self.advance(i, Status::RefundRequested, true))
            }
            Call::Decide { caller, order, approve, reason } => {
                let i = self.store_order(caller, order)?;
                self.require(i, &[Status::RefundRequested])?;
                let (method, _, _) = self.orders[i].refund.expect("REFUND_REQUESTED has a refund");
                if !approve && !reason {
                    return Err(Outcome::invalid("reason"));
                }
                let state = if approve { RefundState::Approved } else { RefundState::Rejected };
                self.orders[i].refund = Some((method, state, reason));
                ok(match (approve, method) {
                    (false, _) => self.advance(i, Status::Delivered, true),
                    (true, RefundMethod::Refund) => self.advance(i, Status::Refunded, reason),
                    (true, RefundMethod::Redeliver) => {
                        let mut outcome = self.request_delivery(i, reason);
                        outcome.status = 200;
                        outcome
                    }
                })
            }
            Call::Wait { secs } => {
                self.now_ms += secs as i64 * 1000;
                ok(Outcome::ok(200, ""))
            }
            Call::Pump => {
                self.pump();
                ok(Outcome::ok(200, ""))
            }
        }
    }

    /// The dispatcher takes each request in turn: a rider of the zone is
    /// taken and, the delivery time later, freed again with the order
    /// DELIVERED (so riders are never on two deliveries, and free again for
    /// the next request); no rider in the zone: DELIVERY_FAILED. The order
    /// updater records the deliveries once every request was dispatched,
    /// and the refund window opens then.
    pub fn pump(&mut self) {
        let pending = std::mem::take(&mut self.pending);
        let mut delivered = Vec::new();
        for i in pending {
            if self.rider_in_zone(self.orders[i].zone) {
                self.now_ms += self.timing.delivery_ms;
                delivered.push(i);
            } else {
                self.advance(i, Status::DeliveryFailed, true);
            }
        }
        for i in delivered {
            self.advance(i, Status::Delivering, false);
            self.advance(i, Status::Delivered, false);
            let order = &mut self.orders[i];
            order.rider = true;
            order.delivered_at = true;
            order.deadline_ms = Some(self.now_ms + self.timing.refund_window_ms);
        }
    }

    /// Every status some order went through, with how many orders did.
    pub fn reached(&self) -> BTreeMap<Status, usize> {
        let mut reached = BTreeMap::new();
        for order in &self.orders {
            for status in order.history.iter().collect::<BTreeSet<_>>() {
                *reached.entry(*status).or_default() += 1;
            }
        }
        reached
    }

    /// The status each order should settle in after a pump, for the orders
    /// a pump changes (to wait for them over HTTP).
    pub fn settling(&self) -> Vec<(usize, Status)> {
        self.orders
            .iter()
            .enumerate()
            .filter(|(i, o)| self.pending.contains(i) || o.status() == Status::Delivering)
            .map(|(i, o)| {
                (i, if self.rider_in_zone(o.zone) { Status::Delivered } else { Status::DeliveryFailed })
            })
            .collect()
    }
}

// ---------------------------------------------------------------------------
// The generator

/// What sequences to generate.
#[derive(Clone, Copy, Debug)]
pub struct GenConfig {
    /// The longest sequence.
    pub max_len: usize,
    /// Whether `Wait` may be generated (the model owns the clock).
    pub waits: bool,
}

fn pick() -> impl Strategy<Value = Pick> {
    prop_oneof![5 => Just(Pick(0)), 2 => Just(Pick(1)), 3 => any::<u16>().prop_map(Pick)]
}

fn who() -> impl Strategy<Value = As> {
    prop_oneof![8 => Just(As::Right), 1 => Just(As::Stranger), 1 => Just(As::WrongRole)]
}

fn quantity() -> impl Strategy<Value = i64> {
    prop_oneof![12 => 1i64..=3, 2 => 4i64..=6, 1 => Just(0i64), 1 => Just(100i64)]
}

fn lines() -> impl Strategy<Value = Vec<(u8, i64)>> {
    prop_oneof![
        1 => Just(Vec::new()),
        12 => prop::collection::vec((0..PRODUCTS, quantity()), 1..=3),
    ]
}

fn status() -> impl Strategy<Value = Option<Status>> {
    prop_oneof![1 => Just(None), 2 => prop::sample::select(Status::ALL.to_vec()).prop_map(Some)]
}

fn command(config: GenConfig) -> impl Strategy<Value = Command> {
    let wait = if config.waits {
        prop_oneof![
            Just(1u64),
            Just(60u64),
            Just(598u64),
            Just(599u64),
            Just(600u64),
            Just(601u64),
            0u64..700,
        ]
        .prop_map(|secs| Command::Wait { secs })
        .boxed()
    } else {
        Just(Command::Pump).boxed()
    };
    prop_oneof![
        2 => (who(), 0..STORES, 0..PRODUCTS, prop_oneof![9 => 1i64..20000, 1 => Just(0i64)],
              prop_oneof![3 => (0i64..=5).prop_map(Some), 2 => Just(None), 1 => Just(Some(-1i64))],
              prop_oneof![Just(IfMatch::Absent), Just(IfMatch::Current), Just(IfMatch::Stale)])
            .prop_map(|(who, store, product, price, stock, if_match)| Command::PutMenu { who, store, product, price, stock, if_match }),
        5 => (0..CUSTOMERS, 0..STORES, lines(), 0..DISTRICTS, prop::option::weighted(0.4, 0u8..2))
            .prop_map(|(customer, store, lines, district, key)| Command::Place { customer, store, lines, district, key }),
        1 => (0..STORES).prop_map(|owner| Command::PlaceAsOwner { owner }),
        2 => (pick(), any::<bool>()).prop_map(|(pick, same_body)| Command::RetryPlace { pick, same_body }),
        18 => (pick(), any::<u8>()).prop_map(|(order, choice)| Command::Next { order, choice }),
        1 => (pick(), who(), any::<bool>()).prop_map(|(order, who, owner_side)| Command::Get { order, who, owner_side }),
        1 => (0..CUSTOMERS).prop_map(|customer| Command::ListMine { customer }),
        1 => (who(), 0..STORES, status()).prop_map(|(who, store, status)| Command::ListStore { who, store, status }),
        2 => (pick(), any::<bool>(), who()).prop_map(|(order, by_owner, who)| Command::Cancel { order, by_owner, who }),
        1 => (pick(), who()).prop_map(|(order, who)| Command::Accept { order, who }),
        1 => (pick(), who(), any::<bool>()).prop_map(|(order, who, reason)| Command::Reject { order, who, reason }),
        1 => (pick(), who()).prop_map(|(order, who)| Command::RequestDelivery { order, who }),
        3 => (0..RIDERS, 0..DISTRICTS, prop::bool::weighted(0.9))
            .prop_map(|(rider, district, operator)| Command::RegisterRider { rider, district, operator }),
        1 => (pick(), who(), prop::bool::weighted(0.8)).prop_map(|(order, who, content_ok)| Command::Photo { order, who, content_ok }),
        2 => (pick(), who(), prop_oneof![Just(RefundMethod::Refund), Just(RefundMethod::Redeliver)],
              prop::bool::weighted(0.9), prop::bool::weighted(0.9))
            .prop_map(|(order, who, method, reason_ok, key_ok)| Command::RefundRequest { order, who, method, reason_ok, key_ok }),
        2 => (pick(), who(), any::<bool>(), prop::bool::weighted(0.8))
            .prop_map(|(order, who, approve, reason)| Command::Decide { order, who, approve, reason }),
        2 => wait,
        3 => Just(Command::Pump),
    ]
}

/// Sequences of 1..=`max_len` commands; proptest shrinks them by dropping
/// and simplifying commands.
pub fn commands(config: GenConfig) -> impl Strategy<Value = Vec<Command>> {
    prop::collection::vec(command(config), 1..=config.max_len)
}

// ---------------------------------------------------------------------------
// The runner

/// An order a pump should bring to `status`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settling {
    /// The order's real id.
    pub order_id: String,
    /// Its customer, to read it as.
    pub customer: u8,
    /// The status it should reach.
    pub status: Status,
}

/// Runs calls against the system under test.
#[allow(async_fn_in_trait)]
pub trait Executor {
    /// Makes `call` (`ids`: the real id of each model order so far) and
    /// returns the HTTP status and JSON body a client would get, and
    /// whether a placement was a replay, where that can be told.
    async fn call(&mut self, call: &Call, ids: &[String]) -> (u16, Value, Option<bool>);
    /// Lets the asynchronous pipeline run until nothing moves; `settling`
    /// names the orders that should end in a status, for an executor that
    /// can only wait for them.
    async fn pump(&mut self, settling: &[Settling]);
    /// `GET /orders/{id}` as its customer.
    async fn order(&mut self, id: &str, customer: u8) -> Value;
    /// `GET /stores/{store}/menu`.
    async fn menu(&mut self, store: u8) -> Value;
}

/// How [`run`] compares the executor with the model.
#[derive(Clone, Copy, Debug)]
pub struct RunConfig {
    /// Compare every order and item after every command, not only after
    /// pumps and at the end.
    pub check_every_step: bool,
    /// Pump right after every call that asked for a delivery, so only one
    /// delivery is ever in flight (over HTTP, where deliveries overlapping
    /// on one rider would make the outcome a race).
    pub settle_deliveries: bool,
    /// Whether lists must be newest first by placement order (true where
    /// every placement has its own time, over HTTP; in memory orders
    /// placed at one clock instant tie).
    pub strict_creation_order: bool,
}

/// Plays the setup and `commands` against `executor` and `model`; on the
/// first disagreement, the trace of the steps so far and what differed.
pub async fn run<E: Executor>(
    executor: &mut E,
    model: &mut Model,
    commands: &[Command],
    config: RunConfig,
) -> Result<(), String> {
    let mut runner = Runner { ids: Vec::new(), trace: String::new() };
    for call in Model::setup() {
        runner.step(executor, model, None, call, config).await?;
    }
    for (n, command) in commands.iter().enumerate() {
        let call = model.resolve(command);
        runner.step(executor, model, Some((n, command)), call, config).await?;
    }
    runner.step(executor, model, None, Call::Pump, config).await
}

struct Runner {
    /// The real id of each model order.
    ids: Vec<String>,
    trace: String,
}

impl Runner {
    fn fail(&self, what: String) -> Result<(), String> {
        Err(format!("{what}\n--- steps ---\n{}", self.trace))
    }

    async fn step<E: Executor>(
        &mut self,
        executor: &mut E,
        model: &mut Model,
        command: Option<(usize, &Command)>,
        call: Call,
        config: RunConfig,
    ) -> Result<(), String> {
        match command {
            Some((n, command)) => {
                let _ = write!(self.trace, "#{n} {command:?}\n     => {call:?}");
            }
            None => {
                let _ = write!(self.trace, "   {call:?}");
            }
        }
        if call == Call::Pump {
            let _ = writeln!(self.trace);
            return self.pump(executor, model).await;
        }
        let expected = model.apply(&call);
        let (status, body, replayed) = executor.call(&call, &self.ids).await;
        let observed = observe(&call, status, &body, replayed);
        let _ = writeln!(self.trace, "\n     -> {}", observed.outcome);
        if observed.outcome != expected.outcome {
            return self.fail(format!(
                "outcome differs: expected {}, got {}\nbody: {body}",
                expected.outcome, observed.outcome
            ));
        }
        if let Some((index, replay)) = expected.placed {
            let Some(id) = observed.order_id.clone() else {
                return self.fail(format!("a placement answered no order_id: {body}"));
            };
            if replay {
                if self.ids.get(index) != Some(&id) {
                    return self.fail(format!("a replay answered {id}, not order #{index}"));
                }
            } else if index != self.ids.len() || self.ids.contains(&id) {
                return self.fail(format!("a new placement answered {id}, already seen as {:?}", self.ids));
            } else {
                self.ids.push(id);
            }
            if let Some(seen) = observed.replayed
                && seen != replay
            {
                return self.fail(format!("replayed = {seen}, expected {replay}"));
            }
        }
        if let Some(listed) = &expected.listed {
            let got: Vec<String> = observed.listed.clone().unwrap_or_default();
            let want: BTreeSet<&String> = listed.iter().map(|i| &self.ids[*i]).collect();
            let got_set: BTreeSet<&String> = got.iter().collect();
            if want != got_set || got.len() != listed.len() {
                return self.fail(format!("list differs: expected {want:?}, got {got:?}"));
            }
            // Newest first.
            let index_of = |id: &String| self.ids.iter().position(|x| x == id).expect("listed above");
            for pair in got.windows(2) {
                let (a, b) = (index_of(&pair[0]), index_of(&pair[1]));
                let (ta, tb) = (model.orders[a].created_ms, model.orders[b].created_ms);
                if ta < tb || (config.strict_creation_order && a < b) {
                    return self.fail(format!("list not newest first: {got:?}"));
                }
            }
        }
        if config.settle_deliveries && !model.pending.is_empty() {
            let _ = writeln!(self.trace, "   (settle the delivery)");
            self.pump(executor, model).await?;
        } else if config.check_every_step {
            self.compare(executor, model).await?;
        }
        Ok(())
    }

    async fn pump<E: Executor>(&mut self, executor: &mut E, model: &mut Model) -> Result<(), String> {
        let settling: Vec<Settling> = model
            .settling()
            .into_iter()
            .map(|(i, status)| Settling {
                order_id: self.ids[i].clone(),
                customer: model.orders[i].customer,
                status,
            })
            .collect();
        model.pump();
        executor.pump(&settling).await;
        self.compare(executor, model).await
    }

    /// Every order and menu item against the model, and the invariants:
    /// version = timeline length, stock never below zero.
    async fn compare<E: Executor>(&mut self, executor: &mut E, model: &Model) -> Result<(), String> {
        for (i, order) in model.orders.iter().enumerate() {
            let body = executor.order(&self.ids[i], order.customer).await;
            let got = OrderSnap::of(&body);
            let want = order.snap(model.now_ms);
            if got.version != got.timeline.len() as u64 {
                return self.fail(format!(
                    "order #{i} version {} but {} timeline entries",
                    got.version,
                    got.timeline.len()
                ));
            }
            if got != want {
                return self.fail(format!(
                    "order #{i} ({}) differs:\n expected {want:?}\n got      {got:?}",
                    self.ids[i]
                ));
            }
        }
        for store in 0..STORES {
            let got = menu_of(&executor.menu(store).await);
            let want: BTreeMap<u8, (i64, i64, u64)> = model
                .menu
                .iter()
                .filter(|((s, _), _)| *s == store)
                .map(|((_, p), item)| (*p, (item.stock, item.price, item.version)))
                .collect();
            if got.values().any(|(stock, _, _)| *stock < 0) {
                return self.fail(format!("store {store}: stock below zero: {got:?}"));
            }
            if got != want {
                return self.fail(format!(
                    "store {store} menu (product: (stock, price, version)) differs:\n expected {want:?}\n got      {got:?}"
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    /// The generator reaches the deep states and the interesting refusals
    /// (a fixed seed: the same 128 sequences every run).
    #[test]
    fn generated_sequences_reach_every_state_and_refusal() {
        let mut runner = TestRunner::deterministic();
        let strategy = commands(GenConfig { max_len: 40, waits: true });
        let mut reached: BTreeMap<Status, usize> = BTreeMap::new();
        let mut codes: BTreeMap<String, usize> = BTreeMap::new();
        let mut replays = 0;
        for _ in 0..128 {
            let sequence = strategy.new_tree(&mut runner).unwrap().current();
            let mut m = model();
            for command in &sequence {
                let call = m.resolve(command);
                let expected = m.apply(&call);
                *codes.entry(expected.outcome.code.clone()).or_default() += 1;
                replays += usize::from(expected.placed.is_some_and(|(_, replay)| replay));
            }
            m.pump();
            for status in m.reached().into_keys() {
                *reached.entry(status).or_default() += 1;
            }
        }
        for status in Status::ALL {
            assert!(
                reached.get(&status).copied().unwrap_or(0) >= 3,
                "{status:?} rarely reached: {reached:?}"
            );
        }
        for code in [
            "FORBIDDEN",
            "NOT_FOUND",
            "VALIDATION_FAILED",
            "INVALID_STATUS",
            "INSUFFICIENT_STOCK",
            "IDEMPOTENCY_KEY_REUSED",
            "REFUND_ALREADY_REQUESTED",
            "REFUND_WINDOW_CLOSED",
            "PRECONDITION_FAILED",
        ] {
            assert!(codes.get(code).copied().unwrap_or(0) >= 3, "{code} rarely expected: {codes:?}");
        }
        assert!(replays >= 3, "{replays} idempotent replays");
    }

    fn model() -> Model {
        let mut m = Model::new(Timing { refund_window_ms: 600_000, delivery_ms: 1000, waits: true });
        for call in Model::setup() {
            m.apply(&call);
        }
        m
    }

    #[test]
    fn the_model_walks_the_happy_path_and_its_refund_window() {
        let mut m = model();
        let place = Call::Place {
            caller: Caller::Customer(0),
            key: Some(0),
            body: PlaceBody { store: 0, lines: vec![(0, 2)], district: 2 },
        };
        assert_eq!(m.apply(&place).placed, Some((0, false)));
        assert_eq!(m.menu[&(0, 0)], Item { price: 9000, stock: 3, version: 2 });
        assert_eq!(m.apply(&place).placed, Some((0, true)), "same key, same body: a replay");
        let o = Target::Order(0);
        m.apply(&Call::Accept { caller: Caller::Owner(0), order: o });
        m.apply(&Call::RegisterRider { caller: Caller::Operator, rider: 0, district: 0 });
        assert_eq!(
            m.apply(&Call::RequestDelivery { caller: Caller::Owner(0), order: o }).outcome.status,
            202
        );
        m.pump();
        assert_eq!(m.orders[0].status(), Status::Delivered);
        assert_eq!(m.orders[0].history.len(), 5);
        m.apply(&Call::Photo { caller: Caller::Customer(0), order: o, content_ok: true });
        m.apply(&Call::Wait { secs: 601 });
        let late = Call::RefundRequest {
            caller: Caller::Customer(0),
            order: o,
            method: RefundMethod::Refund,
            reason_ok: true,
            key_ok: true,
        };
        assert_eq!(m.apply(&late).outcome.code, "REFUND_WINDOW_CLOSED");
        let other = Call::Get { caller: Caller::Owner(1), order: o };
        assert_eq!(m.apply(&other).outcome.status, 404);
    }

    #[test]
    fn picks_count_from_the_newest_order() {
        let mut m = model();
        assert_eq!(m.pick(Pick(0)), Target::Unknown);
        for _ in 0..3 {
            m.apply(&Call::Place {
                caller: Caller::Customer(1),
                key: None,
                body: PlaceBody { store: 1, lines: vec![(0, 1)], district: 1 },
            });
        }
        assert_eq!(m.pick(Pick(0)), Target::Order(2));
        assert_eq!(m.pick(Pick(4)), Target::Order(1));
    }
}
