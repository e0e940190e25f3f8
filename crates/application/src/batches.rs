//! What a consumer does with a batch, record by record: the same policy
//! for every event source (SPEC rule 5, docs/rules.md).
//!
//! - A record that can never be processed (it cannot be decoded, or its
//!   use case says it is unprocessable) is parked with its payload on the
//!   dead-letter destination and counts as done, so it never blocks its
//!   partition or shard.
//! - A record that failed on a dependency is retried, with every later
//!   record of its group (partition, shard or order), so order is kept.
//! - Everything else is done; the use cases are idempotent, so a record
//!   retried after it was applied changes nothing twice.
//!
//! The records come from the event source's own types through
//! [`BatchItem`]; what to retry is answered by position, for the caller to
//! name in its event source's terms (a partial batch response on Lambda).

use crate::consumers::{ConsumeError, Outcome, relay_order_events};
use foodstream_domain::events::{EventType, OrderEvent};
use foodstream_domain::ports::{DeadLetter, DeadLetters, EventPublisher};
use foodstream_domain::trace::TraceParent;
use std::collections::BTreeMap;
use std::future::Future;
use tracing::{Instrument, Span, info, warn};

/// One record of a batch, as the policy needs it.
pub trait BatchItem: Sync {
    /// What the record decodes to.
    type Event;
    /// The decoded event, or why it cannot be decoded.
    fn event(&self) -> Result<&Self::Event, &str>;
    /// The trace the record came with, if any.
    fn trace(&self) -> Option<&TraceParent>;
    /// The records of one group are handled in their order, one after the
    /// other; groups run concurrently (a partition, a shard, an order).
    fn group(&self) -> &str;
    /// The span the record's work is logged in.
    fn span(&self) -> Span;
    /// How logs and the dead letter name the record (`topic-0@12`).
    fn write_name(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result;
    /// The record as received, as a batch of its own, for its dead letter
    /// (see `DeadLetter::record`).
    fn payload(&self) -> serde_json::Value;
}

/// A consumer's use case, one decoded record at a time: what
/// [`consume`] calls for each record (the one call from the policy to the
/// use case; the ports it needs are the implementing value's).
pub trait RecordUseCase<E>: Sync {
    /// Applies one event (with the trace it came with). Idempotent: a
    /// record retried after it was applied changes nothing twice.
    fn handle(
        &self,
        event: &E,
        trace: Option<&TraceParent>,
    ) -> impl Future<Output = Result<Outcome, ConsumeError>> + Send;
}

/// A record's name, formatted only when it is written.
struct Name<'a, I>(&'a I);

impl<I: BatchItem> std::fmt::Display for Name<'_, I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.write_name(f)
    }
}

/// What a batch did, for the function's log line (and the tests).
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BatchSummary {
    /// Records in the batch.
    pub records: usize,
    /// Records that did new work (for the outbox relay: events published).
    pub applied: usize,
    /// Records done before (redeliveries).
    pub duplicates: usize,
    /// Records older than what their order had already seen.
    pub stale: usize,
    /// Records not meant for this consumer.
    pub skipped: usize,
    /// Unprocessable records kept on the dead-letter destination.
    pub parked: usize,
    /// Records reported back for a retry.
    pub retried: usize,
}

/// A batch's summary and the positions of the records to retry, in order.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct BatchOutcome {
    /// What the batch did, counted.
    pub summary: BatchSummary,
    /// The positions in the batch of the records to retry, ascending.
    pub retry: Vec<usize>,
}

impl BatchOutcome {
    fn add(&mut self, outcome: Outcome) {
        let s = &mut self.summary;
        match outcome {
            Outcome::Applied => s.applied += 1,
            Outcome::Duplicate => s.duplicates += 1,
            Outcome::Stale => s.stale += 1,
            Outcome::Skipped => s.skipped += 1,
        }
    }

    fn retry(&mut self, position: usize) {
        self.summary.retried += 1;
        self.retry.push(position);
    }

    fn merge(&mut self, other: BatchOutcome) {
        let (s, o) = (&mut self.summary, other.summary);
        s.applied += o.applied;
        s.duplicates += o.duplicates;
        s.stale += o.stale;
        s.skipped += o.skipped;
        s.parked += o.parked;
        s.retried += o.retried;
        self.retry.extend(other.retry);
    }

    fn done(mut self, consumer: &str, records: usize) -> Self {
        self.summary.records = records;
        self.retry.sort_unstable();
        let s = &self.summary;
        info!(
            consumer,
            records = s.records,
            applied = s.applied,
            duplicates = s.duplicates,
            stale = s.stale,
            skipped = s.skipped,
            parked = s.parked,
            retried = s.retried,
            "batch done"
        );
        self
    }
}

