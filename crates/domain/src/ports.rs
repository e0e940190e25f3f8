//! Ports: what the use cases need from the outside world, as small traits.
//! DynamoDB, S3, Kafka, the clock and id generation are adapters behind
//! them; every port also has an in-memory implementation for fast tests.
//!
//! Atomicity is part of the contract: where a method says "atomically", an
//! adapter must apply all of it or none of it (one DynamoDB transaction, one
//! lock in memory).

use crate::Timestamp;
use crate::catalog::{MenuItem, MenuItemChange};
use crate::delivery::{Delivery, Rider, Zone};
use crate::events::OrderEvent;
use crate::ids::Recipient;
use crate::ids::{OrderId, ProductId, RiderId, StoreId, UserId};
use crate::log::LogRecord;
use crate::notification::Notification;
use crate::order::Order;
use crate::stock::{ShortLine, StockPlan};
use crate::timer::CompletionDue;
use crate::values::OrderStatus;
use async_trait::async_trait;
use chrono::Duration;

/// A storage or messaging failure that is not the caller's fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortError {
    /// The backing service failed or could not be reached; retrying may help.
    #[error("dependency unavailable: {0}")]
    Unavailable(String),
    /// Stored data could not be read back; needs an operator.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    /// A pagination cursor that this adapter did not hand out.
    #[error("invalid pagination cursor")]
    InvalidCursor,
}

/// One page of a list, newest first unless said otherwise.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The page's items.
    pub items: Vec<T>,
    /// Opaque; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// Which page of a list to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    /// The most items to return.
    pub limit: usize,
    /// Where to go on from: a previous page's `next_cursor`; `None` for the
    /// first page.
    pub cursor: Option<String>,
}

// ---------------------------------------------------------------------------
// Catalog

/// Why a menu item was not saved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SaveItemError {
    /// `expected_version` did not match: the stored item is at `current`
    /// (`None`: there is no such item). Nothing was written.
    #[error("the item changed since it was read")]
    StaleVersion {
        /// The stored item's version, if there is one.
        current: Option<u64>,
    },
    /// Storage failed ([`PortError`]).
    #[error(transparent)]
    Port(#[from] PortError),
}

/// Stores' menus.
#[async_trait]
pub trait CatalogRepository: Send + Sync {
    /// Atomically: creates the item or updates the stored one (keeping its
    /// stock when the change names none), only if it is still at the
    /// change's expected version when one is given, and moves the version
    /// on. Answers the item as stored.
    async fn save_item(&self, change: &MenuItemChange) -> Result<MenuItem, SaveItemError>;
    /// Every item of `store`.
    async fn list_items(&self, store: &StoreId) -> Result<Vec<MenuItem>, PortError>;
    /// The items of `store` among `products`; unknown ones are left out.
    async fn get_items(&self, store: &StoreId, products: &[ProductId]) -> Result<Vec<MenuItem>, PortError>;
}

// ---------------------------------------------------------------------------
// Orders

/// What a customer's idempotency key was first used for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    /// The customer who used the key.
    pub customer_id: UserId,
    /// The `Idempotency-Key` header's value.
    pub key: String,
    /// The fingerprint of the first request's body: a retry must match it.
    pub fingerprint: String,
    /// The order the first request placed.
    pub order_id: OrderId,
    /// When the key was first used.
    pub created_at: Timestamp,
}

/// A new order with everything that must happen with it.
#[derive(Debug, Clone, PartialEq)]
pub struct Placement {
    /// The new order.
    pub order: Order,
    /// The events of the change, stored with the order (transactional
    /// outbox) and published from the table's change stream.
    pub events: Vec<OrderEvent>,
    /// The stock the order takes.
    pub stock: StockPlan,
    /// The idempotency key to record, when the request had one.
    pub idempotency: Option<IdempotencyRecord>,
}

/// Why an order was not placed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlaceError {
    /// A line is short of stock: the lines named; nothing was taken.
    #[error("not enough stock")]
    StockShort(Vec<ShortLine>),
    /// Another request took the idempotency key first.
    #[error("idempotency key already used")]
    IdempotencyKeyTaken,
    /// Storage failed ([`PortError`]).
    #[error(transparent)]
    Port(#[from] PortError),
}

/// A change of an existing order.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderUpdate {
    /// The order after the change.
    pub order: Order,
    /// The version the change was computed from; the write happens only if
    /// the stored order is still at it.
    pub expected_version: u64,
    /// The events of the change, stored with the order (transactional outbox).
    pub events: Vec<OrderEvent>,
    /// Stock to give back in the same write (rejection, cancellation).
    pub stock: Option<StockPlan>,
}

/// Why an order change was not written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpdateError {
    /// The order changed since it was read.
    #[error("the order changed concurrently")]
    VersionConflict,
    /// Storage failed ([`PortError`]).
    #[error(transparent)]
    Port(#[from] PortError),
}

