//! `PUT /stores/{storeId}/menu/{productId}` and `GET /stores/{storeId}/menu`.

use crate::access::require_store_owner;
use crate::error::AppError;
use crate::views::{ListView, MenuItemView};
use foodstream_domain::catalog::MenuItemInput;
use foodstream_domain::identity::Caller;
use foodstream_domain::ids::{ProductId, StoreId};
use foodstream_domain::ports::CatalogRepository;

/// Creates or replaces a menu item of the caller's store.
pub async fn put_menu_item(
    catalog: &dyn CatalogRepository,
    caller: &Caller,
    store_id: &str,
    product_id: &str,
    input: MenuItemInput,
) -> Result<MenuItemView, AppError> {
    let store = StoreId::new(store_id);
    require_store_owner(caller, &store)?;
    let item = input.validate(store, ProductId::new(product_id))?;
    catalog.put_item(&item).await?;
    Ok(item.into())
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
