//! `PUT /stores/{storeId}/menu/{productId}`: config, clients, run.

use foodstream_aws::{Aws, DynamoCatalog};
use foodstream_handlers::http::routes;
use foodstream_handlers::{http, logging};

#[tokio::main]
async fn main() -> Result<(), foodstream_handlers::lambda_http::Error> {
    logging::init();
    let aws = Aws::from_env().await;
    let catalog = aws.catalog(&[DynamoCatalog::SAVE_ITEM])?;
    http::serve("PUT /stores/{storeId}/menu/{productId}", |request| routes::put_menu_item(&catalog, request))
        .await
}
