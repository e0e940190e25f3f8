//! Identifiers as distinct types, so an order id can never be passed where a
//! store id is expected.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! string_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The id of `value`, taken as is (validation happens at the edges).
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self(value.to_owned())
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self(value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }
    };
}

string_id!(
    /// An order, as handed out on placement.
    OrderId
);
string_id!(
    /// A store; an owner's token names the one store they run.
    StoreId
);
string_id!(
    /// A signed-in person: the `sub` claim of their token.
    UserId
);
string_id!(
    /// A menu item within a store.
    ProductId
);
string_id!(
    /// A delivery rider.
    RiderId
);
string_id!(
    /// A stored notification.
    NotificationId
);
string_id!(
    /// A collected log record.
    LogId
);
string_id!(
    /// One event on a topic; consumers deduplicate on it.
    EventId
);

/// Who a notification is addressed to. Owners are notified as their store,
/// so every owner of a store sees the same notifications.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Recipient {
    /// A customer, by their user id.
    Customer(UserId),
    /// A store: every owner of it sees the notification.
    Store(StoreId),
}

impl Recipient {
    /// The bare id: a user id or a store id.
    pub fn id(&self) -> &str {
        match self {
            Recipient::Customer(user) => user.as_str(),
            Recipient::Store(store) => store.as_str(),
        }
    }

    /// The key notifications are stored and listed under.
    pub fn key(&self) -> String {
        match self {
            Recipient::Customer(user) => format!("user#{user}"),
            Recipient::Store(store) => format!("store#{store}"),
        }
    }
}
