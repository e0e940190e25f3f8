//! The event consumers: outbox relay, delivery dispatcher, delivery
//! completer, order delivery updater, notifier and log collector.
//!
//! Delivery is at-least-once everywhere, so every consumer is idempotent:
//! state changes are conditional writes keyed by something the event
//! carries (delivery id, order version, notification id, log id), and a
//! replayed event finds its work done and at most re-publishes what it
//! produced (which the next consumer ignores in turn).

use crate::batches::RecordUseCase;
use crate::optimistic::{self, Conflict, Finished, Step};
use crate::settings::Settings;
use foodstream_domain::Timestamp;
use foodstream_domain::delivery::{
    Delivery, DeliveryFailureReason, DeliveryRequest, DeliveryStatus, Rider, candidate_riders,
};
use foodstream_domain::events::{DeliveryEvent, DeliveryEventType, LogEvent, OrderEvent};
use foodstream_domain::log::LogRetention;
use foodstream_domain::notification::notifications_for;
use foodstream_domain::order::{Order, Transition};
use foodstream_domain::ports::{
    AssignOutcome, Clock, DeliveryRepository, DeliveryTimer, EventPublisher, LogRepository,
    NotificationRepository, OrderRepository, OrderUpdate, OutgoingMessage, PortError, RiderRepository,
};
use foodstream_domain::sequencing::Applicability;
use foodstream_domain::timer::{CompletionDue, MAX_EARLY_MS};
use foodstream_domain::trace::TraceParent;
use std::future::Future;
use tracing::{info, warn};

/// The `service` of the log records the notifier produces.
pub const NOTIFIER_SERVICE: &str = "notifier";

/// What a consumer did with one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// New work was done.
    Applied,
    /// Already done before (a redelivery): nothing new was stored, though
    /// what it publishes may have been published again.
    Duplicate,
    /// Older than what the order has already seen; ignored.
    Stale,
    /// Not for this consumer (e.g. an order event the dispatcher does not
    /// act on).
    Skipped,
}

/// Why a consumer could not handle an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConsumeError {
    /// Worth retrying: the event source mapping retries the batch.
    #[error(transparent)]
    Port(#[from] PortError),
    /// Will never succeed: the batch policy parks the record on the
    /// dead-letter destination instead of retrying it.
    #[error("unprocessable event {event_id}: {reason}")]
    Unprocessable {
        /// The event's id (the delivery id, for a due completion).
        event_id: String,
        /// Why it can never be processed.
        reason: String,
    },
}

// ---------------------------------------------------------------------------
// Outbox relay: orders table stream -> order-events

/// Publishes the events of stored order changes, in order, each within
/// its order's trace, and returns once the broker acknowledged all of them
/// (the stream batch is retried otherwise, so nothing is lost while Kafka
/// is down).
pub async fn relay_order_events(
    publisher: &dyn EventPublisher,
    events: &[(OrderEvent, Option<TraceParent>)],
) -> Result<usize, ConsumeError> {
    let messages: Vec<OutgoingMessage> =
        events.iter().map(|(event, trace)| OutgoingMessage::of(event).traced(trace.as_ref())).collect();
    publisher.publish(&messages).await?;
    Ok(messages.len())
}

// ---------------------------------------------------------------------------
// Delivery dispatcher: order-events (OrderDeliveryRequested) -> delivery-events

/// The ports of the delivery dispatcher; the sweeper decides the requests
/// nobody decided with the same ones.
pub struct DispatchPorts<'a> {
    /// The riders of a request's zone.
    pub riders: &'a dyn RiderRepository,
    /// Where each attempt (an assignment or a failure) is recorded.
    pub deliveries: &'a dyn DeliveryRepository,
    /// Where the delivery events go.
    pub publisher: &'a dyn EventPublisher,
    /// When a decision is made, and so when its completion is due.
    pub clock: &'a dyn Clock,
    /// How long a delivery takes.
    pub settings: &'a Settings,
}

