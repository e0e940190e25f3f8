//! The defects of issue 12, each through its function's handler against the
//! emulators (DynamoDB and S3 in moto): every test here failed on the code
//! before its fix.

mod support;
use support::payloads::{self, ORDER};
use support::*;

use foodstream_aws::SystemClock;
use foodstream_domain::ids::StoreId;
use foodstream_domain::order::OrderStatus;
use foodstream_domain::ports::{CatalogRepository, OrderRepository};
use foodstream_handlers::batch::consumers;
use foodstream_handlers::http::routes;
use serde_json::{Value, json};

/// A PUT of `product` with `body` and, if given, an `If-Match` header.
fn put_item(product: &str, body: Value, if_match: Option<&str>) -> foodstream_handlers::lambda_http::Request {
    edited_request("put-menu-item", |r| {
        r["rawPath"] = json!(format!("/stores/store-1/menu/{product}"));
        r["requestContext"]["http"]["path"] = r["rawPath"].clone();
        r["pathParameters"]["productId"] = json!(product);
        r["body"] = json!(body.to_string());
        if let Some(tag) = if_match {
            r["headers"]["if-match"] = json!(tag);
        }
    })
}

fn first_field(body: &Value) -> &str {
    body["error"]["details"]["fields"][0]["field"].as_str().unwrap_or_default()
}

async fn stock_of(env: &Env, product: &str) -> i64 {
    let items = env.catalog.list_items(&StoreId::new("store-1")).await.unwrap();
    items.iter().find(|i| i.product_id.as_str() == product).map(|i| i.stock).unwrap()
}

// Defect 3: menu edits never undo sales.
#[tokio::test]
async fn a_menu_edit_from_a_stale_page_is_412_and_never_restores_sold_stock() {
    let env = Env::new().await;
    let bibimbap = json!({"name": "비빔밥", "price": 9000, "stock": 10});
    let (status, created) =
        answer_of(routes::put_menu_item(&env.catalog, put_item("bibimbap", bibimbap.clone(), None)).await);
    assert_eq!((status, &created["version"]), (200, &json!(1)), "{created}");
    let kimchi = json!({"name": "김치찌개", "price": 8000, "stock": 10});
    answer_of(routes::put_menu_item(&env.catalog, put_item("kimchi", kimchi, None)).await);

    // A sale takes two bibimbap and moves the item's version on.
    let (status, _) = answer_of(routes::place_order(env.place_ports(), request("place-order")).await);
    assert_eq!(status, 201);
    assert_eq!(stock_of(&env, "bibimbap").await, 8);

    // The owner edits the price on the page loaded before the sale.
    let stale = json!({"name": "비빔밥", "price": 9500, "stock": 10});
    let (status, refused) =
        answer_of(routes::put_menu_item(&env.catalog, put_item("bibimbap", stale, Some("\"1\""))).await);
    assert_eq!((status, refused["error"]["code"].as_str()), (412, Some("PRECONDITION_FAILED")), "{refused}");
    assert_eq!(refused["error"]["details"]["current_version"], json!(2), "{refused}");
    assert_eq!(stock_of(&env, "bibimbap").await, 8, "a refused edit changes nothing");

    // The same edit without stock, on the current version: stock kept.
    let price_only = json!({"name": "비빔밥", "price": 9500});
    let (status, edited) = answer_of(
        routes::put_menu_item(&env.catalog, put_item("bibimbap", price_only.clone(), Some("\"2\""))).await,
    );
    assert_eq!((status, &edited["stock"], &edited["version"]), (200, &json!(8), &json!(3)), "{edited}");
    let (status, edited) =
        answer_of(routes::put_menu_item(&env.catalog, put_item("bibimbap", price_only, None)).await);
    assert_eq!((status, &edited["stock"], &edited["price"]), (200, &json!(8), &json!(9500)), "{edited}");

    // The menu shows each item's version.
    let (_, menu) = answer_of(routes::list_menu(&env.catalog, request("list-menu")).await);
    let listed =
        menu["items"].as_array().unwrap().iter().find(|i| i["product_id"] == "bibimbap").unwrap().clone();
    assert_eq!((&listed["stock"], &listed["version"]), (&json!(8), &json!(4)), "{menu}");

    // A malformed If-Match names the header.
    let (status, bad) = answer_of(
        routes::put_menu_item(&env.catalog, put_item("bibimbap", bibimbap.clone(), Some("soon"))).await,
    );
    assert_eq!((status, first_field(&bad)), (400, "If-Match"), "{bad}");
    // If-Match on an item that does not exist is a precondition that fails.
    let (status, _) =
        answer_of(routes::put_menu_item(&env.catalog, put_item("tteok", bibimbap, Some("\"1\""))).await);
    assert_eq!(status, 412);
}

