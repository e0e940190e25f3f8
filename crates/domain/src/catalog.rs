//! A store's menu: what can be ordered, at what price, and how much is left.

use crate::Won;
use crate::ids::{ProductId, StoreId};
use crate::validation::{ValidationErrors, check_identifier, check_line};
use serde::{Deserialize, Serialize};

/// The longest item name, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// A sanity ceiling on prices (100 million won) so totals of 20 lines of
/// large quantities stay far inside an i64.
pub const MAX_PRICE: Won = 100_000_000;
/// A sanity ceiling on an item's stock.
pub const MAX_STOCK: i64 = 1_000_000;

/// One item of a store's menu, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MenuItem {
    /// The store selling it.
    pub store_id: StoreId,
    /// The item's id within the store.
    pub product_id: ProductId,
    /// The name shown to customers and copied onto order lines.
    pub name: String,
    /// The unit price; at most [`MAX_PRICE`].
    pub price: Won,
    /// How many can still be ordered; never below zero.
    pub stock: i64,
    /// Grows by one on every change of the item, a sale or a give-back
    /// included, so an edit made from a page read before a sale is seen as
    /// stale (`If-Match`). Items stored before versions existed read as 0.
    #[serde(default)]
    pub version: u64,
}

/// The body of `PUT /stores/{storeId}/menu/{productId}` before validation.
/// Numbers are wide on purpose: a negative or huge value is a validation
/// error with a reason, not a parse failure.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MenuItemInput {
    /// The item's name: one line of at most [`MAX_NAME_CHARS`] characters,
    /// stored trimmed.
    pub name: String,
    /// The unit price: must be 1..=[`MAX_PRICE`].
    pub price: i64,
    /// Absent: an existing item keeps its stock (sales made meanwhile are
    /// never undone); a new item starts sold out.
    #[serde(default)]
    pub stock: Option<i64>,
}

/// A validated create-or-update of a menu item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MenuItemChange {
    /// The store the item belongs to.
    pub store_id: StoreId,
    /// The item to create or update.
    pub product_id: ProductId,
    /// The trimmed name.
    pub name: String,
    /// The unit price.
    pub price: Won,
    /// `None` keeps the stored stock (0 for a new item).
    pub stock: Option<i64>,
    /// From `If-Match`: the write happens only if the stored item is at
    /// this version (and exists).
    pub expected_version: Option<u64>,
}

impl MenuItemChange {
    /// The item as first stored when `stock` was given (fixtures, tests).
    pub fn creating(item: &MenuItem) -> MenuItemChange {
        MenuItemChange {
            store_id: item.store_id.clone(),
            product_id: item.product_id.clone(),
            name: item.name.clone(),
            price: item.price,
            stock: Some(item.stock),
            expected_version: None,
        }
    }

    /// What the change makes of `current` (`None`: the item is new).
    pub fn applied_to(&self, current: Option<&MenuItem>) -> MenuItem {
        MenuItem {
            store_id: self.store_id.clone(),
            product_id: self.product_id.clone(),
            name: self.name.clone(),
            price: self.price,
            stock: self.stock.or(current.map(|c| c.stock)).unwrap_or(0),
            version: current.map_or(0, |c| c.version) + 1,
        }
    }
}

/// Parses an `If-Match` header: one strong entity tag, the item's version
/// in quotes (`"3"`); a bare number is accepted too.
pub fn parse_if_match(value: &str) -> Result<u64, ValidationErrors> {
    let tag = value.trim();
    let inner = tag.strip_prefix('"').and_then(|t| t.strip_suffix('"')).unwrap_or(tag);
    inner.parse::<u64>().map_err(|_| {
        ValidationErrors::single("If-Match", "must be the item's version as an entity tag, e.g. \"3\"")
    })
}

impl MenuItemInput {
    /// Validates the input into the change it describes.
    pub fn validate(
        self,
        store_id: StoreId,
        product_id: ProductId,
        expected_version: Option<u64>,
    ) -> Result<MenuItemChange, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        check_identifier(&mut errors, "store_id", store_id.as_str());
        check_identifier(&mut errors, "product_id", product_id.as_str());
        check_line(&mut errors, "name", &self.name, MAX_NAME_CHARS);
        if self.price <= 0 {
            errors.add("price", "must be greater than 0");
        } else if self.price > MAX_PRICE {
            errors.add("price", format!("must be at most {MAX_PRICE}"));
        }
        match self.stock {
            Some(stock) if stock < 0 => errors.add("stock", "must be 0 or more"),
            Some(stock) if stock > MAX_STOCK => errors.add("stock", format!("must be at most {MAX_STOCK}")),
            _ => {}
        }
        errors.into_result(MenuItemChange {
            store_id,
            product_id,
            name: self.name.trim().to_owned(),
            price: self.price,
            stock: self.stock,
            expected_version,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(name: &str, price: i64, stock: i64) -> MenuItemInput {
        MenuItemInput { name: name.into(), price, stock: Some(stock) }
    }

    #[test]
    fn rule_catalog_valid_item_is_accepted_and_trimmed() {
        let change = input(" 김치찌개 ", 9000, 0).validate("s1".into(), "p1".into(), None).unwrap();
        let item = change.applied_to(None);
        assert_eq!(item.name, "김치찌개");
        assert_eq!(item.price, 9000);
        assert_eq!(item.stock, 0);
        assert_eq!(item.version, 1);
    }

    #[test]
    fn rule_catalog_price_must_be_positive_and_stock_not_negative() {
        let errors = input("", 0, -1).validate("s1".into(), "p1".into(), None).unwrap_err();
        let fields: Vec<&str> = errors.fields().iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["name", "price", "stock"]);
    }

    #[test]
    fn rule_catalog_ids_must_be_key_safe() {
        let errors = input("x", 1, 1).validate("s#1".into(), "p 1".into(), None).unwrap_err();
        assert_eq!(errors.fields().len(), 2);
    }

    #[test]
    fn rule_catalog_an_update_without_stock_keeps_the_stock_and_moves_the_version() {
        let current = input("x", 1, 7).validate("s1".into(), "p1".into(), None).unwrap().applied_to(None);
        let price_only = MenuItemInput { name: "x".into(), price: 2, stock: None };
        let updated =
            price_only.validate("s1".into(), "p1".into(), Some(1)).unwrap().applied_to(Some(&current));
        assert_eq!((updated.stock, updated.price, updated.version), (7, 2, 2));
        let new = MenuItemInput { name: "y".into(), price: 2, stock: None };
        assert_eq!(new.validate("s1".into(), "p2".into(), None).unwrap().applied_to(None).stock, 0);
    }

    #[test]
    fn rule_catalog_if_match_is_a_quoted_version() {
        assert_eq!(parse_if_match("\"3\"").unwrap(), 3);
        assert_eq!(parse_if_match("12").unwrap(), 12);
        for bad in ["", "\"\"", "W/\"3\"", "\"three\"", "*"] {
            assert_eq!(parse_if_match(bad).unwrap_err().fields()[0].field, "If-Match", "{bad}");
        }
    }
}
