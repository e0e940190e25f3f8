//! `delivery-sweeper`: every minute (an EventBridge schedule), completes
//! the assigned deliveries whose dispatcher died or ran out of retries, and
//! publishes their events to delivery-events. Config, clients, run.

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use foodstream_application::sweeper::{SweepPorts, SweepSettings};
use foodstream_aws::{Aws, DynamoDeliveries, SystemClock};
use foodstream_domain::events::topics;
use foodstream_handlers::consumers;
use foodstream_kafka::KafkaPublisher;
use foodstream_lambda::{consumer, logging};

#[tokio::main]
async fn main() -> Result<(), foodstream_lambda::lambda_runtime::Error> {
    logging::init();
    let aws = Aws::from_env().await;
    let settings = SweepSettings::from_env()?;
    let deliveries =
        &aws.deliveries(&[DynamoDeliveries::OVERDUE, DynamoDeliveries::GET, DynamoDeliveries::COMPLETE])?;
    let publisher = &KafkaPublisher::from_env(&aws.config, &[topics::DELIVERY_EVENTS]).await?;
    let ports = &SweepPorts { deliveries, publisher, clock: &SystemClock, settings };
    consumer::serve("delivery-sweeper", |_tick: EventBridgeEvent<serde_json::Value>| async move {
        consumers::sweep(ports).await.map(|completed| serde_json::json!({ "completed": completed }))
    })
    .await
}
