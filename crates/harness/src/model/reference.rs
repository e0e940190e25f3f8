//! The reference model: its state, and how a command resolves to a call.

use super::*;

/// A menu item in the model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    /// Its price.
    pub price: i64,
    /// Its stock.
    pub stock: i64,
    /// Its version.
    pub version: u64,
}

/// Where a refund stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefundState {
    /// `REQUESTED`
    Requested,
    /// `APPROVED`
    Approved,
    /// `REJECTED`
    Rejected,
}

impl RefundState {
    fn as_str(self) -> &'static str {
        match self {
            RefundState::Requested => "REQUESTED",
            RefundState::Approved => "APPROVED",
            RefundState::Rejected => "REJECTED",
        }
    }
}

/// An order in the model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelOrder {
    /// Its customer.
    pub customer: u8,
    /// Its store.
    pub store: u8,
    /// What it was placed with.
    pub body: PlaceBody,
    /// Its total: each line's price at placement times its quantity.
    pub total: i64,
    /// The zone of its address' district.
    pub zone: u8,
    /// Every status the order went through: the timeline; its length is the
    /// version.
    pub history: Vec<Status>,
    /// Whether each timeline entry carries a reason (a rejection's, a
    /// failed delivery's, a refund request's, a refund decision's).
    pub reasons: Vec<bool>,
    /// Whether a rider was assigned (set when delivered).
    pub rider: bool,
    /// Whether `delivered_at` is set.
    pub delivered_at: bool,
    /// The refund's method, state, and whether a decision reason was given.
    pub refund: Option<(RefundMethod, RefundState, bool)>,
    /// Whether a refund photo was uploaded.
    pub photo: bool,
    /// Model time the refund window closes, once delivered.
    pub deadline_ms: Option<i64>,
    /// Model time of placement.
    pub created_ms: i64,
}

impl ModelOrder {
    /// The current status: the history's last.
    pub fn status(&self) -> Status {
        *self.history.last().expect("an order has a status")
    }

    /// The order as a client should read it at model time `now_ms`.
    pub fn snap(&self, now_ms: i64) -> OrderSnap {
        OrderSnap {
            status: self.status().as_str().into(),
            version: self.history.len() as u64,
            timeline: self
                .history
                .iter()
                .zip(&self.reasons)
                .map(|(s, r)| (s.as_str().to_owned(), *r))
                .collect(),
            total: self.total,
            rider: self.rider,
            delivered_at: self.delivered_at,
            refund: self.refund.map(|(m, s, r)| (m.as_str().into(), s.as_str().into(), r)),
            deadline: self.status() == Status::Delivered
                && self.refund.is_none()
                && self.deadline_ms.is_some_and(|d| now_ms <= d),
        }
    }
}

/// The timing rules the model runs with.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    /// The refund window, in ms.
    pub refund_window_ms: i64,
    /// A delivery's duration, in ms.
    pub delivery_ms: i64,
    /// Whether time is the model's to move (`Wait`); over HTTP it is not,
    /// and no `Wait` is generated or resolved.
    pub waits: bool,
}

/// The reference model: what the contract says the system holds after the
/// calls so far.
#[derive(Clone, Debug)]
pub struct Model {
    /// The timing rules.
    pub timing: Timing,
    /// Model time, in ms.
    pub now_ms: i64,
    /// `(store, product)` -> its item.
    pub menu: BTreeMap<(u8, u8), Item>,
    /// Every order, in placement order ([`Target::Order`]'s index).
    pub orders: Vec<ModelOrder>,
    /// Rider -> zone.
    pub riders: BTreeMap<u8, u8>,
    /// `(customer, key)` -> the body first placed with it and its order.
    pub keys: BTreeMap<(u8, u8), (PlaceBody, usize)>,
    /// Delivery requests not yet dispatched, in the order they were made.
    pub pending: Vec<usize>,
    /// Every placement attempted, for `RetryPlace`.
    pub placements: Vec<(u8, Option<u8>, PlaceBody)>,
}

impl Model {
    /// An empty model at time 0.
    pub fn new(timing: Timing) -> Model {
        Model {
            timing,
            now_ms: 0,
            menu: BTreeMap::new(),
            orders: Vec::new(),
            riders: BTreeMap::new(),
            keys: BTreeMap::new(),
            pending: Vec::new(),
            placements: Vec::new(),
        }
    }

