//! `GET /ops/logs`: config, clients, run.

use foodstream_aws::{Aws, DynamoLogs};
use foodstream_handlers::routes;
use foodstream_lambda::{http, logging};

#[tokio::main]
async fn main() -> Result<(), foodstream_lambda::lambda_http::Error> {
    logging::init();
    let aws = Aws::from_env().await;
    let logs = aws.logs(&[DynamoLogs::LIST_FOR_USER, DynamoLogs::LIST_FOR_ORDER])?;
    http::serve("GET /ops/logs", |request| routes::list_logs(&logs, request)).await
}
