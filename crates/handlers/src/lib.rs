//! One handler per Lambda function. A function's `main.rs` builds the
//! adapters once per cold start and hands each request or batch to its
//! handler here; the handlers are tested against the emulators with the
//! payloads under `events/`.

pub mod claims;
pub mod consumers;
pub mod deps;
pub mod routes;
pub mod stream;
