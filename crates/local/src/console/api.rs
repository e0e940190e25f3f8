//! The API page's server side: the OpenAPI document, the vendored
//! Swagger UI files and the try-it proxy to the local API.

use super::app::Shared;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

/// The OpenAPI document, its server the console's proxy to the local API.
pub(super) async fn openapi(State(app): Shared) -> Response {
    let text = match std::fs::read_to_string(&app.openapi) {
        Ok(text) => text,
        Err(e) => {
            return (StatusCode::NOT_FOUND, format!("{}: {e}\n", app.openapi.display())).into_response();
        }
    };
    let mut document: serde_norway::Value = match serde_norway::from_str(&text) {
        Ok(document) => document,
        Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, format!("openapi.yaml: {e}\n")).into_response(),
    };
    if let Some(map) = document.as_mapping_mut() {
        let server = serde_norway::to_value(
            serde_json::json!([{ "url": "/proxy", "description": format!("the local API ({}), through the console", app.api_url) }]),
        );
        if let Ok(server) = server {
            map.insert(serde_norway::Value::String("servers".into()), server);
        }
    }
    match serde_norway::to_string(&document) {
        Ok(text) => ([(header::CONTENT_TYPE, "application/yaml")], text).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("openapi.yaml: {e}\n")).into_response(),
    }
}

