//! The runner: a sequence played against an [`Executor`] and the model
//! side by side.

use super::*;

/// An order a pump should bring to `status`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settling {
    /// The order's real id.
    pub order_id: String,
    /// Its customer, to read it as.
    pub customer: u8,
    /// The status it should reach.
    pub status: Status,
}

/// Runs calls against the system under test.
#[allow(async_fn_in_trait)]
pub trait Executor {
    /// Makes `call` (`ids`: the real id of each model order so far) and
    /// returns the HTTP status and JSON body a client would get, and
    /// whether a placement was a replay, where that can be told.
    async fn call(&mut self, call: &Call, ids: &[String]) -> (u16, Value, Option<bool>);
    /// Lets the asynchronous pipeline run until nothing moves; `settling`
    /// names the orders that should end in a status, for an executor that
    /// can only wait for them.
    async fn pump(&mut self, settling: &[Settling]);
    /// `GET /orders/{id}` as its customer.
    async fn order(&mut self, id: &str, customer: u8) -> Value;
    /// `GET /stores/{store}/menu`.
    async fn menu(&mut self, store: u8) -> Value;
}

/// How [`run`] compares the executor with the model.
#[derive(Clone, Copy, Debug)]
pub struct RunConfig {
    /// Compare every order and item after every command, not only after
    /// pumps and at the end.
    pub check_every_step: bool,
    /// Pump right after every call that asked for a delivery, so only one
    /// delivery is ever in flight (over HTTP, where deliveries overlapping
    /// on one rider would make the outcome a race).
    pub settle_deliveries: bool,
    /// Whether lists must be newest first by placement order (true where
    /// every placement has its own time, over HTTP; in memory orders
    /// placed at one clock instant tie).
    pub strict_creation_order: bool,
}

/// Plays the setup and `commands` against `executor` and `model`; on the
/// first disagreement, the trace of the steps so far and what differed.
pub async fn run<E: Executor>(
    executor: &mut E,
    model: &mut Model,
    commands: &[Command],
    config: RunConfig,
) -> Result<(), String> {
    let mut runner = Runner { ids: Vec::new(), trace: String::new() };
    for call in Model::setup() {
        runner.step(executor, model, None, call, config).await?;
    }
    for (n, command) in commands.iter().enumerate() {
        let call = model.resolve(command);
        runner.step(executor, model, Some((n, command)), call, config).await?;
    }
    runner.step(executor, model, None, Call::Pump, config).await
}

struct Runner {
    /// The real id of each model order.
    ids: Vec<String>,
    trace: String,
}

impl Runner {
    fn fail(&self, what: String) -> Result<(), String> {
        Err(format!("{what}\n--- steps ---\n{}", self.trace))
    }

    async fn step<E: Executor>(
        &mut self,
        executor: &mut E,
        model: &mut Model,
        command: Option<(usize, &Command)>,
        call: Call,
        config: RunConfig,
    ) -> Result<(), String> {
        match command {
            Some((n, command)) => {
                let _ = write!(self.trace, "#{n} {command:?}\n     => {call:?}");
            }
            None => {
                let _ = write!(self.trace, "   {call:?}");
            }
        }
        if call == Call::Pump {
            let _ = writeln!(self.trace);
            return self.pump(executor, model).await;
        }
        let expected = model.apply(&call);
        let (status, body, replayed) = executor.call(&call, &self.ids).await;
        let observed = observe(&call, status, &body, replayed);
        let _ = writeln!(self.trace, "\n     -> {}", observed.outcome);
        if observed.outcome != expected.outcome {
            return self.fail(format!(
                "outcome differs: expected {}, got {}\nbody: {body}",
                expected.outcome, observed.outcome
            ));
        }
        if let Some((index, replay)) = expected.placed {
            let Some(id) = observed.order_id.clone() else {
                return self.fail(format!("a placement answered no order_id: {body}"));
            };
            if replay {
                if self.ids.get(index) != Some(&id) {
                    return self.fail(format!("a replay answered {id}, not order #{index}"));
                }
            } else if index != self.ids.len() || self.ids.contains(&id) {
                return self.fail(format!("a new placement answered {id}, already seen as {:?}", self.ids));
            } else {
                self.ids.push(id);
            }
            if let Some(seen) = observed.replayed
                && seen != replay
            {
                return self.fail(format!("replayed = {seen}, expected {replay}"));
            }
        }
        if let Some(listed) = &expected.listed {
            let got: Vec<String> = observed.listed.clone().unwrap_or_default();
            let want: BTreeSet<&String> = listed.iter().map(|i| &self.ids[*i]).collect();
            let got_set: BTreeSet<&String> = got.iter().collect();
            if want != got_set || got.len() != listed.len() {
                return self.fail(format!("list differs: expected {want:?}, got {got:?}"));
            }
            // Newest first.
            let index_of = |id: &String| self.ids.iter().position(|x| x == id).expect("listed above");
            for pair in got.windows(2) {
                let (a, b) = (index_of(&pair[0]), index_of(&pair[1]));
                let (ta, tb) = (model.orders[a].created_ms, model.orders[b].created_ms);
                if ta < tb || (config.strict_creation_order && a < b) {
                    return self.fail(format!("list not newest first: {got:?}"));
                }
            }
        }
        if config.settle_deliveries && !model.pending.is_empty() {
            let _ = writeln!(self.trace, "   (settle the delivery)");
            self.pump(executor, model).await?;
        } else if config.check_every_step {
            self.compare(executor, model).await?;
        }
        Ok(())
    }

    async fn pump<E: Executor>(&mut self, executor: &mut E, model: &mut Model) -> Result<(), String> {
        let settling: Vec<Settling> = model
            .settling()
            .into_iter()
            .map(|(i, status)| Settling {
                order_id: self.ids[i].clone(),
                customer: model.orders[i].customer,
                status,
            })
            .collect();
        model.pump();
        executor.pump(&settling).await;
        self.compare(executor, model).await
    }

    /// Every order and menu item against the model, and the invariants:
    /// version = timeline length, stock never below zero.
    async fn compare<E: Executor>(&mut self, executor: &mut E, model: &Model) -> Result<(), String> {
        for (i, order) in model.orders.iter().enumerate() {
            let body = executor.order(&self.ids[i], order.customer).await;
            let got = OrderSnap::of(&body);
            let want = order.snap(model.now_ms);
            if got.version != got.timeline.len() as u64 {
                return self.fail(format!(
                    "order #{i} version {} but {} timeline entries",
                    got.version,
                    got.timeline.len()
                ));
            }
            if got != want {
                return self.fail(format!(
                    "order #{i} ({}) differs:\n expected {want:?}\n got      {got:?}",
                    self.ids[i]
                ));
            }
        }
        for store in 0..STORES {
            let got = menu_of(&executor.menu(store).await);
            let want: BTreeMap<u8, (i64, i64, u64)> = model
                .menu
                .iter()
                .filter(|((s, _), _)| *s == store)
                .map(|((_, p), item)| (*p, (item.stock, item.price, item.version)))
                .collect();
            if got.values().any(|(stock, _, _)| *stock < 0) {
                return self.fail(format!("store {store}: stock below zero: {got:?}"));
            }
            if got != want {
                return self.fail(format!(
                    "store {store} menu (product: (stock, price, version)) differs:\n expected {want:?}\n got      {got:?}"
                ));
            }
        }
        Ok(())
    }
}
