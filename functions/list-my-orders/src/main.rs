//! `GET /orders`: config, clients, run.

use foodstream_aws::{Aws, DynamoOrders, SystemClock};
use foodstream_handlers::routes;
use foodstream_lambda::{http, logging};

#[tokio::main]
async fn main() -> Result<(), foodstream_lambda::lambda_http::Error> {
    logging::init();
    let aws = Aws::from_env().await;
    let orders = aws.orders(&[DynamoOrders::LIST_FOR_CUSTOMER])?;
    http::serve("GET /orders", |request| routes::list_my_orders(&orders, &SystemClock, request)).await
}
