//! The event consumers. Each takes its batch record by record, in order
//! within a partition or shard, and answers a partial batch response
//! (`FunctionResponseTypes: [ReportBatchItemFailures]`):
//!
//! - a record that can never be processed (not JSON, an unknown type, the
//!   wrong shape, an order that does not exist) is parked with its payload
//!   on the dead-letter destination and counts as done, so it never blocks
//!   its partition or shard;
//! - a record that failed on a dependency (DynamoDB, Kafka) is reported,
//!   with every later record of its partition or shard, and only those are
//!   retried by the event source mapping;
//! - everything else is done. The use cases are idempotent, so a record
//!   retried after it was applied changes nothing twice.

use crate::stream::stream_records;
use aws_lambda_events::event::dynamodb::Event as DynamoDbEvent;
use aws_lambda_events::event::kafka::KafkaEvent;
use foodstream_application::Settings;
use foodstream_application::consumers::{self, ConsumeError, DispatchPorts, NotifyPorts, Outcome};
use foodstream_application::sweeper::{self, SweepPorts};
use foodstream_domain::events::{
    DeliveryEventData, DeliveryEventType, Envelope, EventType, LogEventData, LogEventType, OrderEvent,
    OrderEventData, OrderEventType,
};
use foodstream_domain::ports::{
    Clock, DeadLetter, DeadLetters, EventPublisher, LogRepository, OrderRepository,
};
use foodstream_domain::trace::TraceParent;
use foodstream_lambda::lambda_runtime::Diagnostic;
use foodstream_lambda::records::{
    BatchItemFailure, BatchRecord, BatchResponse, ItemIdentifier, kafka_records,
};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::future::Future;
use tracing::{Instrument, Span, info, info_span, warn};

/// What a batch did, for the function's log line (and the tests).
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BatchSummary {
    pub records: usize,
    pub applied: usize,
    pub duplicates: usize,
    pub stale: usize,
    pub skipped: usize,
    /// Unprocessable records kept on the dead-letter destination.
    pub parked: usize,
    /// Records reported back for a retry.
    pub retried: usize,
}

/// A batch's summary and the answer to the event source mapping.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct BatchReport {
    pub summary: BatchSummary,
    pub response: BatchResponse,
}

impl BatchReport {
    fn add_outcome(&mut self, outcome: Outcome) {
        let s = &mut self.summary;
        match outcome {
            Outcome::Applied => s.applied += 1,
            Outcome::Duplicate => s.duplicates += 1,
            Outcome::Stale => s.stale += 1,
            Outcome::Skipped => s.skipped += 1,
        }
    }

    fn retry(&mut self, id: &ItemIdentifier) {
        self.summary.retried += 1;
        self.response.batch_item_failures.push(BatchItemFailure { item_identifier: id.clone() });
    }

    fn merge(&mut self, other: BatchReport) {
        let (s, o) = (&mut self.summary, other.summary);
        s.applied += o.applied;
        s.duplicates += o.duplicates;
        s.stale += o.stale;
        s.skipped += o.skipped;
        s.parked += o.parked;
        s.retried += o.retried;
        self.response.batch_item_failures.extend(other.response.batch_item_failures);
    }

