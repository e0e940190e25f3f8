//! The application layer: one use case per HTTP route and per event
//! consumer. Each takes the ports it needs and the verified caller, checks
//! who may do what, runs the domain's rules and persists the result through
//! the ports. No AWS, Kafka or HTTP here: Lambda functions are thin shells
//! that decode their input, call one use case and encode its answer.

#![warn(missing_docs)]
// Outside data (a request, a record, a stored item) never panics a function:
// no unwrap, expect or unchecked indexing outside tests (clippy.toml allows
// them in tests); an `allow` names why its value cannot be hostile.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

pub mod access;
pub mod batches;
pub mod catalog;
pub mod consumers;
pub mod error;
pub mod logs;
pub mod notifications;
pub mod optimistic;
pub mod ordering;
pub mod pagination;
pub mod refunds;
pub mod riders;
pub mod settings;
pub mod sweeper;
pub mod views;

pub use error::AppError;
pub use settings::Settings;
