//! `POST /orders/{orderId}/reject`: config, clients, run.

use foodstream_aws::Aws;
use foodstream_handlers::deps::{self, OrderChanges};
use foodstream_handlers::http::routes;
use foodstream_handlers::{http, logging};

#[tokio::main]
async fn main() -> Result<(), foodstream_handlers::lambda_http::Error> {
    logging::init();
    let deps = OrderChanges::from_env(&Aws::from_env().await, deps::CHANGE_GIVING_STOCK_BACK, &[])?;
    http::serve("POST /orders/{orderId}/reject", |request| routes::reject_order(deps.ports(), request)).await
}
