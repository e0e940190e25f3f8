//! The orders table and the idempotency-keys table.
//!
//! An order item holds the whole order as a map, the attributes its indexes
//! need, its `version` (every write is conditional on it) and `outbox`: the
//! events of the change that produced this version, as their exact JSON.
//! The table's stream (new and old images) hands them to the outbox relay,
//! so an order change and its events are one atomic write.

use crate::access::{Grant, index, table};
use crate::catalog::stock_update;
use crate::codec::{
    Item, QueryPage, composite_key, condition_failed, from_item, n, s, sort_key, sparse_index_up_to,
    time_key, to_item, unavailable,
};
use crate::schema::{CATALOG, IDEMPOTENCY, ORDERS};
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, CancellationReason, Put, TransactWriteItem};
use chrono::Duration;
use foodstream_domain::Timestamp;
use foodstream_domain::events::{DecodeError, OrderEvent, decode};
use foodstream_domain::ids::{OrderId, StoreId, UserId};
use foodstream_domain::order::{Order, OrderStatus};
use foodstream_domain::ports::{
    IdempotencyRecord, OrderRepository, OrderUpdate, Page, PageRequest, PlaceError, Placement, PortError,
    UpdateError,
};
use foodstream_domain::stock::{ShortLine, StockPlan};
use serde::{Deserialize, Serialize};
use std::time::Duration as StdDuration;

/// How long an Idempotency-Key is remembered (DynamoDB TTL).
pub const IDEMPOTENCY_TTL_HOURS: i64 = 24;
/// Transactions that collide with another on the same items are retried.
const CONFLICT_ATTEMPTS: u32 = 6;

/// The orders table, with the catalog table (stock is taken and given back
/// in the order's own transaction) and the idempotency-keys table.
#[derive(Clone)]
pub struct DynamoOrders {
    client: Client,
    orders_table: String,
    catalog_table: String,
    idempotency_table: String,
}

impl DynamoOrders {
    /// `get`: the order by key.
    pub const GET: &[Grant] = &[Grant::new("dynamodb:GetItem", table(&ORDERS))];
    /// `update` without stock: a conditional put of the order.
    pub const UPDATE: &[Grant] = &[Grant::new("dynamodb:PutItem", table(&ORDERS))];
    /// `update` that gives stock back: the order and the items, in one transaction.
    pub const UPDATE_WITH_STOCK: &[Grant] =
        &[Grant::new("dynamodb:PutItem", table(&ORDERS)), Grant::new("dynamodb:UpdateItem", table(&CATALOG))];
    /// `place`: stock taken, order and idempotency record put, in one transaction.
    pub const PLACE: &[Grant] = &[
        Grant::new("dynamodb:PutItem", table(&ORDERS)),
        Grant::new("dynamodb:UpdateItem", table(&CATALOG)),
        Grant::new("dynamodb:PutItem", table(&IDEMPOTENCY)),
    ];
    /// `find_idempotency`: the record by key.
    pub const FIND_IDEMPOTENCY: &[Grant] = &[Grant::new("dynamodb:GetItem", table(&IDEMPOTENCY))];
    /// `list_for_customer`.
    pub const LIST_FOR_CUSTOMER: &[Grant] = &[Grant::new("dynamodb:Query", index(&ORDERS, "by-customer"))];
    /// `awaiting_delivery`: the sparse index of orders waiting on a
    /// delivery decision, then each one read again by key.
    pub const AWAITING_DELIVERY: &[Grant] = &[
        Grant::new("dynamodb:Query", index(&ORDERS, "by-awaiting-delivery")),
        Grant::new("dynamodb:GetItem", table(&ORDERS)),
    ];
    /// `list_for_store`, with and without a status.
    pub const LIST_FOR_STORE: &[Grant] = &[
        Grant::new("dynamodb:Query", index(&ORDERS, "by-store")),
        Grant::new("dynamodb:Query", index(&ORDERS, "by-store-status")),
    ];