/// Handles one order event: for a delivery request, takes a rider of the
/// zone or fails, publishes the outcome and, for an assignment, hands its
/// completion to `timer`, then returns: no call waits the delivery out.
/// A replayed request resumes the attempt it recorded instead of taking a
/// second rider (and schedules its completion again, which the completer
/// makes harmless). The delivery keeps `trace` (the order's), and its
/// events go out within it.
pub async fn dispatch_delivery(
    ports: &DispatchPorts<'_>,
    timer: &dyn DeliveryTimer,
    event: &OrderEvent,
    trace: Option<&TraceParent>,
) -> Result<Outcome, ConsumeError> {
    let Some(mut request) = event.delivery_request() else {
        return Ok(Outcome::Skipped);
    };
    request.trace = trace.cloned();
    let (delivery, outcome) = decided(ports, request).await?;
    match delivery.status {
        DeliveryStatus::Failed => publish_delivery(ports.publisher, &[&delivery]).await?,
        DeliveryStatus::Assigned => {
            publish_delivery(ports.publisher, &[&delivery]).await?;
            schedule_completion(ports.clock, timer, &delivery).await?;
        }
        // Done before; the events may not have reached the broker then.
        DeliveryStatus::Completed => publish_completed_again(ports.publisher, &delivery).await?,
    }
    info!(order_id = %event.order_id, event_id = %event.event_id, delivery_id = %delivery.id(), status = ?delivery.status, ?outcome, "delivery dispatched");
    Ok(outcome)
}

/// The attempt of `request`: the one recorded before (a redelivered
/// request, or the sweeper resuming one), or a new decision.
async fn decided(
    ports: &DispatchPorts<'_>,
    request: DeliveryRequest,
) -> Result<(Delivery, Outcome), ConsumeError> {
    Ok(match ports.deliveries.get(&request.delivery_id()).await? {
        Some(recorded) => (recorded, Outcome::Duplicate),
        None => (decide_delivery(ports, request).await?, Outcome::Applied),
    })
}

/// The sweeper's side of a delivery request that no decision reached the
/// order for: decides it if nobody did (a new decision), and publishes
/// what was decided (the failure, or the assignment and, once due, the
/// completion). An assignment not yet due is handed back, for the caller
/// to complete at its time.
pub(crate) async fn resume_delivery(
    ports: &DispatchPorts<'_>,
    request: DeliveryRequest,
) -> Result<(Outcome, Option<Delivery>), ConsumeError> {
    let (delivery, outcome) = decided(ports, request).await?;
    let mut not_yet_due = None;
    match delivery.status {
        DeliveryStatus::Failed => publish_delivery(ports.publisher, &[&delivery]).await?,
        DeliveryStatus::Assigned => {
            let due = delivery.completes_at.is_none_or(|at| at <= ports.clock.now());
            if due {
                complete_delivery(ports.deliveries, ports.publisher, &delivery, &[&delivery]).await?;
            } else {
                publish_delivery(ports.publisher, &[&delivery]).await?;
                not_yet_due = Some(delivery);
            }
        }
        DeliveryStatus::Completed => publish_completed_again(ports.publisher, &delivery).await?,
    }
    Ok((outcome, not_yet_due))
}

/// Takes the longest idle available rider of the zone (a conditional
/// write: a rider taken meanwhile is skipped), or records the failure.
///
/// The zone's riders come from an eventually consistent index, which may
/// still show a rider busy who has just been freed: before recording
/// `ALL_RIDERS_BUSY`, every rider of the zone is read again by key,
/// consistently, and the available ones are tried.
async fn decide_delivery(
    ports: &DispatchPorts<'_>,
    request: DeliveryRequest,
) -> Result<Delivery, ConsumeError> {
    let now = ports.clock.now();
    let riders = ports.riders.in_zone(&request.zone).await?;
    let reason = match try_riders(ports, &request, &riders, now).await? {
        Attempt::Decided(delivery) => return Ok(*delivery),
        Attempt::NoneFree(DeliveryFailureReason::AllRidersBusy) => {
            let mut fresh = Vec::with_capacity(riders.len());
            for rider in &riders {
                // Read again by key: still there, and still in this zone.
                let again = ports.riders.get(&rider.rider_id).await?;
                fresh.extend(again.filter(|r| r.zone == request.zone));
            }
            match try_riders(ports, &request, &fresh, now).await? {
                Attempt::Decided(delivery) => return Ok(*delivery),
                Attempt::NoneFree(reason) => reason,
            }
        }
        Attempt::NoneFree(reason) => reason,
    };
    let failed = request.fail(reason, now);
    if ports.deliveries.record_failure(&failed).await? {
        Ok(failed)
    } else {
        recorded(ports.deliveries, &failed.id()).await
    }
}

enum Attempt {
    Decided(Box<Delivery>),
    NoneFree(DeliveryFailureReason),
}

