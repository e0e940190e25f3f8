//! Collected log records: what the notifier produced, kept for a while and
//! readable by operators.

use crate::Timestamp;
use crate::events::LogEvent;
use crate::ids::{LogId, OrderId};
use chrono::Duration;
use serde::{Deserialize, Serialize};

/// One collected log record: what a `NotificationProduced` log event said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogRecord {
    /// The id of the log event it came from: one record per event, however
    /// often the event is delivered.
    pub log_id: LogId,
    /// The service that produced the notification (`notifier`).
    pub service: String,
    /// Who the notification was for: a user id, or a store id.
    pub user_id: String,
    /// The order it was about.
    pub order_id: OrderId,
    /// The log line.
    pub message: String,
    /// When the notification was produced.
    pub created_at: Timestamp,
    /// When the store may drop it (DynamoDB TTL).
    pub expires_at: Timestamp,
}

/// How long log records are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogRetention {
    /// How long a record is kept after it happened.
    pub ttl: Duration,
}

impl Default for LogRetention {
    fn default() -> Self {
        Self { ttl: Duration::days(30) }
    }
}

impl LogRetention {
    /// Days beyond what a duration holds are held at its longest.
    pub fn from_days(days: i64) -> Self {
        let longest = if days < 0 { Duration::MIN } else { Duration::MAX };
        Self { ttl: Duration::try_days(days).unwrap_or(longest) }
    }

    /// The record of a log event. Retention runs from when it happened, so a
    /// late replay does not extend it; a record that would expire past the
    /// last instant a timestamp holds expires then (decoding keeps events
    /// far from it, see `events::bounds`).
    pub fn record(&self, event: &LogEvent) -> LogRecord {
        LogRecord {
            log_id: LogId::new(event.event_id.as_str()),
            service: event.data.service.clone(),
            user_id: event.data.user_id.clone(),
            order_id: event.order_id.clone(),
            message: event.data.message.clone(),
            created_at: event.occurred_at,
            expires_at: event
                .occurred_at
                .checked_add_signed(self.ttl)
                .unwrap_or(if self.ttl < Duration::zero() { Timestamp::MIN_UTC } else { Timestamp::MAX_UTC }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{Envelope, LogEventData, LogEventType};
    use crate::notification::Channel;

    fn event_at(occurred_at: Timestamp) -> LogEvent {
        Envelope {
            event_id: "log:o1.v1.customer.app-push".into(),
            event_type: LogEventType::NotificationProduced,
            occurred_at,
            order_id: "o1".into(),
            user_id: "c1".into(),
            store_id: "s1".into(),
            order_version: 1,
            data: LogEventData {
                user_id: "c1".into(),
                service: "notifier".into(),
                message: "m".into(),
                notification_id: "o1.v1.customer.app-push".into(),
                channel: Channel::AppPush,
            },
        }
    }

    #[test]
    fn retention_runs_from_when_it_happened() {
        let at: Timestamp = "2026-11-25T12:00:00Z".parse().unwrap_or_default();
        let record = LogRetention::from_days(7).record(&event_at(at));
        assert_eq!((record.created_at, record.expires_at), (at, at + Duration::days(7)));
    }

    #[test]
    fn a_record_at_the_end_of_time_expires_at_the_end_of_time_instead_of_panicking() {
        let last_day: Timestamp = "+262142-12-31T00:00:00Z".parse().unwrap_or_default();
        assert_eq!(chrono::Datelike::year(&last_day), 262142);
        let record = LogRetention::default().record(&event_at(last_day));
        assert_eq!(record.expires_at, Timestamp::MAX_UTC);
        let now: Timestamp = "2026-11-25T12:00:00Z".parse().unwrap_or_default();
        assert_eq!(LogRetention::from_days(i64::MAX).record(&event_at(now)).expires_at, Timestamp::MAX_UTC);
    }
}