    /// The three tables by their run-time names, reached through `client`.
    pub fn new(
        client: Client,
        orders_table: impl Into<String>,
        catalog_table: impl Into<String>,
        idempotency_table: impl Into<String>,
    ) -> Self {
        DynamoOrders {
            client,
            orders_table: orders_table.into(),
            catalog_table: catalog_table.into(),
            idempotency_table: idempotency_table.into(),
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct OrderRecord {
    order_id: String,
    customer_id: String,
    store_id: String,
    status: OrderStatus,
    /// `{created_at}#{order_id}`: the sort key of every index.
    created_sk: String,
    /// `{store_id}#{status}`: the partition of the by-store-status index.
    store_status: String,
    version: u64,
    order: Order,
    outbox: Vec<String>,
    /// The order's trace, at the top of the item so the outbox relay reads
    /// it from the stream image without decoding the order.
    #[serde(skip_serializing_if = "Option::is_none")]
    trace_parent: Option<String>,
    /// `DELIVERY_REQUESTED` while the order waits on a delivery decision,
    /// absent otherwise: the partition of the sparse `by-awaiting-delivery`
    /// index, so only waiting orders are in it (a put of the next version
    /// drops them from it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    awaiting_delivery: Option<String>,
    /// `{requested_at}#{order_id}`: oldest request first in that index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    awaiting_sk: Option<String>,
}

/// The `by-awaiting-delivery` index's one partition.
const AWAITING: &str = "DELIVERY_REQUESTED";

#[derive(Debug, Deserialize)]
struct OrderKey {
    order_id: String,
}

/// The orders table's attribute holding the order's `traceparent`.
pub const TRACE_ATTRIBUTE: &str = "trace_parent";

impl OrderRecord {
    fn of(order: &Order, events: &[OrderEvent]) -> OrderRecord {
        let awaiting = order.status == OrderStatus::DeliveryRequested;
        OrderRecord {
            order_id: order.order_id.to_string(),
            customer_id: order.customer_id.to_string(),
            store_id: order.store_id.to_string(),
            status: order.status,
            created_sk: sort_key(order.created_at, order.order_id.as_str()),
            store_status: store_status(&order.store_id, order.status),
            version: order.version,
            order: order.clone(),
            // serde_json writes UTF-8: the lossy conversion never replaces anything.
            outbox: events.iter().map(|e| String::from_utf8_lossy(&e.to_json()).into_owned()).collect(),
            trace_parent: order.trace.as_ref().map(ToString::to_string),
            awaiting_delivery: awaiting.then(|| AWAITING.to_owned()),
            awaiting_sk: awaiting.then(|| sort_key(order.updated_at, order.order_id.as_str())),
        }
    }
}

/// `{store_id}#{status}` ([`composite_key`]): the partition of the
/// by-store-status index.
pub(crate) fn store_status(store: &StoreId, status: OrderStatus) -> String {
    composite_key(store.as_str(), status.as_str())
}

/// What the outbox relay reads from a stream image of the orders table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OrderImage {
    /// The order's version: a record whose new image is no newer than its
    /// old one publishes nothing.
    pub version: u64,
    /// The events of the change that made this version, as their JSON
    /// (none when the image has no `outbox`).
    #[serde(default)]
    pub outbox: Vec<String>,
}

/// The events a stream record carries: those of the new image, when it is a
/// newer version than the old one (a record with no version change carries
/// nothing to publish).
pub fn order_events_of_change(
    new: &OrderImage,
    old: Option<&OrderImage>,
) -> Result<Vec<OrderEvent>, DecodeError> {
    if old.is_some_and(|old| old.version >= new.version) {
        return Ok(Vec::new());
    }
    new.outbox.iter().map(|json| decode(json.as_bytes())).collect()
}

#[derive(Debug, Serialize, Deserialize)]
struct IdempotencyItem {
    idempotency_key: String,
    customer_id: String,
    key: String,
    fingerprint: String,
    order_id: String,
    created_at: foodstream_domain::Timestamp,
    /// Epoch seconds: the table's TTL attribute.
    expires_at: i64,
}

/// `{customer}#{key}` ([`composite_key`]): a `#` in the user id cannot make
/// two users' keys meet.
pub(crate) fn idempotency_key(customer: &UserId, key: &str) -> String {
    composite_key(customer.as_str(), key)
}

fn put(table: &str, item: Item, condition: &str) -> Result<Put, PortError> {
    Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression(condition)
        .build()
        .map_err(|e| PortError::Corrupt(e.to_string()))
}

fn order_put(
    table: &str,
    order: &Order,
    events: &[OrderEvent],
    expected: Option<u64>,
) -> Result<Put, PortError> {
    let item = to_item(&OrderRecord::of(order, events))?;
    let mut builder = Put::builder().table_name(table).set_item(Some(item));
    builder = match expected {
        None => builder.condition_expression("attribute_not_exists(order_id)"),
        Some(version) => builder
            .condition_expression("version = :expected")
            .expression_attribute_values(":expected", n(version)),
    };
    builder.build().map_err(|e| PortError::Corrupt(e.to_string()))
}

enum TransactOutcome {
    Done,
    Cancelled(Vec<CancellationReason>),
}

/// Runs a transaction, retrying those cancelled only because another
/// transaction was touching the same items at the same moment.
async fn transact(client: &Client, items: Vec<TransactWriteItem>) -> Result<TransactOutcome, PortError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let result = client.transact_write_items().set_transact_items(Some(items.clone())).send().await;
        let error = match result {
            Ok(_) => return Ok(TransactOutcome::Done),
            Err(error) => error,
        };
        let conflict = match error.as_service_error() {
            Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => {
                let reasons = cancelled.cancellation_reasons().to_vec();
                let only_conflicts = reasons.iter().any(|r| r.code() == Some("TransactionConflict"))
                    && !reasons.iter().any(|r| r.code() == Some("ConditionalCheckFailed"));
                if !only_conflicts {
                    return Ok(TransactOutcome::Cancelled(reasons));
                }
                true
            }
            _ => false,
        };
        if !conflict || attempt >= CONFLICT_ATTEMPTS {
            return Err(unavailable(error));
        }
        // Jitter from the clock's nanoseconds: no randomness crate needed.
        let jitter = u64::from(chrono::Utc::now().timestamp_subsec_nanos() % 20);
        tokio::time::sleep(StdDuration::from_millis(10 * u64::from(attempt) + jitter)).await;
    }
}

