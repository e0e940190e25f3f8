//! Collected log records: what the notifier produced, kept for a while and
//! readable by operators.

use crate::Timestamp;
use crate::events::LogEvent;
use crate::ids::{LogId, OrderId};
use chrono::Duration;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogRecord {
    /// The id of the log event it came from: one record per event, however
    /// often the event is delivered.
    pub log_id: LogId,
    pub service: String,
    pub user_id: String,
    pub order_id: OrderId,
    pub message: String,
    pub created_at: Timestamp,
    /// When the store may drop it (DynamoDB TTL).
    pub expires_at: Timestamp,
}

/// How long log records are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogRetention {
    pub ttl: Duration,
}

impl Default for LogRetention {
    fn default() -> Self {
        Self { ttl: Duration::days(30) }
    }
}

impl LogRetention {
    pub fn from_days(days: i64) -> Self {
        Self { ttl: Duration::days(days) }
    }

    /// The record of a log event. Retention runs from when it happened, so a
    /// late replay does not extend it.
    pub fn record(&self, event: &LogEvent) -> LogRecord {
        LogRecord {
            log_id: LogId::new(event.event_id.as_str()),
            service: event.data.service.clone(),
            user_id: event.data.user_id.clone(),
            order_id: event.order_id.clone(),
            message: event.data.message.clone(),
            created_at: event.occurred_at,
            expires_at: event.occurred_at + self.ttl,
        }
    }
}
