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
    composite_key(&time_key(at), id)
}

/// One stored key made of two values, at least one from outside (a user
/// id, an Idempotency-Key, a store id): `{first}#{second}`, with every `%`
/// and `#` of `first` escaped as `%25` and `%23`. The first `#` of the key
/// is then always the separator, so two different pairs never share a key
/// (`u1#k` + `x` is `u1%23k#x`, `u1` + `k#x` is `u1#k#x`). A first value
/// without `%` or `#` (a time, a store id, a UUID `sub`) is kept as is, so
/// those keys read as they did before the escaping.
pub fn composite_key(first: &str, second: &str) -> String {
    let mut key = String::with_capacity(first.len() + second.len() + 1);
    for c in first.chars() {
        match c {
            '%' => key.push_str("%25"),
            '#' => key.push_str("%23"),
            c => key.push(c),
        }
    }
    key.push('#');
    key.push_str(second);
    key
}

/// DynamoDB's largest partition key value, in bytes (UTF-8).
pub const MAX_PARTITION_KEY_BYTES: usize = 2048;
/// DynamoDB's largest sort key value, in bytes (UTF-8).
pub const MAX_SORT_KEY_BYTES: usize = 1024;

/// An opaque pagination cursor: the key attributes of the last item
/// returned, bound to the list it came from (the index and the partition
/// value: the customer, the store, the store and status filter), as
/// base64url-encoded JSON. A cursor of another list, another partition or
/// another filter, or one changed by hand, is refused before DynamoDB sees
/// it (`InvalidCursor`, a 400 naming `cursor`): DynamoDB would reject a
/// foreign start key as a server-side validation error.
///
/// `key_attributes` are, in this order: the list's partition key, its sort
/// key (`{time}#{id}`, see `sort_key`) and, on an index, the table's key,
/// whose value is that `{id}`. A cursor is refused unless every value is a
/// non-empty string within DynamoDB's key size (sort key 1024 bytes, the
/// others 2048), the sort key has that shape, and the cursor is at most
/// [`Cursor::MAX_CHARS`] long.
pub struct Cursor;

/// What a cursor is bound to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CursorScope<'a> {
    /// The index the list is read from, or the table's name for a list
    /// of the table itself.
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
    /// The longest cursor: what the API takes in `?cursor=`
    /// (crates/application/src/pagination.rs). Ids at the API's bounds make
    /// cursors of at most about 800 (crates/aws/tests/limits.rs).
    pub const MAX_CHARS: usize = 2048;

    /// The cursor that resumes the list after `item`, the last one of a
    /// page: its `key_attributes`, bound to `scope`. An item lacking one,
    /// or keys too long for a cursor of [`Cursor::MAX_CHARS`], is `Corrupt`.
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
        let json = serde_json::to_vec(&body).map_err(|e| PortError::Corrupt(format!("cursor: {e}")))?;
        let cursor = URL_SAFE_NO_PAD.encode(json);
        // Never hand out a cursor the API would refuse: the list could not
        // be read past this page. Ids within the API's bounds never get here.
        if cursor.len() > Self::MAX_CHARS {
            return Err(PortError::Corrupt(format!(
                "a cursor of {} characters, over {}: the keys of {} are too long",
                cursor.len(),
                Self::MAX_CHARS,
                scope.index
            )));
        }
        Ok(cursor)
    }

    /// The start key a client's `cursor` stands for, or `InvalidCursor`
    /// unless it is one [`Cursor::encode`] made for this very `scope` and
    /// `key_attributes`, with keys DynamoDB would take.
    pub fn decode(cursor: &str, key_attributes: &[&str], scope: CursorScope<'_>) -> Result<Item, PortError> {
        if cursor.len() > Self::MAX_CHARS {
            return Err(PortError::InvalidCursor);
        }
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
        if !same_list || !usable_key(&body.key, key_attributes) {
            return Err(PortError::InvalidCursor);
        }
        Ok(body.key.into_iter().map(|(k, v)| (k, AttributeValue::S(v))).collect())
    }
}

