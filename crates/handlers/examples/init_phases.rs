//! Where an API function's init goes, phase by phase, as place-order's
//! `main` does it: the JSON log subscriber, the AWS configuration (region
//! and credentials chain), the DynamoDB client, the declared adapters, and
//! (what init does not do) the first request, which builds the HTTPS
//! connector and its TLS roots. Each line is one phase in microseconds;
//! `scripts/measure-init-phases.sh` runs it in fresh processes and prints
//! the medians (docs/performance.md, "Where init goes").
//!
//! Needs the environment of a local function (ORDERS_TABLE, CATALOG_TABLE,
//! IDEMPOTENCY_TABLE, AWS_ENDPOINT_URL and test credentials).

use foodstream_aws::{Aws, DynamoCatalog, DynamoOrders};
use foodstream_domain::ids::OrderId;
use foodstream_domain::ports::OrderRepository;
use std::time::Instant;

#[tokio::main]
async fn main() {
    let started = Instant::now();
    let mut last = started;
    let mut phase = |name: &str| {
        let now = Instant::now();
        println!("{name} {}", (now - last).as_micros());
        last = now;
    };
    foodstream_handlers::logging::init();
    phase("logging");
    let config = foodstream_aws::load_config().await;
    phase("aws_config");
    let dynamodb = foodstream_aws::dynamodb_client(&config);
    phase("dynamodb_client");
    let aws = Aws { config, dynamodb };
    let orders = aws
        .orders(&[DynamoOrders::PLACE, DynamoOrders::FIND_IDEMPOTENCY, DynamoOrders::GET])
        .expect("the orders tables' variables are set");
    let _catalog = aws.catalog(&[DynamoCatalog::GET_ITEMS]).expect("the catalog table's variable is set");
    phase("adapters");
    // Not part of init: the first call pays for the connector, TLS roots
    // (when https) and the first connection.
    let _ = orders.get(&OrderId::new("init-phases-no-such-order")).await;
    phase("first_request");
    let _ = orders.get(&OrderId::new("init-phases-no-such-order")).await;
    phase("second_request");
}
