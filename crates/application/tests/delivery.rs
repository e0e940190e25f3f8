//! Calling a rider, the dispatcher and the order delivery updater, end to
//! end over the in-memory adapters.

mod support;
use support::*;

use chrono::Duration;
use foodstream_application::consumers::{Outcome, apply_delivery_event, dispatch_delivery};
use foodstream_application::ordering::{accept_order, cancel_order, request_delivery};
use foodstream_domain::delivery::{
    DeliveryFailureReason, DeliveryRequest, DeliverySettings, RiderStatus, Zone,
};
use foodstream_domain::events::{DeliveryEventType, OrderEventType};
use foodstream_domain::ids::{OrderId, RiderId, StoreId, UserId};
use foodstream_domain::order::OrderStatus;
use foodstream_domain::ports::{AssignOutcome, Clock, DeliveryRepository, PortError};

async fn world() -> World {
    World::new().with_menu(&[("bibimbap", 9000, 10)]).await
}

/// An accepted order for which the owner just called a rider.
async fn requested(w: &mut World) -> String {
    let id = w.place(&customer(), &[("bibimbap", 2)]).await.unwrap().order.order_id;
    accept_order(w.change_ports(), &owner(), &id).await.unwrap();
    let order = request_delivery(w.change_ports(), &owner(), &id).await.unwrap();
    assert_eq!(order.status, OrderStatus::DeliveryRequested);
    id
}

/// Makes a rider busy with some other order's delivery.
async fn occupy(w: &World, rider: &str) {
    let request = DeliveryRequest {
        order_id: OrderId::new(format!("other-{rider}")),
        request_version: 3,
        customer_id: UserId::new("someone"),
        store_id: StoreId::new(STORE),
        zone: Zone::from_district("gangnam-gu"),
        redelivery: false,
        trace: None,
    };
    let delivery = request.assign(RiderId::new(rider), w.clock.now(), &DeliverySettings::default());
    assert_eq!(w.store.assign(&delivery).await.unwrap(), AssignOutcome::Assigned);
}

#[tokio::test]
async fn rule_6_9_10_a_rider_of_the_zone_delivers_one_second_after_assignment() {
    let mut w = world().await;
    w.register_rider("r-1", " GANGNAM-gu ").await;
    w.register_rider("r-2", "Mapo-gu").await;
    let id = requested(&mut w).await;
    let assigned_at = w.clock.now();
    let traffic = w.pump().await;

    let order = w.order(&id).await;
    assert_eq!(order.status, OrderStatus::Delivered);
    assert_eq!(order.rider_id.as_deref(), Some("r-1"));
    assert_eq!(order.delivered_at, Some(assigned_at + Duration::seconds(1)));
    let statuses: Vec<_> = order.timeline.iter().map(|e| e.status).collect();
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
    assert_eq!(w.clock.sleeps(), [assigned_at + Duration::seconds(1)]);
    let rider = w.store.rider("r-1").unwrap();
    assert_eq!(rider.status, RiderStatus::Available, "the rider is free again");
    assert_eq!(rider.available_since, assigned_at + Duration::seconds(1));
    let types: Vec<_> = traffic.delivery_events.iter().map(|e| e.event_type).collect();
    assert_eq!(types, [DeliveryEventType::RiderAssigned, DeliveryEventType::DeliveryCompleted]);
}

#[tokio::test]
async fn rule_10_the_delivery_duration_is_configurable() {
    let mut w = world().await;
    w.settings.delivery = DeliverySettings::from_millis(250);
    w.register_rider("r-1", "Gangnam-gu").await;
    let id = requested(&mut w).await;
    let start = w.clock.now();
    w.pump().await;
    assert_eq!(w.order(&id).await.delivered_at, Some(start + Duration::milliseconds(250)));
}

