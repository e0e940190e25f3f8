//! What every foodstream Lambda function shares, so each `main.rs` is only
//! configuration, clients and one use case:
//!
//! - [`http`]: claims to caller, path and query parameters, JSON bodies with
//!   a size limit and field-level errors, JSON answers, the error mapping,
//!   the request id in every log line;
//! - [`records`]: decoding of `aws:kafka` batches and of the orders table's
//!   DynamoDB stream batches into typed events;
//! - [`logging`]: structured JSON logs through tracing.

pub mod consumer;
pub mod http;
pub mod logging;
pub mod records;
pub mod trace;
pub mod wiring;

pub use lambda_http;
pub use lambda_runtime;