/// Tries the available riders among `riders`, longest idle first. Only a
/// rider taken meanwhile is skipped; any other failure of the write is an
/// error, and the batch is retried.
async fn try_riders(
    ports: &DispatchPorts<'_>,
    request: &DeliveryRequest,
    riders: &[Rider],
    now: Timestamp,
) -> Result<Attempt, ConsumeError> {
    let candidates = match candidate_riders(riders) {
        Ok(candidates) => candidates,
        Err(reason) => return Ok(Attempt::NoneFree(reason)),
    };
    for rider in candidates {
        let delivery = request.clone().assign(rider.rider_id.clone(), now, &ports.settings.delivery);
        match ports.deliveries.assign(&delivery).await? {
            AssignOutcome::Assigned => return Ok(Attempt::Decided(Box::new(delivery))),
            AssignOutcome::RiderTaken => continue,
            AssignOutcome::AlreadyRecorded => {
                return Ok(Attempt::Decided(Box::new(recorded(ports.deliveries, &delivery.id()).await?)));
            }
        }
    }
    Ok(Attempt::NoneFree(DeliveryFailureReason::AllRidersBusy))
}

async fn recorded(deliveries: &dyn DeliveryRepository, delivery_id: &str) -> Result<Delivery, ConsumeError> {
    deliveries.get(delivery_id).await?.ok_or_else(|| {
        ConsumeError::Port(PortError::Corrupt(format!(
            "delivery {delivery_id} reported recorded but not found"
        )))
    })
}

/// Hands an assigned delivery's completion to the timer, due at its
/// `completes_at` (at once if that has passed).
async fn schedule_completion(
    clock: &dyn Clock,
    timer: &dyn DeliveryTimer,
    assigned: &Delivery,
) -> Result<(), ConsumeError> {
    let due = CompletionDue::of(assigned).ok_or_else(|| {
        ConsumeError::Port(PortError::Corrupt(format!("delivery {} is not assigned", assigned.id())))
    })?;
    let after = (due.completes_at - clock.now()).to_std().unwrap_or_default();
    Ok(timer.schedule(&due, after).await?)
}

// ---------------------------------------------------------------------------
// Delivery completer: the delivery timer -> delivery-events

/// The ports of the delivery completer ([`complete_due_delivery`]), which
/// are also its use case for the batch policy.
pub struct CompletePorts<'a> {
    /// Where the delivery is read, then marked completed and its rider freed.
    pub deliveries: &'a dyn DeliveryRepository,
    /// Where the completion goes.
    pub publisher: &'a dyn EventPublisher,
    /// To wait out what is left of the delivery's time.
    pub clock: &'a dyn Clock,
}

/// Completes a delivery whose timer came due: waits out what is left of
/// its time (the timer keeps whole seconds), then publishes the completion
/// stamped with the planned `completes_at`, marks the delivery completed
/// and frees the rider. The delivery's record decides, not the message: a
/// delivery completed already (by an earlier message, or by the sweeper)
/// is a duplicate, and nothing is published again, since completion is
/// recorded only after its events reached the broker.
pub async fn complete_due_delivery(
    ports: &CompletePorts<'_>,
    due: &CompletionDue,
) -> Result<Outcome, ConsumeError> {
    let Some(delivery) = ports.deliveries.get(&due.delivery_id).await? else {
        // Written (consistently) before its timer was set: a message for a
        // delivery that does not exist was not sent by the dispatcher.
        return Err(ConsumeError::Unprocessable {
            event_id: due.delivery_id.clone(),
            reason: "no such delivery".into(),
        });
    };
    let outcome = match delivery.status {
        DeliveryStatus::Assigned => {
            let completes_at = delivery.completes_at.unwrap_or(delivery.decided_at);
            // Our messages are never early: one that is (a clock far off)
            // is left for a later receive rather than slept through.
            let longest = chrono::Duration::milliseconds(MAX_EARLY_MS);
            if completes_at - ports.clock.now() > longest {
                return Err(ConsumeError::Port(PortError::Unavailable(format!(
                    "delivery {} is due only at {completes_at}",
                    due.delivery_id
                ))));
            }
            ports.clock.sleep_until(completes_at).await;
            complete_delivery(ports.deliveries, ports.publisher, &delivery, &[]).await?;
            Outcome::Applied
        }
        DeliveryStatus::Completed => Outcome::Duplicate,
        // A failed attempt has nothing to complete.
        DeliveryStatus::Failed => Outcome::Skipped,
    };
    info!(delivery_id = %due.delivery_id, ?outcome, "delivery completion due");
    Ok(outcome)
}