#[tokio::test]
async fn rule_9_all_riders_of_the_zone_busy_fails_the_delivery_with_the_reason() {
    let mut w = world().await;
    w.register_rider("r-1", "Gangnam-gu").await;
    w.register_rider("r-2", "Gangnam-gu").await;
    w.register_rider("r-3", "Mapo-gu").await;
    occupy(&w, "r-1").await;
    occupy(&w, "r-2").await;
    let id = requested(&mut w).await;
    let traffic = w.pump().await;
    let order = w.order(&id).await;
    assert_eq!(order.status, OrderStatus::DeliveryFailed);
    assert_eq!(
        order.timeline.last().unwrap().reason.as_deref(),
        Some(DeliveryFailureReason::AllRidersBusy.message())
    );
    assert_eq!(traffic.delivery_events[0].data.reason, Some(DeliveryFailureReason::AllRidersBusy));
    assert_eq!(w.store.rider("r-3").unwrap().status, RiderStatus::Available, "other zones are not used");
}

#[tokio::test]
async fn rule_9_no_rider_in_the_zone_fails_and_the_owner_may_request_again_or_cancel() {
    let mut w = world().await;
    let id = requested(&mut w).await;
    w.pump().await;
    assert_eq!(w.order(&id).await.status, OrderStatus::DeliveryFailed);
    assert_eq!(w.traffic.delivery_events[0].data.reason, Some(DeliveryFailureReason::NoRiderInZone));

    // A rider arrives; the owner calls again.
    w.register_rider("r-1", "gangnam-gu").await;
    request_delivery(w.change_ports(), &owner(), &id).await.unwrap();
    w.pump().await;
    assert_eq!(w.order(&id).await.status, OrderStatus::Delivered);

    // Another order fails and is cancelled by the owner: the food was
    // cooked, so no stock goes back.
    occupy(&w, "r-1").await;
    let second = requested(&mut w).await;
    w.pump().await;
    assert_eq!(w.order(&second).await.status, OrderStatus::DeliveryFailed);
    let stock = w.store.stock_of(STORE, "bibimbap");
    let err = cancel_order(w.change_ports(), &customer(), &second, None).await.unwrap_err();
    assert_eq!(api(err), (409, "INVALID_STATUS"));
    let cancelled =
        cancel_order(w.change_ports(), &owner(), &second, Some("no riders tonight")).await.unwrap();
    assert_eq!(cancelled.status, OrderStatus::Cancelled);
    assert_eq!(w.store.stock_of(STORE, "bibimbap"), stock);
}

#[tokio::test]
async fn a_replayed_delivery_request_takes_no_second_rider() {
    let mut w = world().await;
    w.register_rider("r-1", "Gangnam-gu").await;
    w.register_rider("r-2", "Gangnam-gu").await;
    let id = requested(&mut w).await;
    let traffic = w.pump().await;
    let request = traffic
        .order_events
        .iter()
        .find(|e| e.event_type == OrderEventType::OrderDeliveryRequested)
        .unwrap()
        .clone();
    let ports = w.dispatch_ports();
    assert_eq!(dispatch_delivery(&ports, &w.timer, &request, None).await.unwrap(), Outcome::Duplicate);
    assert_eq!(w.store.rider("r-2").unwrap().status, RiderStatus::Available);
    // It re-published what it had produced; the updater ignores both.
    let republished = w.pump().await;
    assert_eq!(republished.delivery_events.len(), 2);
    assert!(republished.order_events.is_empty(), "the order did not move");
    assert_eq!(w.order(&id).await.version, 5);
}

#[tokio::test]
async fn duplicate_and_stale_delivery_events_are_ignored() {
    let mut w = world().await;
    w.register_rider("r-1", "Gangnam-gu").await;
    let id = requested(&mut w).await;
    let traffic = w.pump().await;
    let assigned = traffic.delivery_events[0].clone();
    let completed = traffic.delivery_events[1].clone();
    let before = w.order(&id).await;

    let same_again = apply_delivery_event(&*w.store, &*w.clock, &w.settings, &completed).await.unwrap();
    assert_eq!(same_again, Outcome::Duplicate);
    let late_assignment = apply_delivery_event(&*w.store, &*w.clock, &w.settings, &assigned).await.unwrap();
    assert_eq!(late_assignment, Outcome::Stale);
    assert_eq!(w.order(&id).await, before, "nothing moved backwards");
    assert!(w.store.drain_outbox().is_empty(), "no new order events");
}

