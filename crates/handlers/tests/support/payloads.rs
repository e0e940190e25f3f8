//! The ready payloads under `events/`, one per function, built from the
//! real serializers so they never drift from the code. `make events`
//! rewrites them; a test fails when a file differs from what is built here.

use base64::Engine;
use chrono::{TimeZone, Utc};
use foodstream_domain::Timestamp;
use foodstream_domain::catalog::MenuItem;
use foodstream_domain::delivery::DeliverySettings;
use foodstream_domain::events::{DeliveryEvent, LogEvent, OrderEvent};
use foodstream_domain::ids::{OrderId, ProductId, RiderId, StoreId, UserId};
use foodstream_domain::notification::{Locale, notifications_for};
use foodstream_domain::order::{Address, LineInput, Order, PlaceOrderInput};
use serde_json::{Value, json};
use std::collections::HashMap;

pub const ORDER: &str = "order-1";
pub const STORE: &str = "store-1";
pub const CUSTOMER: &str = "cust-1";
pub const PHOTO_KEY: &str = "refund-photos/order-1/photo";

pub fn at() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap()
}

pub fn menu() -> HashMap<ProductId, MenuItem> {
    [("bibimbap", "비빔밥", 9000), ("kimchi", "김치찌개", 8000)]
        .into_iter()
        .map(|(id, name, price)| {
            let item = MenuItem {
                store_id: StoreId::new(STORE),
                product_id: ProductId::new(id),
                name: name.into(),
                price,
                stock: 10,
                version: 1,
            };
            (item.product_id.clone(), item)
        })
        .collect()
}

