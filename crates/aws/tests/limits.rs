//! DynamoDB's limits against the emulator, on every list and write path of
//! the adapters: queries cut at 1 MB, the largest item the contract allows,
//! keys at their size limits, the longest caller id and Idempotency-Key the
//! API takes, forged cursors of every list, and composite keys that must
//! not meet. Each case is a correct page or a 4xx, never a 5xx, never a
//! list silently cut short.

use foodstream_testkit as support;

use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{Duration, TimeZone, Utc};
use foodstream_application::ordering::{MAX_IDEMPOTENCY_KEY_CHARS, PlaceOrderPorts, place_order};
use foodstream_application::pagination::page_request;
use foodstream_aws::schema::{CATALOG, IDEMPOTENCY, LOGS, NOTIFICATIONS, ORDERS};
use foodstream_aws::{
    Cursor, DynamoCatalog, DynamoLogs, DynamoNotifications, DynamoOrders, SystemClock, UuidIds,
};
use foodstream_domain::Timestamp;
use foodstream_domain::catalog::{MAX_NAME_CHARS, MAX_PRICE, MenuItem, MenuItemChange};
use foodstream_domain::identity::Caller;
use foodstream_domain::ids::{LogId, NotificationId, OrderId, ProductId, Recipient, StoreId, UserId};
use foodstream_domain::log::LogRecord;
use foodstream_domain::notification::{Channel, Notification};
use foodstream_domain::order::{
    Address, LineInput, MAX_ADDRESS_PART_CHARS, MAX_LINES, MAX_QUANTITY, MAX_REASON_CHARS, Order,
    OrderStatus, PlaceOrderInput,
};
use foodstream_domain::ports::{
    CatalogRepository, IdempotencyRecord, LogRepository, NotificationRepository, OrderRepository,
    OrderUpdate, Page, PageRequest, PlaceError, Placement, PortError,
};
use foodstream_domain::stock::StockPlan;
use foodstream_handlers::http::error::ApiError;
use serde_json::{Value, json};
use std::collections::HashMap;

/// The longest `sub` the API takes.
use foodstream_handlers::http::claims::MAX_ID_CLAIM_BYTES;
/// A caller id at that bound made of the characters that grow most: `%`
/// and `#` when escaped in a key, `"` and `\` in a cursor's JSON.
fn longest_sub() -> String {
    "%#\"\\".repeat(MAX_ID_CLAIM_BYTES / 4)
}
/// A character four bytes long in UTF-8: text at its most bytes.
const WIDE: char = '\u{20000}';
/// DynamoDB's largest item, in bytes.
const MAX_ITEM_BYTES: usize = 400 * 1024;

fn t(seconds: i64) -> Timestamp {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap() + Duration::seconds(seconds)
}

fn wide(chars: usize) -> String {
    std::iter::repeat_n(WIDE, chars).collect()
}

/// `time_key` of the adapters: the time half of a `{time}#{id}` sort key.
fn time_key(at: Timestamp) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// An identifier at its longest (64 characters).
fn long_id(prefix: &str) -> String {
    format!("{prefix}{}", "x".repeat(64 - prefix.len()))
}

/// The store's 20 menu items, each name and price at its longest.
fn menu(store: &str) -> Vec<MenuItem> {
    (0..MAX_LINES)
        .map(|i| MenuItem {
            store_id: StoreId::new(store),
            product_id: ProductId::new(long_id(&format!("p{i:02}-"))),
            name: wide(MAX_NAME_CHARS),
            price: MAX_PRICE,
            stock: 1_000_000,
            version: 1,
        })
        .collect()
}

/// The largest order the contract allows: 20 lines of the longest product
/// ids and names, 99 of each, every address part at its longest.
fn largest_input(store: &str) -> PlaceOrderInput {
    PlaceOrderInput {
        store_id: store.into(),
        items: menu(store)
            .into_iter()
            .map(|i| LineInput { product_id: i.product_id.to_string(), quantity: MAX_QUANTITY })
            .collect(),
        address: Address {
            street: wide(MAX_ADDRESS_PART_CHARS),
            district: wide(MAX_ADDRESS_PART_CHARS),
            city: wide(MAX_ADDRESS_PART_CHARS),
        },
    }
}