/// Orders, with their outbox events and idempotency keys.
#[async_trait]
pub trait OrderRepository: Send + Sync {
    /// Atomically: takes the stock of every line (each conditional on
    /// enough stock), creates the order with its outbox events, and records
    /// the idempotency key (conditional on it being new).
    async fn place(&self, placement: &Placement) -> Result<(), PlaceError>;
    /// The order, if it exists.
    async fn get(&self, order: &OrderId) -> Result<Option<Order>, PortError>;
    /// Atomically: writes the order if still at `expected_version`, with its
    /// outbox events, and applies the stock plan if any.
    async fn update(&self, update: &OrderUpdate) -> Result<(), UpdateError>;
    /// A customer's orders, newest first.
    async fn list_for_customer(
        &self,
        customer: &UserId,
        page: &PageRequest,
    ) -> Result<Page<Order>, PortError>;
    /// A store's orders, newest first, optionally of one status.
    async fn list_for_store(
        &self,
        store: &StoreId,
        status: Option<OrderStatus>,
        page: &PageRequest,
    ) -> Result<Page<Order>, PortError>;
    /// The idempotency record of `customer`'s `key`, if it was used.
    async fn find_idempotency(
        &self,
        customer: &UserId,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, PortError>;
    /// Up to `limit` orders still DELIVERY_REQUESTED that entered that
    /// status at or before `requested_by`, oldest first: the requests the
    /// sweeper finishes when no decision reached them.
    async fn awaiting_delivery(&self, requested_by: Timestamp, limit: usize)
    -> Result<Vec<Order>, PortError>;
}

// ---------------------------------------------------------------------------
// Riders and deliveries

/// Riders and their zones.
#[async_trait]
pub trait RiderRepository: Send + Sync {
    /// Registers a rider, or moves an existing one to `zone` keeping their
    /// status and current delivery.
    async fn upsert(&self, rider: &RiderId, zone: &Zone, at: Timestamp) -> Result<Rider, PortError>;
    /// The rider, if registered.
    async fn get(&self, rider: &RiderId) -> Result<Option<Rider>, PortError>;
    /// Every rider of `zone`, whatever their status.
    async fn in_zone(&self, zone: &Zone) -> Result<Vec<Rider>, PortError>;
}

/// How an assignment write went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssignOutcome {
    /// The rider was taken and the delivery recorded.
    Assigned,
    /// The rider was no longer available; try the next one.
    RiderTaken,
    /// This delivery attempt was already recorded (a replay): nothing changed.
    AlreadyRecorded,
}

/// The dispatcher's delivery attempts, and the riders they take.
#[async_trait]
pub trait DeliveryRepository: Send + Sync {
    /// The attempt with this id ([`Delivery::id`]), if recorded.
    async fn get(&self, delivery_id: &str) -> Result<Option<Delivery>, PortError>;
    /// Atomically: takes the delivery's rider (only if available) and
    /// records the assigned delivery (only if not recorded yet).
    async fn assign(&self, delivery: &Delivery) -> Result<AssignOutcome, PortError>;
    /// Records a failed attempt, unless already recorded. True if written.
    async fn record_failure(&self, delivery: &Delivery) -> Result<bool, PortError>;
    /// Atomically: marks the delivery completed (only if still assigned) and
    /// frees its rider (only if still on this delivery), available from
    /// `at`. False when it was already completed.
    async fn complete(&self, delivery: &Delivery, at: Timestamp) -> Result<bool, PortError>;
    /// Assigned deliveries due to complete at or before `due_by`, oldest
    /// first, at most `limit`: what the sweeper finishes when the
    /// dispatcher could not.
    async fn overdue(&self, due_by: Timestamp, limit: usize) -> Result<Vec<Delivery>, PortError>;
}

/// A durable timer for delivery completions: what the dispatcher hands the
/// delivery's wait to, so that no function sleeps through it.
#[async_trait]
pub trait DeliveryTimer: Send + Sync {
    /// Keeps `due` durably and hands it to the completer once `after` has
    /// passed (rounded up to the timer's precision; never earlier). An
    /// error means it was not kept, and the caller is retried.
    async fn schedule(&self, due: &CompletionDue, after: std::time::Duration) -> Result<(), PortError>;
}

// ---------------------------------------------------------------------------
// Notifications and logs

/// Stored notifications.
#[async_trait]
pub trait NotificationRepository: Send + Sync {
    /// Stores the notification unless one with its id exists. True if new.
    async fn insert(&self, notification: &Notification) -> Result<bool, PortError>;
    /// A recipient's notifications, newest first.
    async fn list_for(
        &self,
        recipient: &Recipient,
        page: &PageRequest,
    ) -> Result<Page<Notification>, PortError>;
}

/// Collected log records.
#[async_trait]
pub trait LogRepository: Send + Sync {
    /// Stores the record unless one with its id exists. True if new.
    async fn insert(&self, record: &LogRecord) -> Result<bool, PortError>;
    /// The records of notifications for `user_id` (a user or a store), newest
    /// first.
    async fn list_for_user(&self, user_id: &str, page: &PageRequest) -> Result<Page<LogRecord>, PortError>;
    /// The records of one order, newest first.
    async fn list_for_order(&self, order: &OrderId, page: &PageRequest)
    -> Result<Page<LogRecord>, PortError>;
}

