//! The defects of issue 12 that live in the use cases, over the in-memory
//! adapters: every test here failed on the code before its fix.

mod support;
use support::*;

use async_trait::async_trait;
use foodstream_application::Settings;
use foodstream_application::consumers::dispatch_delivery;
use foodstream_domain::Timestamp;
use foodstream_domain::delivery::{Rider, RiderStatus, Zone};
use foodstream_domain::events::DeliveryEventType;
use foodstream_domain::ids::RiderId;
use foodstream_domain::ports::{PortError, RiderRepository};
use foodstream_memory::InMemoryStore;

// Defect 10: an out-of-range setting is a named error at init, never a
// panic, and a delivery time must fit the dispatcher's timeout.
#[test]
fn out_of_range_settings_are_named_errors_not_panics() {
    let huge = i64::MAX.to_string();
    let cases = [
        ("REFUND_WINDOW_SECONDS", huge.as_str()),
        ("LOG_RETENTION_DAYS", huge.as_str()),
        ("DELIVERY_DURATION_MS", huge.as_str()),
        // Longer than the dispatcher's 30 s timeout can wait out.
        ("DELIVERY_DURATION_MS", "60000"),
        ("REFUND_WINDOW_SECONDS", "0"),
    ];
    for (name, value) in cases {
        let read =
            std::panic::catch_unwind(|| Settings::from_lookup(|k| (k == name).then(|| value.to_owned())));
        let result = read.unwrap_or_else(|_| panic!("{name}={value} panicked"));
        let error = result.expect_err(&format!("{name}={value} is out of range"));
        assert!(
            matches!(error, foodstream_config::ConfigError::Invalid { name: named, .. } if named == name),
            "{error}"
        );
        assert!(error.to_string().contains(name), "{error}");
    }
}

/// The riders' index as DynamoDB's eventually consistent GSI may show it:
/// every rider still busy, although one has just been freed.
struct LaggingIndex<'a>(&'a InMemoryStore);

#[async_trait]
impl RiderRepository for LaggingIndex<'_> {
    async fn upsert(&self, rider: &RiderId, zone: &Zone, at: Timestamp) -> Result<Rider, PortError> {
        self.0.upsert(rider, zone, at).await
    }
    async fn get(&self, rider: &RiderId) -> Result<Option<Rider>, PortError> {
        self.0.get(rider).await
    }
    async fn in_zone(&self, zone: &Zone) -> Result<Vec<Rider>, PortError> {
        let riders = self.0.in_zone(zone).await?;
        Ok(riders.into_iter().map(|r| Rider { status: RiderStatus::Busy, ..r }).collect())
    }
}

// Defect 4: an index that lags is not a busy zone: the candidates are read
// again, consistently, before ALL_RIDERS_BUSY is recorded.
#[tokio::test]
async fn a_lagging_rider_index_is_read_again_before_failing_the_delivery() {
    let w = World::new().with_menu(&[("bibimbap", 9000, 10)]).await;
    w.register_rider("r-1", "Gangnam-gu").await;
    let (_, request) = w.delivery_requested().await;
    let lagging = LaggingIndex(&w.store);
    let mut ports = w.dispatch_ports();
    ports.riders = &lagging;
    dispatch_delivery(&ports, &w.timer, &request, None).await.unwrap();
    w.fire_timers().await;
    let (_, deliveries, _) = split(&w.publisher.take());
    let types: Vec<_> = deliveries.iter().map(|e| e.event_type).collect();
    assert_eq!(types, [DeliveryEventType::RiderAssigned, DeliveryEventType::DeliveryCompleted]);
}

/// The riders' index as it may show a rider who has just moved: still in
/// the zone they left.
struct StaleZoneIndex<'a> {
    store: &'a InMemoryStore,
    left: Zone,
}

#[async_trait]
impl RiderRepository for StaleZoneIndex<'_> {
    async fn upsert(&self, rider: &RiderId, zone: &Zone, at: Timestamp) -> Result<Rider, PortError> {
        self.store.upsert(rider, zone, at).await
    }
    async fn get(&self, rider: &RiderId) -> Result<Option<Rider>, PortError> {
        self.store.get(rider).await
    }
    async fn in_zone(&self, zone: &Zone) -> Result<Vec<Rider>, PortError> {
        let mut riders = self.store.in_zone(zone).await?;
        if *zone == self.left {
            let moved = self.store.in_zone(&Zone::from_district("Mapo-gu")).await?;
            riders.extend(moved.into_iter().map(|r| Rider { zone: self.left.clone(), ..r }));
        }
        Ok(riders)
    }
}

