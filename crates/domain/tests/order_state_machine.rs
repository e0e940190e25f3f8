//! The order state machine, exhaustively: every (status, action) pair is
//! either an allowed transition with its event or an error naming the
//! current status. Test names carry the SPEC section 2 rule they prove.

use chrono::Duration;
use foodstream_domain::delivery::DeliveryFailureReason;
use foodstream_domain::events::OrderEventType;
use foodstream_domain::ids::{OrderId, RiderId, UserId};
use foodstream_domain::order::{
    Canceller, LineInput, Order, OrderError, OrderStatus, PlaceOrderInput, Transition,
};
use foodstream_domain::refund::{RefundMethod, RefundPolicy, RefundStatus};
use foodstream_domain::sequencing::{Applicability, DeliveryPosition, DeliveryStage};

mod common;
use common::*;

type Action = fn(&Order) -> Result<Transition, OrderError>;

/// Every action of the machine and the statuses it is allowed from.
fn actions() -> Vec<(&'static str, Action, &'static [OrderStatus])> {
    use OrderStatus::*;
    vec![
        ("accept", |o| o.accept(t(100)), &[Paid]),
        ("reject", |o| o.reject("closed", t(100)), &[Paid]),
        ("request_delivery", |o| o.request_delivery(t(100)), &[Accepted, DeliveryFailed]),
        ("cancel_as_customer", |o| o.cancel(Canceller::Customer, None, t(100)).map(|(tr, _)| tr), &[Paid]),
        (
            "cancel_as_store",
            |o| o.cancel(Canceller::StoreOwner, None, t(100)).map(|(tr, _)| tr),
            &[DeliveryFailed],
        ),
        (
            "rider_assigned",
            |o| {
                let pos = DeliveryPosition { request_version: o.version, stage: DeliveryStage::Assigned };
                o.rider_assigned(pos, RiderId::new("r-9"), t(100))
            },
            &[DeliveryRequested],
        ),
        (
            "delivery_failed",
            |o| {
                let pos = DeliveryPosition { request_version: o.version, stage: DeliveryStage::Finished };
                o.delivery_failed(pos, DeliveryFailureReason::NoRiderInZone, t(100))
            },
            &[DeliveryRequested],
        ),
        (
            "delivered",
            |o| {
                let pos = DeliveryPosition { request_version: o.version, stage: DeliveryStage::Finished };
                o.delivered(pos, RiderId::new("r-9"), t(100), t(100), &RefundPolicy::default())
            },
            &[DeliveryRequested, Delivering],
        ),
        (
            "request_refund",
            |o| o.request_refund(refund_request(RefundMethod::Refund), &RefundPolicy::default(), t(100)),
            &[Delivered],
        ),
        ("approve_refund", |o| o.approve_refund(None, t(100)), &[RefundRequested]),
        ("reject_refund", |o| o.reject_refund("looks fine", t(100)), &[RefundRequested]),
    ]
}

#[test]
fn rule_any_unlisted_transition_is_refused_with_the_current_status() {
    let mut allowed_pairs = 0;
    for status in OrderStatus::ALL {
        let order = order_in(status);
        assert_eq!(order.status, status, "fixture reached {status}");
        for (name, action, allowed) in actions() {
            match action(&order) {
                Ok(transition) => {
                    assert!(allowed.contains(&status), "{name} from {status} must be refused");
                    allowed_pairs += 1;
                    assert_ne!(transition.order.status, status, "{name} changes the status");
                    assert!(transition.order.version > order.version);
                    assert!(!transition.events.is_empty());
                }
                Err(OrderError::IllegalTransition { current, .. }) => {
                    assert!(!allowed.contains(&status), "{name} from {status} must be allowed");
                    assert_eq!(current, status);
                }
                Err(other) => panic!("{name} from {status}: unexpected {other:?}"),
            }
        }
    }
    // accept, reject, 2x request_delivery, 2x cancel, assigned, failed,
    // 2x delivered, refund request, approve, reject refund.
    assert_eq!(allowed_pairs, 13);
}

#[test]
fn illegal_transition_error_names_the_current_status() {
    let err = order_in(OrderStatus::Delivered).accept(t(100)).unwrap_err();
    assert_eq!(err.to_string(), "cannot accept an order that is DELIVERED");
}

