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
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> ListView<T> {
    pub fn of<S>(page: Page<S>, view: impl Fn(S) -> T) -> ListView<T> {
        ListView { items: page.items.into_iter().map(view).collect(), next_cursor: page.next_cursor }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MenuItemView {
    pub product_id: String,
    pub name: String,
    pub price: Won,
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderItemView {
    pub product_id: String,
    pub name: String,
    pub price: Won,
    pub quantity: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundView {
    pub method: RefundMethod,
    pub reason: String,
    pub photo_key: String,
    pub status: RefundStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderView {
    pub order_id: String,
    pub store_id: String,
    pub customer_id: String,
    pub status: OrderStatus,
    pub items: Vec<OrderItemView>,
    pub total: Won,
    pub address: Address,
    pub version: u64,
    pub timeline: Vec<TimelineEntry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rider_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_at: Option<Timestamp>,
    /// While a refund can be asked for: until when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_deadline: Option<Timestamp>,
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationView {
    pub notification_id: String,
    pub order_id: String,
    pub status: OrderStatus,
    pub channel: String,
    pub title: String,
    pub body: String,
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogRecordView {
    pub log_id: String,
    pub service: String,
    pub user_id: String,
    pub order_id: String,
    pub message: String,
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiderView {
    pub rider_id: String,
    pub zone: String,
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
    pub upload_url: String,
    pub photo_key: String,
    pub expires_at: Timestamp,
    /// The presigned POST's form fields, sent with the file (last) to
    /// `upload_url` as `multipart/form-data`.
    pub fields: std::collections::BTreeMap<String, String>,
}

impl PhotoUploadView {
    pub fn of(key: String, upload: PresignedUpload) -> Self {
        PhotoUploadView {
            upload_url: upload.url,
            photo_key: key,
            expires_at: upload.expires_at,
            fields: upload.fields,
        }
    }
}
