//! The wire format of SPEC section 3: what clients see, separate from what
//! is stored, so storage can change without breaking clients.

use foodstream_domain::catalog::MenuItem;
use foodstream_domain::delivery::{Rider, RiderStatus};
use foodstream_domain::log::LogRecord;
use foodstream_domain::notification::Notification;
use foodstream_domain::order::{Address, Order, OrderStatus, TimelineEntry};
use foodstream_domain::ports::{Page, PresignedUpload};
use foodstream_domain::refund::{RefundMethod, RefundStatus};
use foodstream_domain::{Timestamp, Won};
use serde::{Deserialize, Serialize};

/// `{items, next_cursor}`; `next_cursor` is null on the last page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListView<T> {
    /// This page's items.
    pub items: Vec<T>,
    /// Where the next page starts; `None` on the last page.
    pub next_cursor: Option<String>,
}

impl<T> ListView<T> {
    /// A page of stored items as their views, with the page's cursor.
    pub fn of<S>(page: Page<S>, view: impl Fn(S) -> T) -> ListView<T> {
        ListView { items: page.items.into_iter().map(view).collect(), next_cursor: page.next_cursor }
    }
}

/// A menu item, as clients see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MenuItemView {
    /// The product, within its store.
    pub product_id: String,
    /// Its name on the menu.
    pub name: String,
    /// Its unit price.
    pub price: Won,
    /// How many are left to order.
    pub stock: i64,
    /// For `If-Match` on the next edit (also the `ETag` of a PUT).
    pub version: u64,
}

impl From<MenuItem> for MenuItemView {
    fn from(item: MenuItem) -> Self {
        MenuItemView {
            product_id: item.product_id.into(),
            name: item.name,
            price: item.price,
            stock: item.stock,
            version: item.version,
        }
    }
}

/// One line of an order, priced when the order was placed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderItemView {
    /// The product, as on the menu.
    pub product_id: String,
    /// The product's name when the order was placed.
    pub name: String,
    /// The unit price when the order was placed.
    pub price: Won,
    /// How many.
    pub quantity: i64,
}

/// An order's refund request, as clients see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundView {
    /// The remedy asked for.
    pub method: RefundMethod,
    /// Why the customer asks.
    pub reason: String,
    /// The key of the photo checked for the request (its pinned copy).
    pub photo_key: String,
    /// Requested, approved or rejected.
    pub status: RefundStatus,
    /// The store's note on approval, or its reason on rejection; absent
    /// when there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_reason: Option<String>,
}

/// An order, as its customer and its store's owner see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderView {
    /// The order's id.
    pub order_id: String,
    /// The store it was placed with.
    pub store_id: String,
    /// The customer who placed it.
    pub customer_id: String,
    /// Where it stands.
    pub status: OrderStatus,
    /// The priced lines, as placed.
    pub items: Vec<OrderItemView>,
    /// The sum of every line's price times quantity.
    pub total: Won,
    /// Where it is delivered.
    pub address: Address,
    /// Grows by one on every change.
    pub version: u64,
    /// Every status it entered, oldest first.
    pub timeline: Vec<TimelineEntry>,
    /// The rider on it (or who delivered it); absent when there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rider_id: Option<String>,
    /// When the food arrived; absent before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_at: Option<Timestamp>,
    /// While a refund can be asked for: until when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_deadline: Option<Timestamp>,
    /// The refund request, once one was filed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund: Option<RefundView>,
}

impl OrderView {
    /// The order as a client sees it at `now`: `refund_deadline` only while
    /// a refund can still be asked for.
    pub fn at(order: Order, now: Timestamp) -> Self {
        let refund_deadline = order.open_refund_deadline(now);
        OrderView {
            order_id: order.order_id.into(),
            store_id: order.store_id.into(),
            customer_id: order.customer_id.into(),
            status: order.status,
            items: order
                .items
                .into_iter()
                .map(|l| OrderItemView {
                    product_id: l.product_id.into(),
                    name: l.name,
                    price: l.price,
                    quantity: l.quantity,
                })
                .collect(),
            total: order.total,
            address: order.address,
            version: order.version,
            timeline: order.timeline,
            rider_id: order.rider_id.map(Into::into),
            delivered_at: order.delivered_at,
            refund_deadline,
            refund: order.refund.map(|r| RefundView {
                method: r.method,
                reason: r.reason,
                photo_key: r.photo_key,
                status: r.status,
                decision_reason: r.decision_reason,
            }),
        }
    }
}

/// A notification, as its recipient sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationView {
    /// Its id: the same however often its event was handled.
    pub notification_id: String,
    /// The order it is about.
    pub order_id: String,
    /// The order's status after the change it tells of.
    pub status: OrderStatus,
    /// The channel it is written for (`app-push`, `kakao-talk`).
    pub channel: String,
    /// The title line.
    pub title: String,
    /// The message.
    pub body: String,
    /// When the change happened.
    pub created_at: Timestamp,
}

impl From<Notification> for NotificationView {
    fn from(n: Notification) -> Self {
        NotificationView {
            notification_id: n.notification_id.into(),
            order_id: n.order_id.into(),
            status: n.status,
            channel: n.channel.as_str().to_owned(),
            title: n.title,
            body: n.body,
            created_at: n.created_at,
        }
    }
}

/// A collected log record, as operators see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogRecordView {
    /// The id of the log event it came from.
    pub log_id: String,
    /// The service that produced it (`notifier`).
    pub service: String,
    /// Who the notification was for: a user id, or a store id.
    pub user_id: String,
    /// The order it is about.
    pub order_id: String,
    /// The log line.
    pub message: String,
    /// When the notification was produced.
    pub created_at: Timestamp,
}

impl From<LogRecord> for LogRecordView {
    fn from(r: LogRecord) -> Self {
        LogRecordView {
            log_id: r.log_id.into(),
            service: r.service,
            user_id: r.user_id,
            order_id: r.order_id.into(),
            message: r.message,
            created_at: r.created_at,
        }
    }
}

/// A rider, as operators see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiderView {
    /// The rider's id.
    pub rider_id: String,
    /// The one zone the rider serves.
    pub zone: String,
    /// Free or on a delivery.
    pub status: RiderStatus,
}

impl From<Rider> for RiderView {
    fn from(r: Rider) -> Self {
        RiderView { rider_id: r.rider_id.into(), zone: r.zone.as_str().to_owned(), status: r.status }
    }
}

/// The answer of `POST /orders/{id}/refund-photos`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhotoUploadView {
    /// Where to POST the photo.
    pub upload_url: String,
    /// The key to name in the refund request.
    pub photo_key: String,
    /// When the presigned POST stops being accepted.
    pub expires_at: Timestamp,
    /// The presigned POST's form fields, sent with the file (last) to
    /// `upload_url` as `multipart/form-data`.
    pub fields: std::collections::BTreeMap<String, String>,
}

impl PhotoUploadView {
    /// The answer for the photo at `key`, from its presigned upload.
    pub fn of(key: String, upload: PresignedUpload) -> Self {
        PhotoUploadView {
            upload_url: upload.url,
            photo_key: key,
            expires_at: upload.expires_at,
            fields: upload.fields,
        }
    }
}
