use async_trait::async_trait;
use foodstream_domain::Timestamp;
use foodstream_domain::catalog::{MenuItem, MenuItemChange};
use foodstream_domain::delivery::{Delivery, DeliveryStatus, Rider, RiderStatus, Zone};
use foodstream_domain::events::OrderEvent;
use foodstream_domain::ids::{
    LogId, NotificationId, OrderId, ProductId, Recipient, RiderId, StoreId, UserId,
};
use foodstream_domain::log::LogRecord;
use foodstream_domain::notification::Notification;
use foodstream_domain::order::{Order, OrderStatus};
use foodstream_domain::ports::{
    AssignOutcome, CatalogRepository, DeliveryRepository, IdempotencyRecord, LogRepository,
    NotificationRepository, OrderRepository, OrderUpdate, Page, PageRequest, PlaceError, Placement,
    PortError, RiderRepository, SaveItemError, UpdateError,
};
use foodstream_domain::stock::StockPlan;
use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Default)]
struct State {
    menu: HashMap<(StoreId, ProductId), MenuItem>,
    orders: HashMap<OrderId, Order>,
    idempotency: HashMap<(UserId, String), IdempotencyRecord>,
    /// Every stored order event, in write order: what the orders table's
    /// stream hands the outbox relay.
    outbox: Vec<OrderEvent>,
    riders: HashMap<RiderId, Rider>,
    deliveries: HashMap<String, Delivery>,
    notifications: HashMap<NotificationId, Notification>,
    logs: HashMap<LogId, LogRecord>,
    down: bool,
}

/// Every repository in one lock: each method is atomic like the DynamoDB
/// transaction or conditional write it stands for.
#[derive(Default)]
pub struct InMemoryStore {
    state: Mutex<State>,
}

impl InMemoryStore {
    /// An empty store that is up.
    pub fn new() -> Self {
        Self::default()
    }

    /// While down, every port method fails with `PortError::Unavailable`;
    /// the inspection helpers here still answer.
    pub fn set_down(&self, down: bool) {
        self.state.lock().unwrap().down = down;
    }

    /// Removes and returns the order events written since the last drain,
    /// as the table stream would deliver them.
    pub fn drain_outbox(&self) -> Vec<OrderEvent> {
        std::mem::take(&mut self.state.lock().unwrap().outbox)
    }

    /// The stored order's trace, as the table stream shows it to the relay.
    pub fn trace_of(&self, order: &OrderId) -> Option<foodstream_domain::trace::TraceParent> {
        self.state.lock().unwrap().orders.get(order).and_then(|o| o.trace.clone())
    }

    /// The stock of a store's menu item; `None` when there is no such item.
    pub fn stock_of(&self, store: &str, product: &str) -> Option<i64> {
        let state = self.state.lock().unwrap();
        state.menu.get(&(StoreId::new(store), ProductId::new(product))).map(|i| i.stock)
    }

    /// The rider as stored, if known.
    pub fn rider(&self, rider: &str) -> Option<Rider> {
        self.state.lock().unwrap().riders.get(&RiderId::new(rider)).cloned()
    }

    /// How many orders are stored.
    pub fn order_count(&self) -> usize {
        self.state.lock().unwrap().orders.len()
    }

    /// How many notifications are stored.
    pub fn notification_count(&self) -> usize {
        self.state.lock().unwrap().notifications.len()
    }

    /// How many log records are stored.
    pub fn log_count(&self) -> usize {
        self.state.lock().unwrap().logs.len()
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, State>, PortError> {
        let state = self.state.lock().unwrap();
        if state.down { Err(PortError::Unavailable("in-memory store is down".into())) } else { Ok(state) }
    }
}

impl State {
    /// Applies a stock plan all-or-nothing to the store's menu.
    fn apply_stock(&mut self, plan: &StockPlan) -> Result<(), Vec<foodstream_domain::stock::ShortLine>> {
        let mut stock: HashMap<ProductId, i64> = self
            .menu
            .values()
            .filter(|i| i.store_id == plan.store_id)
            .map(|i| (i.product_id.clone(), i.stock))
            .collect();
        plan.apply_to(&mut stock)?;
        for change in &plan.changes {
            if let Some(item) = self.menu.get_mut(&(plan.store_id.clone(), change.product_id.clone())) {
                item.stock = stock[&change.product_id];
                item.version += 1;
            }
        }
        Ok(())
    }
}

/// Newest first, then an offset cursor (`mem:<offset>`).
fn paginate<T: Clone>(
    mut items: Vec<T>,
    newest_first: impl Fn(&T, &T) -> std::cmp::Ordering,
    page: &PageRequest,
) -> Result<Page<T>, PortError> {
    items.sort_by(newest_first);
    let offset = match &page.cursor {
        None => 0,
        Some(c) => c
            .strip_prefix("mem:")
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| *n <= items.len())
            .ok_or(PortError::InvalidCursor)?,
    };
    let end = (offset + page.limit).min(items.len());
    let next_cursor = (end < items.len()).then(|| format!("mem:{end}"));
    Ok(Page { items: items[offset..end].to_vec(), next_cursor })
}