/// Whether DynamoDB would take `key` as a start key: no empty value, none
/// over its size, the sort key (`key_attributes[1]`) a `{time}#{id}` whose
/// id is the table's key (`key_attributes[2]`) when the list has one.
fn usable_key(key: &BTreeMap<String, String>, key_attributes: &[&str]) -> bool {
    let value = |i: usize| key_attributes.get(i).and_then(|name| key.get(*name)).map(String::as_str);
    let within = key_attributes.iter().enumerate().all(|(i, name)| {
        let max = if i == 1 { MAX_SORT_KEY_BYTES } else { MAX_PARTITION_KEY_BYTES };
        key.get(*name).is_some_and(|v| !v.is_empty() && v.len() <= max)
    });
    let shaped = match value(1) {
        None => true,
        Some(sort) => match sort.split_once('#') {
            Some((time, id)) => {
                is_time_key(time) && !id.is_empty() && value(2).is_none_or(|table_key| table_key == id)
            }
            None => false,
        },
    };
    within && shaped
}

/// Whether `text` is a [`time_key`] exactly as written.
fn is_time_key(text: &str) -> bool {
    chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.6fZ")
        .is_ok_and(|at| time_key(at.and_utc()) == text)
}

/// One page of a query, newest first. Asks for `limit + 1` items so the
/// last page is known to be last. DynamoDB stops a query at 1 MB of items
/// (`LastEvaluatedKey` with fewer items than asked): the page ends there,
/// shorter than `limit`, with a cursor when a one-item probe finds more.
/// So `next_cursor` is null exactly on the last page.
pub struct QueryPage<'a> {
    pub client: &'a aws_sdk_dynamodb::Client,
    pub table: &'a str,
    pub index: Option<&'a str>,
    /// (attribute name, value) of the partition key.
    pub partition: (&'a str, AttributeValue),
    /// Every key attribute of an item in this index: the partition key, the
    /// sort key, then the table's key on an index (see [`Cursor`]).
    pub key_attributes: &'a [&'a str],
}

/// Reads that found nothing while DynamoDB said there was more: only a
/// filter could do that, and lists have none; past them the page is empty
/// with a cursor to go on from.
const EMPTY_READS: usize = 4;

impl QueryPage<'_> {
    fn query(&self) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        self.client
            .query()
            .table_name(self.table)
            .set_index_name(self.index.map(String::from))
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", self.partition.0)
            .expression_attribute_values(":pk", self.partition.1.clone())
            .scan_index_forward(false)
    }

    /// Whether any item follows `after`: one item counted, none read.
    async fn any_after(&self, after: Item) -> Result<bool, PortError> {
        let output = self
            .query()
            .select(aws_sdk_dynamodb::types::Select::Count)
            .limit(1)
            .set_exclusive_start_key(Some(after))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(output.count > 0 || output.last_evaluated_key.is_some_and(|key| !key.is_empty()))
    }

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
        let mut start =
            page.cursor.as_deref().map(|c| Cursor::decode(c, self.key_attributes, scope)).transpose()?;
        // A page holds at least one item: zero would hand out no cursor
        // while more items exist.
        let limit = page.limit.max(1);
        let ask = i32::try_from(limit + 1).unwrap_or(i32::MAX);
        for _ in 0..EMPTY_READS {
            let output = self
                .query()
                .limit(ask)
                .set_exclusive_start_key(start.clone())
                .send()
                .await
                .map_err(unavailable)?;
            let mut items: Vec<Item> = output.items.unwrap_or_default();
            let stopped_at = output.last_evaluated_key.filter(|key| !key.is_empty());
            let more = if items.len() > limit {
                items.truncate(limit);
                true
            } else {
                match stopped_at {
                    None => false,
                    Some(key) if items.is_empty() => {
                        start = Some(key);
                        continue;
                    }
                    // DynamoDB's 1 MB ended the read first.
                    Some(key) => self.any_after(key).await?,
                }
            };
            let next_cursor = match (more, items.last()) {
                (true, Some(last)) => Some(Cursor::encode(last, self.key_attributes, scope)?),
                _ => None,
            };
            let items = items.into_iter().map(&decode).collect::<Result<Vec<_>, _>>()?;
            return Ok(Page { items, next_cursor });
        }
        let next_cursor = start.map(|key| Cursor::encode(&key, self.key_attributes, scope)).transpose()?;
        Ok(Page { items: Vec::new(), next_cursor })
    }
}