// A rider who has just left the order's zone is not taken for it,
// though a lagging index still lists them there; the delivery fails as no
// rider of the zone was free.
#[tokio::test]
async fn a_rider_who_just_left_the_zone_is_not_taken_for_it() {
    let w = World::new().with_menu(&[("bibimbap", 9000, 10)]).await;
    w.register_rider("r-1", "Gangnam-gu").await;
    w.register_rider("r-1", "Mapo-gu").await;
    let (_, request) = w.delivery_requested().await;
    let stale = StaleZoneIndex { store: &w.store, left: Zone::from_district("Gangnam-gu") };
    let mut ports = w.dispatch_ports();
    ports.riders = &stale;
    dispatch_delivery(&ports, &w.timer, &request, None).await.unwrap();
    let (_, deliveries, _) = split(&w.publisher.take());
    let types: Vec<_> = deliveries.iter().map(|e| e.event_type).collect();
    assert_eq!(types, [DeliveryEventType::DeliveryFailed]);
    let rider = w.store.get(&RiderId::new("r-1")).await.unwrap().unwrap();
    assert_eq!((rider.status, rider.zone.as_str()), (RiderStatus::Available, "mapo-gu"));
}

/// A delivered order and the world it lives in; the clock is at delivery.
async fn delivered() -> (World, String) {
    let mut w = World::new().with_menu(&[("bibimbap", 9000, 10)]).await;
    w.register_rider("r-1", "Gangnam-gu").await;
    let id = w.place(&customer(), &[("bibimbap", 1)]).await.unwrap().order.order_id;
    foodstream_application::ordering::accept_order(w.change_ports(), &owner(), &id).await.unwrap();
    foodstream_application::ordering::request_delivery(w.change_ports(), &owner(), &id).await.unwrap();
    w.pump().await;
    (w, id)
}

// The refund pins the photo it checked; a new upload at the
// order's key (the presigned POST stays valid for 300 s and can be reused)
// changes nothing of what the owner sees.
#[tokio::test]
async fn a_refund_photo_replaced_after_the_request_is_not_what_the_owner_sees() {
    use foodstream_application::refunds::{PhotoUploadInput, create_photo_upload, request_refund};
    use foodstream_domain::refund::RefundRequestInput;
    let (w, id) = delivered().await;
    let input = PhotoUploadInput { content_type: "image/jpeg".into() };
    let upload = create_photo_upload(w.photo_ports(), &customer(), &id, input).await.unwrap();
    w.photos.upload_object(&upload.photo_key, 1000, "image/jpeg");
    let checked = w.photos.object(&upload.photo_key).unwrap();
    let ask = RefundRequestInput {
        photo_key: upload.photo_key.clone(),
        reason: "cold".into(),
        method: "REFUND".into(),
    };
    let asked = request_refund(w.change_ports(), &w.photos, &customer(), &id, ask).await.unwrap();
    let pinned = asked.refund.as_ref().unwrap().photo_key.clone();
    assert_ne!(pinned, upload.photo_key, "the refund names its own copy");

    w.photos.upload_object(&upload.photo_key, 4000, "image/png");
    let seen = w.order(&id).await;
    assert_eq!(seen.refund.unwrap().photo_key, pinned);
    assert_eq!(w.photos.object(&pinned), Some(checked), "the owner sees the photo that was checked");
}

// `refund_deadline` is shown only while a refund can be asked for:
// it is gone once the window has closed.
#[tokio::test]
async fn refund_deadline_is_gone_once_the_window_has_closed() {
    let (w, id) = delivered().await;
    let open = w.order(&id).await.refund_deadline.expect("shown while the window is open");
    w.later(open - w.clock_now());
    assert_eq!(w.order(&id).await.refund_deadline, Some(open), "the deadline itself is inside the window");
    w.later(chrono::Duration::seconds(1));
    assert_eq!(w.order(&id).await.refund_deadline, None, "gone once a refund can no longer be asked for");
    let mine =
        foodstream_application::ordering::list_my_orders(&*w.store, &*w.clock, &customer(), None, None)
            .await
            .unwrap();
    assert_eq!(mine.items[0].refund_deadline, None, "lists say the same");
}

