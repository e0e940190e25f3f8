//! Placing, reading, listing, accepting, rejecting and cancelling orders
//! through the use cases, over the in-memory adapters.

mod support;
use support::*;

use async_trait::async_trait;
use foodstream_application::AppError;
use foodstream_application::ordering::{
    accept_order, cancel_order, change_order, get_order, list_my_orders, list_store_orders, place_order,
    reject_order,
};
use foodstream_domain::ids::{OrderId, StoreId, UserId};
use foodstream_domain::order::{Canceller, Order, OrderStatus};
use foodstream_domain::ports::{
    IdempotencyRecord, OrderRepository, OrderUpdate, Page, PageRequest, PlaceError, Placement, PortError,
    UpdateError,
};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

async fn world() -> World {
    World::new().with_menu(&[("bibimbap", 9000, 10), ("kimchi", 8000, 5), ("mandu", 6000, 1)]).await
}

#[tokio::test]
async fn rule_2_placement_takes_all_stock_and_starts_paid() {
    let w = world().await;
    let placed = w.place(&customer(), &[("bibimbap", 2), ("kimchi", 1)]).await.unwrap();
    assert!(!placed.replayed);
    let order = placed.order;
    assert_eq!(order.status, OrderStatus::Paid);
    assert_eq!(order.total, 26_000);
    assert_eq!(order.customer_id, "cust-1");
    assert_eq!(w.store.stock_of(STORE, "bibimbap"), Some(8));
    assert_eq!(w.store.stock_of(STORE, "kimchi"), Some(4));
    let outbox = w.store.drain_outbox();
    assert_eq!(outbox.len(), 1);
    assert_eq!(outbox[0].order_id.as_str(), order.order_id);
}

#[tokio::test]
async fn rule_2_one_short_line_among_several_is_409_naming_it_and_nothing_is_taken() {
    let w = world().await;
    let err = w.place(&customer(), &[("bibimbap", 2), ("mandu", 2), ("kimchi", 1)]).await.unwrap_err();
    let api = foodstream_handlers::http::error::ApiError::from(&err);
    assert_eq!((api.status, api.code), (409, "INSUFFICIENT_STOCK"));
    let short = &api.body()["error"]["details"]["short_lines"];
    assert_eq!(short.as_array().unwrap().len(), 1);
    assert_eq!(short[0]["product_id"], "mandu");
    assert_eq!(short[0]["requested"], 2);
    assert_eq!(short[0]["available"], 1);
    assert_eq!(w.store.stock_of(STORE, "bibimbap"), Some(10));
    assert_eq!(w.store.stock_of(STORE, "kimchi"), Some(5));
    assert_eq!(w.store.order_count(), 0);
    assert!(w.store.drain_outbox().is_empty());
}

#[tokio::test]
async fn rule_2_fifty_orders_on_stock_ten_place_exactly_ten() {
    // Interleaving is proven against DynamoDB in the integration tests; here
    // the rule itself: the eleventh order finds nothing and takes nothing.
    let w = World::new().with_menu(&[("bibimbap", 9000, 10)]).await;
    let caller = customer();
    let attempts = (0..50).map(|_| w.place(&caller, &[("bibimbap", 1)]));
    let results = futures::future::join_all(attempts).await;
    let placed = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(placed, 10);
    assert!(
        results.iter().filter_map(|r| r.as_ref().err()).all(|e| matches!(e, AppError::InsufficientStock(_)))
    );
    assert_eq!(w.store.stock_of(STORE, "bibimbap"), Some(0));
}

#[tokio::test]
async fn rule_1_invalid_bodies_are_400_with_the_field_and_unknown_products_too() {
    let w = world().await;
    let err = w.place(&customer(), &[("bibimbap", 0)]).await.unwrap_err();
    match &err {
        AppError::Invalid(e) => assert_eq!(e.fields()[0].field, "items[0].quantity"),
        other => panic!("{other:?}"),
    }
    let err = w.place(&customer(), &[("pizza", 1)]).await.unwrap_err();
    match &err {
        AppError::Invalid(e) => assert_eq!(e.fields()[0].field, "items[0].product_id"),
        other => panic!("{other:?}"),
    }
    assert_eq!(api(err), (400, "VALIDATION_FAILED"));
    assert_eq!(w.store.order_count(), 0);
}

#[tokio::test]
async fn only_customers_place_orders() {
    let w = world().await;
    assert_eq!(api(w.place(&owner(), &[("bibimbap", 1)]).await.unwrap_err()), (403, "FORBIDDEN"));
    assert_eq!(api(w.place(&operator(), &[("bibimbap", 1)]).await.unwrap_err()), (403, "FORBIDDEN"));
}