#[tokio::test]
async fn a_completion_that_overtakes_its_assignment_applies_both() {
    let mut w = world().await;
    w.register_rider("r-1", "Gangnam-gu").await;
    let id = requested(&mut w).await;
    // Run the dispatcher alone, then deliver its events in reverse order.
    let changes = w.store.drain_outbox();
    let request = changes.iter().find(|e| e.event_type == OrderEventType::OrderDeliveryRequested).unwrap();
    dispatch_delivery(&w.dispatch_ports(), &w.timer, request, None).await.unwrap();
    w.fire_timers().await;
    let (_, deliveries, _) = split(&w.publisher.take());
    assert_eq!(
        apply_delivery_event(&*w.store, &*w.clock, &w.settings, &deliveries[1]).await.unwrap(),
        Outcome::Applied
    );
    assert_eq!(
        apply_delivery_event(&*w.store, &*w.clock, &w.settings, &deliveries[0]).await.unwrap(),
        Outcome::Stale
    );
    let order = w.order(&id).await;
    assert_eq!(order.status, OrderStatus::Delivered);
    assert_eq!(order.timeline.len(), 5);
}

#[tokio::test]
async fn a_delivery_event_for_an_unknown_order_is_unprocessable_not_retried_forever() {
    let mut w = world().await;
    w.register_rider("r-1", "Gangnam-gu").await;
    requested(&mut w).await;
    let traffic = w.pump().await;
    let mut orphan = traffic.delivery_events[0].clone();
    orphan.order_id = OrderId::new("ghost");
    let err = apply_delivery_event(&*w.store, &*w.clock, &w.settings, &orphan).await.unwrap_err();
    assert!(matches!(err, foodstream_application::consumers::ConsumeError::Unprocessable { .. }));
}

// ---------------------------------------------------------------------------
// The durable timer: the dispatcher never waits, the completer finishes.

/// The request event of an accepted order sent for delivery, the relay's
/// output drained so each test plays the consumers by hand.
async fn request_event(w: &mut World) -> foodstream_domain::events::OrderEvent {
    requested(w).await;
    w.store
        .drain_outbox()
        .into_iter()
        .find(|e| e.event_type == OrderEventType::OrderDeliveryRequested)
        .unwrap()
}

#[tokio::test]
async fn rule_10_the_dispatcher_hands_the_wait_to_the_timer_and_returns_at_once() {
    let mut w = world().await;
    w.settings.delivery = DeliverySettings::from_millis(1500);
    w.register_rider("r-1", "Gangnam-gu").await;
    let request = request_event(&mut w).await;
    let decided_at = w.clock.now();
    dispatch_delivery(&w.dispatch_ports(), &w.timer, &request, None).await.unwrap();
    assert!(w.clock.sleeps().is_empty(), "the dispatcher slept: {:?}", w.clock.sleeps());
    let (_, deliveries, _) = split(&w.publisher.take());
    let types: Vec<_> = deliveries.iter().map(|e| e.event_type).collect();
    assert_eq!(types, [DeliveryEventType::RiderAssigned]);
    let scheduled = w.timer.scheduled();
    assert_eq!(scheduled.len(), 1, "{scheduled:?}");
    let (due, after) = &scheduled[0];
    assert_eq!(due.delivery_id, format!("{}#{}", request.order_id, request.order_version));
    assert_eq!(due.completes_at, decided_at + Duration::milliseconds(1500));
    assert_eq!(*after, std::time::Duration::from_millis(1500));
    assert_eq!(w.store.rider("r-1").unwrap().status, RiderStatus::Busy);

    // The timer fires: the completer waits out what is left, publishes the
    // completion at its planned time and frees the rider.
    assert_eq!(w.fire_timers().await, [Outcome::Applied]);
    assert_eq!(w.clock.sleeps(), [decided_at + Duration::milliseconds(1500)]);
    let (_, deliveries, _) = split(&w.publisher.take());
    let types: Vec<_> = deliveries.iter().map(|e| e.event_type).collect();
    assert_eq!(types, [DeliveryEventType::DeliveryCompleted]);
    assert_eq!(deliveries[0].occurred_at, decided_at + Duration::milliseconds(1500));
    let rider = w.store.rider("r-1").unwrap();
    assert_eq!((rider.status, rider.available_since), (RiderStatus::Available, due.completes_at));
}

