//! The generator of command sequences (proptest strategies).

use super::*;

/// What sequences to generate.
#[derive(Clone, Copy, Debug)]
pub struct GenConfig {
    /// The longest sequence.
    pub max_len: usize,
    /// Whether `Wait` may be generated (the model owns the clock).
    pub waits: bool,
}

fn pick() -> impl Strategy<Value = Pick> {
    prop_oneof![5 => Just(Pick(0)), 2 => Just(Pick(1)), 3 => any::<u16>().prop_map(Pick)]
}

fn who() -> impl Strategy<Value = As> {
    prop_oneof![8 => Just(As::Right), 1 => Just(As::Stranger), 1 => Just(As::WrongRole)]
}

fn quantity() -> impl Strategy<Value = i64> {
    prop_oneof![12 => 1i64..=3, 2 => 4i64..=6, 1 => Just(0i64), 1 => Just(100i64)]
}

fn lines() -> impl Strategy<Value = Vec<(u8, i64)>> {
    prop_oneof![
        1 => Just(Vec::new()),
        12 => prop::collection::vec((0..PRODUCTS, quantity()), 1..=3),
    ]
}

fn status() -> impl Strategy<Value = Option<Status>> {
    prop_oneof![1 => Just(None), 2 => prop::sample::select(Status::ALL.to_vec()).prop_map(Some)]
}

fn command(config: GenConfig) -> impl Strategy<Value = Command> {
    let wait = if config.waits {
        prop_oneof![
            Just(1u64),
            Just(60u64),
            Just(598u64),
            Just(599u64),
            Just(600u64),
            Just(601u64),
            0u64..700,
        ]
        .prop_map(|secs| Command::Wait { secs })
        .boxed()
    } else {
        Just(Command::Pump).boxed()
    };
    prop_oneof![
        2 => (who(), 0..STORES, 0..PRODUCTS, prop_oneof![9 => 1i64..20000, 1 => Just(0i64)],
              prop_oneof![3 => (0i64..=5).prop_map(Some), 2 => Just(None), 1 => Just(Some(-1i64))],
              prop_oneof![Just(IfMatch::Absent), Just(IfMatch::Current), Just(IfMatch::Stale)])
            .prop_map(|(who, store, product, price, stock, if_match)| Command::PutMenu { who, store, product, price, stock, if_match }),
        5 => (0..CUSTOMERS, 0..STORES, lines(), 0..DISTRICTS, prop::option::weighted(0.4, 0u8..2))
            .prop_map(|(customer, store, lines, district, key)| Command::Place { customer, store, lines, district, key }),
        1 => (0..STORES).prop_map(|owner| Command::PlaceAsOwner { owner }),
        2 => (pick(), any::<bool>()).prop_map(|(pick, same_body)| Command::RetryPlace { pick, same_body }),
        18 => (pick(), any::<u8>()).prop_map(|(order, choice)| Command::Next { order, choice }),
        1 => (pick(), who(), any::<bool>()).prop_map(|(order, who, owner_side)| Command::Get { order, who, owner_side }),
        1 => (0..CUSTOMERS).prop_map(|customer| Command::ListMine { customer }),
        1 => (who(), 0..STORES, status()).prop_map(|(who, store, status)| Command::ListStore { who, store, status }),
        2 => (pick(), any::<bool>(), who()).prop_map(|(order, by_owner, who)| Command::Cancel { order, by_owner, who }),
        1 => (pick(), who()).prop_map(|(order, who)| Command::Accept { order, who }),
        1 => (pick(), who(), any::<bool>()).prop_map(|(order, who, reason)| Command::Reject { order, who, reason }),
        1 => (pick(), who()).prop_map(|(order, who)| Command::RequestDelivery { order, who }),
        3 => (0..RIDERS, 0..DISTRICTS, prop::bool::weighted(0.9))
            .prop_map(|(rider, district, operator)| Command::RegisterRider { rider, district, operator }),
        1 => (pick(), who(), prop::bool::weighted(0.8)).prop_map(|(order, who, content_ok)| Command::Photo { order, who, content_ok }),
        2 => (pick(), who(), prop_oneof![Just(RefundMethod::Refund), Just(RefundMethod::Redeliver)],
              prop::bool::weighted(0.9), prop::bool::weighted(0.9))
            .prop_map(|(order, who, method, reason_ok, key_ok)| Command::RefundRequest { order, who, method, reason_ok, key_ok }),
        2 => (pick(), who(), any::<bool>(), prop::bool::weighted(0.8))
            .prop_map(|(order, who, approve, reason)| Command::Decide { order, who, approve, reason }),
        2 => wait,
        3 => Just(Command::Pump),
    ]
}

/// Sequences of 1..=`max_len` commands; proptest shrinks them by dropping
/// and simplifying commands.
pub fn commands(config: GenConfig) -> impl Strategy<Value = Vec<Command>> {
    prop::collection::vec(command(config), 1..=config.max_len)
}
