use async_trait::async_trait;
use foodstream_domain::events::{Envelope, EventType, decode};
use foodstream_domain::ports::{EventPublisher, OutgoingMessage, PortError};
use serde_json::Value;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// Keeps every published message; can play a broker that is down.
#[derive(Debug, Default)]
pub struct RecordingPublisher {
    messages: Mutex<Vec<OutgoingMessage>>,
    down: AtomicBool,
}

impl RecordingPublisher {
    /// A publisher that is up and has published nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// While down, `publish` fails and records nothing.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    /// Every message published so far (since the last `take`), in order.
    pub fn messages(&self) -> Vec<OutgoingMessage> {
        self.messages.lock().unwrap().clone()
    }

    /// Removes and returns what was published so far.
    pub fn take(&self) -> Vec<OutgoingMessage> {
        std::mem::take(&mut *self.messages.lock().unwrap())
    }

    /// The published events of one topic, decoded.
    pub fn events<K: EventType, D: serde::de::DeserializeOwned + foodstream_domain::events::EventData>(
        &self,
    ) -> Vec<Envelope<K, D>> {
        self.messages
            .lock()
            .unwrap()
            .iter()
            .filter(|m| m.topic == K::TOPIC)
            .map(|m| decode(&m.payload).expect("published events decode"))
            .collect()
    }

    /// Every published payload of a topic as JSON.
    pub fn payloads(&self, topic: &str) -> Vec<Value> {
        self.messages
            .lock()
            .unwrap()
            .iter()
            .filter(|m| m.topic == topic)
            .map(|m| serde_json::from_slice(&m.payload).expect("published payloads are JSON"))
            .collect()
    }
}

#[async_trait]
impl EventPublisher for RecordingPublisher {
    async fn publish(&self, messages: &[OutgoingMessage]) -> Result<(), PortError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(PortError::Unavailable("broker down".into()));
        }
        self.messages.lock().unwrap().extend_from_slice(messages);
        Ok(())
    }
}
