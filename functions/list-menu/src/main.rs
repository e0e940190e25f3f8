//! `GET /stores/{storeId}/menu`: config, clients, run.

use foodstream_aws::{Aws, DynamoCatalog};
use foodstream_handlers::http::routes;
use foodstream_handlers::{http, logging};

#[tokio::main]
async fn main() -> Result<(), foodstream_handlers::lambda_http::Error> {
    logging::init();
    let aws = Aws::from_env().await;
    let catalog = aws.catalog(&[DynamoCatalog::LIST_ITEMS])?;
    http::serve("GET /stores/{storeId}/menu", |request| routes::list_menu(&catalog, request)).await
}
