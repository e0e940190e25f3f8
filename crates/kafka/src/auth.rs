//! Where the brokers are and how to talk to them.

use crate::KafkaSetupError;
use aws_config::SdkConfig;
use aws_msk_iam_sasl_signer::generate_auth_token_from_credentials_provider;
use rdkafka::ClientContext;
use rdkafka::client::OAuthToken;
use rdkafka::producer::ProducerContext;
use std::time::Duration;
use tokio::runtime::Handle;

/// How to reach the brokers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bootstrap {
    /// `KAFKA_BOOTSTRAP_SERVERS`, PLAINTEXT: a local broker.
    Plaintext(String),
    /// MSK with IAM: SASL_SSL + OAUTHBEARER, tokens signed for the
    /// function's role.
    MskIam(String),
}

impl Bootstrap {
    /// The comma-separated `host:port` list librdkafka bootstraps from.
    pub fn servers(&self) -> &str {
        match self {
            Bootstrap::Plaintext(s) | Bootstrap::MskIam(s) => s,
        }
    }
}

/// Producer settings read from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaSettings {
    /// `KAFKA_MESSAGE_TIMEOUT_MS` (default 10000): how long a message may
    /// wait for its acknowledgement before `publish` fails. Keep it under
    /// the function timeout.
    pub message_timeout_ms: u64,
    /// `KAFKA_ENABLE_IDEMPOTENCE` (default true): exactly-once into the
    /// partition log per producer session. Turn off only for a broker that
    /// does not implement InitProducerId.
    pub idempotence: bool,
    /// `client.id` seen by the brokers: the function name
    /// (`AWS_LAMBDA_FUNCTION_NAME`, else `foodstream`).
    pub client_id: String,
    /// `KAFKA_TOPIC_PREFIX` (local only, default empty): put before every
    /// topic name, so several local stacks (say `make up` and the tests)
    /// share one broker without reading each other's events. Never set in
    /// AWS, where the topics are the template's.
    pub topic_prefix: String,
}

impl KafkaSettings {
    /// Reads the settings, with the defaults above for what is unset; an
    /// unusable value is an error naming the variable.
    pub fn from_env() -> Result<KafkaSettings, KafkaSetupError> {
        use foodstream_config::{local_only, parsed};
        let message_timeout_ms = parsed("KAFKA_MESSAGE_TIMEOUT_MS", |v| {
            v.parse::<u64>().ok().filter(|n| *n > 0).ok_or_else(|| "must be a positive integer".to_string())
        })?
        .unwrap_or(10_000);
        let idempotence = parsed("KAFKA_ENABLE_IDEMPOTENCE", |v| match v {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err("must be true or false".to_string()),
        })?
        .unwrap_or(true);
        // Set by Lambda itself, not by the template.
        let client_id = local_only("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|| "foodstream".into());
        let topic_prefix = local_only("KAFKA_TOPIC_PREFIX").unwrap_or_default();
        Ok(KafkaSettings { message_timeout_ms, idempotence, client_id, topic_prefix })
    }
}

/// `KAFKA_BOOTSTRAP_SERVERS` if set (local), else the IAM bootstrap brokers
/// of `MSK_CLUSTER_ARN` from GetBootstrapBrokers. Called once per cold start.
pub async fn resolve_bootstrap(config: &SdkConfig) -> Result<Bootstrap, KafkaSetupError> {
    if let Some(servers) = foodstream_config::local_only("KAFKA_BOOTSTRAP_SERVERS") {
        return Ok(Bootstrap::Plaintext(servers));
    }
    let cluster = foodstream_config::required("MSK_CLUSTER_ARN").map_err(|_| KafkaSetupError::NoBootstrap)?;
    if foodstream_config::describing_only() {
        // The binary only prints its wiring: no broker lookup.
        return Ok(Bootstrap::Plaintext("127.0.0.1:9".into()));
    }
    // The dual-stack MSK API endpoint (`kafka-api`): the only MSK API
    // interface endpoint service that takes new VPC endpoints
    // (`aws.api.<region>.kafka-api`; `com.amazonaws.<region>.kafka` no
    // longer does), so the private DNS of the template's endpoint answers
    // for this name.
    let kafka_config = aws_sdk_kafka::config::Builder::from(config).use_dual_stack(true).build();
    let output = aws_sdk_kafka::Client::from_conf(kafka_config)
        .get_bootstrap_brokers()
        .cluster_arn(&cluster)
        .send()
        .await
        .map_err(|e| KafkaSetupError::BootstrapLookup {
            cluster: cluster.clone(),
            reason: aws_sdk_kafka::error::DisplayErrorContext(e).to_string(),
        })?;
    let servers =
        output.bootstrap_broker_string_sasl_iam().ok_or_else(|| KafkaSetupError::BootstrapLookup {
            cluster,
            reason: "the cluster has no IAM bootstrap brokers (is IAM auth enabled?)".into(),
        })?;
    Ok(Bootstrap::MskIam(servers.to_owned()))
}

/// The producer's context: hands librdkafka a fresh MSK IAM token whenever
/// it asks (at connect and before expiry).
pub struct IamContext {
    pub(crate) signer: Option<(SdkConfig, Handle)>,
}

impl ClientContext for IamContext {
    const ENABLE_REFRESH_OAUTH_TOKEN: bool = true;

    fn generate_oauth_token(&self, _config: Option<&str>) -> Result<OAuthToken, Box<dyn std::error::Error>> {
        let Some((config, runtime)) = &self.signer else {
            return Err("OAUTHBEARER requested but MSK IAM is not configured".into());
        };
        let config = config.clone();
        let runtime = runtime.clone();
        // librdkafka calls this on its own thread; sign on the runtime from
        // a helper thread so the callback never blocks a tokio worker.
        let signed = std::thread::spawn(move || {
            runtime.block_on(async move {
                let region = config.region().cloned().ok_or("no AWS region")?;
                let credentials = config.credentials_provider().ok_or("no AWS credentials provider")?;
                tokio::time::timeout(
                    Duration::from_secs(10),
                    generate_auth_token_from_credentials_provider(region, credentials),
                )
                .await
                .map_err(|_| "timed out signing the MSK IAM token".to_string())?
                .map_err(|e| e.to_string())
            })
        })
        .join()
        .map_err(|_| "the token signer panicked")??;
        let (token, expiration_ms) = signed;
        Ok(OAuthToken { token, principal_name: String::new(), lifetime_ms: expiration_ms })
    }
}

impl ProducerContext for IamContext {
    type DeliveryOpaque = ();
    fn delivery(&self, _: &rdkafka::message::DeliveryResult<'_>, _: Self::DeliveryOpaque) {}
}
