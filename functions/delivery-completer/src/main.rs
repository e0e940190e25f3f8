//! `delivery-completer`: the delivery timer's queue (SQS) -> delivery-events.
//! Completes each delivery whose time has come. Config, clients, run.

use aws_lambda_events::event::sqs::SqsEvent;
use foodstream_application::consumers::CompletePorts;
use foodstream_aws::{Aws, DynamoDeliveries, SystemClock};
use foodstream_domain::events::topics;
use foodstream_handlers::batch::consumers;
use foodstream_handlers::{batch, logging};
use foodstream_kafka::KafkaPublisher;

#[tokio::main]
async fn main() -> Result<(), foodstream_handlers::lambda_runtime::Error> {
    logging::init();
    let aws = Aws::from_env().await;
    let deliveries = &aws.deliveries(&[DynamoDeliveries::GET, DynamoDeliveries::COMPLETE])?;
    let publisher = &KafkaPublisher::from_env(&aws.config, &[topics::DELIVERY_EVENTS]).await?;
    let dead_letters = &aws.dead_letters()?;
    let ports = &CompletePorts { deliveries, publisher, clock: &SystemClock };
    batch::serve("delivery-completer", |batch: SqsEvent| async move {
        Ok::<_, std::convert::Infallible>(
            consumers::complete_deliveries(ports, dead_letters, &batch).await.response,
        )
    })
    .await
}
