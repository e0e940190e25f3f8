//! The notifications table (partition: the recipient, sort: time and id,
//! newest first) and the logs table (one item per log record, indexes by
//! user and by order, a TTL). Both insert only if absent, so a replayed
//! event stores nothing twice.

use crate::access::{Grant, index, table};
use crate::codec::{QueryPage, from_item, put_new, s, sort_key, to_item, to_value};
use crate::schema::{LOGS, NOTIFICATIONS};
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use foodstream_domain::ids::{OrderId, Recipient};
use foodstream_domain::log::LogRecord;
use foodstream_domain::notification::Notification;
use foodstream_domain::ports::{LogRepository, NotificationRepository, Page, PageRequest, PortError};
use serde::Deserialize;

/// The notifications table: each recipient's notifications, newest first.
#[derive(Clone)]
pub struct DynamoNotifications {
    client: Client,
    table: String,
}

impl DynamoNotifications {
    /// `insert`: put once.
    pub const INSERT: &[Grant] = &[Grant::new("dynamodb:PutItem", table(&NOTIFICATIONS))];
    /// `list_for`: a recipient's page.
    pub const LIST_FOR: &[Grant] = &[Grant::new("dynamodb:Query", table(&NOTIFICATIONS))];

    /// The notifications `table`, reached through `client`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoNotifications { client, table: table.into() }
    }
}

#[derive(Deserialize)]
struct StoredNotification {
    notification: Notification,
}

#[async_trait]
impl NotificationRepository for DynamoNotifications {
    async fn insert(&self, notification: &Notification) -> Result<bool, PortError> {
        let mut item = std::collections::HashMap::new();
        // `user#{sub}` or `store#{id}`: the first part is one of two fixed
        // tags, so no two recipients share a partition whatever the id holds.
        item.insert("recipient".to_string(), s(notification.recipient.key()));
        item.insert(
            "created_sk".to_string(),
            s(sort_key(notification.created_at, notification.notification_id.as_str())),
        );
        item.insert("notification".to_string(), to_value(notification)?);
        put_new(&self.client, &self.table, item, "recipient").await
    }

    async fn list_for(
        &self,
        recipient: &Recipient,
        page: &PageRequest,
    ) -> Result<Page<Notification>, PortError> {
        QueryPage {
            client: &self.client,
            table: &self.table,
            index: None,
            partition: ("recipient", s(recipient.key())),
            key_attributes: &["recipient", "created_sk"],
        }
        .fetch(page, |item| from_item::<StoredNotification>(item).map(|n| n.notification))
        .await
    }
}

/// The logs table: the log records, listed by user or by order.
#[derive(Clone)]
pub struct DynamoLogs {
    client: Client,
    table: String,
}

impl DynamoLogs {
    /// `insert`: put once.
    pub const INSERT: &[Grant] = &[Grant::new("dynamodb:PutItem", table(&LOGS))];
    /// `list_for_user`.
    pub const LIST_FOR_USER: &[Grant] = &[Grant::new("dynamodb:Query", index(&LOGS, "by-user"))];
    /// `list_for_order`.
    pub const LIST_FOR_ORDER: &[Grant] = &[Grant::new("dynamodb:Query", index(&LOGS, "by-order"))];

    /// The logs `table`, reached through `client`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoLogs { client, table: table.into() }
    }

    fn query(&self, index: &'static str, partition: (&'static str, String)) -> QueryPage<'_> {
        let key_attributes: &'static [&'static str] = match index {
            "by-user" => &["user_id", "created_sk", "log_id"],
            _ => &["order_id", "created_sk", "log_id"],
        };
        QueryPage {
            client: &self.client,
            table: &self.table,
            index: Some(index),
            partition: (partition.0, s(partition.1)),
            key_attributes,
        }
    }
}

#[async_trait]
impl LogRepository for DynamoLogs {
    async fn insert(&self, record: &LogRecord) -> Result<bool, PortError> {
        let mut item = to_item(record)?;
        item.insert("created_sk".to_string(), s(sort_key(record.created_at, record.log_id.as_str())));
        // The TTL attribute must be a number of epoch seconds.
        item.insert("expires_at_epoch".to_string(), crate::codec::n(record.expires_at.timestamp()));
        put_new(&self.client, &self.table, item, "log_id").await
    }

    async fn list_for_user(&self, user_id: &str, page: &PageRequest) -> Result<Page<LogRecord>, PortError> {
        self.query("by-user", ("user_id", user_id.to_owned())).fetch(page, from_item::<LogRecord>).await
    }

    async fn list_for_order(
        &self,
        order: &OrderId,
        page: &PageRequest,
    ) -> Result<Page<LogRecord>, PortError> {
        self.query("by-order", ("order_id", order.to_string())).fetch(page, from_item::<LogRecord>).await
    }
}
