//! Every DynamoDB adapter operation against the real emulator: conditional
//! writes, transactions that roll back, pagination, idempotent inserts,
//! concurrency on stock and riders.

use foodstream_testkit as support;

use chrono::{Duration, TimeZone, Utc};
use foodstream_application::AppError;
use foodstream_application::ordering::{PlaceOrderPorts, place_order};
use foodstream_aws::schema::{CATALOG, DELIVERIES, IDEMPOTENCY, LOGS, NOTIFICATIONS, ORDERS, RIDERS};
use foodstream_aws::{
    DynamoCatalog, DynamoDeliveries, DynamoLogs, DynamoNotifications, DynamoOrders, DynamoRiders, OrderImage,
    SystemClock, TRACE_ATTRIBUTE, UuidIds, order_events_of_change,
};
use foodstream_domain::Timestamp;
use foodstream_domain::catalog::{MenuItem, MenuItemChange};
use foodstream_domain::delivery::{DeliveryRequest, DeliverySettings, RiderStatus, Zone};
use foodstream_domain::events::LogEvent;
use foodstream_domain::identity::Caller;
use foodstream_domain::ids::{OrderId, ProductId, Recipient, RiderId, StoreId, UserId};
use foodstream_domain::log::LogRetention;
use foodstream_domain::notification::{Locale, notifications_for};
use foodstream_domain::order::{Address, Canceller, LineInput, Order, OrderStatus, PlaceOrderInput};
use foodstream_domain::ports::{
    AssignOutcome, CatalogRepository, DeliveryRepository, IdempotencyRecord, LogRepository,
    NotificationRepository, OrderRepository, OrderUpdate, PageRequest, PlaceError, Placement, PortError,
    RiderRepository, UpdateError,
};
use foodstream_domain::stock::StockPlan;
use foodstream_domain::trace::TraceParent;
use std::collections::HashMap;

fn t(seconds: i64) -> Timestamp {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap() + Duration::seconds(seconds)
}

fn item(product: &str, price: i64, stock: i64) -> MenuItem {
    MenuItem {
        store_id: StoreId::new("store-1"),
        product_id: ProductId::new(product),
        name: format!("{product}!"),
        price,
        stock,
        version: 1,
    }
}

fn input(lines: &[(&str, i64)]) -> PlaceOrderInput {
    PlaceOrderInput {
        store_id: "store-1".into(),
        items: lines.iter().map(|(p, q)| LineInput { product_id: (*p).into(), quantity: *q }).collect(),
        address: Address {
            street: "1 Teheran-ro".into(),
            district: "Gangnam-gu".into(),
            city: "Seoul".into(),
        },
    }
}

struct Orders {
    catalog: DynamoCatalog,
    orders: DynamoOrders,
    client: aws_sdk_dynamodb::Client,
    orders_table: String,
}

async fn orders() -> Orders {
    let client = support::dynamodb().await;
    let names = support::tables(&client, &[CATALOG, ORDERS, IDEMPOTENCY]).await;
    let catalog = DynamoCatalog::new(client.clone(), &names[0]);
    for menu_item in [item("bibimbap", 9000, 10), item("kimchi", 8000, 5), item("mandu", 6000, 1)] {
        catalog.save_item(&MenuItemChange::creating(&menu_item)).await.unwrap();
    }
    Orders {
        catalog,
        orders: DynamoOrders::new(client.clone(), &names[1], &names[0], &names[2]),
        client,
        orders_table: names[1].clone(),
    }
}

/// A placement of `lines` for `customer` at `at`, with an optional key.
fn placement(id: &str, customer: &str, lines: &[(&str, i64)], at: Timestamp, key: Option<&str>) -> Placement {
    let valid = input(lines).validate().unwrap();
    let menu: HashMap<_, _> = [item("bibimbap", 9000, 99), item("kimchi", 8000, 99), item("mandu", 6000, 99)]
        .into_iter()
        .map(|i| (i.product_id.clone(), i))
        .collect();
    let (priced, _) = valid.price(&menu).unwrap();
    let transition = Order::place(OrderId::new(id), UserId::new(customer), &valid, priced, at);
    Placement {
        stock: StockPlan::take(&valid.store_id, &valid.lines, &menu).unwrap(),
        idempotency: key.map(|k| IdempotencyRecord {
            customer_id: UserId::new(customer),
            key: k.into(),
            fingerprint: valid.fingerprint.clone(),
            order_id: OrderId::new(id),
            created_at: at,
        }),
        order: transition.order,
        events: transition.events,
    }
}

