//! Order routes: place, read, list, cancel, accept, reject, call a rider.

use crate::access::{load_store_order, load_visible_order, require_role, require_store_owner};
use crate::error::AppError;
use crate::optimistic::{self, Conflict, Finished, Step};
use crate::pagination::page_request;
use crate::settings::Settings;
use crate::views::{ListView, OrderView};
use foodstream_domain::Timestamp;
use foodstream_domain::identity::{Caller, Role};
use foodstream_domain::ids::{OrderId, StoreId};
use foodstream_domain::order::{Canceller, Order, OrderStatus, PlaceOrderInput, Transition};
use foodstream_domain::ports::{
    CatalogRepository, Clock, IdGenerator, IdempotencyRecord, OrderRepository, OrderUpdate, PlaceError,
    Placement,
};
use foodstream_domain::stock::StockPlan;
use foodstream_domain::trace::TraceParent;
use std::collections::HashMap;
use std::convert::Infallible;

/// The longest `Idempotency-Key` accepted: a key is 1 to this many
/// printable ASCII characters.
pub const MAX_IDEMPOTENCY_KEY_CHARS: usize = 128;

/// What `POST /orders` answered.
#[derive(Debug, Clone, PartialEq)]
pub struct PlacedOrder {
    /// The order, as placed now or by the earlier request.
    pub order: OrderView,
    /// True when an earlier request with the same Idempotency-Key and body
    /// already placed it: nothing new happened.
    pub replayed: bool,
}

/// The ports order placement needs.
pub struct PlaceOrderPorts<'a> {
    /// Where the order, its stock and its idempotency key are written.
    pub orders: &'a dyn OrderRepository,
    /// The menu the lines are priced from.
    pub catalog: &'a dyn CatalogRepository,
    /// When the order is placed.
    pub clock: &'a dyn Clock,
    /// The new order's id.
    pub ids: &'a dyn IdGenerator,
}

/// Places an order: validates, prices from the menu, and in one atomic write
/// takes the stock of every line, stores the order with its `OrderPlaced`
/// event, and records the idempotency key. The order keeps `trace`, the
/// request's, for everything done for it later.
pub async fn place_order(
    ports: PlaceOrderPorts<'_>,
    caller: &Caller,
    idempotency_key: Option<&str>,
    input: PlaceOrderInput,
    trace: Option<&TraceParent>,
) -> Result<PlacedOrder, AppError> {
    require_role(caller, &[Role::Customer])?;
    let key = idempotency_key.map(check_idempotency_key).transpose()?;
    let request = input.validate()?;
    let now = ports.clock.now();
    if let Some(key) = key
        && let Some(previous) = replay(ports.orders, caller, key, &request.fingerprint, now).await?
    {
        return Ok(previous);
    }

    let products: Vec<_> = request.lines.iter().map(|l| l.product_id.clone()).collect();
    let menu: HashMap<_, _> = ports
        .catalog
        .get_items(&request.store_id, &products)
        .await?
        .into_iter()
        .map(|item| (item.product_id.clone(), item))
        .collect();
    let (lines, _total) = request.price(&menu)?;
    // A first check on what we read gives the client exact numbers; the
    // write below re-checks every line atomically.
    let stock =
        StockPlan::take(&request.store_id, &request.lines, &menu).map_err(AppError::InsufficientStock)?;

    let Transition { mut order, events } =
        Order::place(OrderId::new(ports.ids.new_id()), caller.user_id.clone(), &request, lines, now);
    order.trace = trace.cloned();
    let idempotency = key.map(|key| IdempotencyRecord {
        customer_id: caller.user_id.clone(),
        key: key.to_owned(),
        fingerprint: request.fingerprint.clone(),
        order_id: order.order_id.clone(),
        created_at: now,
    });
    let placement = Placement { order, events, stock, idempotency };
    match ports.orders.place(&placement).await {
        Ok(()) => Ok(PlacedOrder { order: OrderView::at(placement.order, now), replayed: false }),
        // A concurrent retry with the same key won the race: answer as it did.
        Err(PlaceError::IdempotencyKeyTaken) => match key {
            Some(key) => replay(ports.orders, caller, key, &request.fingerprint, now)
                .await?
                .ok_or(AppError::IdempotencyKeyReused),
            None => Err(AppError::IdempotencyKeyReused),
        },
        Err(other) => Err(other.into()),
    }
}

