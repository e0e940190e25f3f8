//! `POST /orders/{orderId}/refund-request`: config, clients, run.

use foodstream_application::Settings;
use foodstream_application::ordering::ChangePorts;
use foodstream_aws::Aws;
use foodstream_aws::SystemClock;
use foodstream_handlers::routes;
use foodstream_lambda::{http, logging};

#[tokio::main]
async fn main() -> Result<(), foodstream_lambda::lambda_http::Error> {
    logging::init();
    let aws = Aws::from_env().await;
    let orders = aws.orders()?;
    let photos = aws.photos()?;
    let settings = Settings::from_env()?;
    http::serve("POST /orders/{orderId}/refund-request", |request| {
        routes::request_refund(
            ChangePorts { orders: &orders, clock: &SystemClock, settings: &settings },
            &photos,
            request,
        )
    })
    .await
}
