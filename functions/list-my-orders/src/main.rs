//! `GET /orders`: config, clients, run.

use foodstream_aws::{Aws, DynamoOrders, SystemClock};
use foodstream_handlers::http::routes;
use foodstream_handlers::{http, logging};

#[tokio::main]
async fn main() -> Result<(), foodstream_handlers::lambda_http::Error> {
    logging::init();
    let aws = Aws::from_env().await;
    let orders = aws.orders(&[DynamoOrders::LIST_FOR_CUSTOMER])?;
    http::serve("GET /orders", |request| routes::list_my_orders(&orders, &SystemClock, request)).await
}