/// Up to `limit` items of a sparse index's one partition whose sort key is
/// at most `up_to`, oldest first: how the sweeper finds what is left
/// unfinished (`partition` and `sort` are (attribute name, value)). The
/// index is eventually consistent and keys-only: the caller reads each item
/// again by key before acting on it.
pub async fn sparse_index_up_to(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    index: &str,
    partition: (&str, &str),
    sort: (&str, String),
    limit: usize,
) -> Result<Vec<Item>, PortError> {
    let output = client
        .query()
        .table_name(table)
        .index_name(index)
        .key_condition_expression("#pk = :pk AND #sk <= :up_to")
        .expression_attribute_names("#pk", partition.0)
        .expression_attribute_names("#sk", sort.0)
        .expression_attribute_values(":pk", s(partition.1))
        .expression_attribute_values(":up_to", s(sort.1))
        .limit(i32::try_from(limit).unwrap_or(i32::MAX))
        .send()
        .await
        .map_err(unavailable)?;
    Ok(output.items.unwrap_or_default())
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
            ("created_sk".into(), s("2026-03-01T09:00:00.000000Z#o-1")),
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

    fn forged(list: &str, key: serde_json::Value) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::json!({"list": list, "key": key}).to_string())
    }

    #[test]
    fn cursors_with_empty_oversize_or_misshapen_keys_are_refused() {
        let keys = ["customer_id", "created_sk", "order_id"];
        let mine = CursorScope { index: "by-customer", partition: ("customer_id", "c") };
        let sk = "2026-03-01T09:00:00.000000Z#o-1";
        let cursor = |created_sk: &str, order_id: &str| {
            forged(
                "by-customer",
                serde_json::json!({"customer_id": "c", "created_sk": created_sk, "order_id": order_id}),
            )
        };
        assert!(Cursor::decode(&cursor(sk, "o-1"), &keys, mine).is_ok());
        for (created_sk, order_id) in [
            ("", "o-1"),
            (sk, ""),
            (&format!("2026-03-01T09:00:00.000000Z#{}", "o".repeat(1000)), "o-1"),
            (sk, &"o".repeat(2049)),
            ("yesterday#o-1", "o-1"),
        ] {
            assert_eq!(
                Cursor::decode(&cursor(created_sk, order_id), &keys, mine),
                Err(PortError::InvalidCursor),
                "{created_sk:.40} {order_id:.40}"
            );
        }
        let wrong_type = forged(
            "by-customer",
            serde_json::json!({"customer_id": "c", "created_sk": 5, "order_id": "o-1"}),
        );
        assert_eq!(Cursor::decode(&wrong_type, &keys, mine), Err(PortError::InvalidCursor));
    }

    proptest::proptest! {
        /// Two different (user, key), (store, product) or (store, status)
        /// pairs never share a stored key, whatever `#` or `%` they hold.
        #[test]
        fn two_different_pairs_never_share_a_stored_key(
            a in "[a-z#%]{0,5}", b in "[a-z#%]{0,5}", c in "[a-z#%]{0,5}", d in "[a-z#%]{0,5}",
            i in 0..10usize, j in 0..10usize, split in 0..12usize,
        ) {
            use foodstream_domain::ids::{ProductId, StoreId, UserId};
            use foodstream_domain::order::OrderStatus;
            // The other pair cut from `a#b` at one of its `#`: exactly the
            // pairs a plain `{first}#{second}` would confuse with (a, b).
            let joined = format!("{a}#{b}");
            let cuts: Vec<usize> = joined.match_indices('#').map(|(at, _)| at).collect();
            let at = cuts[split % cuts.len()];
            let (c, d) = if split % 2 == 0 { (joined[..at].to_owned(), joined[at + 1..].to_owned()) } else { (c, d) };
            if (&a, &b) != (&c, &d) {
                proptest::prop_assert_ne!(
                    crate::orders::idempotency_key(&UserId::new(a.as_str()), &b),
                    crate::orders::idempotency_key(&UserId::new(c.as_str()), &d)
                );
                proptest::prop_assert_ne!(
                    crate::catalog::key(&StoreId::new(a.as_str()), &ProductId::new(b.as_str())),
                    crate::catalog::key(&StoreId::new(c.as_str()), &ProductId::new(d.as_str()))
                );
            }
            let (one, two) = (OrderStatus::ALL[i], OrderStatus::ALL[j]);
            if (&a, one) != (&c, two) {
                proptest::prop_assert_ne!(
                    crate::orders::store_status(&StoreId::new(a.as_str()), one),
                    crate::orders::store_status(&StoreId::new(c.as_str()), two)
                );
            }
        }
    }

    #[test]
    fn keys_at_dynamodbs_sizes_pass_one_byte_more_does_not_nor_a_cursor_over_the_apis_length() {
        let keys = ["recipient", "created_sk"];
        let scope = CursorScope { index: "notifications", partition: ("recipient", "user#c") };
        let time = "2026-03-01T09:00:00.000000Z#";
        let at = |sort_bytes: usize| {
            let sk = format!("{time}{}", "n".repeat(sort_bytes - time.len()));
            forged("notifications", serde_json::json!({"recipient": "user#c", "created_sk": sk}))
        };
        assert!(Cursor::decode(&at(MAX_SORT_KEY_BYTES), &keys, scope).is_ok());
        assert_eq!(Cursor::decode(&at(MAX_SORT_KEY_BYTES + 1), &keys, scope), Err(PortError::InvalidCursor));
        // Over the API's length: refused unread, and never handed out (a
        // partition value at DynamoDB's 2048 bytes is already over it).
        let cursor = at(100);
        let over = format!("{cursor}{}", "A".repeat(Cursor::MAX_CHARS + 1 - cursor.len()));
        assert_eq!(Cursor::decode(&over, &keys, scope), Err(PortError::InvalidCursor));
        let long = format!("user#{}", "c".repeat(MAX_PARTITION_KEY_BYTES - 5));
        let scope = CursorScope { index: "notifications", partition: ("recipient", &long) };
        let item: Item =
            [("recipient".to_string(), s(&long)), ("created_sk".into(), s(format!("{time}n")))].into();
        assert!(matches!(Cursor::encode(&item, &keys, scope), Err(PortError::Corrupt(_))));
    }

    /// Every time a record may carry (a log record's comes from its event)
    /// makes a sort key whose cursor is taken back.
    #[test]
    fn cursors_of_items_at_any_time_round_trip() {
        let keys = ["recipient", "created_sk"];
        let scope = CursorScope { index: "notifications", partition: ("recipient", "user#c") };
        let times = [
            Timestamp::MIN_UTC,
            Timestamp::MAX_UTC,
            chrono::Utc.with_ymd_and_hms(1, 1, 1, 0, 0, 0).unwrap(),
            chrono::Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap(),
            chrono::Utc.with_ymd_and_hms(10000, 1, 1, 0, 0, 0).unwrap(),
            chrono::Utc.timestamp_opt(1_700_000_000, 123_456_789).unwrap(),
        ];
        for at in times {
            let item: Item =
                [("recipient".to_string(), s("user#c")), ("created_sk".into(), s(sort_key(at, "n-1")))]
                    .into();
            let cursor = Cursor::encode(&item, &keys, scope).unwrap();
            assert_eq!(Cursor::decode(&cursor, &keys, scope), Ok(item), "{}", time_key(at));
        }
    }

    proptest::proptest! {
        /// `{first}#{second}` with `first` escaped: different pairs, different keys.
        #[test]
        fn composite_keys_of_different_pairs_differ(
            a in "[a%#2-5]{0,6}", b in "[a%#2-5]{0,6}", c in "[a%#2-5]{0,6}", d in "[a%#2-5]{0,6}",
        ) {
            proptest::prop_assert_eq!(composite_key(&a, &b) == composite_key(&c, &d), (&a, &b) == (&c, &d));
        }

        /// Whatever a client sends as a cursor: no panic, and what passes
        /// is a key DynamoDB takes (no empty value, none over its size, the
        /// whole within the API's length).
        #[test]
        fn any_cursor_decodes_to_a_usable_key_or_is_refused(
            raw in "\\PC{0,64}",
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64),
            sk_time in proptest::option::of("2026-03-01T09:00:0[0-9]\\.[0-9]{6}Z"),
            sk_id in "\\PC{0,400}|[a-z#]{0,1100}",
            id in "\\PC{0,8}|o{2040,2050}",
            partition in "c{0,2}",
        ) {
            let keys = ["customer_id", "created_sk", "order_id"];
            let scope = CursorScope { index: "by-customer", partition: ("customer_id", "c") };
            let sk = match sk_time { Some(time) => format!("{time}#{sk_id}"), None => sk_id.clone() };
            let json = serde_json::json!({"list": "by-customer", "key": {"customer_id": partition, "created_sk": sk, "order_id": id}});
            for cursor in [raw, URL_SAFE_NO_PAD.encode(&bytes), URL_SAFE_NO_PAD.encode(json.to_string())] {
                if let Ok(key) = Cursor::decode(&cursor, &keys, scope) {
                    proptest::prop_assert!(cursor.len() <= Cursor::MAX_CHARS);
                    for (name, value) in &key {
                        let value = value.as_s().map(String::len).unwrap_or_default();
                        let max = if name == "created_sk" { MAX_SORT_KEY_BYTES } else { MAX_PARTITION_KEY_BYTES };
                        proptest::prop_assert!((1..=max).contains(&value), "{name}: {value} bytes");
                    }
                }
            }
        }
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
