//! `delivery-sweeper`: every minute (an EventBridge schedule), finishes the
//! deliveries left in a non-terminal state (a request nobody decided, a
//! decision that never reached the order, an assignment past its time) and
//! publishes their events to delivery-events. Config, clients, run.

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use foodstream_application::consumers::DispatchPorts;
use foodstream_application::sweeper::{SweepPorts, SweepSettings};
use foodstream_application::{Settings, settings};
use foodstream_aws::{Aws, DynamoDeliveries, DynamoOrders, DynamoRiders, SystemClock};
use foodstream_domain::events::topics;
use foodstream_handlers::batch::consumers;
use foodstream_handlers::{batch, logging};
use foodstream_kafka::KafkaPublisher;

#[tokio::main]
async fn main() -> Result<(), foodstream_handlers::lambda_runtime::Error> {
    logging::init();
    let aws = Aws::from_env().await;
    let sweep = SweepSettings::from_env()?;
    let settings = &Settings::from_env(&[settings::DELIVERY_DURATION])?;
    let orders = &aws.orders(&[DynamoOrders::AWAITING_DELIVERY])?;
    let riders = &aws.riders(&[DynamoRiders::IN_ZONE, DynamoRiders::GET])?;
    let deliveries = &aws.deliveries(&[
        DynamoDeliveries::OVERDUE,
        DynamoDeliveries::GET,
        DynamoDeliveries::ASSIGN,
        DynamoDeliveries::RECORD_FAILURE,
        DynamoDeliveries::COMPLETE,
    ])?;
    let publisher = &KafkaPublisher::from_env(&aws.config, &[topics::DELIVERY_EVENTS]).await?;
    let dispatch = DispatchPorts { riders, deliveries, publisher, clock: &SystemClock, settings };
    let ports = &SweepPorts { orders, dispatch, settings: sweep };
    batch::serve("delivery-sweeper", |_tick: EventBridgeEvent<serde_json::Value>| async move {
        consumers::sweep(ports).await.map(|swept| serde_json::json!(swept))
    })
    .await
}
