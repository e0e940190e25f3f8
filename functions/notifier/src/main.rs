//! `notifier`: order-events (group message) -> notifications, log-events. Config, clients, run.

use aws_lambda_events::event::kafka::KafkaEvent;
use foodstream_application::consumers::NotifyPorts;
use foodstream_application::{Settings, settings};
use foodstream_aws::{Aws, DynamoNotifications};
use foodstream_domain::events::topics;
use foodstream_handlers::batch::consumers;
use foodstream_handlers::{batch, logging};
use foodstream_kafka::KafkaPublisher;

#[tokio::main]
async fn main() -> Result<(), foodstream_handlers::lambda_runtime::Error> {
    logging::init();
    let aws = Aws::from_env().await;
    let settings = &Settings::from_env(&[settings::LOCALE])?;
    let notifications = &aws.notifications(&[DynamoNotifications::INSERT])?;
    let publisher = &KafkaPublisher::from_env(&aws.config, &[topics::LOG_EVENTS]).await?;
    let dead_letters = &aws.dead_letters()?;
    let ports = &NotifyPorts { notifications, publisher, settings };
    batch::serve("notifier", |batch: KafkaEvent| async move {
        Ok::<_, std::convert::Infallible>(consumers::notify(ports, dead_letters, &batch).await.response)
    })
    .await
}
