//! `GET /ops/logs?user_id=|order_id=`: operators read collected log records.

use crate::access::require_role;
use crate::error::AppError;
use crate::pagination::page_request;
use crate::views::{ListView, LogRecordView};
use foodstream_domain::identity::{Caller, Role};
use foodstream_domain::ids::OrderId;
use foodstream_domain::ports::LogRepository;
use foodstream_domain::validation::{ValidationErrors, check_identifier};

/// The filters of the route; exactly one is required.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogQuery<'a> {
    /// The user (or store) whose records to list.
    pub user_id: Option<&'a str>,
    /// The order whose records to list.
    pub order_id: Option<&'a str>,
    /// `limit` as given: the page size.
    pub limit: Option<&'a str>,
    /// `cursor` as given: where the previous page ended.
    pub cursor: Option<&'a str>,
}

/// Operators only: the log records of one user or one order, newest first.
pub async fn list_logs(
    logs: &dyn LogRepository,
    caller: &Caller,
    query: LogQuery<'_>,
) -> Result<ListView<LogRecordView>, AppError> {
    require_role(caller, &[Role::Operator])?;
    let page = page_request(query.limit, query.cursor)?;
    let non_empty = |v: Option<&str>| v.filter(|s| !s.trim().is_empty()).map(str::to_owned);
    let (user_id, order_id) = (non_empty(query.user_id), non_empty(query.order_id));
    let mut errors = ValidationErrors::new();
    for (field, value) in [("user_id", &user_id), ("order_id", &order_id)] {
        if let Some(value) = value {
            check_identifier(&mut errors, field, value);
        }
    }
    if !errors.is_empty() {
        return Err(errors.into());
    }
    let records = match (user_id, order_id) {
        (Some(user), None) => logs.list_for_user(&user, &page).await?,
        (None, Some(order)) => logs.list_for_order(&OrderId::new(order), &page).await?,
        (Some(_), Some(_)) => {
            return Err(AppError::invalid("user_id", "give either user_id or order_id, not both"));
        }
        (None, None) => return Err(AppError::invalid("user_id", "give user_id or order_id")),
    };
    Ok(ListView::of(records, Into::into))
}
