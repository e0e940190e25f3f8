//! A whole foodstream in memory: every port, and a pump that plays the
//! table stream, the three topics and the delivery timer through the
//! consumers, so a use case
//! test can follow an order end to end in microseconds.

#![allow(dead_code)]

use chrono::{Duration, TimeZone, Utc};
use foodstream_application::consumers::{
    CompletePorts, DispatchPorts, NotifyPorts, Outcome, apply_delivery_event, collect_log,
    complete_due_delivery, dispatch_delivery, notify, relay_order_events,
};
use foodstream_application::ordering::{
    ChangePorts, PlaceOrderPorts, PlacedOrder, accept_order, place_order, request_delivery,
};
use foodstream_application::refunds::PhotoPorts;
use foodstream_application::views::OrderView;
use foodstream_application::{AppError, Settings};
use foodstream_domain::Timestamp;
use foodstream_domain::catalog::MenuItemInput;
use foodstream_domain::events::{DeliveryEvent, LogEvent, OrderEvent, OrderEventType, decode, topics};
use foodstream_domain::identity::Caller;
use foodstream_domain::order::{Address, LineInput, PlaceOrderInput};
use foodstream_domain::ports::{CatalogRepository, OutgoingMessage};
use foodstream_domain::trace::TraceParent;
use foodstream_memory::{
    InMemoryPhotoStore, InMemoryStore, ManualClock, RecordingPublisher, RecordingTimer, SequentialIds,
};
use std::sync::Arc;

pub const STORE: &str = "store-1";

pub fn t0() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap()
}

pub fn customer() -> Caller {
    Caller::customer("cust-1")
}

pub fn other_customer() -> Caller {
    Caller::customer("cust-2")
}

pub fn owner() -> Caller {
    Caller::owner("owner-1", STORE)
}

pub fn other_owner() -> Caller {
    Caller::owner("owner-2", "store-2")
}

pub fn operator() -> Caller {
    Caller::operator("ops-1")
}

pub fn address(district: &str) -> Address {
    Address { street: "1 Teheran-ro".into(), district: district.into(), city: "Seoul".into() }
}

pub fn order_input(lines: &[(&str, i64)]) -> PlaceOrderInput {
    PlaceOrderInput {
        store_id: STORE.into(),
        items: lines.iter().map(|(p, q)| LineInput { product_id: (*p).into(), quantity: *q }).collect(),
        address: address("Gangnam-gu"),
    }
}

/// Everything the pump saw, by topic.
#[derive(Debug, Default)]
pub struct Traffic {
    pub order_events: Vec<OrderEvent>,
    pub delivery_events: Vec<DeliveryEvent>,
    pub log_events: Vec<LogEvent>,
    /// Every message's topic, event id and trace, in publishing order.
    pub traces: Vec<(&'static str, String, Option<TraceParent>)>,
}

pub struct World {
    pub store: Arc<InMemoryStore>,
    pub publisher: Arc<RecordingPublisher>,
    pub clock: Arc<ManualClock>,
    pub ids: SequentialIds,
    pub photos: InMemoryPhotoStore,
    /// The delivery timer: what the dispatcher scheduled, until fired.
    pub timer: RecordingTimer,
    pub settings: Settings,
    pub traffic: Traffic,
}

impl World {
    pub fn new() -> World {
        let clock = Arc::new(ManualClock::at(t0()));
        World {
            store: Arc::new(InMemoryStore::new()),
            publisher: Arc::new(RecordingPublisher::new()),
            photos: InMemoryPhotoStore::new(clock.clone()),
            clock,
            ids: SequentialIds::new("id"),
            timer: RecordingTimer::new(),
            settings: Settings::default(),
            traffic: Traffic::default(),
        }
    }

    /// A menu of `(product, price, stock)` for [`STORE`].
    pub async fn with_menu(self, items: &[(&str, i64, i64)]) -> World {
        for (product, price, stock) in items {
            let item = MenuItemInput { name: format!("{product} name"), price: *price, stock: Some(*stock) };
            let change = item.validate(STORE.into(), (*product).into(), None).unwrap();
            self.store.save_item(&change).await.unwrap();
        }
        self
    }

    pub fn place_ports(&self) -> PlaceOrderPorts<'_> {
        PlaceOrderPorts { orders: &*self.store, catalog: &*self.store, clock: &*self.clock, ids: &self.ids }
    }