async fn stock(o: &Orders, product: &str) -> i64 {
    let items = o.catalog.get_items(&StoreId::new("store-1"), &[ProductId::new(product)]).await.unwrap();
    items[0].stock
}

#[tokio::test]
async fn catalog_items_are_put_listed_and_read_by_key() {
    let o = orders().await;
    let saved = o.catalog.save_item(&MenuItemChange::creating(&item("kimchi", 8500, 7))).await.unwrap();
    assert_eq!(saved.version, 2, "an update moves the version on");
    let mut listed = o.catalog.list_items(&StoreId::new("store-1")).await.unwrap();
    listed.sort_by(|a, b| a.product_id.cmp(&b.product_id));
    assert_eq!(
        listed.iter().map(|i| (i.product_id.as_str(), i.price, i.stock)).collect::<Vec<_>>(),
        [("bibimbap", 9000, 10), ("kimchi", 8500, 7), ("mandu", 6000, 1)]
    );
    let some = o
        .catalog
        .get_items(&StoreId::new("store-1"), &[ProductId::new("mandu"), ProductId::new("pizza")])
        .await
        .unwrap();
    assert_eq!(some, vec![item("mandu", 6000, 1)]);
    assert!(o.catalog.list_items(&StoreId::new("store-2")).await.unwrap().is_empty());
}

/// The order's item as stored, attribute by attribute.
async fn raw_order(
    o: &Orders,
    id: &str,
) -> std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue> {
    let key = aws_sdk_dynamodb::types::AttributeValue::S(id.into());
    let answer = o.client.get_item().table_name(&o.orders_table).key("order_id", key).send().await.unwrap();
    answer.item.expect("the order's item")
}

#[tokio::test]
async fn placement_is_one_transaction_that_takes_stock_stores_the_order_and_its_events() {
    let o = orders().await;
    let p = placement("o-1", "c-1", &[("bibimbap", 2), ("kimchi", 1)], t(0), Some("k-1"));
    o.orders.place(&p).await.unwrap();
    assert_eq!((stock(&o, "bibimbap").await, stock(&o, "kimchi").await), (8, 4));
    assert_eq!(o.orders.get(&OrderId::new("o-1")).await.unwrap(), Some(p.order.clone()));
    let record = o.orders.find_idempotency(&UserId::new("c-1"), "k-1").await.unwrap().unwrap();
    assert_eq!(record.order_id.as_str(), "o-1");
    // The stored item carries the events of the change for the stream.
    let raw = raw_order(&o, "o-1").await;
    let image: OrderImage = serde_dynamo::from_item(raw).unwrap();
    let events = order_events_of_change(&image, None).unwrap();
    assert_eq!(events, p.events);
}

