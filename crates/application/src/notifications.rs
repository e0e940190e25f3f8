//! `GET /me/notifications`: customers read theirs; owners read their
//! store's (owners are notified as their store).

use crate::access::owner_store;
use crate::error::AppError;
use crate::pagination::page_request;
use crate::views::{ListView, NotificationView};
use foodstream_domain::identity::{Caller, Role};
use foodstream_domain::ids::Recipient;
use foodstream_domain::ports::NotificationRepository;

/// The caller's notifications, newest first: an owner's are their store's.
pub async fn list_my_notifications(
    notifications: &dyn NotificationRepository,
    caller: &Caller,
    limit: Option<&str>,
    cursor: Option<&str>,
) -> Result<ListView<NotificationView>, AppError> {
    let recipient = match caller.role {
        Role::Owner => Recipient::Store(owner_store(caller)?.clone()),
        Role::Customer | Role::Operator => Recipient::Customer(caller.user_id.clone()),
    };
    let page = notifications.list_for(&recipient, &page_request(limit, cursor)?).await?;
    Ok(ListView::of(page, Into::into))
}
