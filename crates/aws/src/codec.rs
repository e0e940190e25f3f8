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
/// returned, base64url-encoded JSON. Only string keys are used in this
/// design, and a cursor is checked to name exactly the expected attributes.
pub struct Cursor;

impl Cursor {
    pub fn encode(item: &Item, key_attributes: &[&str]) -> Result<String, PortError> {
        let mut key = BTreeMap::new();
        for name in key_attributes {
            match item.get(*name) {
                Some(AttributeValue::S(value)) => {
                    key.insert(*name, value.as_str());
                }
                _ => return Err(PortError::Corrupt(format!("item lacks key attribute {name}"))),
            }
        }
        let json = serde_json::to_vec(&key).expect("strings always serialise");
        Ok(URL_SAFE_NO_PAD.encode(json))
    }

    pub fn decode(cursor: &str, key_attributes: &[&str]) -> Result<Item, PortError> {
        let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| PortError::InvalidCursor)?;
        let key: BTreeMap<String, String> =
            serde_json::from_slice(&bytes).map_err(|_| PortError::InvalidCursor)?;
        let expected: Vec<&str> = key_attributes.to_vec();
        let mut names: Vec<&str> = key.keys().map(String::as_str).collect();
        names.sort_unstable();
        let mut wanted = expected.clone();
        wanted.sort_unstable();
        if names != wanted {
            return Err(PortError::InvalidCursor);
        }
        Ok(key.into_iter().map(|(k, v)| (k, AttributeValue::S(v))).collect())
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
        let start = page.cursor.as_deref().map(|c| Cursor::decode(c, self.key_attributes)).transpose()?;
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
            (true, Some(last)) => Some(Cursor::encode(last, self.key_attributes)?),
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
    fn cursors_round_trip_and_refuse_forgeries() {
        let item: Item = [
            ("order_id".to_string(), s("o-1")),
            ("customer_id".into(), s("c")),
            ("created_sk".into(), s("t#o-1")),
        ]
        .into();
        let keys = ["customer_id", "created_sk", "order_id"];
        let cursor = Cursor::encode(&item, &keys).unwrap();
        assert_eq!(Cursor::decode(&cursor, &keys).unwrap(), item);
        assert_eq!(Cursor::decode("not base64!", &keys), Err(PortError::InvalidCursor));
        assert_eq!(Cursor::decode(&cursor, &["order_id"]), Err(PortError::InvalidCursor));
        let other = URL_SAFE_NO_PAD.encode(br#"{"order_id": 5}"#);
        assert_eq!(Cursor::decode(&other, &["order_id"]), Err(PortError::InvalidCursor));
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
