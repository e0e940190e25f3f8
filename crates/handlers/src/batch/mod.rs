//! The consumer functions' edge: a batch of an event source mapping in,
//! Lambda's partial batch response out.
//!
//! - [`records`]: each record of an `aws:kafka` or SQS batch with its
//!   identifier, group, raw form, decoded event (or why not) and trace;
//! - [`stream`]: the orders table's stream records as the order events
//!   their changes carry;
//! - [`consumers`]: one handler per consumer function, each handing its
//!   records to `foodstream_application::batches`, whose policy calls the
//!   use case (one call per record, no callback in between);
//! - [`serve`]: the runtime loop.

pub mod consumers;
pub mod records;
mod runtime;
pub mod stream;

pub use runtime::serve;
