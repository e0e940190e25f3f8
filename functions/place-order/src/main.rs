//! `POST /orders`: config, clients, run.

use foodstream_application::ordering::PlaceOrderPorts;
use foodstream_aws::SystemClock;
use foodstream_aws::UuidIds;
use foodstream_aws::{Aws, DynamoCatalog, DynamoOrders};
use foodstream_handlers::http::routes;
use foodstream_handlers::{http, logging};

#[tokio::main]
async fn main() -> Result<(), foodstream_handlers::lambda_http::Error> {
    logging::init();
    let aws = Aws::from_env().await;
    let orders = aws.orders(&[DynamoOrders::PLACE, DynamoOrders::FIND_IDEMPOTENCY, DynamoOrders::GET])?;
    let catalog = aws.catalog(&[DynamoCatalog::GET_ITEMS])?;
    http::serve("POST /orders", |request| {
        routes::place_order(
            PlaceOrderPorts { orders: &orders, catalog: &catalog, clock: &SystemClock, ids: &UuidIds },
            request,
        )
    })
    .await
}
