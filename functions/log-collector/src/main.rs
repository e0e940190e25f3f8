//! `log-collector`: log-events (group log) -> log records. Config, clients, run.

use aws_lambda_events::event::kafka::KafkaEvent;
use foodstream_application::{Settings, settings};
use foodstream_aws::{Aws, DynamoLogs};
use foodstream_handlers::batch::consumers;
use foodstream_handlers::{batch, logging};

#[tokio::main]
async fn main() -> Result<(), foodstream_handlers::lambda_runtime::Error> {
    logging::init();
    let aws = Aws::from_env().await;
    let settings = &Settings::from_env(&[settings::LOG_RETENTION])?;
    let logs = &aws.logs(&[DynamoLogs::INSERT])?;
    let dead_letters = &aws.dead_letters()?;
    batch::serve("log-collector", |batch: KafkaEvent| async move {
        Ok::<_, std::convert::Infallible>(
            consumers::collect_logs(logs, settings, dead_letters, &batch).await.response,
        )
    })
    .await
}
