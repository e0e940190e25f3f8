//! The five event consumers. Each decodes its batch (an undecodable record
//! fails the batch: see `foodstream_lambda::records`), runs its use case,
//! and fails the batch on any error so the event source mapping retries it;
//! the use cases are idempotent, so a retried batch changes nothing twice.

use aws_lambda_events::event::dynamodb::Event as DynamoDbEvent;
use aws_lambda_events::event::kafka::KafkaEvent;
use foodstream_application::Settings;
use foodstream_application::consumers::{self, DispatchPorts, NotifyPorts, Outcome};
use foodstream_domain::events::{
    DeliveryEventData, DeliveryEventType, LogEventData, LogEventType, OrderEventData, OrderEventType,
};
use foodstream_domain::ports::{EventPublisher, LogRepository, OrderRepository};
use foodstream_lambda::records::{BatchError, kafka_events, stream_order_events};
use tracing::{Instrument, info, info_span};

/// What a batch did, for the function's log line (and the tests).
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BatchSummary {
    pub records: usize,
    pub applied: usize,
    pub duplicates: usize,
    pub stale: usize,
    pub skipped: usize,
}

impl BatchSummary {
    fn of(outcomes: &[Outcome]) -> Self {
        let count = |o: Outcome| outcomes.iter().filter(|x| **x == o).count();
        BatchSummary {
            records: outcomes.len(),
            applied: count(Outcome::Applied),
            duplicates: count(Outcome::Duplicate),
            stale: count(Outcome::Stale),
            skipped: count(Outcome::Skipped),
        }
    }

    fn log(self, consumer: &str) -> Self {
        info!(
            consumer,
            records = self.records,
            applied = self.applied,
            duplicates = self.duplicates,
            stale = self.stale,
            skipped = self.skipped,
            "batch done"
        );
        self
    }
}

/// order-outbox-relay: orders table stream -> order-events.
pub async fn relay(publisher: &dyn EventPublisher, batch: &DynamoDbEvent) -> Result<usize, BatchError> {
    let events = stream_order_events(batch)?;
    let published = consumers::relay_order_events(publisher, &events).await?;
    info!(stream_records = batch.records.len(), published, "outbox relayed");
    Ok(published)
}

/// delivery-dispatcher: order-events (OrderDeliveryRequested) -> delivery-events.
pub async fn dispatch(ports: &DispatchPorts<'_>, batch: &KafkaEvent) -> Result<BatchSummary, BatchError> {
    let events = kafka_events::<OrderEventType, OrderEventData>(batch)?;
    let outcomes = consumers::dispatch_batch(ports, &events).await?;
    Ok(BatchSummary::of(&outcomes).log("delivery-dispatcher"))
}

/// order-delivery-updater: delivery-events -> the order.
pub async fn update_orders(
    orders: &dyn OrderRepository,
    settings: &Settings,
    batch: &KafkaEvent,
) -> Result<BatchSummary, BatchError> {
    let events = kafka_events::<DeliveryEventType, DeliveryEventData>(batch)?;
    let mut outcomes = Vec::with_capacity(events.len());
    for event in &events {
        let span = info_span!("event", order_id = %event.order_id, event_id = %event.event_id);
        outcomes.push(consumers::apply_delivery_event(orders, settings, event).instrument(span).await?);
    }
    Ok(BatchSummary::of(&outcomes).log("order-delivery-updater"))
}

/// notifier: order-events -> notifications + log-events.
pub async fn notify(ports: &NotifyPorts<'_>, batch: &KafkaEvent) -> Result<BatchSummary, BatchError> {
    let events = kafka_events::<OrderEventType, OrderEventData>(batch)?;
    let mut outcomes = Vec::with_capacity(events.len());
    for event in &events {
        let span = info_span!("event", order_id = %event.order_id, event_id = %event.event_id);
        outcomes.push(consumers::notify(ports, event).instrument(span).await?);
    }
    Ok(BatchSummary::of(&outcomes).log("notifier"))
}

/// log-collector: log-events -> log records.
pub async fn collect_logs(
    logs: &dyn LogRepository,
    settings: &Settings,
    batch: &KafkaEvent,
) -> Result<BatchSummary, BatchError> {
    let events = kafka_events::<LogEventType, LogEventData>(batch)?;
    let mut outcomes = Vec::with_capacity(events.len());
    for event in &events {
        outcomes.push(consumers::collect_log(logs, &settings.log_retention, event).await?);
    }
    Ok(BatchSummary::of(&outcomes).log("log-collector"))
}
