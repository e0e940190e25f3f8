//! The reference model's rules: what each call does to its state, and
//! the asynchronous pipeline it settles through.

use super::*;

impl Model {
    /// Applies a call to the model: what a client should get.
    pub fn apply(&mut self, call: &Call) -> Expected {
        match self.apply_inner(call) {
            Ok(expected) => expected,
            Err(outcome) => outcome.into(),
        }
    }

    fn apply_inner(&mut self, call: &Call) -> Result<Expected, Outcome> {
        let ok = |o: Outcome| -> Result<Expected, Outcome> { Ok(o.into()) };
        match call.clone() {
            Call::PutMenu { caller, store, product, price, stock, if_match } => {
                if caller != Caller::Owner(store) {
                    return Err(Outcome::forbidden());
                }
                if price <= 0 {
                    return Err(Outcome::invalid("price"));
                }
                if stock.is_some_and(|s| s < 0) {
                    return Err(Outcome::invalid("stock"));
                }
                let current = self.menu.get(&(store, product)).cloned();
                if let Some(expected) = if_match
                    && current.as_ref().map(|c| c.version) != Some(expected)
                {
                    let shown = current.map_or("null".to_owned(), |c| c.version.to_string());
                    return Err(Outcome::err(412, "PRECONDITION_FAILED", shown));
                }
                let item = Item {
                    price,
                    stock: stock.or(current.as_ref().map(|c| c.stock)).unwrap_or(0),
                    version: current.map_or(0, |c| c.version) + 1,
                };
                let detail = menu_detail(Some(item.stock), Some(item.price), Some(item.version));
                self.menu.insert((store, product), item);
                ok(Outcome::ok(200, detail))
            }
            Call::Place { caller, key, body } => {
                let Caller::Customer(customer) = caller else {
                    return Err(Outcome::forbidden());
                };
                self.placements.push((customer, key, body.clone()));
                if body.lines.is_empty() || body.lines.len() > MAX_LINES {
                    return Err(Outcome::invalid("items"));
                }
                let mut seen = BTreeSet::new();
                for (i, (product, quantity)) in body.lines.iter().enumerate() {
                    if !seen.insert(*product) {
                        return Err(Outcome::invalid(&format!("items[{i}].product_id")));
                    }
                    if !(1..=MAX_QUANTITY).contains(quantity) {
                        return Err(Outcome::invalid(&format!("items[{i}].quantity")));
                    }
                }
                if let Some(key) = key
                    && let Some((first, order)) = self.keys.get(&(customer, key))
                {
                    if *first != body {
                        return Err(Outcome::err(409, "IDEMPOTENCY_KEY_REUSED", ""));
                    }
                    let status = self.orders[*order].status();
                    return Ok(Expected {
                        outcome: Outcome::ok(201, status.as_str()),
                        placed: Some((*order, true)),
                        listed: None,
                    });
                }
                for (i, (product, _)) in body.lines.iter().enumerate() {
                    if !self.menu.contains_key(&(body.store, *product)) {
                        return Err(Outcome::invalid(&format!("items[{i}].product_id")));
                    }
                }
                let mut short: Vec<String> = body
                    .lines
                    .iter()
                    .filter(|(p, q)| self.menu[&(body.store, *p)].stock < *q)
                    .map(|(p, _)| Names::product(*p))
                    .collect();
                if !short.is_empty() {
                    short.sort();
                    return Err(Outcome::err(409, "INSUFFICIENT_STOCK", short.join(",")));
                }
                let mut total = 0;
                for (product, quantity) in &body.lines {
                    let item = self.menu.get_mut(&(body.store, *product)).expect("checked above");
                    item.stock -= quantity;
                    item.version += 1;
                    total += item.price * quantity;
                }
                let index = self.orders.len();
                self.orders.push(ModelOrder {
                    customer,
                    store: body.store,
                    zone: Names::zone_of(body.district),
                    body: body.clone(),
                    total,
                    history: vec![Status::Paid],
                    reasons: vec![false],
                    rider: false,
                    delivered_at: false,
                    refund: None,
                    photo: false,
                    deadline_ms: None,
                    created_ms: self.now_ms,
                });
                if let Some(key) = key {
                    self.keys.insert((customer, key), (body, index));
                }
                Ok(Expected { outcome: Outcome::ok(201, "PAID"), placed: Some((index, false)), listed: None })
            }
            Call::Get { caller, order } => {
                if caller == Caller::Operator {
                    return Err(Outcome::forbidden());
                }
                let i = self.visible(caller, order)?;
                ok(Outcome::ok(200, self.orders[i].status().as_str()))
            }
            Call::ListMine { caller } => {
                let Caller::Customer(c) = caller else {
                    return Err(Outcome::forbidden());
                };
                let listed = (0..self.orders.len()).filter(|i| self.orders[*i].customer == c).collect();
                Ok(Expected { outcome: Outcome::ok(200, ""), placed: None, listed: Some(listed) })
            }
            Call::ListStore { caller, store, status } => {
                if caller != Caller::Owner(store) {
                    return Err(Outcome::forbidden());
                }
                let listed = (0..self.orders.len())
                    .filter(|i| {
                        let o = &self.orders[*i];
                        o.store == store && status.is_none_or(|s| o.status() == s)
                    })
                    .collect();
                Ok(Expected { outcome: Outcome::ok(200, ""), placed: None, listed: Some(listed) })
            }
            Call::Cancel { caller, order } => {
                if caller == Caller::Operator {
                    return Err(Outcome::forbidden());
                }
                let i = self.visible(caller, order)?;
                if matches!(caller, Caller::Customer(_)) {
                    // Before acceptance: nothing was cooked, stock back.
                    self.require(i, &[Status::Paid])?;
                    self.give_back(i);
                } else {
                    // After a failed delivery: the food was made, no stock back.
                    self.require(i, &[Status::DeliveryFailed])?;
                }
                ok(self.advance(i, Status::Cancelled, false))
            }
            Call::Accept { caller, order } => {
                let i = self.store_order(caller, order)?;
                self.require(i, &[Status::Paid])?;
                ok(self.advance(i, Status::Accepted, false))
            }
            Call::Reject { caller, order, reason } => {
                let i = self.store_order(caller, order)?;
                self.require(i, &[Status::Paid])?;
                if !reason {
                    return Err(Outcome::invalid("reason"));
                }
                self.give_back(i);
                ok(self.advance(i, Status::Rejected, true))
            }
            Call::RequestDelivery { caller, order } => {
                let i = self.store_order(caller, order)?;
                self.require(i, &[Status::Accepted, Status::DeliveryFailed])?;
                ok(self.request_delivery(i, false))
            }
            Call::RegisterRider { caller, rider, district } => {
                if caller != Caller::Operator {
                    return Err(Outcome::forbidden());
                }
                self.riders.insert(rider, Names::zone_of(district));
                // Between pumps no delivery is in flight: every rider is free.
                ok(Outcome::ok(200, "AVAILABLE"))
            }
            Call::Photo { caller, order, content_ok } => {
                let i = self.customer_order(caller, order)?;
                if !content_ok {
                    return Err(Outcome::invalid("content_type"));
                }
                self.refundable(i)?;
                self.orders[i].photo = true;
                ok(Outcome::ok(200, ""))
            }
            Call::RefundRequest { caller, order, method, reason_ok, key_ok } => {
                let i = self.customer_order(caller, order)?;
                if !key_ok {
                    return Err(Outcome::invalid("photo_key"));
                }
                if !reason_ok {
                    return Err(Outcome::invalid("reason"));
                }
                self.refundable(i)?;
                if !self.orders[i].photo {
                    return Err(Outcome::invalid("photo_key"));
                }
                self.orders[i].refund = Some((method, RefundState::Requested, false));
                ok(self.advance(i, Status::RefundRequested, true))
            }
            Call::Decide { caller, order, approve, reason } => {
                let i = self.store_order(caller, order)?;
                self.require(i, &[Status::RefundRequested])?;
                let (method, _, _) = self.orders[i].refund.expect("REFUND_REQUESTED has a refund");
                if !approve && !reason {
                    return Err(Outcome::invalid("reason"));
                }
                let state = if approve { RefundState::Approved } else { RefundState::Rejected };
                self.orders[i].refund = Some((method, state, reason));
                ok(match (approve, method) {
                    (false, _) => self.advance(i, Status::Delivered, true),
                    (true, RefundMethod::Refund) => self.advance(i, Status::Refunded, reason),
                    (true, RefundMethod::Redeliver) => {
                        let mut outcome = self.request_delivery(i, reason);
                        outcome.status = 200;
                        outcome
                    }
                })
            }
            Call::Wait { secs } => {
                self.now_ms += secs as i64 * 1000;
                ok(Outcome::ok(200, ""))
            }
            Call::Pump => {
                self.pump();
                ok(Outcome::ok(200, ""))
            }
        }
    }

