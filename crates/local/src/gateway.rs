//! The emulated API Gateway HTTP API: routes and path parameters from the
//! template, the JWT authorizer (HS256 locally; iss, aud, exp, nbf checked; 401
//! answered by the gateway itself), payload format 2.0 requests, the
//! response mapping with its defaults for a bare body, 413 over the payload
//! limit and 404 when no route matches.

use crate::jwt;
use crate::runtime::{FunctionPool, InvokeOutcome};
use aws_lambda_events::apigw::{
    ApiGatewayRequestAuthorizer, ApiGatewayRequestAuthorizerJwtDescription, ApiGatewayV2httpRequest,
    ApiGatewayV2httpRequestContext, ApiGatewayV2httpRequestContextHttpDescription, ApiGatewayV2httpResponse,
};
use aws_lambda_events::encodings::Body as EventBody;
use aws_lambda_events::query_map::QueryMap;
use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, on};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

/// API Gateway's HTTP API payload limit.
pub const MAX_PAYLOAD_BYTES: usize = 10 * 1024 * 1024;

/// One route of the HTTP API, from the template.
#[derive(Debug, Clone)]
pub struct RouteSpec {
    /// The HTTP method, upper case (`GET`).
    pub method: String,
    /// The path, with `{param}` segments (`/orders/{order_id}`).
    pub path: String,
    /// The function that answers it, by its binary name.
    pub function: String,
}

/// The HTTP API: its routes, the functions behind them and the secret its
/// JWT authorizer checks tokens with.
pub struct Gateway {
    routes: Vec<RouteSpec>,
    pools: HashMap<String, Arc<FunctionPool>>,
    secret: String,
    max_payload: usize,
    activity: Option<crate::activity::Activity>,
}

impl Gateway {
    /// A gateway for `routes`, invoking `pools` (by function name), checking
    /// tokens with `secret`, with API Gateway's payload limit.
    pub fn new(routes: Vec<RouteSpec>, pools: HashMap<String, Arc<FunctionPool>>, secret: String) -> Gateway {
        Gateway { routes, pools, secret, max_payload: MAX_PAYLOAD_BYTES, activity: None }
    }

    /// Reports every request handed to a function (method, path, status,
    /// function, times); those refused before (401, 404, 413) are not.
    pub fn with_activity(mut self, activity: crate::activity::Activity) -> Gateway {
        self.activity = Some(activity);
        self
    }

    /// A request body limit other than [`MAX_PAYLOAD_BYTES`].
    pub fn with_max_payload(mut self, bytes: usize) -> Gateway {
        self.max_payload = bytes;
        self
    }

    /// One axum route per template route: API Gateway's `{param}` paths
    /// are axum's own syntax, and its answer to a path or a method no route
    /// has is a 404 `Not Found`, for both.
    pub fn router(self: Arc<Self>) -> Router {
        let mut router = Router::new();
        for route in &self.routes {
            let filter = Method::from_bytes(route.method.as_bytes())
                .ok()
                .and_then(|m| MethodFilter::try_from(m).ok())
                .unwrap_or_else(|| {
                    panic!("{} {}: not an HTTP method API Gateway routes", route.method, route.path)
                });
            let spec = Arc::new(route.clone());
            router = router.route(
                &route.path,
                on(filter, move |State(gateway): State<Arc<Gateway>>, Path(params), request: Request| {
                    handle(gateway, spec.clone(), params, request)
                }),
            );
        }
        router.fallback(not_found).method_not_allowed_fallback(not_found).with_state(self)
    }
}

