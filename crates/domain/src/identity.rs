//! Who is calling. Identity comes only from verified token claims (API
//! Gateway's JWT authorizer); the domain just reads them.

use crate::ids::{StoreId, UserId};
use serde::{Deserialize, Serialize};

/// What a caller may do, from the token's `role` claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Orders food, follows their orders, asks for refunds.
    Customer,
    /// Runs one store: its menu and its orders.
    Owner,
    /// Runs the platform: riders and log records, never orders.
    Operator,
}

impl Role {
    /// The claim value (`"owner"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Customer => "customer",
            Role::Owner => "owner",
            Role::Operator => "operator",
        }
    }

    /// The role of a claim value; `None` for anything else (the caller is
    /// then refused).
    pub fn parse(value: &str) -> Option<Role> {
        match value {
            "customer" => Some(Role::Customer),
            "owner" => Some(Role::Owner),
            "operator" => Some(Role::Operator),
            _ => None,
        }
    }
}

/// The verified caller of a request: `sub`, `role` and, for owners,
/// `store_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The `sub` claim.
    pub user_id: UserId,
    /// The `role` claim.
    pub role: Role,
    /// Present for owners (the store they run); ignored for other roles.
    pub store_id: Option<StoreId>,
}

impl Caller {
    /// A customer.
    pub fn customer(user_id: impl Into<UserId>) -> Self {
        Self { user_id: user_id.into(), role: Role::Customer, store_id: None }
    }

    /// The owner of `store_id`.
    pub fn owner(user_id: impl Into<UserId>, store_id: impl Into<StoreId>) -> Self {
        Self { user_id: user_id.into(), role: Role::Owner, store_id: Some(store_id.into()) }
    }

    /// An operator.
    pub fn operator(user_id: impl Into<UserId>) -> Self {
        Self { user_id: user_id.into(), role: Role::Operator, store_id: None }
    }

    /// True when this caller is the owner of `store`.
    pub fn owns(&self, store: &StoreId) -> bool {
        self.role == Role::Owner && self.store_id.as_ref() == Some(store)
    }
}
