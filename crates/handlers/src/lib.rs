//! The interface edge of every foodstream Lambda function: what turns a
//! request or a batch into one use case of `foodstream_application` and its
//! answer back into Lambda's terms. A function's `main.rs` builds the
//! adapters once per cold start and hands them, with its handler, to
//! [`http::serve`] or [`batch::serve`].
//!
//! - [`http`]: the route functions (API Gateway HTTP API, payload format
//!   2.0): the caller from the verified claims, path, query, headers and
//!   JSON bodies with field-level errors, each use case error as its HTTP
//!   answer, the 16 route handlers;
//! - [`batch`]: the consumer functions: `aws:kafka`, DynamoDB stream and SQS
//!   batches decoded record by record, the batch policy applied, Lambda's
//!   partial batch response;
//! - [`logging`]: structured JSON logs; [`wiring`]: a binary describing
//!   its own environment and grants instead of serving; [`deps`]: the
//!   adapters several functions build the same way.
//!
//! The handlers are tested against the emulators with the payloads under
//! `events/`.

#![warn(missing_docs)]
// Outside data (a request, a record, a stored item) never panics a function:
// no unwrap, expect or unchecked indexing outside tests (clippy.toml allows
// them in tests); an `allow` names why its value cannot be hostile.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

pub mod batch;
pub mod deps;
pub mod http;
pub mod logging;
pub mod wiring;

pub use lambda_http;
pub use lambda_runtime;
