//! The route functions' edge (API Gateway HTTP API, payload format 2.0):
//! the toolkit below (path, query, headers, JSON bodies with a size limit
//! and field-level errors, JSON answers, the request id in every log line),
//! [`claims`] (who calls), [`error`](mod@error) (each use case error as its answer),
//! [`trace`] (where an order's trace starts) and [`routes`] (the 16
//! handlers).

pub mod claims;
pub mod error;
pub mod routes;
pub mod trace;

use ::http;
use error::ApiError;
use foodstream_application::AppError;
use foodstream_domain::trace::TraceParent;
use foodstream_domain::validation::{ValidationErrors, check_identifier};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::future::Future;
use tracing::{Instrument, error, info, info_span, warn};

/// Request bodies are small JSON documents; anything larger is refused
/// before parsing (API Gateway's own limit is far higher).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A path parameter of the route (`{orderId}`); the route guarantees it.
pub fn path(request: &Request, name: &str) -> Result<String, AppError> {
    let value = request
        .path_parameters_ref()
        .and_then(|p| p.first(name))
        .map(str::to_owned)
        .ok_or_else(|| AppError::NotFound(format!("no {name} in the path")))?;
    // Ids in the path obey the same rule as ids in bodies: a 400 naming the
    // parameter, never a lookup of a 10 KiB key.
    let mut errors = ValidationErrors::new();
    check_identifier(&mut errors, name, &value);
    if errors.is_empty() { Ok(value) } else { Err(errors.into()) }
}

/// A query string parameter, if given.
pub fn query(request: &Request, name: &str) -> Option<String> {
    request.query_string_parameters_ref().and_then(|q| q.first(name)).map(str::to_owned)
}

/// A header's value, if the request has it. A header that is present but
/// not visible ASCII (a UTF-8 `Idempotency-Key`, say) is a 400 naming it,
/// never silently treated as absent.
pub fn header<'a>(request: &'a Request, name: &'static str) -> Result<Option<&'a str>, AppError> {
    match request.headers().get(name) {
        None => Ok(None),
        Some(value) => value.to_str().map(Some).map_err(|_| {
            AppError::invalid(canonical_header(name), "must be printable ASCII (RFC 9110 field value)")
        }),
    }
}

/// `idempotency-key` -> `Idempotency-Key`, as clients write it.
fn canonical_header(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join("-")
}

fn body_bytes(request: &Request) -> &[u8] {
    match request.body() {
        Body::Empty => &[],
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => &[],
    }
}

/// Parses the JSON body, naming the field and the reason of any error.
pub fn json_body<T: DeserializeOwned>(request: &Request) -> Result<T, AppError> {
    parse_json(body_bytes(request))
}

/// Like [`json_body`], but an empty body is `T::default()` (routes whose
/// body is optional, like cancel).
pub fn optional_json_body<T: DeserializeOwned + Default>(request: &Request) -> Result<T, AppError> {
    let bytes = body_bytes(request);
    if bytes.iter().all(u8::is_ascii_whitespace) { Ok(T::default()) } else { parse_json(bytes) }
}

/// Parses a JSON object of at most [`MAX_BODY_BYTES`], naming the field
/// and the reason of any error (`items[0].quantity`).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    if bytes.len() > MAX_BODY_BYTES {
        return Err(AppError::PayloadTooLarge { limit: MAX_BODY_BYTES });
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(AppError::invalid("body", "a JSON body is required"));
    }
    // Every body of this API is an object; say so instead of naming `[0]`.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(AppError::invalid("body", "must be a JSON object"));
    }
    let deserializer = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.inner();
        let reason = strip_position(&inner.to_string());
        if !inner.is_data() {
            return AppError::invalid("body", format!("not valid JSON: {reason}"));
        }
        // serde names a missing field in the message, at its parent's path.
        let field = match reason.strip_prefix("missing field `").and_then(|r| r.split('`').next()) {
            Some(missing) if path == "." => missing.to_owned(),
            Some(missing) => format!("{path}.{missing}"),
            None if path == "." => "body".to_owned(),
            None => path,
        };
        AppError::invalid(field, reason)
    })
}

/// serde_json appends " at line L column C": clients get the field instead.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

/// A header value from a static string.
pub fn header_value(value: &'static str) -> http::HeaderValue {
    http::HeaderValue::from_static(value)
}

