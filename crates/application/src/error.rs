//! Every way a use case can fail, and the one place where each becomes an
//! HTTP answer (status, code, message, details).

use foodstream_domain::order::OrderError;
use foodstream_domain::ports::{PlaceError, PortError, SaveItemError, UpdateError};
use foodstream_domain::stock::ShortLine;
use foodstream_domain::validation::ValidationErrors;
use serde::Serialize;
use serde_json::{Value, json};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppError {
    /// The token carries no usable identity (missing `sub` or `role`).
    #[error("unauthenticated: {0}")]
    Unauthenticated(String),
    /// The caller's role may not do this, or it is not their store.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// Unknown, or not the caller's: the two are never told apart.
    #[error("not found: {0}")]
    NotFound(String),
    #[error("invalid input: {0}")]
    Invalid(ValidationErrors),
    /// The request body is over the route's limit.
    #[error("the request body is over {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error(transparent)]
    Order(OrderError),
    #[error("not enough stock")]
    InsufficientStock(Vec<ShortLine>),
    #[error("the Idempotency-Key was already used with a different request body")]
    IdempotencyKeyReused,
    /// The order kept changing under us; the client may retry.
    #[error("the order changed concurrently")]
    ConcurrentUpdate,
    /// `If-Match` named a version the resource is no longer at (`None`:
    /// there is no such resource). Nothing changed.
    #[error("the item changed since that version was read")]
    PreconditionFailed { current_version: Option<u64> },
    #[error(transparent)]
    Port(PortError),
}

impl AppError {
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> AppError {
        AppError::Invalid(ValidationErrors::single(field, reason))
    }
}

impl From<ValidationErrors> for AppError {
    fn from(errors: ValidationErrors) -> Self {
        AppError::Invalid(errors)
    }
}

impl From<OrderError> for AppError {
    fn from(error: OrderError) -> Self {
        match error {
            OrderError::Invalid(errors) => AppError::Invalid(errors),
            other => AppError::Order(other),
        }
    }
}

impl From<PortError> for AppError {
    fn from(error: PortError) -> Self {
        match error {
            PortError::InvalidCursor => AppError::invalid("cursor", "is not a cursor this list handed out"),
            other => AppError::Port(other),
        }
    }
}

impl From<PlaceError> for AppError {
    fn from(error: PlaceError) -> Self {
        match error {
            PlaceError::StockShort(lines) => AppError::InsufficientStock(lines),
            PlaceError::IdempotencyKeyTaken => AppError::IdempotencyKeyReused,
            PlaceError::Port(e) => e.into(),
        }
    }
}

impl From<SaveItemError> for AppError {
    fn from(error: SaveItemError) -> Self {
        match error {
            SaveItemError::StaleVersion { current } => {
                AppError::PreconditionFailed { current_version: current }
            }
            SaveItemError::Port(e) => e.into(),
        }
    }
}

impl From<UpdateError> for AppError {
    fn from(error: UpdateError) -> Self {
        match error {
            UpdateError::VersionConflict => AppError::ConcurrentUpdate,
            UpdateError::Port(e) => e.into(),
        }
    }
}

/// The answer a client gets: `{"error": {"code", "message", "details"}}`
/// with `status`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApiError {
    #[serde(skip)]
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    pub details: Value,
}

impl ApiError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>, details: Value) -> ApiError {
        ApiError { status, code, message: message.into(), details }
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        json!({ "error": self })
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
            AppError::Unauthenticated(_) => ApiError::new(401, "UNAUTHENTICATED", message, json!({})),
            AppError::Forbidden(_) => ApiError::new(403, "FORBIDDEN", message, json!({})),
            AppError::NotFound(_) => ApiError::new(404, "NOT_FOUND", message, json!({})),
            AppError::Invalid(errors) => ApiError::new(
                400,
                "VALIDATION_FAILED",
                format!("invalid request: {errors}"),
                json!({ "fields": errors }),
            ),
            AppError::PayloadTooLarge { limit } => {
                ApiError::new(413, "PAYLOAD_TOO_LARGE", message, json!({ "limit_bytes": limit }))
            }
            AppError::Order(order) => order_error(order, message),
            AppError::InsufficientStock(lines) => ApiError::new(
                409,
                "INSUFFICIENT_STOCK",
                format!(
                    "not enough stock for {}",
                    lines.iter().map(|l| l.product_id.as_str()).collect::<Vec<_>>().join(", ")
                ),
                json!({ "short_lines": lines }),
            ),
            AppError::IdempotencyKeyReused => {
                ApiError::new(409, "IDEMPOTENCY_KEY_REUSED", message, json!({ "header": "Idempotency-Key" }))
            }
            AppError::ConcurrentUpdate => ApiError::new(409, "CONCURRENT_UPDATE", message, json!({})),
            AppError::PreconditionFailed { current_version } => ApiError::new(
                412,
                "PRECONDITION_FAILED",
                match current_version {
                    Some(v) => format!("{message}: the current version is {v}; read it again and retry"),
                    None => format!("{message}: there is no such item"),
                },
                json!({ "header": "If-Match", "current_version": current_version }),
            ),
            AppError::Port(PortError::Unavailable(_)) => ApiError::new(
                503,
                "SERVICE_UNAVAILABLE",
                "a dependency is unavailable; retry later",
                json!({}),
            ),
            // Never echo internals to clients; the function logs the cause.
            AppError::Port(_) => ApiError::new(500, "INTERNAL", "internal error", json!({})),
        }
    }
}

impl From<AppError> for ApiError {
    fn from(error: AppError) -> ApiError {
        ApiError::from(&error)
    }
}

fn order_error(error: &OrderError, message: String) -> ApiError {
    match error {
        OrderError::IllegalTransition { action, current } => ApiError::new(
            409,
            "INVALID_STATUS",
            message,
            json!({ "current_status": current, "action": action }),
        ),
        OrderError::RefundWindowClosed { delivered_at, closes_at, window_seconds } => ApiError::new(
            409,
            "REFUND_WINDOW_CLOSED",
            message,
            json!({ "delivered_at": delivered_at, "closed_at": closes_at, "window_seconds": window_seconds }),
        ),
        OrderError::RefundAlreadyRequested => {
            ApiError::new(409, "REFUND_ALREADY_REQUESTED", message, json!({}))
        }
        OrderError::DeliveryAttemptsExhausted { attempts } => {
            ApiError::new(409, "DELIVERY_ATTEMPTS_EXHAUSTED", message, json!({ "attempts": attempts }))
        }
        OrderError::Invalid(errors) => ApiError::from(&AppError::Invalid(errors.clone())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use foodstream_domain::ids::ProductId;
    use foodstream_domain::order::OrderStatus;

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
