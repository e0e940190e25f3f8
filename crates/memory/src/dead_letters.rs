use async_trait::async_trait;
use foodstream_domain::ports::{DeadLetter, DeadLetters, PortError};
use std::sync::Mutex;

/// Dead letters kept in a list, for tests to read back.
#[derive(Default)]
pub struct InMemoryDeadLetters {
    letters: Mutex<Vec<DeadLetter>>,
}

impl InMemoryDeadLetters {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every letter parked so far, in order.
    pub fn letters(&self) -> Vec<DeadLetter> {
        self.letters.lock().unwrap().clone()
    }
}

#[async_trait]
impl DeadLetters for InMemoryDeadLetters {
    async fn park(&self, letter: &DeadLetter) -> Result<(), PortError> {
        self.letters.lock().unwrap().push(letter.clone());
        Ok(())
    }
}