pub fn order_body() -> PlaceOrderInput {
    PlaceOrderInput {
        store_id: STORE.into(),
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

/// `order-1` as placed by `cust-1` (PAID, version 1) and its event.
pub fn placed() -> (Order, OrderEvent) {
    let valid = order_body().validate().unwrap();
    let (lines, _) = valid.price(&menu()).unwrap();
    let t = Order::place(OrderId::new(ORDER), UserId::new(CUSTOMER), &valid, lines, at());
    (t.order, t.events[0].clone())
}

/// `order-1` accepted and with a rider requested, and that event.
pub fn delivery_requested() -> (Order, OrderEvent) {
    let accepted = placed().0.accept(at()).unwrap().order;
    let t = accepted.request_delivery(at()).unwrap();
    (t.order, t.events[0].clone())
}

fn claims(role: &str) -> Value {
    match role {
        "customer" => json!({"sub": CUSTOMER, "cognito:username": CUSTOMER, "custom:role": "customer"}),
        "owner" => {
            json!({"sub": "owner-1", "cognito:username": "owner-1", "custom:role": "owner", "custom:store_id": STORE})
        }
        _ => json!({"sub": "ops-1", "cognito:username": "ops-1", "custom:role": "operator"}),
    }
}

/// An API Gateway HTTP API (payload 2.0) request with verified JWT claims.
fn http(
    route: &str,
    path: &str,
    params: Value,
    query: &[(&str, &str)],
    role: &str,
    body: Option<Value>,
    extra_headers: &[(&str, &str)],
) -> Value {
    let (method, _) = route.split_once(' ').unwrap();
    let mut claims = claims(role);
    // As API Gateway hands an ID token's claims over: every value a string.
    claims["token_use"] = json!("id");
    claims["iss"] = json!("food-delivery-local");
    claims["aud"] = json!("foodstream-local-app-client");
    claims["iat"] = json!("1795604400");
    claims["nbf"] = json!("1795604400");
    claims["exp"] = json!("1795608000");
    let mut headers = json!({"accept": "application/json", "host": "127.0.0.1:3000", "user-agent": "curl/8.5.0", "authorization": "Bearer <token>"});
    if body.is_some() {
        headers["content-type"] = json!("application/json");
    }
    for (k, v) in extra_headers {
        headers[*k] = json!(v);
    }
    let raw_query = query.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
    let mut request = json!({
        "version": "2.0",
        "routeKey": route,
        "rawPath": path,
        "rawQueryString": raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "authorizer": {"jwt": {"claims": claims, "scopes": null}},
            "domainName": "127.0.0.1",
            "domainPrefix": "127",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "curl/8.5.0"},
            "requestId": format!("req-{}", path.replace('/', "-")),
            "routeKey": route,
            "stage": "$default",
            "time": "25/Nov/2026:12:00:00 +0000",
            "timeEpoch": 1795608000000i64
        },
        "isBase64Encoded": false
    });
    if !params.as_object().unwrap().is_empty() {
        request["pathParameters"] = params;
    }
    if !query.is_empty() {
        request["queryStringParameters"] =
            query.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<_, _>>().into();
    }
    if let Some(body) = body {
        request["body"] = json!(body.to_string());
    }
    request
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// An `aws:kafka` batch of `events` (topic, key, JSON value, event_id header).
fn kafka(records: &[(&str, String, String, Vec<u8>)]) -> Value {
    let mut by_partition: serde_json::Map<String, Value> = serde_json::Map::new();
    for (offset, (topic, key, event_id, value)) in records.iter().enumerate() {
        let header: Vec<i8> = event_id.bytes().map(|b| b as i8).collect();
        let record = json!({
            "topic": topic,
            "partition": 0,
            "offset": 100 + offset,
            "timestamp": 1795608000000i64,
            "timestampType": "CREATE_TIME",
            "key": b64(key.as_bytes()),
            "value": b64(value),
            "headers": [{"event_id": header}]
        });
        by_partition
            .entry(format!("{topic}-0"))
            .or_insert_with(|| json!([]))
            .as_array_mut()
            .unwrap()
            .push(record);
    }
    json!({
        "eventSource": "aws:kafka",
        "eventSourceArn": "arn:aws:kafka:us-east-1:000000000000:cluster/foodstream/local",
        "bootstrapServers": "127.0.0.1:9092",
        "records": by_partition
    })
}

fn order_record(e: &OrderEvent) -> (&'static str, String, String, Vec<u8>) {
    ("order-events", e.order_id.to_string(), e.event_id.to_string(), e.to_json())
}

pub fn delivery_events() -> Vec<DeliveryEvent> {
    let request = delivery_requested().1.delivery_request().unwrap();
    let assigned = request.assign(RiderId::new("rider-1"), at(), &DeliverySettings::default());
    vec![DeliveryEvent::of(&assigned), DeliveryEvent::of(&assigned.completed().unwrap())]
}

pub fn log_event() -> LogEvent {
    let (_, event) = placed();
    let notification = notifications_for(&event, Locale::Ko).remove(0);
    LogEvent::of_notification(&notification, &event.store_id, "notifier")
}

/// Every function's payload, by function name.
pub fn all() -> Vec<(&'static str, Value)> {
    let none = json!({});
    let order = json!({"orderId": ORDER});
    let (placed_order, placed_event) = placed();
    vec![
        (
            "put-menu-item",
            http(
                "PUT /stores/{storeId}/menu/{productId}",
                "/stores/store-1/menu/bibimbap",
                json!({"storeId": STORE, "productId": "bibimbap"}),
                &[],
                "owner",
                Some(json!({"name": "비빔밥", "price": 9000, "stock": 10})),
                &[],
            ),
        ),
        (
            "list-menu",
            http(
                "GET /stores/{storeId}/menu",
                "/stores/store-1/menu",
                json!({"storeId": STORE}),
                &[],
                "customer",
                None,
                &[],
            ),
        ),
        (
            "place-order",
            http(
                "POST /orders",
                "/orders",
                none.clone(),
                &[],
                "customer",
                Some(serde_json::to_value(order_body()).unwrap()),
                &[("idempotency-key", "3f1c2d4e-demo")],
            ),
        ),
        (
            "list-my-orders",
            http("GET /orders", "/orders", none.clone(), &[("limit", "10")], "customer", None, &[]),
        ),
        (
            "get-order",
            http("GET /orders/{orderId}", "/orders/order-1", order.clone(), &[], "customer", None, &[]),
        ),
        (
            "cancel-order",
            http(
                "POST /orders/{orderId}/cancel",
                "/orders/order-1/cancel",
                order.clone(),
                &[],
                "customer",
                Some(json!({"reason": "changed my mind"})),
                &[],
            ),
        ),
        (
            "list-store-orders",
            http(
                "GET /stores/{storeId}/orders",
                "/stores/store-1/orders",
                json!({"storeId": STORE}),
                &[("status", "PAID")],
                "owner",
                None,
                &[],
            ),
        ),
        (
            "accept-order",
            http(
                "POST /orders/{orderId}/accept",
                "/orders/order-1/accept",
                order.clone(),
                &[],
                "owner",
                None,
                &[],
            ),
        ),
        (
            "reject-order",
            http(
                "POST /orders/{orderId}/reject",
                "/orders/order-1/reject",
                order.clone(),
                &[],
                "owner",
                Some(json!({"reason": "out of rice"})),
                &[],
            ),
        ),
        (
            "request-delivery",
            http(
                "POST /orders/{orderId}/delivery-requests",
                "/orders/order-1/delivery-requests",
                order.clone(),
                &[],
                "owner",
                None,
                &[],
            ),
        ),
        (
            "create-refund-photo",
            http(
                "POST /orders/{orderId}/refund-photos",
                "/orders/order-1/refund-photos",
                order.clone(),
                &[],
                "customer",
                Some(json!({"content_type": "image/jpeg"})),
                &[],
            ),
        ),
        (
            "request-refund",
            http(
                "POST /orders/{orderId}/refund-request",
                "/orders/order-1/refund-request",
                order.clone(),
                &[],
                "customer",
                Some(json!({"photo_key": PHOTO_KEY, "reason": "국이 식어서 왔어요", "method": "REFUND"})),
                &[],
            ),
        ),
        (
            "decide-refund",
            http(
                "POST /orders/{orderId}/refund-request/decision",
                "/orders/order-1/refund-request/decision",
                order.clone(),
                &[],
                "owner",
                Some(json!({"approve": false, "reason": "the photo shows a full bowl"})),
                &[],
            ),
        ),
        (
            "list-my-notifications",
            http(
                "GET /me/notifications",
                "/me/notifications",
                none.clone(),
                &[("limit", "20")],
                "customer",
                None,
                &[],
            ),
        ),
        (
            "register-rider",
            http(
                "PUT /riders/{riderId}",
                "/riders/rider-1",
                json!({"riderId": "rider-1"}),
                &[],
                "operator",
                Some(json!({"zone": "Gangnam-gu"})),
                &[],
            ),
        ),
        (
            "list-logs",
            http("GET /ops/logs", "/ops/logs", none, &[("order_id", ORDER)], "operator", None, &[]),
        ),
        (
            "order-outbox-relay",
            json!({"Records": [{
                "eventID": "c4ca4238a0b923820dcc509a6f75849b",
                "eventName": "INSERT",
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": "us-east-1",
                "dynamodb": {
                    "ApproximateCreationDateTime": 1795608000,
                    "Keys": {"order_id": {"S": ORDER}},
                    "NewImage": foodstream_aws::order_stream_image(&placed_order, std::slice::from_ref(&placed_event)).unwrap(),
                    "SequenceNumber": "111100000000000000000001",
                    "SizeBytes": 1024,
                    "StreamViewType": "NEW_AND_OLD_IMAGES"
                },
                "eventSourceARN": "arn:aws:dynamodb:us-east-1:000000000000:table/foodstream-orders/stream/2026-11-25T00:00:00.000"
            }]}),
        ),
        ("delivery-dispatcher", kafka(&[order_record(&delivery_requested().1)])),
        (
            "order-delivery-updater",
            kafka(
                &delivery_events()
                    .iter()
                    .map(|e| ("delivery-events", e.order_id.to_string(), e.event_id.to_string(), e.to_json()))
                    .collect::<Vec<_>>(),
            ),
        ),
        ("notifier", kafka(&[order_record(&placed_event)])),
        ("log-collector", {
            let log = log_event();
            kafka(&[("log-events", log.user_id.to_string(), log.event_id.to_string(), log.to_json())])
        }),
        ("delivery-sweeper", scheduled_event()),
        ("delivery-completer", timer_event(&[&completion_due().encode()])),
    ]
}

/// The completion the dispatcher schedules for the payloads' delivery
/// (order-1, requested at version 3), due a second after `at()`.
pub fn completion_due() -> foodstream_domain::timer::CompletionDue {
    foodstream_domain::timer::CompletionDue {
        delivery_id: format!("{ORDER}#3"),
        completes_at: at() + chrono::Duration::seconds(1),
    }
}

/// What the delivery timer's queue (an SQS event source mapping) hands
/// the completer: one message per body, as Lambda's `aws:sqs` event.
pub fn timer_event(bodies: &[&str]) -> Value {
    let sent = at().timestamp_millis();
    let records: Vec<Value> = bodies
        .iter()
        .enumerate()
        .map(|(i, body)| {
            json!({
                "messageId": format!("5fea7756-0ea4-451a-a703-a558b933e2{i:02}"),
                "receiptHandle": format!("AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a{i:02}"),
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": sent.to_string(),
                    "SenderId": "AROAEXAMPLE:delivery-dispatcher",
                    "ApproximateFirstReceiveTimestamp": (sent + 1000).to_string(),
                },
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:foodstream-DeliveryTimerQueue",
                "awsRegion": "us-east-1",
            })
        })
        .collect();
    json!({"Records": records})
}

/// What an EventBridge schedule (`Type: Schedule` in the template) hands
/// the sweeper every minute.
pub fn scheduled_event() -> Value {
    json!({
        "version": "0",
        "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "000000000000",
        "time": "2026-11-25T12:00:00Z",
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:000000000000:rule/foodstream-DeliverySweeperFunctionSweep"],
        "detail": {}
    })
}