fn stock_items(table: &str, plan: &StockPlan) -> Result<Vec<TransactWriteItem>, PortError> {
    plan.changes
        .iter()
        .map(|change| {
            Ok(TransactWriteItem::builder().update(stock_update(table, &plan.store_id, change)?).build())
        })
        .collect()
}

fn short_line(change: &foodstream_domain::stock::StockChange, reason: &CancellationReason) -> ShortLine {
    let available = reason.item().and_then(|item| match item.get("stock") {
        Some(AttributeValue::N(value)) => value.parse().ok(),
        _ => None,
    });
    ShortLine { product_id: change.product_id.clone(), requested: change.requires_at_least, available }
}

#[async_trait]
impl OrderRepository for DynamoOrders {
    async fn place(&self, placement: &Placement) -> Result<(), PlaceError> {
        let stock_count = placement.stock.changes.len();
        let mut items = stock_items(&self.catalog_table, &placement.stock)?;
        let order = order_put(&self.orders_table, &placement.order, &placement.events, None)?;
        items.push(TransactWriteItem::builder().put(order).build());
        if let Some(record) = &placement.idempotency {
            let item = to_item(&IdempotencyItem {
                idempotency_key: idempotency_key(&record.customer_id, &record.key),
                customer_id: record.customer_id.to_string(),
                key: record.key.clone(),
                fingerprint: record.fingerprint.clone(),
                order_id: record.order_id.to_string(),
                created_at: record.created_at,
                expires_at: (record.created_at + Duration::hours(IDEMPOTENCY_TTL_HOURS)).timestamp(),
            })?;
            let idempotency = put(&self.idempotency_table, item, "attribute_not_exists(idempotency_key)")?;
            items.push(TransactWriteItem::builder().put(idempotency).build());
        }
        match transact(&self.client, items).await? {
            TransactOutcome::Done => Ok(()),
            TransactOutcome::Cancelled(reasons) => {
                if placement.idempotency.is_some() && condition_failed(&reasons, stock_count + 1) {
                    return Err(PlaceError::IdempotencyKeyTaken);
                }
                // The transaction's first items are the stock updates, in
                // the plan's order: their reasons pair with its lines.
                let short: Vec<ShortLine> = placement
                    .stock
                    .changes
                    .iter()
                    .zip(&reasons)
                    .filter(|(_, reason)| reason.code() == Some("ConditionalCheckFailed"))
                    .map(|(change, reason)| short_line(change, reason))
                    .collect();
                if !short.is_empty() {
                    return Err(PlaceError::StockShort(short));
                }
                if condition_failed(&reasons, stock_count) {
                    return Err(
                        PortError::Corrupt(format!("order id {} reused", placement.order.order_id)).into()
                    );
                }
                Err(PortError::Unavailable(format!("placement cancelled: {reasons:?}")).into())
            }
        }
    }

