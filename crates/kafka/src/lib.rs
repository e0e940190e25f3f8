//! The Kafka side of foodstream: an idempotent producer that implements the
//! `EventPublisher` port, with MSK IAM authentication on AWS and plaintext
//! against a local broker.
//!
//! One producer is built per cold start and reused by every invocation;
//! `publish` returns only once the broker acknowledged every message
//! (`acks=all`), so a Lambda never reports success for events still in a
//! local buffer.

mod auth;
mod publisher;

pub use auth::{Bootstrap, KafkaSettings, resolve_bootstrap};
pub use publisher::KafkaPublisher;

#[derive(Debug, thiserror::Error)]
pub enum KafkaSetupError {
    #[error("neither KAFKA_BOOTSTRAP_SERVERS nor MSK_CLUSTER_ARN is set")]
    NoBootstrap,
    #[error("GetBootstrapBrokers for {cluster}: {reason}")]
    BootstrapLookup { cluster: String, reason: String },
    #[error("{name}={value:?}: {reason}")]
    BadSetting { name: &'static str, value: String, reason: &'static str },
    #[error("cannot create the Kafka producer: {0}")]
    Producer(#[from] rdkafka::error::KafkaError),
}

impl KafkaPublisher {
    /// The publisher of a function: brokers from `KAFKA_BOOTSTRAP_SERVERS`
    /// (local) or `MSK_CLUSTER_ARN` (AWS, IAM auth), settings from the
    /// environment. Call once per cold start.
    pub async fn from_env(aws: &aws_config::SdkConfig) -> Result<KafkaPublisher, KafkaSetupError> {
        let bootstrap = resolve_bootstrap(aws).await?;
        KafkaPublisher::new(&bootstrap, &KafkaSettings::from_env()?, Some(aws))
    }
}
