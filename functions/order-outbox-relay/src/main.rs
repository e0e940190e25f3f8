//! `order-outbox-relay`: orders table stream -> order-events. Config, clients, run.

use aws_lambda_events::event::dynamodb::Event as DynamoDbEvent;
use foodstream_aws::Aws;
use foodstream_domain::events::topics;
use foodstream_handlers::batch::consumers;
use foodstream_handlers::{batch, logging};
use foodstream_kafka::KafkaPublisher;

#[tokio::main]
async fn main() -> Result<(), foodstream_handlers::lambda_runtime::Error> {
    logging::init();
    let aws = Aws::from_env().await;
    let publisher = &KafkaPublisher::from_env(&aws.config, &[topics::ORDER_EVENTS]).await?;
    let dead_letters = &aws.dead_letters()?;
    batch::serve("order-outbox-relay", |batch: DynamoDbEvent| async move {
        Ok::<_, std::convert::Infallible>(consumers::relay(publisher, dead_letters, &batch).await.response)
    })
    .await
}