#[tokio::test]
async fn rule_3_retry_with_the_same_key_and_body_returns_the_same_order_once() {
    let w = world().await;
    let first =
        place_order(w.place_ports(), &customer(), Some("key-1"), order_input(&[("bibimbap", 2)]), None)
            .await
            .unwrap();
    let retry =
        place_order(w.place_ports(), &customer(), Some("key-1"), order_input(&[("bibimbap", 2)]), None)
            .await
            .unwrap();
    assert!(retry.replayed);
    assert_eq!(retry.order.order_id, first.order.order_id);
    assert_eq!(w.store.stock_of(STORE, "bibimbap"), Some(8), "stock taken once");
    assert_eq!(w.store.order_count(), 1);
    // The same key of another customer is theirs alone.
    let other =
        place_order(w.place_ports(), &other_customer(), Some("key-1"), order_input(&[("bibimbap", 2)]), None)
            .await
            .unwrap();
    assert_ne!(other.order.order_id, first.order.order_id);
}

#[tokio::test]
async fn rule_3_same_key_with_a_different_body_is_409() {
    let w = world().await;
    place_order(w.place_ports(), &customer(), Some("key-1"), order_input(&[("bibimbap", 2)]), None)
        .await
        .unwrap();
    let err = place_order(w.place_ports(), &customer(), Some("key-1"), order_input(&[("bibimbap", 3)]), None)
        .await
        .unwrap_err();
    assert_eq!(api(err), (409, "IDEMPOTENCY_KEY_REUSED"));
    assert_eq!(w.store.stock_of(STORE, "bibimbap"), Some(8));
    let err =
        place_order(w.place_ports(), &customer(), Some("bad key\n"), order_input(&[("bibimbap", 1)]), None)
            .await
            .unwrap_err();
    assert_eq!(api(err), (400, "VALIDATION_FAILED"));
}

/// An order repository where a concurrent request acts between our read
/// and our write, once: it places `before_place`, or cancels the order
/// before our update.
struct Interfering<'a> {
    inner: &'a foodstream_memory::InMemoryStore,
    before_place: Mutex<Option<Placement>>,
    cancel_before_update: AtomicBool,
}

impl<'a> Interfering<'a> {
    fn new(inner: &'a foodstream_memory::InMemoryStore) -> Self {
        Interfering { inner, before_place: Mutex::new(None), cancel_before_update: AtomicBool::new(false) }
    }
}

#[async_trait]
impl OrderRepository for Interfering<'_> {
    async fn place(&self, placement: &Placement) -> Result<(), PlaceError> {
        let first = self.before_place.lock().unwrap().take();
        if let Some(first) = first {
            self.inner.place(&first).await?;
        }
        self.inner.place(placement).await
    }
    async fn get(&self, order: &OrderId) -> Result<Option<Order>, PortError> {
        self.inner.get(order).await
    }
    async fn update(&self, update: &OrderUpdate) -> Result<(), UpdateError> {
        if self.cancel_before_update.swap(false, Ordering::SeqCst) {
            let current = self.inner.get(&update.order.order_id).await?.unwrap();
            let (cancel, _) = current.cancel(Canceller::Customer, None, current.updated_at).unwrap();
            let events = cancel.events;
            let concurrent =
                OrderUpdate { order: cancel.order, expected_version: current.version, events, stock: None };
            self.inner.update(&concurrent).await?;
        }
        self.inner.update(update).await
    }
    async fn list_for_customer(&self, c: &UserId, p: &PageRequest) -> Result<Page<Order>, PortError> {
        self.inner.list_for_customer(c, p).await
    }
    async fn list_for_store(
        &self,
        s: &StoreId,
        st: Option<OrderStatus>,
        p: &PageRequest,
    ) -> Result<Page<Order>, PortError> {
        self.inner.list_for_store(s, st, p).await
    }
    async fn find_idempotency(&self, c: &UserId, k: &str) -> Result<Option<IdempotencyRecord>, PortError> {
        self.inner.find_idempotency(c, k).await
    }
    async fn awaiting_delivery(
        &self,
        by: foodstream_domain::Timestamp,
        limit: usize,
    ) -> Result<Vec<foodstream_domain::order::Order>, PortError> {
        self.inner.awaiting_delivery(by, limit).await
    }
}

