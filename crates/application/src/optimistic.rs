//! The one optimistic-concurrency loop of every order change (an API call or
//! a delivery event): read the order, decide, write conditionally on the
//! version read; a lost race reads again and decides again, so a change that
//! became wrong meanwhile is decided on what the order is now.
//!
//! When the races are lost `attempts` times in a row, the loop gives up with
//! [`Conflict::KeptChanging`]; each caller says what that means for it (an
//! API call answers 409 `CONCURRENT_UPDATE`, which the client may retry; a
//! consumer fails the record, which its event source mapping retries).

use foodstream_domain::ids::OrderId;
use foodstream_domain::order::Order;
use foodstream_domain::ports::{OrderRepository, OrderUpdate, PortError, UpdateError};

/// What one attempt decided on the order it read.
pub enum Step<T> {
    /// Write this change (conditionally on the version it was computed from).
    Write(Box<OrderUpdate>),
    /// Nothing to write: the result is `T`.
    Done(T),
}

/// How the loop ended, when it did not end well.
#[derive(Debug)]
pub enum Conflict<E> {
    /// The decision refused the change, or there was no such order.
    Refused(E),
    /// Reading or writing the order failed.
    Port(PortError),
    /// Every attempt lost its race.
    KeptChanging {
        /// How many attempts were made.
        attempts: u32,
    },
}

/// How the loop ended well.
pub enum Finished<T> {
    /// This change was written.
    Written(Box<OrderUpdate>),
    /// Nothing was written: the decision's result.
    Done(T),
}

/// Decides on `first` (a read the caller made already) or a fresh read of
/// `order_id`, and writes, up to `attempts` times.
pub async fn change<T, E>(
    orders: &dyn OrderRepository,
    order_id: &OrderId,
    attempts: u32,
    first: Option<Order>,
    missing: impl Fn() -> E,
    mut decide: impl FnMut(&Order) -> Result<Step<T>, E>,
) -> Result<Finished<T>, Conflict<E>> {
    let mut current = first;
    for _ in 0..attempts.max(1) {
        let order = match current.take() {
            Some(order) => order,
            None => orders
                .get(order_id)
                .await
                .map_err(Conflict::Port)?
                .ok_or_else(|| Conflict::Refused(missing()))?,
        };
        let update = match decide(&order).map_err(Conflict::Refused)? {
            Step::Done(result) => return Ok(Finished::Done(result)),
            Step::Write(update) => update,
        };
        match orders.update(&update).await {
            Ok(()) => return Ok(Finished::Written(update)),
            Err(UpdateError::VersionConflict) => continue,
            Err(UpdateError::Port(e)) => return Err(Conflict::Port(e)),
        }
    }
    Err(Conflict::KeptChanging { attempts: attempts.max(1) })
}
