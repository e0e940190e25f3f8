use crate::KafkaSetupError;
use crate::auth::{Bootstrap, IamContext, KafkaSettings};
use async_trait::async_trait;
use aws_config::SdkConfig;
use foodstream_domain::ports::{EventPublisher, OutgoingMessage, PortError};
use foodstream_domain::trace::TRACEPARENT;
use rdkafka::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tracing::{debug, error};

/// The `EventPublisher` over Kafka.
pub struct KafkaPublisher {
    producer: RwLock<Arc<FutureProducer<IamContext>>>,
    /// To build a new producer when the current one hits a fatal error.
    config: ClientConfig,
    signer: Option<(SdkConfig, tokio::runtime::Handle)>,
    timeout: Duration,
    topic_prefix: String,
    /// The topics this producer was declared for; `None`: any (tests).
    topics: Option<Vec<&'static str>>,
}

impl KafkaPublisher {
    /// Builds the producer. `aws` is needed only for MSK IAM signing.
    pub fn new(
        bootstrap: &Bootstrap,
        settings: &KafkaSettings,
        aws: Option<&SdkConfig>,
    ) -> Result<Self, KafkaSetupError> {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", bootstrap.servers())
            .set("client.id", &settings.client_id)
            .set("acks", "all")
            .set("enable.idempotence", if settings.idempotence { "true" } else { "false" })
            .set("message.timeout.ms", settings.message_timeout_ms.to_string())
            // Small batches, sent almost at once: a Lambda waits for them.
            .set("linger.ms", "2");
        let signer = match bootstrap {
            Bootstrap::Plaintext(_) => {
                config.set("security.protocol", "plaintext");
                None
            }
            Bootstrap::MskIam(_) => {
                config.set("security.protocol", "SASL_SSL").set("sasl.mechanism", "OAUTHBEARER");
                let aws = aws.ok_or(KafkaSetupError::Config(foodstream_config::ConfigError::Invalid {
                    name: "MSK_CLUSTER_ARN",
                    value: String::new(),
                    reason: "MSK IAM needs the AWS configuration".into(),
                }))?;
                Some((aws.clone(), tokio::runtime::Handle::current()))
            }
        };
        let producer = config.create_with_context(IamContext { signer: signer.clone() })?;
        Ok(KafkaPublisher {
            producer: RwLock::new(Arc::new(producer)),
            config,
            signer,
            timeout: Duration::from_millis(settings.message_timeout_ms),
            topic_prefix: settings.topic_prefix.clone(),
            topics: None,
        })
    }