/// The vendored Swagger UI files, by name (nothing else of the folder).
pub(super) async fn swagger_asset(State(app): Shared, Path(file): Path<String>) -> Response {
    let content_type = match file.as_str() {
        "swagger-ui-bundle.js" => "text/javascript",
        "swagger-ui.css" => "text/css",
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    match tokio::fs::read(app.swagger_ui.join(&file)).await {
        Ok(bytes) => ([(header::CONTENT_TYPE, content_type)], bytes).into_response(),
        Err(_) => (
            StatusCode::NOT_FOUND,
            format!(
                "{} is not vendored: run scripts/vendor-assets.sh\n",
                app.swagger_ui.join(&file).display()
            ),
        )
            .into_response(),
    }
}

/// The headers that cross the proxy, either way: the end-to-end ones (RFC
/// 9110, 7.6.1). Not those of one connection (the fixed hop-by-hop ones and
/// any that `Connection` names), nor `Trailer` (the body crosses buffered,
/// without trailers), nor proxy credentials, nor the console's own
/// origin's: cookies (a `Set-Cookie` from the API would be kept for
/// 127.0.0.1 on every port), `Origin`, `Referer` and `Sec-*`.
fn crossing(headers: &HeaderMap) -> impl Iterator<Item = (&HeaderName, &HeaderValue)> {
    // Bytes, not text: a value with a byte beyond ASCII still names its
    // other headers.
    let named: Vec<Vec<u8>> = headers
        .get_all(header::CONNECTION)
        .iter()
        .flat_map(|value| value.as_bytes().split(|b| *b == b','))
        .map(|name| name.trim_ascii().to_ascii_lowercase())
        .collect();
    headers.iter().filter(move |(name, _)| {
        crosses_the_proxy(name) && !named.iter().any(|n| n == name.as_str().as_bytes())
    })
}

/// Whether a header of this name may cross the proxy (see [`crossing`]).
fn crosses_the_proxy(name: &HeaderName) -> bool {
    !matches!(
        name.as_str(),
        "host"
            | "connection"
            | "keep-alive"
            | "proxy-connection"
            | "proxy-authorization"
            | "proxy-authenticate"
            | "transfer-encoding"
            | "te"
            | "trailer"
            | "upgrade"
            | "content-length"
            | "cookie"
            | "set-cookie"
            | "origin"
            | "referer"
    ) && !name.as_str().starts_with("sec-")
}

/// The largest request body the proxy takes (what one invocation takes):
/// beyond it, 413; a body that breaks off, 400 (axum's `Bytes` rejections).
pub(super) const MAX_PROXIED_BODY_BYTES: usize = crate::runtime::MAX_INVOKE_PAYLOAD_BYTES;

/// The try-it panel's requests, to the local API: the method, the path and
/// query as sent (still encoded), the body, and every end-to-end header
/// both ways (`If-Match` and `ETag` included).
pub(super) async fn proxy(
    State(app): Shared,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path_and_query = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let Some(rest) = path_and_query.strip_prefix("/proxy") else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let url = format!("{}{rest}", app.api_url.trim_end_matches('/'));
    let mut forward = app.http.request(method, url).body(body);
    for (name, value) in crossing(&headers) {
        forward = forward.header(name, value);
    }
    match forward.send().await {
        Ok(answer) => {
            let status = answer.status();
            let mut headers = HeaderMap::new();
            for (name, value) in crossing(answer.headers()) {
                headers.append(name.clone(), value.clone());
            }
            let bytes = match answer.bytes().await {
                Ok(bytes) => bytes,
                Err(e) => {
                    let message = format!("the local API's answer did not arrive whole: {e}\n");
                    return (StatusCode::BAD_GATEWAY, message).into_response();
                }
            };
            let mut response = Response::new(Body::from(bytes));
            *response.status_mut() = status;
            *response.headers_mut() = headers;
            // The answer is served from the console's origin: never sniffed
            // into a page, never run as one.
            response
                .headers_mut()
                .insert(header::X_CONTENT_TYPE_OPTIONS, header::HeaderValue::from_static("nosniff"));
            response
                .headers_mut()
                .insert(header::CONTENT_SECURITY_POLICY, header::HeaderValue::from_static("sandbox"));
            response
        }
        Err(e) => (StatusCode::BAD_GATEWAY, format!("the local API does not answer: {e}\n")).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn end_to_end_headers_cross_the_proxy_and_the_connections_own_do_not() {
        let crosses = |name: &'static str| crosses_the_proxy(&HeaderName::from_static(name));
        for name in
            ["authorization", "content-type", "accept", "idempotency-key", "if-match", "etag", "traceparent"]
        {
            assert!(crosses(name), "{name}");
        }
        for name in [
            "host",
            "connection",
            "keep-alive",
            "proxy-connection",
            "proxy-authenticate",
            "te",
            "trailer",
            "upgrade",
            "transfer-encoding",
            "content-length",
            "cookie",
            "set-cookie",
            "proxy-authorization",
            "origin",
            "referer",
            "sec-fetch-site",
        ] {
            assert!(!crosses(name), "{name}");
        }
    }

    #[test]
    fn a_header_the_connection_header_names_stays_on_its_connection() {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONNECTION, HeaderValue::from_static("keep-alive, X-Hop"));
        headers.append(header::CONNECTION, HeaderValue::from_bytes(b"x-other-hop ,caf\xe9").unwrap());
        headers.insert("x-hop", HeaderValue::from_static("1"));
        headers.insert("x-other-hop", HeaderValue::from_static("1"));
        headers.insert(header::IF_MATCH, HeaderValue::from_static("\"3\""));
        let crossed: Vec<&str> = crossing(&headers).map(|(name, _)| name.as_str()).collect();
        assert_eq!(crossed, ["if-match"]);
    }

    proptest! {
        /// Any `Connection` value (any bytes a header value may hold) is
        /// read without a panic, and a header it names, in any case and
        /// spacing, never crosses; one it does not name still does.
        #[test]
        fn a_named_header_never_crosses(
            name in "x-[a-z]{1,8}",
            upper in proptest::bool::ANY,
            noise in proptest::collection::vec(
                prop_oneof![Just(b'\t'), 0x20u8..=0x7e, 0x80u8..=0xff], 0..40),
        ) {
            let token = if upper { name.to_ascii_uppercase() } else { name.clone() };
            let mut value = noise.clone();
            value.extend_from_slice(format!(" , \t{token}\t,").as_bytes());
            value.extend_from_slice(&noise);
            let mut headers = HeaderMap::new();
            headers.insert(header::CONNECTION, HeaderValue::from_bytes(&value).unwrap());
            headers.insert(HeaderName::from_bytes(name.as_bytes()).unwrap(), HeaderValue::from_static("1"));
            headers.insert(header::IF_MATCH, HeaderValue::from_static("\"1\""));
            let crossed: Vec<&str> = crossing(&headers).map(|(n, _)| n.as_str()).collect();
            prop_assert!(!crossed.contains(&name.as_str()), "{crossed:?}");
            let names_if_match =
                value.split(|b| *b == b',').any(|t| t.trim_ascii().eq_ignore_ascii_case(b"if-match"));
            prop_assert_eq!(crossed.contains(&"if-match"), !names_if_match);
        }
    }
}
