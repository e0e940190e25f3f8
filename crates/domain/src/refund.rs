//! Refund requests: one per order, filed within a window after delivery,
//! with a photo the customer uploaded, a reason and the remedy they want.

use crate::Timestamp;
use crate::ids::OrderId;
use crate::validation::{MAX_REASON_CHARS, ValidationErrors, check_multiline};
use chrono::Duration;
use serde::{Deserialize, Serialize};

/// The remedy a customer asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RefundMethod {
    /// Cook and deliver the order again.
    Redeliver,
    /// Give the money back.
    Refund,
}

impl RefundMethod {
    /// The method of a request value (`"REDELIVER"`, `"REFUND"`); `None` for
    /// anything else.
    pub fn parse(value: &str) -> Option<RefundMethod> {
        match value {
            "REDELIVER" => Some(RefundMethod::Redeliver),
            "REFUND" => Some(RefundMethod::Refund),
            _ => None,
        }
    }
}

/// Where a refund request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RefundStatus {
    /// Filed; the store has not decided.
    Requested,
    /// Approved: refunded, or sent for redelivery.
    Approved,
    /// Turned down; the order is back at DELIVERED.
    Rejected,
}

/// The refund request of an order, and its decision once made.
///
/// A refund's lifecycle: filed within the window with the order's photo,
/// then approved (a refund, or a redelivery) or rejected; one per order.
///
/// ```rust
/// # use foodstream_domain::Timestamp;
/// # use foodstream_domain::catalog::MenuItem;
/// # use foodstream_domain::order::{Address, LineInput, Order, PlaceOrderInput};
/// # use foodstream_domain::sequencing::{DeliveryPosition, DeliveryStage};
/// # use std::collections::HashMap;
/// # let t = |s: u32| -> Timestamp {
/// #     format!("2026-11-25T12:{:02}:{:02}Z", s / 60, s % 60).parse().unwrap()
/// # };
/// # let item = MenuItem {
/// #     store_id: "store-1".into(),
/// #     product_id: "bibimbap".into(),
/// #     name: "비빔밥".into(),
/// #     price: 9000,
/// #     stock: 10,
/// #     version: 1,
/// # };
/// # let menu = HashMap::from([(item.product_id.clone(), item)]);
/// # let request = PlaceOrderInput {
/// #     store_id: "store-1".into(),
/// #     items: vec![LineInput { product_id: "bibimbap".into(), quantity: 1 }],
/// #     address: Address {
/// #         street: "1 Teheran-ro".into(),
/// #         district: "Gangnam-gu".into(),
/// #         city: "Seoul".into(),
/// #     },
/// # }
/// # .validate()
/// # .unwrap();
/// # let (lines, _) = request.price(&menu).unwrap();
/// # let order = Order::place("o-1".into(), "cust-1".into(), &request, lines, t(0)).order;
/// # let order = order.accept(t(1)).unwrap().order.request_delivery(t(2)).unwrap().order;
/// # let position = |stage| DeliveryPosition { request_version: order.version, stage };
/// # let assigned = position(DeliveryStage::Assigned);
/// # let order = order.rider_assigned(assigned, "r-1".into(), t(3)).unwrap().order;
/// use foodstream_domain::order::{OrderError, OrderStatus};
/// use foodstream_domain::refund::{PhotoUpload, RefundPolicy, RefundRequestInput, RefundStatus};
///
/// // Delivered at t(10): the 10-minute window runs until t(610).
/// let policy = RefundPolicy::default();
/// let finished = position(DeliveryStage::Finished);
/// let order = order.delivered(finished, "r-1".into(), t(10), t(10), &policy).unwrap().order;
/// assert_eq!(order.status, OrderStatus::Delivered);
///
/// // The customer uploads a photo to the order's one key, then files the request.
/// let upload = PhotoUpload::for_order(&order.order_id, "image/jpeg").unwrap();
/// let input = |method: &str| RefundRequestInput {
///     photo_key: upload.key.clone(),
///     reason: "국이 식어서 왔어요".into(),
///     method: method.into(),
/// };
/// let request = input("REDELIVER").validate(&order.order_id).unwrap();
/// let late = order.request_refund(request.clone(), &policy, t(611));
/// assert!(matches!(late, Err(OrderError::RefundWindowClosed { .. })));
/// let requested = order.request_refund(request, &policy, t(60)).unwrap().order;
/// assert_eq!(requested.status, OrderStatus::RefundRequested);
/// assert_eq!(requested.refund.as_ref().unwrap().status, RefundStatus::Requested);
///
/// // Approved: a REDELIVER request sends the order out again.
/// let approved = requested.approve_refund(Some("다시 보내드릴게요"), t(120)).unwrap().order;
/// assert_eq!(approved.refund.as_ref().unwrap().status, RefundStatus::Approved);
/// assert_eq!(approved.status, OrderStatus::DeliveryRequested);
///
/// // Rejected: the order is DELIVERED again, and keeps its one request.
/// let rejected = requested.reject_refund("사진의 음식이 다른 가게 것입니다", t(120)).unwrap().order;
/// assert_eq!(rejected.refund.as_ref().unwrap().status, RefundStatus::Rejected);
/// assert_eq!(rejected.status, OrderStatus::Delivered);
/// let again = input("REFUND").validate(&order.order_id).unwrap();
/// let refused = rejected.request_refund(again, &policy, t(130));
/// assert_eq!(refused, Err(OrderError::RefundAlreadyRequested));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    /// The remedy asked for.
    pub method: RefundMethod,
    /// Why the customer asks (trimmed).
    pub reason: String,
    /// The photo's key: the use case files the pinned copy (see
    /// [`pinned_photo_key`]), which no later upload can replace.
    pub photo_key: String,
    /// Requested, approved or rejected.
    pub status: RefundStatus,
    /// The store's note on approval, or its reason on rejection.
    pub decision_reason: Option<String>,
    /// When the request was filed.
    pub requested_at: Timestamp,
    /// When the store decided.
    pub decided_at: Option<Timestamp>,
}

