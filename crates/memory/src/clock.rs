use async_trait::async_trait;
use chrono::Duration;
use foodstream_domain::Timestamp;
use foodstream_domain::ports::{Clock, IdGenerator};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// A clock that moves only when told to. `sleep_until` jumps to the
/// wake-up time at once, so a 1 s delivery takes no real time in tests.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<Timestamp>,
    slept_until: Mutex<Vec<Timestamp>>,
}

impl ManualClock {
    /// A clock stopped at `now`.
    pub fn at(now: Timestamp) -> Self {
        ManualClock { now: Mutex::new(now), slept_until: Mutex::new(Vec::new()) }
    }

    /// Moves the time forward by `by` (backward if `by` is negative).
    pub fn advance(&self, by: Duration) {
        *self.now.lock().unwrap() += by;
    }

    /// Sets the time to `to`, earlier or later.
    pub fn set(&self, to: Timestamp) {
        *self.now.lock().unwrap() = to;
    }

    /// Every time a use case waited until, in order.
    pub fn sleeps(&self) -> Vec<Timestamp> {
        self.slept_until.lock().unwrap().clone()
    }
}

#[async_trait]
impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.now.lock().unwrap()
    }

    async fn sleep_until(&self, at: Timestamp) {
        self.slept_until.lock().unwrap().push(at);
        let mut now = self.now.lock().unwrap();
        if at > *now {
            *now = at;
        }
    }
}

/// Ids `{prefix}-1`, `{prefix}-2`, ...: predictable in assertions.
#[derive(Debug)]
pub struct SequentialIds {
    prefix: String,
    next: AtomicU64,
}

impl SequentialIds {
    /// Ids `{prefix}-1`, `{prefix}-2`, ... in that order, starting at 1.
    pub fn new(prefix: impl Into<String>) -> Self {
        SequentialIds { prefix: prefix.into(), next: AtomicU64::new(1) }
    }
}

impl IdGenerator for SequentialIds {
    fn new_id(&self) -> String {
        format!("{}-{}", self.prefix, self.next.fetch_add(1, Ordering::SeqCst))
    }
}