#[tokio::test]
async fn a_completion_delivered_twice_completes_once_and_publishes_once() {
    use foodstream_application::consumers::complete_due_delivery;
    let mut w = world().await;
    w.register_rider("r-1", "Gangnam-gu").await;
    let request = request_event(&mut w).await;
    dispatch_delivery(&w.dispatch_ports(), &w.timer, &request, None).await.unwrap();
    // The dispatcher's batch came again: the same attempt, scheduled again.
    dispatch_delivery(&w.dispatch_ports(), &w.timer, &request, None).await.unwrap();
    let due: Vec<_> = w.timer.take();
    assert_eq!(due.len(), 2);
    w.publisher.take();
    let ports = w.complete_ports();
    assert_eq!(complete_due_delivery(&ports, &due[0]).await.unwrap(), Outcome::Applied);
    assert_eq!(complete_due_delivery(&ports, &due[1]).await.unwrap(), Outcome::Duplicate);
    assert_eq!(complete_due_delivery(&ports, &due[0]).await.unwrap(), Outcome::Duplicate);
    let (_, deliveries, _) = split(&w.publisher.take());
    let types: Vec<_> = deliveries.iter().map(|e| e.event_type).collect();
    assert_eq!(types, [DeliveryEventType::DeliveryCompleted], "one completion, once");
}

#[tokio::test]
async fn a_completion_that_reached_the_broker_but_not_the_table_is_published_again() {
    use foodstream_application::consumers::{CompletePorts, ConsumeError, complete_due_delivery};
    let mut w = world().await;
    w.register_rider("r-1", "Gangnam-gu").await;
    let request = request_event(&mut w).await;
    dispatch_delivery(&w.dispatch_ports(), &w.timer, &request, None).await.unwrap();
    let due = w.timer.take().remove(0);
    w.publisher.take();
    // Published, then the write fails: the delivery stays assigned.
    let failing = FailingCompletion(&w.store);
    let ports = CompletePorts { deliveries: &failing, ..w.complete_ports() };
    let error = complete_due_delivery(&ports, &due).await.unwrap_err();
    assert!(matches!(error, ConsumeError::Port(_)), "{error:?}");
    assert_eq!(w.store.rider("r-1").unwrap().status, RiderStatus::Busy);
    // The message comes again: the same event (same id) again, then recorded.
    let first = w.publisher.take();
    assert_eq!(complete_due_delivery(&w.complete_ports(), &due).await.unwrap(), Outcome::Applied);
    let again = w.publisher.take();
    let ids = |m: &[foodstream_domain::ports::OutgoingMessage]| -> Vec<String> {
        m.iter().map(|m| m.event_id.clone()).collect()
    };
    assert_eq!(ids(&again), ids(&first), "one event id: the updater applies it once");
    assert_eq!(w.store.rider("r-1").unwrap().status, RiderStatus::Available);
}