    pub fn change_ports(&self) -> ChangePorts<'_> {
        ChangePorts { orders: &*self.store, clock: &*self.clock, settings: &self.settings }
    }

    pub fn photo_ports(&self) -> PhotoPorts<'_> {
        PhotoPorts {
            orders: &*self.store,
            photos: &self.photos,
            clock: &*self.clock,
            refund: &self.settings.refund,
        }
    }

    pub fn sweep_ports(&self) -> foodstream_application::sweeper::SweepPorts<'_> {
        foodstream_application::sweeper::SweepPorts {
            orders: &*self.store,
            dispatch: self.dispatch_ports(),
            settings: foodstream_application::sweeper::SweepSettings::default(),
        }
    }

    pub fn dispatch_ports(&self) -> DispatchPorts<'_> {
        DispatchPorts {
            riders: &*self.store,
            deliveries: &*self.store,
            publisher: &*self.publisher,
            clock: &*self.clock,
            settings: &self.settings,
        }
    }

    pub fn complete_ports(&self) -> CompletePorts<'_> {
        CompletePorts { deliveries: &*self.store, publisher: &*self.publisher, clock: &*self.clock }
    }

    /// The timer fires: the completer runs on every completion scheduled
    /// so far (the manual clock jumps over each one's wait).
    pub async fn fire_timers(&self) -> Vec<Outcome> {
        let mut outcomes = Vec::new();
        for due in self.timer.take() {
            outcomes.push(complete_due_delivery(&self.complete_ports(), &due).await.unwrap());
        }
        outcomes
    }

    pub fn notify_ports(&self) -> NotifyPorts<'_> {
        NotifyPorts { notifications: &*self.store, publisher: &*self.publisher, settings: &self.settings }
    }

    pub async fn place(&self, caller: &Caller, lines: &[(&str, i64)]) -> Result<PlacedOrder, AppError> {
        place_order(self.place_ports(), caller, None, order_input(lines), None).await
    }

    /// Places an order from a request that came within `trace`.
    pub async fn place_traced(
        &self,
        caller: &Caller,
        lines: &[(&str, i64)],
        trace: &TraceParent,
    ) -> Result<PlacedOrder, AppError> {
        place_order(self.place_ports(), caller, None, order_input(lines), Some(trace)).await
    }

    /// An order placed, accepted and sent for delivery: its id, and the
    /// `OrderDeliveryRequested` event the relay would publish (the outbox is
    /// drained, nothing is pumped).
    pub async fn delivery_requested(&self) -> (String, OrderEvent) {
        let id = self.place(&customer(), &[("bibimbap", 1)]).await.unwrap().order.order_id;
        accept_order(self.change_ports(), &owner(), &id).await.unwrap();
        request_delivery(self.change_ports(), &owner(), &id).await.unwrap();
        let request = self
            .store
            .drain_outbox()
            .into_iter()
            .find(|e| e.event_type == OrderEventType::OrderDeliveryRequested)
            .expect("the delivery request event");
        (id, request)
    }

    pub async fn register_rider(&self, rider: &str, zone: &str) {
        foodstream_application::riders::register_rider(
            &*self.store,
            &*self.clock,
            &operator(),
            rider,
            foodstream_domain::delivery::RiderInput { zone: zone.into() },
        )
        .await
        .unwrap();
    }

    /// Plays the table stream and every topic through their consumers
    /// until nothing moves: relay, dispatcher + notifier, updater,
    /// collector. Returns what was published in this round.
    pub async fn pump(&mut self) -> Traffic {
        let mut round = Traffic::default();
        loop {
            let changes: Vec<_> = self
                .store
                .drain_outbox()
                .into_iter()
                .map(|event| {
                    let trace = self.store.trace_of(&event.order_id);
                    (event, trace)
                })
                .collect();
            if !changes.is_empty() {
                relay_order_events(&*self.publisher, &changes).await.unwrap();
            }
            let published = self.publisher.take();
            if published.is_empty() {
                break;
            }
            round.traces.extend(published.iter().map(|m| (m.topic, m.event_id.clone(), m.trace.clone())));
            let (orders, deliveries, logs) = split(&published);
            // Each order event with the trace its record came with.
            let order_traces: Vec<_> = published
                .iter()
                .filter(|m| m.topic == topics::ORDER_EVENTS)
                .map(|m| m.trace.as_ref())
                .collect();
            for (event, trace) in orders.iter().zip(&order_traces) {
                dispatch_delivery(&self.dispatch_ports(), &self.timer, event, *trace).await.unwrap();
                // Each delivery runs to its end before the next request
                // (the model's order: a rider is free again for the next).
                self.fire_timers().await;
            }
            for (event, trace) in orders.iter().zip(&order_traces) {
                notify(&self.notify_ports(), event, *trace).await.unwrap();
            }
            for event in &deliveries {
                apply_delivery_event(&*self.store, &*self.clock, &self.settings, event).await.unwrap();
            }
            for event in &logs {
                collect_log(&*self.store, &self.settings.log_retention, event).await.unwrap();
            }
            round.order_events.extend(orders);
            round.delivery_events.extend(deliveries);
            round.log_events.extend(logs);
        }
        self.traffic.order_events.extend(round.order_events.iter().cloned());
        self.traffic.delivery_events.extend(round.delivery_events.iter().cloned());
        self.traffic.log_events.extend(round.log_events.iter().cloned());
        self.traffic.traces.extend(round.traces.iter().cloned());
        round
    }

    pub async fn order(&self, id: &str) -> OrderView {
        foodstream_application::ordering::get_order(&*self.store, &*self.clock, &customer(), id)
            .await
            .unwrap()
    }

    pub fn clock_now(&self) -> Timestamp {
        foodstream_domain::ports::Clock::now(&*self.clock)
    }

    pub fn later(&self, by: Duration) {
        self.clock.advance(by);
    }
}

pub fn split(messages: &[OutgoingMessage]) -> (Vec<OrderEvent>, Vec<DeliveryEvent>, Vec<LogEvent>) {
    let mut out = (Vec::new(), Vec::new(), Vec::new());
    for m in messages {
        match m.topic {
            topics::ORDER_EVENTS => out.0.push(decode(&m.payload).unwrap()),
            topics::DELIVERY_EVENTS => out.1.push(decode(&m.payload).unwrap()),
            topics::LOG_EVENTS => out.2.push(decode(&m.payload).unwrap()),
            other => panic!("unknown topic {other}"),
        }
    }
    out
}

pub fn assert_outcomes(outcomes: &[Outcome], expected: &[Outcome]) {
    assert_eq!(outcomes, expected);
}

/// The status and code a client would get.
pub fn api(error: AppError) -> (u16, &'static str) {
    let api = foodstream_handlers::http::error::ApiError::from(error);
    (api.status, api.code)
}
