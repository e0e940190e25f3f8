//! The DynamoDB tables the adapters use, by the template's logical ids:
//! which variable names each one in a function, and which attribute an
//! adapter writes as the item's expiry. Keys, indexes and streams are
//! declared once, in `infra/template.yaml`; the tests create their tables
//! from it (`foodstream-template`), so an adapter that disagrees with the
//! template fails against the emulator.

/// One table as the adapters know it: the template's name for it, the
/// variable its run-time name is read from, and its TTL attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableSpec {
    /// The template's logical resource id.
    pub logical_id: &'static str,
    /// The environment variable a function reads the table name from.
    pub env: &'static str,
    /// The attribute the adapter writes as the item's expiry (epoch
    /// seconds); the template must enable TTL on it.
    pub ttl: Option<&'static str>,
}

/// The catalog: one item per menu item, keyed (store_id, product_id),
/// its stock included.
pub const CATALOG: TableSpec = TableSpec { logical_id: "CatalogTable", env: "CATALOG_TABLE", ttl: None };

/// The orders: one item per order with its outbox; its stream feeds the
/// outbox relay.
pub const ORDERS: TableSpec = TableSpec { logical_id: "OrdersTable", env: "ORDERS_TABLE", ttl: None };

/// The Idempotency-Keys of order placement, each expiring a day after it
/// was written.
pub const IDEMPOTENCY: TableSpec =
    TableSpec { logical_id: "IdempotencyTable", env: "IDEMPOTENCY_TABLE", ttl: Some("expires_at") };

/// The riders: one item per rider, indexed by zone.
pub const RIDERS: TableSpec = TableSpec { logical_id: "RidersTable", env: "RIDERS_TABLE", ttl: None };

/// The deliveries: one item per delivery attempt, with a sparse index of
/// the ones still assigned.
pub const DELIVERIES: TableSpec =
    TableSpec { logical_id: "DeliveriesTable", env: "DELIVERIES_TABLE", ttl: None };

/// The notifications: a recipient's, newest first.
pub const NOTIFICATIONS: TableSpec =
    TableSpec { logical_id: "NotificationsTable", env: "NOTIFICATIONS_TABLE", ttl: None };

/// The log records, indexed by user and by order, each expiring after the
/// log retention.
pub const LOGS: TableSpec =
    TableSpec { logical_id: "LogsTable", env: "LOGS_TABLE", ttl: Some("expires_at_epoch") };

/// Every table an adapter uses: the ones a set of grants is matched
/// against when the adapters' clients are built.
pub const TABLES: [TableSpec; 7] = [CATALOG, ORDERS, IDEMPOTENCY, RIDERS, DELIVERIES, NOTIFICATIONS, LOGS];

/// The refund photo bucket's environment variable.
pub const PHOTOS_BUCKET_ENV: &str = "PHOTOS_BUCKET";
/// The stack's failure bucket: where consumers park poison records (under
/// `parked/`), beside the event source mappings' failure records.
pub const FAILURE_BUCKET_ENV: &str = "FAILURE_BUCKET";
/// The delivery timer's queue (its URL), which the dispatcher sends to.
pub const DELIVERY_TIMER_QUEUE_ENV: &str = "DELIVERY_TIMER_QUEUE_URL";

/// The failure bucket's logical id in the template.
pub const FAILURE_BUCKET: &str = "FailureBucket";
/// The delivery timer's queue's logical id.
pub const DELIVERY_TIMER_QUEUE: &str = "DeliveryTimerQueue";
/// The logical id of the delivery timer's dead-letter queue.
pub const DELIVERY_TIMER_DEAD_LETTER_QUEUE: &str = "DeliveryTimerDeadLetterQueue";

/// The local stack's physical names, the one rule `foodstream-local`
/// provisions by and `foodstream-ops` defaults to: `<namespace>-<logical
/// id>`, a bucket's lowercased (S3 refuses capitals).
pub mod local {
    /// The namespace `make up` provisions in.
    pub const NAMESPACE: &str = "foodstream-local";

    /// A table's or a queue's name.
    pub fn name(namespace: &str, logical: &str) -> String {
        format!("{namespace}-{logical}")
    }

    /// A bucket's name.
    pub fn bucket(namespace: &str, logical: &str) -> String {
        name(namespace, logical).to_lowercase()
    }
}