#[test]
fn rule_1_2_placement_prices_lines_totals_and_starts_paid() {
    let valid = input().validate().unwrap();
    let (lines, total) = valid.price(&menu()).unwrap();
    assert_eq!(total, 2 * 9000 + 8000);
    let transition = Order::place(OrderId::new("o-1"), UserId::new("cust-1"), &valid, lines, t(0));
    let order = transition.order;
    assert_eq!(order.status, OrderStatus::Paid);
    assert_eq!(order.total, 26_000);
    assert_eq!(order.version, 1);
    assert_eq!(order.items[0].name, "비빔밥");
    assert_eq!(order.timeline.len(), 1);
    assert_eq!(transition.events.len(), 1);
    let event = &transition.events[0];
    assert_eq!(event.event_type, OrderEventType::OrderPlaced);
    assert_eq!(event.event_id.as_str(), "o-1:v1");
    assert_eq!(event.order_version, 1);
    assert_eq!(event.data.items.len(), 2);
    assert_eq!(event.data.previous_status, None);
}

#[test]
fn rule_1_placement_input_is_validated_field_by_field() {
    let fields = |i: PlaceOrderInput| -> Vec<String> {
        i.validate().unwrap_err().fields().iter().map(|f| f.field.clone()).collect()
    };
    let mut empty = input();
    empty.items.clear();
    assert_eq!(fields(empty), ["items"]);

    let mut too_many = input();
    too_many.items = (0..21).map(|i| LineInput { product_id: format!("p{i}"), quantity: 1 }).collect();
    assert_eq!(fields(too_many), ["items"]);

    let mut twice = input();
    twice.items[1].product_id = "bibimbap".into();
    assert_eq!(fields(twice), ["items[1].product_id"]);

    let mut zero = input();
    zero.items[0].quantity = 0;
    assert_eq!(fields(zero), ["items[0].quantity"]);

    let mut blank = input();
    blank.address.district = "   ".into();
    blank.store_id = "bad id!".into();
    assert_eq!(fields(blank), ["store_id", "address.district"]);

    let mut unknown = input();
    unknown.items[1].product_id = "pizza".into();
    let err = unknown.validate().unwrap().price(&menu()).unwrap_err();
    assert_eq!(err.fields()[0].field, "items[1].product_id");
}

#[test]
fn rule_3_fingerprint_identifies_the_body() {
    assert_eq!(input().fingerprint(), input().fingerprint());
    let mut other = input();
    other.items[0].quantity = 3;
    assert_ne!(input().fingerprint(), other.fingerprint());
}

#[test]
fn rule_4_accept_then_reject_needs_a_reason_and_keeps_it() {
    let paid = placed();
    let accepted = paid.accept(t(5)).unwrap();
    assert_eq!(accepted.order.status, OrderStatus::Accepted);
    assert_eq!(accepted.events[0].event_type, OrderEventType::OrderAccepted);
    assert_eq!(accepted.events[0].data.previous_status, Some(OrderStatus::Paid));

    match paid.reject("  ", t(5)) {
        Err(OrderError::Invalid(errors)) => assert_eq!(errors.fields()[0].field, "reason"),
        other => panic!("expected a reason error, got {other:?}"),
    }
    let rejected = paid.reject("out of rice", t(5)).unwrap();
    assert_eq!(rejected.order.status, OrderStatus::Rejected);
    assert_eq!(rejected.order.timeline[1].reason.as_deref(), Some("out of rice"));
    assert_eq!(rejected.events[0].data.reason.as_deref(), Some("out of rice"));
}

#[test]
fn rule_5_customer_cancels_only_while_paid_and_gets_stock_back() {
    let (cancelled, stock_back) = placed().cancel(Canceller::Customer, None, t(5)).unwrap();
    assert_eq!(cancelled.order.status, OrderStatus::Cancelled);
    assert!(stock_back);

    let err = order_in(OrderStatus::Accepted).cancel(Canceller::Customer, None, t(5)).unwrap_err();
    assert_eq!(
        err,
        OrderError::IllegalTransition { action: "cancel (as the customer)", current: OrderStatus::Accepted }
    );
}

#[test]
fn rule_6_9_owner_requests_delivery_again_or_cancels_after_a_failure() {
    let failed = order_in(OrderStatus::DeliveryFailed);
    assert_eq!(failed.timeline.last().unwrap().reason.as_deref(), Some("every rider of this zone is busy"));
    let again = failed.request_delivery(t(30)).unwrap().order;
    assert_eq!(again.status, OrderStatus::DeliveryRequested);
    assert_eq!(again.delivery.request_version, Some(again.version));
    assert!(!again.delivery.redelivery);

    let (cancelled, stock_back) =
        failed.cancel(Canceller::StoreOwner, Some("no riders tonight"), t(30)).unwrap();
    assert_eq!(cancelled.order.status, OrderStatus::Cancelled);
    // The food was cooked: nothing goes back on the shelf.
    assert!(!stock_back);
}

