use async_trait::async_trait;
use foodstream_domain::ports::{DeliveryTimer, PortError};
use foodstream_domain::timer::CompletionDue;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// A delivery timer that keeps what it is given in a list: a test takes
/// the due completions and runs the completer on them (the manual clock
/// jumps over each one's wait).
#[derive(Default)]
pub struct RecordingTimer {
    scheduled: Mutex<Vec<(CompletionDue, Duration)>>,
    down: AtomicBool,
}

impl RecordingTimer {
    /// A timer that is up and has nothing scheduled.
    pub fn new() -> Self {
        Self::default()
    }

    /// While down, `schedule` fails as an unreachable queue would.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    /// Everything scheduled so far, with the delay asked for.
    pub fn scheduled(&self) -> Vec<(CompletionDue, Duration)> {
        self.scheduled.lock().unwrap().clone()
    }

    /// Takes what was scheduled, in order (a test's "the timer fires").
    pub fn take(&self) -> Vec<CompletionDue> {
        self.scheduled.lock().unwrap().drain(..).map(|(due, _)| due).collect()
    }
}

#[async_trait]
impl DeliveryTimer for RecordingTimer {
    async fn schedule(&self, due: &CompletionDue, after: Duration) -> Result<(), PortError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(PortError::Unavailable("the timer queue is down".into()));
        }
        self.scheduled.lock().unwrap().push((due.clone(), after));
        Ok(())
    }
}