/// A placement of the largest order, written without stock changes (the
/// catalog is not what these tests are about).
fn largest_placement(id: &str, customer: &str, store: &str, at: Timestamp, key: Option<&str>) -> Placement {
    let valid = largest_input(store).validate().unwrap();
    let menu: HashMap<_, _> = menu(store).into_iter().map(|i| (i.product_id.clone(), i)).collect();
    let (lines, _) = valid.price(&menu).unwrap();
    let transition = Order::place(OrderId::new(id), UserId::new(customer), &valid, lines, at);
    Placement {
        stock: StockPlan { store_id: StoreId::new(store), changes: Vec::new() },
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

fn notification(id: &str, recipient: &Recipient, body: String, at: Timestamp) -> Notification {
    Notification {
        notification_id: NotificationId::new(id),
        recipient: recipient.clone(),
        order_id: OrderId::new("o-1"),
        order_version: 1,
        status: OrderStatus::Paid,
        channel: Channel::AppPush,
        title: "주문 접수".into(),
        body,
        created_at: at,
    }
}

fn log_record(id: &str, user: &str, order: &str, message: String, at: Timestamp) -> LogRecord {
    LogRecord {
        log_id: LogId::new(id),
        service: "notifier".into(),
        user_id: user.into(),
        order_id: OrderId::new(order),
        message,
        created_at: at,
        expires_at: at + Duration::days(30),
    }
}

/// DynamoDB's size of an item: names and values in UTF-8 bytes, numbers
/// about a byte per two digits, 3 bytes per map or list plus 1 per element.
fn item_size(item: &HashMap<String, AttributeValue>) -> usize {
    fn value_size(value: &AttributeValue) -> usize {
        match value {
            AttributeValue::S(s) => s.len(),
            AttributeValue::N(n) => n.trim_start_matches('-').len().div_ceil(2) + 1,
            AttributeValue::L(list) => 3 + list.iter().map(|v| 1 + value_size(v)).sum::<usize>(),
            AttributeValue::M(map) => 3 + map.iter().map(|(k, v)| 1 + k.len() + value_size(v)).sum::<usize>(),
            _ => 1,
        }
    }
    item.iter().map(|(name, value)| name.len() + value_size(value)).sum()
}

struct Env {
    client: aws_sdk_dynamodb::Client,
    orders_table: String,
    catalog: DynamoCatalog,
    orders: DynamoOrders,
    notifications: DynamoNotifications,
    logs: DynamoLogs,
}

async fn env() -> Env {
    let client = support::dynamodb().await;
    let names = support::tables(&client, &[CATALOG, ORDERS, IDEMPOTENCY, NOTIFICATIONS, LOGS]).await;
    Env {
        catalog: DynamoCatalog::new(client.clone(), &names[0]),
        orders: DynamoOrders::new(client.clone(), &names[1], &names[0], &names[2]),
        notifications: DynamoNotifications::new(client.clone(), &names[3]),
        logs: DynamoLogs::new(client.clone(), &names[4]),
        orders_table: names[1].clone(),
        client,
    }
}

/// Every list the adapters page through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum List {
    CustomerOrders,
    StoreOrders,
    StorePaidOrders,
    Notifications,
    LogsByUser,
    LogsByOrder,
}

impl List {
    const ALL: [List; 6] = [
        List::CustomerOrders,
        List::StoreOrders,
        List::StorePaidOrders,
        List::Notifications,
        List::LogsByUser,
        List::LogsByOrder,
    ];

    /// The partition attribute of its cursors, and the table's key when
    /// the list is an index.
    fn attributes(self) -> (&'static str, Option<&'static str>) {
        match self {
            List::CustomerOrders => ("customer_id", Some("order_id")),
            List::StoreOrders => ("store_id", Some("order_id")),
            List::StorePaidOrders => ("store_status", Some("order_id")),
            List::Notifications => ("recipient", None),
            List::LogsByUser => ("user_id", Some("log_id")),
            List::LogsByOrder => ("order_id", Some("log_id")),
        }
    }
}

/// Whose lists: the customer (orders, notifications, logs by user), the
/// store, and the order the log records are about.
struct Who {
    customer: String,
    store: String,
    order: String,
}

impl Env {
    /// A page of `list`, as the ids of its items.
    async fn page(&self, list: List, who: &Who, page: &PageRequest) -> Result<Page<String>, PortError> {
        let store = StoreId::new(who.store.as_str());
        let orders = |p: Page<Order>| Page {
            items: p.items.into_iter().map(|o| o.order_id.to_string()).collect(),
            next_cursor: p.next_cursor,
        };
        let logs = |p: Page<LogRecord>| Page {
            items: p.items.into_iter().map(|r| r.log_id.to_string()).collect(),
            next_cursor: p.next_cursor,
        };
        Ok(match list {
            List::CustomerOrders => {
                orders(self.orders.list_for_customer(&UserId::new(who.customer.as_str()), page).await?)
            }
            List::StoreOrders => orders(self.orders.list_for_store(&store, None, page).await?),
            List::StorePaidOrders => {
                orders(self.orders.list_for_store(&store, Some(OrderStatus::Paid), page).await?)
            }
            List::Notifications => {
                let recipient = Recipient::Customer(UserId::new(who.customer.as_str()));
                let p = self.notifications.list_for(&recipient, page).await?;
                Page {
                    items: p.items.into_iter().map(|n| n.notification_id.to_string()).collect(),
                    next_cursor: p.next_cursor,
                }
            }
            List::LogsByUser => logs(self.logs.list_for_user(&who.customer, page).await?),
            List::LogsByOrder => {
                logs(self.logs.list_for_order(&OrderId::new(who.order.as_str()), page).await?)
            }
        })
    }

    /// Every page of `list` at `limit`, checked as it goes: no page over
    /// the limit, no empty page, every cursor one the API takes. Returns
    /// the ids in order and the size of each page.
    async fn walk(&self, list: List, who: &Who, limit: usize) -> (Vec<String>, Vec<usize>) {
        let (mut seen, mut sizes, mut cursor) = (Vec::new(), Vec::new(), None);
        loop {
            let page = self
                .page(list, who, &PageRequest { limit, cursor: cursor.take() })
                .await
                .unwrap_or_else(|e| panic!("{list:?} at {limit}, page {}: {e}", sizes.len() + 1));
            assert!(page.items.len() <= limit, "{list:?}: {} items at limit {limit}", page.items.len());
            assert!(!page.items.is_empty(), "{list:?} at {limit}: an empty page {}", sizes.len() + 1);
            sizes.push(page.items.len());
            seen.extend(page.items);
            let Some(next) = page.next_cursor else { return (seen, sizes) };
            assert!(next.len() <= Cursor::MAX_CHARS, "{list:?}: a cursor of {} characters", next.len());
            page_request(Some(&limit.to_string()), Some(&next)).expect("the API takes the cursor");
            cursor = Some(next);
            assert!(sizes.len() < 500, "{list:?} at {limit}: pages without end");
        }
    }
}

/// The lists of one customer and store over more than 1 MB each: DynamoDB
/// (and moto) stop a query at 1 MB whatever its limit. Every item comes
/// exactly once, newest first, and the cursor is null only at the end.
#[tokio::test]
async fn lists_over_one_megabyte_hand_out_every_item_once_newest_first() {
    let env = env().await;
    let who = Who { customer: "c-big".into(), store: "store-big".into(), order: "o-big".into() };
    const ORDERS: i64 = 50;
    const OTHERS: i64 = 45;
    let recipient = Recipient::Customer(UserId::new(who.customer.as_str()));
    let placements: Vec<Placement> = (0..ORDERS)
        .map(|i| largest_placement(&format!("o-{i:03}"), &who.customer, &who.store, t(i), None))
        .collect();
    for chunk in placements.chunks(10) {
        let writes = chunk.iter().map(|p| env.orders.place(p));
        assert!(futures::future::join_all(writes).await.iter().all(Result::is_ok));
    }
    for chunk in (0..OTHERS).collect::<Vec<_>>().chunks(15) {
        let writes = chunk.iter().map(|&i| {
            let (env, who, recipient) = (&env, &who, &recipient);
            async move {
                let body = format!("{i} {}", wide(6_000));
                let n = notification(&format!("n-{i:03}"), recipient, body.clone(), t(i));
                let r = log_record(&format!("l-{i:03}"), &who.customer, &who.order, body, t(i));
                (env.notifications.insert(&n).await, env.logs.insert(&r).await)
            }
        });
        for (n, r) in futures::future::join_all(writes).await {
            assert_eq!((n, r), (Ok(true), Ok(true)));
        }
    }
    let newest_first = |prefix: &str, count: i64| -> Vec<String> {
        (0..count).rev().map(|i| format!("{prefix}-{i:03}")).collect()
    };
    for list in List::ALL {
        let expected = match list {
            List::Notifications => newest_first("n", OTHERS),
            List::LogsByUser | List::LogsByOrder => newest_first("l", OTHERS),
            _ => newest_first("o", ORDERS),
        };
        for limit in [7, 100] {
            let (seen, sizes) = env.walk(list, &who, limit).await;
            println!("{list:?} at limit {limit}: pages of {sizes:?}");
            assert_eq!(seen, expected, "{list:?} at limit {limit}: pages of {sizes:?}");
            if limit == 100 {
                assert!(sizes.len() > 1, "{list:?}: the 1 MB cut was never reached: {sizes:?}");
            }
        }
    }
}

/// The largest order the contract allows, placed through the use case with
/// the longest caller id and Idempotency-Key, then rejected with the
/// longest reason: stored and read back whole, far below 400 KB.
#[tokio::test]
async fn the_largest_order_the_contract_allows_is_stored_and_read_back() {
    let env = env().await;
    let store = long_id("store-");
    for item in menu(&store) {
        env.catalog.save_item(&MenuItemChange::creating(&item)).await.unwrap();
    }
    let (clock, ids) = (SystemClock, UuidIds);
    let ports = PlaceOrderPorts { orders: &env.orders, catalog: &env.catalog, clock: &clock, ids: &ids };
    let caller = Caller::customer(longest_sub());
    let key = "#".repeat(MAX_IDEMPOTENCY_KEY_CHARS);
    let placed = place_order(ports, &caller, Some(&key), largest_input(&store), None).await.unwrap();
    let id = OrderId::new(placed.order.order_id.as_str());
    let order = env.orders.get(&id).await.unwrap().expect("the order reads back");
    let input = largest_input(&store);
    assert_eq!(order.items.len(), MAX_LINES);
    assert!(order.items.iter().all(|l| l.name == wide(MAX_NAME_CHARS) && l.quantity == MAX_QUANTITY));
    assert_eq!((order.address, order.customer_id.as_str()), (input.address, caller.user_id.as_str()));

    let raw = |id: OrderId| {
        let key = AttributeValue::S(id.to_string());
        let read = env.client.get_item().table_name(&env.orders_table).key("order_id", key).send();
        async move { read.await.unwrap().item.expect("the order's item") }
    };
    let placed_size = item_size(&raw(id.clone()).await);
    let current = env.orders.get(&id).await.unwrap().unwrap();
    let rejected =
        current.reject(&wide(MAX_REASON_CHARS), current.created_at + Duration::seconds(1)).unwrap();
    let update = OrderUpdate {
        order: rejected.order.clone(),
        expected_version: current.version,
        events: rejected.events,
        stock: None,
    };
    env.orders.update(&update).await.unwrap();
    assert_eq!(env.orders.get(&id).await.unwrap(), Some(rejected.order));
    let rejected_size = item_size(&raw(id).await);
    println!(
        "the largest order: {placed_size} bytes placed, {rejected_size} bytes rejected with the longest reason \
         (DynamoDB's limit {MAX_ITEM_BYTES})"
    );
    assert!(rejected_size < MAX_ITEM_BYTES / 4, "{rejected_size} bytes");

    // Beyond 400 KB DynamoDB refuses the write (moto too): a 503, which
    // the contract's bounds keep out of reach.
    let recipient = Recipient::Customer(UserId::new("c-1"));
    let too_big = notification("n-1", &recipient, wide(MAX_ITEM_BYTES / 4 + 1), t(0));
    match env.notifications.insert(&too_big).await {
        Err(PortError::Unavailable(message)) => assert!(message.contains("size"), "{message}"),
        other => panic!("{other:?}"),
    }
}

/// DynamoDB's key sizes through the adapters: a partition key of 2048
/// bytes and a sort key of 1024 are written, listed and paged; one byte
/// more is refused by the emulator as by DynamoDB. The API never gets
/// near them (the next test).
#[tokio::test]
async fn keys_at_dynamodbs_sizes_are_written_and_paged_one_byte_more_is_refused() {
    let env = env().await;
    let time = format!("{}#", time_key(t(0)));
    let at_limit = Recipient::Customer(UserId::new("c".repeat(2048 - "user#".len())));
    let n = notification("n-1", &at_limit, "hi".into(), t(0));
    assert_eq!(env.notifications.insert(&n).await, Ok(true));
    let page = env.notifications.list_for(&at_limit, &PageRequest { limit: 1, cursor: None }).await.unwrap();
    assert_eq!((page.items, page.next_cursor), (vec![n], None));
    let over = Recipient::Customer(UserId::new("c".repeat(2049 - "user#".len())));
    let refused = env.notifications.insert(&notification("n-1", &over, "hi".into(), t(0))).await;
    assert!(matches!(refused, Err(PortError::Unavailable(_))), "{refused:?}");

    // Sort keys of exactly 1024 bytes, paged one by one.
    let recipient = Recipient::Customer(UserId::new("c-1"));
    let longest_id = |i: usize| format!("{i}{}", "n".repeat(1024 - time.len() - 1));
    for i in 0..3 {
        let n = notification(&longest_id(i), &recipient, "hi".into(), t(0));
        assert_eq!(env.notifications.insert(&n).await, Ok(true));
    }
    let who = Who { customer: "c-1".into(), store: String::new(), order: String::new() };
    let (seen, sizes) = env.walk(List::Notifications, &who, 1).await;
    assert_eq!((seen, sizes), ((0..3).rev().map(longest_id).collect(), vec![1, 1, 1]));
    let too_long = notification(&format!("{}n", longest_id(9)), &recipient, "hi".into(), t(0));
    assert!(matches!(env.notifications.insert(&too_long).await, Err(PortError::Unavailable(_))));
}

/// The longest caller id the API takes (128 bytes of the characters that
/// grow most) and the longest Idempotency-Key (128) on every path that
/// keys on them: placement, its replay, the customer's orders, their
/// notifications, their log records, each paged with a cursor the API
/// takes. One character more of key is a 400; of `sub`, a 401 (tested in
/// crates/handlers/src/http/claims.rs).
#[tokio::test]
async fn the_longest_caller_id_and_idempotency_key_the_api_takes_work_on_every_path() {
    let env = env().await;
    let store = long_id("store-");
    let item = MenuItem {
        store_id: StoreId::new(store.as_str()),
        product_id: ProductId::new("bibimbap"),
        name: "비빔밥".into(),
        price: 9000,
        stock: 10,
        version: 1,
    };
    env.catalog.save_item(&MenuItemChange::creating(&item)).await.unwrap();
    let (clock, ids) = (SystemClock, UuidIds);
    let ports = || PlaceOrderPorts { orders: &env.orders, catalog: &env.catalog, clock: &clock, ids: &ids };
    let sub = longest_sub();
    let caller = Caller::customer(sub.as_str());
    let input = || PlaceOrderInput {
        store_id: store.clone(),
        items: vec![LineInput { product_id: "bibimbap".into(), quantity: 1 }],
        address: Address {
            street: "1 Teheran-ro".into(),
            district: "Gangnam-gu".into(),
            city: "Seoul".into(),
        },
    };
    let mut placed = Vec::new();
    for key in ["#", "%"].map(|c| c.repeat(MAX_IDEMPOTENCY_KEY_CHARS)) {
        let first = place_order(ports(), &caller, Some(&key), input(), None).await.unwrap();
        let again = place_order(ports(), &caller, Some(&key), input(), None).await.unwrap();
        assert_eq!((again.replayed, &again.order.order_id), (true, &first.order.order_id));
        placed.push(first.order.order_id);
    }
    let over = "k".repeat(MAX_IDEMPOTENCY_KEY_CHARS + 1);
    let refused = place_order(ports(), &caller, Some(&over), input(), None).await.unwrap_err();
    assert_eq!(ApiError::from(&refused).status, 400, "{refused:?}");

    let recipient = Recipient::Customer(UserId::new(sub.as_str()));
    for (i, order) in placed.iter().enumerate() {
        let at = t(i as i64);
        let id = format!("{order}.v1.customer.kakao-talk");
        let n = notification(&id, &recipient, "hi".into(), at);
        assert_eq!(env.notifications.insert(&n).await, Ok(true));
        let r = log_record(&format!("log:{id}"), &sub, order, "hi".into(), at);
        assert_eq!(env.logs.insert(&r).await, Ok(true));
    }
    let who = Who { customer: sub.clone(), store: store.clone(), order: placed[0].clone() };
    for list in List::ALL {
        let (seen, sizes) = env.walk(list, &who, 1).await;
        let expected = if list == List::LogsByOrder { 1 } else { 2 };
        assert_eq!(sizes, vec![1; expected], "{list:?}: {seen:?}");
        let first = env.page(list, &who, &PageRequest { limit: 1, cursor: None }).await.unwrap();
        if let Some(cursor) = first.next_cursor {
            println!(
                "{list:?}: a cursor of {} characters (the API takes {})",
                cursor.len(),
                Cursor::MAX_CHARS
            );
        }
    }
}

/// A cursor forged for each list: of the wrong type, empty, oversize,
/// misshapen, of another partition or list, absurdly long: all
/// `InvalidCursor` (a 400 naming `cursor`), none reaching DynamoDB. A
/// well-formed key of the list that no item has is a correct page.
#[tokio::test]
async fn a_forged_cursor_of_any_list_is_refused_and_a_well_formed_one_pages_correctly() {
    let env = env().await;
    let who = Who { customer: "c-1".into(), store: "store-1".into(), order: "o-000".into() };
    let recipient = Recipient::Customer(UserId::new("c-1"));
    for i in 0..3 {
        let id = format!("o-{i:03}");
        env.orders.place(&largest_placement(&id, "c-1", "store-1", t(i), None)).await.unwrap();
        let n = notification(&format!("n-{i:03}"), &recipient, "hi".into(), t(i));
        assert_eq!(env.notifications.insert(&n).await, Ok(true));
        let r = log_record(&format!("l-{i:03}"), "c-1", "o-000", "hi".into(), t(i));
        assert_eq!(env.logs.insert(&r).await, Ok(true));
    }
    let decode =
        |cursor: &str| -> Value { serde_json::from_slice(&URL_SAFE_NO_PAD.decode(cursor).unwrap()).unwrap() };
    let encode = |body: &Value| URL_SAFE_NO_PAD.encode(body.to_string());
    for list in List::ALL {
        let first = env.page(list, &who, &PageRequest { limit: 1, cursor: None }).await.unwrap();
        let genuine = first.next_cursor.expect("a cursor");
        let body = decode(&genuine);
        let (partition, table_key) = list.attributes();
        let rest =
            env.page(list, &who, &PageRequest { limit: 5, cursor: Some(genuine.clone()) }).await.unwrap();
        assert_eq!((rest.items.len(), rest.next_cursor), (2, None), "{list:?}");

        let edited = |edit: &dyn Fn(&mut Value)| {
            let mut body = body.clone();
            edit(&mut body);
            encode(&body)
        };
        let oversize_sort = format!("{}#{}", time_key(t(1)), "z".repeat(1024 - 27));
        let oversize_id = "z".repeat(2049);
        let mut forged = vec![
            ("wrong type", edited(&|b| b["key"]["created_sk"] = json!(5))),
            ("a list of keys", edited(&|b| b["key"] = json!([b["key"].clone()]))),
            ("empty sort key", edited(&|b| b["key"]["created_sk"] = json!(""))),
            ("empty partition", edited(&|b| b["key"][partition] = json!(""))),
            ("oversize sort key", edited(&|b| b["key"]["created_sk"] = json!(oversize_sort))),
            ("misshapen sort key", edited(&|b| b["key"]["created_sk"] = json!("yesterday#o-1"))),
            ("other partition", edited(&|b| b["key"][partition] = json!("someone-else"))),
            ("other list", edited(&|b| b["list"] = json!("by-nothing"))),
            ("a key missing", edited(&|b| drop(b["key"].as_object_mut().unwrap().remove("created_sk")))),
            ("a key too many", edited(&|b| b["key"]["extra"] = json!("x"))),
            ("absurdly long", "A".repeat(1 << 20)),
            ("not base64", "a cursor!".into()),
            ("not JSON", URL_SAFE_NO_PAD.encode("{")),
        ];
        if let Some(table_key) = table_key {
            forged.push(("empty table key", edited(&|b| b["key"][table_key] = json!(""))));
            forged.push(("oversize table key", edited(&|b| b["key"][table_key] = json!(oversize_id))));
            forged.push(("another item's id", edited(&|b| b["key"][table_key] = json!("o-999"))));
        }
        for (what, cursor) in forged {
            let answer = env.page(list, &who, &PageRequest { limit: 5, cursor: Some(cursor) }).await;
            assert_eq!(answer, Err(PortError::InvalidCursor), "{list:?}: {what}");
        }

        // A key no item has, between the newest and the rest: a correct page.
        let id = "zzz";
        let between = edited(&|b| {
            b["key"]["created_sk"] = json!(format!("{}#{id}", time_key(t(1))));
            if let Some(table_key) = table_key {
                b["key"][table_key] = json!(id);
            }
        });
        let page = env.page(list, &who, &PageRequest { limit: 5, cursor: Some(between) }).await.unwrap();
        assert_eq!((page.items, page.next_cursor), (rest.items, None), "{list:?}");
    }
}

/// `u1#k` with key `x` and `u1` with key `k#x` were one idempotency record
/// (`u1#k#x`): the second customer's order was refused as a retry of the
/// first's. Each now has their own record and order.
#[tokio::test]
async fn users_whose_id_and_key_join_alike_keep_their_own_records() {
    let env = env().await;
    let pairs = [("u1#k", "x", "o-1"), ("u1", "k#x", "o-2"), ("u1%23k", "x", "o-3")];
    for (i, (customer, key, order)) in pairs.into_iter().enumerate() {
        let placement = largest_placement(order, customer, "store-1", t(i as i64), Some(key));
        match env.orders.place(&placement).await {
            Ok(()) => {}
            Err(PlaceError::IdempotencyKeyTaken) => panic!("{customer} + {key}: taken by another user"),
            Err(e) => panic!("{customer} + {key}: {e:?}"),
        }
    }
    for (customer, key, order) in pairs {
        let record = env.orders.find_idempotency(&UserId::new(customer), key).await.unwrap().unwrap();
        assert_eq!((record.customer_id.as_str(), record.order_id.as_str()), (customer, order));
        let mine = env
            .orders
            .list_for_customer(&UserId::new(customer), &PageRequest { limit: 10, cursor: None })
            .await
            .unwrap();
        assert_eq!(mine.items.iter().map(|o| o.order_id.as_str()).collect::<Vec<_>>(), [order]);
    }
    assert_eq!(env.orders.find_idempotency(&UserId::new("u1"), "x").await, Ok(None));
}