#[tokio::test]
async fn a_short_line_rolls_the_whole_placement_back_and_is_named() {
    let o = orders().await;
    let p = placement("o-1", "c-1", &[("bibimbap", 2), ("mandu", 2), ("kimchi", 1)], t(0), Some("k-1"));
    match o.orders.place(&p).await {
        Err(PlaceError::StockShort(lines)) => {
            assert_eq!(lines.len(), 1);
            assert_eq!(lines[0].product_id.as_str(), "mandu");
            assert_eq!(lines[0].requested, 2);
            assert!(lines[0].available.is_none_or(|a| a == 1), "{:?}", lines[0].available);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        (stock(&o, "bibimbap").await, stock(&o, "kimchi").await, stock(&o, "mandu").await),
        (10, 5, 1)
    );
    assert_eq!(o.orders.get(&OrderId::new("o-1")).await.unwrap(), None);
    assert_eq!(o.orders.find_idempotency(&UserId::new("c-1"), "k-1").await.unwrap(), None);
}

#[tokio::test]
async fn a_taken_idempotency_key_rolls_back_the_second_placement() {
    let o = orders().await;
    o.orders.place(&placement("o-1", "c-1", &[("bibimbap", 1)], t(0), Some("k-1"))).await.unwrap();
    let second = placement("o-2", "c-1", &[("bibimbap", 1)], t(1), Some("k-1"));
    assert!(matches!(o.orders.place(&second).await, Err(PlaceError::IdempotencyKeyTaken)));
    assert_eq!(stock(&o, "bibimbap").await, 9);
    assert_eq!(o.orders.get(&OrderId::new("o-2")).await.unwrap(), None);
}

/// The order's trace is at the top of the item, where the stream image shows
/// it to the relay, and a later change keeps it.
#[tokio::test]
async fn the_order_keeps_its_trace_on_the_item_through_its_changes() {
    let o = orders().await;
    let mut p = placement("o-1", "c-1", &[("kimchi", 1)], t(0), None);
    let trace = TraceParent::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
    p.order.trace = Some(trace.clone());
    o.orders.place(&p).await.unwrap();
    let accepted = p.order.accept(t(1)).unwrap();
    let update =
        OrderUpdate { order: accepted.order, expected_version: 1, events: accepted.events, stock: None };
    o.orders.update(&update).await.unwrap();
    let raw = raw_order(&o, "o-1").await;
    assert_eq!(raw[TRACE_ATTRIBUTE].as_s().unwrap(), &trace.to_string());
    let stored = o.orders.get(&OrderId::new("o-1")).await.unwrap().unwrap();
    assert_eq!((stored.version, stored.trace), (2, Some(trace)));
}

/// The sweeper's view of the orders: those still DELIVERY_REQUESTED, oldest
/// request first, up to a moment; an order leaves it with its next version.
#[tokio::test]
async fn orders_awaiting_delivery_are_the_requested_ones_up_to_a_moment_and_leave_when_decided() {
    let o = orders().await;
    let mut requested = Vec::new();
    for (i, id) in ["o-1", "o-2", "o-3"].into_iter().enumerate() {
        let at = t(10 * i as i64);
        let p = placement(id, "c-1", &[("bibimbap", 1)], at, None);
        o.orders.place(&p).await.unwrap();
        let accepted = p.order.accept(at).unwrap();
        let update = OrderUpdate {
            order: accepted.order.clone(),
            expected_version: 1,
            events: accepted.events,
            stock: None,
        };
        o.orders.update(&update).await.unwrap();
        if id == "o-3" {
            continue; // accepted only: not waiting on a delivery
        }
        let asked = accepted.order.request_delivery(at + Duration::seconds(1)).unwrap();
        let update = OrderUpdate {
            order: asked.order.clone(),
            expected_version: 2,
            events: asked.events,
            stock: None,
        };
        o.orders.update(&update).await.unwrap();
        requested.push(asked.order);
    }
    let ids = |orders: Vec<Order>| orders.into_iter().map(|o| o.order_id.to_string()).collect::<Vec<_>>();
    assert_eq!(
        ids(o.orders.awaiting_delivery(t(0), 10).await.unwrap()),
        Vec::<String>::new(),
        "asked at t(1)"
    );
    assert_eq!(ids(o.orders.awaiting_delivery(t(1), 10).await.unwrap()), ["o-1"], "the moment itself counts");
    assert_eq!(ids(o.orders.awaiting_delivery(t(100), 10).await.unwrap()), ["o-1", "o-2"], "oldest first");
    assert_eq!(o.orders.awaiting_delivery(t(100), 1).await.unwrap(), vec![requested[0].clone()]);

    let position = foodstream_domain::sequencing::DeliveryPosition {
        request_version: 3,
        stage: foodstream_domain::sequencing::DeliveryStage::Finished,
    };
    let failed = requested[0]
        .delivery_failed(position, foodstream_domain::delivery::DeliveryFailureReason::NoRiderInZone, t(5))
        .unwrap();
    let update = OrderUpdate { order: failed.order, expected_version: 3, events: failed.events, stock: None };
    o.orders.update(&update).await.unwrap();
    assert_eq!(ids(o.orders.awaiting_delivery(t(100), 10).await.unwrap()), ["o-2"], "decided: gone");
    let raw = raw_order(&o, "o-1").await;
    assert!(!raw.contains_key("awaiting_delivery") && !raw.contains_key("awaiting_sk"), "{raw:?}");
}

#[tokio::test]
async fn updates_are_conditional_on_the_version_and_give_stock_back_atomically() {
    let o = orders().await;
    let p = placement("o-1", "c-1", &[("kimchi", 2)], t(0), None);
    o.orders.place(&p).await.unwrap();
    let accepted = p.order.accept(t(1)).unwrap();
    let stale = OrderUpdate {
        order: accepted.order.clone(),
        expected_version: 7,
        events: accepted.events.clone(),
        stock: None,
    };
    assert_eq!(o.orders.update(&stale).await, Err(UpdateError::VersionConflict));
    let (cancel, _) = p.order.cancel(Canceller::Customer, None, t(1)).unwrap();
    let give_back = StockPlan::give_back(&p.order.store_id, &p.order.quantities());
    let cancelled = OrderUpdate {
        order: cancel.order.clone(),
        expected_version: 1,
        events: cancel.events,
        stock: Some(give_back.clone()),
    };
    o.orders.update(&cancelled).await.unwrap();
    assert_eq!(stock(&o, "kimchi").await, 5);
    // The same change again is a conflict, and gives nothing back twice.
    assert_eq!(o.orders.update(&cancelled).await, Err(UpdateError::VersionConflict));
    assert_eq!(stock(&o, "kimchi").await, 5);
    let now = o.orders.get(&OrderId::new("o-1")).await.unwrap().unwrap();
    assert_eq!((now.status, now.version), (OrderStatus::Cancelled, 2));
}

#[tokio::test]
async fn lists_are_newest_first_with_opaque_cursors_and_status_filters() {
    let o = orders().await;
    for i in 0..5 {
        o.orders.place(&placement(&format!("o-{i}"), "c-1", &[("bibimbap", 1)], t(i), None)).await.unwrap();
    }
    o.orders.place(&placement("other", "c-2", &[("bibimbap", 1)], t(9), None)).await.unwrap();
    let first = o.orders.get(&OrderId::new("o-1")).await.unwrap().unwrap();
    let accepted = first.accept(t(10)).unwrap();
    o.orders
        .update(&OrderUpdate {
            order: accepted.order,
            expected_version: 1,
            events: accepted.events,
            stock: None,
        })
        .await
        .unwrap();

    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page =
            o.orders.list_for_customer(&UserId::new("c-1"), &PageRequest { limit: 2, cursor }).await.unwrap();
        seen.extend(page.items.iter().map(|o| o.order_id.to_string()));
        assert!(page.items.len() == 2 || page.next_cursor.is_none(), "only the last page is short");
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(seen, ["o-4", "o-3", "o-2", "o-1", "o-0"]);
    let store = StoreId::new("store-1");
    let paid = o
        .orders
        .list_for_store(&store, Some(OrderStatus::Paid), &PageRequest { limit: 10, cursor: None })
        .await
        .unwrap();
    assert_eq!(paid.items.len(), 5);
    assert!(paid.items.iter().all(|o| o.status == OrderStatus::Paid));
    let accepted = o
        .orders
        .list_for_store(&store, Some(OrderStatus::Accepted), &PageRequest { limit: 10, cursor: None })
        .await
        .unwrap();
    assert_eq!(accepted.items.iter().map(|o| o.order_id.as_str()).collect::<Vec<_>>(), ["o-1"]);
    let all = o.orders.list_for_store(&store, None, &PageRequest { limit: 10, cursor: None }).await.unwrap();
    assert_eq!(all.items.len(), 6);
    let forged = o
        .orders
        .list_for_customer(
            &UserId::new("c-1"),
            &PageRequest { limit: 2, cursor: Some("eyJ4IjoieSJ9".into()) },
        )
        .await;
    assert_eq!(forged.unwrap_err(), PortError::InvalidCursor);
}

#[tokio::test]
async fn fifty_concurrent_orders_on_stock_ten_place_exactly_ten() {
    let o = orders().await;
    let ids = UuidIds;
    let clock = SystemClock;
    let attempts = (0..50).map(|i| {
        let ports = PlaceOrderPorts { orders: &o.orders, catalog: &o.catalog, clock: &clock, ids: &ids };
        let caller = Caller::customer(format!("c-{i}"));
        async move { place_order(ports, &caller, None, input(&[("bibimbap", 1)]), None).await }
    });
    let results = futures::future::join_all(attempts).await;
    let placed = results.iter().filter(|r| r.is_ok()).count();
    let refused: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(placed, 10, "refusals: {refused:?}");
    assert!(refused.iter().all(|e| matches!(e, AppError::InsufficientStock(_))), "{refused:?}");
    assert_eq!(stock(&o, "bibimbap").await, 0);
}

async fn riders_and_deliveries() -> (DynamoRiders, DynamoDeliveries) {
    let client = support::dynamodb().await;
    let names = support::tables(&client, &[RIDERS, DELIVERIES]).await;
    (DynamoRiders::new(client.clone(), &names[0]), DynamoDeliveries::new(client, &names[1], &names[0]))
}

fn request(order: &str) -> DeliveryRequest {
    DeliveryRequest {
        order_id: OrderId::new(order),
        request_version: 3,
        customer_id: UserId::new("c-1"),
        store_id: StoreId::new("store-1"),
        zone: Zone::from_district("Gangnam-gu"),
        redelivery: false,
        trace: None,
    }
}

#[tokio::test]
async fn riders_are_upserted_keeping_their_status_and_listed_by_zone() {
    let (riders, deliveries) = riders_and_deliveries().await;
    let zone = Zone::from_district("Gangnam-gu");
    let r1 = riders.upsert(&RiderId::new("r-1"), &zone, t(0)).await.unwrap();
    assert_eq!((r1.status, r1.available_since), (RiderStatus::Available, t(0)));
    riders.upsert(&RiderId::new("r-2"), &Zone::from_district("Mapo-gu"), t(0)).await.unwrap();
    let delivery = request("o-1").assign(RiderId::new("r-1"), t(5), &DeliverySettings::default());
    assert_eq!(deliveries.assign(&delivery).await.unwrap(), AssignOutcome::Assigned);
    let moved = riders.upsert(&RiderId::new("r-1"), &Zone::from_district("Mapo-gu"), t(9)).await.unwrap();
    assert_eq!(
        (moved.status, moved.zone.as_str()),
        (RiderStatus::Busy, "mapo-gu"),
        "a move keeps the delivery"
    );
    let mut in_mapo: Vec<_> = riders
        .in_zone(&Zone::from_district("mapo-gu"))
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.rider_id.to_string())
        .collect();
    in_mapo.sort();
    assert_eq!(in_mapo, ["r-1", "r-2"]);
    assert!(riders.in_zone(&zone).await.unwrap().is_empty());
}