    /// The calls every sequence starts with: a menu of two items per store
    /// (`p2` is not on it until a `PutMenu` creates it).
    pub fn setup() -> Vec<Call> {
        let item = |store, product, price, stock| Call::PutMenu {
            caller: Caller::Owner(store),
            store,
            product,
            price,
            stock: Some(stock),
            if_match: None,
        };
        vec![item(0, 0, 9000, 5), item(0, 1, 12000, 2), item(1, 0, 7000, 3), item(1, 1, 3000, 1)]
    }

    pub(super) fn pick(&self, pick: Pick) -> Target {
        if self.orders.is_empty() {
            Target::Unknown
        } else {
            Target::Order(self.orders.len() - 1 - (pick.0 as usize % self.orders.len()))
        }
    }

    /// The caller of an order's owner-side call.
    fn owner_side(&self, target: Target, who: As) -> Caller {
        let store = match target {
            Target::Order(i) => self.orders[i].store,
            Target::Unknown => 0,
        };
        match who {
            As::Right => Caller::Owner(store),
            As::Stranger => Caller::Owner((store + 1) % STORES),
            As::WrongRole => match target {
                Target::Order(i) => Caller::Customer(self.orders[i].customer),
                Target::Unknown => Caller::Operator,
            },
        }
    }

    /// The caller of an order's customer-side call.
    fn customer_side(&self, target: Target, who: As) -> Caller {
        let customer = match target {
            Target::Order(i) => self.orders[i].customer,
            Target::Unknown => 0,
        };
        match who {
            As::Right => Caller::Customer(customer),
            As::Stranger => Caller::Customer((customer + 1) % CUSTOMERS),
            As::WrongRole => match target {
                Target::Order(i) => Caller::Owner(self.orders[i].store),
                Target::Unknown => Caller::Operator,
            },
        }
    }

    pub(super) fn rider_in_zone(&self, zone: u8) -> bool {
        self.riders.values().any(|z| *z == zone)
    }

