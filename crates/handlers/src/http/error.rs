//! Each way a use case fails ([`AppError`]) as the HTTP answer a client
//! gets: status, code, message and details. The one place the API's error
//! contract (`docs/openapi.yaml`'s `Error`) is written; the details of each
//! code are a serde-derived struct of their own, so their shape is the
//! type's.

use foodstream_application::AppError;
use foodstream_domain::Timestamp;
use foodstream_domain::order::{OrderError, OrderStatus};
use foodstream_domain::ports::PortError;
use foodstream_domain::stock::ShortLine;
use foodstream_domain::validation::ValidationErrors;
use serde::Serialize;
use serde_json::Value;

/// The answer a client gets: `{"error": {"code", "message", "details"}}`
/// with `status`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApiError {
    /// The HTTP status.
    #[serde(skip)]
    pub status: u16,
    /// What went wrong, for programs (`INVALID_STATUS`).
    pub code: &'static str,
    /// What went wrong, for people.
    pub message: String,
    /// What the code's details struct holds (`{}` when it has none).
    pub details: Value,
}

/// The body of the `INTERNAL` answer, as text: what is sent when an answer
/// cannot be written as JSON (held to [`ApiError`]'s own by a test).
pub const INTERNAL_BODY: &str = r#"{"error":{"code":"INTERNAL","message":"internal error","details":{}}}"#;

/// The body of an error answer.
#[derive(Debug, Serialize)]
pub struct ErrorBody<'a> {
    /// The error itself.
    pub error: &'a ApiError,
}

/// `VALIDATION_FAILED`: each invalid field and why.
#[derive(Serialize)]
struct FieldDetails<'a> {
    fields: &'a ValidationErrors,
}

/// `PAYLOAD_TOO_LARGE`: the route's limit.
#[derive(Serialize)]
struct LimitDetails {
    limit_bytes: usize,
}

/// `INSUFFICIENT_STOCK`: the lines the store cannot serve.
#[derive(Serialize)]
struct StockDetails<'a> {
    short_lines: &'a [ShortLine],
}

/// `IDEMPOTENCY_KEY_REUSED`: the header at fault.
#[derive(Serialize)]
struct HeaderDetails {
    header: &'static str,
}

/// `PRECONDITION_FAILED`: the header at fault and the version to read.
#[derive(Serialize)]
struct PreconditionDetails {
    header: &'static str,
    current_version: Option<u64>,
}

/// `INVALID_STATUS`: where the order is and what was asked of it.
#[derive(Serialize)]
struct TransitionDetails {
    current_status: OrderStatus,
    action: &'static str,
}

/// `REFUND_WINDOW_CLOSED`: when it opened and closed.
#[derive(Serialize)]
struct RefundWindowDetails {
    delivered_at: Timestamp,
    closed_at: Timestamp,
    window_seconds: i64,
}

/// `DELIVERY_ATTEMPTS_EXHAUSTED`: how many were made.
#[derive(Serialize)]
struct AttemptsDetails {
    attempts: usize,
}

/// The codes without details.
#[derive(Serialize)]
struct NoDetails {}

impl ApiError {
    /// An answer whose details are `details` as JSON.
    pub fn new(
        status: u16,
        code: &'static str,
        message: impl Into<String>,
        details: impl Serialize,
    ) -> ApiError {
        // Every details struct above is fields of plain values: it always
        // serialises; were it not to, the contract's `details` is still an
        // object.
        let details = serde_json::to_value(details).unwrap_or_else(|_| Value::Object(Default::default()));
        ApiError { status, code, message: message.into(), details }
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        serde_json::to_value(ErrorBody { error: self })
            .unwrap_or_else(|_| serde_json::from_str(INTERNAL_BODY).unwrap_or_default())
    }

    /// True for errors that are ours, not the caller's: worth an error log.
    pub fn is_server_error(&self) -> bool {
        self.status >= 500
    }
}

impl From<&AppError> for ApiError {
    fn from(error: &AppError) -> ApiError {
        let message = error.to_string();
        match error {
            AppError::Unauthenticated(_) => ApiError::new(401, "UNAUTHENTICATED", message, NoDetails {}),
            AppError::Forbidden(_) => ApiError::new(403, "FORBIDDEN", message, NoDetails {}),
            AppError::NotFound(_) => ApiError::new(404, "NOT_FOUND", message, NoDetails {}),
            AppError::Invalid(errors) => invalid(errors),
            AppError::PayloadTooLarge { limit } => {
                ApiError::new(413, "PAYLOAD_TOO_LARGE", message, LimitDetails { limit_bytes: *limit })
            }
            AppError::Order(order) => order_error(order, message),
            AppError::InsufficientStock(lines) => ApiError::new(
                409,
                "INSUFFICIENT_STOCK",
                format!(
                    "not enough stock for {}",
                    lines.iter().map(|l| l.product_id.as_str()).collect::<Vec<_>>().join(", ")
                ),
                StockDetails { short_lines: lines },
            ),
            AppError::IdempotencyKeyReused => ApiError::new(
                409,
                "IDEMPOTENCY_KEY_REUSED",
                message,
                HeaderDetails { header: "Idempotency-Key" },
            ),
            AppError::ConcurrentUpdate => ApiError::new(409, "CONCURRENT_UPDATE", message, NoDetails {}),
            AppError::PreconditionFailed { current_version } => ApiError::new(
                412,
                "PRECONDITION_FAILED",
                match current_version {
                    Some(v) => format!("{message}: the current version is {v}; read it again and retry"),
                    None => format!("{message}: there is no such item"),
                },
                PreconditionDetails { header: "If-Match", current_version: *current_version },
            ),
            AppError::Port(PortError::Unavailable(_)) => ApiError::new(
                503,
                "SERVICE_UNAVAILABLE",
                "a dependency is unavailable; retry later",
                NoDetails {},
            ),
            // Never echo internals to clients; the function logs the cause.
            AppError::Port(_) => ApiError::new(500, "INTERNAL", "internal error", NoDetails {}),
        }
    }
}