#[tokio::test]
async fn ten_concurrent_takes_on_three_riders_never_take_a_rider_twice() {
    let (riders, deliveries) = riders_and_deliveries().await;
    let zone = Zone::from_district("Gangnam-gu");
    for r in ["r-1", "r-2", "r-3"] {
        riders.upsert(&RiderId::new(r), &zone, t(0)).await.unwrap();
    }
    let takes = (0..10).map(|i| {
        let deliveries = &deliveries;
        async move {
            for r in ["r-1", "r-2", "r-3"] {
                let d =
                    request(&format!("o-{i}")).assign(RiderId::new(r), t(1), &DeliverySettings::default());
                if deliveries.assign(&d).await.unwrap() == AssignOutcome::Assigned {
                    return Some(r);
                }
            }
            None
        }
    });
    let taken: Vec<_> = futures::future::join_all(takes).await.into_iter().flatten().collect();
    let mut distinct = taken.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(taken.len(), 3, "{taken:?}");
    assert_eq!(distinct.len(), 3, "no rider twice: {taken:?}");
    for r in ["r-1", "r-2", "r-3"] {
        assert_eq!(riders.get(&RiderId::new(r)).await.unwrap().unwrap().status, RiderStatus::Busy);
    }
}

/// The zone's riders come from an eventually consistent index: a rider
/// listed there may have moved since. The take is conditional on the zone
/// too, so the moved rider is skipped like a busy one.
#[tokio::test]
async fn a_rider_who_left_the_zone_since_the_index_read_is_not_taken() {
    let (riders, deliveries) = riders_and_deliveries().await;
    let gangnam = Zone::from_district("Gangnam-gu");
    riders.upsert(&RiderId::new("r-1"), &gangnam, t(0)).await.unwrap();
    let listed = riders.in_zone(&gangnam).await.unwrap();
    assert_eq!(listed.len(), 1);
    riders.upsert(&RiderId::new("r-1"), &Zone::from_district("Mapo-gu"), t(1)).await.unwrap();
    let delivery = request("o-1").assign(listed[0].rider_id.clone(), t(2), &DeliverySettings::default());
    assert_eq!(deliveries.assign(&delivery).await.unwrap(), AssignOutcome::RiderTaken);
    let rider = riders.get(&RiderId::new("r-1")).await.unwrap().unwrap();
    assert_eq!((rider.status, rider.zone.as_str()), (RiderStatus::Available, "mapo-gu"));
    assert_eq!(deliveries.get(&delivery.id()).await.unwrap(), None, "nothing recorded");
}