// ---------------------------------------------------------------------------
// Messaging, objects, time, ids

/// One message for a topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMessage {
    /// The topic to publish on.
    pub topic: &'static str,
    /// The partition key (see [`Envelope::key`](crate::events::Envelope::key)).
    pub key: String,
    /// The event's id, for logs and deduplication.
    pub event_id: String,
    /// The event as JSON.
    pub payload: Vec<u8>,
    /// The trace of the order the message is about, sent as the record's
    /// `traceparent` header.
    pub trace: Option<crate::trace::TraceParent>,
}

impl OutgoingMessage {
    /// The message of `event`, outside any trace.
    pub fn of<K: crate::events::EventType, D: serde::Serialize>(
        event: &crate::events::Envelope<K, D>,
    ) -> Self {
        OutgoingMessage {
            topic: event.topic(),
            key: event.key().to_owned(),
            event_id: event.event_id.to_string(),
            payload: event.to_json(),
            trace: None,
        }
    }

    /// The message within `trace` (the one its cause came with).
    pub fn traced(self, trace: Option<&crate::trace::TraceParent>) -> Self {
        OutgoingMessage { trace: trace.cloned(), ..self }
    }
}

/// Publishes to the topics (Kafka).
#[async_trait]
pub trait EventPublisher: Send + Sync {
    /// Publishes every message and returns once the broker acknowledged all
    /// of them. Messages with the same key keep their order.
    async fn publish(&self, messages: &[OutgoingMessage]) -> Result<(), PortError>;
}

/// A record a consumer can never process (not JSON, an unknown type, the
/// wrong shape, an order that does not exist): kept with its payload so an
/// operator can replay it once the cause is fixed, instead of blocking its
/// partition or shard through retries that cannot succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// The function that gave up on it.
    pub consumer: String,
    /// Where it came from: `topic-partition@offset`, the stream record's
    /// sequence number or the SQS message's id.
    pub source: String,
    /// Why it can never be processed.
    pub reason: String,
    /// The record as the function received it, as a batch of its own: the
    /// event Lambda would have invoked the function with had the record
    /// come alone (JSON). An `aws:kafka` event with the one record under its
    /// `topic-partition`, or `{"Records": [record]}` for a stream record or
    /// an SQS message; what a replay re-drives, whatever its size.
    pub record: serde_json::Value,
}

/// Where unprocessable records are kept for an operator.
#[async_trait]
pub trait DeadLetters: Send + Sync {
    /// Keeps the letter durably; an error means it was not kept (the record
    /// is then retried rather than lost).
    async fn park(&self, letter: &DeadLetter) -> Result<(), PortError>;
}

/// A browser-form upload (S3 presigned POST): the form's `fields` go with
/// the file to `url`, and the signed policy in them fixes the key, the
/// content type and the size range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresignedUpload {
    /// Where to post the form.
    pub url: String,
    /// The form fields to send with the file, the signed policy among them.
    pub fields: std::collections::BTreeMap<String, String>,
    /// When the policy expires.
    pub expires_at: Timestamp,
}

/// What object storage knows of an uploaded photo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPhoto {
    /// The object's size.
    pub bytes: u64,
    /// The content type it was uploaded with, if any.
    pub content_type: Option<String>,
    /// The object's entity tag: which upload this is. A new upload at the
    /// same key has another.
    pub etag: String,
}

/// How pinning a checked photo went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pinned {
    /// The checked object was copied to `key`, which no upload can write.
    At {
        /// The pinned copy's key.
        key: String,
    },
    /// The object at the key is no longer the one that was checked (a new
    /// upload replaced it meanwhile): check again.
    Changed,
}

/// Object storage for refund photos (S3).
#[async_trait]
pub trait PhotoStore: Send + Sync {
    /// A presigned POST for `key` whose policy allows only `content_type`
    /// and 1..=`max_bytes` bytes, valid for `expires_in`. (The use case also
    /// checks what was uploaded, for stores that do not enforce policies.)
    async fn presign_upload(
        &self,
        key: &str,
        content_type: &str,
        max_bytes: u64,
        expires_in: Duration,
    ) -> Result<PresignedUpload, PortError>;
    /// The uploaded object at `key`, if any.
    async fn stat(&self, key: &str) -> Result<Option<StoredPhoto>, PortError>;
    /// Copies exactly `checked` (the object `stat` saw at `key`, matched by
    /// its entity tag) to a key of its own that no presigned upload can
    /// write, so what a refund shows can never be replaced afterwards.
    /// The copy's key is derived from `key` and the entity tag: pinning the
    /// same upload again lands on the same object.
    async fn pin(&self, key: &str, checked: &StoredPhoto) -> Result<Pinned, PortError>;
}

/// The time, for everything that must read it.
#[async_trait]
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> Timestamp;
    /// Waits until `at` (returns at once if it has passed).
    async fn sleep_until(&self, at: Timestamp);
}

/// Where new ids come from.
pub trait IdGenerator: Send + Sync {
    /// A new, unique, URL-safe id.
    fn new_id(&self) -> String;
}