    async fn get(&self, order: &OrderId) -> Result<Option<Order>, PortError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.orders_table)
            .key("order_id", s(order.as_str()))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        output.item.map(|item| from_item::<OrderRecord>(item).map(|r| r.order)).transpose()
    }

    async fn update(&self, update: &OrderUpdate) -> Result<(), UpdateError> {
        let order =
            order_put(&self.orders_table, &update.order, &update.events, Some(update.expected_version))?;
        let Some(plan) = &update.stock else {
            let result = self
                .client
                .put_item()
                .table_name(&self.orders_table)
                .set_item(Some(order.item))
                .set_condition_expression(order.condition_expression)
                .set_expression_attribute_values(order.expression_attribute_values)
                .send()
                .await;
            return match result {
                Ok(_) => Ok(()),
                Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {
                    Err(UpdateError::VersionConflict)
                }
                Err(e) => Err(unavailable(e).into()),
            };
        };
        let mut items = vec![TransactWriteItem::builder().put(order).build()];
        items.extend(stock_items(&self.catalog_table, plan)?);
        match transact(&self.client, items).await? {
            TransactOutcome::Done => Ok(()),
            TransactOutcome::Cancelled(reasons) if condition_failed(&reasons, 0) => {
                Err(UpdateError::VersionConflict)
            }
            TransactOutcome::Cancelled(reasons) => {
                Err(PortError::Corrupt(format!("stock could not be given back: {reasons:?}")).into())
            }
        }
    }

    async fn list_for_customer(
        &self,
        customer: &UserId,
        page: &PageRequest,
    ) -> Result<Page<Order>, PortError> {
        QueryPage {
            client: &self.client,
            table: &self.orders_table,
            index: Some("by-customer"),
            partition: ("customer_id", s(customer.as_str())),
            key_attributes: &["customer_id", "created_sk", "order_id"],
        }
        .fetch(page, |item| from_item::<OrderRecord>(item).map(|r| r.order))
        .await
    }

    async fn list_for_store(
        &self,
        store: &StoreId,
        status: Option<OrderStatus>,
        page: &PageRequest,
    ) -> Result<Page<Order>, PortError> {
        let query = match status {
            Some(status) => QueryPage {
                client: &self.client,
                table: &self.orders_table,
                index: Some("by-store-status"),
                partition: ("store_status", s(store_status(store, status))),
                key_attributes: &["store_status", "created_sk", "order_id"],
            },
            None => QueryPage {
                client: &self.client,
                table: &self.orders_table,
                index: Some("by-store"),
                partition: ("store_id", s(store.as_str())),
                key_attributes: &["store_id", "created_sk", "order_id"],
            },
        };
        query.fetch(page, |item| from_item::<OrderRecord>(item).map(|r| r.order)).await
    }

    async fn awaiting_delivery(
        &self,
        requested_by: Timestamp,
        limit: usize,
    ) -> Result<Vec<Order>, PortError> {
        // Every sort key of that moment sorts below `~` (after `#`).
        let up_to = format!("{}~", time_key(requested_by));
        let keys = sparse_index_up_to(
            &self.client,
            &self.orders_table,
            "by-awaiting-delivery",
            ("awaiting_delivery", AWAITING),
            ("awaiting_sk", up_to),
            limit,
        )
        .await?;
        // Read each order again, by key, and keep those still waiting.
        let mut waiting = Vec::new();
        for item in keys {
            let key: OrderKey = from_item(item)?;
            if let Some(order) = self.get(&OrderId::new(key.order_id)).await?
                && order.status == OrderStatus::DeliveryRequested
            {
                waiting.push(order);
            }
        }
        Ok(waiting)
    }

    async fn find_idempotency(
        &self,
        customer: &UserId,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, PortError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.idempotency_table)
            .key("idempotency_key", s(idempotency_key(customer, key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        let Some(item) = output.item else {
            return Ok(None);
        };
        let record: IdempotencyItem = from_item(item)?;
        // A record written before the key's escaping by a user whose id
        // holds a `#` or `%` may sit under another pair's key: only the
        // record of this very user and key is theirs.
        if record.customer_id != customer.as_str() || record.key != key {
            return Ok(None);
        }
        Ok(Some(IdempotencyRecord {
            customer_id: UserId::new(record.customer_id),
            key: record.key,
            fingerprint: record.fingerprint,
            order_id: OrderId::new(record.order_id),
            created_at: record.created_at,
        }))
    }
}

/// The orders table item of `order` after the change that caused `events`,
/// in DynamoDB JSON: what the table's stream puts in `NewImage`. Used to
/// write ready stream payloads for tests and `cargo lambda invoke`.
pub fn order_stream_image(order: &Order, events: &[OrderEvent]) -> Result<serde_json::Value, PortError> {
    let item: serde_dynamo::Item = serde_dynamo::to_item(OrderRecord::of(order, events))
        .map_err(|e| PortError::Corrupt(format!("cannot encode item: {e}")))?;
    serde_json::to_value(item).map_err(|e| PortError::Corrupt(e.to_string()))
}
