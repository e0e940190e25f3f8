//! One handler per Lambda function. A function's `main.rs` builds the
//! adapters once per cold start and hands each request or batch to its
//! handler here; the handlers are tested against the emulators with the
//! payloads under `events/`.

// Outside data (a request, a record, a stored item) never panics a function:
// no unwrap, expect or unchecked indexing outside tests (clippy.toml allows
// them in tests); an `allow` names why its value cannot be hostile.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

pub mod claims;
pub mod consumers;
pub mod deps;
pub mod routes;
pub mod stream;
