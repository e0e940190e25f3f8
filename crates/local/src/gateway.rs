//! The emulated API Gateway HTTP API: routes and path parameters from the
//! template, the JWT authorizer (HS256 locally; iss, aud, exp checked; 401
//! answered by the gateway itself), payload format 2.0 requests, the
//! response mapping with its defaults for a bare body, 413 over the payload
//! limit and 404 when no route matches.

use crate::jwt;
use crate::runtime::{FunctionPool, InvokeOutcome};
use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

/// API Gateway's HTTP API payload limit.
pub const MAX_PAYLOAD_BYTES: usize = 10 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct RouteSpec {
    pub method: String,
    pub path: String,
    pub function: String,
}

pub struct Gateway {
    routes: Vec<RouteSpec>,
    pools: HashMap<String, Arc<FunctionPool>>,
    secret: String,
    max_payload: usize,
    activity: Option<crate::mappings::Activity>,
}

impl Gateway {
    pub fn new(routes: Vec<RouteSpec>, pools: HashMap<String, Arc<FunctionPool>>, secret: String) -> Gateway {
        Gateway { routes, pools, secret, max_payload: MAX_PAYLOAD_BYTES, activity: None }
    }

    /// Reports every routed request (method, path, status, function, times).
    pub fn with_activity(mut self, activity: crate::mappings::Activity) -> Gateway {
        self.activity = Some(activity);
        self
    }

    pub fn with_max_payload(mut self, bytes: usize) -> Gateway {
        self.max_payload = bytes;
        self
    }

    pub fn router(self: Arc<Self>) -> Router {
        Router::new().fallback(handle).with_state(self)
    }

    /// The route for `method` and `path`, with its path parameters.
    fn route(&self, method: &str, path: &str) -> Option<(&RouteSpec, Map<String, Value>)> {
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        self.routes.iter().filter(|r| r.method == method).find_map(|route| {
            let pattern: Vec<&str> = route.path.trim_matches('/').split('/').collect();
            if pattern.len() != segments.len() {
                return None;
            }
            let mut params = Map::new();
            for (p, s) in pattern.iter().zip(&segments) {
                match p.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                    Some(name) if !s.is_empty() => {
                        params.insert(name.to_owned(), json!(percent_decode(s)));
                    }
                    Some(_) => return None,
                    None if p == s => {}
                    None => return None,
                }
            }
            Some((route, params))
        })
    }
}

fn percent_decode(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment).decode_utf8_lossy().into_owned()
}

/// The body, or `None` past `limit`. An oversized body is still read (up to
/// four times the limit, then the connection is dropped) so the client gets
/// the 413 on a connection it can keep using, as from API Gateway.
async fn read_body(body: Body, limit: usize) -> Option<Vec<u8>> {
    use futures::StreamExt;
    let mut stream = body.into_data_stream();
    let mut bytes = Vec::new();
    let mut seen = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.ok()?;
        seen += chunk.len();
        if seen <= limit {
            bytes.extend_from_slice(&chunk);
        } else if seen > limit.saturating_mul(4) {
            return None;
        }
    }
    (seen <= limit).then_some(bytes)
}

fn message(status: StatusCode, text: &str) -> Response {
    (status, [("content-type", "application/json")], json!({ "message": text }).to_string()).into_response()
}

