//! `order-delivery-updater`: delivery-events (group order) -> orders. Config, clients, run.

use aws_lambda_events::event::kafka::KafkaEvent;
use foodstream_application::Settings;
use foodstream_aws::Aws;
use foodstream_handlers::consumers;
use foodstream_lambda::{consumer, logging};

#[tokio::main]
async fn main() -> Result<(), foodstream_lambda::lambda_runtime::Error> {
    logging::init();
    let aws = Aws::from_env().await;
    let settings = &Settings::from_env()?;
    let orders = &aws.orders()?;
    consumer::serve("order-delivery-updater", |batch: KafkaEvent| async move {
        consumers::update_orders(orders, settings, &batch).await
    })
    .await
}
