//! Shared DynamoDB plumbing: item <-> value conversion, SDK errors as
//! `PortError`, sortable time keys and opaque pagination cursors.

use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use foodstream_domain::Timestamp;
use foodstream_domain::ports::{Page, PageRequest, PortError};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::{BTreeMap, HashMap};

pub type Item = HashMap<String, AttributeValue>;

pub fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub fn to_item<T: Serialize>(value: &T) -> Result<Item, PortError> {
    serde_dynamo::to_item(value).map_err(|e| PortError::Corrupt(format!("cannot encode item: {e}")))
}

pub fn to_value<T: Serialize>(value: &T) -> Result<AttributeValue, PortError> {
    serde_dynamo::to_attribute_value(value)
        .map_err(|e| PortError::Corrupt(format!("cannot encode value: {e}")))
}

pub fn from_item<T: DeserializeOwned>(item: Item) -> Result<T, PortError> {
    serde_dynamo::from_item(item).map_err(|e| PortError::Corrupt(format!("cannot decode item: {e}")))
}

/// Any SDK failure that is not an expected condition: the service is
/// unavailable or refused us; the batch or request may be retried.
pub fn unavailable<E, R>(error: SdkError<E, R>) -> PortError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    PortError::Unavailable(DisplayErrorContext(error).to_string())
}

/// A time as a key that sorts lexicographically in time order.
pub fn time_key(at: Timestamp) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// `{time}#{id}`: newest first when queried backwards, unique per id.
pub fn sort_key(at: Timestamp, id: &str) -> String {
    format!("{}#{id}", time_key(at))
}

/// An opaque pagination cursor: the key attributes of the last item
/// returned, bound to the list it came from (the index and the partition
/// value: the customer, the store, the store and status filter), as
/// base64url-encoded JSON. A cursor of another list, another partition or
/// another filter, or one changed by hand, is refused before DynamoDB sees
/// it (`InvalidCursor`, a 400 naming `cursor`): DynamoDB would reject a
/// foreign start key as a server-side validation error.
pub struct Cursor;

/// What a cursor is bound to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CursorScope<'a> {
    pub index: &'a str,
    /// (attribute name, value) of the partition key.
    pub partition: (&'a str, &'a str),
}

#[derive(serde::Serialize, serde::Deserialize)]
struct CursorBody<'a> {
    #[serde(borrow)]
    list: std::borrow::Cow<'a, str>,
    key: BTreeMap<String, String>,
}

impl Cursor {
    pub fn encode(item: &Item, key_attributes: &[&str], scope: CursorScope<'_>) -> Result<String, PortError> {
        let mut key = BTreeMap::new();
        for name in key_attributes {
            match item.get(*name) {
                Some(AttributeValue::S(value)) => {
                    key.insert((*name).to_owned(), value.clone());
                }
                _ => return Err(PortError::Corrupt(format!("item lacks key attribute {name}"))),
            }
        }
        let body = CursorBody { list: scope.index.into(), key };
        let json = serde_json::to_vec(&body).expect("strings always serialise");
        Ok(URL_SAFE_NO_PAD.encode(json))
    }

    pub fn decode(cursor: &str, key_attributes: &[&str], scope: CursorScope<'_>) -> Result<Item, PortError> {
        let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| PortError::InvalidCursor)?;
        let body: CursorBody = serde_json::from_slice(&bytes).map_err(|_| PortError::InvalidCursor)?;
        let mut names: Vec<&str> = body.key.keys().map(String::as_str).collect();
        names.sort_unstable();
        let mut wanted = key_attributes.to_vec();
        wanted.sort_unstable();
        let (partition_name, partition_value) = scope.partition;
        let same_list = body.list == scope.index
            && names == wanted
            && body.key.get(partition_name).map(String::as_str) == Some(partition_value);
        if !same_list {
            return Err(PortError::InvalidCursor);
        }
        Ok(body.key.into_iter().map(|(k, v)| (k, AttributeValue::S(v))).collect())
    }
}

/// One page of a query: asks for `limit + 1` items so the last page is
/// known to be last (`next_cursor` is null there, never an empty page).
pub struct QueryPage<'a> {
    pub client: &'a aws_sdk_dynamodb::Client,
    pub table: &'a str,
    pub index: Option<&'a str>,
    /// (attribute name, value) of the partition key.
    pub partition: (&'a str, AttributeValue),
    /// Every key attribute of an item in this index (table keys included).
    pub key_attributes: &'a [&'a str],
}

