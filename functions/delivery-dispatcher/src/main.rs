//! `delivery-dispatcher`: order-events (group delivery) -> delivery-events,
//! and each assignment's completion onto the delivery timer. Config, clients, run.

use aws_lambda_events::event::kafka::KafkaEvent;
use foodstream_application::consumers::DispatchPorts;
use foodstream_application::{Settings, settings};
use foodstream_aws::SystemClock;
use foodstream_aws::{Aws, DynamoDeliveries, DynamoRiders};
use foodstream_domain::events::topics;
use foodstream_handlers::batch::consumers;
use foodstream_handlers::{batch, logging};
use foodstream_kafka::KafkaPublisher;

#[tokio::main]
async fn main() -> Result<(), foodstream_handlers::lambda_runtime::Error> {
    logging::init();
    let aws = Aws::from_env().await;
    let settings = &Settings::from_env(&[settings::DELIVERY_DURATION])?;
    let riders = &aws.riders(&[DynamoRiders::IN_ZONE, DynamoRiders::GET])?;
    let deliveries = &aws.deliveries(&[
        DynamoDeliveries::GET,
        DynamoDeliveries::ASSIGN,
        DynamoDeliveries::RECORD_FAILURE,
    ])?;
    let publisher = &KafkaPublisher::from_env(&aws.config, &[topics::DELIVERY_EVENTS]).await?;
    let timer = &aws.delivery_timer()?;
    let dead_letters = &aws.dead_letters()?;
    let ports = &DispatchPorts { riders, deliveries, publisher, clock: &SystemClock, settings };
    batch::serve("delivery-dispatcher", |batch: KafkaEvent| async move {
        Ok::<_, std::convert::Infallible>(
            consumers::dispatch(ports, timer, dead_letters, &batch).await.response,
        )
    })
    .await
}