#[tokio::test]
async fn deliveries_are_recorded_once_and_completion_frees_the_rider() {
    let (riders, deliveries) = riders_and_deliveries().await;
    riders.upsert(&RiderId::new("r-1"), &Zone::from_district("Gangnam-gu"), t(0)).await.unwrap();
    let assigned = request("o-1").assign(RiderId::new("r-1"), t(1), &DeliverySettings::default());
    assert_eq!(deliveries.assign(&assigned).await.unwrap(), AssignOutcome::Assigned);
    assert_eq!(deliveries.assign(&assigned).await.unwrap(), AssignOutcome::AlreadyRecorded);
    let other = request("o-2").assign(RiderId::new("r-1"), t(1), &DeliverySettings::default());
    assert_eq!(deliveries.assign(&other).await.unwrap(), AssignOutcome::RiderTaken);
    assert_eq!(deliveries.get(&assigned.id()).await.unwrap(), Some(assigned.clone()));
    assert_eq!(deliveries.get(&other.id()).await.unwrap(), None, "the cancelled transaction wrote nothing");

    let completed = assigned.completed().unwrap();
    assert!(deliveries.complete(&completed, t(2)).await.unwrap());
    assert!(!deliveries.complete(&completed, t(3)).await.unwrap(), "once");
    let rider = riders.get(&RiderId::new("r-1")).await.unwrap().unwrap();
    assert_eq!(
        (rider.status, rider.delivery_id, rider.available_since),
        (RiderStatus::Available, None, t(2))
    );
    assert_eq!(deliveries.get(&assigned.id()).await.unwrap(), Some(completed));

    let failed = request("o-3").fail(foodstream_domain::delivery::DeliveryFailureReason::AllRidersBusy, t(4));
    assert!(deliveries.record_failure(&failed).await.unwrap());
    assert!(!deliveries.record_failure(&failed).await.unwrap());
}