impl QueryPage<'_> {
    pub async fn fetch<T: DeserializeOwned>(
        self,
        page: &PageRequest,
        decode: impl Fn(Item) -> Result<T, PortError>,
    ) -> Result<Page<T>, PortError> {
        let partition_value = match &self.partition.1 {
            AttributeValue::S(value) => value.clone(),
            other => return Err(PortError::Corrupt(format!("partition key {other:?} is not a string"))),
        };
        let scope = CursorScope {
            index: self.index.unwrap_or(self.table),
            partition: (self.partition.0, &partition_value),
        };
        let start =
            page.cursor.as_deref().map(|c| Cursor::decode(c, self.key_attributes, scope)).transpose()?;
        let limit = i32::try_from(page.limit + 1).unwrap_or(i32::MAX);
        let output = self
            .client
            .query()
            .table_name(self.table)
            .set_index_name(self.index.map(String::from))
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", self.partition.0)
            .expression_attribute_values(":pk", self.partition.1)
            .scan_index_forward(false)
            .limit(limit)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(unavailable)?;
        let mut items: Vec<Item> = output.items.unwrap_or_default();
        let more = items.len() > page.limit;
        items.truncate(page.limit);
        let next_cursor = match (more, items.last()) {
            (true, Some(last)) => Some(Cursor::encode(last, self.key_attributes, scope)?),
            _ => None,
        };
        let items = items.into_iter().map(decode).collect::<Result<Vec<_>, _>>()?;
        Ok(Page { items, next_cursor })
    }
}

/// Every item of a partition (small ones: a store's menu, a zone's riders).
pub async fn query_all(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    index: Option<&str>,
    partition: (&str, AttributeValue),
) -> Result<Vec<Item>, PortError> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let output = client
            .query()
            .table_name(table)
            .set_index_name(index.map(String::from))
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", partition.0)
            .expression_attribute_values(":pk", partition.1.clone())
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(unavailable)?;
        items.extend(output.items.unwrap_or_default());
        match output.last_evaluated_key {
            Some(key) if !key.is_empty() => start = Some(key),
            _ => return Ok(items),
        }
    }
}

/// Puts `item` unless an item with its key exists (`key_attribute` is the
/// partition key). True if written: how consumers stay idempotent.
pub async fn put_new(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    item: Item,
    key_attribute: &str,
) -> Result<bool, PortError> {
    let result = client
        .put_item()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(#key)")
        .expression_attribute_names("#key", key_attribute)
        .send()
        .await;
    match result {
        Ok(_) => Ok(true),
        Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {
            Ok(false)
        }
        Err(e) => Err(unavailable(e)),
    }
}

/// True when a transaction was cancelled and reason `index` is a failed
/// condition.
pub fn condition_failed(reasons: &[aws_sdk_dynamodb::types::CancellationReason], index: usize) -> bool {
    reasons.get(index).and_then(|r| r.code()) == Some("ConditionalCheckFailed")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn cursors_round_trip_and_refuse_forgeries_and_other_lists() {
        let item: Item = [
            ("order_id".to_string(), s("o-1")),
            ("customer_id".into(), s("c")),
            ("created_sk".into(), s("t#o-1")),
        ]
        .into();
        let keys = ["customer_id", "created_sk", "order_id"];
        let mine = CursorScope { index: "by-customer", partition: ("customer_id", "c") };
        let cursor = Cursor::encode(&item, &keys, mine).unwrap();
        assert_eq!(Cursor::decode(&cursor, &keys, mine).unwrap(), item);
        assert_eq!(Cursor::decode("not base64!", &keys, mine), Err(PortError::InvalidCursor));
        assert_eq!(Cursor::decode(&cursor, &["order_id"], mine), Err(PortError::InvalidCursor));
        let someone_elses = CursorScope { index: "by-customer", partition: ("customer_id", "d") };
        assert_eq!(Cursor::decode(&cursor, &keys, someone_elses), Err(PortError::InvalidCursor));
        let other_index = CursorScope { index: "by-store", partition: ("customer_id", "c") };
        assert_eq!(Cursor::decode(&cursor, &keys, other_index), Err(PortError::InvalidCursor));
        let unbound = URL_SAFE_NO_PAD.encode(br#"{"order_id": "o-1"}"#);
        assert_eq!(Cursor::decode(&unbound, &["order_id"], mine), Err(PortError::InvalidCursor));
    }

    #[test]
    fn time_keys_sort_in_time_order() {
        let a = chrono::Utc.timestamp_opt(1_700_000_000, 5_000).unwrap();
        let b = chrono::Utc.timestamp_opt(1_700_000_000, 50_000_000).unwrap();
        let c = chrono::Utc.timestamp_opt(1_700_000_001, 0).unwrap();
        assert!(time_key(a) < time_key(b) && time_key(b) < time_key(c));
        assert_eq!(time_key(c), "2023-11-14T22:13:21.000000Z");
    }
}
