//! Commands, as generated (and shrunk): what a sequence is made of.

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
        /// The store (modulo [`STORES`](super::STORES)).
        store: u8,
        /// The product (modulo [`PRODUCTS`](super::PRODUCTS)).
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
        /// The customer (modulo [`CUSTOMERS`](super::CUSTOMERS)).
        customer: u8,
        /// The store (modulo [`STORES`](super::STORES)).
        store: u8,
        /// `(product, quantity)` per line.
        lines: Vec<(u8, i64)>,
        /// The address' district (modulo [`DISTRICTS`](super::DISTRICTS)).
        district: u8,
        /// The Idempotency-Key, if any.
        key: Option<u8>,
    },
    /// An owner tries to order: 403.
    PlaceAsOwner {
        /// The owner (modulo [`STORES`](super::STORES)).
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
        /// The customer (modulo [`CUSTOMERS`](super::CUSTOMERS)).
        customer: u8,
    },
    /// An owner lists a store's orders: `GET /stores/{storeId}/orders`.
    ListStore {
        /// Who, relative to the store.
        who: As,
        /// The store (modulo [`STORES`](super::STORES)).
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
        /// The rider (modulo [`RIDERS`](super::RIDERS)).
        rider: u8,
        /// The district (modulo [`DISTRICTS`](super::DISTRICTS)).
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