    fn log(mut self, consumer: &str, records: usize) -> Self {
        self.summary.records = records;
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
async fn park<E>(
    consumer: &str,
    dead_letters: &dyn DeadLetters,
    record: &BatchRecord<'_, E>,
    reason: String,
) -> bool {
    let letter = DeadLetter {
        consumer: consumer.to_owned(),
        source: record.id.to_string(),
        reason,
        record: record.raw.to_value(),
    };
    match dead_letters.park(&letter).await {
        Ok(()) => {
            warn!(consumer, record = %record.id, reason = %letter.reason, "unprocessable record parked");
            true
        }
        Err(error) => {
            warn!(consumer, record = %record.id, %error, "cannot park an unprocessable record; it will be retried");
            false
        }
    }
}

/// The span of one record's work: every line logged for it names the
/// order and the order's trace, so one order can be followed across the
/// functions (`make logs ORDER=<id>` locally, the same fields in
/// CloudWatch Logs Insights).
fn record_span<K: EventType, D>(record: &BatchRecord<Envelope<K, D>>) -> Span {
    let trace_id = record.trace.as_ref().map(TraceParent::trace_id);
    match &record.event {
        Ok(event) => info_span!(
            "record",
            order_id = %event.order_id,
            event_id = %event.event_id,
            event_type = event.event_type.as_str(),
            trace_id,
        ),
        Err(_) => info_span!("record", record = %record.id, trace_id),
    }
}

/// Runs `handle` on every decodable record (with the trace it came with),
/// the records of one group (by `group_of`) in order and the groups
/// concurrently, parking what can never be processed and reporting what
/// failed on a dependency with the rest of its group.
async fn process<'a, K, D, F, Fut>(
    consumer: &str,
    dead_letters: &dyn DeadLetters,
    records: &'a [BatchRecord<'_, Envelope<K, D>>],
    group_of: impl Fn(&'a BatchRecord<Envelope<K, D>>) -> Cow<'a, str>,
    handle: F,
) -> BatchReport
where
    K: EventType,
    F: Fn(&'a Envelope<K, D>, Option<&'a TraceParent>) -> Fut,
    Fut: Future<Output = Result<Outcome, ConsumeError>>,
{
    let mut groups: BTreeMap<Cow<'a, str>, Vec<_>> = BTreeMap::new();
    for record in records {
        groups.entry(group_of(record)).or_default().push(record);
    }
    let handle = &handle;
    let runs = groups.into_values().map(|group| async move {
        let mut report = BatchReport::default();
        let mut failing = false;
        for record in group {
            if failing {
                report.retry(&record.id);
                continue;
            }
            let span = record_span(record);
            let unprocessable = match &record.event {
                Err(reason) => Some(reason.clone()),
                Ok(event) => match handle(event, record.trace.as_ref()).instrument(span.clone()).await {
                    Ok(outcome) => {
                        span.in_scope(|| info!(consumer, record = %record.id, ?outcome, "record done"));
                        report.add_outcome(outcome);
                        None
                    }
                    Err(ConsumeError::Unprocessable { reason, .. }) => Some(reason),
                    Err(ConsumeError::Port(error)) => {
                        span.in_scope(|| warn!(consumer, record = %record.id, %error, "dependency failed; the record will be retried"));
                        failing = true;
                        report.retry(&record.id);
                        None
                    }
                },
            };
            if let Some(reason) = unprocessable {
                if park(consumer, dead_letters, record, reason).instrument(span).await {
                    report.summary.parked += 1;
                } else {
                    failing = true;
                    report.retry(&record.id);
                }
            }
        }
        report
    });
    let mut all = BatchReport::default();
    for report in futures::future::join_all(runs).await {
        all.merge(report);
    }
    all.log(consumer, records.len())
}

/// order-outbox-relay: orders table stream -> order-events. The events of
/// consecutive good records go out in one publish; an undecodable record
/// is parked after what came before it was published.
pub async fn relay(
    publisher: &dyn EventPublisher,
    dead_letters: &dyn DeadLetters,
    batch: &DynamoDbEvent,
) -> BatchReport {
    let records = stream_records(batch);
    let mut report = BatchReport::default();
    let mut pending: Vec<&BatchRecord<Vec<OrderEvent>>> = Vec::new();
    let mut failing = false;
    for record in records.iter().map(Some).chain([None]) {
        let flush = match record {
            None => true,
            Some(r) => r.event.is_err(),
        };
        if flush && !failing && !pending.is_empty() {
            let events: Vec<(OrderEvent, Option<TraceParent>)> = pending
                .iter()
                .flat_map(|r| {
                    let events = r.event.as_deref().unwrap_or_default();
                    events.iter().map(|e| (e.clone(), r.trace.clone()))
                })
                .collect();
            match consumers::relay_order_events(publisher, &events).await {
                Ok(published) => {
                    for (event, trace) in &events {
                        let trace_id = trace.as_ref().map(TraceParent::trace_id);
                        info!(order_id = %event.order_id, event_id = %event.event_id, event_type = event.event_type.as_str(), trace_id, "relayed");
                    }
                    report.summary.applied += published;
                    pending.clear();
                }
                Err(error) => {
                    warn!(%error, "publishing failed; the records will be retried");
                    failing = true;
                }
            }
        }
        if failing {
            for r in pending.drain(..) {
                report.retry(&r.id);
            }
        }
        let Some(record) = record else { break };
        match &record.event {
            _ if failing => report.retry(&record.id),
            Ok(_) => pending.push(record),
            Err(reason) => {
                if park("order-outbox-relay", dead_letters, record, reason.clone()).await {
                    report.summary.parked += 1;
                } else {
                    failing = true;
                    report.retry(&record.id);
                }
            }
        }
    }
    report.log("order-outbox-relay", records.len())
}

/// delivery-dispatcher: order-events (OrderDeliveryRequested) -> delivery-events.
/// Orders run concurrently (each delivery waits out its own delivery
/// time); one order's events in their order.
pub async fn dispatch(
    ports: &DispatchPorts<'_>,
    dead_letters: &dyn DeadLetters,
    batch: &KafkaEvent,
) -> BatchReport {
    let records = kafka_records::<OrderEventType, OrderEventData>(batch);
    // One order's records in order; orders run concurrently.
    fn by_order<'a>(r: &'a BatchRecord<'_, OrderEvent>) -> Cow<'a, str> {
        match &r.event {
            Ok(event) => Cow::Owned(format!("order {}", event.order_id)),
            Err(_) => Cow::Borrowed(r.group.as_str()),
        }
    }
    process("delivery-dispatcher", dead_letters, &records, by_order, |event, trace| {
        consumers::dispatch_delivery(ports, event, trace)
    })
    .await
}

/// order-delivery-updater: delivery-events -> the order.
pub async fn update_orders(
    orders: &dyn OrderRepository,
    clock: &dyn Clock,
    settings: &Settings,
    dead_letters: &dyn DeadLetters,
    batch: &KafkaEvent,
) -> BatchReport {
    let records = kafka_records::<DeliveryEventType, DeliveryEventData>(batch);
    process(
        "order-delivery-updater",
        dead_letters,
        &records,
        |r| Cow::Borrowed(r.group.as_str()),
        |event, _trace| consumers::apply_delivery_event(orders, clock, settings, event),
    )
    .await
}

/// notifier: order-events -> notifications + log-events.
pub async fn notify(
    ports: &NotifyPorts<'_>,
    dead_letters: &dyn DeadLetters,
    batch: &KafkaEvent,
) -> BatchReport {
    let records = kafka_records::<OrderEventType, OrderEventData>(batch);
    process(
        "notifier",
        dead_letters,
        &records,
        |r| Cow::Borrowed(r.group.as_str()),
        |event, trace| consumers::notify(ports, event, trace),
    )
    .await
}

/// log-collector: log-events -> log records.
pub async fn collect_logs(
    logs: &dyn LogRepository,
    settings: &Settings,
    dead_letters: &dyn DeadLetters,
    batch: &KafkaEvent,
) -> BatchReport {
    let records = kafka_records::<LogEventType, LogEventData>(batch);
    process(
        "log-collector",
        dead_letters,
        &records,
        |r| Cow::Borrowed(r.group.as_str()),
        |event, _trace| consumers::collect_log(logs, &settings.log_retention, event),
    )
    .await
}

/// delivery-sweeper: on its schedule, completes the deliveries whose
/// dispatcher never did. An error fails the run; the next run tries again.
pub async fn sweep(ports: &SweepPorts<'_>) -> Result<usize, SweepFailed> {
    let completed = sweeper::sweep_deliveries(ports).await.map_err(SweepFailed)?;
    info!(completed, "sweep done");
    Ok(completed)
}

/// A sweep that could not finish: a dependency failed. The invocation
/// fails with it, and the next tick sweeps again (completing a delivery is
/// idempotent).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SweepFailed(pub ConsumeError);

impl From<SweepFailed> for Diagnostic {
    fn from(failed: SweepFailed) -> Diagnostic {
        Diagnostic { error_type: "DependencyUnavailable".into(), error_message: failed.to_string() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use foodstream_domain::ports::PortError;

    #[test]
    fn a_failed_sweep_is_reported_to_lambda_as_a_dependency_failure() {
        let failed = SweepFailed(ConsumeError::Port(PortError::Unavailable("DynamoDB throttled".into())));
        let diagnostic = Diagnostic::from(failed);
        assert_eq!(diagnostic.error_type, "DependencyUnavailable");
        assert!(diagnostic.error_message.contains("DynamoDB throttled"), "{}", diagnostic.error_message);
    }
}