// Defect 2: the refund window starts when the order became DELIVERED in our
// records, not at the planned completion time.
#[tokio::test]
async fn a_delivery_applied_late_still_leaves_the_whole_refund_window() {
    let env = Env::new().await.with_delivery_requested().await;
    // The batch's delivery happened days ago (the payload's time): the
    // updater applies it only now.
    let before = chrono::Utc::now();
    let batch = kafka_batch("order-delivery-updater");
    consumers::update_orders(&env.orders, &SystemClock, &env.settings, &env.dead_letters, &batch).await;
    assert_eq!(env.order().await.status, OrderStatus::Delivered);
    let (_, order) = answer_of(routes::get_order(&env.orders, &SystemClock, request("get-order")).await);
    let deadline = order["refund_deadline"].as_str().unwrap_or_else(|| panic!("no refund_deadline: {order}"));
    let deadline: chrono::DateTime<chrono::Utc> = deadline.parse().unwrap();
    let window = env.settings.refund.window;
    assert!(deadline >= before + window && deadline <= chrono::Utc::now() + window, "{deadline}");

    env.upload_photo(2048).await;
    let (status, refunded) =
        answer_of(routes::request_refund(env.change_ports(), &env.photos, request("request-refund")).await);
    assert_eq!((status, refunded["status"].as_str()), (200, Some("REFUND_REQUESTED")), "{refunded}");
    assert_eq!(refunded["refund_deadline"], Value::Null, "shown only while a refund can be asked for");
}

