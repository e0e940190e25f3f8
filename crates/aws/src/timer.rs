//! The delivery timer on SQS: one message per assigned delivery, delayed
//! until its completion is due (`DelaySeconds`, whole seconds, rounded up
//! so it is never early; the completer waits out any remainder). The queue
//! keeps it durably; its event source mapping hands it to the delivery
//! completer, and its redrive policy moves it to a dead-letter queue after
//! repeated failures. Why SQS and not another timer: `docs/infra.md`.

use crate::access::{Grant, Resource};
use async_trait::async_trait;
use foodstream_domain::ports::{DeliveryTimer, PortError};
use foodstream_domain::timer::CompletionDue;
use std::time::Duration;

/// SQS's longest per-message delay (15 minutes).
pub const MAX_DELAY_SECONDS: u64 = 900;

/// The delivery timer's queue, which the dispatcher schedules completions on.
#[derive(Clone)]
pub struct SqsDeliveryTimer {
    client: aws_sdk_sqs::Client,
    queue_url: String,
}

impl SqsDeliveryTimer {
    /// `schedule`: one message on the timer queue.
    pub const SCHEDULE: &[Grant] =
        &[Grant::new("sqs:SendMessage", Resource::Queue { queue: crate::schema::DELIVERY_TIMER_QUEUE })];

    /// A timer sending to the queue at `queue_url` with `client`.
    pub fn new(client: aws_sdk_sqs::Client, queue_url: impl Into<String>) -> Self {
        SqsDeliveryTimer { client, queue_url: queue_url.into() }
    }

    /// The message's `DelaySeconds` for a wait of `after`: whole seconds,
    /// rounded up, at most SQS's 15 minutes.
    pub fn delay_seconds(after: Duration) -> i32 {
        let mut seconds = after.as_secs();
        if after.subsec_nanos() > 0 {
            seconds += 1;
        }
        // At most 900: fits an i32.
        seconds.min(MAX_DELAY_SECONDS) as i32
    }
}

#[async_trait]
impl DeliveryTimer for SqsDeliveryTimer {
    async fn schedule(&self, due: &CompletionDue, after: Duration) -> Result<(), PortError> {
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(due.encode())
            .delay_seconds(SqsDeliveryTimer::delay_seconds(after))
            .send()
            .await
            .map_err(|e| PortError::Unavailable(aws_sdk_sqs::error::DisplayErrorContext(e).to_string()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_round_up_to_whole_seconds_and_stop_at_fifteen_minutes() {
        let ms = Duration::from_millis;
        assert_eq!(SqsDeliveryTimer::delay_seconds(ms(0)), 0);
        assert_eq!(SqsDeliveryTimer::delay_seconds(ms(1)), 1);
        assert_eq!(SqsDeliveryTimer::delay_seconds(ms(999)), 1);
        assert_eq!(SqsDeliveryTimer::delay_seconds(ms(1000)), 1);
        assert_eq!(SqsDeliveryTimer::delay_seconds(ms(1001)), 2);
        assert_eq!(SqsDeliveryTimer::delay_seconds(ms(20_000)), 20);
        assert_eq!(SqsDeliveryTimer::delay_seconds(Duration::from_secs(u64::MAX)), 900);
    }
}
