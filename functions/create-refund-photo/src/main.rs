//! `POST /orders/{orderId}/refund-photos`: config, clients, run.

use foodstream_application::refunds::PhotoPorts;
use foodstream_aws::{Aws, DynamoOrders, S3PhotoStore, SystemClock};
use foodstream_handlers::deps::RefundPhotos;
use foodstream_handlers::http::routes;
use foodstream_handlers::{http, logging};

#[tokio::main]
async fn main() -> Result<(), foodstream_handlers::lambda_http::Error> {
    logging::init();
    let deps = RefundPhotos::from_env(
        &Aws::from_env().await,
        &[DynamoOrders::GET],
        &[S3PhotoStore::PRESIGN_UPLOAD],
    )?;
    let refund = deps.changes.settings.refund;
    http::serve("POST /orders/{orderId}/refund-photos", |request| {
        let ports = PhotoPorts {
            orders: &deps.changes.orders,
            photos: &deps.photos,
            clock: &SystemClock,
            refund: &refund,
        };
        routes::create_refund_photo(ports, request)
    })
    .await
}