#[tokio::test]
async fn rule_3_concurrent_retries_with_one_key_place_one_order() {
    let w = world().await;
    // The winner: the same body placed by a concurrent request.
    let scratch = world().await;
    place_order(scratch.place_ports(), &customer(), Some("key-1"), order_input(&[("bibimbap", 2)]), None)
        .await
        .unwrap();
    let winner_order = scratch.store.get(&OrderId::new("id-1")).await.unwrap().unwrap();
    let record = scratch.store.find_idempotency(&UserId::new("cust-1"), "key-1").await.unwrap().unwrap();
    let winner = Placement {
        order: Order { order_id: OrderId::new("winner"), ..winner_order },
        events: vec![],
        stock: foodstream_domain::stock::StockPlan { store_id: StoreId::new(STORE), changes: vec![] },
        idempotency: Some(IdempotencyRecord { order_id: OrderId::new("winner"), ..record }),
    };
    let racing = Interfering::new(&w.store);
    *racing.before_place.lock().unwrap() = Some(winner);
    let mut ports = w.place_ports();
    ports.orders = &racing;
    let placed =
        place_order(ports, &customer(), Some("key-1"), order_input(&[("bibimbap", 2)]), None).await.unwrap();
    assert!(placed.replayed);
    assert_eq!(placed.order.order_id, "winner");
    assert_eq!(w.store.stock_of(STORE, "bibimbap"), Some(10), "the loser's stock take rolled back");
}

#[tokio::test]
async fn rule_7_another_customers_order_is_404_like_an_unknown_one() {
    let w = world().await;
    let order = w.place(&customer(), &[("bibimbap", 1)]).await.unwrap().order;
    assert_eq!(get_order(&*w.store, &*w.clock, &customer(), &order.order_id).await.unwrap(), order);
    assert_eq!(get_order(&*w.store, &*w.clock, &owner(), &order.order_id).await.unwrap(), order);
    let theirs = api(get_order(&*w.store, &*w.clock, &other_customer(), &order.order_id).await.unwrap_err());
    let unknown = api(get_order(&*w.store, &*w.clock, &customer(), "no-such-order").await.unwrap_err());
    assert_eq!(theirs, (404, "NOT_FOUND"));
    assert_eq!(theirs, unknown);
    // Another store's owner cannot see it either, and cannot act on it.
    assert_eq!(
        api(get_order(&*w.store, &*w.clock, &other_owner(), &order.order_id).await.unwrap_err()),
        (404, "NOT_FOUND")
    );
    let err = accept_order(w.change_ports(), &other_owner(), &order.order_id).await.unwrap_err();
    assert_eq!(api(err), (404, "NOT_FOUND"));
    assert_eq!(
        api(get_order(&*w.store, &*w.clock, &operator(), &order.order_id).await.unwrap_err()),
        (403, "FORBIDDEN")
    );
}

#[tokio::test]
async fn rule_7_my_orders_are_newest_first_and_paginated() {
    let w = World::new().with_menu(&[("bibimbap", 9000, 100)]).await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(w.place(&customer(), &[("bibimbap", 1)]).await.unwrap().order.order_id);
        w.later(chrono::Duration::seconds(1));
    }
    w.place(&other_customer(), &[("bibimbap", 1)]).await.unwrap();
    let first = list_my_orders(&*w.store, &*w.clock, &customer(), Some("2"), None).await.unwrap();
    let ids_of = |l: &foodstream_application::views::ListView<foodstream_application::views::OrderView>| {
        l.items.iter().map(|o| o.order_id.clone()).collect::<Vec<_>>()
    };
    assert_eq!(ids_of(&first), [ids[4].clone(), ids[3].clone()]);
    let second = list_my_orders(&*w.store, &*w.clock, &customer(), Some("2"), first.next_cursor.as_deref())
        .await
        .unwrap();
    assert_eq!(ids_of(&second), [ids[2].clone(), ids[1].clone()]);
    let last = list_my_orders(&*w.store, &*w.clock, &customer(), Some("2"), second.next_cursor.as_deref())
        .await
        .unwrap();
    assert_eq!(ids_of(&last), [ids[0].clone()]);
    assert_eq!(last.next_cursor, None);
    let err = list_my_orders(&*w.store, &*w.clock, &customer(), None, Some("forged")).await.unwrap_err();
    assert_eq!(api(err), (400, "VALIDATION_FAILED"));
    assert_eq!(
        api(list_my_orders(&*w.store, &*w.clock, &owner(), None, None).await.unwrap_err()),
        (403, "FORBIDDEN")
    );
}

