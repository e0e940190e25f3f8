//! Rule 13 and 14: who is notified of what, on which channels, in which
//! words; and the log record every notification becomes.

mod common;
use common::*;

use chrono::Duration;
use foodstream_domain::events::{EventType, LogEvent, OrderEventType};
use foodstream_domain::ids::{Recipient, StoreId, UserId};
use foodstream_domain::log::LogRetention;
use foodstream_domain::notification::{Channel, Locale, notifications_for, recipients};
use std::collections::BTreeSet;

fn has_hangul(text: &str) -> bool {
    text.chars().any(|c| ('\u{AC00}'..='\u{D7A3}').contains(&c))
}

#[test]
fn rule_13_every_status_change_is_rendered_on_both_channels_in_korean_and_english() {
    let events = order_events();
    let covered: BTreeSet<_> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(covered.len(), OrderEventType::ALL.len());
    for event in &events {
        for locale in [Locale::Ko, Locale::En] {
            let notifications = notifications_for(event, locale);
            for n in &notifications {
                assert!(!n.title.trim().is_empty() && !n.body.trim().is_empty(), "{n:?}");
                assert_eq!(n.status, event.data.status);
                assert_eq!(n.order_version, event.order_version);
                assert_eq!(has_hangul(&n.title), locale == Locale::Ko, "{locale:?}: {}", n.title);
                assert!(!n.body.contains("{"), "unrendered placeholder in {}", n.body);
            }
            let channels: BTreeSet<_> = notifications.iter().map(|n| n.channel.as_str()).collect();
            assert_eq!(channels, BTreeSet::from(["app-push", "kakao-talk"]));
        }
    }
}

#[test]
fn rule_13_kakao_talk_carries_the_order_summary_and_reasons_are_shown() {
    let events = order_events();
    let placed = &events[0];
    let kakao = notifications_for(placed, Locale::Ko)
        .into_iter()
        .find(|n| n.channel == Channel::KakaoTalk && matches!(n.recipient, Recipient::Customer(_)))
        .unwrap();
    assert!(kakao.body.contains("주문번호: o-1"), "{}", kakao.body);
    assert!(kakao.body.contains("비빔밥 외 1건"), "{}", kakao.body);
    assert!(kakao.body.contains("26,000원"), "{}", kakao.body);

    let rejected = events.iter().find(|e| e.event_type == OrderEventType::OrderRejected).unwrap();
    let push = &notifications_for(rejected, Locale::En)[0];
    assert!(push.body.contains("no rice"), "{}", push.body);
}

#[test]
fn rule_13_customer_always_and_store_for_new_order_cancellation_and_refund_request() {
    for event in order_events() {
        let to = recipients(&event);
        assert_eq!(to[0], Recipient::Customer(UserId::new("cust-1")));
        let store_hears = matches!(
            event.event_type,
            OrderEventType::OrderPlaced
                | OrderEventType::OrderCancelled
                | OrderEventType::OrderRefundRequested
        );
        assert_eq!(
            to.contains(&Recipient::Store(StoreId::new("store-1"))),
            store_hears,
            "{:?}",
            event.event_type
        );
        assert_eq!(notifications_for(&event, Locale::Ko).len(), to.len() * 2);
    }
}

#[test]
fn rule_13_notification_ids_are_deterministic_so_replays_store_nothing_new() {
    let event = &order_events()[0];
    let first: Vec<_> = notifications_for(event, Locale::Ko).into_iter().map(|n| n.notification_id).collect();
    let again: Vec<_> = notifications_for(event, Locale::Ko).into_iter().map(|n| n.notification_id).collect();
    assert_eq!(first, again);
    assert_eq!(first.iter().collect::<BTreeSet<_>>().len(), first.len());
    assert_eq!(first[0].as_str(), "o-1.v1.customer.app-push");
}

#[test]
fn rule_14_every_notification_becomes_a_log_record_with_a_ttl() {
    let event = &order_events()[0];
    let retention = LogRetention::from_days(7);
    for n in notifications_for(event, Locale::Ko) {
        let log = LogEvent::of_notification(&n, &event.store_id, "notifier");
        assert_eq!(log.topic(), "log-events");
        assert_eq!(log.key(), n.recipient.id());
        let record = retention.record(&log);
        assert_eq!(record.log_id.as_str(), format!("log:{}", n.notification_id));
        assert_eq!(record.service, "notifier");
        assert_eq!(record.user_id, n.recipient.id());
        assert_eq!(record.order_id, event.order_id);
        assert!(record.message.contains(n.channel.as_str()));
        assert_eq!(record.expires_at - record.created_at, Duration::days(7));
    }
}
