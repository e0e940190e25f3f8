//! `delivery-dispatcher`: order-events (group delivery) -> delivery-events. Config, clients, run.

use aws_lambda_events::event::kafka::KafkaEvent;
use foodstream_application::Settings;
use foodstream_application::consumers::DispatchPorts;
use foodstream_aws::Aws;
use foodstream_aws::SystemClock;
use foodstream_handlers::consumers;
use foodstream_kafka::KafkaPublisher;
use foodstream_lambda::{consumer, logging};

#[tokio::main]
async fn main() -> Result<(), foodstream_lambda::lambda_runtime::Error> {
    logging::init();
    let aws = Aws::from_env().await;
    let settings = &Settings::from_env()?;
    let riders = &aws.riders()?;
    let deliveries = &aws.deliveries()?;
    let publisher = &KafkaPublisher::from_env(&aws.config).await?;
    let dead_letters = &aws.dead_letters()?;
    let ports = &DispatchPorts { riders, deliveries, publisher, clock: &SystemClock, settings };
    consumer::serve("delivery-dispatcher", |batch: KafkaEvent| async move {
        Ok::<_, std::convert::Infallible>(consumers::dispatch(ports, dead_letters, &batch).await.response)
    })
    .await
}
