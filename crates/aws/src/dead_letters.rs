//! Poison records parked by the consumers themselves on the stack's failure
//! queue, with their payload, the moment they are found to be unprocessable:
//! the record is answered as done, so it never blocks its partition or
//! shard, and nothing is lost. (The event source mapping's own on-failure
//! destination still receives what fails for other reasons after its
//! retries; see `docs/functions.md`.)

use crate::access::{Grant, Resource};
use async_trait::async_trait;
use foodstream_domain::ports::{DeadLetter, DeadLetters, PortError};
use serde_json::json;

#[derive(Clone)]
pub struct SqsDeadLetters {
    client: aws_sdk_sqs::Client,
    queue_url: String,
}

/// SQS refuses message bodies over 256 KiB; a record that large is kept
/// without its payload (its position still lets an operator find it).
const MAX_BODY_BYTES: usize = 256 * 1024;

impl SqsDeadLetters {
    /// `park`: one message on the failure queue.
    pub const PARK: &[Grant] = &[Grant::new("sqs:SendMessage", Resource::Queue { queue: "FailureQueue" })];

    pub fn new(client: aws_sdk_sqs::Client, queue_url: impl Into<String>) -> Self {
        SqsDeadLetters { client, queue_url: queue_url.into() }
    }

    /// The message body of a parked record.
    pub fn body(letter: &DeadLetter) -> String {
        let mut body = json!({
            "parkedBy": letter.consumer,
            "condition": "Unprocessable",
            "source": letter.source,
            "reason": letter.reason,
            "parkedAt": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "record": letter.record,
        });
        let text = body.to_string();
        if text.len() <= MAX_BODY_BYTES {
            return text;
        }
        if let Some(fields) = body.as_object_mut() {
            fields.insert("record".into(), json!(null));
            fields.insert(
                "recordOmitted".into(),
                json!(format!("{} bytes, over the queue's limit", text.len())),
            );
        }
        body.to_string()
    }
}

#[async_trait]
impl DeadLetters for SqsDeadLetters {
    async fn park(&self, letter: &DeadLetter) -> Result<(), PortError> {
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(SqsDeadLetters::body(letter))
            .send()
            .await
            .map_err(|e| PortError::Unavailable(aws_sdk_sqs::error::DisplayErrorContext(e).to_string()))?;
        Ok(())
    }
}
