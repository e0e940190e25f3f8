//! AWS adapters of foodstream's ports: DynamoDB repositories, the S3 photo
//! store, the delivery timer, the dead letters, and the system clock and id
//! generator. The table design and the reasons for it are in
//! `docs/dynamodb.md`.

#![warn(missing_docs)]
// Outside data (a request, a record, a stored item) never panics a function:
// no unwrap, expect or unchecked indexing outside tests (clippy.toml allows
// them in tests); an `allow` names why its value cannot be hostile.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

pub mod access;
mod catalog;
mod codec;
mod dead_letters;
mod deliveries;
mod feed;
mod orders;
mod photos;
pub mod schema;
mod system;
mod timer;

pub use catalog::DynamoCatalog;
pub use codec::{Cursor, CursorScope};
pub use dead_letters::{PARKED_PREFIX, S3DeadLetters};
pub use deliveries::{DynamoDeliveries, DynamoRiders};
pub use feed::{DynamoLogs, DynamoNotifications};
pub use orders::{DynamoOrders, OrderImage, TRACE_ATTRIBUTE, order_events_of_change, order_stream_image};
pub use photos::S3PhotoStore;
pub use system::{SystemClock, UuidIds};
pub use timer::SqsDeliveryTimer;

use access::{ConfigError, Grant, declared_client};
use aws_config::{BehaviorVersion, SdkConfig};

/// Loads the AWS configuration once per cold start: region and credentials
/// from the environment or the Lambda role; `AWS_ENDPOINT_URL` (or
/// `AWS_ENDPOINT_URL_DYNAMODB`, `..._S3`) points the clients at an emulator.
pub async fn load_config() -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    // Lambda puts the function role's credentials in the environment (and
    // the local stack its test ones): read them there. Building the default
    // chain (profile, web identity, ECS, IMDS) took 3.6 ms of an API
    // function's 6.1 ms in `main` before serving (scripts/measure-init-phases.sh).
    // Without them (the ops CLI on a laptop, say), the default chain.
    if std::env::var_os("AWS_ACCESS_KEY_ID").is_some() {
        loader = loader
            .credentials_provider(aws_config::environment::EnvironmentVariableCredentialsProvider::new());
    }
    if !https_endpoint_override() {
        loader = loader.http_client(https_client());
    }
    loader.load().await
}

/// Amazon Trust Services' roots, which every AWS endpoint chains to: all
/// five, as Amazon Trust Services recommends for a custom trust store
/// (amazontrust.com/repository).
pub const AMAZON_TRUST_SERVICES_ROOTS: &str = include_str!("amazon-trust-services-roots.pem");

/// The SDK's default HTTPS client (rustls on aws-lc), trusting Amazon Trust
/// Services' five roots. The default trusts the platform's bundle, which it
/// reads and parses when the first client is built: 4.4 ms of the 5.9 ms an
/// API function spends in `main` before serving (measured with
/// scripts/measure-init-phases.sh, docs/performance.md). An endpoint whose
/// certificate does not chain to Amazon (a TLS-intercepting proxy) fails
/// the handshake, named in the function's error.
pub fn https_client() -> aws_sdk_dynamodb::config::SharedHttpClient {
    use aws_smithy_http_client::tls::{self, TlsContext, TrustStore};
    let trust = TrustStore::empty().with_pem_certificate(AMAZON_TRUST_SERVICES_ROOTS.as_bytes());
    // The roots are compiled in (and a test builds this client): no outside
    // value reaches this `expect`.
    #[allow(clippy::expect_used)]
    let context = TlsContext::builder().with_trust_store(trust).build().expect("a trust store of valid PEM");
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(tls::rustls_provider::CryptoMode::AwsLc))
        .tls_context(context)
        .build_https()
}

/// An emulator served over HTTPS (LocalStack's TLS endpoint, say) has a
/// certificate of its own: then the platform's store is trusted, as the
/// SDK does by default. A plain `http://` emulator needs no trust at all.
fn https_endpoint_override() -> bool {
    let overrides =
        ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_KAFKA"];
    any_https(overrides.into_iter().filter_map(foodstream_config::local_only))
}

fn any_https(urls: impl IntoIterator<Item = String>) -> bool {
    urls.into_iter().any(|url| url.trim().to_ascii_lowercase().starts_with("https://"))
}

/// The only credentials used against an emulator: emulators accept any,
/// and a developer's own (in the environment, in `~/.aws`) must never reach
/// a function or a test that might talk to real AWS.
pub const EMULATOR_CREDENTIALS: (&str, &str) = ("test", "test");

/// The AWS configuration for an emulator at `endpoint` (moto): us-east-1 and
/// [`EMULATOR_CREDENTIALS`]. The local stack, its functions' environment and
/// the tests all use this one.
pub async fn emulator_config(endpoint: &str) -> SdkConfig {
    let (key, secret) = EMULATOR_CREDENTIALS;
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::Credentials::new(key, secret, None, None, "emulator"))
        .load()
        .await
}

/// A DynamoDB client of `config`, unchecked: adapters get theirs through
/// [`access::declared_client`], which holds them to their declarations.
pub fn dynamodb_client(config: &SdkConfig) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(config)
}

/// An S3 client; path-style addressing when an endpoint override is set
/// (emulators serve buckets by path, not by virtual host).
pub fn s3_client(config: &SdkConfig) -> aws_sdk_s3::Client {
    let custom_endpoint = foodstream_config::local_only("AWS_ENDPOINT_URL_S3").is_some()
        || foodstream_config::local_only("AWS_ENDPOINT_URL").is_some();
    let s3_config = aws_sdk_s3::config::Builder::from(config).force_path_style(custom_endpoint).build();
    aws_sdk_s3::Client::from_conf(s3_config)
}