/// How long after delivery a refund may be requested.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefundPolicy {
    /// How long after delivery (as recorded) a refund may be asked for.
    pub window: Duration,
}

impl Default for RefundPolicy {
    fn default() -> Self {
        Self { window: Duration::seconds(600) }
    }
}

impl RefundPolicy {
    /// Seconds beyond what a duration holds are held at its longest.
    pub fn from_seconds(seconds: i64) -> Self {
        let longest = if seconds < 0 { Duration::MIN } else { Duration::MAX };
        Self { window: Duration::try_seconds(seconds).unwrap_or(longest) }
    }

    /// The last moment (inclusive) a refund may be asked for when the
    /// window opened at `opened_at`: held at the last (or first) instant a
    /// timestamp holds rather than overflowing (decoding keeps delivery
    /// times far from it, see `events::bounds`).
    pub fn deadline(&self, opened_at: Timestamp) -> Timestamp {
        let edge = if self.window < Duration::zero() { Timestamp::MIN_UTC } else { Timestamp::MAX_UTC };
        opened_at.checked_add_signed(self.window).unwrap_or(edge)
    }
}

/// The body of `POST /orders/{id}/refund-request` before validation.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RefundRequestInput {
    /// The key handed out for this order's photo upload.
    pub photo_key: String,
    /// Why the customer asks.
    pub reason: String,
    /// `REDELIVER` or `REFUND`.
    pub method: String,
}

/// A refund request whose fields are valid; the order decides whether one
/// may be filed now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidRefundRequest {
    /// The order's photo key (the use case pins the checked upload before the
    /// request is filed).
    pub photo_key: String,
    /// The trimmed reason.
    pub reason: String,
    /// The remedy asked for.
    pub method: RefundMethod,
}

impl RefundRequestInput {
    /// Checks the fields; the photo must be one uploaded for this order.
    pub fn validate(self, order_id: &OrderId) -> Result<ValidRefundRequest, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        if !PhotoUpload::belongs_to(&self.photo_key, order_id) {
            errors.add("photo_key", "must be a key handed out by this order's refund-photos endpoint");
        }
        check_multiline(&mut errors, "reason", &self.reason, MAX_REASON_CHARS);
        let method = RefundMethod::parse(&self.method);
        if method.is_none() {
            errors.add("method", "must be REDELIVER or REFUND");
        }
        let Some(method) = method.filter(|_| errors.is_empty()) else {
            return Err(errors);
        };
        Ok(ValidRefundRequest { photo_key: self.photo_key, reason: self.reason.trim().to_owned(), method })
    }
}

/// The body of `POST /orders/{id}/refund-request/decision`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RefundDecisionInput {
    /// True to approve, false to reject.
    pub approve: bool,
    /// Required to reject; an optional note when approving.
    #[serde(default)]
    pub reason: Option<String>,
}

/// Where and how refund photos are uploaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotoUpload {
    /// The object key the photo is uploaded to.
    pub key: String,
    /// `image/jpeg` or `image/png`.
    pub content_type: String,
    /// The largest upload allowed.
    pub max_bytes: u64,
    /// How long the upload form stays valid.
    pub expires_in: Duration,
}

impl PhotoUpload {
    /// The folder every refund photo is uploaded under.
    pub const KEY_PREFIX: &'static str = "refund-photos";
    /// The largest photo accepted: 5 MiB.
    pub const MAX_BYTES: u64 = 5 * 1024 * 1024;
    /// How long an upload form stays valid: 5 minutes.
    pub const EXPIRES_IN_SECONDS: i64 = 300;

