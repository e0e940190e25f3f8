//! Creates what the template declares, on the emulators: tables (keys,
//! indexes, stream, TTL), topics with their partitions, the buckets and the
//! queues (visibility timeout, retention, redrive to their dead-letter
//! queue). Idempotent: what exists is kept (a queue only gets its
//! attributes set again, as the template says now), so a second `make up`
//! creates nothing.

use aws_config::SdkConfig;
use aws_sdk_sqs::types::QueueAttributeName;
use foodstream_aws::schema;
use foodstream_template::Template;
use foodstream_template::dynamodb::create_table;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::types::RDKafkaErrorCode;
use std::time::Duration;

/// The local name of every template resource: `{namespace}-{LogicalId}`
/// (lower-cased for buckets, as S3 requires); a topic's is its template
/// name behind the topic prefix.
#[derive(Debug, Clone)]
pub struct Names {
    /// Before every table, bucket and queue name (the stack's name on AWS).
    pub namespace: String,
    /// Before every topic name (`KAFKA_TOPIC_PREFIX` of the functions).
    pub topic_prefix: String,
}

impl Names {
    /// The broker's name of the template's topic `name`.
    pub fn topic(&self, name: &str) -> String {
        format!("{}{name}", self.topic_prefix)
    }
    /// The local name of the table with logical id `logical`.
    pub fn table(&self, logical: &str) -> String {
        schema::local::name(&self.namespace, logical)
    }
    /// The local name of the bucket with logical id `logical`.
    pub fn bucket(&self, logical: &str) -> String {
        schema::local::bucket(&self.namespace, logical)
    }
    /// The local name of the queue with logical id `logical`.
    pub fn queue(&self, logical: &str) -> String {
        schema::local::name(&self.namespace, logical)
    }
}

/// A resource that could not be created or set up.
#[derive(Debug, thiserror::Error)]
#[error("provisioning {what}: {reason}")]
pub struct ProvisionError {
    /// The resource (`table foodstream-local-OrdersTable`).
    pub what: String,
    /// The emulator's or the broker's error.
    pub reason: String,
}

fn failed(what: impl Into<String>, reason: impl std::fmt::Display) -> ProvisionError {
    ProvisionError { what: what.into(), reason: reason.to_string() }
}

/// What provisioning did, for the log.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Provisioned {
    /// The resources created (`table …`, `topic …`).
    pub created: Vec<String>,
    /// The resources already there.
    pub existing: Vec<String>,
}

impl Provisioned {
    fn note(&mut self, created: bool, what: String) {
        if created { self.created.push(what) } else { self.existing.push(what) }
    }
}

/// Creates the template's tables, buckets, queues (dead-letter queues
/// first) and topics under `names`, on the emulators of `aws` and the
/// broker at `bootstrap`; stops at the first failure.
pub async fn provision(
    template: &Template,
    names: &Names,
    aws: &SdkConfig,
    bootstrap: &str,
) -> Result<Provisioned, ProvisionError> {
    let mut done = Provisioned::default();
    let dynamodb = aws_sdk_dynamodb::Client::new(aws);
    for table in &template.tables {
        let name = names.table(&table.logical_id);
        let created = create_table(&dynamodb, table, &name)
            .await
            .map_err(|e| failed(format!("table {name}"), e.reason))?;
        done.note(created, format!("table {name}"));
    }
    let s3 =
        aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(aws).force_path_style(true).build());
    for bucket in &template.buckets {
        let name = names.bucket(bucket);
        let exists = s3.head_bucket().bucket(&name).send().await.is_ok();
        if !exists {
            s3.create_bucket().bucket(&name).send().await.map_err(|e| failed(format!("bucket {name}"), e))?;
        }
        done.note(!exists, format!("bucket {name}"));
    }
    let sqs = aws_sdk_sqs::Client::new(aws);
    for queue in template.queues_in_creation_order() {
        let name = names.queue(&queue.logical_id);
        let attributes = queue_attributes(&sqs, queue, names).await?;
        let existing = sqs.get_queue_url().queue_name(&name).send().await.ok().and_then(|o| o.queue_url);
        match &existing {
            // As the template says now (a parameter may have changed).
            Some(url) => sqs
                .set_queue_attributes()
                .queue_url(url)
                .set_attributes(Some(attributes))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| failed(format!("queue {name}"), aws_sdk_sqs::error::DisplayErrorContext(e)))?,
            None => sqs
                .create_queue()
                .queue_name(&name)
                .set_attributes(Some(attributes))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| failed(format!("queue {name}"), aws_sdk_sqs::error::DisplayErrorContext(e)))?,
        }
        done.note(existing.is_none(), format!("queue {name}"));
    }
    for (topic, created) in create_topics(template, names, bootstrap).await? {
        done.note(created, format!("topic {topic}"));
    }
    Ok(done)
}

/// A queue's visibility timeout, retention and redrive policy (to its
/// dead-letter queue's ARN, which exists by then), as SQS attributes.
async fn queue_attributes(
    sqs: &aws_sdk_sqs::Client,
    queue: &foodstream_template::Queue,
    names: &Names,
) -> Result<std::collections::HashMap<QueueAttributeName, String>, ProvisionError> {
    let mut attributes = std::collections::HashMap::from([
        (QueueAttributeName::VisibilityTimeout, queue.visibility_timeout_seconds.to_string()),
        (QueueAttributeName::MessageRetentionPeriod, queue.retention_seconds.to_string()),
    ]);
    if let Some(redrive) = &queue.redrive {
        let target = names.queue(&redrive.dead_letter_queue);
        let arn = queue_arn(sqs, &target).await.map_err(|e| failed(format!("queue {target}"), e))?;
        let policy =
            serde_json::json!({"deadLetterTargetArn": arn, "maxReceiveCount": redrive.max_receive_count});
        attributes.insert(QueueAttributeName::RedrivePolicy, policy.to_string());
    }
    Ok(attributes)
}

/// The ARN the emulator gives the queue `name`.
pub async fn queue_arn(sqs: &aws_sdk_sqs::Client, name: &str) -> Result<String, String> {
    let url = sqs
        .get_queue_url()
        .queue_name(name)
        .send()
        .await
        .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(e).to_string())?
        .queue_url
        .unwrap_or_default();
    let described = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(e).to_string())?;
    described
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn))
        .cloned()
        .ok_or_else(|| "no QueueArn".to_owned())
}

/// Creates the template's topics with their partition counts (replication 1
/// on a single local broker); true for each one created.
async fn create_topics(
    template: &Template,
    names: &Names,
    bootstrap: &str,
) -> Result<Vec<(String, bool)>, ProvisionError> {
    if template.topics.is_empty() {
        return Ok(Vec::new());
    }
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .map_err(|e| failed("the Kafka admin client", e))?;
    let topic_names: Vec<String> = template.topics.iter().map(|t| names.topic(&t.name)).collect();
    let topics: Vec<NewTopic> = template
        .topics
        .iter()
        .zip(&topic_names)
        .map(|(t, name)| NewTopic::new(name, t.partitions as i32, TopicReplication::Fixed(1)))
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    let results = admin.create_topics(&topics, &options).await.map_err(|e| failed("topics", e))?;
    results
        .into_iter()
        .map(|result| match result {
            Ok(topic) => Ok((topic, true)),
            Err((topic, RDKafkaErrorCode::TopicAlreadyExists)) => Ok((topic, false)),
            Err((topic, code)) => Err(failed(format!("topic {topic}"), code)),
        })
        .collect()
}
