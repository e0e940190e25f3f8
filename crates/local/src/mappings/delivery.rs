//! Handing a batch to the mapping's function: filters, retries, bisection,
//! partial batch responses, and the on-failure destination at the end.

use super::{Failure, FailureTarget, Record, failure_record};
use crate::activity::{Activity, Destination, StackEvent};
use crate::filter;
use crate::runtime::{FunctionPool, Invocation, InvokeOutcome};
use foodstream_template::Mapping;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Builds the event around a batch of records.
pub type EventBuilder = Box<dyn Fn(&[Record]) -> Value + Send + Sync>;

/// A mapping's function and what it does with failures.
pub struct Deliverer {
    /// The mapping as the template declares it (filters, retries, bisection).
    pub mapping: Mapping,
    /// The mapping's function.
    pub pool: Arc<FunctionPool>,
    /// Where batches go after their retries, when the mapping says.
    pub failure: Option<FailureTarget>,
    /// The event around a batch of records.
    pub envelope: EventBuilder,
    /// The source's ARN as failure records name it (`eventSourceArn`).
    pub source_arn: String,
    /// Where batches and their fate are reported.
    pub activity: Activity,
    /// The first retry waits this long, doubling up to [`MAX_BACKOFF`].
    pub first_backoff: Duration,
}

/// The longest wait before a retry (and between attempts at an
/// unavailable on-failure destination).
pub const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// What becomes of a batch after an attempt at it.
enum Next {
    /// Done with: delivered, or sent to the on-failure destination.
    Done,
    /// To try again, one more retry counted (the backoff already waited).
    Retry(Vec<Record>),
    /// To split in two halves, each tried on its own with the same count.
    Split(Vec<Record>),
}

/// How the function took a batch.
enum Verdict {
    /// Every record done with.
    Succeeded,
    /// A partial batch response: these records to retry.
    Partial(Vec<Record>),
    /// The call failed (or its answer could not be read): the whole batch.
    Failed,
}

impl Deliverer {
    /// Filters `records`, invokes the function, retries and bisects as the
    /// mapping says, and sends what still fails to the on-failure destination.
    /// Returns only when every record is done with, one way or the other.
    pub async fn deliver(&self, records: Vec<Record>) {
        let records: Vec<Record> =
            records.into_iter().filter(|r| filter::passes(&self.mapping.filters, &r.subject)).collect();
        // Depth first, so the records keep their order.
        let mut work = vec![(records, 0_i64)];
        while let Some((batch, retries)) = work.pop() {
            match self.attempt(batch, retries).await {
                Next::Done => {}
                Next::Retry(batch) => work.push((batch, retries + 1)),
                Next::Split(mut first) => {
                    let second = first.split_off(first.len() / 2);
                    work.push((second, retries));
                    work.push((first, retries));
                }
            }
        }
    }

    /// One attempt at `batch`, `retries` retries into it: its expired
    /// records to the destination, the rest invoked (split first if the
    /// event is too large), and what the answer leaves to do.
    async fn attempt(&self, batch: Vec<Record>, retries: i64) -> Next {
        let batch = self.send_expired(batch, retries).await;
        if batch.is_empty() {
            return Next::Done;
        }
        let payload = serde_json::to_vec(&(self.envelope)(&batch)).unwrap_or_default();
        if payload.len() > crate::runtime::MAX_INVOKE_PAYLOAD_BYTES && batch.len() > 1 {
            // Lambda keeps every batch under the 6 MB invoke limit.
            return Next::Split(batch);
        }
        let report = self.invoke(&batch, payload).await;
        match self.verdict(&report.outcome, &batch) {
            Verdict::Succeeded => Next::Done,
            Verdict::Partial(tail) => self.retry_partial(tail, retries, &report).await,
            Verdict::Failed => self.retry_failed(batch, retries, &report).await,
        }
    }

    /// Past `MaximumRecordAgeInSeconds`, a record goes to the
    /// destination instead of being invoked, on its first attempt or
    /// on a retry: a retry without a count ends there, as on AWS.
    /// Answers the records still to invoke.
    async fn send_expired(&self, batch: Vec<Record>, retries: i64) -> Vec<Record> {
        let (batch, expired) = self.split_expired(batch);
        if !expired.is_empty() {
            let outcome =
                InvokeOutcome::Error { error_type: "RecordAgeExceeded".into(), message: String::new() };
            self.send_to_failure(&expired, "", retries, &outcome, "RecordAgeExceeded").await;
        }
        batch
    }