/// The AWS clients of a function, built once per cold start, and its
/// adapters over them. Each adapter is built from the port methods the
/// function calls (`DynamoOrders::GET`, ...): those declarations are
/// recorded for the template test, only their tables' variables are read,
/// and a DynamoDB call outside them is refused (see [`access`]).
pub struct Aws {
    /// The configuration every client is built from ([`load_config`]).
    pub config: SdkConfig,
    /// The DynamoDB client the table adapters' checked clients derive from.
    pub dynamodb: aws_sdk_dynamodb::Client,
}

type Uses<'a> = &'a [&'a [Grant]];

impl Aws {
    /// Loads the configuration ([`load_config`]) and builds the DynamoDB
    /// client; no table is named until an adapter is built.
    pub async fn from_env() -> Aws {
        let config = load_config().await;
        let dynamodb = dynamodb_client(&config);
        Aws { config, dynamodb }
    }

    /// The catalog table (`CATALOG_TABLE`), for the methods in `uses`.
    pub fn catalog(&self, uses: Uses<'_>) -> Result<DynamoCatalog, ConfigError> {
        let (client, tables) = declared_client(&self.dynamodb, uses)?;
        Ok(DynamoCatalog::new(client, tables.name(&schema::CATALOG)))
    }

    /// The orders table, with the catalog table (stock taken and given back
    /// in the same transaction) and the idempotency-keys table; only those
    /// the methods in `uses` name are read from the environment.
    pub fn orders(&self, uses: Uses<'_>) -> Result<DynamoOrders, ConfigError> {
        let (client, tables) = declared_client(&self.dynamodb, uses)?;
        Ok(DynamoOrders::new(
            client,
            tables.name(&schema::ORDERS),
            tables.name(&schema::CATALOG),
            tables.name(&schema::IDEMPOTENCY),
        ))
    }

    /// The riders table (`RIDERS_TABLE`), for the methods in `uses`.
    pub fn riders(&self, uses: Uses<'_>) -> Result<DynamoRiders, ConfigError> {
        let (client, tables) = declared_client(&self.dynamodb, uses)?;
        Ok(DynamoRiders::new(client, tables.name(&schema::RIDERS)))
    }

    /// The deliveries table, with the riders table (a rider is taken and
    /// freed in the same transaction), for the methods in `uses`.
    pub fn deliveries(&self, uses: Uses<'_>) -> Result<DynamoDeliveries, ConfigError> {
        let (client, tables) = declared_client(&self.dynamodb, uses)?;
        Ok(DynamoDeliveries::new(client, tables.name(&schema::DELIVERIES), tables.name(&schema::RIDERS)))
    }

    /// The notifications table (`NOTIFICATIONS_TABLE`), for the methods in `uses`.
    pub fn notifications(&self, uses: Uses<'_>) -> Result<DynamoNotifications, ConfigError> {
        let (client, tables) = declared_client(&self.dynamodb, uses)?;
        Ok(DynamoNotifications::new(client, tables.name(&schema::NOTIFICATIONS)))
    }

    /// The logs table (`LOGS_TABLE`), for the methods in `uses`.
    pub fn logs(&self, uses: Uses<'_>) -> Result<DynamoLogs, ConfigError> {
        let (client, tables) = declared_client(&self.dynamodb, uses)?;
        Ok(DynamoLogs::new(client, tables.name(&schema::LOGS)))
    }

    /// Where consumers park records they can never process:
    /// `FAILURE_BUCKET`, the stack's failure bucket, under `parked/`.
    pub fn dead_letters(&self) -> Result<S3DeadLetters, ConfigError> {
        foodstream_config::grant(S3DeadLetters::PARK);
        let bucket = foodstream_config::required(schema::FAILURE_BUCKET_ENV)?;
        Ok(S3DeadLetters::new(&self.config, s3_client(&self.config), bucket))
    }

    /// The delivery timer: `DELIVERY_TIMER_QUEUE_URL`, the queue the
    /// delivery completer is triggered by.
    pub fn delivery_timer(&self) -> Result<SqsDeliveryTimer, ConfigError> {
        foodstream_config::grant(SqsDeliveryTimer::SCHEDULE);
        let queue = foodstream_config::required(schema::DELIVERY_TIMER_QUEUE_ENV)?;
        Ok(SqsDeliveryTimer::new(aws_sdk_sqs::Client::new(&self.config), queue))
    }

    /// The refund photos' bucket, for the store methods in `uses`.
    pub fn photos(&self, uses: Uses<'_>) -> Result<S3PhotoStore, ConfigError> {
        uses.iter().for_each(|grants| foodstream_config::grant(grants));
        let bucket = foodstream_config::required(schema::PHOTOS_BUCKET_ENV)?;
        Ok(S3PhotoStore::new(&self.config, s3_client(&self.config), bucket))
    }
}

#[cfg(test)]
mod trust_tests {
    use super::*;

    #[test]
    fn the_trust_store_is_amazon_trust_services_five_roots_and_builds_a_client() {
        assert_eq!(AMAZON_TRUST_SERVICES_ROOTS.matches("-----BEGIN CERTIFICATE-----").count(), 5);
        // Building a client parses the roots (an invalid one panics here).
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
            .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
            .http_client(https_client())
            .build();
        let _client = aws_sdk_dynamodb::Client::from_conf(config);
    }

    #[test]
    fn only_an_https_emulator_keeps_the_platforms_trust_store() {
        assert!(!any_https([]));
        assert!(!any_https(["http://127.0.0.1:4566".to_string()]));
        assert!(any_https([
            "http://127.0.0.1:4566".to_string(),
            " HTTPS://localhost.localstack.cloud:4566".into()
        ]));
    }
}
