//! Outcomes: what a client sees of a call, and what the model expects.

use super::*;

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
    pub(super) fn forbidden() -> Outcome {
        Outcome::err(403, "FORBIDDEN", "")
    }
    pub(super) fn not_found() -> Outcome {
        Outcome::err(404, "NOT_FOUND", "")
    }
    pub(super) fn invalid(field: &str) -> Outcome {
        Outcome::err(400, "VALIDATION_FAILED", field)
    }
    pub(super) fn invalid_status(current: Status) -> Outcome {
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

pub(super) fn menu_detail(stock: Option<i64>, price: Option<i64>, version: Option<u64>) -> String {
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