// One-line text refuses newlines, tabs and every other control
// character, naming the field; only a reason may hold newlines and tabs.
#[tokio::test]
async fn a_newline_in_one_line_text_is_a_400_naming_the_field() {
    use foodstream_application::catalog::put_menu_item;
    use foodstream_domain::catalog::MenuItemInput;
    let w = World::new().with_menu(&[("bibimbap", 9000, 10)]).await;
    let item = MenuItemInput { name: "Fried\nChicken".into(), price: 18000, stock: Some(5) };
    let err = put_menu_item(&*w.store, &owner(), STORE, "chicken", None, item).await.unwrap_err();
    match err {
        foodstream_application::AppError::Invalid(e) => assert_eq!(e.fields()[0].field, "name"),
        other => panic!("{other:?}"),
    }
    let mut input = order_input(&[("bibimbap", 1)]);
    input.address.street = "1 Teheran-ro\t2F".into();
    let placed =
        foodstream_application::ordering::place_order(w.place_ports(), &customer(), None, input, None).await;
    match placed.unwrap_err() {
        foodstream_application::AppError::Invalid(e) => assert_eq!(e.fields()[0].field, "address.street"),
        other => panic!("{other:?}"),
    }
    let id = w.place(&customer(), &[("bibimbap", 1)]).await.unwrap().order.order_id;
    let rejected = foodstream_application::ordering::reject_order(
        w.change_ports(),
        &owner(),
        &id,
        Some("sold out\ntoday"),
    )
    .await
    .unwrap();
    assert_eq!(rejected.status, foodstream_domain::order::OrderStatus::Rejected, "a reason keeps its lines");
}

// A delivery request whose dispatcher never recorded an attempt
// (it ran out of retries first, or the event never reached it) is decided
// by the sweeper a grace period later, and the delivery runs to its end,
// each event applied once.
#[tokio::test]
async fn a_request_no_dispatcher_decided_is_decided_and_finished_by_the_sweeper() {
    use foodstream_application::sweeper::{Swept, sweep_deliveries};
    use foodstream_domain::order::OrderStatus;
    let mut w = World::new().with_menu(&[("bibimbap", 9000, 10)]).await;
    w.register_rider("r-1", "Gangnam-gu").await;
    // The request event is drained and never dispatched.
    let (id, _) = w.delivery_requested().await;
    assert_eq!(sweep_deliveries(&w.sweep_ports()).await.unwrap(), Swept::default(), "within its grace");
    w.later(chrono::Duration::seconds(61));
    let decided_at = w.clock_now();
    // The sweep takes the rider, then completes the delivery at its time
    // (one second later), as the dispatcher would have.
    assert_eq!(sweep_deliveries(&w.sweep_ports()).await.unwrap(), Swept { resumed: 1, completed: 0 });
    assert_eq!(w.clock_now(), decided_at + chrono::Duration::seconds(1), "waited the delivery time, no more");
    w.pump().await;
    let order = w.order(&id).await;
    assert_eq!(order.status, OrderStatus::Delivered);
    assert_eq!(order.delivered_at, Some(decided_at + chrono::Duration::seconds(1)));
    let steps: Vec<_> = order.timeline.iter().map(|e| e.status).collect();
    assert_eq!(
        steps,
        [
            OrderStatus::Paid,
            OrderStatus::Accepted,
            OrderStatus::DeliveryRequested,
            OrderStatus::Delivering,
            OrderStatus::Delivered
        ],
        "each step once"
    );
    let rider = w.store.get(&RiderId::new("r-1")).await.unwrap().unwrap();
    assert_eq!(rider.status, RiderStatus::Available, "the rider is free again");
    assert_eq!(sweep_deliveries(&w.sweep_ports()).await.unwrap(), Swept::default());
}

// A failure recorded but never published (the dispatcher died, or
// its publishes kept failing until its retries ran out) reaches the order
// through the sweeper, and the owner may request delivery again.
#[tokio::test]
async fn a_failure_recorded_but_never_published_reaches_the_order_through_the_sweeper() {
    use foodstream_application::sweeper::{Swept, sweep_deliveries};
    use foodstream_domain::delivery::DeliveryFailureReason;
    use foodstream_domain::order::OrderStatus;
    use foodstream_domain::ports::DeliveryRepository;
    let mut w = World::new().with_menu(&[("bibimbap", 9000, 10)]).await;
    let (id, requested) = w.delivery_requested().await;
    let failed =
        requested.delivery_request().unwrap().fail(DeliveryFailureReason::NoRiderInZone, w.clock_now());
    assert!(w.store.record_failure(&failed).await.unwrap());
    w.later(chrono::Duration::seconds(61));
    assert_eq!(sweep_deliveries(&w.sweep_ports()).await.unwrap(), Swept { resumed: 1, completed: 0 });
    let round = w.pump().await;
    let failures: Vec<_> = round.delivery_events.iter().map(|e| e.event_id.to_string()).collect();
    assert_eq!(failures, [format!("{id}:d3:failed")], "the recorded decision, not a new one");
    assert_eq!(w.order(&id).await.status, OrderStatus::DeliveryFailed);
    foodstream_application::ordering::request_delivery(w.change_ports(), &owner(), &id).await.unwrap();
}