fn check_idempotency_key(key: &str) -> Result<&str, AppError> {
    let ok = !key.is_empty()
        && key.len() <= MAX_IDEMPOTENCY_KEY_CHARS
        && key.chars().all(|c| c.is_ascii_graphic());
    if ok {
        Ok(key)
    } else {
        Err(AppError::invalid(
            "Idempotency-Key",
            format!("must be 1 to {MAX_IDEMPOTENCY_KEY_CHARS} printable ASCII characters"),
        ))
    }
}

/// The order an earlier request with this key placed, if the body matches.
async fn replay(
    orders: &dyn OrderRepository,
    caller: &Caller,
    key: &str,
    fingerprint: &str,
    now: Timestamp,
) -> Result<Option<PlacedOrder>, AppError> {
    let Some(record) = orders.find_idempotency(&caller.user_id, key).await? else {
        return Ok(None);
    };
    if record.fingerprint != fingerprint {
        return Err(AppError::IdempotencyKeyReused);
    }
    let order = orders.get(&record.order_id).await?.ok_or_else(|| {
        AppError::Port(foodstream_domain::ports::PortError::Corrupt(format!(
            "idempotency key {key} points at missing order {}",
            record.order_id
        )))
    })?;
    Ok(Some(PlacedOrder { order: OrderView::at(order, now), replayed: true }))
}

/// `GET /orders/{orderId}`: its customer or its store's owner.
pub async fn get_order(
    orders: &dyn OrderRepository,
    clock: &dyn Clock,
    caller: &Caller,
    order_id: &str,
) -> Result<OrderView, AppError> {
    require_role(caller, &[Role::Customer, Role::Owner])?;
    let order = load_visible_order(orders, caller, &OrderId::new(order_id)).await?;
    Ok(OrderView::at(order, clock.now()))
}

/// `GET /orders`: the customer's own orders, newest first.
pub async fn list_my_orders(
    orders: &dyn OrderRepository,
    clock: &dyn Clock,
    caller: &Caller,
    limit: Option<&str>,
    cursor: Option<&str>,
) -> Result<ListView<OrderView>, AppError> {
    require_role(caller, &[Role::Customer])?;
    let page = orders.list_for_customer(&caller.user_id, &page_request(limit, cursor)?).await?;
    let now = clock.now();
    Ok(ListView::of(page, |order| OrderView::at(order, now)))
}

/// `GET /stores/{storeId}/orders?status=`: the store's orders, newest first.
pub async fn list_store_orders(
    orders: &dyn OrderRepository,
    clock: &dyn Clock,
    caller: &Caller,
    store_id: &str,
    status: Option<&str>,
    limit: Option<&str>,
    cursor: Option<&str>,
) -> Result<ListView<OrderView>, AppError> {
    let store = StoreId::new(store_id);
    require_store_owner(caller, &store)?;
    let status = match status.filter(|s| !s.is_empty()) {
        None => None,
        Some(raw) => Some(OrderStatus::parse(raw).ok_or_else(|| {
            let all: Vec<&str> = OrderStatus::ALL.iter().map(|s| s.as_str()).collect();
            AppError::invalid("status", format!("must be one of {}", all.join(", ")))
        })?),
    };
    let page = orders.list_for_store(&store, status, &page_request(limit, cursor)?).await?;
    let now = clock.now();
    Ok(ListView::of(page, |order| OrderView::at(order, now)))
}

/// A change computed from the current order: the transition and, for
/// rejections and cancellations, the stock to give back.
pub struct Change {
    /// The order as changed, and the events of the change.
    pub transition: Transition,
    /// The stock to change in the same write, if any.
    pub stock: Option<StockPlan>,
}

impl From<Transition> for Change {
    fn from(transition: Transition) -> Self {
        Change { transition, stock: None }
    }
}