/// Keeps an unprocessable record; false when it could not be kept (then
/// it is retried rather than lost).
async fn park<I: BatchItem>(
    consumer: &str,
    dead_letters: &dyn DeadLetters,
    item: &I,
    reason: String,
) -> bool {
    let source = Name(item).to_string();
    let letter = DeadLetter { consumer: consumer.to_owned(), source, reason, record: item.payload() };
    match dead_letters.park(&letter).await {
        Ok(()) => {
            warn!(consumer, record = %letter.source, reason = %letter.reason, "unprocessable record parked");
            true
        }
        Err(error) => {
            warn!(consumer, record = %letter.source, %error, "cannot park an unprocessable record; it will be retried");
            false
        }
    }
}

/// Runs `use_case` on every decodable record (with the trace it came
/// with), the records of one group in order and the groups concurrently,
/// each record's work in its span.
pub async fn consume<I, U>(
    consumer: &str,
    use_case: &U,
    dead_letters: &dyn DeadLetters,
    items: &[I],
) -> BatchOutcome
where
    I: BatchItem,
    U: RecordUseCase<I::Event>,
{
    let mut groups: BTreeMap<&str, Vec<(usize, &I)>> = BTreeMap::new();
    for (position, item) in items.iter().enumerate() {
        groups.entry(item.group()).or_default().push((position, item));
    }
    let runs = groups.into_values().map(|group| async move {
        let mut outcome = BatchOutcome::default();
        let mut failing = false;
        for (position, item) in group {
            if failing {
                outcome.retry(position);
                continue;
            }
            let span = item.span();
            let unprocessable = match item.event() {
                Err(reason) => Some(reason.to_owned()),
                Ok(event) => match use_case.handle(event, item.trace()).instrument(span.clone()).await {
                    Ok(done) => {
                        span.in_scope(|| info!(consumer, record = %Name(item), outcome = ?done, "record done"));
                        outcome.add(done);
                        None
                    }
                    Err(ConsumeError::Unprocessable { reason, .. }) => Some(reason),
                    Err(ConsumeError::Port(error)) => {
                        span.in_scope(|| warn!(consumer, record = %Name(item), %error, "dependency failed; the record will be retried"));
                        failing = true;
                        outcome.retry(position);
                        None
                    }
                },
            };
            if let Some(reason) = unprocessable {
                if park(consumer, dead_letters, item, reason).instrument(span).await {
                    outcome.summary.parked += 1;
                } else {
                    failing = true;
                    outcome.retry(position);
                }
            }
        }
        outcome
    });
    let mut all = BatchOutcome::default();
    for outcome in futures::future::join_all(runs).await {
        all.merge(outcome);
    }
    all.done(consumer, items.len())
}

/// The outbox relay's batch: the order events of consecutive good records
/// go out in one publish; an undecodable record is parked once what came
/// before it is published; after a failed publish, it and every later
/// record are retried (a stream shard keeps its order).
pub async fn relay<I>(
    publisher: &dyn EventPublisher,
    dead_letters: &dyn DeadLetters,
    items: &[I],
) -> BatchOutcome
where
    I: BatchItem<Event = Vec<OrderEvent>>,
{
    const CONSUMER: &str = "order-outbox-relay";
    let mut outcome = BatchOutcome::default();
    let mut pending: Vec<(usize, &I)> = Vec::new();
    let mut failing = false;
    for next in items.iter().enumerate().map(Some).chain([None]) {
        let flush = next.is_none_or(|(_, item)| item.event().is_err());
        if flush && !failing && !pending.is_empty() {
            let events: Vec<(OrderEvent, Option<TraceParent>)> = pending
                .iter()
                .flat_map(|&(_, item)| {
                    let events = item.event().map(Vec::as_slice).unwrap_or_default();
                    events.iter().map(move |e| (e.clone(), item.trace().cloned()))
                })
                .collect();
            match relay_order_events(publisher, &events).await {
                Ok(published) => {
                    for (event, trace) in &events {
                        let trace_id = trace.as_ref().map(TraceParent::trace_id);
                        info!(order_id = %event.order_id, event_id = %event.event_id, event_type = event.event_type.as_str(), trace_id, "relayed");
                    }
                    outcome.summary.applied += published;
                    pending.clear();
                }
                Err(error) => {
                    warn!(%error, "publishing failed; the records will be retried");
                    failing = true;
                }
            }
        }
        if failing {
            for (p, _) in pending.drain(..) {
                outcome.retry(p);
            }
        }
        let Some((position, item)) = next else { break };
        match item.event() {
            _ if failing => outcome.retry(position),
            Ok(_) => pending.push((position, item)),
            Err(reason) => {
                if park(CONSUMER, dead_letters, item, reason.to_owned()).await {
                    outcome.summary.parked += 1;
                } else {
                    failing = true;
                    outcome.retry(position);
                }
            }
        }
    }
    outcome.done(CONSUMER, items.len())
}