/// Publishes the completion (after `before`), then marks the delivery
/// completed and frees its rider. In that order, so that whoever dies in
/// between leaves the delivery still assigned: a retry of the dispatcher
/// or the sweeper finds it and publishes again (the updater ignores the
/// duplicate), and no completion is ever recorded but unpublished.
pub(crate) async fn complete_delivery(
    deliveries: &dyn DeliveryRepository,
    publisher: &dyn EventPublisher,
    assigned: &Delivery,
    before: &[&Delivery],
) -> Result<(), ConsumeError> {
    let completes_at = assigned.completes_at.unwrap_or(assigned.decided_at);
    let completed = assigned.completed().ok_or_else(|| {
        ConsumeError::Port(PortError::Corrupt(format!("delivery {} is not assigned", assigned.id())))
    })?;
    let mut events = before.to_vec();
    events.push(&completed);
    publish_delivery(publisher, &events).await?;
    deliveries.complete(&completed, completes_at).await?;
    Ok(())
}

/// A completed delivery's two events again, the assignment then the
/// completion: whoever completed it may have died before they reached the
/// broker (consumers ignore what they have seen).
async fn publish_completed_again(
    publisher: &dyn EventPublisher,
    completed: &Delivery,
) -> Result<(), ConsumeError> {
    let assigned = Delivery { status: DeliveryStatus::Assigned, ..completed.clone() };
    publish_delivery(publisher, &[&assigned, completed]).await
}

async fn publish_delivery(
    publisher: &dyn EventPublisher,
    deliveries: &[&Delivery],
) -> Result<(), ConsumeError> {
    let messages: Vec<_> = deliveries
        .iter()
        .map(|d| OutgoingMessage::of(&DeliveryEvent::of(d)).traced(d.request.trace.as_ref()))
        .collect();
    Ok(publisher.publish(&messages).await?)
}

// ---------------------------------------------------------------------------
// Order delivery updater: delivery-events -> the order

/// Applies a delivery event to its order unless the order has seen it (or
/// something later) already. The write is conditional on the version read;
/// losing a race re-reads and re-decides. A completion opens the refund
/// window now, when the order becomes DELIVERED in our records.
pub async fn apply_delivery_event(
    orders: &dyn OrderRepository,
    clock: &dyn Clock,
    settings: &Settings,
    event: &DeliveryEvent,
) -> Result<Outcome, ConsumeError> {
    let unprocessable = |reason: &str| ConsumeError::Unprocessable {
        event_id: event.event_id.to_string(),
        reason: reason.to_owned(),
    };
    let position = event.position();
    let decide = |order: &Order| -> Result<Step<Outcome>, ConsumeError> {
        match order.classify_delivery_event(position) {
            Applicability::Duplicate => return Ok(Step::Done(Outcome::Duplicate)),
            Applicability::Stale => return Ok(Step::Done(Outcome::Stale)),
            Applicability::Apply => {}
        }
        let rider = event.data.rider_id.clone();
        let transition: Result<Transition, _> = match event.event_type {
            DeliveryEventType::RiderAssigned => {
                let rider = rider.ok_or_else(|| unprocessable("RiderAssigned without rider_id"))?;
                order.rider_assigned(position, rider, event.occurred_at)
            }
            DeliveryEventType::DeliveryFailed => {
                let reason =
                    event.data.reason.ok_or_else(|| unprocessable("DeliveryFailed without reason"))?;
                order.delivery_failed(position, reason, event.occurred_at)
            }
            DeliveryEventType::DeliveryCompleted => {
                let rider = rider.ok_or_else(|| unprocessable("DeliveryCompleted without rider_id"))?;
                let delivered_at = event.data.delivered_at.unwrap_or(event.occurred_at);
                order.delivered(position, rider, delivered_at, clock.now(), &settings.refund)
            }
        };
        let transition = match transition {
            Ok(t) => t,
            Err(error) => {
                // The order moved on in a way this attempt cannot change.
                warn!(order_id = %order.order_id, event_id = %event.event_id, %error, "delivery event no longer applies");
                return Ok(Step::Done(Outcome::Stale));
            }
        };
        Ok(Step::Write(Box::new(OrderUpdate {
            expected_version: order.version,
            order: transition.order,
            events: transition.events,
            stock: None,
        })))
    };
    let attempts = settings.version_conflict_attempts;
    match optimistic::change(
        orders,
        &event.order_id,
        attempts,
        None,
        || unprocessable("no such order"),
        decide,
    )
    .await
    {
        Ok(Finished::Written(_)) => Ok(Outcome::Applied),
        Ok(Finished::Done(outcome)) => Ok(outcome),
        Err(Conflict::Refused(error)) => Err(error),
        Err(Conflict::Port(error)) => Err(error.into()),
        // The event source mapping retries the record.
        Err(Conflict::KeptChanging { attempts }) => Err(ConsumeError::Port(PortError::Unavailable(format!(
            "order {} kept changing over {attempts} attempts",
            event.order_id
        )))),
    }
}

