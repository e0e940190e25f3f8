//! Who may do what. Identity comes only from the verified token's claims
//! (`sub`, `role`, `store_id`); these checks turn them into 401/403/404.
//!
//! - a wrong role is 403;
//! - a route naming a store (`/stores/{storeId}/...`) by an owner of another
//!   store is 403: the store id is public, nothing leaks;
//! - an order that is not the caller's is 404, exactly like an unknown one,
//!   so order ids cannot be probed.

use crate::error::AppError;
use foodstream_domain::identity::{Caller, Role};
use foodstream_domain::ids::{OrderId, StoreId};
use foodstream_domain::order::Order;
use foodstream_domain::ports::OrderRepository;

/// Builds the caller from token claims; missing or unknown ones are 401
/// (the gateway verified the token, but it does not carry our claims).
pub fn caller_from_claims(
    sub: Option<&str>,
    role: Option<&str>,
    store_id: Option<&str>,
) -> Result<Caller, AppError> {
    let sub = sub
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| AppError::Unauthenticated("the token has no sub".into()))?;
    let role = role.ok_or_else(|| AppError::Unauthenticated("the token has no role claim".into()))?;
    let role = Role::parse(role).ok_or_else(|| {
        AppError::Unauthenticated(format!("unknown role {role:?}: customer, owner or operator"))
    })?;
    Ok(Caller {
        user_id: sub.into(),
        role,
        store_id: store_id.filter(|s| !s.trim().is_empty()).map(StoreId::from),
    })
}

/// Refuses (403) a caller whose role is not among `allowed`.
pub fn require_role(caller: &Caller, allowed: &[Role]) -> Result<(), AppError> {
    if allowed.contains(&caller.role) {
        Ok(())
    } else {
        let names: Vec<&str> = allowed.iter().map(|r| r.as_str()).collect();
        Err(AppError::Forbidden(format!("only {} may do this", names.join(" or "))))
    }
}

/// The store an owner runs; an owner token without `store_id` can do
/// nothing store-related.
pub fn owner_store(caller: &Caller) -> Result<&StoreId, AppError> {
    require_role(caller, &[Role::Owner])?;
    caller
        .store_id
        .as_ref()
        .ok_or_else(|| AppError::Forbidden("the owner token has no store_id claim".into()))
}

/// For routes naming a store: only its owner.
pub fn require_store_owner(caller: &Caller, store: &StoreId) -> Result<(), AppError> {
    if owner_store(caller)? == store {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!("you do not own store {store}")))
    }
}

/// Loads an order the caller is a party to, or 404.
pub async fn load_visible_order(
    orders: &dyn OrderRepository,
    caller: &Caller,
    order_id: &OrderId,
) -> Result<Order, AppError> {
    let not_found = || AppError::NotFound(format!("order {order_id}"));
    let order = orders.get(order_id).await?.ok_or_else(not_found)?;
    if order.is_visible_to(caller.role, &caller.user_id, caller.store_id.as_ref()) {
        Ok(order)
    } else {
        Err(not_found())
    }
}

/// An order of the owner's store (404 otherwise).
pub async fn load_store_order(
    orders: &dyn OrderRepository,
    caller: &Caller,
    order_id: &str,
) -> Result<Order, AppError> {
    owner_store(caller)?;
    load_visible_order(orders, caller, &OrderId::new(order_id)).await
}

/// One of the customer's own orders (404 otherwise).
pub async fn load_customer_order(
    orders: &dyn OrderRepository,
    caller: &Caller,
    order_id: &str,
) -> Result<Order, AppError> {
    require_role(caller, &[Role::Customer])?;
    load_visible_order(orders, caller, &OrderId::new(order_id)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_without_sub_or_with_unknown_role_are_401() {
        assert!(matches!(
            caller_from_claims(None, Some("customer"), None),
            Err(AppError::Unauthenticated(_))
        ));
        assert!(matches!(
            caller_from_claims(Some("u"), Some("admin"), None),
            Err(AppError::Unauthenticated(_))
        ));
        let owner = caller_from_claims(Some("u"), Some("owner"), Some("s-1")).unwrap();
        assert!(owner.owns(&StoreId::new("s-1")));
    }

    #[test]
    fn wrong_role_and_other_store_are_403() {
        let customer = Caller::customer("c");
        assert!(matches!(require_store_owner(&customer, &StoreId::new("s")), Err(AppError::Forbidden(_))));
        let owner = Caller::owner("o", "s-1");
        assert!(require_store_owner(&owner, &StoreId::new("s-1")).is_ok());
        assert!(matches!(require_store_owner(&owner, &StoreId::new("s-2")), Err(AppError::Forbidden(_))));
        let storeless = Caller { store_id: None, ..owner };
        assert!(matches!(owner_store(&storeless), Err(AppError::Forbidden(_))));
    }
}