    /// Invokes the function with `batch` (its event, `payload`), reporting
    /// the batch's start and its end.
    async fn invoke(&self, batch: &[Record], payload: Vec<u8>) -> Invocation {
        (self.activity)(StackEvent::BatchStarted {
            function: self.mapping.function.clone(),
            records: batch.len(),
            first: batch[0].position.clone(),
            last: batch[batch.len() - 1].position.clone(),
        });
        let report = self.pool.invoke(payload).await;
        let outcome = &report.outcome;
        (self.activity)(StackEvent::Batch {
            function: self.mapping.function.clone(),
            records: batch.len(),
            first: batch[0].position.clone(),
            last: batch[batch.len() - 1].position.clone(),
            duration: report.duration,
            init: report.init,
            failure: (!matches!(outcome, InvokeOutcome::Response(_))).then(|| outcome.clone()),
        });
        report
    }

    /// What the call's `outcome` says of `batch`: with
    /// `ReportBatchItemFailures`, a successful call's answer names the
    /// records to retry (an unreadable answer fails the whole batch).
    fn verdict(&self, outcome: &InvokeOutcome, batch: &[Record]) -> Verdict {
        match outcome {
            InvokeOutcome::Response(body) if self.mapping.report_batch_item_failures => {
                match records_to_retry(body, batch) {
                    Ok(tail) if tail.is_empty() => Verdict::Succeeded,
                    Ok(tail) => Verdict::Partial(tail),
                    Err(reason) => {
                        (self.activity)(StackEvent::UnreadableAnswer {
                            function: self.mapping.function.clone(),
                            reason,
                        });
                        Verdict::Failed
                    }
                }
            }
            InvokeOutcome::Response(_) => Verdict::Succeeded,
            _ => Verdict::Failed,
        }
    }

    /// A partial batch response: only its records are retried, and
    /// past the retry limit only they go to the destination.
    async fn retry_partial(&self, tail: Vec<Record>, retries: i64, report: &Invocation) -> Next {
        (self.activity)(StackEvent::RetryFrom {
            function: self.mapping.function.clone(),
            records: tail.len(),
            from: tail[0].position.clone(),
        });
        if self.may_retry(retries) {
            tokio::time::sleep(self.backoff(retries)).await;
            return Next::Retry(tail);
        }
        self.send_to_failure(
            &tail,
            &report.request_id,
            retries + 1,
            &report.outcome,
            "RetryAttemptsExhausted",
        )
        .await;
        Next::Done
    }

    /// A failed call: the batch bisected when the mapping says, else
    /// retried, and past the retry limit sent to the destination.
    async fn retry_failed(&self, batch: Vec<Record>, retries: i64, report: &Invocation) -> Next {
        if self.mapping.bisect_on_error && batch.len() > 1 {
            (self.activity)(StackEvent::Bisected {
                function: self.mapping.function.clone(),
                records: batch.len(),
            });
            return Next::Split(batch);
        }
        if self.may_retry(retries) {
            let backoff = self.backoff(retries);
            (self.activity)(StackEvent::Retrying {
                function: self.mapping.function.clone(),
                records: batch.len(),
                attempt: retries + 1,
            });
            tokio::time::sleep(backoff).await;
            return Next::Retry(batch);
        }
        self.send_to_failure(
            &batch,
            &report.request_id,
            retries + 1,
            &report.outcome,
            "RetryAttemptsExhausted",
        )
        .await;
        Next::Done
    }

    /// Whether a batch `retries` retries in may be retried once more
    /// (`MaximumRetryAttempts`, -1 for no limit).
    fn may_retry(&self, retries: i64) -> bool {
        let limit = self.mapping.max_retries;
        limit < 0 || retries < limit
    }

    /// The wait before retry number `retries + 1`.
    fn backoff(&self, retries: i64) -> Duration {
        self.first_backoff.saturating_mul(1 << retries.min(16) as u32).min(MAX_BACKOFF)
    }

    /// The records still young enough to invoke, and those past the
    /// mapping's `MaximumRecordAgeInSeconds` (none when it is -1).
    fn split_expired(&self, records: Vec<Record>) -> (Vec<Record>, Vec<Record>) {
        match self.mapping.max_record_age_seconds {
            age if age >= 0 => {
                let oldest = chrono::Utc::now().timestamp_millis() - age.saturating_mul(1000);
                records.into_iter().partition(|r| r.created_ms.is_none_or(|at| at >= oldest))
            }
            _ => (records, Vec::new()),
        }
    }

