//! `POST /orders/{orderId}/refund-request`: config, clients, run.

use foodstream_aws::Aws;
use foodstream_handlers::deps::RefundPhotos;
use foodstream_handlers::routes;
use foodstream_lambda::{http, logging};

#[tokio::main]
async fn main() -> Result<(), foodstream_lambda::lambda_http::Error> {
    logging::init();
    let deps = RefundPhotos::from_env(&Aws::from_env().await)?;
    http::serve("POST /orders/{orderId}/refund-request", |request| {
        routes::request_refund(deps.changes.ports(), &deps.photos, request)
    })
    .await
}