#[tokio::test]
async fn overdue_deliveries_are_the_assigned_ones_past_their_time_and_leave_when_completed() {
    let (riders, deliveries) = riders_and_deliveries().await;
    let zone = Zone::from_district("Gangnam-gu");
    for r in ["r-1", "r-2"] {
        riders.upsert(&RiderId::new(r), &zone, t(0)).await.unwrap();
    }
    // Due at t(11) and t(21); a failed attempt is never due.
    let early = request("o-1").assign(RiderId::new("r-1"), t(10), &DeliverySettings::default());
    let late = request("o-2").assign(RiderId::new("r-2"), t(20), &DeliverySettings::default());
    for d in [&early, &late] {
        assert_eq!(deliveries.assign(d).await.unwrap(), AssignOutcome::Assigned);
    }
    let failed = request("o-3").fail(foodstream_domain::delivery::DeliveryFailureReason::AllRidersBusy, t(5));
    assert!(deliveries.record_failure(&failed).await.unwrap());

    assert!(deliveries.overdue(t(10), 10).await.unwrap().is_empty());
    assert_eq!(deliveries.overdue(t(11), 10).await.unwrap(), vec![early.clone()]);
    let both: Vec<String> = deliveries.overdue(t(100), 10).await.unwrap().iter().map(|d| d.id()).collect();
    assert_eq!(both, [early.id(), late.id()], "oldest first");
    assert_eq!(deliveries.overdue(t(100), 1).await.unwrap().len(), 1);

    assert!(deliveries.complete(&early.completed().unwrap(), t(11)).await.unwrap());
    assert_eq!(deliveries.overdue(t(100), 10).await.unwrap(), vec![late]);
}

