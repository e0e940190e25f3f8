//! The whole scenario of SPEC section 2, played through the real use cases
//! over the in-memory adapters, with the orders table stream and the three
//! topics simulated in process. Prints a timeline. `make demo` runs it until
//! the local stack (emulated API Gateway and MSK) takes over.

#[path = "../tests/support/mod.rs"]
mod support;
use support::*;

use chrono::Duration;
use foodstream_application::catalog::put_menu_item;
use foodstream_application::logs::{LogQuery, list_logs};
use foodstream_application::notifications::list_my_notifications;
use foodstream_application::ordering::{
    accept_order, cancel_order, place_order, reject_order, request_delivery,
};
use foodstream_application::refunds::{PhotoUploadInput, create_photo_upload, decide_refund, request_refund};
use foodstream_application::views::OrderView;
use foodstream_application::{ApiError, AppError};
use foodstream_domain::Timestamp;
use foodstream_domain::catalog::MenuItemInput;
use foodstream_domain::events::EventType;
use foodstream_domain::refund::{RefundDecisionInput, RefundRequestInput};

struct Demo {
    w: World,
    lines: Vec<(Timestamp, String)>,
}

impl Demo {
    fn note(&mut self, text: String) {
        let at = self.w.clock_now();
        self.lines.push((at, text));
    }

    /// Records a request and its answer the way a client would see it.
    fn answer(&mut self, request: &str, result: Result<OrderView, AppError>) -> Option<OrderView> {
        match result {
            Ok(order) => {
                self.note(format!("REQ  {request:<46} -> {} v{}", order.status, order.version));
                Some(order)
            }
            Err(error) => {
                let api = ApiError::from(&error);
                self.note(format!("REQ  {request:<46} -> {} {}: {}", api.status, api.code, api.message));
                None
            }
        }
    }

    async fn order(&mut self, label: &str, lines: &[(&str, i64)], district: &str) -> String {
        let mut input = order_input(lines);
        input.address.district = district.into();
        let placed = place_order(self.w.place_ports(), &customer(), Some(label), input).await;
        let order = self.answer(&format!("POST /orders ({label})"), placed.map(|p| p.order)).unwrap();
        order.order_id
    }

    async fn delivered(&mut self, label: &str) -> String {
        let id = self.order(label, &[("bibimbap", 1)], "Gangnam-gu").await;
        let accepted = accept_order(self.w.change_ports(), &owner(), &id).await;
        self.answer(&format!("POST /orders/{id}/accept"), accepted);
        let requested = request_delivery(self.w.change_ports(), &owner(), &id).await;
        self.answer(&format!("POST /orders/{id}/delivery-requests"), requested);
        self.w.pump().await;
        id
    }

    async fn refund(&mut self, id: &str, method: &str) -> Option<OrderView> {
        let input = PhotoUploadInput { content_type: "image/jpeg".into() };
        let upload = match create_photo_upload(self.w.photo_ports(), &customer(), id, input).await {
            Ok(upload) => upload,
            Err(error) => {
                let api = ApiError::from(&error);
                self.note(format!(
                    "REQ  POST /orders/{id}/refund-photos -> {} {}: {}",
                    api.status, api.code, api.message
                ));
                return None;
            }
        };
        self.note(format!("REQ  POST /orders/{id}/refund-photos -> 200 {}", upload.photo_key));
        self.w.photos.upload(&upload.photo_key);
        let body = RefundRequestInput {
            photo_key: upload.photo_key,
            reason: "국이 식어서 왔어요".into(),
            method: method.into(),
        };
        let result = request_refund(self.w.change_ports(), &self.w.photos, &customer(), id, body).await;
        self.answer(&format!("POST /orders/{id}/refund-request ({method})"), result)
    }

