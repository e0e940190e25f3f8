//! An order whose every write loses its race: both kinds of order change
//! (an API call and a delivery event) go through the one optimistic loop,
//! read the order afresh after each lost race, stop after the configured
//! attempts, and say so each in its own terms.

mod support;
use support::*;

use async_trait::async_trait;
use foodstream_application::AppError;
use foodstream_application::consumers::{ConsumeError, apply_delivery_event, dispatch_delivery};
use foodstream_application::ordering::{ChangePorts, accept_order};
use foodstream_domain::ids::{OrderId, StoreId, UserId};
use foodstream_domain::order::{Order, OrderStatus};
use foodstream_domain::ports::{
    IdempotencyRecord, OrderRepository, OrderUpdate, Page, PageRequest, PlaceError, Placement, PortError,
    UpdateError,
};
use foodstream_memory::InMemoryStore;
use std::sync::atomic::{AtomicU32, Ordering};

/// The store, except that every write of an order finds it changed.
struct AlwaysRaced<'a> {
    store: &'a InMemoryStore,
    reads: AtomicU32,
    writes: AtomicU32,
}

#[async_trait]
impl OrderRepository for AlwaysRaced<'_> {
    async fn place(&self, placement: &Placement) -> Result<(), PlaceError> {
        self.store.place(placement).await
    }
    async fn get(&self, order: &OrderId) -> Result<Option<Order>, PortError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.store.get(order).await
    }
    async fn update(&self, _: &OrderUpdate) -> Result<(), UpdateError> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        Err(UpdateError::VersionConflict)
    }
    async fn list_for_customer(
        &self,
        customer: &UserId,
        page: &PageRequest,
    ) -> Result<Page<Order>, PortError> {
        self.store.list_for_customer(customer, page).await
    }
    async fn list_for_store(
        &self,
        store: &StoreId,
        status: Option<OrderStatus>,
        page: &PageRequest,
    ) -> Result<Page<Order>, PortError> {
        self.store.list_for_store(store, status, page).await
    }
    async fn find_idempotency(
        &self,
        customer: &UserId,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, PortError> {
        self.store.find_idempotency(customer, key).await
    }
    async fn awaiting_delivery(
        &self,
        requested_by: foodstream_domain::Timestamp,
        limit: usize,
    ) -> Result<Vec<foodstream_domain::order::Order>, PortError> {
        self.store.awaiting_delivery(requested_by, limit).await
    }
}

fn raced(store: &InMemoryStore) -> AlwaysRaced<'_> {
    AlwaysRaced { store, reads: AtomicU32::new(0), writes: AtomicU32::new(0) }
}

#[tokio::test]
async fn an_api_change_that_keeps_losing_its_race_is_a_409_after_the_configured_attempts() {
    let w = World::new().with_menu(&[("bibimbap", 9000, 10)]).await;
    let id = w.place(&customer(), &[("bibimbap", 1)]).await.unwrap().order.order_id;
    let orders = raced(&w.store);
    let ports = ChangePorts { orders: &orders, clock: &*w.clock, settings: &w.settings };
    let error = accept_order(ports, &owner(), &id).await.unwrap_err();
    assert!(matches!(error, AppError::ConcurrentUpdate), "{error:?}");
    let attempts = w.settings.version_conflict_attempts;
    assert_eq!(orders.writes.load(Ordering::SeqCst), attempts);
    // The first read is the caller's (it checks who may act); every lost
    // race reads the order again before deciding again.
    assert_eq!(orders.reads.load(Ordering::SeqCst), attempts);
    assert_eq!(w.order(&id).await.status, OrderStatus::Paid, "nothing written");
}

#[tokio::test]
async fn a_delivery_event_that_keeps_losing_its_race_is_retried_not_dropped() {
    let mut w = World::new().with_menu(&[("bibimbap", 9000, 10)]).await;
    w.register_rider("rider-1", "Gangnam-gu").await;
    let (id, request) = w.delivery_requested().await;
    dispatch_delivery(&w.dispatch_ports(), &w.timer, &request, None).await.unwrap();
    let (_, deliveries, _) = split(&w.publisher.take());
    let orders = raced(&w.store);
    let error = apply_delivery_event(&orders, &*w.clock, &w.settings, &deliveries[0]).await.unwrap_err();
    assert!(matches!(error, ConsumeError::Port(PortError::Unavailable(_))), "{error:?}");
    let attempts = w.settings.version_conflict_attempts;
    assert_eq!(orders.writes.load(Ordering::SeqCst), attempts);
    assert_eq!(orders.reads.load(Ordering::SeqCst), attempts, "read afresh before every attempt");
    // Applied for real, it still moves the order on.
    apply_delivery_event(&*w.store, &*w.clock, &w.settings, &deliveries[0]).await.unwrap();
    assert_eq!(w.order(&id).await.status, OrderStatus::Delivering);
    w.pump().await;
}
