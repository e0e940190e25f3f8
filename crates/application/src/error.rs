//! Every way a use case can fail, as a type. How each becomes an HTTP
//! answer is the HTTP edge's business (`foodstream_handlers::http::error`).

use foodstream_domain::order::OrderError;
use foodstream_domain::ports::{PlaceError, PortError, SaveItemError, UpdateError};
use foodstream_domain::stock::ShortLine;
use foodstream_domain::validation::ValidationErrors;

/// Why a use case failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppError {
    /// The token carries no usable identity (missing `sub` or `role`, or a
    /// role we do not know).
    #[error("unauthenticated: {0}")]
    Unauthenticated(String),
    /// The caller's role may not do this, or it is not their store.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// Unknown, or not the caller's: the two are never told apart.
    #[error("not found: {0}")]
    NotFound(String),
    /// The input is invalid: each field at fault and why.
    #[error("invalid input: {0}")]
    Invalid(ValidationErrors),
    /// The request body is over the route's limit.
    #[error("the request body is over {limit} bytes")]
    PayloadTooLarge {
        /// The route's limit, in bytes.
        limit: usize,
    },
    /// The order's state refuses the change (its status, a closed refund
    /// window, a refund already requested, ...).
    #[error(transparent)]
    Order(OrderError),
    /// The store cannot serve these lines.
    #[error("not enough stock")]
    InsufficientStock(Vec<ShortLine>),
    /// The customer already used the `Idempotency-Key` with a different
    /// request body.
    #[error("the Idempotency-Key was already used with a different request body")]
    IdempotencyKeyReused,
    /// The order kept changing under us; the client may retry.
    #[error("the order changed concurrently")]
    ConcurrentUpdate,
    /// `If-Match` named a version the resource is no longer at (`None`:
    /// there is no such resource). Nothing changed.
    #[error("the item changed since that version was read")]
    PreconditionFailed {
        /// The version the resource is at now.
        current_version: Option<u64>,
    },
    /// A port failed: a dependency unavailable, or stored data unreadable.
    #[error(transparent)]
    Port(PortError),
}

impl AppError {
    /// One invalid field and why.
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
