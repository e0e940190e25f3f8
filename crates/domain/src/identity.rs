//! Who is calling. Identity comes only from verified token claims (API
//! Gateway's JWT authorizer); the domain just reads them.

use crate::ids::{StoreId, UserId};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Customer,
    Owner,
    Operator,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Customer => "customer",
            Role::Owner => "owner",
            Role::Operator => "operator",
        }
    }

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
    pub user_id: UserId,
    pub role: Role,
    /// Present for owners (the store they run); ignored for other roles.
    pub store_id: Option<StoreId>,
}

impl Caller {
    pub fn customer(user_id: impl Into<UserId>) -> Self {
        Self { user_id: user_id.into(), role: Role::Customer, store_id: None }
    }

    pub fn owner(user_id: impl Into<UserId>, store_id: impl Into<StoreId>) -> Self {
        Self { user_id: user_id.into(), role: Role::Owner, store_id: Some(store_id.into()) }
    }

    pub fn operator(user_id: impl Into<UserId>) -> Self {
        Self { user_id: user_id.into(), role: Role::Operator, store_id: None }
    }

    /// True when this caller is the owner of `store`.
    pub fn owns(&self, store: &StoreId) -> bool {
        self.role == Role::Owner && self.store_id.as_ref() == Some(store)
    }
}
