//! Fixtures shared by the domain's integration tests: an order driven
//! through real transitions to any status.

#![allow(dead_code)]

use chrono::{TimeZone, Utc};
use foodstream_domain::Timestamp;
use foodstream_domain::catalog::MenuItem;
use foodstream_domain::delivery::DeliveryFailureReason;
use foodstream_domain::events::OrderEvent;
use foodstream_domain::ids::{OrderId, ProductId, RiderId, StoreId, UserId};
use foodstream_domain::order::{
    Address, Canceller, LineInput, Order, OrderStatus, PlaceOrderInput, Transition,
};
use foodstream_domain::refund::{RefundMethod, RefundPolicy, RefundRequestInput, ValidRefundRequest};
use foodstream_domain::sequencing::{DeliveryPosition, DeliveryStage};
use std::collections::HashMap;

pub fn t(seconds: i64) -> Timestamp {
    Utc.timestamp_opt(1_767_225_600 + seconds, 0).unwrap()
}

pub fn menu() -> HashMap<ProductId, MenuItem> {
    [("bibimbap", "비빔밥", 9000), ("kimchi", "김치찌개", 8000)]
        .into_iter()
        .map(|(id, name, price)| {
            (
                ProductId::new(id),
                MenuItem {
                    store_id: StoreId::new("store-1"),
                    product_id: ProductId::new(id),
                    name: name.into(),
                    price,
                    stock: 10,
                    version: 1,
                },
            )
        })
        .collect()
}

pub fn input() -> PlaceOrderInput {
    PlaceOrderInput {
        store_id: "store-1".into(),
        items: vec![
            LineInput { product_id: "bibimbap".into(), quantity: 2 },
            LineInput { product_id: "kimchi".into(), quantity: 1 },
        ],
        address: Address {
            street: "1 Teheran-ro".into(),
            district: "Gangnam-gu".into(),
            city: "Seoul".into(),
        },
    }
}

pub fn placed() -> Order {
    let valid = input().validate().unwrap();
    let (lines, _) = valid.price(&menu()).unwrap();
    Order::place(OrderId::new("o-1"), UserId::new("cust-1"), &valid, lines, t(0)).order
}

pub fn refund_request(method: RefundMethod) -> ValidRefundRequest {
    RefundRequestInput {
        photo_key: "refund-photos/o-1/photo".into(),
        reason: "cold soup".into(),
        method: match method {
            RefundMethod::Refund => "REFUND".into(),
            RefundMethod::Redeliver => "REDELIVER".into(),
        },
    }
    .validate(&OrderId::new("o-1"))
    .unwrap()
}

pub fn assigned_pos(order: &Order) -> DeliveryPosition {
    DeliveryPosition {
        request_version: order.delivery.request_version.unwrap(),
        stage: DeliveryStage::Assigned,
    }
}

pub fn finished_pos(order: &Order) -> DeliveryPosition {
    DeliveryPosition {
        request_version: order.delivery.request_version.unwrap(),
        stage: DeliveryStage::Finished,
    }
}

/// An order driven through real transitions to `status`.
pub fn order_in(status: OrderStatus) -> Order {
    let paid = placed();
    let accepted = || paid.accept(t(10)).unwrap().order;
    let requested = || accepted().request_delivery(t(20)).unwrap().order;
    let delivering = || {
        let o = requested();
        o.rider_assigned(assigned_pos(&o), RiderId::new("r-1"), t(21)).unwrap().order
    };
    let delivered = || {
        let o = delivering();
        o.delivered(finished_pos(&o), RiderId::new("r-1"), t(22), t(22), &RefundPolicy::default())
            .unwrap()
            .order
    };
    let refund_requested =
        |m| delivered().request_refund(refund_request(m), &RefundPolicy::default(), t(60)).unwrap().order;
    match status {
        OrderStatus::Paid => paid.clone(),
        OrderStatus::Accepted => accepted(),
        OrderStatus::Rejected => paid.reject("sold out", t(10)).unwrap().order,
        OrderStatus::Cancelled => paid.cancel(Canceller::Customer, None, t(10)).unwrap().0.order,
        OrderStatus::DeliveryRequested => requested(),
        OrderStatus::Delivering => delivering(),
        OrderStatus::DeliveryFailed => {
            let o = requested();
            o.delivery_failed(finished_pos(&o), DeliveryFailureReason::AllRidersBusy, t(21)).unwrap().order
        }
        OrderStatus::Delivered => delivered(),
        OrderStatus::RefundRequested => refund_requested(RefundMethod::Refund),
        OrderStatus::Refunded => {
            refund_requested(RefundMethod::Refund).approve_refund(None, t(70)).unwrap().order
        }
    }
}

pub type Step<'a> = &'a dyn Fn(&Order) -> Transition;

/// Drives `order` through `steps`, collecting every event.
pub fn run(events: &mut Vec<OrderEvent>, order: &Order, steps: &[Step]) {
    let mut current = order.clone();
    for step in steps {
        let transition = step(&current);
        events.extend(transition.events);
        current = transition.order;
    }
}

/// Histories covering every order event type; the first is `OrderPlaced`.
pub fn order_events() -> Vec<OrderEvent> {
    let paid = placed();
    let valid = input().validate().unwrap();
    let mut events =
        Order::place(paid.order_id.clone(), paid.customer_id.clone(), &valid, paid.items.clone(), t(0))
            .events;
    run(&mut events, &paid, &[&|o| o.reject("no rice", t(1)).unwrap()]);
    run(&mut events, &paid, &[&|o| o.cancel(Canceller::Customer, Some("changed my mind"), t(1)).unwrap().0]);
    run(
        &mut events,
        &order_in(OrderStatus::DeliveryFailed),
        &[&|o| o.cancel(Canceller::StoreOwner, None, t(30)).unwrap().0],
    );
    run(
        &mut events,
        &order_in(OrderStatus::RefundRequested),
        &[&|o| o.reject_refund("full bowl", t(80)).unwrap()],
    );
    run(&mut events, &order_in(OrderStatus::RefundRequested), &[&|o| o.approve_refund(None, t(80)).unwrap()]);
    run(
        &mut events,
        &paid,
        &[
            &|o| o.accept(t(10)).unwrap(),
            &|o| o.request_delivery(t(20)).unwrap(),
            &|o| o.delivery_failed(finished_pos(o), DeliveryFailureReason::NoRiderInZone, t(21)).unwrap(),
            &|o| o.request_delivery(t(25)).unwrap(),
            &|o| o.rider_assigned(assigned_pos(o), RiderId::new("r-1"), t(26)).unwrap(),
            &|o| {
                o.delivered(finished_pos(o), RiderId::new("r-1"), t(27), t(27), &RefundPolicy::default())
                    .unwrap()
            },
            &|o| {
                o.request_refund(refund_request(RefundMethod::Redeliver), &RefundPolicy::default(), t(60))
                    .unwrap()
            },
            &|o| o.approve_refund(Some("sending a fresh one"), t(70)).unwrap(),
        ],
    );
    events
}
