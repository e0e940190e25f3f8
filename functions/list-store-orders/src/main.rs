//! `GET /stores/{storeId}/orders`: config, clients, run.

use foodstream_aws::{Aws, DynamoOrders, SystemClock};
use foodstream_handlers::http::routes;
use foodstream_handlers::{http, logging};

#[tokio::main]
async fn main() -> Result<(), foodstream_handlers::lambda_http::Error> {
    logging::init();
    let aws = Aws::from_env().await;
    let orders = aws.orders(&[DynamoOrders::LIST_FOR_STORE])?;
    http::serve("GET /stores/{storeId}/orders", |request| {
        routes::list_store_orders(&orders, &SystemClock, request)
    })
    .await
}
