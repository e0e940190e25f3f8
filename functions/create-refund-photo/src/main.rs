//! `POST /orders/{orderId}/refund-photos`: config, clients, run.

use foodstream_application::Settings;
use foodstream_application::refunds::PhotoPorts;
use foodstream_aws::Aws;
use foodstream_aws::SystemClock;
use foodstream_aws::UuidIds;
use foodstream_handlers::routes;
use foodstream_lambda::{http, logging};

#[tokio::main]
async fn main() -> Result<(), foodstream_lambda::lambda_http::Error> {
    logging::init();
    let aws = Aws::from_env().await;
    let orders = aws.orders()?;
    let photos = aws.photos()?;
    let settings = Settings::from_env()?;
    http::serve("POST /orders/{orderId}/refund-photos", |request| {
        routes::create_refund_photo(
            PhotoPorts {
                orders: &orders,
                photos: &photos,
                clock: &SystemClock,
                ids: &UuidIds,
                refund: &settings.refund,
            },
            request,
        )
    })
    .await
}