#[tokio::test]
async fn notifications_and_logs_are_inserted_once_and_listed_newest_first() {
    let client = support::dynamodb().await;
    let names = support::tables(&client, &[NOTIFICATIONS, LOGS]).await;
    let notifications = DynamoNotifications::new(client.clone(), &names[0]);
    let logs = DynamoLogs::new(client.clone(), &names[1]);
    let placed = placement("o-1", "c-1", &[("bibimbap", 1)], t(0), None);
    let accepted = placed.order.accept(t(1)).unwrap();
    let retention = LogRetention::from_days(7);
    for event in [placed.events[0].clone(), accepted.events[0].clone()] {
        for n in notifications_for(&event, Locale::Ko) {
            assert!(notifications.insert(&n).await.unwrap());
            assert!(!notifications.insert(&n).await.unwrap(), "once");
            let record = retention.record(&LogEvent::of_notification(&n, &event.store_id, "notifier"));
            assert!(logs.insert(&record).await.unwrap());
            assert!(!logs.insert(&record).await.unwrap(), "once");
        }
    }
    let customer = Recipient::Customer(UserId::new("c-1"));
    let first = notifications.list_for(&customer, &PageRequest { limit: 3, cursor: None }).await.unwrap();
    assert_eq!(first.items.len(), 3);
    assert_eq!(first.items[0].status, OrderStatus::Accepted, "newest first");
    let rest = notifications
        .list_for(&customer, &PageRequest { limit: 3, cursor: first.next_cursor })
        .await
        .unwrap();
    assert_eq!((rest.items.len(), rest.next_cursor), (1, None));
    let store = notifications
        .list_for(&Recipient::Store(StoreId::new("store-1")), &PageRequest { limit: 10, cursor: None })
        .await
        .unwrap();
    assert_eq!(store.items.len(), 2);

    let by_order =
        logs.list_for_order(&OrderId::new("o-1"), &PageRequest { limit: 10, cursor: None }).await.unwrap();
    assert_eq!(by_order.items.len(), 6);
    let by_store = logs.list_for_user("store-1", &PageRequest { limit: 10, cursor: None }).await.unwrap();
    assert_eq!(by_store.items.len(), 2);
    assert_eq!(by_order.items[0].expires_at - by_order.items[0].created_at, Duration::days(7));
    let ttl = client.describe_time_to_live().table_name(&names[1]).send().await.unwrap();
    assert_eq!(ttl.time_to_live_description().and_then(|d| d.attribute_name()), Some("expires_at_epoch"));
}

#[tokio::test]
async fn an_adapter_is_refused_a_call_it_did_not_declare_before_it_is_sent() {
    use foodstream_aws::access::declared_client_named;
    let o = orders().await;
    let p = placement("o-declared", "c-9", &[("bibimbap", 1)], t(0), None);
    o.orders.place(&p).await.unwrap();
    let orders_table = o.orders_table.clone();
    let (client, tables) =
        declared_client_named(&o.client, &[DynamoOrders::GET], |_| Ok(orders_table.clone())).unwrap();
    let reader =
        DynamoOrders::new(client, tables.name(&ORDERS), tables.name(&CATALOG), tables.name(&IDEMPOTENCY));
    // What it declared goes through...
    assert_eq!(reader.get(&OrderId::new("o-declared")).await.unwrap(), Some(p.order.clone()));
    // ...anything else is refused, named, as IAM would refuse it on AWS.
    let error = reader
        .list_for_customer(&UserId::new("c-9"), &PageRequest { limit: 10, cursor: None })
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("dynamodb:Query on OrdersTable/index/by-customer is not declared"),
        "{error}"
    );
    let update = OrderUpdate { order: p.order.clone(), events: vec![], expected_version: 1, stock: None };
    let error = reader.update(&update).await.unwrap_err();
    assert!(format!("{error:?}").contains("dynamodb:PutItem on OrdersTable is not declared"), "{error:?}");
}