#[tokio::test]
async fn completions_no_dispatcher_scheduled_are_refused_or_skipped_never_applied() {
    use foodstream_application::consumers::{ConsumeError, complete_due_delivery};
    use foodstream_domain::timer::CompletionDue;
    let mut w = world().await;
    // No rider: the attempt fails, and a completion for it changes nothing.
    let request = request_event(&mut w).await;
    dispatch_delivery(&w.dispatch_ports(), &w.timer, &request, None).await.unwrap();
    assert!(w.timer.scheduled().is_empty(), "a failed attempt has no timer");
    w.publisher.take();
    let failed = CompletionDue {
        delivery_id: format!("{}#{}", request.order_id, request.order_version),
        completes_at: w.clock.now(),
    };
    assert_eq!(complete_due_delivery(&w.complete_ports(), &failed).await.unwrap(), Outcome::Skipped);
    // A delivery nobody recorded: unprocessable, parked by the handler.
    let unknown = CompletionDue { delivery_id: "nobody#3".into(), completes_at: w.clock.now() };
    let error = complete_due_delivery(&w.complete_ports(), &unknown).await.unwrap_err();
    assert!(matches!(error, ConsumeError::Unprocessable { .. }), "{error:?}");
    assert!(w.publisher.take().is_empty());
}

#[tokio::test]
async fn a_timer_that_cannot_be_set_fails_the_call_and_the_retry_sets_it() {
    use foodstream_application::consumers::ConsumeError;
    let mut w = world().await;
    w.register_rider("r-1", "Gangnam-gu").await;
    let request = request_event(&mut w).await;
    w.timer.set_down(true);
    let error = dispatch_delivery(&w.dispatch_ports(), &w.timer, &request, None).await.unwrap_err();
    assert!(matches!(error, ConsumeError::Port(_)), "retried, not lost: {error:?}");
    w.timer.set_down(false);
    // The retry finds the attempt it recorded and schedules its completion.
    let outcome = dispatch_delivery(&w.dispatch_ports(), &w.timer, &request, None).await.unwrap();
    assert_eq!(outcome, Outcome::Duplicate);
    assert_eq!(w.timer.scheduled().len(), 1);
    assert_eq!(w.fire_timers().await, [Outcome::Applied]);
    assert_eq!(w.store.rider("r-1").unwrap().status, RiderStatus::Available);
}

#[tokio::test]
async fn a_message_far_earlier_than_its_delivery_is_left_for_later_not_slept_through() {
    use foodstream_application::consumers::{ConsumeError, complete_due_delivery};
    let mut w = world().await;
    w.settings.delivery = DeliverySettings::from_millis(20_000);
    w.register_rider("r-1", "Gangnam-gu").await;
    let request = request_event(&mut w).await;
    dispatch_delivery(&w.dispatch_ports(), &w.timer, &request, None).await.unwrap();
    let due = w.timer.take().remove(0);
    // The record's time decides: a clock 30 s behind it is refused, retried.
    w.clock.set(due.completes_at - Duration::seconds(30));
    let error = complete_due_delivery(&w.complete_ports(), &due).await.unwrap_err();
    assert!(matches!(error, ConsumeError::Port(_)), "{error:?}");
    assert!(w.clock.sleeps().is_empty());
}

/// Deliveries whose completion write fails, everything else as stored.
struct FailingCompletion<'a>(&'a foodstream_memory::InMemoryStore);

#[async_trait::async_trait]
impl DeliveryRepository for FailingCompletion<'_> {
    async fn get(&self, id: &str) -> Result<Option<foodstream_domain::delivery::Delivery>, PortError> {
        DeliveryRepository::get(self.0, id).await
    }
    async fn assign(&self, d: &foodstream_domain::delivery::Delivery) -> Result<AssignOutcome, PortError> {
        self.0.assign(d).await
    }
    async fn record_failure(&self, d: &foodstream_domain::delivery::Delivery) -> Result<bool, PortError> {
        self.0.record_failure(d).await
    }
    async fn complete(
        &self,
        _: &foodstream_domain::delivery::Delivery,
        _: foodstream_domain::Timestamp,
    ) -> Result<bool, PortError> {
        Err(PortError::Unavailable("the deliveries table throttled".into()))
    }
    async fn overdue(
        &self,
        due_by: foodstream_domain::Timestamp,
        limit: usize,
    ) -> Result<Vec<foodstream_domain::delivery::Delivery>, PortError> {
        self.0.overdue(due_by, limit).await
    }
}
