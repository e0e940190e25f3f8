//! What the customer (and, where it concerns them, the store) is told about
//! every status change, rendered per channel. Notifications are stored and
//! listed, never really sent.

use crate::Timestamp;
use crate::events::{Envelope, LogEvent, LogEventData, LogEventType, OrderEvent, OrderEventType};
use crate::ids::{EventId, NotificationId, OrderId, Recipient, StoreId, UserId};
use crate::values::OrderStatus;
use serde::{Deserialize, Serialize};

// Declared below the events, which carry it on the log topic; still
// reachable here, where it was first declared.
pub use crate::values::Channel;

/// The language notifications are rendered in. The product speaks Korean;
/// English is there for operators and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Locale {
    /// Korean, the product's language.
    #[default]
    Ko,
    /// English.
    En,
}

impl Locale {
    /// The locale of a setting value (`"ko"`, `"en"`); `None` for anything
    /// else.
    pub fn parse(value: &str) -> Option<Locale> {
        match value {
            "ko" => Some(Locale::Ko),
            "en" => Some(Locale::En),
            _ => None,
        }
    }
}

/// One rendered notification, as stored and listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    /// Derived from the order version, recipient side and channel, so the same
    /// event handled twice gives the same id.
    pub notification_id: NotificationId,
    /// Who it is for.
    pub recipient: Recipient,
    /// The order it is about.
    pub order_id: OrderId,
    /// The order version whose change it tells of.
    pub order_version: u64,
    /// The order's status after that change.
    pub status: OrderStatus,
    /// The channel it is rendered for.
    pub channel: Channel,
    /// The title line.
    pub title: String,
    /// The message.
    pub body: String,
    /// When the change happened (the event's `occurred_at`).
    pub created_at: Timestamp,
}

/// Who hears of an event: the customer always; the store for a new order, a
/// cancellation and a refund request.
pub fn recipients(event: &OrderEvent) -> Vec<Recipient> {
    let mut to = vec![Recipient::Customer(event.user_id.clone())];
    if matches!(
        event.event_type,
        OrderEventType::OrderPlaced | OrderEventType::OrderCancelled | OrderEventType::OrderRefundRequested
    ) {
        to.push(Recipient::Store(event.store_id.clone()));
    }
    to
}

/// Every notification an order event produces: each recipient on each
/// channel. Ids derive from the order version, recipient and channel, so the
/// same event handled twice produces the same notifications.
pub fn notifications_for(event: &OrderEvent, locale: Locale) -> Vec<Notification> {
    let mut out = Vec::new();
    for recipient in recipients(event) {
        for channel in Channel::ALL {
            let (title, body) = render(event, &recipient, channel, locale);
            let side = match recipient {
                Recipient::Customer(_) => "customer",
                Recipient::Store(_) => "store",
            };
            out.push(Notification {
                notification_id: NotificationId::new(format!(
                    "{}.v{}.{side}.{}",
                    event.order_id,
                    event.order_version,
                    channel.as_str()
                )),
                recipient: recipient.clone(),
                order_id: event.order_id.clone(),
                order_version: event.order_version,
                status: event.data.status,
                channel,
                title,
                body,
                created_at: event.occurred_at,
            });
        }
    }
    out
}

/// The title and body of one notification.
pub fn render(
    event: &OrderEvent,
    recipient: &Recipient,
    channel: Channel,
    locale: Locale,
) -> (String, String) {
    let to_store = matches!(recipient, Recipient::Store(_));
    let (title, line) = message(event, to_store, locale);
    match channel {
        // A push is one short line under the title.
        Channel::AppPush => (title, line),
        // A KakaoTalk message is an alert-talk style card: branded title,
        // the message, then the order summary.
        Channel::KakaoTalk => {
            let data = &event.data;
            let first = data.items.first().map(|i| i.name.as_str()).unwrap_or("");
            let more = data.items.len().saturating_sub(1);
            let summary = match (locale, more) {
                (Locale::Ko, 0) => first.to_owned(),
                (Locale::Ko, n) => format!("{first} 외 {n}건"),
                (Locale::En, 0) => first.to_owned(),
                (Locale::En, n) => format!("{first} and {n} more"),
            };
            let body = match locale {
                Locale::Ko => format!(
                    "{line}\n\n주문번호: {}\n메뉴: {summary}\n결제금액: {}원",
                    event.order_id,
                    won(data.total)
                ),
                Locale::En => format!(
                    "{line}\n\nOrder: {}\nItems: {summary}\nTotal: KRW {}",
                    event.order_id,
                    won(data.total)
                ),
            };
            (format!("[foodstream] {title}"), body)
        }
    }
}