fn by_created_desc(a: &Order, b: &Order) -> std::cmp::Ordering {
    b.created_at.cmp(&a.created_at).then_with(|| b.order_id.cmp(&a.order_id))
}

#[async_trait]
impl CatalogRepository for InMemoryStore {
    async fn save_item(&self, change: &MenuItemChange) -> Result<MenuItem, SaveItemError> {
        let mut state = self.lock()?;
        let key = (change.store_id.clone(), change.product_id.clone());
        let current = state.menu.get(&key);
        if let Some(expected) = change.expected_version
            && current.map(|c| c.version) != Some(expected)
        {
            return Err(SaveItemError::StaleVersion { current: current.map(|c| c.version) });
        }
        let item = change.applied_to(current);
        state.menu.insert(key, item.clone());
        Ok(item)
    }

    async fn list_items(&self, store: &StoreId) -> Result<Vec<MenuItem>, PortError> {
        Ok(self.lock()?.menu.values().filter(|i| &i.store_id == store).cloned().collect())
    }

    async fn get_items(&self, store: &StoreId, products: &[ProductId]) -> Result<Vec<MenuItem>, PortError> {
        let state = self.lock()?;
        Ok(products.iter().filter_map(|p| state.menu.get(&(store.clone(), p.clone())).cloned()).collect())
    }
}

#[async_trait]
impl OrderRepository for InMemoryStore {
    async fn place(&self, placement: &Placement) -> Result<(), PlaceError> {
        let mut state = self.lock()?;
        let key = placement.idempotency.as_ref().map(|r| (r.customer_id.clone(), r.key.clone()));
        if key.as_ref().is_some_and(|k| state.idempotency.contains_key(k)) {
            return Err(PlaceError::IdempotencyKeyTaken);
        }
        if state.orders.contains_key(&placement.order.order_id) {
            return Err(PortError::Corrupt(format!("order id {} reused", placement.order.order_id)).into());
        }
        state.apply_stock(&placement.stock).map_err(PlaceError::StockShort)?;
        state.orders.insert(placement.order.order_id.clone(), placement.order.clone());
        state.outbox.extend(placement.events.iter().cloned());
        if let (Some(key), Some(record)) = (key, &placement.idempotency) {
            state.idempotency.insert(key, record.clone());
        }
        Ok(())
    }

    async fn get(&self, order: &OrderId) -> Result<Option<Order>, PortError> {
        Ok(self.lock()?.orders.get(order).cloned())
    }

    async fn update(&self, update: &OrderUpdate) -> Result<(), UpdateError> {
        let mut state = self.lock()?;
        let current = state.orders.get(&update.order.order_id).map(|o| o.version);
        if current != Some(update.expected_version) {
            return Err(UpdateError::VersionConflict);
        }
        if let Some(plan) = &update.stock {
            // Giving stock back has no condition but the item existing.
            state.apply_stock(plan).map_err(|short| {
                UpdateError::Port(PortError::Corrupt(format!("stock plan refused: {short:?}")))
            })?;
        }
        state.orders.insert(update.order.order_id.clone(), update.order.clone());
        state.outbox.extend(update.events.iter().cloned());
        Ok(())
    }

    async fn list_for_customer(
        &self,
        customer: &UserId,
        page: &PageRequest,
    ) -> Result<Page<Order>, PortError> {
        let orders = self.lock()?.orders.values().filter(|o| &o.customer_id == customer).cloned().collect();
        paginate(orders, by_created_desc, page)
    }

    async fn list_for_store(
        &self,
        store: &StoreId,
        status: Option<OrderStatus>,
        page: &PageRequest,
    ) -> Result<Page<Order>, PortError> {
        let orders = self
            .lock()?
            .orders
            .values()
            .filter(|o| &o.store_id == store && status.is_none_or(|s| o.status == s))
            .cloned()
            .collect();
        paginate(orders, by_created_desc, page)
    }

    async fn find_idempotency(
        &self,
        customer: &UserId,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, PortError> {
        Ok(self.lock()?.idempotency.get(&(customer.clone(), key.to_owned())).cloned())
    }

    async fn awaiting_delivery(
        &self,
        requested_by: Timestamp,
        limit: usize,
    ) -> Result<Vec<Order>, PortError> {
        let mut waiting: Vec<Order> = self
            .lock()?
            .orders
            .values()
            .filter(|o| o.status == OrderStatus::DeliveryRequested && o.updated_at <= requested_by)
            .cloned()
            .collect();
        waiting.sort_by(|a, b| (a.updated_at, &a.order_id).cmp(&(b.updated_at, &b.order_id)));
        waiting.truncate(limit);
        Ok(waiting)
    }
}

#[async_trait]
impl RiderRepository for InMemoryStore {
    async fn upsert(&self, rider: &RiderId, zone: &Zone, at: Timestamp) -> Result<Rider, PortError> {
        let mut state = self.lock()?;
        let entry = state.riders.entry(rider.clone()).or_insert_with(|| Rider {
            rider_id: rider.clone(),
            zone: zone.clone(),
            status: RiderStatus::Available,
            delivery_id: None,
            available_since: at,
        });
        entry.zone = zone.clone();
        Ok(entry.clone())
    }

