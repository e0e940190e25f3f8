use async_trait::async_trait;
use foodstream_domain::Timestamp;
use foodstream_domain::ports::{Clock, IdGenerator};

/// Wall-clock time; sleeping is a tokio timer.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

#[async_trait]
impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        chrono::Utc::now()
    }

    async fn sleep_until(&self, at: Timestamp) {
        if let Ok(wait) = (at - chrono::Utc::now()).to_std() {
            tokio::time::sleep(wait).await;
        }
    }
}

/// Random (v4) UUIDs, hyphenated: URL-safe and unguessable, so order ids
/// cannot be enumerated.
#[derive(Debug, Default, Clone, Copy)]
pub struct UuidIds;

impl IdGenerator for UuidIds {
    fn new_id(&self) -> String {
        uuid::Uuid::new_v4().to_string()
    }
}
