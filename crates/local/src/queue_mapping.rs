//! An SQS event source mapping, run as Lambda runs one: the queue is polled
//! for up to the batch size (`ReceiveMessage`, ten at a time) within the
//! batching window, the batch is handed to the function as an `aws:sqs`
//! event, and the messages it did with are deleted. Unlike a Kafka or
//! stream mapping, nothing is retried here: a message that failed (the
//! call failed, or a partial batch response named it) is simply not
//! deleted, so the queue hands it out again once its visibility timeout
//! has passed, and moves it to its dead-letter queue after the redrive
//! policy's `maxReceiveCount` receives. Per-message delays, visibility and
//! redrive are the queue's own (the emulator's SQS keeps them). Batches
//! run concurrently, up to `ScalingConfig.MaximumConcurrency`.
//!
//! One difference, written down in the parity table: Lambda long-polls,
//! and the emulator's long poll does not wake when a delayed message
//! becomes visible (it re-checks once a second), so this poller
//! short-polls an empty queue every [`IDLE_POLL`] instead.

use crate::activity::{Activity, StackEvent};
use crate::runtime::{FunctionPool, InvokeOutcome};
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, Message, MessageSystemAttributeName};
use foodstream_template::Mapping;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Semaphore, watch};

/// How soon an empty queue is polled again.
pub const IDLE_POLL: Duration = Duration::from_millis(50);

/// Batches in flight at once when the mapping sets no `MaximumConcurrency`
/// (Lambda starts with five pollers).
pub const DEFAULT_CONCURRENCY: u64 = 5;

/// An SQS mapping's poller: its queue, its function and where it reports.
pub struct QueuePoller {
    /// The mapping as the template declares it (batch size, window,
    /// concurrency, partial batch responses).
    pub mapping: Mapping,
    /// The mapping's function.
    pub pool: Arc<FunctionPool>,
    /// The emulator's SQS.
    pub sqs: aws_sdk_sqs::Client,
    /// The queue's URL, to receive and delete with.
    pub queue_url: String,
    /// The queue's ARN as the event names it (`eventSourceARN`).
    pub queue_arn: String,
    /// Where batches and trouble are reported.
    pub activity: Activity,
}

fn trouble(function: &str, what: String) -> StackEvent {
    StackEvent::Trouble { function: function.to_owned(), what }
}

