//! Creates what the template declares, on the emulators: tables (keys,
//! indexes, stream, TTL), topics with their partitions, the bucket and the
//! failure queue. Idempotent: what exists is left as it is, so a second
//! `make up` changes nothing.

use crate::template::{Table, Template};
use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType, TimeToLiveSpecification,
};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::types::RDKafkaErrorCode;
use std::time::Duration;

/// The local name of every template resource: `{namespace}-{LogicalId}`
/// (lower-cased for buckets, as S3 requires).
#[derive(Debug, Clone)]
pub struct Names {
    pub namespace: String,
    /// Before every topic name (`KAFKA_TOPIC_PREFIX` of the functions).
    pub topic_prefix: String,
}

impl Names {
    pub fn topic(&self, name: &str) -> String {
        format!("{}{name}", self.topic_prefix)
    }
    pub fn table(&self, logical: &str) -> String {
        format!("{}-{logical}", self.namespace)
    }
    pub fn bucket(&self, logical: &str) -> String {
        format!("{}-{logical}", self.namespace).to_lowercase()
    }
    pub fn queue(&self, logical: &str) -> String {
        format!("{}-{logical}", self.namespace)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("provisioning {what}: {reason}")]
pub struct ProvisionError {
    pub what: String,
    pub reason: String,
}

fn failed(what: impl Into<String>, reason: impl std::fmt::Display) -> ProvisionError {
    ProvisionError { what: what.into(), reason: reason.to_string() }
}

/// What provisioning did, for the log.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Provisioned {
    pub created: Vec<String>,
    pub existing: Vec<String>,
}

impl Provisioned {
    fn note(&mut self, created: bool, what: String) {
        if created { self.created.push(what) } else { self.existing.push(what) }
    }
}

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
        let created = create_table(&dynamodb, table, &name).await?;
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
    for queue in &template.queues {
        let name = names.queue(queue);
        let exists = sqs.get_queue_url().queue_name(&name).send().await.is_ok();
        if !exists {
            sqs.create_queue()
                .queue_name(&name)
                .send()
                .await
                .map_err(|e| failed(format!("queue {name}"), e))?;
        }
        done.note(!exists, format!("queue {name}"));
    }
    for (topic, created) in create_topics(template, names, bootstrap).await? {
        done.note(created, format!("topic {topic}"));
    }
    Ok(done)
}

/// Creates `table` as `name` unless it exists; true when it was created.
pub(crate) async fn create_table(
    client: &aws_sdk_dynamodb::Client,
    table: &Table,
    name: &str,
) -> Result<bool, ProvisionError> {
    let what = || format!("table {name}");
    if client.describe_table().table_name(name).send().await.is_ok() {
        return Ok(false);
    }
    let keys = |key: &[(String, String)]| -> Result<Vec<KeySchemaElement>, ProvisionError> {
        key.iter()
            .map(|(attribute, kind)| {
                KeySchemaElement::builder()
                    .attribute_name(attribute)
                    .key_type(KeyType::from(kind.as_str()))
                    .build()
                    .map_err(|e| failed(what(), e))
            })
            .collect()
    };
    let mut request = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_key_schema(Some(keys(&table.key)?));
    for (attribute, kind) in &table.attributes {
        request = request.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(attribute)
                .attribute_type(ScalarAttributeType::from(kind.as_str()))
                .build()
                .map_err(|e| failed(what(), e))?,
        );
    }
    for index in &table.indexes {
        request = request.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(&index.name)
                .set_key_schema(Some(keys(&index.key)?))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::from(index.projection.as_str()))
                        .build(),
                )
                .build()
                .map_err(|e| failed(what(), e))?,
        );
    }
    if let Some(view) = &table.stream_view {
        request = request.stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::from(view.as_str()))
                .build()
                .map_err(|e| failed(what(), e))?,
        );
    }
    match request.send().await {
        Ok(_) => {}
        // Another `up` won the race: the table exists, which is what we want.
        Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_in_use_exception()) => return Ok(false),
        Err(e) => return Err(failed(what(), aws_sdk_dynamodb::error::DisplayErrorContext(e))),
    }
    if let Some(attribute) = &table.ttl_attribute {
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(attribute)
                    .enabled(true)
                    .build()
                    .map_err(|e| failed(what(), e))?,
            )
            .send()
            .await
            .map_err(|e| failed(what(), aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
    }
    Ok(true)
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
