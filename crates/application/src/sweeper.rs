//! The delivery sweeper: on a schedule, finishes the deliveries left in a
//! non-terminal state (a request nobody decided, a decision that never
//! reached the order, an assignment past its time), so a delivery always
//! ends and its rider is always freed.

use crate::consumers::{ConsumeError, DispatchPorts, complete_delivery, resume_delivery};
use crate::settings::in_range;
use chrono::Duration;
use foodstream_config::ConfigError;
use foodstream_domain::ports::OrderRepository;
use tracing::warn;

/// The sweeper's own setting (no other function reads it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SweepSettings {
    /// `DELIVERY_SWEEP_GRACE_SECONDS`, default 60: how long past its
    /// completion time an assigned delivery is left to the delivery timer
    /// and its completer (whose retries come every
    /// `DeliveryTimerRetrySeconds`) before the sweeper finishes it; a
    /// delivery request is likewise left to the dispatcher that long.
    pub grace: Duration,
}

/// The range the grace must fall in, in seconds: up to an hour.
pub const DELIVERY_SWEEP_GRACE_SECONDS: (i64, i64) = (1, 3600);

impl Default for SweepSettings {
    fn default() -> Self {
        SweepSettings { grace: Duration::seconds(60) }
    }
}

impl SweepSettings {
    /// Reads the grace through `lookup` (the process environment in
    /// production, a map in tests). Unset means default.
    pub fn from_lookup(
        lookup: impl Fn(&'static str) -> Option<String>,
    ) -> Result<SweepSettings, ConfigError> {
        let mut settings = SweepSettings::default();
        if let Some(v) = lookup("DELIVERY_SWEEP_GRACE_SECONDS") {
            let seconds = in_range("DELIVERY_SWEEP_GRACE_SECONDS", &v, DELIVERY_SWEEP_GRACE_SECONDS)?;
            settings.grace = Duration::seconds(seconds);
        }
        Ok(settings)
    }

    /// Reads the grace from the environment.
    pub fn from_env() -> Result<SweepSettings, ConfigError> {
        SweepSettings::from_lookup(foodstream_config::var)
    }
}

/// What the sweeper works with.
pub struct SweepPorts<'a> {
    /// The orders waiting on a delivery decision.
    pub orders: &'a dyn OrderRepository,
    /// What the dispatcher decides with: a request nobody decided is
    /// decided here the same way.
    pub dispatch: DispatchPorts<'a>,
    /// How long a delivery is left to the others before it is swept.
    pub settings: SweepSettings,
}

/// How many deliveries of each kind one sweep takes on; the next run takes
/// the rest.
pub const SWEEP_LIMIT: usize = 100;

/// What one sweep finished.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Swept {
    /// Requests still waiting on a decision a grace period after they were
    /// made: decided now (if nobody had) and their decision published.
    pub resumed: usize,
    /// Assigned deliveries a grace period past their time: completed.
    pub completed: usize,
}

/// Finishes every delivery left in a non-terminal state a grace period
/// after it should have moved on, publishing exactly what the dispatcher
/// would have published, so a delivery always ends and its rider is always
/// freed:
/// - an order still DELIVERY_REQUESTED: no attempt recorded (the
///   dispatcher never ran, or ran out of retries first) is decided now; a
///   recorded failure or assignment whose event never reached the order is
///   published again;
/// - an assigned delivery past its completion time: the assignment and the
///   completion are published, then it is marked completed and the rider
///   freed.
///
/// Consumers ignore what they have seen and every write is conditional, so
/// a dispatcher finishing the same delivery at the same moment doubles
/// nothing.
///
/// One delivery that fails does not stop the others: each is tried, both
/// passes always run, and the first failure is returned at the end (the
/// invocation fails, and the next run tries again).
pub async fn sweep_deliveries(ports: &SweepPorts<'_>) -> Result<Swept, ConsumeError> {
    let clock = ports.dispatch.clock;
    let now = clock.now();
    let due_by = now.checked_sub_signed(ports.settings.grace).unwrap_or(now);
    let mut swept = Swept::default();
    let mut first_failure: Option<ConsumeError> = None;
    let mut failed = |error: ConsumeError, what: &str| {
        warn!(%error, "{what}");
        first_failure.get_or_insert(error);
    };

    // Requests still waiting on a decision.
    let mut assigned_now = Vec::new();
    match ports.orders.awaiting_delivery(due_by, SWEEP_LIMIT).await {
        Ok(waiting) => {
            for order in waiting {
                let Some(request) = order.pending_delivery_request() else { continue };
                let delivery_id = request.delivery_id();
                match resume_delivery(&ports.dispatch, request).await {
                    Ok((outcome, not_yet_due)) => {
                        warn!(order_id = %order.order_id, %delivery_id, ?outcome, "stalled delivery request resumed by the sweeper");
                        assigned_now.extend(not_yet_due);
                        swept.resumed += 1;
                    }
                    Err(error) => failed(error, "a stalled delivery request could not be resumed"),
                }
            }
        }
        Err(error) => failed(error.into(), "the orders waiting on a delivery could not be read"),
    }
    // What this sweep assigned completes at its time, as the completer
    // would have completed it (the delivery time is at most 20 s, well
    // within the sweeper's timeout), not a grace period later.
    if let Some(latest) = assigned_now.iter().filter_map(|d| d.completes_at).max() {
        clock.sleep_until(latest).await;
    }
    let deliveries = ports.dispatch.deliveries;
    for delivery in &assigned_now {
        if let Err(error) = complete_delivery(deliveries, ports.dispatch.publisher, delivery, &[]).await {
            failed(error, "a delivery the sweeper assigned could not be completed");
        }
    }

    // Assignments past their time.
    match deliveries.overdue(due_by, SWEEP_LIMIT).await {
        Ok(overdue) => {
            for delivery in &overdue {
                match complete_delivery(deliveries, ports.dispatch.publisher, delivery, &[delivery]).await {
                    Ok(()) => {
                        warn!(
                            order_id = %delivery.request.order_id,
                            delivery_id = %delivery.id(),
                            completes_at = ?delivery.completes_at,
                            "overdue delivery completed by the sweeper"
                        );
                        swept.completed += 1;
                    }
                    Err(error) => failed(error, "an overdue delivery could not be completed"),
                }
            }
        }
        Err(error) => failed(error.into(), "the overdue deliveries could not be read"),
    }
    match first_failure {
        Some(error) => Err(error),
        None => Ok(swept),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grace_is_bounded_and_named() {
        assert_eq!(SweepSettings::from_lookup(|_| None).unwrap(), SweepSettings::default());
        let five = SweepSettings::from_lookup(|_| Some("5".into())).unwrap();
        assert_eq!(five.grace, Duration::seconds(5));
        let err = SweepSettings::from_lookup(|_| Some("0".into())).unwrap_err();
        assert!(matches!(err, ConfigError::Invalid { name: "DELIVERY_SWEEP_GRACE_SECONDS", .. }), "{err}");
    }
}