/// Polls the mapping's queue until `stop` turns true; batches still in
/// flight then finish.
pub async fn run_queue(poller: QueuePoller, mut stop: watch::Receiver<bool>) {
    let limit = poller.mapping.maximum_concurrency.unwrap_or(DEFAULT_CONCURRENCY).clamp(1, 1000) as usize;
    let permits = Arc::new(Semaphore::new(limit));
    let poller = Arc::new(poller);
    let mut calls = tokio::task::JoinSet::new();
    while !*stop.borrow() {
        let permit = tokio::select! {
            _ = stop.changed() => break,
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let batch = poller.gather(&mut stop).await;
        if batch.is_empty() {
            drop(permit);
            tokio::select! {
                _ = stop.changed() => break,
                _ = tokio::time::sleep(IDLE_POLL) => {}
            }
        } else {
            let poller = poller.clone();
            calls.spawn(async move {
                poller.deliver(batch).await;
                drop(permit);
            });
        }
        while calls.try_join_next().is_some() {}
    }
    while calls.join_next().await.is_some() {}
}

impl QueuePoller {
    /// Up to the batch size of visible messages, gathered for at most the
    /// batching window (none: what one receive brings).
    async fn gather(&self, stop: &mut watch::Receiver<bool>) -> Vec<Message> {
        let size = self.mapping.batch_size.max(1) as usize;
        let deadline = tokio::time::Instant::now() + self.mapping.batching_window;
        let mut batch: Vec<Message> = Vec::new();
        loop {
            let want = (size - batch.len()).min(10) as i32;
            let received = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(want)
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .message_attribute_names("All")
                .send()
                .await;
            let got = match received {
                Ok(out) => out.messages.unwrap_or_default(),
                Err(e) => {
                    let error = aws_sdk_sqs::error::DisplayErrorContext(e);
                    let what = format!("receive: {error}; retrying in 1 s");
                    (self.activity)(trouble(&self.mapping.function, what));
                    // Backs off, as Lambda's pollers do, instead of retrying every poll.
                    tokio::select! {
                        _ = stop.changed() => {}
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                    break;
                }
            };
            let none = got.is_empty();
            batch.extend(got);
            let now = tokio::time::Instant::now();
            if batch.len() >= size || now >= deadline {
                break;
            }
            if none {
                tokio::select! {
                    _ = stop.changed() => break,
                    _ = tokio::time::sleep(IDLE_POLL.min(deadline - now)) => {}
                }
            }
        }
        batch
    }

    /// Invokes the function with the batch and deletes what it did with.
    async fn deliver(&self, batch: Vec<Message>) {
        let function = &self.mapping.function;
        let event = sqs_event(&self.queue_arn, &batch);
        let payload = serde_json::to_vec(&event).unwrap_or_default();
        let ids: Vec<String> = batch.iter().map(|m| m.message_id().unwrap_or_default().to_owned()).collect();
        let (first, last) =
            (ids.first().cloned().unwrap_or_default(), ids.last().cloned().unwrap_or_default());
        (self.activity)(StackEvent::BatchStarted {
            function: function.clone(),
            records: batch.len(),
            first: first.clone(),
            last: last.clone(),
        });
        let report = self.pool.invoke(payload).await;
        (self.activity)(StackEvent::Batch {
            function: function.clone(),
            records: batch.len(),
            first,
            last,
            duration: report.duration,
            init: report.init,
            failure: (!matches!(report.outcome, InvokeOutcome::Response(_))).then(|| report.outcome.clone()),
        });
        let failed: BTreeSet<String> = match &report.outcome {
            InvokeOutcome::Response(body) if self.mapping.report_batch_item_failures => {
                match failed_messages(body, &ids) {
                    Ok(failed) => failed,
                    Err(reason) => {
                        (self.activity)(StackEvent::UnreadableAnswer { function: function.clone(), reason });
                        ids.iter().cloned().collect()
                    }
                }
            }
            InvokeOutcome::Response(_) => BTreeSet::new(),
            _ => ids.iter().cloned().collect(),
        };
        if let Some(from) = failed.iter().next() {
            // Not deleted: back after the queue's visibility timeout.
            (self.activity)(StackEvent::RetryFrom {
                function: function.clone(),
                records: failed.len(),
                from: from.clone(),
            });
        }
        let done: Vec<&Message> =
            batch.iter().filter(|m| !failed.contains(m.message_id().unwrap_or_default())).collect();
        self.delete(&done).await;
    }

    /// Deletes messages, ten per call; one that cannot be deleted comes back
    /// after its visibility timeout (at least once, as on Lambda).
    async fn delete(&self, messages: &[&Message]) {
        for chunk in messages.chunks(10) {
            let entries: Vec<DeleteMessageBatchRequestEntry> = chunk
                .iter()
                .enumerate()
                .filter_map(|(i, m)| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(m.receipt_handle().unwrap_or_default())
                        .build()
                        .ok()
                })
                .collect();
            let deleted = self
                .sqs
                .delete_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await;
            let failed = match deleted {
                Ok(out) => out.failed().len(),
                Err(e) => {
                    let error = aws_sdk_sqs::error::DisplayErrorContext(e).to_string();
                    (self.activity)(trouble(&self.mapping.function, format!("delete: {error}")));
                    chunk.len()
                }
            };
            if failed > 0 {
                (self.activity)(trouble(
                    &self.mapping.function,
                    format!("{failed} messages not deleted; they come back after the visibility timeout"),
                ));
            }
        }
    }
}

/// The messages a partial batch response names. A null or empty answer,
/// or no `batchItemFailures`, is a complete success; an identifier that is
/// missing, empty or not a message of the batch fails the whole batch
/// (`Err`), as Lambda treats it.
pub fn failed_messages(body: &[u8], ids: &[String]) -> Result<BTreeSet<String>, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(BTreeSet::new());
    }
    let answer: Value = serde_json::from_slice(body).map_err(|e| format!("the answer is not JSON: {e}"))?;
    let failures = match answer.get("batchItemFailures") {
        None | Some(Value::Null) => return Ok(BTreeSet::new()),
        Some(Value::Array(failures)) => failures,
        Some(other) => return Err(format!("batchItemFailures is not a list: {other}")),
    };
    let mut failed = BTreeSet::new();
    for failure in failures {
        let id = failure.get("itemIdentifier").and_then(Value::as_str).unwrap_or_default();
        if !ids.iter().any(|known| known == id) || id.is_empty() {
            return Err(format!("itemIdentifier {failure} is not a message of the batch"));
        }
        failed.insert(id.to_owned());
    }
    Ok(failed)
}

/// The `aws:sqs` event around `messages`, as Lambda builds it: each record
/// names the queue by `queue_arn` (`arn:aws:sqs:<region>:<account>:<queue>`,
/// [`crate::ids::queue_arn`]) and its region.
pub fn sqs_event(queue_arn: &str, messages: &[Message]) -> Value {
    let region = queue_arn.split(':').nth(3).filter(|r| !r.is_empty()).unwrap_or(crate::ids::LOCAL_REGION);
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            let attributes: serde_json::Map<String, Value> = m
                .attributes()
                .into_iter()
                .flatten()
                .map(|(name, value)| (name.as_str().to_owned(), Value::String(value.clone())))
                .collect();
            json!({
                "messageId": m.message_id(),
                "receiptHandle": m.receipt_handle(),
                "body": m.body(),
                "attributes": attributes,
                "messageAttributes": {},
                "md5OfBody": m.md5_of_body(),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            })
        })
        .collect();
    json!({"Records": records})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partial_answer_names_its_messages_and_anything_else_fails_the_batch() {
        let ids: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        for done in ["", " ", "null", "{}", r#"{"batchItemFailures": []}"#, r#"{"batchItemFailures": null}"#]
        {
            assert!(failed_messages(done.as_bytes(), &ids).unwrap().is_empty(), "{done}");
        }
        let answer = json!({"batchItemFailures": [{"itemIdentifier": "c"}, {"itemIdentifier": "a"}]});
        let failed = failed_messages(answer.to_string().as_bytes(), &ids).unwrap();
        assert_eq!(failed.into_iter().collect::<Vec<_>>(), ["a", "c"]);
        for broken in [
            json!({"batchItemFailures": [{"itemIdentifier": null}]}),
            json!({"batchItemFailures": [{"itemIdentifier": ""}]}),
            json!({"batchItemFailures": [{"itemIdentifier": "z"}]}),
            json!({"batchItemFailures": [{}]}),
            json!({"batchItemFailures": "all"}),
        ] {
            assert!(failed_messages(broken.to_string().as_bytes(), &ids).is_err(), "{broken}");
        }
        assert!(failed_messages(b"not json", &ids).is_err());
    }
}