async fn handle(State(gateway): State<Arc<Gateway>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let method = parts.method.as_str().to_owned();
    let path = parts.uri.path().to_owned();
    let Some((route, params)) = gateway.route(&method, &path) else {
        return message(StatusCode::NOT_FOUND, "Not Found");
    };
    let Some(body) = read_body(body, gateway.max_payload).await else {
        return message(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large");
    };
    let token = parts
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim_start_matches("Bearer ").trim());
    let claims = match token.map(|t| jwt::verify(t, &gateway.secret)) {
        Some(Ok(claims)) => claims,
        _ => return message(StatusCode::UNAUTHORIZED, "Unauthorized"),
    };
    let Some(pool) = gateway.pools.get(&route.function) else {
        return message(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error");
    };
    let source_ip = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "127.0.0.1".into());
    let event = request_event(route, params, &parts.headers, &parts.uri, &body, &claims, &source_ip);
    let report = pool.invoke(serde_json::to_vec(&event).expect("JSON")).await;
    let response = match &report.outcome {
        InvokeOutcome::Response(bytes) => response_of(bytes),
        // The event (body, headers and context) is over Lambda's 6 MB.
        InvokeOutcome::Error { error_type, .. } if error_type == crate::runtime::REQUEST_TOO_LARGE => {
            message(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large")
        }
        _ => message(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"),
    };
    if let Some(activity) = &gateway.activity {
        activity(format!(
            "{method} {path} -> {} {} in {} ms{}{}",
            response.status().as_u16(),
            route.function,
            report.duration.as_millis(),
            report.init.map(|i| format!(" (init {} ms)", i.as_millis())).unwrap_or_default(),
            match &report.outcome {
                InvokeOutcome::Response(_) => String::new(),
                other => format!(": {}", other.describe()),
            },
        ));
    }
    response
}

/// The payload format 2.0 request event.
fn request_event(
    route: &RouteSpec,
    params: Map<String, Value>,
    headers: &HeaderMap,
    uri: &axum::http::Uri,
    body: &[u8],
    claims: &jwt::Claims,
    source_ip: &str,
) -> Value {
    let mut joined: Map<String, Value> = Map::new();
    let mut cookies = Vec::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        if name == "cookie" {
            cookies.extend(value.split(';').map(|c| c.trim().to_owned()).filter(|c| !c.is_empty()));
            continue;
        }
        match joined.get_mut(name.as_str()) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&value);
            }
            _ => {
                joined.insert(name.as_str().to_owned(), json!(value));
            }
        }
    }
    let raw_query = uri.query().unwrap_or("").to_owned();
    let mut query: Map<String, Value> = Map::new();
    for pair in raw_query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (percent_decode(&k.replace('+', " ")), percent_decode(&v.replace('+', " ")));
        match query.get_mut(&k) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&v);
            }
            _ => {
                query.insert(k, json!(v));
            }
        }
    }
    let route_key = format!("{} {}", route.method, route.path);
    let now = chrono::Utc::now();
    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    let textual =
        content_type.is_empty() || content_type.starts_with("text/") || content_type.contains("json");
    let (body, base64) = match std::str::from_utf8(body) {
        Ok(text) if textual => (json!(text), false),
        _ => (json!(STANDARD.encode(body)), true),
    };
    let mut event = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": uri.path(),
        "rawQueryString": raw_query,
        "headers": joined,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "authorizer": {"jwt": {"claims": claims.as_gateway_claims(), "scopes": null}},
            "domainName": headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1"),
            "domainPrefix": "local",
            "http": {
                "method": route.method,
                "path": uri.path(),
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": headers.get("user-agent").and_then(|h| h.to_str().ok()).unwrap_or(""),
            },
            "requestId": uuid::Uuid::new_v4().to_string(),
            "routeKey": route_key,
            "stage": "$default",
            "time": now.format("%d/%b/%Y:%H:%M:%S %z").to_string(),
            "timeEpoch": now.timestamp_millis(),
        },
        "isBase64Encoded": base64,
    });
    if !cookies.is_empty() {
        event["cookies"] = json!(cookies);
    }
    if !query.is_empty() {
        event["queryStringParameters"] = Value::Object(query);
    }
    if !params.is_empty() {
        event["pathParameters"] = Value::Object(params);
    }
    if !body.as_str().unwrap_or_default().is_empty() {
        event["body"] = body;
    }
    event
}

/// Maps a function's answer: a `statusCode` object as it says; anything
/// else is the body of a 200 `application/json` answer (the 2.0 defaults).
fn response_of(bytes: &[u8]) -> Response {
    let value: Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(_) => return message(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"),
    };
    let Some(status) = value.get("statusCode").and_then(Value::as_u64) else {
        return (StatusCode::OK, [("content-type", "application/json")], value.to_string()).into_response();
    };
    let status = StatusCode::from_u16(status as u16).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = Response::builder().status(status);
    for (name, v) in value.get("headers").and_then(Value::as_object).into_iter().flatten() {
        if let Some(v) = v.as_str().and_then(|v| HeaderValue::from_str(v).ok()) {
            response = response.header(name.as_str(), v);
        }
    }
    for (name, values) in value.get("multiValueHeaders").and_then(Value::as_object).into_iter().flatten() {
        for v in values.as_array().into_iter().flatten().filter_map(Value::as_str) {
            if let Ok(v) = HeaderValue::from_str(v) {
                response = response.header(name.as_str(), v);
            }
        }
    }
    for cookie in
        value.get("cookies").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str)
    {
        if let Ok(v) = HeaderValue::from_str(cookie) {
            response = response.header("set-cookie", v);
        }
    }
    let body = value.get("body").and_then(Value::as_str).unwrap_or("");
    let body = if value.get("isBase64Encoded").and_then(Value::as_bool) == Some(true) {
        STANDARD.decode(body).unwrap_or_default()
    } else {
        body.as_bytes().to_vec()
    };
    response
        .body(Body::from(body))
        .unwrap_or_else(|_| message(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_decode() {
        assert_eq!(percent_decode("store%201"), "store 1");
        assert_eq!(percent_decode("plain"), "plain");
        assert_eq!(percent_decode("bad%zz"), "bad%zz");
    }

    #[test]
    fn answers_with_status_code_are_mapped_and_bare_bodies_get_the_defaults() {
        let mapped =
            response_of(br#"{"statusCode": 201, "headers": {"x-a": "1"}, "cookies": ["a=b"], "body": "hi"}"#);
        assert_eq!(mapped.status(), 201);
        assert_eq!(mapped.headers()["x-a"], "1");
        assert_eq!(mapped.headers()["set-cookie"], "a=b");
        let bare = response_of(br#"{"hello": 1}"#);
        assert_eq!(bare.status(), 200);
        assert_eq!(bare.headers()["content-type"], "application/json");
    }
}