// Defect 6: a cursor from another list is a 400 naming `cursor`.
#[tokio::test]
async fn a_cursor_from_another_list_or_filter_is_a_400_naming_cursor() {
    let env = Env::new().await.with_menu().await;
    for _ in 0..3 {
        let no_key = edited_request("place-order", |r| {
            r["headers"].as_object_mut().unwrap().remove("idempotency-key");
        });
        assert_eq!(answer_of(routes::place_order(env.place_ports(), no_key).await).0, 201);
    }
    let with_query = |name: &str, query: &[(&str, &str)]| {
        edited_request(name, |r| {
            let map: serde_json::Map<String, Value> =
                query.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
            r["rawQueryString"] =
                json!(query.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&"));
            r["queryStringParameters"] = Value::Object(map);
        })
    };
    let (status, store_page) = answer_of(
        routes::list_store_orders(
            &env.orders,
            &SystemClock,
            with_query("list-store-orders", &[("status", "PAID"), ("limit", "1")]),
        )
        .await,
    );
    assert_eq!(status, 200, "{store_page}");
    let store_cursor = store_page["next_cursor"].as_str().expect("more than one page").to_owned();
    let (status, mine) = answer_of(
        routes::list_my_orders(&env.orders, &SystemClock, with_query("list-my-orders", &[("limit", "1")]))
            .await,
    );
    assert_eq!(status, 200, "{mine}");
    let my_cursor = mine["next_cursor"].as_str().expect("more than one page").to_owned();

    // The store's cursor on the customer's list, and back.
    let (status, refused) = answer_of(
        routes::list_my_orders(
            &env.orders,
            &SystemClock,
            with_query("list-my-orders", &[("limit", "1"), ("cursor", &store_cursor)]),
        )
        .await,
    );
    assert_eq!((status, first_field(&refused)), (400, "cursor"), "{refused}");
    let (status, refused) = answer_of(
        routes::list_store_orders(
            &env.orders,
            &SystemClock,
            with_query("list-store-orders", &[("status", "PAID"), ("limit", "1"), ("cursor", &my_cursor)]),
        )
        .await,
    );
    assert_eq!((status, first_field(&refused)), (400, "cursor"), "{refused}");
    // The same list under another filter.
    let (status, refused) = answer_of(
        routes::list_store_orders(
            &env.orders,
            &SystemClock,
            with_query(
                "list-store-orders",
                &[("status", "ACCEPTED"), ("limit", "1"), ("cursor", &store_cursor)],
            ),
        )
        .await,
    );
    assert_eq!((status, first_field(&refused)), (400, "cursor"), "{refused}");
    // A cursor changed by hand.
    let mut tampered = my_cursor.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let (status, refused) = answer_of(
        routes::list_my_orders(
            &env.orders,
            &SystemClock,
            with_query("list-my-orders", &[("limit", "1"), ("cursor", &tampered)]),
        )
        .await,
    );
    assert_eq!((status, first_field(&refused)), (400, "cursor"), "{refused}");
    // The genuine cursor still pages on.
    let (status, next) = answer_of(
        routes::list_my_orders(
            &env.orders,
            &SystemClock,
            with_query("list-my-orders", &[("limit", "1"), ("cursor", &my_cursor)]),
        )
        .await,
    );
    assert_eq!((status, next["items"].as_array().map(Vec::len)), (200, Some(1)), "{next}");
    assert_ne!(next["items"][0]["order_id"], mine["items"][0]["order_id"]);
}

// Defect 7: an Idempotency-Key that is present but unusable is a 400.
#[tokio::test]
async fn an_unusable_idempotency_key_is_a_400_and_places_nothing() {
    let env = Env::new().await.with_menu().await;
    for key in ["주문-1", "é", &"k".repeat(129)] {
        let request = edited_request("place-order", |r| r["headers"]["idempotency-key"] = json!(key));
        let (status, refused) = answer_of(routes::place_order(env.place_ports(), request).await);
        assert_eq!((status, first_field(&refused)), (400, "Idempotency-Key"), "{key}: {refused}");
    }
    assert_eq!(stock_of(&env, "bibimbap").await, 10, "nothing was placed");
}

// Defect 9: text cannot carry bidirectional overrides or isolates.
#[tokio::test]
async fn names_streets_and_reasons_refuse_bidirectional_controls() {
    let env = Env::new().await.with_menu().await.with_order(&payloads::placed().0).await;
    for spoof in [
        '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}', '\u{2068}',
        '\u{2069}',
    ] {
        let name = format!("Chicken{spoof}gpj.exe");
        let (status, refused) = answer_of(
            routes::put_menu_item(
                &env.catalog,
                put_item("spoof", json!({"name": name, "price": 1000, "stock": 1}), None),
            )
            .await,
        );
        assert_eq!((status, first_field(&refused)), (400, "name"), "U+{:04X}: {refused}", spoof as u32);
        let street = edited_request("place-order", |r| {
            let mut body: Value = serde_json::from_str(r["body"].as_str().unwrap()).unwrap();
            body["address"]["street"] = json!(format!("1 Teheran-ro{spoof}"));
            r["body"] = json!(body.to_string());
            r["headers"].as_object_mut().unwrap().remove("idempotency-key");
        });
        let (status, refused) = answer_of(routes::place_order(env.place_ports(), street).await);
        assert_eq!((status, first_field(&refused)), (400, "address.street"), "{refused}");
        let reason = edited_request("cancel-order", |r| {
            r["body"] = json!(json!({"reason": format!("late{spoof}")}).to_string());
        });
        let (status, refused) = answer_of(routes::cancel_order(env.change_ports(), reason).await);
        assert_eq!((status, first_field(&refused)), (400, "reason"), "{refused}");
    }
    assert!(
        env.catalog
            .list_items(&StoreId::new("store-1"))
            .await
            .unwrap()
            .iter()
            .all(|i| i.product_id.as_str() != "spoof")
    );
    assert_eq!(env.orders.get(&ORDER.into()).await.unwrap().unwrap().status, OrderStatus::Paid);
}

// One-line text (names, address parts, a rider's zone) refuses
// newlines, tabs and every other control character with a 400 naming the
// field, and nothing is written; only a reason may hold newlines and tabs.
#[tokio::test]
async fn a_newline_or_tab_in_one_line_text_is_a_400_naming_the_field_and_writes_nothing() {
    let env = Env::new().await.with_menu().await;
    for control in ["\n", "\t", "\r", "\u{0085}", "\u{2028}"] {
        let name = format!("Fried{control}Chicken");
        let (status, refused) = answer_of(
            routes::put_menu_item(
                &env.catalog,
                put_item("fried", json!({"name": name, "price": 18000, "stock": 3}), None),
            )
            .await,
        );
        assert_eq!((status, first_field(&refused)), (400, "name"), "{control:?}: {refused}");
        let street = edited_request("place-order", |r| {
            let mut body: Value = serde_json::from_str(r["body"].as_str().unwrap()).unwrap();
            body["address"]["city"] = json!(format!("Seoul{control}"));
            r["body"] = json!(body.to_string());
            r["headers"].as_object_mut().unwrap().remove("idempotency-key");
        });
        let (status, refused) = answer_of(routes::place_order(env.place_ports(), street).await);
        assert_eq!((status, first_field(&refused)), (400, "address.city"), "{control:?}: {refused}");
    }
    let items = env.catalog.list_items(&StoreId::new("store-1")).await.unwrap();
    assert!(items.iter().all(|i| i.product_id.as_str() != "fried"), "nothing written");
}

/// A publisher whose broker is down.
struct BrokerDown;

#[async_trait::async_trait]
impl foodstream_domain::ports::EventPublisher for BrokerDown {
    async fn publish(
        &self,
        _: &[foodstream_domain::ports::OutgoingMessage],
    ) -> Result<(), foodstream_domain::ports::PortError> {
        Err(foodstream_domain::ports::PortError::Unavailable("broker down".into()))
    }
}

/// The relay payload's record three times, with sequence numbers 1, 2, 3;
/// the second one's new image made undecodable.
fn stream_batch_with_a_poison_record() -> aws_lambda_events::event::dynamodb::Event {
    let mut batch: Value = serde_json::from_str(&payload_text("order-outbox-relay")).unwrap();
    let record = batch["Records"][0].clone();
    let mut records = Vec::new();
    for sequence in 1..=3 {
        let mut r = record.clone();
        r["dynamodb"]["SequenceNumber"] = json!(sequence.to_string());
        r["eventID"] = json!(format!("event-{sequence}"));
        if sequence == 2 {
            r["dynamodb"]["NewImage"]["version"] = json!({"S": "not a version"});
        }
        records.push(r);
    }
    batch["Records"] = json!(records);
    serde_json::from_value(batch).unwrap()
}

// Defect 5: a bad record never blocks its shard or partition.
#[tokio::test]
async fn a_poison_stream_record_is_parked_at_once_and_the_records_around_it_flow() {
    let env = Env::new().await;
    let batch = stream_batch_with_a_poison_record();
    let report = consumers::relay(&env.publisher, &env.dead_letters, &batch).await;
    assert!(report.response.batch_item_failures.is_empty(), "{:?}", report.response);
    assert_eq!((report.summary.applied, report.summary.parked), (2, 1));
    let letters = env.dead_letters.letters();
    assert_eq!((letters.len(), letters[0].source.as_str()), (1, "#2"));
    let parked = &letters[0].record;
    assert_eq!(parked["Records"].as_array().unwrap().len(), 1, "a batch of the one record: {parked}");
    assert_eq!(parked["Records"][0]["dynamodb"]["SequenceNumber"], "2", "the record is kept whole");

    // With the broker down nothing is parked or lost: every record is
    // reported, so the shard is retried from the first.
    let down = foodstream_memory::InMemoryDeadLetters::new();
    let report = consumers::relay(&BrokerDown, &down, &batch).await;
    let failed: Vec<Value> = report
        .response
        .batch_item_failures
        .iter()
        .map(|f| serde_json::to_value(&f.item_identifier).unwrap())
        .collect();
    assert_eq!(failed, [json!("1"), json!("2"), json!("3")]);
    assert!(down.letters().is_empty());
    let wire = serde_json::to_value(&report.response).unwrap();
    assert_eq!(wire["batchItemFailures"][0]["itemIdentifier"], "1", "Lambda's wire format: {wire}");
}

#[tokio::test]
async fn a_dependency_failure_retries_only_its_record_and_the_rest_of_its_partition() {
    // Two partitions of order-events; the notifier's broker is down, so
    // every record fails on a dependency, except a poison record at the
    // head of partition 1, which is parked.
    let mut batch: Value = serde_json::from_str(&payload_text("notifier")).unwrap();
    let record = batch["records"]["order-events-0"][0].clone();
    let at = |partition: i64, offset: i64, value: Option<&str>| {
        let mut r = record.clone();
        r["partition"] = json!(partition);
        r["offset"] = json!(offset);
        if let Some(v) = value {
            r["value"] = json!(v);
        }
        r
    };
    batch["records"] = json!({
        "order-events-0": [at(0, 7, None), at(0, 8, None)],
        "order-events-1": [at(1, 3, Some("bm90IGpzb24=")), at(1, 4, None)],
    });
    let batch: aws_lambda_events::event::kafka::KafkaEvent = serde_json::from_value(batch).unwrap();
    let store = foodstream_memory::InMemoryStore::new();
    let settings = foodstream_application::Settings::default();
    let ports = foodstream_application::consumers::NotifyPorts {
        notifications: &store,
        publisher: &BrokerDown,
        settings: &settings,
    };
    let dead = foodstream_memory::InMemoryDeadLetters::new();
    let report = consumers::notify(&ports, &dead, &batch).await;
    let wire = serde_json::to_value(&report.response).unwrap();
    assert_eq!(
        wire,
        json!({"batchItemFailures": [
            {"itemIdentifier": {"partition": "order-events-0", "offset": 7}},
            {"itemIdentifier": {"partition": "order-events-0", "offset": 8}},
            {"itemIdentifier": {"partition": "order-events-1", "offset": 4}},
        ]})
    );
    assert_eq!(dead.letters().len(), 1);
    assert_eq!(dead.letters()[0].source, "order-events-1@3");
}
