//! Model-based test of the order lifecycle over the in-memory adapters:
//! random sequences of API calls by three customers, two store owners and
//! an operator (menu edits, placements with and without Idempotency-Key,
//! cancellations, acceptances, rejections, delivery requests, riders, time,
//! the event pipeline, refund photos, requests and decisions, reads and
//! lists) played against the use cases and against the reference model of
//! `crates/harness/src/model/`, compared after every call.
//!
//! The model module is included by path rather than through the harness
//! crate, so this test links neither the harness nor the AWS SDK.
//!
//! `PROPTEST_CASES` overrides the number of sequences (128 by default).

mod support;

#[allow(dead_code)]
#[path = "../../harness/src/model/mod.rs"]
mod model;

use chrono::Duration;
use foodstream_application::AppError;
use foodstream_application::catalog::{list_menu, put_menu_item};
use foodstream_application::ordering::{
    accept_order, cancel_order, get_order, list_my_orders, list_store_orders, place_order, reject_order,
    request_delivery,
};
use foodstream_application::refunds::{PhotoUploadInput, create_photo_upload, decide_refund, request_refund};
use foodstream_application::riders::register_rider;
use foodstream_domain::catalog::MenuItemInput;
use foodstream_domain::delivery::RiderInput;
use foodstream_domain::identity::Caller as Who;
use foodstream_domain::order::PlaceOrderInput;
use foodstream_domain::refund::{RefundDecisionInput, RefundRequestInput};
use foodstream_handlers::http::error::ApiError;
use model::*;
use proptest::prelude::*;
use serde::Serialize;
use serde_json::Value;
use support::World;

/// The use cases over the in-memory adapters, answering as the HTTP layer
/// would (status, JSON body).
struct Memory {
    world: World,
    names: Names,
}

impl Memory {
    fn new() -> Memory {
        Memory { world: World::new(), names: Names::new("") }
    }

    fn who(&self, caller: Caller) -> Who {
        match caller {
            Caller::Customer(i) => Who::customer(self.names.customer(i)),
            Caller::Owner(i) => Who::owner(self.names.owner(i), self.names.store(i)),
            Caller::Operator => Who::operator(self.names.operator()),
        }
    }
}

fn json_of(value: impl Serialize) -> Value {
    serde_json::to_value(value).expect("views serialise")
}

impl Executor for Memory {
    async fn call(&mut self, call: &Call, ids: &[String]) -> (u16, Value, Option<bool>) {
        let w = &self.world;
        let id = call.order_id(ids).to_owned();
        let answer: Result<(Value, Option<bool>), AppError> = match call.clone() {
            Call::PutMenu { caller, store, product, price, stock, if_match } => {
                let input = MenuItemInput { name: Names::menu_name(product), price, stock };
                let if_match = if_match.map(|v| format!("\"{v}\""));
                put_menu_item(
                    &*w.store,
                    &self.who(caller),
                    &self.names.store(store),
                    &Names::product(product),
                    if_match.as_deref(),
                    input,
                )
                .await
                .map(|v| (json_of(v), None))
            }
            Call::Place { caller, key, body } => {
                let input: PlaceOrderInput =
                    serde_json::from_value(self.names.place_body(&body)).expect("a well-formed body");
                let key = key.map(Names::key);
                place_order(w.place_ports(), &self.who(caller), key.as_deref(), input, None)
                    .await
                    .map(|placed| (json_of(placed.order), Some(placed.replayed)))
            }
            Call::Get { caller, order: _ } => {
                get_order(&*w.store, &*w.clock, &self.who(caller), &id).await.map(|v| (json_of(v), None))
            }
            Call::ListMine { caller } => {
                list_my_orders(&*w.store, &*w.clock, &self.who(caller), Some("100"), None)
                    .await
                    .map(|v| (json_of(v), None))
            }
            Call::ListStore { caller, store, status } => list_store_orders(
                &*w.store,
                &*w.clock,
                &self.who(caller),
                &self.names.store(store),
                status.map(Status::as_str),
                Some("100"),
                None,
            )
            .await
            .map(|v| (json_of(v), None)),
            Call::Cancel { caller, .. } => {
                cancel_order(w.change_ports(), &self.who(caller), &id, None).await.map(|v| (json_of(v), None))
            }
            Call::Accept { caller, .. } => {
                accept_order(w.change_ports(), &self.who(caller), &id).await.map(|v| (json_of(v), None))
            }
            Call::Reject { caller, reason, .. } => {
                let reason = reason.then_some("out of rice");
                reject_order(w.change_ports(), &self.who(caller), &id, reason)
                    .await
                    .map(|v| (json_of(v), None))
            }
            Call::RequestDelivery { caller, .. } => {
                request_delivery(w.change_ports(), &self.who(caller), &id).await.map(|v| (json_of(v), None))
            }
            Call::RegisterRider { caller, rider, district } => register_rider(
                &*w.store,
                &*w.clock,
                &self.who(caller),
                &self.names.rider(rider),
                RiderInput { zone: self.names.district(district) },
            )
            .await
            .map(|v| (json_of(v), None)),
            Call::Photo { caller, content_ok, .. } => {
                let input = PhotoUploadInput { content_type: Names::content_type(content_ok).into() };
                match create_photo_upload(w.photo_ports(), &self.who(caller), &id, input).await {
                    Ok(upload) => {
                        // The client uploads right away.
                        w.photos.upload(&upload.photo_key);
                        Ok((json_of(upload), None))
                    }
                    Err(e) => Err(e),
                }
            }
            Call::RefundRequest { caller, method, reason_ok, key_ok, .. } => {
                let input = RefundRequestInput {
                    photo_key: Names::photo_key(&id, key_ok),
                    reason: Names::reason(reason_ok).into(),
                    method: method.as_str().into(),
                };
                request_refund(w.change_ports(), &w.photos, &self.who(caller), &id, input)
                    .await
                    .map(|v| (json_of(v), None))
            }
            Call::Decide { caller, approve, reason, .. } => {
                let input = RefundDecisionInput {
                    approve,
                    reason: reason.then(|| "the photo shows a full bowl".into()),
                };
                decide_refund(w.change_ports(), &self.who(caller), &id, input)
                    .await
                    .map(|v| (json_of(v), None))
            }
            Call::Wait { secs } => {
                w.later(Duration::seconds(secs as i64));
                Ok((Value::Null, None))
            }
            Call::Pump => unreachable!("the runner pumps through Executor::pump"),
        };
        match answer {
            Ok((body, replayed)) => (call.success_status(), body, replayed),
            Err(error) => {
                let api = ApiError::from(&error);
                (api.status, api.body(), None)
            }
        }
    }