/// Reads the order, computes the change, and writes it conditionally on
/// the version read. Losing a race re-reads and recomputes, so a change
/// that became illegal meanwhile is refused with the new current status.
pub async fn change_order(
    orders: &dyn OrderRepository,
    settings: &Settings,
    current: Order,
    decide: impl Fn(&Order) -> Result<Change, AppError>,
) -> Result<Order, AppError> {
    let order_id = current.order_id.clone();
    let finished = optimistic::change(
        orders,
        &order_id,
        settings.version_conflict_attempts,
        Some(current),
        || AppError::NotFound(format!("order {order_id}")),
        |order| {
            let change = decide(order)?;
            Ok(Step::<Infallible>::Write(Box::new(OrderUpdate {
                order: change.transition.order,
                expected_version: order.version,
                events: change.transition.events,
                stock: change.stock,
            })))
        },
    )
    .await;
    match finished {
        Ok(Finished::Written(update)) => Ok(update.order),
        Ok(Finished::Done(never)) => match never {},
        Err(Conflict::Refused(error)) => Err(error),
        Err(Conflict::Port(error)) => Err(error.into()),
        // The client may try again.
        Err(Conflict::KeptChanging { .. }) => Err(AppError::ConcurrentUpdate),
    }
}

/// The ports of an order change made through the API.
pub struct ChangePorts<'a> {
    /// Where the order is read and written.
    pub orders: &'a dyn OrderRepository,
    /// When the change happens.
    pub clock: &'a dyn Clock,
    /// The conflict retries and the refund policy.
    pub settings: &'a Settings,
}

impl ChangePorts<'_> {
    /// Applies `decide` to an order the caller may act on, at the current
    /// time, through [`change_order`], and answers the new order.
    pub async fn apply(
        &self,
        order: Order,
        decide: impl Fn(&Order, Timestamp) -> Result<Change, AppError>,
    ) -> Result<OrderView, AppError> {
        let now = self.clock.now();
        let changed = change_order(self.orders, self.settings, order, |o| decide(o, now)).await?;
        Ok(OrderView::at(changed, now))
    }
}

/// `POST /orders/{orderId}/cancel`: the customer while PAID (stock back),
/// or the store's owner after DELIVERY_FAILED.
pub async fn cancel_order(
    ports: ChangePorts<'_>,
    caller: &Caller,
    order_id: &str,
    reason: Option<&str>,
) -> Result<OrderView, AppError> {
    require_role(caller, &[Role::Customer, Role::Owner])?;
    let order = load_visible_order(ports.orders, caller, &OrderId::new(order_id)).await?;
    let by = if caller.role == Role::Customer { Canceller::Customer } else { Canceller::StoreOwner };
    ports
        .apply(order, |o, now| {
            let (transition, stock_back) = o.cancel(by, reason, now)?;
            let stock = stock_back.then(|| StockPlan::give_back(&o.store_id, &o.quantities()));
            Ok(Change { transition, stock })
        })
        .await
}

/// `POST /orders/{orderId}/accept`.
pub async fn accept_order(
    ports: ChangePorts<'_>,
    caller: &Caller,
    order_id: &str,
) -> Result<OrderView, AppError> {
    let order = load_store_order(ports.orders, caller, order_id).await?;
    ports.apply(order, |o, now| Ok(o.accept(now)?.into())).await
}

/// `POST /orders/{orderId}/reject` with `{reason}`: stock back.
pub async fn reject_order(
    ports: ChangePorts<'_>,
    caller: &Caller,
    order_id: &str,
    reason: Option<&str>,
) -> Result<OrderView, AppError> {
    let order = load_store_order(ports.orders, caller, order_id).await?;
    ports
        .apply(order, |o, now| {
            let transition = o.reject(reason.unwrap_or(""), now)?;
            Ok(Change { transition, stock: Some(StockPlan::give_back(&o.store_id, &o.quantities())) })
        })
        .await
}

/// `POST /orders/{orderId}/delivery-requests`: call a rider (the
/// dispatcher picks it up from `order-events`).
pub async fn request_delivery(
    ports: ChangePorts<'_>,
    caller: &Caller,
    order_id: &str,
) -> Result<OrderView, AppError> {
    let order = load_store_order(ports.orders, caller, order_id).await?;
    ports.apply(order, |o, now| Ok(o.request_delivery(now)?.into())).await
}