fn message(event: &OrderEvent, to_store: bool, locale: Locale) -> (String, String) {
    use OrderEventType as T;
    let reason = event.data.reason.clone().unwrap_or_default();
    let rider = event.data.rider_id.as_ref().map(|r| r.to_string()).unwrap_or_default();
    let (ko, en): ((&str, String), (&str, String)) = match (event.event_type, to_store) {
        (T::OrderPlaced, false) => (
            ("주문 완료", "주문이 접수되었습니다. 가게에서 곧 확인합니다.".into()),
            ("Order placed", "Your order is paid and waiting for the store.".into()),
        ),
        (T::OrderPlaced, true) => (
            ("새 주문", "새 주문이 들어왔습니다. 수락 또는 거절해 주세요.".into()),
            ("New order", "A new order arrived: accept or reject it.".into()),
        ),
        (T::OrderAccepted, _) => (
            ("주문 수락", "가게에서 주문을 수락했습니다. 조리를 시작합니다.".into()),
            ("Order accepted", "The store accepted your order and is cooking.".into()),
        ),
        (T::OrderRejected, _) => (
            ("주문 거절", format!("가게에서 주문을 거절했습니다. 사유: {reason}. 결제가 취소됩니다.")),
            (
                "Order rejected",
                format!("The store rejected your order: {reason}. Your payment is cancelled."),
            ),
        ),
        (T::OrderCancelled, false) => (
            ("주문 취소", "주문이 취소되었습니다. 결제가 취소됩니다.".into()),
            ("Order cancelled", "Your order was cancelled and your payment is cancelled.".into()),
        ),
        (T::OrderCancelled, true) => (
            ("주문 취소", "주문이 취소되었습니다.".into()),
            ("Order cancelled", "An order was cancelled.".into()),
        ),
        (T::OrderDeliveryRequested, _) if event.data.redelivery => (
            ("재배달 요청", "환불 요청이 승인되어 다시 배달합니다. 라이더를 찾고 있습니다.".into()),
            ("Redelivery requested", "Your refund request was approved: we are delivering again.".into()),
        ),
        (T::OrderDeliveryRequested, _) => (
            ("배달 요청", "라이더를 찾고 있습니다.".into()),
            ("Delivery requested", "We are looking for a rider.".into()),
        ),
        (T::OrderOutForDelivery, _) => (
            ("배달 시작", format!("라이더 {rider}님이 배달을 시작했습니다.")),
            ("Out for delivery", format!("Rider {rider} is on the way.")),
        ),
        (T::OrderDeliveryFailed, _) => (
            ("배달 실패", format!("배달할 라이더를 찾지 못했습니다 ({reason}).")),
            ("Delivery failed", format!("No rider could take your order ({reason}).")),
        ),
        (T::OrderDelivered, _) => (
            ("배달 완료", "주문하신 음식이 도착했습니다. 맛있게 드세요!".into()),
            ("Delivered", "Your food has arrived. Enjoy!".into()),
        ),
        (T::OrderRefundRequested, false) => (
            ("환불 요청 접수", "환불 요청이 접수되었습니다. 가게에서 확인합니다.".into()),
            ("Refund requested", "Your refund request was received.".into()),
        ),
        (T::OrderRefundRequested, true) => (
            ("환불 요청", format!("고객이 환불을 요청했습니다. 사유: {reason}")),
            ("Refund request", format!("A customer asked for a refund: {reason}")),
        ),
        (T::OrderRefunded, _) => (
            ("환불 완료", "환불 요청이 승인되어 결제가 환불됩니다.".into()),
            ("Refunded", "Your refund was approved and your payment is refunded.".into()),
        ),
        (T::OrderRefundRejected, _) => (
            ("환불 거절", format!("환불 요청이 거절되었습니다. 사유: {reason}")),
            ("Refund rejected", format!("Your refund request was rejected: {reason}")),
        ),
    };
    match locale {
        Locale::Ko => (ko.0.to_owned(), ko.1),
        Locale::En => (en.0.to_owned(), en.1),
    }
}

impl LogEvent {
    /// The log event of a produced notification; `service` names the
    /// producer.
    pub fn of_notification(notification: &Notification, store_id: &StoreId, service: &str) -> LogEvent {
        let recipient = notification.recipient.id().to_owned();
        Envelope {
            event_id: EventId::new(format!("log:{}", notification.notification_id)),
            event_type: LogEventType::NotificationProduced,
            occurred_at: notification.created_at,
            order_id: notification.order_id.clone(),
            user_id: UserId::new(recipient.clone()),
            store_id: store_id.clone(),
            order_version: notification.order_version,
            data: LogEventData {
                user_id: recipient,
                service: service.to_owned(),
                message: format!(
                    "{} notification for order {} ({}): {}",
                    notification.channel.as_str(),
                    notification.order_id,
                    notification.status,
                    notification.title
                ),
                notification_id: notification.notification_id.clone(),
                channel: notification.channel,
            },
        }
    }
}

/// 12000 -> "12,000"; every i64, `i64::MIN` included.
fn won(amount: i64) -> String {
    let digits = amount.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if amount < 0 { format!("-{out}") } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn won_groups_thousands() {
        assert_eq!(won(0), "0");
        assert_eq!(won(900), "900");
        assert_eq!(won(12000), "12,000");
        assert_eq!(won(1234567), "1,234,567");
    }

    #[test]
    fn won_renders_every_amount_to_the_edges_of_its_type() {
        assert_eq!(won(-1200), "-1,200");
        assert_eq!(won(i64::MAX), "9,223,372,036,854,775,807");
        assert_eq!(won(i64::MIN), "-9,223,372,036,854,775,808");
    }
}