    /// Lambda's on-failure record: the invocation's context and the batch's
    /// position; to an S3 destination, the invocation's payload as well.
    async fn send_to_failure(
        &self,
        batch: &[Record],
        request_id: &str,
        invokes: i64,
        outcome: &InvokeOutcome,
        condition: &str,
    ) {
        let first = &batch[0];
        let last = &batch[batch.len() - 1];
        let now = chrono::Utc::now();
        let payload = (self.envelope)(batch);
        let failure = Failure {
            function: &self.mapping.function,
            source_arn: &self.source_arn,
            request_id,
            invokes,
            outcome,
            condition,
            at: now,
        };
        let mut record = failure_record(&failure, batch, &payload);
        let Some(target) = &self.failure else {
            (self.activity)(StackEvent::Dropped {
                function: self.mapping.function.clone(),
                records: batch.len(),
            });
            return;
        };
        let what = match target {
            FailureTarget::Queue { .. } => Destination::Queue,
            FailureTarget::Bucket { .. } => {
                record["payload"] = payload;
                Destination::Bucket
            }
        };
        // The destination is on the local emulator; keep trying so nothing is lost.
        while let Err(e) = target.send(&self.mapping.function, &first.group, now, &record).await {
            (self.activity)(StackEvent::Trouble {
                function: self.mapping.function.clone(),
                what: format!("the failure {what:?} is unavailable ({e}); retrying"),
            });
            tokio::time::sleep(MAX_BACKOFF).await;
        }
        (self.activity)(StackEvent::SentToFailure {
            function: self.mapping.function.clone(),
            records: batch.len(),
            first: first.position.clone(),
            last: last.position.clone(),
            destination: what,
        });
    }
}

/// The records a partial batch response asks to retry: in each partition
/// or shard, every record from the first one it names (Lambda checkpoints
/// before it). A null or empty answer, or no `batchItemFailures`, is a
/// complete success; an identifier that is null, empty or not in the batch
/// makes the whole batch a failure (`Err`), as Lambda treats it.
pub fn records_to_retry(body: &[u8], batch: &[Record]) -> Result<Vec<Record>, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Vec::new());
    }
    let answer: Value = serde_json::from_slice(body).map_err(|e| format!("the answer is not JSON: {e}"))?;
    let failures = match answer.get("batchItemFailures") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(failures)) => failures,
        Some(other) => return Err(format!("batchItemFailures is not a list: {other}")),
    };
    let mut first_failed: BTreeMap<&str, usize> = BTreeMap::new();
    for failure in failures {
        let id = failure.get("itemIdentifier").unwrap_or(&Value::Null);
        if id.is_null() || id == "" {
            return Err(format!("an itemIdentifier is missing or empty: {failure}"));
        }
        let at = batch
            .iter()
            .position(|r| &r.item == id)
            .ok_or_else(|| format!("itemIdentifier {id} is not a record of the batch"))?;
        let first = first_failed.entry(batch[at].group.as_str()).or_insert(at);
        *first = (*first).min(at);
    }
    Ok(batch
        .iter()
        .enumerate()
        .filter(|(at, r)| first_failed.get(r.group.as_str()).is_some_and(|first| at >= first))
        .map(|(_, r)| r.clone())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mappings::SourceRecord;
    use serde_json::json;

    fn kafka(partition: i32, offset: i64) -> Record {
        let group = format!("t-{partition}");
        Record {
            item: json!({"partition": group, "offset": offset}),
            group,
            position: format!("{partition}@{offset}"),
            event: SourceRecord::None,
            subject: Value::Null,
            created_ms: None,
        }
    }

    fn positions(records: &[Record]) -> Vec<&str> {
        records.iter().map(|r| r.position.as_str()).collect()
    }

    #[test]
    fn a_partial_answer_retries_each_named_partition_from_its_first_named_record() {
        let batch = [kafka(0, 1), kafka(0, 2), kafka(0, 3), kafka(1, 7), kafka(1, 8), kafka(2, 5)];
        for done in ["", "null", "{}", r#"{"batchItemFailures": []}"#, r#"{"batchItemFailures": null}"#] {
            assert!(records_to_retry(done.as_bytes(), &batch).unwrap().is_empty(), "{done}");
        }
        let answer = json!({"batchItemFailures": [
            {"itemIdentifier": {"partition": "t-0", "offset": 3}},
            {"itemIdentifier": {"partition": "t-0", "offset": 2}},
            {"itemIdentifier": {"partition": "t-1", "offset": 8}},
        ]});
        let retry = records_to_retry(answer.to_string().as_bytes(), &batch).unwrap();
        assert_eq!(positions(&retry), ["0@2", "0@3", "1@8"]);
        for broken in [
            json!({"batchItemFailures": [{"itemIdentifier": null}]}),
            json!({"batchItemFailures": [{"itemIdentifier": ""}]}),
            json!({"batchItemFailures": [{"itemIdentifier": {"partition": "t-9", "offset": 1}}]}),
            json!({"batchItemFailures": "all of them"}),
        ] {
            assert!(records_to_retry(broken.to_string().as_bytes(), &batch).is_err(), "{broken}");
        }
        assert!(records_to_retry(b"not json", &batch).is_err());
    }
}