/// The one loop of the state machine (request, failure, request again)
/// is bounded, so an order's item stays far below DynamoDB's 400 KB.
#[test]
fn rule_6_9_an_order_is_sent_for_delivery_at_most_fifty_times() {
    use foodstream_domain::order::MAX_DELIVERY_REQUESTS;
    let mut order = order_in(OrderStatus::DeliveryFailed);
    let mut at = 30;
    while order.timeline.iter().filter(|e| e.status == OrderStatus::DeliveryRequested).count()
        < MAX_DELIVERY_REQUESTS
    {
        let requested = order.request_delivery(t(at)).unwrap().order;
        let position =
            DeliveryPosition { request_version: requested.version, stage: DeliveryStage::Finished };
        order = requested
            .delivery_failed(position, DeliveryFailureReason::AllRidersBusy, t(at + 1))
            .unwrap()
            .order;
        at += 2;
    }
    assert_eq!(order.request_delivery(t(at)), Err(OrderError::DeliveryAttemptsExhausted { attempts: 50 }));
    assert!(order.cancel(Canceller::StoreOwner, None, t(at)).is_ok(), "the owner cancels instead");
    let bytes = serde_json::to_vec(&order).unwrap().len();
    assert!(bytes < 64 * 1024, "{bytes} bytes after every attempt");
}

#[test]
fn rule_7_timeline_and_version_grow_by_one_per_change() {
    let delivered = order_in(OrderStatus::Delivered);
    let statuses: Vec<_> = delivered.timeline.iter().map(|e| e.status).collect();
    assert_eq!(
        statuses,
        [
            OrderStatus::Paid,
            OrderStatus::Accepted,
            OrderStatus::DeliveryRequested,
            OrderStatus::Delivering,
            OrderStatus::Delivered
        ]
    );
    assert_eq!(delivered.version, 5);
    assert_eq!(delivered.rider_id, Some(RiderId::new("r-1")));
    assert_eq!(delivered.delivered_at, Some(t(22)));
}

#[test]
fn rule_9_assignment_sets_the_rider_and_ignores_duplicates() {
    let requested = order_in(OrderStatus::DeliveryRequested);
    let pos = assigned_pos(&requested);
    assert_eq!(requested.classify_delivery_event(pos), Applicability::Apply);
    let delivering = requested.rider_assigned(pos, RiderId::new("r-7"), t(21)).unwrap();
    assert_eq!(delivering.order.status, OrderStatus::Delivering);
    assert_eq!(delivering.events[0].event_type, OrderEventType::OrderOutForDelivery);
    assert_eq!(delivering.events[0].data.rider_id, Some(RiderId::new("r-7")));
    assert_eq!(delivering.order.classify_delivery_event(pos), Applicability::Duplicate);
}

#[test]
fn rule_10_completion_that_overtakes_its_assignment_applies_both() {
    let requested = order_in(OrderStatus::DeliveryRequested);
    let done = requested
        .delivered(finished_pos(&requested), RiderId::new("r-1"), t(22), t(22), &RefundPolicy::default())
        .unwrap();
    assert_eq!(done.order.status, OrderStatus::Delivered);
    let types: Vec<_> = done.events.iter().map(|e| e.event_type).collect();
    assert_eq!(types, [OrderEventType::OrderOutForDelivery, OrderEventType::OrderDelivered]);
    assert_eq!(done.events[1].order_version, done.order.version);
    assert_eq!(done.events[0].order_version + 1, done.events[1].order_version);
    // The assignment arriving late is now stale: no going back.
    assert_eq!(done.order.classify_delivery_event(assigned_pos(&requested)), Applicability::Stale);
}

#[test]
fn rule_11_refund_at_9_59_is_accepted_and_at_10_01_refused() {
    let delivered = order_in(OrderStatus::Delivered);
    let at = delivered.delivered_at.unwrap();
    let policy = RefundPolicy::default();
    let ok = delivered
        .request_refund(refund_request(RefundMethod::Refund), &policy, at + Duration::seconds(599))
        .unwrap();
    assert_eq!(ok.order.status, OrderStatus::RefundRequested);
    assert_eq!(ok.order.refund.as_ref().unwrap().status, RefundStatus::Requested);
    assert_eq!(ok.events[0].data.refund_method, Some(RefundMethod::Refund));

    let late = delivered
        .request_refund(refund_request(RefundMethod::Refund), &policy, at + Duration::seconds(601))
        .unwrap_err();
    assert!(matches!(late, OrderError::RefundWindowClosed { window_seconds: 600, .. }));

    // The window is the one in force when the order was delivered.
    let short = RefundPolicy::from_seconds(2);
    let delivering = order_in(OrderStatus::Delivering);
    let quickly =
        delivering.delivered(finished_pos(&delivering), RiderId::new("r-1"), at, at, &short).unwrap().order;
    assert_eq!(quickly.refund_deadline, Some(at + Duration::seconds(2)));
    assert!(
        quickly
            .request_refund(refund_request(RefundMethod::Refund), &short, at + Duration::seconds(3))
            .is_err()
    );
}

