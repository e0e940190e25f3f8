//! A store's menu: what can be ordered, at what price, and how much is left.

use crate::Won;
use crate::ids::{ProductId, StoreId};
use crate::validation::{ValidationErrors, check_identifier, check_text};
use serde::{Deserialize, Serialize};

pub const MAX_NAME_CHARS: usize = 100;
/// A sanity ceiling on prices (100 million won) so totals of 20 lines of
/// large quantities stay far inside an i64.
pub const MAX_PRICE: Won = 100_000_000;
pub const MAX_STOCK: i64 = 1_000_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MenuItem {
    pub store_id: StoreId,
    pub product_id: ProductId,
    pub name: String,
    pub price: Won,
    pub stock: i64,
}

/// The body of `PUT /stores/{storeId}/menu/{productId}` before validation.
/// Numbers are wide on purpose: a negative or huge value is a validation
/// error with a reason, not a parse failure.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MenuItemInput {
    pub name: String,
    pub price: i64,
    pub stock: i64,
}

impl MenuItemInput {
    /// Validates the input into the item it describes.
    pub fn validate(self, store_id: StoreId, product_id: ProductId) -> Result<MenuItem, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        check_identifier(&mut errors, "store_id", store_id.as_str());
        check_identifier(&mut errors, "product_id", product_id.as_str());
        check_text(&mut errors, "name", &self.name, MAX_NAME_CHARS);
        if self.price <= 0 {
            errors.add("price", "must be greater than 0");
        } else if self.price > MAX_PRICE {
            errors.add("price", format!("must be at most {MAX_PRICE}"));
        }
        if self.stock < 0 {
            errors.add("stock", "must be 0 or more");
        } else if self.stock > MAX_STOCK {
            errors.add("stock", format!("must be at most {MAX_STOCK}"));
        }
        errors.into_result(MenuItem {
            store_id,
            product_id,
            name: self.name.trim().to_owned(),
            price: self.price,
            stock: self.stock,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(name: &str, price: i64, stock: i64) -> MenuItemInput {
        MenuItemInput { name: name.into(), price, stock }
    }

    #[test]
    fn rule_catalog_valid_item_is_accepted_and_trimmed() {
        let item = input(" 김치찌개 ", 9000, 0).validate("s1".into(), "p1".into()).unwrap();
        assert_eq!(item.name, "김치찌개");
        assert_eq!(item.price, 9000);
        assert_eq!(item.stock, 0);
    }

    #[test]
    fn rule_catalog_price_must_be_positive_and_stock_not_negative() {
        let errors = input("", 0, -1).validate("s1".into(), "p1".into()).unwrap_err();
        let fields: Vec<&str> = errors.fields().iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["name", "price", "stock"]);
    }

    #[test]
    fn rule_catalog_ids_must_be_key_safe() {
        let errors = input("x", 1, 1).validate("s#1".into(), "p 1".into()).unwrap_err();
        assert_eq!(errors.fields().len(), 2);
    }
}
