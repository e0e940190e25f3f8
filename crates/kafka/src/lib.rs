//! The Kafka side of foodstream: an idempotent producer that implements the
//! `EventPublisher` port, with MSK IAM authentication on AWS and plaintext
//! against a local broker.
//!
//! One producer is built per cold start and reused by every invocation;
//! `publish` returns only once the broker acknowledged every message
//! (`acks=all`), so a Lambda never reports success for events still in a
//! local buffer.

#![warn(missing_docs)]
// Outside data (a request, a record, a stored item) never panics a function:
// no unwrap, expect or unchecked indexing outside tests (clippy.toml allows
// them in tests); an `allow` names why its value cannot be hostile.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod auth;
mod publisher;

pub use auth::{Bootstrap, KafkaSettings, resolve_bootstrap};
pub use publisher::KafkaPublisher;

/// How long init may spend readying a producer: well inside Lambda's 10 s
/// init phase, also when the brokers do not answer.
pub const READY_BUDGET: std::time::Duration = std::time::Duration::from_secs(3);

/// Why a publisher could not be set up at init.
#[derive(Debug, thiserror::Error)]
pub enum KafkaSetupError {
    /// No broker address to start from: neither variable is set.
    #[error("neither KAFKA_BOOTSTRAP_SERVERS nor MSK_CLUSTER_ARN is set")]
    NoBootstrap,
    /// MSK's GetBootstrapBrokers failed, or named no IAM brokers.
    #[error("GetBootstrapBrokers for {cluster}: {reason}")]
    BootstrapLookup {
        /// The ARN of the cluster asked about.
        cluster: String,
        /// What went wrong.
        reason: String,
    },
    /// A setting is unusable (or MSK IAM was asked for without the AWS
    /// configuration to sign with).
    #[error(transparent)]
    Config(#[from] foodstream_config::ConfigError),
    /// librdkafka refused to create the producer.
    #[error("cannot create the Kafka producer: {0}")]
    Producer(#[from] rdkafka::error::KafkaError),
}

impl KafkaPublisher {
    /// The publisher of a function that writes to `topics` (and nothing
    /// else): brokers from `KAFKA_BOOTSTRAP_SERVERS` (local) or
    /// `MSK_CLUSTER_ARN` (AWS, IAM auth), settings from the environment.
    /// Declares the MSK actions it needs (`foodstream_config::grant`). Call
    /// once per cold start: it also readies the producer (connection,
    /// topics' metadata, producer id) during init, within
    /// [`READY_BUDGET`], so the first invocation does not pay for it. A
    /// broker that is down then is no error: the first publish fails and
    /// its batch is retried, as any later one would be.
    pub async fn from_env(
        aws: &aws_config::SdkConfig,
        topics: &[&'static str],
    ) -> Result<KafkaPublisher, KafkaSetupError> {
        let settings = KafkaSettings::from_env()?;
        foodstream_config::grant(&publisher_grants(topics, settings.idempotence));
        let bootstrap = resolve_bootstrap(aws).await?;
        let publisher = KafkaPublisher::new(&bootstrap, &settings, Some(aws))?.only_to(topics);
        if foodstream_config::describing_only() {
            return Ok(publisher);
        }
        if let Err(error) = publisher.ready(topics, READY_BUDGET).await {
            tracing::warn!(%error, "the producer is not ready at init; the first publish will try again");
        }
        Ok(publisher)
    }
}

/// What a producer calls on MSK: the brokers' addresses, a connection, an
/// idempotent session (when `idempotence`), and each topic's metadata and
/// writes.
pub fn publisher_grants(topics: &[&'static str], idempotence: bool) -> Vec<foodstream_config::Grant> {
    use foodstream_config::{Grant, Resource};
    let mut grants = vec![
        Grant::new("kafka:GetBootstrapBrokers", Resource::Cluster),
        Grant::new("kafka-cluster:Connect", Resource::Cluster),
    ];
    if idempotence {
        grants.push(Grant::new("kafka-cluster:WriteDataIdempotently", Resource::Cluster));
    }
    for topic in topics {
        grants.push(Grant::new("kafka-cluster:DescribeTopic", Resource::Topic { topic }));
        grants.push(Grant::new("kafka-cluster:WriteData", Resource::Topic { topic }));
    }
    grants
}

/// The librdkafka properties every consumer of ours sets (the local stack's
/// event source mappings, the scenario client, the tests): the classic
/// group protocol and a 6 s session, which Tansu needs (SPEC section 5) and
/// Redpanda and MSK accept; then `KAFKA_CONSUMER_PROPERTIES`
/// (`key=value,key=value`) on top, to tune them for another broker. Lambda's
/// own pollers read MSK in AWS; this is for the consumers we run ourselves.
pub fn consumer_properties() -> Vec<(String, String)> {
    consumer_properties_with(&std::env::var("KAFKA_CONSUMER_PROPERTIES").unwrap_or_default())
}

fn consumer_properties_with(overrides: &str) -> Vec<(String, String)> {
    let mut properties = vec![
        ("group.protocol".to_string(), "classic".to_string()),
        ("session.timeout.ms".into(), "6000".into()),
    ];
    for pair in overrides.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        properties.retain(|(k, _)| k != key.trim());
        properties.push((key.trim().to_owned(), value.trim().to_owned()));
    }
    properties
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consumer_properties_default_to_tansus_needs_and_take_overrides() {
        let defaults = consumer_properties_with("");
        assert!(defaults.contains(&("group.protocol".into(), "classic".into())));
        let tuned = consumer_properties_with(" session.timeout.ms=45000 , fetch.wait.max.ms=100");
        assert!(tuned.contains(&("session.timeout.ms".into(), "45000".into())));
        assert!(tuned.contains(&("fetch.wait.max.ms".into(), "100".into())));
        assert_eq!(tuned.iter().filter(|(k, _)| k == "session.timeout.ms").count(), 1);
    }
}
