//! AWS adapters of foodstream's ports: DynamoDB repositories, the S3 photo
//! store, and the system clock and id generator. The table design and the
//! reasons for it are in `docs/dynamodb.md`.

mod catalog;
mod codec;
mod dead_letters;
mod deliveries;
mod feed;
mod orders;
mod photos;
pub mod schema;
mod system;

pub use catalog::DynamoCatalog;
pub use codec::{Cursor, CursorScope};
pub use dead_letters::SqsDeadLetters;
pub use deliveries::{DynamoDeliveries, DynamoRiders};
pub use feed::{DynamoLogs, DynamoNotifications};
pub use orders::{DynamoOrders, OrderImage, order_events_of_change, order_stream_image};
pub use photos::S3PhotoStore;
pub use system::{SystemClock, UuidIds};

use aws_config::{BehaviorVersion, SdkConfig};

/// Loads the AWS configuration once per cold start: region and credentials
/// from the environment or the Lambda role; `AWS_ENDPOINT_URL` (or
/// `AWS_ENDPOINT_URL_DYNAMODB`, `..._S3`) points the clients at an emulator.
pub async fn load_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

pub fn dynamodb_client(config: &SdkConfig) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(config)
}

/// An S3 client; path-style addressing when an endpoint override is set
/// (emulators serve buckets by path, not by virtual host).
pub fn s3_client(config: &SdkConfig) -> aws_sdk_s3::Client {
    let custom_endpoint =
        std::env::var_os("AWS_ENDPOINT_URL_S3").is_some() || std::env::var_os("AWS_ENDPOINT_URL").is_some();
    let s3_config = aws_sdk_s3::config::Builder::from(config).force_path_style(custom_endpoint).build();
    aws_sdk_s3::Client::from_conf(s3_config)
}

/// Table and bucket names a function reads from its environment; each
/// function needs only some of them.
pub fn env_name(variable: &'static str) -> Result<String, MissingSetting> {
    std::env::var(variable).ok().filter(|v| !v.trim().is_empty()).ok_or(MissingSetting(variable))
}

#[derive(Debug, thiserror::Error)]
#[error("environment variable {0} is not set")]
pub struct MissingSetting(pub &'static str);

/// The AWS clients of a function, built once per cold start, and the
/// repositories over them, each from its table's environment variable.
pub struct Aws {
    pub config: SdkConfig,
    pub dynamodb: aws_sdk_dynamodb::Client,
}

impl Aws {
    pub async fn from_env() -> Aws {
        let config = load_config().await;
        let dynamodb = dynamodb_client(&config);
        Aws { config, dynamodb }
    }

    pub fn catalog(&self) -> Result<DynamoCatalog, MissingSetting> {
        Ok(DynamoCatalog::new(self.dynamodb.clone(), env_name(schema::CATALOG.env)?))
    }

    pub fn orders(&self) -> Result<DynamoOrders, MissingSetting> {
        Ok(DynamoOrders::new(
            self.dynamodb.clone(),
            env_name(schema::ORDERS.env)?,
            env_name(schema::CATALOG.env)?,
            env_name(schema::IDEMPOTENCY.env)?,
        ))
    }

    pub fn riders(&self) -> Result<DynamoRiders, MissingSetting> {
        Ok(DynamoRiders::new(self.dynamodb.clone(), env_name(schema::RIDERS.env)?))
    }

    pub fn deliveries(&self) -> Result<DynamoDeliveries, MissingSetting> {
        Ok(DynamoDeliveries::new(
            self.dynamodb.clone(),
            env_name(schema::DELIVERIES.env)?,
            env_name(schema::RIDERS.env)?,
        ))
    }

    pub fn notifications(&self) -> Result<DynamoNotifications, MissingSetting> {
        Ok(DynamoNotifications::new(self.dynamodb.clone(), env_name(schema::NOTIFICATIONS.env)?))
    }

    pub fn logs(&self) -> Result<DynamoLogs, MissingSetting> {
        Ok(DynamoLogs::new(self.dynamodb.clone(), env_name(schema::LOGS.env)?))
    }

    /// Where consumers park records they can never process:
    /// `FAILURE_QUEUE_URL`, the stack's failure queue.
    pub fn dead_letters(&self) -> Result<SqsDeadLetters, MissingSetting> {
        Ok(SqsDeadLetters::new(aws_sdk_sqs::Client::new(&self.config), env_name(schema::FAILURE_QUEUE_ENV)?))
    }

    pub fn photos(&self) -> Result<S3PhotoStore, MissingSetting> {
        Ok(S3PhotoStore::new(&self.config, s3_client(&self.config), env_name(schema::PHOTOS_BUCKET_ENV)?))
    }
}
