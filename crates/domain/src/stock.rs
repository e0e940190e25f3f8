//! Stock taken and returned all-or-nothing.
//!
//! The domain decides *what* must change and under which condition; an
//! adapter applies the whole plan atomically (one DynamoDB transaction, one
//! lock in memory) and reports which conditions failed. The check against the
//! snapshot here gives a precise answer early; the conditions keep stock from
//! ever going below zero when other orders race for it.

use crate::catalog::MenuItem;
use crate::ids::{ProductId, StoreId};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// One conditional change of one item's stock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockChange {
    /// The item whose stock changes.
    pub product_id: ProductId,
    /// Negative to take, positive to return.
    pub delta: i64,
    /// The stock the item must have at least for the change to apply
    /// (the quantity taken; 0 for a return, which always applies).
    pub requires_at_least: i64,
}

/// Every change to apply together, or none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockPlan {
    /// The store whose items change.
    pub store_id: StoreId,
    /// One change per line, in the order of the lines.
    pub changes: Vec<StockChange>,
}

/// A line that cannot be served from current stock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShortLine {
    /// The item that is short.
    pub product_id: ProductId,
    /// The quantity asked for.
    pub requested: i64,
    /// What the store had when it was checked; `None` when an adapter only
    /// learns that its condition failed.
    pub available: Option<i64>,
}

/// A requested quantity of one product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quantity {
    /// The product.
    pub product_id: ProductId,
    /// How many (1..=[`MAX_QUANTITY`](crate::validation::MAX_QUANTITY) once validated).
    pub quantity: i64,
}

impl StockPlan {
    /// The plan that takes every line, or every short line if any is short.
    /// `menu` must hold the item of every line (unknown products are a
    /// validation error found before this).
    pub fn take(
        store_id: &StoreId,
        lines: &[Quantity],
        menu: &HashMap<ProductId, MenuItem>,
    ) -> Result<StockPlan, Vec<ShortLine>> {
        let short: Vec<ShortLine> = lines
            .iter()
            .filter_map(|line| {
                let available = menu.get(&line.product_id).map_or(0, |item| item.stock);
                (available < line.quantity).then(|| ShortLine {
                    product_id: line.product_id.clone(),
                    requested: line.quantity,
                    available: Some(available),
                })
            })
            .collect();
        if !short.is_empty() {
            return Err(short);
        }
        Ok(StockPlan {
            store_id: store_id.clone(),
            changes: lines
                .iter()
                .map(|line| StockChange {
                    product_id: line.product_id.clone(),
                    delta: -line.quantity,
                    requires_at_least: line.quantity,
                })
                .collect(),
        })
    }

    /// The plan that gives every line back (rejection, cancellation).
    pub fn give_back(store_id: &StoreId, lines: &[Quantity]) -> StockPlan {
        StockPlan {
            store_id: store_id.clone(),
            changes: lines
                .iter()
                .map(|line| StockChange {
                    product_id: line.product_id.clone(),
                    delta: line.quantity,
                    requires_at_least: 0,
                })
                .collect(),
        }
    }

    /// Applies the plan to a stock table in memory, all or nothing: the
    /// reference semantics every adapter must match.
    pub fn apply_to(&self, stock: &mut HashMap<ProductId, i64>) -> Result<(), Vec<ShortLine>> {
        let short: Vec<ShortLine> = self
            .changes
            .iter()
            .filter_map(|change| {
                let current = stock.get(&change.product_id).copied();
                let ok = current.is_some_and(|s| s >= change.requires_at_least);
                (!ok).then(|| ShortLine {
                    product_id: change.product_id.clone(),
                    requested: change.requires_at_least,
                    available: current,
                })
            })
            .collect();
        if !short.is_empty() {
            return Err(short);
        }
        for change in &self.changes {
            if let Some(s) = stock.get_mut(&change.product_id) {
                *s += change.delta;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn menu(items: &[(&str, i64)]) -> HashMap<ProductId, MenuItem> {
        items
            .iter()
            .map(|(id, stock)| {
                (
                    ProductId::from(*id),
                    MenuItem {
                        store_id: "s".into(),
                        product_id: (*id).into(),
                        name: id.to_string(),
                        price: 1000,
                        stock: *stock,
                        version: 1,
                    },
                )
            })
            .collect()
    }

    fn q(id: &str, quantity: i64) -> Quantity {
        Quantity { product_id: id.into(), quantity }
    }

    #[test]
    fn rule_2_take_plan_conditions_every_line_on_its_quantity() {
        let plan =
            StockPlan::take(&"s".into(), &[q("a", 2), q("b", 1)], &menu(&[("a", 2), ("b", 5)])).unwrap();
        assert_eq!(plan.changes[0].delta, -2);
        assert_eq!(plan.changes[0].requires_at_least, 2);
        assert_eq!(plan.changes[1].delta, -1);
    }

    #[test]
    fn rule_2_one_short_line_among_several_is_named_and_nothing_planned() {
        let short = StockPlan::take(
            &"s".into(),
            &[q("a", 1), q("b", 3), q("c", 1)],
            &menu(&[("a", 9), ("b", 2), ("c", 9)]),
        )
        .unwrap_err();
        assert_eq!(short, vec![ShortLine { product_id: "b".into(), requested: 3, available: Some(2) }]);
    }

    #[test]
    fn rule_2_apply_is_all_or_nothing_and_never_below_zero() {
        let mut stock: HashMap<ProductId, i64> = [("a".into(), 1), ("b".into(), 0)].into();
        let plan = StockPlan {
            store_id: "s".into(),
            changes: vec![
                StockChange { product_id: "a".into(), delta: -1, requires_at_least: 1 },
                StockChange { product_id: "b".into(), delta: -1, requires_at_least: 1 },
            ],
        };
        let short = plan.apply_to(&mut stock).unwrap_err();
        assert_eq!(short[0].product_id, ProductId::from("b"));
        assert_eq!(stock[&ProductId::from("a")], 1, "nothing taken when one line is short");
        assert_eq!(stock[&ProductId::from("b")], 0);
    }

    #[test]
    fn rule_4_give_back_always_applies() {
        let mut stock: HashMap<ProductId, i64> = [("a".into(), 0)].into();
        StockPlan::give_back(&"s".into(), &[q("a", 3)]).apply_to(&mut stock).unwrap();
        assert_eq!(stock[&ProductId::from("a")], 3);
    }
}
