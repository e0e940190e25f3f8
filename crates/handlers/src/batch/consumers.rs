//! The event consumers: each decodes its batch (each record with its
//! group and span), hands it with its use case to the batch policy of
//! `foodstream_application::batches` (poison records parked, dependency
//! failures retried with the rest of their group, everything else done),
//! and answers Lambda's partial batch response
//! (`FunctionResponseTypes: [ReportBatchItemFailures]`) naming the records
//! to retry.

use crate::batch::records::{BatchItemFailure, BatchRecord, BatchResponse, kafka_records, sqs_records};
use crate::batch::stream::stream_records;
use aws_lambda_events::event::dynamodb::Event as DynamoDbEvent;
use aws_lambda_events::event::kafka::KafkaEvent;
use aws_lambda_events::event::sqs::SqsEvent;
use foodstream_application::Settings;
use foodstream_application::batches::{self, BatchOutcome};
use foodstream_application::consumers::{
    ApplyDeliveryEvents, CollectLogs, CompletePorts, ConsumeError, DispatchDeliveries, DispatchPorts,
    NotifyPorts,
};
use foodstream_application::sweeper::{self, SweepPorts, Swept};
use foodstream_domain::events::{
    DeliveryEventData, DeliveryEventType, LogEventData, LogEventType, OrderEventData, OrderEventType,
};
use foodstream_domain::ports::{
    Clock, DeadLetters, DeliveryTimer, EventPublisher, LogRepository, OrderRepository,
};
use foodstream_domain::timer::CompletionDue;
use lambda_runtime::Diagnostic;
use tracing::{info, info_span};

pub use foodstream_application::batches::BatchSummary;

/// A batch's summary and the answer to the event source mapping.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct BatchReport {
    /// What the batch did, record by record.
    pub summary: BatchSummary,
    /// Lambda's partial batch response: the records to retry.
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
/// delivery-events and the delivery timer. One order's records in order
/// (they are grouped by order, not by partition); orders run concurrently.
pub async fn dispatch(
    ports: &DispatchPorts<'_>,
    timer: &dyn DeliveryTimer,
    dead_letters: &dyn DeadLetters,
    batch: &KafkaEvent,
) -> BatchReport {
    let mut records = kafka_records::<OrderEventType, OrderEventData>(batch);
    for record in &mut records {
        if let Ok(event) = &record.event {
            record.group = format!("order {}", event.order_id);
        }
    }
    let use_case = DispatchDeliveries { ports, timer };
    let outcome = batches::consume("delivery-dispatcher", &use_case, dead_letters, &records).await;
    BatchReport::of(&records, outcome)
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
    let mut records = sqs_records(batch, CompletionDue::decode);
    for record in &mut records {
        if let Ok(due) = &record.event {
            // A delivery id is `{order_id}#{version}`: the order, for `make logs ORDER=`.
            let order_id = due.delivery_id.rsplit_once('#').map(|(order, _)| order).unwrap_or_default();
            record.span =
                info_span!("record", order_id, delivery_id = %due.delivery_id, message = %record.id);
            record.group.clone_from(&due.delivery_id);
        }
    }
    let outcome = batches::consume("delivery-completer", ports, dead_letters, &records).await;
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
    let use_case = ApplyDeliveryEvents { orders, clock, settings };
    let outcome = batches::consume("order-delivery-updater", &use_case, dead_letters, &records).await;
    BatchReport::of(&records, outcome)
}

/// notifier: order-events -> notifications + log-events.
pub async fn notify(
    ports: &NotifyPorts<'_>,
    dead_letters: &dyn DeadLetters,
    batch: &KafkaEvent,
) -> BatchReport {
    let records = kafka_records::<OrderEventType, OrderEventData>(batch);
    let outcome = batches::consume("notifier", ports, dead_letters, &records).await;
    BatchReport::of(&records, outcome)
}

/// log-collector: log-events -> log records.
pub async fn collect_logs(
    logs: &dyn LogRepository,
    settings: &Settings,
    dead_letters: &dyn DeadLetters,
    batch: &KafkaEvent,
) -> BatchReport {
    let records = kafka_records::<LogEventType, LogEventData>(batch);
    let use_case = CollectLogs { logs, retention: &settings.log_retention };
    let outcome = batches::consume("log-collector", &use_case, dead_letters, &records).await;
    BatchReport::of(&records, outcome)
}

/// delivery-sweeper: on its schedule, finishes the deliveries left
/// unfinished: requests the dispatcher never decided, assignments the
/// completer never completed. An error fails the run; the next run tries again.
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
