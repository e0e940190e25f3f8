//! A template table created on DynamoDB (the emulator, for the local stack,
//! the tests and the bench): the same keys, attribute types, indexes,
//! stream and TTL that CloudFormation would create, on demand billing.

use crate::Table;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::create_table::builders::CreateTableFluentBuilder;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType, TimeToLiveSpecification,
};

/// A table DynamoDB refused to create, or whose TTL it refused to set.
#[derive(Debug, thiserror::Error)]
#[error("creating table {name}: {reason}")]
pub struct CreateTableError {
    /// The table's name on DynamoDB.
    pub name: String,
    /// DynamoDB's error, with its context.
    pub reason: String,
}

/// Creates `table` as `name` unless it exists; true when it was created.
pub async fn create_table(client: &Client, table: &Table, name: &str) -> Result<bool, CreateTableError> {
    let failed = |reason: String| CreateTableError { name: name.to_owned(), reason };
    if client.describe_table().table_name(name).send().await.is_ok() {
        return Ok(false);
    }
    let request = create_table_request(client, table, name);
    match request.send().await {
        Ok(_) => {}
        // Another creator won the race: the table exists, which is what we want.
        Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_in_use_exception()) => return Ok(false),
        Err(e) => return Err(failed(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())),
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
                    .expect("name and enabled are set"),
            )
            .send()
            .await
            .map_err(|e| failed(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string()))?;
    }
    Ok(true)
}

/// The `CreateTable` request for `table` as `name`: its keys, attribute
/// types, indexes and stream, on demand billing (the TTL is set apart,
/// once the table exists).
fn create_table_request(client: &Client, table: &Table, name: &str) -> CreateTableFluentBuilder {
    let keys = |key: &[crate::KeyElement]| -> Vec<KeySchemaElement> {
        key.iter()
            .map(|k| {
                KeySchemaElement::builder()
                    .attribute_name(&k.attribute_name)
                    .key_type(KeyType::from(k.key_type.as_str()))
                    .build()
                    .expect("name and type are set")
            })
            .collect()
    };
    let mut request = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_key_schema(Some(keys(&table.key)));
    for attribute in &table.attributes {
        request = request.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(&attribute.attribute_name)
                .attribute_type(ScalarAttributeType::from(attribute.attribute_type.as_str()))
                .build()
                .expect("name and type are set"),
        );
    }
    for index in &table.indexes {
        request = request.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(&index.name)
                .set_key_schema(Some(keys(&index.key)))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::from(index.projection.as_str()))
                        .build(),
                )
                .build()
                .expect("name, key and projection are set"),
        );
    }
    if let Some(view) = table.stream_view {
        request = request.stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::from(view.as_str()))
                .build()
                .expect("enabled is set"),
        );
    }
    request
}
