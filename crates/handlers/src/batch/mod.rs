//! The consumer functions' edge: a batch of an event source mapping in,
//! Lambda's partial batch response out.
//!
//! - [`records`]: each record of an `aws:kafka` or SQS batch with its
//!   identifier, group, raw form, decoded event (or why not) and trace;
//! - [`stream`]: the orders table's stream records as the order events
//!   their changes carry;
//! - [`consumers`]: one handler per consumer function, each handing its
//!   records to `foodstream_application::batches`: a record consumer's
//!   use case is a `RecordUseCase` the policy calls once per record (no
//!   callback in between); the relay's records go out in grouped
//!   publishes; the sweeper runs on its schedule, without records;
//! - [`serve`]: the runtime loop.

pub mod consumers;
pub mod records;
mod runtime;
pub mod stream;

pub use runtime::serve;
