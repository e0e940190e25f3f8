//! `POST /orders/{orderId}/delivery-requests`: config, clients, run.

use foodstream_aws::Aws;
use foodstream_handlers::deps::{self, OrderChanges};
use foodstream_handlers::http::routes;
use foodstream_handlers::{http, logging};

#[tokio::main]
async fn main() -> Result<(), foodstream_handlers::lambda_http::Error> {
    logging::init();
    let deps = OrderChanges::from_env(&Aws::from_env().await, deps::CHANGE, &[])?;
    http::serve("POST /orders/{orderId}/delivery-requests", |request| {
        routes::request_delivery(deps.ports(), request)
    })
    .await
}