    /// Turns a generated command into the call it means now.
    pub fn resolve(&self, command: &Command) -> Call {
        match command.clone() {
            Command::PutMenu { who, store, product, price, stock, if_match } => {
                let store = store % STORES;
                let product = product % PRODUCTS;
                let caller = match who {
                    As::Right => Caller::Owner(store),
                    As::Stranger => Caller::Owner((store + 1) % STORES),
                    As::WrongRole => Caller::Customer(0),
                };
                let current = self.menu.get(&(store, product)).map(|i| i.version);
                let if_match = match (if_match, current) {
                    (IfMatch::Absent, _) => None,
                    (IfMatch::Current, Some(v)) => Some(v),
                    (IfMatch::Stale, Some(v)) => Some(if v > 1 { v - 1 } else { v + 1 }),
                    (_, None) => Some(1),
                };
                Call::PutMenu { caller, store, product, price, stock, if_match }
            }
            Command::Place { customer, store, lines, district, key } => Call::Place {
                caller: Caller::Customer(customer % CUSTOMERS),
                key,
                body: PlaceBody { store: store % STORES, lines, district: district % DISTRICTS },
            },
            Command::PlaceAsOwner { owner } => Call::Place {
                caller: Caller::Owner(owner % STORES),
                key: None,
                body: PlaceBody { store: owner % STORES, lines: vec![(0, 1)], district: 0 },
            },
            Command::RetryPlace { pick, same_body } => {
                let Some((customer, key, body)) = (!self.placements.is_empty()).then(|| {
                    self.placements[self.placements.len() - 1 - pick.0 as usize % self.placements.len()]
                        .clone()
                }) else {
                    return Call::Place {
                        caller: Caller::Customer(0),
                        key: Some(0),
                        body: PlaceBody { store: 0, lines: vec![(0, 1)], district: 0 },
                    };
                };
                let mut body = body;
                if !same_body {
                    match body.lines.first_mut() {
                        Some(line) => line.1 = if line.1 == 1 { 2 } else { 1 },
                        None => body.lines.push((0, 1)),
                    }
                }
                Call::Place { caller: Caller::Customer(customer), key: Some(key.unwrap_or(0)), body }
            }
            Command::Next { order, choice } => self.next_step(self.pick(order), choice),
            Command::Get { order, who, owner_side } => {
                let target = self.pick(order);
                let caller =
                    if owner_side { self.owner_side(target, who) } else { self.customer_side(target, who) };
                let caller = match (who, caller) {
                    (As::WrongRole, _) => Caller::Operator,
                    (_, c) => c,
                };
                Call::Get { caller, order: target }
            }
            Command::ListMine { customer } => {
                Call::ListMine { caller: Caller::Customer(customer % CUSTOMERS) }
            }
            Command::ListStore { who, store, status } => {
                let store = store % STORES;
                let caller = match who {
                    As::Right => Caller::Owner(store),
                    As::Stranger => Caller::Owner((store + 1) % STORES),
                    As::WrongRole => Caller::Customer(0),
                };
                Call::ListStore { caller, store, status }
            }
            Command::Cancel { order, by_owner, who } => {
                let target = self.pick(order);
                let caller = match (by_owner, who) {
                    (_, As::WrongRole) => Caller::Operator,
                    (true, who) => self.owner_side(target, who),
                    (false, who) => self.customer_side(target, who),
                };
                Call::Cancel { caller, order: target }
            }
            Command::Accept { order, who } => {
                let target = self.pick(order);
                Call::Accept { caller: self.owner_side(target, who), order: target }
            }
            Command::Reject { order, who, reason } => {
                let target = self.pick(order);
                Call::Reject { caller: self.owner_side(target, who), order: target, reason }
            }
            Command::RequestDelivery { order, who } => {
                let target = self.pick(order);
                Call::RequestDelivery { caller: self.owner_side(target, who), order: target }
            }
            Command::RegisterRider { rider, district, operator } => Call::RegisterRider {
                caller: if operator { Caller::Operator } else { Caller::Owner(0) },
                rider: rider % RIDERS,
                district: district % DISTRICTS,
            },
            Command::Photo { order, who, content_ok } => {
                let target = self.pick(order);
                Call::Photo { caller: self.customer_side(target, who), order: target, content_ok }
            }
            Command::RefundRequest { order, who, method, reason_ok, key_ok } => {
                let target = self.pick(order);
                Call::RefundRequest {
                    caller: self.customer_side(target, who),
                    order: target,
                    method,
                    reason_ok,
                    key_ok,
                }
            }
            Command::Decide { order, who, approve, reason } => {
                let target = self.pick(order);
                Call::Decide { caller: self.owner_side(target, who), order: target, approve, reason }
            }
            Command::Wait { secs } if self.timing.waits => Call::Wait { secs },
            Command::Wait { .. } | Command::Pump => Call::Pump,
        }
    }

    /// The happy path's next call for an order.
    fn next_step(&self, target: Target, choice: u8) -> Call {
        let Target::Order(i) = target else {
            return Call::Place {
                caller: Caller::Customer(choice % CUSTOMERS),
                key: None,
                body: PlaceBody { store: choice % STORES, lines: vec![(0, 1)], district: choice % DISTRICTS },
            };
        };
        let order = &self.orders[i];
        let (customer, owner) = (Caller::Customer(order.customer), Caller::Owner(order.store));
        let call_rider = |otherwise: Call| {
            if self.rider_in_zone(order.zone) || choice % 5 == 4 {
                otherwise
            } else {
                Call::RegisterRider {
                    caller: Caller::Operator,
                    rider: choice % RIDERS,
                    district: order.body.district,
                }
            }
        };
        match order.status() {
            Status::Paid => match choice % 6 {
                0..=3 => Call::Accept { caller: owner, order: target },
                4 => Call::Reject { caller: owner, order: target, reason: true },
                _ => Call::Cancel { caller: customer, order: target },
            },
            Status::Accepted => call_rider(Call::RequestDelivery { caller: owner, order: target }),
            Status::DeliveryRequested | Status::Delivering => Call::Pump,
            Status::DeliveryFailed => match choice % 4 {
                0 => Call::Cancel { caller: owner, order: target },
                _ => call_rider(Call::RequestDelivery { caller: owner, order: target }),
            },
            Status::Delivered if order.refund.is_none() => {
                if self.timing.waits && choice % 8 == 7 {
                    Call::Wait { secs: 601 }
                } else if !order.photo {
                    Call::Photo { caller: customer, order: target, content_ok: true }
                } else {
                    let method =
                        if choice.is_multiple_of(2) { RefundMethod::Refund } else { RefundMethod::Redeliver };
                    Call::RefundRequest {
                        caller: customer,
                        order: target,
                        method,
                        reason_ok: true,
                        key_ok: true,
                    }
                }
            }
            Status::RefundRequested => match choice % 3 {
                1 => Call::Decide { caller: owner, order: target, approve: false, reason: true },
                _ => Call::Decide {
                    caller: owner,
                    order: target,
                    approve: true,
                    reason: choice.is_multiple_of(2),
                },
            },
            // A second refund request, after a rejected one or a redelivery.
            Status::Delivered if choice.is_multiple_of(3) => {
                Call::Photo { caller: customer, order: target, content_ok: true }
            }
            Status::Delivered if choice % 3 == 1 => Call::RefundRequest {
                caller: customer,
                order: target,
                method: RefundMethod::Refund,
                reason_ok: true,
                key_ok: true,
            },
            Status::Delivered | Status::Rejected | Status::Cancelled | Status::Refunded => {
                if choice.is_multiple_of(2) {
                    Call::Get { caller: customer, order: target }
                } else {
                    Call::ListStore { caller: owner, store: order.store, status: Some(order.status()) }
                }
            }
        }
    }

