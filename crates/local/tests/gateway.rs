//! The emulated API Gateway in front of a real function process, over real
//! HTTP on 127.0.0.1.

use foodstream_local::gateway::{Gateway, RouteSpec};
use foodstream_local::jwt::{self, Claims};
use foodstream_local::runtime::{FunctionPool, FunctionSpec};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

async fn start() -> (SocketAddr, Arc<FunctionPool>, tokio::task::JoinHandle<()>) {
    let pool = Arc::new(FunctionPool::new(FunctionSpec {
        name: "echo".into(),
        binary: PathBuf::from(env!("CARGO_BIN_EXE_local-echo-function")),
        environment: BTreeMap::new(),
        timeout: Duration::from_secs(5),
        memory_mb: 128,
        max_instances: 2,
        log_file: None,
        launcher: Vec::new(),
        active_tracing: false,
    }));
    let routes = vec![RouteSpec {
        method: "POST".into(),
        path: "/orders/{orderId}/cancel".into(),
        function: "echo".into(),
    }];
    let gateway = Arc::new(
        Gateway::new(routes, HashMap::from([("echo".to_string(), pool.clone())]), jwt::DEFAULT_SECRET.into())
            .with_max_payload(1024),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        axum::serve(listener, gateway.router().into_make_service_with_connect_info::<SocketAddr>())
            .await
            .unwrap();
    });
    (address, pool, server)
}

/// A bare HTTP/1.1 request; returns status and body.
fn call(address: SocketAddr, method: &str, path: &str, token: Option<&str>, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(address).unwrap();
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\n{auth}Cookie: a=1; b=2\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = answer.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    (status, body)
}

fn token(exp_offset: i64) -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let claims = Claims::new("owner-1", "owner", Some("store-1"), (now + exp_offset - 3600) as u64, 3600);
    jwt::mint(&claims, jwt::DEFAULT_SECRET).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_routed_request_reaches_the_function_as_a_2_0_event_with_the_claims() {
    let (address, pool, server) = start().await;
    let good = token(3600);
    let (status, body) = tokio::task::spawn_blocking(move || {
        call(
            address,
            "POST",
            "/orders/order%201/cancel?limit=5&x=a&x=b&q=fried+chicken%2Fspicy",
            Some(&good),
            r#"{"reason":"late"}"#,
        )
    })
    .await
    .unwrap();
    assert_eq!(status, 200, "{body}");
    let event: Value = serde_json::from_str(&body).unwrap();
    let event = &event["echo"];
    assert_eq!(event["version"], "2.0");
    assert_eq!(event["routeKey"], "POST /orders/{orderId}/cancel");
    assert_eq!(event["rawPath"], "/orders/order%201/cancel");
    assert_eq!(event["rawQueryString"], "limit=5&x=a&x=b&q=fried+chicken%2Fspicy");
    assert_eq!(event["queryStringParameters"]["x"], "a,b");
    assert_eq!(event["queryStringParameters"]["q"], "fried chicken/spicy");
    assert_eq!(event["pathParameters"]["orderId"], "order 1");
    assert_eq!(event["cookies"][1], "b=2");
    assert_eq!(event["headers"]["content-type"], "application/json");
    assert_eq!(event["requestContext"]["http"]["method"], "POST");
    assert_ne!(event["httpMethod"], "GET", "a 1.0 field, if present, must not contradict the request");
    assert_eq!(event["requestContext"]["http"]["sourceIp"], "127.0.0.1");
    assert_eq!(event["requestContext"]["authorizer"]["jwt"]["claims"]["custom:store_id"], "store-1");
    assert_eq!(event["requestContext"]["authorizer"]["jwt"]["claims"]["custom:role"], "owner");
    assert_eq!(event["requestContext"]["authorizer"]["jwt"]["claims"]["token_use"], "id");
    assert_eq!(event["body"], r#"{"reason":"late"}"#);
    assert_eq!(event["isBase64Encoded"], false);
    pool.shutdown().await;
    server.abort();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_gateway_answers_401_404_and_413_itself() {
    let (address, pool, server) = start().await;
    let (expired, bad) = (token(-10), format!("{}x", token(3600)));
    let results = tokio::task::spawn_blocking(move || {
        [
            call(address, "POST", "/orders/o/cancel", None, "{}"),
            call(address, "POST", "/orders/o/cancel", Some(&expired), "{}"),
            call(address, "POST", "/orders/o/cancel", Some(&bad), "{}"),
            call(address, "GET", "/orders/o/cancel", Some(&token(3600)), ""),
            call(address, "POST", "/nowhere", Some(&token(3600)), "{}"),
            call(address, "POST", "/orders//cancel", Some(&token(3600)), "{}"),
            call(address, "POST", "/orders/o/cancel", Some(&token(3600)), &"x".repeat(2048)),
        ]
    })
    .await
    .unwrap();
    let statuses: Vec<u16> = results.iter().map(|(s, _)| *s).collect();
    assert_eq!(statuses, [401, 401, 401, 404, 404, 404, 413]);
    assert_eq!(results[0].1, r#"{"message":"Unauthorized"}"#);
    assert_eq!(pool.idle_instances().await, 0, "no request reached the function");
    pool.shutdown().await;
    server.abort();
}
