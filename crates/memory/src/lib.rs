//! In-memory adapters of every port of `foodstream-domain`.
//!
//! They follow the ports' contracts to the letter (atomic placement and
//! updates, conditional rider takes, idempotent inserts, opaque cursors)
//! under one lock, so use cases can be tested in microseconds. They are
//! never a substitute for the integration tests against the emulators.

#![warn(missing_docs)]

mod clock;
mod dead_letters;
mod photos;
mod publisher;
mod store;
mod timer;

pub use clock::{ManualClock, SequentialIds};
pub use dead_letters::InMemoryDeadLetters;
pub use photos::InMemoryPhotoStore;
pub use publisher::RecordingPublisher;
pub use store::InMemoryStore;
pub use timer::RecordingTimer;