    /// The upload slot for the photo of `order_id`: one key per order (a
    /// second upload replaces the first; asking again never multiplies
    /// objects). Only JPEG and PNG are accepted.
    pub fn for_order(order_id: &OrderId, content_type: &str) -> Result<PhotoUpload, ValidationErrors> {
        if !matches!(content_type, "image/jpeg" | "image/png") {
            return Err(ValidationErrors::single("content_type", "must be image/jpeg or image/png"));
        }
        Ok(PhotoUpload {
            key: Self::key_of(order_id),
            content_type: content_type.to_owned(),
            max_bytes: Self::MAX_BYTES,
            expires_in: Duration::seconds(Self::EXPIRES_IN_SECONDS),
        })
    }

    /// The one photo key of `order_id`.
    pub fn key_of(order_id: &OrderId) -> String {
        format!("{}/{order_id}/photo", Self::KEY_PREFIX)
    }

    /// True when `key` is the key handed out for `order_id`.
    pub fn belongs_to(key: &str, order_id: &OrderId) -> bool {
        key == Self::key_of(order_id)
    }
}

/// Where a checked upload is pinned: beside the order's upload key, named
/// by the upload's entity tag (quotes dropped), under `pinned/`, which no
/// presigned upload policy names. `None` for an entity tag that is not
/// 1..=64 letters, digits and `-` (S3's are hex, with `-N` for multipart
/// uploads), so a key is never built from anything else.
pub fn pinned_photo_key(key: &str, etag: &str) -> Option<String> {
    let tag = etag.trim_matches('"');
    let usable =
        !tag.is_empty() && tag.len() <= 64 && tag.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    let (folder, _) = key.rsplit_once('/')?;
    usable.then(|| format!("{folder}/pinned/{tag}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(seconds: i64) -> Timestamp {
        chrono::Utc.timestamp_opt(1_700_000_000 + seconds, 0).unwrap()
    }

    #[test]
    fn rule_11_the_window_closes_its_length_after_it_opened() {
        assert_eq!(RefundPolicy::default().deadline(t(0)), t(600));
        assert_eq!(RefundPolicy::from_seconds(5).deadline(t(10)), t(15));
    }

    #[test]
    fn rule_11_a_window_opened_at_the_edge_of_time_closes_there_instead_of_panicking() {
        assert_eq!(RefundPolicy::default().deadline(Timestamp::MAX_UTC), Timestamp::MAX_UTC);
        let last_day: Timestamp = "+262142-12-31T23:59:00Z".parse().unwrap();
        assert_eq!(RefundPolicy::default().deadline(last_day), Timestamp::MAX_UTC);
        assert_eq!(RefundPolicy::from_seconds(-600).deadline(Timestamp::MIN_UTC), Timestamp::MIN_UTC);
        assert_eq!(RefundPolicy::from_seconds(i64::MAX).deadline(t(0)), Timestamp::MAX_UTC);
        assert_eq!(RefundPolicy::from_seconds(i64::MIN).deadline(t(0)), Timestamp::MIN_UTC);
    }

    #[test]
    fn rule_11_photo_keys_are_scoped_to_their_order() {
        let upload = PhotoUpload::for_order(&"o1".into(), "image/png").unwrap();
        assert_eq!(upload.key, "refund-photos/o1/photo");
        assert_eq!(
            PhotoUpload::for_order(&"o1".into(), "image/jpeg").unwrap().key,
            upload.key,
            "one key per order"
        );
        assert!(PhotoUpload::belongs_to(&upload.key, &"o1".into()));
        assert!(!PhotoUpload::belongs_to(&upload.key, &"o2".into()));
        assert!(!PhotoUpload::belongs_to("refund-photos/o1/../o2/photo", &"o1".into()));
        assert!(PhotoUpload::for_order(&"o1".into(), "image/gif").is_err());
    }

    #[test]
    fn rule_11_a_pinned_photo_has_a_key_of_its_own_per_upload() {
        let key = PhotoUpload::key_of(&"o1".into());
        let pinned = pinned_photo_key(&key, "\"9b2cf535f27731c974343645a3985328\"").unwrap();
        assert_eq!(pinned, "refund-photos/o1/pinned/9b2cf535f27731c974343645a3985328");
        assert!(!PhotoUpload::belongs_to(&pinned, &"o1".into()), "no upload is ever handed this key");
        assert_ne!(pinned_photo_key(&key, "\"other\""), Some(pinned));
        assert_eq!(pinned_photo_key(&key, "a-2").as_deref(), Some("refund-photos/o1/pinned/a-2"));
        for hostile in ["", "\"\"", "../x", "a/b", "a b", &"f".repeat(65)] {
            assert_eq!(pinned_photo_key(&key, hostile), None, "{hostile:?}");
        }
    }

    #[test]
    fn rule_11_refund_request_fields_are_validated() {
        let errors = RefundRequestInput {
            photo_key: "elsewhere/x.png".into(),
            reason: "x".repeat(1001),
            method: "MONEY".into(),
        }
        .validate(&"o1".into())
        .unwrap_err();
        let fields: Vec<&str> = errors.fields().iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["photo_key", "reason", "method"]);
    }
}
