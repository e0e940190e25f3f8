//! Security through the local stack: every route against no token, a bad
//! signature, an expired token, the wrong role, another customer and another
//! store's owner (401, 403 or 404 as SPEC section 3 says, and nothing of the
//! other user in the answer, and nothing changed), and bad bodies on every
//! route that takes one (4xx naming the field and the reason, nothing
//! written).

mod support;

use foodstream_harness::api::Route;
use foodstream_local::jwt::{self, Claims};
use serde_json::{Value, json};
use std::time::Duration;
use support::{Settings, Shop, TestStack};

struct Party {
    customer: String,
    other_customer: String,
    owner: String,
    other_owner: String,
    operator: String,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Who {
    Anyone,
    Customer,
    Owner,
    Operator,
    CustomerOrOwner,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_route_refuses_whoever_may_not_call_it_and_leaks_nothing() {
    let t = TestStack::start(Settings::new("authz")).await;
    let shop = Shop::open(&t, 10, 1).await;
    let run = &t.run;
    let party = Party {
        customer: t.token(&format!("customer-{run}"), "customer", None),
        other_customer: t.token(&format!("intruder-{run}"), "customer", None),
        owner: shop.owner.clone(),
        other_owner: t.token(&format!("other-owner-{run}"), "owner", Some(&format!("other-store-{run}"))),
        operator: shop.operator.clone(),
    };
    let secret_street = format!("7 Secret-gil {run}");
    let mut body = shop.order(1);
    body["address"]["street"] = json!(secret_street);
    let order = t.expect(&party.customer, Route::PlaceOrder, Some(body), 201).await;
    let id = order["order_id"].as_str().unwrap().to_owned();
    let store = &shop.store;

    let now = chrono::Utc::now().timestamp() as u64;
    let sub = format!("customer-{run}");
    let forged = jwt::mint(&Claims::new(&sub, "customer", None, now, 3600), "not-the-secret").unwrap();
    let expired = jwt::mint(&Claims::new(&sub, "customer", None, now - 7200, 3600), support::SECRET).unwrap();
    let not_yet = jwt::mint(
        &Claims { nbf: now + 600, ..Claims::new(&sub, "customer", None, now, 3600) },
        support::SECRET,
    )
    .unwrap();
    // A well-signed token with a plain `role` and no Cognito attributes (the
    // old local shape): the gateway lets it through, as API Gateway does any
    // valid token; the function reads only `custom:role` and refuses it.
    let mut plain = serde_json::to_value(Claims::new(&sub, "customer", None, now, 3600)).unwrap();
    plain.as_object_mut().unwrap().remove("custom:role");
    plain["role"] = json!("customer");
    let plain_role = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &plain,
        &jsonwebtoken::EncodingKey::from_secret(support::SECRET.as_bytes()),
    )
    .unwrap();

    let rider = format!("rider-x-{run}");
    let routes: Vec<(Route, Option<Value>, Who)> = vec![
        (
            Route::PutMenuItem { store, product: "cola" },
            Some(json!({"name": "Cola", "price": 2000, "stock": 5})),
            Who::Owner,
        ),
        (Route::ListMenu { store }, None, Who::Anyone),
        (Route::PlaceOrder, Some(shop.order(1)), Who::Customer),
        (Route::ListMyOrders, None, Who::Customer),
        (Route::GetOrder { order: &id }, None, Who::CustomerOrOwner),
        (Route::CancelOrder { order: &id }, None, Who::CustomerOrOwner),
        (Route::ListStoreOrders { store }, None, Who::Owner),
        (Route::AcceptOrder { order: &id }, None, Who::Owner),
        (Route::RejectOrder { order: &id }, Some(json!({"reason": "no"})), Who::Owner),
        (Route::RequestDelivery { order: &id }, None, Who::Owner),
        (Route::CreateRefundPhoto { order: &id }, Some(json!({"content_type": "image/png"})), Who::Customer),
        (
            Route::RequestRefund { order: &id },
            Some(json!({"photo_key": "k", "reason": "r", "method": "REFUND"})),
            Who::Customer,
        ),
        (Route::DecideRefund { order: &id }, Some(json!({"approve": true})), Who::Owner),
        (Route::ListMyNotifications, None, Who::Anyone),
        (Route::RegisterRider { rider: &rider }, Some(json!({"zone": "Nowhere"})), Who::Operator),
        (Route::ListLogs, None, Who::Operator),
    ];
    assert_eq!(routes.len(), 16, "every route of SPEC section 3");

    let mut checked = 0;
    for (route, body, who) in &routes {
        let t = &t;
        let method = route.method();
        // The operator's logs are read by a filter.
        let path = match route {
            Route::ListLogs => route.query(&[("user_id", "x")]),
            _ => route.path(),
        };
        let path = &path;
        let call = |token: Option<String>| {
            let body = body.clone();
            let method = method.clone();
            async move { t.send(token.as_deref(), method, path, body).await }
        };
        // The gateway's authorizer: 401 before any function runs.
        for (label, token) in [
            ("no token", None),
            ("a bad signature", Some(forged.clone())),
            ("an expired token", Some(expired.clone())),
            ("a token not valid yet (nbf)", Some(not_yet.clone())),
        ] {
            let answer = call(token).await;
            assert_eq!(answer.status, 401, "{method} {path} with {label}: {}", answer.body);
            checked += 1;
        }
        // Past the gateway, a token without the Cognito role claim: 401.
        let answer = call(Some(plain_role.clone())).await;
        assert_eq!(answer.status, 401, "{method} {path} with a plain role claim: {}", answer.body);
        assert_eq!(answer.body["error"]["code"], "UNAUTHENTICATED", "{method} {path}: {}", answer.body);
        checked += 1;
        // The wrong role: 403.
        let wrong_roles: Vec<(&str, &String)> = match who {
            Who::Anyone => vec![],
            Who::Customer => vec![("an owner", &party.owner), ("an operator", &party.operator)],
            Who::Owner => vec![("a customer", &party.customer), ("an operator", &party.operator)],
            Who::Operator => vec![("a customer", &party.customer), ("an owner", &party.owner)],
            Who::CustomerOrOwner => vec![("an operator", &party.operator)],
        };
        for (label, token) in wrong_roles {
            let answer = call(Some(token.clone())).await;
            assert_eq!(answer.status, 403, "{method} {path} as {label}: {}", answer.body);
            assert_eq!(answer.body["error"]["code"], "FORBIDDEN");
            checked += 1;
        }
        // Another customer, another store's owner: 404 for an order that is
        // not theirs, 403 for a store that is not theirs.
        let on_order = path.contains(&id);
        let on_store = matches!(
            route,
            Route::PutMenuItem { .. } | Route::ListMenu { .. } | Route::ListStoreOrders { .. }
        ) && *who == Who::Owner;
        let mut others: Vec<(&str, &String, u16)> = Vec::new();
        if on_order && matches!(who, Who::Customer | Who::CustomerOrOwner) {
            others.push(("another customer", &party.other_customer, 404));
        }
        if on_order && matches!(who, Who::Owner | Who::CustomerOrOwner) {
            others.push(("another store's owner", &party.other_owner, 404));
        }
        if on_store {
            others.push(("another store's owner", &party.other_owner, 403));
        }
        for (label, token, status) in others {
            let answer = call(Some(token.clone())).await;
            assert_eq!(answer.status, status, "{method} {path} as {label}: {}", answer.body);
            let text = answer.body.to_string();
            assert!(
                !text.contains(&secret_street) && !text.contains(&sub),
                "{label} saw the customer's data: {text}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 112, "{checked} refusals checked");

    // Lists are scoped to the caller: the intruder sees no one else's orders
    // or notifications, and the other owner nothing of this store.
    t.wait_until(&party.customer, &Route::ListMyNotifications.path(), Duration::from_secs(30), |l| {
        !l["items"].as_array().unwrap().is_empty()
    })
    .await;
    let other_store = format!("other-store-{run}");
    for (token, route) in [
        (&party.other_customer, Route::ListMyOrders),
        (&party.other_customer, Route::ListMyNotifications),
        (&party.other_owner, Route::ListMyNotifications),
        (&party.other_owner, Route::ListStoreOrders { store: &other_store }),
    ] {
        let list = t.expect(token, route, None, 200).await;
        assert_eq!(list["items"], json!([]), "GET {} showed someone else's data: {list}", route.path());
    }
    // Nothing any refused call tried happened.
    let after = t.expect(&party.customer, Route::GetOrder { order: &id }, None, 200).await;
    assert_eq!((after["status"].as_str(), after["version"].as_u64()), (Some("PAID"), Some(1)), "{after}");
    let menu = t.expect(&party.customer, Route::ListMenu { store }, None, 200).await;
    assert_eq!(menu["items"].as_array().unwrap().len(), 1, "a refused PUT added an item: {menu}");
    t.stop().await;
}

/// The fields a 400 names.
fn fields(answer: &foodstream_harness::api::ApiAnswer) -> Vec<String> {
    answer.body["error"]["details"]["fields"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            assert!(f["reason"].as_str().is_some_and(|r| !r.is_empty()), "a field without its reason: {f}");
            f["field"].as_str().unwrap_or_default().to_owned()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_bodies_get_a_4xx_naming_the_field_and_the_reason_and_write_nothing() {
    let t = TestStack::start(Settings::new("bodies")).await;
    let shop = Shop::open(&t, 10, 1).await;
    let customer = t.token(&format!("customer-{}", t.run), "customer", None);
    let raw = |token: &str, route: Route, body: Vec<u8>| {
        let request = t
            .api
            .http()
            .request(route.method(), format!("{}{}", t.api.base_url(), route.path()))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let body: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap_or(Value::Null);
            foodstream_harness::api::ApiAnswer { status, body }
        }
    };

    // Orders: each bad body, the status and the field it must name.
    let good = shop.order(1);
    let with = |pointer: &str, value: Value| {
        let mut body = good.clone();
        *body.pointer_mut(pointer).unwrap() = value;
        body
    };
    let without = |key: &str| {
        let mut body = good.clone();
        body.as_object_mut().unwrap().remove(key);
        body
    };
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("malformed JSON", br#"{"store_id": "s", "items": ["#.to_vec(), "body"),
        ("not an object", b"[1, 2, 3]".to_vec(), "body"),
        (
            "a quantity as text",
            with("/items/0/quantity", json!("two")).to_string().into_bytes(),
            "items[0].quantity",
        ),
        (
            "a zero quantity",
            with("/items/0/quantity", json!(0)).to_string().into_bytes(),
            "items[0].quantity",
        ),
        ("no address", without("address").to_string().into_bytes(), "address"),
        ("no items", with("/items", json!([])).to_string().into_bytes(), "items"),
        (
            "a street of 5000 characters",
            with("/address/street", json!("x".repeat(5000))).to_string().into_bytes(),
            "address.street",
        ),
        (
            "an empty district",
            with("/address/district", json!("")).to_string().into_bytes(),
            "address.district",
        ),
    ];
    for (label, body, field) in cases {
        let answer = raw(&customer, Route::PlaceOrder, body).await;
        assert_eq!(answer.status, 400, "{label}: {}", answer.body);
        assert_eq!(answer.body["error"]["code"], "VALIDATION_FAILED", "{label}");
        let named = fields(&answer);
        assert!(named.iter().any(|f| f == field), "{label}: expected {field} among {named:?}");
    }
    // Invalid UTF-8 and bodies over the limits.
    let answer = raw(&customer, Route::PlaceOrder, vec![b'{', 0xff, 0xfe, b'}']).await;
    assert_eq!(answer.status, 400, "invalid UTF-8: {}", answer.body);
    let big =
        json!({"store_id": shop.store, "items": [], "pad": "x".repeat(100 * 1024)}).to_string().into_bytes();
    let answer = raw(&customer, Route::PlaceOrder, big).await;
    assert_eq!(answer.status, 413, "100 KiB: {}", answer.body);
    let huge = vec![b' '; 11 * 1024 * 1024];
    let answer = raw(&customer, Route::PlaceOrder, huge).await;
    assert_eq!(answer.status, 413, "11 MiB, over API Gateway's limit");
    // Under API Gateway's 10 MB but over Lambda's 6 MB: Lambda refuses the
    // invoke, the function never runs.
    let seven = vec![b' '; 7 * 1024 * 1024];
    let answer = raw(&customer, Route::PlaceOrder, seven).await;
    assert_eq!(answer.status, 413, "7 MiB, over Lambda's invoke limit: {}", answer.body);
    assert_eq!(
        answer.body["message"], "Request Entity Too Large",
        "refused before the function: {}",
        answer.body
    );
    // Unicode is data, not an error.
    let korean = with("/address/street", json!("강남대로 123, 2층 🍗"));
    let placed = t.expect(&customer, Route::PlaceOrder, Some(korean), 201).await;
    assert_eq!(placed["address"]["street"], "강남대로 123, 2층 🍗");
    let id = placed["order_id"].as_str().unwrap().to_owned();

    // Other routes with bodies.
    let store = &shop.store;
    let rider = format!("rider-bad-{}", t.run);
    let others: Vec<(&String, Route, Value, &str)> = vec![
        (
            &shop.owner,
            Route::PutMenuItem { store, product: "cola" },
            json!({"name": "Cola", "price": -1, "stock": 1}),
            "price",
        ),
        (
            &shop.owner,
            Route::PutMenuItem { store, product: "cola" },
            json!({"name": "Cola", "price": "cheap", "stock": 1}),
            "price",
        ),
        (
            &shop.owner,
            Route::PutMenuItem { store, product: "cola" },
            json!({"name": "C".repeat(1000), "price": 1, "stock": 1}),
            "name",
        ),
        (&shop.owner, Route::PutMenuItem { store, product: "cola" }, json!({"price": 1, "stock": 1}), "name"),
        (&shop.owner, Route::RejectOrder { order: &id }, json!({}), "reason"),
        (&shop.owner, Route::RejectOrder { order: &id }, json!({"reason": "r".repeat(5000)}), "reason"),
        (
            &customer,
            Route::CreateRefundPhoto { order: &id },
            json!({"content_type": "image/gif"}),
            "content_type",
        ),
        (
            &customer,
            Route::RequestRefund { order: &id },
            json!({"photo_key": "k", "reason": "r", "method": "MAYBE"}),
            "method",
        ),
        (
            &customer,
            Route::RequestRefund { order: &id },
            json!({"photo_key": "k", "reason": "", "method": "REFUND"}),
            "reason",
        ),
        (&shop.owner, Route::DecideRefund { order: &id }, json!({"approve": "yes"}), "approve"),
        (&shop.operator, Route::RegisterRider { rider: &rider }, json!({"zone": 7}), "zone"),
        (&shop.operator, Route::RegisterRider { rider: &rider }, json!({}), "zone"),
    ];
    for (token, route, body, field) in others {
        let (method, path) = (route.method(), route.path());
        let answer = t.call(Some(token), route, Some(body.clone())).await;
        assert_eq!(answer.status, 400, "{method} {path} {body}: {}", answer.body);
        let named = fields(&answer);
        assert!(named.iter().any(|f| f == field), "{method} {path} {body}: expected {field} among {named:?}");
    }

    // Nothing written: one order (the Korean one), still PAID at version 1,
    // stock down by one (the item's version moved on once, by that sale),
    // no cola, no rider-bad.
    let orders = t.list_all(&customer, &Route::ListMyOrders.path()).await;
    assert_eq!(orders.len(), 1, "{orders:?}");
    let order = t.expect(&customer, Route::GetOrder { order: &id }, None, 200).await;
    assert_eq!((order["status"].as_str(), order["version"].as_u64()), (Some("PAID"), Some(1)));
    let menu = t.expect(&customer, Route::ListMenu { store }, None, 200).await;
    assert_eq!(
        menu["items"],
        json!([{"product_id": "chicken", "name": "Fried chicken", "price": 18000, "stock": 9, "version": 2}])
    );
    t.stop().await;
}