    /// The dispatcher takes each request in turn: a rider of the zone is
    /// taken and, the delivery time later, freed again with the order
    /// DELIVERED (so riders are never on two deliveries, and free again for
    /// the next request); no rider in the zone: DELIVERY_FAILED. The order
    /// updater records the deliveries once every request was dispatched,
    /// and the refund window opens then.
    pub fn pump(&mut self) {
        let pending = std::mem::take(&mut self.pending);
        let mut delivered = Vec::new();
        for i in pending {
            if self.rider_in_zone(self.orders[i].zone) {
                self.now_ms += self.timing.delivery_ms;
                delivered.push(i);
            } else {
                self.advance(i, Status::DeliveryFailed, true);
            }
        }
        for i in delivered {
            self.advance(i, Status::Delivering, false);
            self.advance(i, Status::Delivered, false);
            let order = &mut self.orders[i];
            order.rider = true;
            order.delivered_at = true;
            order.deadline_ms = Some(self.now_ms + self.timing.refund_window_ms);
        }
    }

    /// Every status some order went through, with how many orders did.
    pub fn reached(&self) -> BTreeMap<Status, usize> {
        let mut reached = BTreeMap::new();
        for order in &self.orders {
            for status in order.history.iter().collect::<BTreeSet<_>>() {
                *reached.entry(*status).or_default() += 1;
            }
        }
        reached
    }

    /// The status each order should settle in after a pump, for the orders
    /// a pump changes (to wait for them over HTTP).
    pub fn settling(&self) -> Vec<(usize, Status)> {
        self.orders
            .iter()
            .enumerate()
            .filter(|(i, o)| self.pending.contains(i) || o.status() == Status::Delivering)
            .map(|(i, o)| {
                (i, if self.rider_in_zone(o.zone) { Status::Delivered } else { Status::DeliveryFailed })
            })
            .collect()
    }
}