async fn not_found() -> Response {
    message(StatusCode::NOT_FOUND, "Not Found")
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

async fn handle(
    gateway: Arc<Gateway>,
    route: Arc<RouteSpec>,
    params: HashMap<String, String>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let method = parts.method.as_str().to_owned();
    let path = parts.uri.path().to_owned();
    let route = route.as_ref();
    // axum matches `{param}` on an empty segment (`/orders//cancel`); API
    // Gateway matches no route.
    if params.values().any(String::is_empty) {
        return not_found().await;
    }
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
    let report = pool.invoke(serde_json::to_vec(&event).expect("an event always serialises")).await;
    let response = match &report.outcome {
        InvokeOutcome::Response(bytes) => response_of(bytes),
        // The event (body, headers and context) is over Lambda's 6 MB.
        InvokeOutcome::Error { error_type, .. } if error_type == crate::runtime::REQUEST_TOO_LARGE => {
            message(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large")
        }
        _ => message(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"),
    };
    if let Some(activity) = &gateway.activity {
        activity(crate::activity::StackEvent::Request {
            method,
            path,
            status: response.status().as_u16(),
            function: route.function.clone(),
            duration: report.duration,
            init: report.init,
            failure: (!matches!(report.outcome, InvokeOutcome::Response(_))).then(|| report.outcome.clone()),
        });
    }
    response
}

/// The payload format 2.0 request event, as API Gateway sends it: repeated
/// headers and query parameters joined with commas, cookies apart, the
/// body base64-encoded unless it is text; the stack's account and API id
/// ([`crate::ids`]), a request id in API Gateway's format, and as
/// `domainPrefix` the first label of the domain name.
pub fn request_event(
    route: &RouteSpec,
    params: HashMap<String, String>,
    headers: &HeaderMap,
    uri: &axum::http::Uri,
    body: &[u8],
    claims: &jwt::Claims,
    source_ip: &str,
) -> ApiGatewayV2httpRequest {
    let mut joined = HeaderMap::new();
    let mut cookies = Vec::new();
    for name in headers.keys() {
        let values: Vec<String> = headers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect();
        if name == "cookie" {
            cookies.extend(
                values
                    .iter()
                    .flat_map(|v| v.split(';'))
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(String::from),
            );
        } else if let Ok(value) = HeaderValue::from_str(&values.join(",")) {
            joined.insert(name.clone(), value);
        }
    }
    let raw_query = uri.query().unwrap_or("").to_owned();
    let mut query: HashMap<String, Vec<String>> = HashMap::new();
    for (name, value) in form_urlencoded::parse(raw_query.as_bytes()) {
        query.entry(name.into_owned()).or_default().push(value.into_owned());
    }
    let header = |name: &str| headers.get(name).and_then(|h| h.to_str().ok()).map(String::from);
    let content_type = header("content-type").unwrap_or_default();
    let textual =
        content_type.is_empty() || content_type.starts_with("text/") || content_type.contains("json");
    let (body, is_base64_encoded) = match std::str::from_utf8(body) {
        Ok(text) if textual => (text.to_owned(), false),
        _ => (STANDARD.encode(body), true),
    };
    let route_key = format!("{} {}", route.method, route.path);
    let now = chrono::Utc::now();

    let mut http = ApiGatewayV2httpRequestContextHttpDescription::default();
    http.method = Method::from_bytes(route.method.as_bytes()).unwrap_or(Method::GET);
    http.path = Some(uri.path().to_owned());
    http.protocol = Some("HTTP/1.1".into());
    http.source_ip = Some(source_ip.to_owned());
    http.user_agent = Some(header("user-agent").unwrap_or_default());
    let mut jwt = ApiGatewayRequestAuthorizerJwtDescription::default();
    jwt.claims = claims.as_gateway_claims().into_iter().collect();
    let mut authorizer = ApiGatewayRequestAuthorizer::default();
    authorizer.jwt = Some(jwt);
    let mut context = ApiGatewayV2httpRequestContext::default();
    context.route_key = Some(route_key.clone());
    context.account_id = Some(crate::ids::LOCAL_ACCOUNT_ID.into());
    context.stage = Some("$default".into());
    context.request_id = Some(crate::ids::http_api_request_id());
    context.authorizer = Some(authorizer);
    context.apiid = Some(crate::ids::LOCAL_API_ID.into());
    let domain_name = header("host").unwrap_or_else(|| "127.0.0.1".into());
    context.domain_prefix = domain_name.split(['.', ':']).next().map(String::from);
    context.domain_name = Some(domain_name);
    context.time = Some(now.format("%d/%b/%Y:%H:%M:%S %z").to_string());
    context.time_epoch = now.timestamp_millis();
    context.http = http;

    let mut event = ApiGatewayV2httpRequest::default();
    event.version = Some("2.0".into());
    event.route_key = Some(route_key);
    event.raw_path = Some(uri.path().to_owned());
    event.raw_query_string = Some(raw_query);
    event.cookies = (!cookies.is_empty()).then_some(cookies);
    event.headers = joined;
    event.query_string_parameters = QueryMap::from(query);
    event.path_parameters = params;
    event.request_context = context;
    event.body = (!body.is_empty()).then_some(body);
    event.is_base64_encoded = is_base64_encoded;
    // Not in API Gateway's 2.0 payload, but the type always serialises it
    // (GET by default): at least it is not wrong.
    #[allow(deprecated)]
    {
        event.http_method = event.request_context.http.method.clone();
    }
    event
}

/// Maps a function's answer: an object with `statusCode` is an
/// `ApiGatewayV2httpResponse`; anything else is the body of a 200
/// `application/json` answer (the 2.0 defaults).
fn response_of(bytes: &[u8]) -> Response {
    let Ok(mut value) = serde_json::from_slice::<Value>(bytes) else {
        return message(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error");
    };
    if value.get("statusCode").is_none() {
        return (StatusCode::OK, [("content-type", "application/json")], value.to_string()).into_response();
    }
    // aws_lambda_events insists on `cookies`; API Gateway does not.
    if let Some(object) = value.as_object_mut() {
        object.entry("cookies").or_insert_with(|| json!([]));
    }
    let Ok(answer) = serde_json::from_value::<ApiGatewayV2httpResponse>(value) else {
        return message(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error");
    };
    let status = u16::try_from(answer.status_code)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = Response::builder().status(status);
    for (name, value) in answer.headers.iter().chain(answer.multi_value_headers.iter()) {
        response = response.header(name, value);
    }
    for cookie in &answer.cookies {
        if let Ok(value) = HeaderValue::from_str(cookie) {
            response = response.header(HeaderName::from_static("set-cookie"), value);
        }
    }
    let body = match answer.body {
        Some(EventBody::Text(text)) if answer.is_base64_encoded => STANDARD.decode(text).unwrap_or_default(),
        Some(EventBody::Text(text)) => text.into_bytes(),
        Some(EventBody::Binary(bytes)) => bytes,
        Some(EventBody::Empty) | None => Vec::new(),
        Some(_) => Vec::new(),
    };
    response
        .body(Body::from(body))
        .unwrap_or_else(|_| message(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn answers_with_status_code_are_mapped_and_bare_bodies_get_the_defaults() {
        let mapped =
            response_of(br#"{"statusCode": 201, "headers": {"x-a": "1"}, "cookies": ["a=b"], "body": "hi"}"#);
        assert_eq!(mapped.status(), 201);
        assert_eq!(mapped.headers()["x-a"], "1");
        assert_eq!(mapped.headers()["set-cookie"], "a=b");
        // No `cookies`, a base64 body: as API Gateway reads them.
        let binary = response_of(br#"{"statusCode": 200, "isBase64Encoded": true, "body": "aGk="}"#);
        assert_eq!(binary.status(), 200);
        let bytes = axum::body::to_bytes(binary.into_body(), 16).await.unwrap();
        assert_eq!(&bytes[..], b"hi");
        let bare = response_of(br#"{"hello": 1}"#);
        assert_eq!(bare.status(), 200);
        assert_eq!(bare.headers()["content-type"], "application/json");
    }
}