    pub(super) fn visible(&self, caller: Caller, target: Target) -> Result<usize, Outcome> {
        let Target::Order(i) = target else {
            return Err(Outcome::not_found());
        };
        let order = &self.orders[i];
        let visible = match caller {
            Caller::Customer(c) => order.customer == c,
            Caller::Owner(s) => order.store == s,
            Caller::Operator => false,
        };
        if visible { Ok(i) } else { Err(Outcome::not_found()) }
    }

    /// 403 unless the caller is an owner, then 404 unless the order is
    /// their store's.
    pub(super) fn store_order(&self, caller: Caller, target: Target) -> Result<usize, Outcome> {
        match caller {
            Caller::Owner(_) => self.visible(caller, target),
            _ => Err(Outcome::forbidden()),
        }
    }

    /// 403 unless the caller is a customer, then 404 unless it is theirs.
    pub(super) fn customer_order(&self, caller: Caller, target: Target) -> Result<usize, Outcome> {
        match caller {
            Caller::Customer(_) => self.visible(caller, target),
            _ => Err(Outcome::forbidden()),
        }
    }

    pub(super) fn require(&self, i: usize, allowed: &[Status]) -> Result<(), Outcome> {
        let current = self.orders[i].status();
        if allowed.contains(&current) { Ok(()) } else { Err(Outcome::invalid_status(current)) }
    }

    pub(super) fn refundable(&self, i: usize) -> Result<(), Outcome> {
        self.require(i, &[Status::Delivered])?;
        let order = &self.orders[i];
        if order.refund.is_some() {
            return Err(Outcome::err(409, "REFUND_ALREADY_REQUESTED", ""));
        }
        match order.deadline_ms {
            Some(deadline) if self.now_ms <= deadline => Ok(()),
            _ => Err(Outcome::err(409, "REFUND_WINDOW_CLOSED", "")),
        }
    }

    /// A status change, with or without a reason in its timeline entry.
    pub(super) fn advance(&mut self, i: usize, to: Status, reason: bool) -> Outcome {
        self.orders[i].history.push(to);
        self.orders[i].reasons.push(reason);
        Outcome::ok(200, to.as_str())
    }

    pub(super) fn give_back(&mut self, i: usize) {
        let (store, lines) = (self.orders[i].store, self.orders[i].body.lines.clone());
        for (product, quantity) in lines {
            let item = self.menu.get_mut(&(store, product)).expect("an ordered item exists");
            item.stock += quantity;
            item.version += 1;
        }
    }

    pub(super) fn request_delivery(&mut self, i: usize, reason: bool) -> Outcome {
        self.orders[i].rider = false;
        self.pending.push(i);
        let mut outcome = self.advance(i, Status::DeliveryRequested, reason);
        outcome.status = 202;
        outcome
    }
}
