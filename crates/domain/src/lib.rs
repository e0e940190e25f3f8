//! The foodstream domain: what an order is, how it may change, what those
//! changes mean for stock, riders, refunds and customers, and which events
//! they send into the stream.
//!
//! Nothing in this crate performs I/O, reads the clock or draws random
//! numbers: time and identifiers are inputs, and storage, messaging and
//! object storage are [`ports`] that adapters implement. That keeps every rule
//! testable as a plain function.
//!
//! The modules are layered, each importing only modules below it (their
//! tests aside; held by `tests/module_graph.rs`): identifiers, identities,
//! tracing and [`validation`] (with the limits of an order's fields) at the
//! bottom; then the catalog, stock, deliveries, [`sequencing`], refunds and
//! the shared [`values`]; then the [`events`]; then the [`order`] that
//! produces them, and the [`notification`]s, [`log`] records and delivery
//! [`timer`] that follow from them; and the [`ports`] over everything.

// Outside data (a request, a record, a stored item) never panics a function:
// no unwrap, expect or unchecked indexing outside tests (clippy.toml allows
// them in tests); an `allow` names why its value cannot be hostile.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
// The domain is the vocabulary every other crate speaks: each public item
// says what it is (and why, where that is not obvious).
#![warn(missing_docs)]

pub mod catalog;
pub mod delivery;
pub mod events;
pub mod identity;
pub mod ids;
pub mod log;
pub mod notification;
pub mod order;
pub mod ports;
pub mod refund;
pub mod sequencing;
pub mod stock;
pub mod timer;
pub mod trace;
pub mod validation;
pub mod values;

/// Every instant in the domain is UTC; the wire format is RFC 3339.
pub type Timestamp = chrono::DateTime<chrono::Utc>;

/// Money is a whole number of Korean won.
pub type Won = i64;
