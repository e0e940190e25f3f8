//! `PUT /riders/{riderId}`: config, clients, run.

use foodstream_aws::SystemClock;
use foodstream_aws::{Aws, DynamoRiders};
use foodstream_handlers::http::routes;
use foodstream_handlers::{http, logging};

#[tokio::main]
async fn main() -> Result<(), foodstream_handlers::lambda_http::Error> {
    logging::init();
    let aws = Aws::from_env().await;
    let riders = aws.riders(&[DynamoRiders::UPSERT])?;
    http::serve("PUT /riders/{riderId}", |request| routes::register_rider(&riders, &SystemClock, request))
        .await
}
