//! `PUT /stores/{storeId}/menu/{productId}` and `GET /stores/{storeId}/menu`.

use crate::access::require_store_owner;
use crate::error::AppError;
use crate::views::{ListView, MenuItemView};
use foodstream_domain::catalog::{MenuItemInput, parse_if_match};
use foodstream_domain::identity::Caller;
use foodstream_domain::ids::{ProductId, StoreId};
use foodstream_domain::ports::CatalogRepository;

/// Creates or updates a menu item of the caller's store. With `If-Match`
/// (the version the owner's page showed) a stale edit is refused with 412
/// and changes nothing; without `stock` an existing item keeps its stock,
/// so an edit never undoes the sales made since the page was read.
pub async fn put_menu_item(
    catalog: &dyn CatalogRepository,
    caller: &Caller,
    store_id: &str,
    product_id: &str,
    if_match: Option<&str>,
    input: MenuItemInput,
) -> Result<MenuItemView, AppError> {
    let store = StoreId::new(store_id);
    require_store_owner(caller, &store)?;
    let expected_version = if_match.map(parse_if_match).transpose()?;
    let change = input.validate(store, ProductId::new(product_id), expected_version)?;
    Ok(catalog.save_item(&change).await?.into())
}

/// Any signed-in caller reads a store's menu with current stock.
pub async fn list_menu(
    catalog: &dyn CatalogRepository,
    store_id: &str,
) -> Result<ListView<MenuItemView>, AppError> {
    let mut items = catalog.list_items(&StoreId::new(store_id)).await?;
    items.sort_by(|a, b| a.product_id.cmp(&b.product_id));
    Ok(ListView { items: items.into_iter().map(Into::into).collect(), next_cursor: None })
}
