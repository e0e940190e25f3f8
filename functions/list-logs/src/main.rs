//! `GET /ops/logs`: config, clients, run.

use foodstream_aws::{Aws, DynamoLogs};
use foodstream_handlers::http::routes;
use foodstream_handlers::{http, logging};

#[tokio::main]
async fn main() -> Result<(), foodstream_handlers::lambda_http::Error> {
    logging::init();
    let aws = Aws::from_env().await;
    let logs = aws.logs(&[DynamoLogs::LIST_FOR_USER, DynamoLogs::LIST_FOR_ORDER])?;
    http::serve("GET /ops/logs", |request| routes::list_logs(&logs, request)).await
}
