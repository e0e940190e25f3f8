//! The event consumers: each decodes its batch, hands it to the batch
//! policy of `foodstream_application::batches` (poison records parked,
//! dependency failures retried with the rest of their group, everything
//! else done) with its use case, and answers Lambda's partial batch response
//! (`FunctionResponseTypes: [ReportBatchItemFailures]`) naming the records
//! to retry.

use crate::stream::stream_records;
use aws_lambda_events::event::dynamodb::Event as DynamoDbEvent;
use aws_lambda_events::event::kafka::KafkaEvent;
use aws_lambda_events::event::sqs::SqsEvent;
use foodstream_application::Settings;
use foodstream_application::batches::{self, BatchOutcome};
use foodstream_application::consumers::{
    self, CompletePorts, ConsumeError, DispatchPorts, NotifyPorts, Outcome,
};
use foodstream_application::sweeper::{self, SweepPorts, Swept};
use foodstream_domain::events::{
    DeliveryEventData, DeliveryEventType, Envelope, EventType, LogEventData, LogEventType, OrderEvent,
    OrderEventData, OrderEventType,
};
use foodstream_domain::ports::{
    Clock, DeadLetters, DeliveryTimer, EventPublisher, LogRepository, OrderRepository,
};
use foodstream_domain::timer::CompletionDue;
use foodstream_domain::trace::TraceParent;
use foodstream_lambda::lambda_runtime::Diagnostic;
use foodstream_lambda::records::{BatchItemFailure, BatchRecord, BatchResponse, kafka_records, sqs_records};
use std::borrow::Cow;
use std::future::Future;
use tracing::{Span, info, info_span};

pub use foodstream_application::batches::BatchSummary;

/// A batch's summary and the answer to the event source mapping.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct BatchReport {
    pub summary: BatchSummary,
    pub response: BatchResponse,
}

impl BatchReport {
    /// The policy's outcome in Lambda's terms: each record to retry by its
    /// item identifier.
    fn of<E>(records: &[BatchRecord<'_, E>], outcome: BatchOutcome) -> BatchReport {
        let failures = outcome
            .retry
            .iter()
            // The policy names positions of these records, never others.
            .filter_map(|&position| records.get(position))
            .map(|record| BatchItemFailure { item_identifier: record.id.clone() })
            .collect();
        BatchReport { summary: outcome.summary, response: BatchResponse { batch_item_failures: failures } }
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

/// A Kafka consumer's batch through the batch policy, each record in its
/// span, grouped by `group_of`.
async fn process<'a, K, D, F, Fut>(
    consumer: &str,
    dead_letters: &dyn DeadLetters,
    records: &'a [BatchRecord<'_, Envelope<K, D>>],
    group_of: impl Fn(&'a BatchRecord<Envelope<K, D>>) -> Cow<'a, str>,
    handle: F,
) -> BatchReport
where
    K: EventType + Sync,
    D: Sync,
    F: Fn(&'a Envelope<K, D>, Option<&'a TraceParent>) -> Fut,
    Fut: Future<Output = Result<Outcome, ConsumeError>>,
{
    let outcome = batches::consume(consumer, dead_letters, records, group_of, record_span, handle).await;
    BatchReport::of(records, outcome)
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
    let outcome = batches::relay(publisher, dead_letters, &records).await;
    BatchReport::of(&records, outcome)
}

/// delivery-dispatcher: order-events (OrderDeliveryRequested) ->
/// delivery-events and the delivery timer. Orders run concurrently; one
/// order's events in their order.
pub async fn dispatch(
    ports: &DispatchPorts<'_>,
    timer: &dyn DeliveryTimer,
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
        consumers::dispatch_delivery(ports, timer, event, trace)
    })
    .await
}

/// delivery-completer: the delivery timer's queue -> delivery-events.
/// Each message names a delivery whose completion is due; messages of
/// different deliveries run concurrently (each may wait out its delivery's
/// last fraction of a second), two of one delivery (a dispatcher batch
/// redelivered schedules again) one after the other, so the second finds
/// the first's work recorded. A message that is not a completion is parked; one that failed
/// on a dependency is named in the answer and comes back after the
/// queue's visibility timeout (then, after `maxReceiveCount` receives, to
/// the dead-letter queue).
pub async fn complete_deliveries(
    ports: &CompletePorts<'_>,
    dead_letters: &dyn DeadLetters,
    batch: &SqsEvent,
) -> BatchReport {
    let records = sqs_records(batch, CompletionDue::decode);
    let span_of = |record: &BatchRecord<CompletionDue>| match &record.event {
        Ok(due) => {
            // A delivery id is `{order_id}#{version}`: the order, for `make logs ORDER=`.
            let order_id = due.delivery_id.rsplit_once('#').map(|(order, _)| order).unwrap_or_default();
            info_span!("record", order_id, delivery_id = %due.delivery_id, message = %record.id)
        }
        Err(_) => info_span!("record", message = %record.id),
    };
    let outcome = batches::consume(
        "delivery-completer",
        dead_letters,
        &records,
        |r| match &r.event {
            Ok(due) => Cow::Borrowed(due.delivery_id.as_str()),
            Err(_) => Cow::Borrowed(r.group.as_str()),
        },
        span_of,
        |due, _trace| consumers::complete_due_delivery(ports, due),
    )
    .await;
    BatchReport::of(&records, outcome)
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
pub async fn sweep(ports: &SweepPorts<'_>) -> Result<Swept, SweepFailed> {
    let swept = sweeper::sweep_deliveries(ports).await.map_err(SweepFailed)?;
    info!(resumed = swept.resumed, completed = swept.completed, "sweep done");
    Ok(swept)
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
