//! Test support against the real emulators: an AWS client configuration
//! for `AWS_ENDPOINT_URL` (default moto_server's, from
//! `foodstream_config::emulators`), a fresh set of uniquely named tables per test so tests run in
//! parallel without seeing each other, and the Kafka bootstrap servers.
//! A missing emulator fails the test with what to run; nothing is skipped.

#![warn(missing_docs)]

pub mod schemas;

use aws_config::SdkConfig;
use foodstream_aws::schema::TableSpec;
use foodstream_config::emulators;
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// The AWS emulator's endpoint: `AWS_ENDPOINT_URL`, default moto_server's.
pub fn endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| emulators::AWS_ENDPOINT_URL.into())
}

/// Whether something accepts connections at `host:port`.
fn answers(host_port: &str) -> bool {
    host_port
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .is_some_and(|addr| TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_ok())
}

/// Fails loudly (never skips) when the emulator is not there.
fn require_emulator() {
    let url = endpoint();
    let host = url.trim_start_matches("http://").trim_start_matches("https://").trim_end_matches('/');
    assert!(
        answers(host),
        "no AWS emulator answers at {url}: run `scripts/emulators.sh up` (make test does)"
    );
}

/// The AWS configuration for the emulator at [`endpoint`], with the
/// emulator's test credentials; fails loudly when nothing answers there.
pub async fn config() -> SdkConfig {
    require_emulator();
    foodstream_aws::emulator_config(&endpoint()).await
}

/// A DynamoDB client of the emulator ([`config`]).
pub async fn dynamodb() -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&config().await)
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A unique prefix for this test's resources: `prefix`, then the process
/// id, the clock's nanoseconds and a counter.
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    format!("{prefix}-{}-{nanos}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::SeqCst))
}

/// Creates the tables of `specs` under a unique prefix, each as
/// `infra/template.yaml` declares it; returns their names in the same order.
pub async fn tables(client: &aws_sdk_dynamodb::Client, specs: &[TableSpec]) -> Vec<String> {
    let template = foodstream_template::project_template().expect("infra/template.yaml reads");
    let prefix = unique("it");
    let mut names = Vec::new();
    for spec in specs {
        let table = template
            .table(spec.logical_id)
            .unwrap_or_else(|| panic!("{} is not a table of the template", spec.logical_id));
        let name = format!("{prefix}-{}", spec.logical_id);
        foodstream_template::dynamodb::create_table(client, table, &name).await.expect("table created");
        names.push(name);
    }
    names
}

/// A fresh, uniquely named bucket, with a path-style S3 client of
/// `config` to reach it.
pub async fn bucket(config: &SdkConfig) -> (aws_sdk_s3::Client, String) {
    let client = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(config).force_path_style(true).build(),
    );
    let bucket = unique("photos").to_lowercase();
    client.create_bucket().bucket(&bucket).send().await.expect("bucket created");
    (client, bucket)
}

/// `KAFKA_BOOTSTRAP_SERVERS`, default Tansu's (`foodstream_config::emulators`); fails loudly (never
/// skips) when no broker answers there, instead of librdkafka timing out.
pub fn kafka_bootstrap() -> String {
    let servers = std::env::var("KAFKA_BOOTSTRAP_SERVERS")
        .unwrap_or_else(|_| emulators::KAFKA_BOOTSTRAP_SERVERS.into());
    let first = servers.split(',').next().unwrap_or_default();
    assert!(
        answers(first),
        "no Kafka broker answers at {servers}: run `scripts/emulators.sh up` (make test does)"
    );
    servers
}