    /// Refuses messages to any other topic than `topics`: the function's
    /// role may write only those on MSK.
    pub fn only_to(mut self, topics: &[&'static str]) -> Self {
        self.topics = Some(topics.to_vec());
        self
    }

    /// Produces one record exactly as given (topic as named, no prefix):
    /// for re-driving records read back from a failure record.
    pub async fn produce_raw(
        &self,
        topic: &str,
        key: Option<&[u8]>,
        value: &[u8],
        headers: &[(String, Vec<u8>)],
    ) -> Result<(), PortError> {
        let mut owned = OwnedHeaders::new();
        for (name, bytes) in headers {
            owned = owned.insert(Header { key: name.as_str(), value: Some(bytes.as_slice()) });
        }
        let mut record = FutureRecord::to(topic).payload(value).headers(owned);
        if let Some(key) = key {
            record = record.key(key);
        }
        let producer = self.current();
        producer.send(record, self.timeout).await.map(|_| ()).map_err(|(error, _)| {
            self.replace_if_stuck(&producer, &error);
            PortError::Unavailable(format!("producing to {topic}: {error}"))
        })
    }

    /// Connects, fetches the metadata of `topics` and gets the producer id,
    /// within `budget` in all, so that the first publish waits for none of
    /// them.
    ///
    /// Why it matters: an idempotent producer wants a producer id as soon as
    /// it is created, when no broker connection is up, so librdkafka puts
    /// the request on its 500 ms retry timer (`rd_kafka_idemp_init`, then
    /// `rd_kafka_idemp_pid_timer_restart`). It asks again sooner only when a
    /// metadata answer arrives while a broker (not the bootstrap
    /// connection) is up. A cold function's first publish therefore waited
    /// about 500 ms. `cargo run -p foodstream-kafka --example first_publish
    /// [warm]` shows it: about 500 ms cold, 3 ms after `ready` (about 50 ms),
    /// 3 ms cold with `IDEMPOTENCE=false`.
    pub async fn ready(&self, topics: &[&str], budget: Duration) -> Result<(), PortError> {
        let producer = self.current();
        let topics: Vec<String> = topics.iter().map(|t| format!("{}{t}", self.topic_prefix)).collect();
        let deadline = std::time::Instant::now() + budget;
        tokio::task::spawn_blocking(move || {
            // Twice: the first answer comes over the bootstrap connection and
            // names the brokers, which librdkafka then connects to; the
            // producer id is asked for when a metadata answer arrives while
            // such a broker connection is up, so the second one.
            for _ in 0..2 {
                for topic in &topics {
                    let left = deadline.saturating_duration_since(std::time::Instant::now());
                    producer
                        .client()
                        .fetch_metadata(Some(topic), left)
                        .map_err(|e| PortError::Unavailable(format!("metadata of {topic}: {e}")))?;
                }
            }
            Ok(())
        })
        .await
        .map_err(|e| PortError::Unavailable(e.to_string()))?
    }

    fn current(&self) -> Arc<FutureProducer<IamContext>> {
        self.producer.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// An idempotent producer whose identity the broker no longer accepts
    /// (fenced, or its epoch or sequence lost by a broker that came back
    /// without them), or that hit a fatal error, fails every later send.
    /// Replace it, so the retried batch goes out on a new producer id instead
    /// of poisoning the execution environment for good.
    fn replace_if_stuck(&self, failed: &FutureProducer<IamContext>, error: &KafkaError) {
        use RDKafkaErrorCode::*;
        let identity_lost = matches!(
            error.rdkafka_error_code(),
            Some(ProducerFenced | InvalidProducerEpoch | UnknownProducerId | OutOfOrderSequenceNumber)
        );
        let fatal = failed.client().fatal_error();
        if !identity_lost && fatal.is_none() {
            return;
        }
        error!(%error, ?fatal, "the producer cannot send any more: replacing it");
        match self.config.create_with_context(IamContext { signer: self.signer.clone() }) {
            Ok(fresh) => {
                *self.producer.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(fresh)
            }
            Err(e) => error!(error = %e, "cannot build a new producer"),
        }
    }
}

#[async_trait]
impl EventPublisher for KafkaPublisher {
    async fn publish(&self, messages: &[OutgoingMessage]) -> Result<(), PortError> {
        // Enqueue everything first (librdkafka keeps per-partition order,
        // idempotence keeps it across retries), then wait for every ack.
        if let Some(allowed) = &self.topics
            && let Some(other) = messages.iter().find(|m| !allowed.contains(&m.topic))
        {
            return Err(PortError::Corrupt(format!(
                "{} is for topic {}, which this function is not declared to write (it may write {allowed:?})",
                other.event_id, other.topic
            )));
        }
        let producer = self.current();
        let topics: Vec<String> =
            messages.iter().map(|m| format!("{}{}", self.topic_prefix, m.topic)).collect();
        let sends = messages.iter().zip(&topics).map(|(message, topic)| {
            let mut headers = OwnedHeaders::new()
                .insert(Header { key: "event_id", value: Some(message.event_id.as_str()) });
            let trace = message.trace.as_ref().map(ToString::to_string);
            if let Some(trace) = &trace {
                headers = headers.insert(Header { key: TRACEPARENT, value: Some(trace.as_str()) });
            }
            let record =
                FutureRecord::to(topic).key(message.key.as_str()).payload(&message.payload).headers(headers);
            producer.send(record, self.timeout)
        });
        let results = futures::future::join_all(sends).await;
        for (message, result) in messages.iter().zip(results) {
            match result {
                Ok(delivery) => {
                    debug!(topic = message.topic, event_id = %message.event_id, partition = delivery.partition, offset = delivery.offset, "published")
                }
                Err((error, _)) => {
                    self.replace_if_stuck(&producer, &error);
                    return Err(PortError::Unavailable(format!(
                        "publishing {} to {}: {error}",
                        message.event_id, message.topic
                    )));
                }
            }
        }
        Ok(())
    }
}
