//! The DynamoDB tables the adapters expect: keys, indexes, stream, TTL.
//! `infra/template.yaml` declares the same tables (a test keeps the two in
//! step), and [`create_table`] makes one on an emulator for the tests.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType, TimeToLiveSpecification,
};
use foodstream_domain::ports::PortError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexSpec {
    pub name: &'static str,
    pub partition: &'static str,
    pub sort: Option<&'static str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableSpec {
    /// The template's logical resource id.
    pub logical_id: &'static str,
    /// The environment variable a function reads the table name from.
    pub env: &'static str,
    pub partition: &'static str,
    pub sort: Option<&'static str>,
    pub indexes: &'static [IndexSpec],
    /// A stream of new and old images (the orders table's outbox).
    pub stream: bool,
    /// The TTL attribute (epoch seconds), if items expire.
    pub ttl: Option<&'static str>,
}

pub const CATALOG: TableSpec = TableSpec {
    logical_id: "CatalogTable",
    env: "CATALOG_TABLE",
    partition: "store_id",
    sort: Some("product_id"),
    indexes: &[],
    stream: false,
    ttl: None,
};

pub const ORDERS: TableSpec = TableSpec {
    logical_id: "OrdersTable",
    env: "ORDERS_TABLE",
    partition: "order_id",
    sort: None,
    indexes: &[
        IndexSpec { name: "by-customer", partition: "customer_id", sort: Some("created_sk") },
        IndexSpec { name: "by-store", partition: "store_id", sort: Some("created_sk") },
        IndexSpec { name: "by-store-status", partition: "store_status", sort: Some("created_sk") },
    ],
    stream: true,
    ttl: None,
};

pub const IDEMPOTENCY: TableSpec = TableSpec {
    logical_id: "IdempotencyTable",
    env: "IDEMPOTENCY_TABLE",
    partition: "idempotency_key",
    sort: None,
    indexes: &[],
    stream: false,
    ttl: Some("expires_at"),
};

pub const RIDERS: TableSpec = TableSpec {
    logical_id: "RidersTable",
    env: "RIDERS_TABLE",
    partition: "rider_id",
    sort: None,
    indexes: &[IndexSpec { name: "by-zone", partition: "zone", sort: None }],
    stream: false,
    ttl: None,
};

pub const DELIVERIES: TableSpec = TableSpec {
    logical_id: "DeliveriesTable",
    env: "DELIVERIES_TABLE",
    partition: "delivery_id",
    sort: None,
    indexes: &[IndexSpec { name: "by-due", partition: "open_status", sort: Some("due_sk") }],
    stream: false,
    ttl: None,
};

pub const NOTIFICATIONS: TableSpec = TableSpec {
    logical_id: "NotificationsTable",
    env: "NOTIFICATIONS_TABLE",
    partition: "recipient",
    sort: Some("created_sk"),
    indexes: &[],
    stream: false,
    ttl: None,
};

pub const LOGS: TableSpec = TableSpec {
    logical_id: "LogsTable",
    env: "LOGS_TABLE",
    partition: "log_id",
    sort: None,
    indexes: &[
        IndexSpec { name: "by-user", partition: "user_id", sort: Some("created_sk") },
        IndexSpec { name: "by-order", partition: "order_id", sort: Some("created_sk") },
    ],
    stream: false,
    ttl: Some("expires_at_epoch"),
};

pub const TABLES: [TableSpec; 7] = [CATALOG, ORDERS, IDEMPOTENCY, RIDERS, DELIVERIES, NOTIFICATIONS, LOGS];

/// The refund photo bucket's environment variable.
pub const PHOTOS_BUCKET_ENV: &str = "PHOTOS_BUCKET";
/// The stack's failure queue (its URL): where consumers park poison records.
pub const FAILURE_QUEUE_ENV: &str = "FAILURE_QUEUE_URL";

fn key(partition: &str, sort: Option<&str>) -> Vec<KeySchemaElement> {
    let mut keys = vec![
        KeySchemaElement::builder()
            .attribute_name(partition)
            .key_type(KeyType::Hash)
            .build()
            .expect("complete"),
    ];
    if let Some(sort) = sort {
        keys.push(
            KeySchemaElement::builder()
                .attribute_name(sort)
                .key_type(KeyType::Range)
                .build()
                .expect("complete"),
        );
    }
    keys
}

/// Creates `name` as `spec` describes (on demand), unless it exists.
pub async fn create_table(client: &Client, spec: &TableSpec, name: &str) -> Result<(), PortError> {
    let mut attributes: Vec<&str> = vec![spec.partition];
    attributes.extend(spec.sort);
    for index in spec.indexes {
        attributes.push(index.partition);
        attributes.extend(index.sort);
    }
    attributes.sort_unstable();
    attributes.dedup();
    let definitions = attributes
        .into_iter()
        .map(|a| {
            AttributeDefinition::builder()
                .attribute_name(a)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("complete")
        })
        .collect();
    let indexes: Vec<GlobalSecondaryIndex> = spec
        .indexes
        .iter()
        .map(|i| {
            GlobalSecondaryIndex::builder()
                .index_name(i.name)
                .set_key_schema(Some(key(i.partition, i.sort)))
                .projection(Projection::builder().projection_type(ProjectionType::All).build())
                .build()
                .expect("complete")
        })
        .collect();
    let mut request = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_attribute_definitions(Some(definitions))
        .set_key_schema(Some(key(spec.partition, spec.sort)))
        .set_global_secondary_indexes((!indexes.is_empty()).then_some(indexes));
    if spec.stream {
        request = request.stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewAndOldImages)
                .build()
                .expect("complete"),
        );
    }
    match request.send().await {
        Ok(_) => {}
        Err(e) if e.as_service_error().is_some_and(|e| e.is_resource_in_use_exception()) => return Ok(()),
        Err(e) => return Err(crate::codec::unavailable(e)),
    }
    if let Some(attribute) = spec.ttl {
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .enabled(true)
                    .attribute_name(attribute)
                    .build()
                    .expect("complete"),
            )
            .send()
            .await
            .map_err(crate::codec::unavailable)?;
    }
    Ok(())
}
