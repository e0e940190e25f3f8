//! `POST /orders/{orderId}/refund-request`: config, clients, run.

use foodstream_aws::{Aws, S3PhotoStore};
use foodstream_handlers::deps::{self, RefundPhotos};
use foodstream_handlers::http::routes;
use foodstream_handlers::{http, logging};

#[tokio::main]
async fn main() -> Result<(), foodstream_handlers::lambda_http::Error> {
    logging::init();
    let deps = RefundPhotos::from_env(
        &Aws::from_env().await,
        deps::CHANGE,
        &[S3PhotoStore::STAT, S3PhotoStore::PIN],
    )?;
    http::serve("POST /orders/{orderId}/refund-request", |request| {
        routes::request_refund(deps.changes.ports(), &deps.photos, request)
    })
    .await
}
