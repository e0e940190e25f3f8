//! `GET /me/notifications`: config, clients, run.

use foodstream_aws::{Aws, DynamoNotifications};
use foodstream_handlers::http::routes;
use foodstream_handlers::{http, logging};

#[tokio::main]
async fn main() -> Result<(), foodstream_handlers::lambda_http::Error> {
    logging::init();
    let aws = Aws::from_env().await;
    let notifications = aws.notifications(&[DynamoNotifications::LIST_FOR])?;
    http::serve("GET /me/notifications", |request| routes::list_my_notifications(&notifications, request))
        .await
}