#[tokio::test]
async fn rule_4_owner_lists_new_orders_by_status_and_other_stores_owner_is_403() {
    let w = world().await;
    let a = w.place(&customer(), &[("bibimbap", 1)]).await.unwrap().order;
    let b = w.place(&customer(), &[("bibimbap", 1)]).await.unwrap().order;
    accept_order(w.change_ports(), &owner(), &b.order_id).await.unwrap();
    let paid =
        list_store_orders(&*w.store, &*w.clock, &owner(), STORE, Some("PAID"), None, None).await.unwrap();
    assert_eq!(paid.items.iter().map(|o| o.order_id.as_str()).collect::<Vec<_>>(), [a.order_id.as_str()]);
    let all = list_store_orders(&*w.store, &*w.clock, &owner(), STORE, None, None, None).await.unwrap();
    assert_eq!(all.items.len(), 2);
    let err = list_store_orders(&*w.store, &*w.clock, &owner(), STORE, Some("COOKING"), None, None)
        .await
        .unwrap_err();
    match &err {
        AppError::Invalid(e) => assert_eq!(e.fields()[0].field, "status"),
        other => panic!("{other:?}"),
    }
    let err =
        list_store_orders(&*w.store, &*w.clock, &other_owner(), STORE, None, None, None).await.unwrap_err();
    assert_eq!(api(err), (403, "FORBIDDEN"));
    let err =
        list_store_orders(&*w.store, &*w.clock, &customer(), STORE, None, None, None).await.unwrap_err();
    assert_eq!(api(err), (403, "FORBIDDEN"));
}

#[tokio::test]
async fn rule_4_reject_needs_a_reason_and_gives_stock_back() {
    let w = world().await;
    let order = w.place(&customer(), &[("bibimbap", 3)]).await.unwrap().order;
    let err = reject_order(w.change_ports(), &owner(), &order.order_id, None).await.unwrap_err();
    match &err {
        AppError::Invalid(e) => assert_eq!(e.fields()[0].field, "reason"),
        other => panic!("{other:?}"),
    }
    assert_eq!(w.order(&order.order_id).await.status, OrderStatus::Paid, "nothing half-written");
    assert_eq!(w.store.stock_of(STORE, "bibimbap"), Some(7));
    let rejected =
        reject_order(w.change_ports(), &owner(), &order.order_id, Some("out of rice")).await.unwrap();
    assert_eq!(rejected.status, OrderStatus::Rejected);
    assert_eq!(rejected.timeline.last().unwrap().reason.as_deref(), Some("out of rice"));
    assert_eq!(w.store.stock_of(STORE, "bibimbap"), Some(10));
    let err = accept_order(w.change_ports(), &customer(), &order.order_id).await.unwrap_err();
    assert_eq!(api(err), (403, "FORBIDDEN"));
}

#[tokio::test]
async fn rule_5_customer_cancels_while_paid_with_stock_back_but_not_after_accept() {
    let w = world().await;
    let order = w.place(&customer(), &[("kimchi", 2)]).await.unwrap().order;
    let cancelled = cancel_order(w.change_ports(), &customer(), &order.order_id, None).await.unwrap();
    assert_eq!(cancelled.status, OrderStatus::Cancelled);
    assert_eq!(w.store.stock_of(STORE, "kimchi"), Some(5));

    let order = w.place(&customer(), &[("kimchi", 2)]).await.unwrap().order;
    accept_order(w.change_ports(), &owner(), &order.order_id).await.unwrap();
    let err = cancel_order(w.change_ports(), &customer(), &order.order_id, None).await.unwrap_err();
    let api_error = foodstream_handlers::http::error::ApiError::from(&err);
    assert_eq!((api_error.status, api_error.code), (409, "INVALID_STATUS"));
    assert_eq!(api_error.body()["error"]["details"]["current_status"], "ACCEPTED");
    assert_eq!(w.store.stock_of(STORE, "kimchi"), Some(3));
    let err = cancel_order(w.change_ports(), &other_customer(), &order.order_id, None).await.unwrap_err();
    assert_eq!(api(err), (404, "NOT_FOUND"));
}

#[tokio::test]
async fn a_change_that_loses_a_race_is_recomputed_and_refused_with_the_new_status() {
    let w = world().await;
    let order = w.place(&customer(), &[("bibimbap", 1)]).await.unwrap().order;
    let racing = Interfering::new(&w.store);
    racing.cancel_before_update.store(true, Ordering::SeqCst);
    let current = w.store.get(&OrderId::new(order.order_id.clone())).await.unwrap().unwrap();
    let now = current.updated_at;
    let err = change_order(&racing, &w.settings, current, |o| Ok(o.accept(now)?.into())).await.unwrap_err();
    let api_error = foodstream_handlers::http::error::ApiError::from(&err);
    assert_eq!(api_error.code, "INVALID_STATUS");
    assert_eq!(api_error.details["current_status"], "CANCELLED");
}

#[tokio::test]
async fn an_unavailable_store_is_503_never_a_client_error() {
    let w = world().await;
    let order = w.place(&customer(), &[("bibimbap", 1)]).await.unwrap().order;
    w.store.set_down(true);
    assert_eq!(
        api(get_order(&*w.store, &*w.clock, &customer(), &order.order_id).await.unwrap_err()),
        (503, "SERVICE_UNAVAILABLE")
    );
    assert_eq!(
        api(w.place(&customer(), &[("bibimbap", 1)]).await.unwrap_err()),
        (503, "SERVICE_UNAVAILABLE")
    );
}
