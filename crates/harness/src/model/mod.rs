//! Model-based testing of the order lifecycle: a small reference model of
//! the contract (docs/spec.md sections 2 and 3, docs/architecture.md's
//! state machine and decisions), a proptest generator of API command
//! sequences by three customers, two store owners and an operator, and a
//! runner that plays a sequence against an [`Executor`] and the model side
//! by side, comparing after every command what a client sees (status, error
//! code and its key detail) and, after the asynchronous pipeline settled,
//! every order (status, version, timeline, total, rider, refund, deadline)
//! and every menu item (stock, price, version).
//!
//! Two executors run it: the use cases over the in-memory adapters
//! (`crates/application/tests/model.rs`) and the HTTP API of the local stack
//! (`crates/local/tests/model.rs`). This module is compiled twice: as
//! `foodstream_harness::model`, and inside the application's test through
//! `#[path]` to this file (its submodules are found next to it), so that
//! test does not link the harness (nor the AWS SDK and librdkafka it
//! brings). It uses nothing but std, proptest and serde_json.
//!
//! Its parts: `names` (how an executor spells actors and things),
//! `commands` (what a generated sequence is made of), `calls` (a command
//! resolved against the state), `outcomes` (what a client sees),
//! `reference` (the model's state and resolution), `transitions` (what
//! each call does, and the pipeline), `generator` and `runner`; all
//! re-exported here.
//!
//! What the model keeps: orders (owner, store, lines, zone, status history,
//! rider, refund, photo uploaded, refund deadline), stock, price and version
//! of every menu item, riders by zone, idempotency keys by customer, the
//! delivery requests not yet dispatched, and the time (model milliseconds:
//! the in-memory clock moves only by `Wait` and by each delivery's duration,
//! exactly as the in-memory dispatcher sleeps).

use proptest::prelude::*;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// Customers `0..CUSTOMERS`; owners `0..STORES` (owner `i` runs store `i`).
pub const CUSTOMERS: u8 = 3;
/// Stores `0..STORES`, store `i` run by owner `i`.
pub const STORES: u8 = 2;
/// Products `p0..p{PRODUCTS-1}`; the initial menu has `p0` and `p1` only.
pub const PRODUCTS: u8 = 3;
/// Riders `0..RIDERS`.
pub const RIDERS: u8 = 3;
/// Districts `0..DISTRICTS`: 0 and 2 are spellings of one zone, 1 another.
pub const DISTRICTS: u8 = 3;
/// The most lines an order may have.
pub const MAX_LINES: usize = 20;
/// The largest quantity of a line (quantities are `1..=MAX_QUANTITY`).
pub const MAX_QUANTITY: i64 = 99;

mod calls;
mod commands;
mod generator;
mod names;
mod outcomes;
mod reference;
mod runner;
mod transitions;

pub use calls::*;
pub use commands::*;
pub use generator::*;
pub use names::*;
pub use outcomes::*;
pub use reference::*;
pub use runner::*;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    /// The generator reaches the deep states and the interesting refusals
    /// (a fixed seed: the same 128 sequences every run).
    #[test]
    fn generated_sequences_reach_every_state_and_refusal() {
        let mut runner = TestRunner::deterministic();
        let strategy = commands(GenConfig { max_len: 40, waits: true });
        let mut reached: BTreeMap<Status, usize> = BTreeMap::new();
        let mut codes: BTreeMap<String, usize> = BTreeMap::new();
        let mut replays = 0;
        for _ in 0..128 {
            let sequence = strategy.new_tree(&mut runner).unwrap().current();
            let mut m = model();
            for command in &sequence {
                let call = m.resolve(command);
                let expected = m.apply(&call);
                *codes.entry(expected.outcome.code.clone()).or_default() += 1;
                replays += usize::from(expected.placed.is_some_and(|(_, replay)| replay));
            }
            m.pump();
            for status in m.reached().into_keys() {
                *reached.entry(status).or_default() += 1;
            }
        }
        for status in Status::ALL {
            assert!(
                reached.get(&status).copied().unwrap_or(0) >= 3,
                "{status:?} rarely reached: {reached:?}"
            );
        }
        for code in [
            "FORBIDDEN",
            "NOT_FOUND",
            "VALIDATION_FAILED",
            "INVALID_STATUS",
            "INSUFFICIENT_STOCK",
            "IDEMPOTENCY_KEY_REUSED",
            "REFUND_ALREADY_REQUESTED",
            "REFUND_WINDOW_CLOSED",
            "PRECONDITION_FAILED",
        ] {
            assert!(codes.get(code).copied().unwrap_or(0) >= 3, "{code} rarely expected: {codes:?}");
        }
        assert!(replays >= 3, "{replays} idempotent replays");
    }

    fn model() -> Model {
        let mut m = Model::new(Timing { refund_window_ms: 600_000, delivery_ms: 1000, waits: true });
        for call in Model::setup() {
            m.apply(&call);
        }
        m
    }

    #[test]
    fn the_model_walks_the_happy_path_and_its_refund_window() {
        let mut m = model();
        let place = Call::Place {
            caller: Caller::Customer(0),
            key: Some(0),
            body: PlaceBody { store: 0, lines: vec![(0, 2)], district: 2 },
        };
        assert_eq!(m.apply(&place).placed, Some((0, false)));
        assert_eq!(m.menu[&(0, 0)], Item { price: 9000, stock: 3, version: 2 });
        assert_eq!(m.apply(&place).placed, Some((0, true)), "same key, same body: a replay");
        let o = Target::Order(0);
        m.apply(&Call::Accept { caller: Caller::Owner(0), order: o });
        m.apply(&Call::RegisterRider { caller: Caller::Operator, rider: 0, district: 0 });
        assert_eq!(
            m.apply(&Call::RequestDelivery { caller: Caller::Owner(0), order: o }).outcome.status,
            202
        );
        m.pump();
        assert_eq!(m.orders[0].status(), Status::Delivered);
        assert_eq!(m.orders[0].history.len(), 5);
        m.apply(&Call::Photo { caller: Caller::Customer(0), order: o, content_ok: true });
        m.apply(&Call::Wait { secs: 601 });
        let late = Call::RefundRequest {
            caller: Caller::Customer(0),
            order: o,
            method: RefundMethod::Refund,
            reason_ok: true,
            key_ok: true,
        };
        assert_eq!(m.apply(&late).outcome.code, "REFUND_WINDOW_CLOSED");
        let other = Call::Get { caller: Caller::Owner(1), order: o };
        assert_eq!(m.apply(&other).outcome.status, 404);
    }

    #[test]
    fn picks_count_from_the_newest_order() {
        let mut m = model();
        assert_eq!(m.pick(Pick(0)), Target::Unknown);
        for _ in 0..3 {
            m.apply(&Call::Place {
                caller: Caller::Customer(1),
                key: None,
                body: PlaceBody { store: 1, lines: vec![(0, 1)], district: 1 },
            });
        }
        assert_eq!(m.pick(Pick(0)), Target::Order(2));
        assert_eq!(m.pick(Pick(4)), Target::Order(1));
    }
}