    async fn get(&self, rider: &RiderId) -> Result<Option<Rider>, PortError> {
        Ok(self.lock()?.riders.get(rider).cloned())
    }

    async fn in_zone(&self, zone: &Zone) -> Result<Vec<Rider>, PortError> {
        Ok(self.lock()?.riders.values().filter(|r| &r.zone == zone).cloned().collect())
    }
}

#[async_trait]
impl DeliveryRepository for InMemoryStore {
    async fn get(&self, delivery_id: &str) -> Result<Option<Delivery>, PortError> {
        Ok(self.lock()?.deliveries.get(delivery_id).cloned())
    }

    async fn assign(&self, delivery: &Delivery) -> Result<AssignOutcome, PortError> {
        let mut state = self.lock()?;
        if state.deliveries.contains_key(&delivery.id()) {
            return Ok(AssignOutcome::AlreadyRecorded);
        }
        let rider_id =
            delivery.rider_id.clone().ok_or_else(|| PortError::Corrupt("assignment without rider".into()))?;
        match state.riders.get_mut(&rider_id) {
            // Taken only while still available and still in the request's
            // zone: a rider who moved zones since the index read is skipped.
            Some(rider) if rider.status == RiderStatus::Available && rider.zone == delivery.request.zone => {
                rider.status = RiderStatus::Busy;
                rider.delivery_id = Some(delivery.id());
            }
            _ => return Ok(AssignOutcome::RiderTaken),
        }
        state.deliveries.insert(delivery.id(), delivery.clone());
        Ok(AssignOutcome::Assigned)
    }

    async fn record_failure(&self, delivery: &Delivery) -> Result<bool, PortError> {
        let mut state = self.lock()?;
        if state.deliveries.contains_key(&delivery.id()) {
            return Ok(false);
        }
        state.deliveries.insert(delivery.id(), delivery.clone());
        Ok(true)
    }

    async fn complete(&self, delivery: &Delivery, at: Timestamp) -> Result<bool, PortError> {
        let mut state = self.lock()?;
        let id = delivery.id();
        match state.deliveries.get(&id) {
            Some(d) if d.status == DeliveryStatus::Assigned => {}
            _ => return Ok(false),
        }
        state.deliveries.insert(id.clone(), delivery.clone());
        if let Some(rider) = delivery.rider_id.as_ref().and_then(|r| state.riders.get_mut(r))
            && rider.delivery_id.as_deref() == Some(id.as_str())
        {
            rider.status = RiderStatus::Available;
            rider.delivery_id = None;
            rider.available_since = at;
        }
        Ok(true)
    }

    async fn overdue(&self, due_by: Timestamp, limit: usize) -> Result<Vec<Delivery>, PortError> {
        let mut due: Vec<Delivery> = self
            .lock()?
            .deliveries
            .values()
            .filter(|d| d.status == DeliveryStatus::Assigned && d.completes_at.is_some_and(|at| at <= due_by))
            .cloned()
            .collect();
        due.sort_by_key(|d| (d.completes_at, d.id()));
        due.truncate(limit);
        Ok(due)
    }
}

#[async_trait]
impl NotificationRepository for InMemoryStore {
    async fn insert(&self, notification: &Notification) -> Result<bool, PortError> {
        let mut state = self.lock()?;
        if state.notifications.contains_key(&notification.notification_id) {
            return Ok(false);
        }
        state.notifications.insert(notification.notification_id.clone(), notification.clone());
        Ok(true)
    }

    async fn list_for(
        &self,
        recipient: &Recipient,
        page: &PageRequest,
    ) -> Result<Page<Notification>, PortError> {
        let items =
            self.lock()?.notifications.values().filter(|n| &n.recipient == recipient).cloned().collect();
        paginate(
            items,
            |a: &Notification, b: &Notification| {
                b.created_at.cmp(&a.created_at).then_with(|| b.notification_id.cmp(&a.notification_id))
            },
            page,
        )
    }
}

fn log_newest_first(a: &LogRecord, b: &LogRecord) -> std::cmp::Ordering {
    b.created_at.cmp(&a.created_at).then_with(|| b.log_id.cmp(&a.log_id))
}

#[async_trait]
impl LogRepository for InMemoryStore {
    async fn insert(&self, record: &LogRecord) -> Result<bool, PortError> {
        let mut state = self.lock()?;
        if state.logs.contains_key(&record.log_id) {
            return Ok(false);
        }
        state.logs.insert(record.log_id.clone(), record.clone());
        Ok(true)
    }

    async fn list_for_user(&self, user_id: &str, page: &PageRequest) -> Result<Page<LogRecord>, PortError> {
        let items = self.lock()?.logs.values().filter(|r| r.user_id == user_id).cloned().collect();
        paginate(items, log_newest_first, page)
    }

    async fn list_for_order(
        &self,
        order: &OrderId,
        page: &PageRequest,
    ) -> Result<Page<LogRecord>, PortError> {
        let items = self.lock()?.logs.values().filter(|r| &r.order_id == order).cloned().collect();
        paginate(items, log_newest_first, page)
    }
}