#[test]
fn rule_11_the_window_runs_from_when_the_delivery_was_recorded() {
    // The rider was at the door at t(22); the updater recorded it only an
    // hour later: the customer still has the whole window from then on.
    let delivering = order_in(OrderStatus::Delivering);
    let policy = RefundPolicy::default();
    let recorded = t(22) + Duration::hours(1);
    let done = delivering
        .delivered(finished_pos(&delivering), RiderId::new("r-1"), t(22), recorded, &policy)
        .unwrap()
        .order;
    assert_eq!(done.delivered_at, Some(t(22)));
    assert_eq!(done.refund_deadline, Some(recorded + Duration::seconds(600)));
    let deadline = recorded + Duration::seconds(600);
    assert_eq!(done.open_refund_deadline(recorded), done.refund_deadline);
    assert_eq!(done.open_refund_deadline(deadline), Some(deadline), "the deadline itself is inside");
    assert_eq!(
        done.open_refund_deadline(deadline + Duration::seconds(1)),
        None,
        "gone once the window closed"
    );
    let asked = done
        .request_refund(refund_request(RefundMethod::Refund), &policy, recorded + Duration::seconds(599))
        .unwrap()
        .order;
    assert_eq!(asked.open_refund_deadline(recorded), None, "shown only while a refund can be asked for");
}

#[test]
fn rule_11_only_one_refund_request_per_order() {
    let rejected = order_in(OrderStatus::RefundRequested)
        .reject_refund("the photo shows a full bowl", t(80))
        .unwrap()
        .order;
    assert_eq!(rejected.status, OrderStatus::Delivered);
    let again = rejected
        .request_refund(refund_request(RefundMethod::Refund), &RefundPolicy::default(), t(90))
        .unwrap_err();
    assert_eq!(again, OrderError::RefundAlreadyRequested);
}

#[test]
fn rule_12_approve_refund_refunds() {
    let refunded = order_in(OrderStatus::RefundRequested).approve_refund(Some("sorry"), t(80)).unwrap();
    assert_eq!(refunded.order.status, OrderStatus::Refunded);
    assert_eq!(refunded.events[0].event_type, OrderEventType::OrderRefunded);
    let refund = refunded.order.refund.unwrap();
    assert_eq!(refund.status, RefundStatus::Approved);
    assert_eq!(refund.decision_reason.as_deref(), Some("sorry"));
}

#[test]
fn rule_12_approve_redeliver_requests_a_new_delivery_marked_as_redelivery() {
    let requested = order_in(OrderStatus::Delivered)
        .request_refund(refund_request(RefundMethod::Redeliver), &RefundPolicy::default(), t(60))
        .unwrap()
        .order;
    let old_attempt = requested.delivery.request_version.unwrap();
    let redelivery = requested.approve_refund(None, t(80)).unwrap();
    let order = &redelivery.order;
    assert_eq!(order.status, OrderStatus::DeliveryRequested);
    assert!(order.delivery.redelivery);
    assert_eq!(order.delivery.request_version, Some(order.version));
    assert_eq!(order.rider_id, None);
    let event = &redelivery.events[0];
    assert_eq!(event.event_type, OrderEventType::OrderDeliveryRequested);
    assert!(event.data.redelivery);
    let request = event.delivery_request().unwrap();
    assert!(request.redelivery);
    assert_eq!(request.request_version, order.version);
    // Events of the first delivery are stale for the new attempt.
    let old = DeliveryPosition { request_version: old_attempt, stage: DeliveryStage::Finished };
    assert_eq!(order.classify_delivery_event(old), Applicability::Stale);
}

#[test]
fn rule_12_reject_refund_needs_a_reason_and_returns_to_delivered() {
    let requested = order_in(OrderStatus::RefundRequested);
    assert!(matches!(requested.reject_refund("", t(80)), Err(OrderError::Invalid(_))));
    let rejected = requested.reject_refund("the photo shows a full bowl", t(80)).unwrap();
    assert_eq!(rejected.order.status, OrderStatus::Delivered);
    assert_eq!(rejected.events[0].event_type, OrderEventType::OrderRefundRejected);
    let refund = rejected.order.refund.unwrap();
    assert_eq!(refund.status, RefundStatus::Rejected);
    assert_eq!(refund.decision_reason.as_deref(), Some("the photo shows a full bowl"));
}