impl From<AppError> for ApiError {
    fn from(error: AppError) -> ApiError {
        ApiError::from(&error)
    }
}

fn invalid(errors: &ValidationErrors) -> ApiError {
    ApiError::new(
        400,
        "VALIDATION_FAILED",
        format!("invalid request: {errors}"),
        FieldDetails { fields: errors },
    )
}

fn order_error(error: &OrderError, message: String) -> ApiError {
    match error {
        OrderError::IllegalTransition { action, current } => ApiError::new(
            409,
            "INVALID_STATUS",
            message,
            TransitionDetails { current_status: *current, action },
        ),
        OrderError::RefundWindowClosed { delivered_at, closes_at, window_seconds } => ApiError::new(
            409,
            "REFUND_WINDOW_CLOSED",
            message,
            RefundWindowDetails {
                delivered_at: *delivered_at,
                closed_at: *closes_at,
                window_seconds: *window_seconds,
            },
        ),
        OrderError::RefundAlreadyRequested => {
            ApiError::new(409, "REFUND_ALREADY_REQUESTED", message, NoDetails {})
        }
        OrderError::DeliveryAttemptsExhausted { attempts } => ApiError::new(
            409,
            "DELIVERY_ATTEMPTS_EXHAUSTED",
            message,
            AttemptsDetails { attempts: *attempts },
        ),
        OrderError::Invalid(errors) => invalid(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use foodstream_domain::ids::ProductId;

    #[test]
    fn each_error_maps_to_its_status_and_code() {
        let cases: Vec<(AppError, u16, &str)> = vec![
            (AppError::Unauthenticated("no sub".into()), 401, "UNAUTHENTICATED"),
            (AppError::Forbidden("owners only".into()), 403, "FORBIDDEN"),
            (AppError::NotFound("order o-1".into()), 404, "NOT_FOUND"),
            (AppError::PayloadTooLarge { limit: 65536 }, 413, "PAYLOAD_TOO_LARGE"),
            (AppError::invalid("items", "empty"), 400, "VALIDATION_FAILED"),
            (
                AppError::Order(OrderError::IllegalTransition {
                    action: "accept",
                    current: OrderStatus::Delivered,
                }),
                409,
                "INVALID_STATUS",
            ),
            (AppError::Order(OrderError::RefundAlreadyRequested), 409, "REFUND_ALREADY_REQUESTED"),
            (
                AppError::Order(OrderError::DeliveryAttemptsExhausted { attempts: 50 }),
                409,
                "DELIVERY_ATTEMPTS_EXHAUSTED",
            ),
            (AppError::InsufficientStock(vec![]), 409, "INSUFFICIENT_STOCK"),
            (AppError::IdempotencyKeyReused, 409, "IDEMPOTENCY_KEY_REUSED"),
            (AppError::ConcurrentUpdate, 409, "CONCURRENT_UPDATE"),
            (AppError::PreconditionFailed { current_version: Some(4) }, 412, "PRECONDITION_FAILED"),
            (AppError::Port(PortError::Unavailable("dynamodb".into())), 503, "SERVICE_UNAVAILABLE"),
            (AppError::Port(PortError::Corrupt("order o-1".into())), 500, "INTERNAL"),
            (PortError::InvalidCursor.into(), 400, "VALIDATION_FAILED"),
        ];
        for (error, status, code) in cases {
            let api = ApiError::from(&error);
            assert_eq!((api.status, api.code), (status, code), "{error:?}");
        }
    }

    #[test]
    fn the_internal_body_sent_when_an_answer_cannot_be_written_is_the_internal_error() {
        let internal = ApiError::from(AppError::Port(PortError::Corrupt("x".into())));
        let written: Value = serde_json::from_str(INTERNAL_BODY).unwrap();
        assert_eq!(written, internal.body());
    }

    #[test]
    fn bodies_name_fields_statuses_and_short_lines() {
        let api = ApiError::from(AppError::invalid("items[0].quantity", "must be between 1 and 99"));
        assert_eq!(api.body()["error"]["details"]["fields"][0]["field"], "items[0].quantity");
        let api = ApiError::from(AppError::Order(OrderError::IllegalTransition {
            action: "cancel (as the customer)",
            current: OrderStatus::Accepted,
        }));
        assert_eq!(api.body()["error"]["details"]["current_status"], "ACCEPTED");
        assert_eq!(api.body()["error"]["code"], "INVALID_STATUS");
        let api = ApiError::from(AppError::InsufficientStock(vec![ShortLine {
            product_id: ProductId::new("kimchi"),
            requested: 3,
            available: Some(1),
        }]));
        assert_eq!(api.body()["error"]["details"]["short_lines"][0]["product_id"], "kimchi");
        assert_eq!(api.message, "not enough stock for kimchi");
        // internals never reach the client
        let api = ApiError::from(AppError::Port(PortError::Corrupt("table foo item bar".into())));
        assert!(!api.message.contains("foo"));
    }
}
