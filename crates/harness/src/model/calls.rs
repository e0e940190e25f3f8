//! Calls, as executed: a command resolved against the model's state.

use super::*;

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
