//! `order-delivery-updater`: delivery-events (group order) -> orders. Config, clients, run.

use aws_lambda_events::event::kafka::KafkaEvent;
use foodstream_application::{Settings, settings};
use foodstream_aws::{Aws, DynamoOrders, SystemClock};
use foodstream_handlers::batch::consumers;
use foodstream_handlers::{batch, logging};

#[tokio::main]
async fn main() -> Result<(), foodstream_handlers::lambda_runtime::Error> {
    logging::init();
    let aws = Aws::from_env().await;
    let settings = &Settings::from_env(&[settings::REFUND_WINDOW])?;
    let orders = &aws.orders(&[DynamoOrders::GET, DynamoOrders::UPDATE])?;
    let dead_letters = &aws.dead_letters()?;
    batch::serve("order-delivery-updater", |batch: KafkaEvent| async move {
        Ok::<_, std::convert::Infallible>(
            consumers::update_orders(orders, &SystemClock, settings, dead_letters, &batch).await.response,
        )
    })
    .await
}