/// A JSON answer. A body that cannot be written as JSON (a map with
/// non-string keys, say) is a 500 answer, never a panic.
pub fn json<T: Serialize>(status: u16, body: &T) -> Response<Body> {
    let (status, text) = match serde_json::to_string(body) {
        Ok(text) => {
            (http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR), text)
        }
        Err(e) => {
            error!(error = %e, "the answer cannot be written as JSON");
            (http::StatusCode::INTERNAL_SERVER_ERROR, error::INTERNAL_BODY.to_owned())
        }
    };
    let mut response = Response::new(Body::Text(text));
    *response.status_mut() = status;
    response.headers_mut().insert(http::header::CONTENT_TYPE, header_value("application/json"));
    response
}

/// The answer for an error: `{"error": {code, message, details}}`.
pub fn error(error: &AppError) -> Response<Body> {
    let api = ApiError::from(error);
    if api.is_server_error() {
        error!(status = api.status, code = api.code, cause = %error, "request failed");
    } else {
        info!(status = api.status, code = api.code, reason = %error, "request refused");
    }
    json(api.status, &api.body())
}

/// Names the order a request created in its log lines (declared empty by
/// [`serve`] when the path names no order).
pub fn record_order(order_id: &str) {
    tracing::Span::current().record("order_id", order_id);
}

/// Runs a route: every log line carries the request ids and its trace id
/// (and the order's id, when it is about one), any error becomes
/// its JSON answer, and a panic in the handler is reported by the runtime.
pub async fn serve<F, Fut>(route: &'static str, handler: F) -> Result<(), lambda_http::Error>
where
    F: Fn(Request) -> Fut + Send + Sync,
    Fut: Future<Output = Result<Response<Body>, AppError>> + Send,
{
    if crate::wiring::print_if_asked() {
        return Ok(());
    }
    let handler = &handler;
    lambda_http::run(lambda_http::service_fn(move |mut request: Request| async move {
        let api_request_id = match request.request_context_ref() {
            Some(RequestContext::ApiGatewayV2(c)) => c.request_id.clone().unwrap_or_default(),
            _ => String::new(),
        };
        let lambda_request_id =
            request.lambda_context_ref().map(|c| c.request_id.clone()).unwrap_or_default();
        let trace = trace::start(&mut request);
        // The order a request is about, when its path names one; placement
        // records the new order's id (see `record_order`).
        let order_id = request.path_parameters_ref().and_then(|p| p.first("orderId")).map(str::to_owned);
        let span = info_span!(
            "request",
            route,
            request_id = %api_request_id,
            lambda_request_id = %lambda_request_id,
            trace_id = trace.as_ref().map(TraceParent::trace_id),
            order_id,
        );
        async move {
            let response = match handler(request).await {
                Ok(response) => response,
                Err(e) => error(&e),
            };
            if response.status().is_server_error() {
                warn!(status = response.status().as_u16(), "answered");
            } else {
                info!(status = response.status().as_u16(), "answered");
            }
            Ok::<_, std::convert::Infallible>(response)
        }
        .instrument(span)
        .await
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use foodstream_domain::order::PlaceOrderInput;

    fn field_of(body: &str) -> (String, String) {
        match parse_json::<PlaceOrderInput>(body.as_bytes()).unwrap_err() {
            AppError::Invalid(errors) => {
                (errors.fields()[0].field.clone(), errors.fields()[0].reason.clone())
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn body_errors_name_the_field_and_the_reason() {
        let (field, reason) = field_of(
            r#"{"store_id":"s","items":[{"product_id":"p","quantity":"two"}],"address":{"street":"a","district":"b","city":"c"}}"#,
        );
        assert_eq!(field, "items[0].quantity");
        assert!(reason.starts_with("invalid type: string \"two\", expected i64"), "{reason}");
        let (field, _) = field_of(r#"{"store_id":"s","items":[]}"#);
        assert_eq!(field, "address");
        let (field, _) = field_of(r#"{"store_id":"s","items":[],"address":{"street":"a","city":"c"}}"#);
        assert_eq!(field, "address.district");
        let (field, reason) = field_of(r#"{"store_id": "#);
        assert_eq!(field, "body");
        assert!(reason.starts_with("not valid JSON"), "{reason}");
        let (field, _) = field_of("");
        assert_eq!(field, "body");
        let (field, _) = field_of("[1,2]");
        assert_eq!(field, "body");
    }

    #[test]
    fn headers_are_named_as_clients_write_them() {
        assert_eq!(canonical_header("idempotency-key"), "Idempotency-Key");
        assert_eq!(canonical_header("if-match"), "If-Match");
    }

    #[test]
    fn oversized_bodies_are_413_before_parsing() {
        let huge = format!("{{\"store_id\": \"{}\"}}", "x".repeat(MAX_BODY_BYTES));
        let error = parse_json::<PlaceOrderInput>(huge.as_bytes()).unwrap_err();
        assert_eq!(ApiError::from(&error).status, 413);
    }
}