    async fn pump(&mut self, _settling: &[Settling]) {
        self.world.pump().await;
    }

    async fn order(&mut self, id: &str, customer: u8) -> Value {
        let w = &self.world;
        let caller = Who::customer(self.names.customer(customer));
        json_of(get_order(&*w.store, &*w.clock, &caller, id).await.expect("the customer reads their order"))
    }

    async fn menu(&mut self, store: u8) -> Value {
        json_of(list_menu(&*self.world.store, &self.names.store(store)).await.expect("the menu reads"))
    }
}

const GEN: GenConfig = GenConfig { max_len: 40, waits: true };

const RUN: RunConfig =
    RunConfig { check_every_step: true, settle_deliveries: false, strict_creation_order: false };

/// Plays `commands` in a fresh world against a fresh model; the model at
/// the end.
fn play(commands: &[Command]) -> Result<Model, String> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    runtime.block_on(async {
        let mut memory = Memory::new();
        let settings = &memory.world.settings;
        let timing = Timing {
            refund_window_ms: settings.refund.window.num_milliseconds(),
            delivery_ms: settings.delivery.duration.num_milliseconds(),
            waits: true,
        };
        let mut model = Model::new(timing);
        run(&mut memory, &mut model, commands, RUN).await.map(|()| model)
    })
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(128)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        // No regression files next to the sources: a shrunk failure is
        // kept as a plain test below.
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn the_use_cases_follow_the_model(sequence in commands(GEN)) {
        if let Err(report) = play(&sequence) {
            return Err(TestCaseError::fail(report));
        }
    }
}

/// A hand-written walk through the deepest states, so the model and the
/// runner are known to reach them whatever the generator draws.
#[test]
fn the_happy_path_and_every_refund_decision_follow_the_model() {
    use Command::*;
    let next = |choice| Next { order: Pick(0), choice };
    let mut commands = vec![
        Place { customer: 0, store: 0, lines: vec![(0, 1), (1, 2)], district: 0, key: Some(0) },
        RegisterRider { rider: 0, district: 2, operator: true },
    ];
    // Accept, call a rider, pump, photo, ask (REFUND), approve.
    commands.extend([next(0), next(0), next(0), next(0), next(0), next(0)]);
    commands.push(Place { customer: 1, store: 1, lines: vec![(0, 1)], district: 1, key: None });
    // Accept, a rider for Mapo, call, pump, photo, ask (REDELIVER), approve, pump.
    commands.extend([next(0), next(1), next(1), next(1), next(1), next(1), next(2), next(2)]);
    commands.extend([Wait { secs: 601 }, next(0), Pump]);
    let model = play(&commands).unwrap_or_else(|report| panic!("{report}"));
    let statuses: Vec<_> = model.orders.iter().map(|o| o.status()).collect();
    assert_eq!(statuses, [Status::Refunded, Status::Delivered]);
    assert_eq!(model.orders[1].refund, Some((RefundMethod::Redeliver, RefundState::Approved, true)));
    assert_eq!(model.orders[1].history.len(), 9, "placed, accepted, delivered twice, refund asked for");
}
