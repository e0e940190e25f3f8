//! The catalog table: one item per menu item, keyed (store_id, product_id).
//! Stock lives here and is taken by conditional updates inside the order
//! placement transaction (see `orders.rs`).

use crate::access::{Grant, table};
use crate::codec::{Item, from_item, n, query_all, s, unavailable};
use crate::schema::CATALOG;
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{KeysAndAttributes, ReturnValue, ReturnValuesOnConditionCheckFailure};
use foodstream_domain::catalog::{MenuItem, MenuItemChange};
use foodstream_domain::ids::{ProductId, StoreId};
use foodstream_domain::ports::{CatalogRepository, PortError, SaveItemError};
use foodstream_domain::stock::StockChange;

/// The catalog table: the menu items of each store, with their stock.
#[derive(Clone)]
pub struct DynamoCatalog {
    client: Client,
    table: String,
}

impl DynamoCatalog {
    /// `list_items`: the store's items.
    pub const LIST_ITEMS: &[Grant] = &[Grant::new("dynamodb:Query", table(&CATALOG))];
    /// `get_items`: the ordered products by key.
    pub const GET_ITEMS: &[Grant] = &[Grant::new("dynamodb:BatchGetItem", table(&CATALOG))];
    /// `save_item`: one conditional update, and a read when its condition fails.
    pub const SAVE_ITEM: &[Grant] = &[
        Grant::new("dynamodb:UpdateItem", table(&CATALOG)),
        Grant::new("dynamodb:GetItem", table(&CATALOG)),
    ];

    /// The catalog `table`, reached through `client`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoCatalog { client, table: table.into() }
    }
}

/// The item's key: store and product as two attributes, never joined into
/// one string, so two different pairs are two different keys.
pub(crate) fn key(store: &StoreId, product: &ProductId) -> Item {
    [("store_id".to_string(), s(store.as_str())), ("product_id".to_string(), s(product.as_str()))].into()
}

/// The conditional update of one stock change: taking requires enough
/// stock, giving back requires the item to exist (never creates one).
/// Either moves the item's version on, so an edit made from a page read
/// before the sale is stale.
pub(crate) fn stock_update(
    table: &str,
    store: &StoreId,
    change: &StockChange,
) -> Result<aws_sdk_dynamodb::types::Update, PortError> {
    aws_sdk_dynamodb::types::Update::builder()
        .table_name(table)
        .set_key(Some(key(store, &change.product_id)))
        .update_expression("SET stock = stock + :delta, version = if_not_exists(version, :zero) + :one")
        .condition_expression("attribute_exists(product_id) AND stock >= :at_least")
        .expression_attribute_values(":delta", n(change.delta))
        .expression_attribute_values(":at_least", n(change.requires_at_least))
        .expression_attribute_values(":zero", n(0))
        .expression_attribute_values(":one", n(1))
        .return_values_on_condition_check_failure(
            aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure::AllOld,
        )
        .build()
        .map_err(|e| PortError::Corrupt(e.to_string()))
}

impl DynamoCatalog {
    async fn get_item(&self, store: &StoreId, product: &ProductId) -> Result<Option<MenuItem>, PortError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(store, product)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        output.item.map(from_item).transpose()
    }
}

#[async_trait]
impl CatalogRepository for DynamoCatalog {
    async fn save_item(&self, change: &MenuItemChange) -> Result<MenuItem, SaveItemError> {
        // One UpdateItem: a create or an update of name and price, stock set
        // only when given (a concurrent sale is never overwritten by an
        // edit that names no stock), the version moved on, and with
        // If-Match the whole write conditional on the version read.
        let mut set =
            vec!["#name = :name", "price = :price", "version = if_not_exists(version, :zero) + :one"];
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(&change.store_id, &change.product_id)))
            .expression_attribute_names("#name", "name")
            .expression_attribute_values(":name", s(&change.name))
            .expression_attribute_values(":price", n(change.price))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1));
        match change.stock {
            Some(stock) => {
                set.push("stock = :stock");
                request = request.expression_attribute_values(":stock", n(stock));
            }
            None => set.push("stock = if_not_exists(stock, :zero)"),
        }
        if let Some(expected) = change.expected_version {
            request = request
                .condition_expression("attribute_exists(product_id) AND version = :expected")
                .expression_attribute_values(":expected", n(expected))
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        }
        let result = request
            .update_expression(format!("SET {}", set.join(", ")))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(output) => {
                let item = output
                    .attributes
                    .ok_or_else(|| PortError::Corrupt("menu item update returned nothing".into()))?;
                Ok(from_item(item)?)
            }
            Err(e) => match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(failed)) => {
                    let current = match failed.item() {
                        Some(old) => Some(from_item::<MenuItem>(old.clone())?),
                        // An emulator that does not return the old item: read it.
                        None => self.get_item(&change.store_id, &change.product_id).await?,
                    };
                    Err(SaveItemError::StaleVersion { current: current.map(|i| i.version) })
                }
                _ => Err(unavailable(e).into()),
            },
        }
    }

    async fn list_items(&self, store: &StoreId) -> Result<Vec<MenuItem>, PortError> {
        let items = query_all(&self.client, &self.table, None, ("store_id", s(store.as_str()))).await?;
        items.into_iter().map(from_item).collect()
    }

    async fn get_items(&self, store: &StoreId, products: &[ProductId]) -> Result<Vec<MenuItem>, PortError> {
        if products.is_empty() {
            return Ok(Vec::new());
        }
        // At most 20 lines per order: one BatchGetItem (limit 100), with the
        // unprocessed keys asked again.
        let keys: Vec<Item> = products.iter().map(|p| key(store, p)).collect();
        let mut request = KeysAndAttributes::builder()
            .set_keys(Some(keys))
            .consistent_read(true)
            .build()
            .map_err(|e| PortError::Corrupt(e.to_string()))?;
        let mut found = Vec::new();
        for _ in 0..5 {
            let output = self
                .client
                .batch_get_item()
                .request_items(&self.table, request.clone())
                .send()
                .await
                .map_err(unavailable)?;
            if let Some(mut responses) = output.responses {
                found.extend(responses.remove(&self.table).unwrap_or_default());
            }
            match output.unprocessed_keys.and_then(|mut u| u.remove(&self.table)) {
                Some(rest) if !rest.keys().is_empty() => request = rest,
                _ => return found.into_iter().map(from_item).collect(),
            }
        }
        Err(PortError::Unavailable("catalog reads kept being throttled".into()))
    }
}
