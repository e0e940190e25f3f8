//! The catalog table: one item per menu item, keyed (store_id, product_id).
//! Stock lives here and is taken by conditional updates inside the order
//! placement transaction (see `orders.rs`).

use crate::codec::{Item, from_item, n, query_all, s, to_item, unavailable};
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::KeysAndAttributes;
use foodstream_domain::catalog::MenuItem;
use foodstream_domain::ids::{ProductId, StoreId};
use foodstream_domain::ports::{CatalogRepository, PortError};
use foodstream_domain::stock::StockChange;

#[derive(Clone)]
pub struct DynamoCatalog {
    client: Client,
    table: String,
}

impl DynamoCatalog {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoCatalog { client, table: table.into() }
    }
}

pub(crate) fn key(store: &StoreId, product: &ProductId) -> Item {
    [("store_id".to_string(), s(store.as_str())), ("product_id".to_string(), s(product.as_str()))].into()
}

/// The conditional update of one stock change: taking requires enough
/// stock, giving back requires the item to exist (never creates one).
pub(crate) fn stock_update(
    table: &str,
    store: &StoreId,
    change: &StockChange,
) -> Result<aws_sdk_dynamodb::types::Update, PortError> {
    aws_sdk_dynamodb::types::Update::builder()
        .table_name(table)
        .set_key(Some(key(store, &change.product_id)))
        .update_expression("SET stock = stock + :delta")
        .condition_expression("attribute_exists(product_id) AND stock >= :at_least")
        .expression_attribute_values(":delta", n(change.delta))
        .expression_attribute_values(":at_least", n(change.requires_at_least))
        .return_values_on_condition_check_failure(
            aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure::AllOld,
        )
        .build()
        .map_err(|e| PortError::Corrupt(e.to_string()))
}

#[async_trait]
impl CatalogRepository for DynamoCatalog {
    async fn put_item(&self, item: &MenuItem) -> Result<(), PortError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(item)?))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
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