// ---------------------------------------------------------------------------
// Notifier: order-events -> notifications, log-events

/// The ports of the notifier ([`notify`]), which are also its use case for
/// the batch policy.
pub struct NotifyPorts<'a> {
    /// Where the notifications are stored, once each.
    pub notifications: &'a dyn NotificationRepository,
    /// Where the log events go.
    pub publisher: &'a dyn EventPublisher,
    /// The locale notifications are written in.
    pub settings: &'a Settings,
}

/// Renders and stores the notifications of an order event (ids derive from
/// the event, so a replay stores nothing new) and publishes one log event
/// per notification. Log events are re-published on replays: the first
/// attempt may have stored the notifications and then failed to publish.
/// The log events go out within `trace`, the order's.
pub async fn notify(
    ports: &NotifyPorts<'_>,
    event: &OrderEvent,
    trace: Option<&TraceParent>,
) -> Result<Outcome, ConsumeError> {
    let notifications = notifications_for(event, ports.settings.locale);
    let mut new = 0;
    for notification in &notifications {
        if ports.notifications.insert(notification).await? {
            new += 1;
        }
    }
    let logs: Vec<OutgoingMessage> = notifications
        .iter()
        .map(|n| {
            OutgoingMessage::of(&LogEvent::of_notification(n, &event.store_id, NOTIFIER_SERVICE))
                .traced(trace)
        })
        .collect();
    ports.publisher.publish(&logs).await?;
    Ok(if new > 0 { Outcome::Applied } else { Outcome::Duplicate })
}

// ---------------------------------------------------------------------------
// Log collector: log-events -> log records

/// Stores the log record of a log event, once.
pub async fn collect_log(
    logs: &dyn LogRepository,
    retention: &LogRetention,
    event: &LogEvent,
) -> Result<Outcome, ConsumeError> {
    let record = retention.record(event);
    Ok(if logs.insert(&record).await? { Outcome::Applied } else { Outcome::Duplicate })
}

// ---------------------------------------------------------------------------
// Each consumer's use case as the batch policy calls it, record by record

/// The delivery dispatcher's use case with its timer ([`dispatch_delivery`]).
pub struct DispatchDeliveries<'a> {
    /// What it reads and writes.
    pub ports: &'a DispatchPorts<'a>,
    /// Where an assignment's completion is scheduled.
    pub timer: &'a dyn DeliveryTimer,
}

impl RecordUseCase<OrderEvent> for DispatchDeliveries<'_> {
    fn handle(
        &self,
        event: &OrderEvent,
        trace: Option<&TraceParent>,
    ) -> impl Future<Output = Result<Outcome, ConsumeError>> + Send {
        dispatch_delivery(self.ports, self.timer, event, trace)
    }
}

impl RecordUseCase<CompletionDue> for CompletePorts<'_> {
    fn handle(
        &self,
        due: &CompletionDue,
        _trace: Option<&TraceParent>,
    ) -> impl Future<Output = Result<Outcome, ConsumeError>> + Send {
        complete_due_delivery(self, due)
    }
}

/// The order delivery updater's use case ([`apply_delivery_event`]).
pub struct ApplyDeliveryEvents<'a> {
    /// The orders the events apply to.
    pub orders: &'a dyn OrderRepository,
    /// When a delivery opens the refund window.
    pub clock: &'a dyn Clock,
    /// The refund window and conflict retries.
    pub settings: &'a Settings,
}

impl RecordUseCase<DeliveryEvent> for ApplyDeliveryEvents<'_> {
    fn handle(
        &self,
        event: &DeliveryEvent,
        _trace: Option<&TraceParent>,
    ) -> impl Future<Output = Result<Outcome, ConsumeError>> + Send {
        apply_delivery_event(self.orders, self.clock, self.settings, event)
    }
}

impl RecordUseCase<OrderEvent> for NotifyPorts<'_> {
    fn handle(
        &self,
        event: &OrderEvent,
        trace: Option<&TraceParent>,
    ) -> impl Future<Output = Result<Outcome, ConsumeError>> + Send {
        notify(self, event, trace)
    }
}

/// The log collector's use case ([`collect_log`]).
pub struct CollectLogs<'a> {
    /// Where log records are stored.
    pub logs: &'a dyn LogRepository,
    /// How long a record is kept.
    pub retention: &'a LogRetention,
}

impl RecordUseCase<LogEvent> for CollectLogs<'_> {
    fn handle(
        &self,
        event: &LogEvent,
        _trace: Option<&TraceParent>,
    ) -> impl Future<Output = Result<Outcome, ConsumeError>> + Send {
        collect_log(self.logs, self.retention, event)
    }
}