    async fn decide(&mut self, id: &str, approve: bool, reason: Option<&str>) {
        let input = RefundDecisionInput { approve, reason: reason.map(String::from) };
        let result = decide_refund(self.w.change_ports(), &owner(), id, input).await;
        self.answer(&format!("POST /orders/{id}/refund-request/decision approve={approve}"), result);
        self.w.pump().await;
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut d = Demo { w: World::new(), lines: Vec::new() };
    for (product, name, price, stock) in
        [("bibimbap", "비빔밥", 9000, 10), ("kimchi", "김치찌개", 8000, 5), ("mandu", "만두", 6000, 1)]
    {
        let item = MenuItemInput { name: name.into(), price, stock };
        put_menu_item(&*d.w.store, &owner(), STORE, product, item).await.unwrap();
        d.note(format!("REQ  PUT /stores/{STORE}/menu/{product} -> 200 {name} {price}원 x{stock}"));
    }
    d.w.register_rider("rider-1", "Gangnam-gu").await;
    d.note("REQ  PUT /riders/rider-1 {zone: Gangnam-gu} -> 200".into());

    // Placement, idempotent retry, short stock.
    let first = d.order("order-1", &[("bibimbap", 2), ("kimchi", 1)], "Gangnam-gu").await;
    let retry = place_order(
        d.w.place_ports(),
        &customer(),
        Some("order-1"),
        order_input(&[("bibimbap", 2), ("kimchi", 1)]),
    )
    .await
    .unwrap();
    d.note(format!(
        "REQ  POST /orders (order-1 retried)                    -> same order {} (replayed={})",
        retry.order.order_id, retry.replayed
    ));
    let short =
        place_order(d.w.place_ports(), &customer(), None, order_input(&[("bibimbap", 1), ("mandu", 2)]))
            .await;
    d.answer("POST /orders (2 mandu, 1 in stock)", short.map(|p| p.order));

    // Cancel before acceptance; cancel after acceptance is refused.
    let cancelled = d.order("order-2", &[("kimchi", 1)], "Gangnam-gu").await;
    let r = cancel_order(d.w.change_ports(), &customer(), &cancelled, None).await;
    d.answer(&format!("POST /orders/{cancelled}/cancel"), r);
    let r = accept_order(d.w.change_ports(), &owner(), &first).await;
    d.answer(&format!("POST /orders/{first}/accept"), r);
    let r = cancel_order(d.w.change_ports(), &customer(), &first, None).await;
    d.answer(&format!("POST /orders/{first}/cancel (after accept)"), r);

    // Rejection.
    let rejected = d.order("order-3", &[("bibimbap", 1)], "Gangnam-gu").await;
    let r = reject_order(d.w.change_ports(), &owner(), &rejected, Some("재료 소진 (out of rice)")).await;
    d.answer(&format!("POST /orders/{rejected}/reject"), r);

    // Delivery success.
    let r = request_delivery(d.w.change_ports(), &owner(), &first).await;
    d.answer(&format!("POST /orders/{first}/delivery-requests"), r);
    d.w.pump().await;

    // Delivery failure (no rider in Mapo-gu), then the owner cancels.
    let far = d.order("order-4", &[("bibimbap", 1)], "Mapo-gu").await;
    let r = accept_order(d.w.change_ports(), &owner(), &far).await;
    d.answer(&format!("POST /orders/{far}/accept"), r);
    let r = request_delivery(d.w.change_ports(), &owner(), &far).await;
    d.answer(&format!("POST /orders/{far}/delivery-requests"), r);
    d.w.pump().await;
    let r = cancel_order(d.w.change_ports(), &owner(), &far, Some("배달 불가 지역")).await;
    d.answer(&format!("POST /orders/{far}/cancel (owner)"), r);

    // Refunds: approved as REFUND, approved as REDELIVER, rejected; and too late.
    d.w.later(Duration::seconds(30));
    d.refund(&first, "REFUND").await;
    d.decide(&first, true, None).await;
    let redeliver = d.delivered("order-5").await;
    d.w.later(Duration::seconds(60));
    d.refund(&redeliver, "REDELIVER").await;
    d.decide(&redeliver, true, Some("새로 보내드릴게요")).await;
    let rejected_refund = d.delivered("order-6").await;
    d.refund(&rejected_refund, "REFUND").await;
    d.decide(&rejected_refund, false, Some("사진상 음식에 문제가 없습니다")).await;
    let late = d.delivered("order-7").await;
    d.w.later(Duration::seconds(601));
    d.refund(&late, "REFUND").await;

    // Everything the consumers did, on one clock.
    let t = &d.w.traffic;
    for e in &t.order_events {
        d.lines.push((
            e.occurred_at,
            format!("EVT  order-events    {:<24} {} v{}", e.event_type.as_str(), e.order_id, e.order_version),
        ));
    }
    for e in &t.delivery_events {
        let who =
            e.data.rider_id.as_ref().map(|r| r.to_string()).or(e.data.reason.map(|r| r.code().to_owned()));
        d.lines.push((
            e.occurred_at,
            format!(
                "EVT  delivery-events {:<24} {} {}",
                e.event_type.as_str(),
                e.order_id,
                who.unwrap_or_default()
            ),
        ));
    }
    let start = t0();
    d.lines.sort_by_key(|(at, _)| *at);
    println!("timeline (simulated clock; t=0 is {start})\n");
    for (at, line) in &d.lines {
        println!("  t+{:>8.3}s  {line}", (*at - start).num_milliseconds() as f64 / 1000.0);
    }

    let mine = list_my_notifications(&*d.w.store, &customer(), Some("100"), None).await.unwrap();
    let store = list_my_notifications(&*d.w.store, &owner(), Some("100"), None).await.unwrap();
    println!(
        "\nnotifications: {} to the customer, {} to store {STORE}; the first order's, oldest first:",
        mine.items.len(),
        store.items.len()
    );
    for n in mine.items.iter().rev().filter(|n| n.order_id == first && n.channel == "app-push") {
        println!("  {:<18} {} | {}", n.status.as_str(), n.title, n.body);
    }
    let logs = list_logs(
        &*d.w.store,
        &operator(),
        LogQuery { order_id: Some(&first), limit: Some("100"), ..Default::default() },
    )
    .await
    .unwrap();
    println!(
        "\nlogs: {} records on log-events in all, {} for {first}; e.g. {}",
        t.log_events.len(),
        logs.items.len(),
        logs.items[0].message
    );
    println!(
        "stock left: bibimbap {}, kimchi {}, mandu {}",
        d.w.store.stock_of(STORE, "bibimbap").unwrap(),
        d.w.store.stock_of(STORE, "kimchi").unwrap(),
        d.w.store.stock_of(STORE, "mandu").unwrap()
    );
}
