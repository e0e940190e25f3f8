//! The delivery sweeper: on a schedule, finishes the deliveries whose
//! dispatcher died, timed out or ran out of retries, so a delivery always
//! ends and its rider is always freed.

use crate::consumers::{ConsumeError, complete_delivery};
use crate::settings::in_range;
use chrono::Duration;
use foodstream_config::ConfigError;
use foodstream_domain::ports::{Clock, DeliveryRepository, EventPublisher};
use tracing::warn;

/// The sweeper's own setting (no other function reads it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SweepSettings {
    /// `DELIVERY_SWEEP_GRACE_SECONDS`, default 60: how long past its
    /// completion time an assigned delivery is left to its dispatcher
    /// (whose timeout is 30 s) before the sweeper finishes it.
    pub grace: Duration,
}

pub const DELIVERY_SWEEP_GRACE_SECONDS: (i64, i64) = (1, 3600);

impl Default for SweepSettings {
    fn default() -> Self {
        SweepSettings { grace: Duration::seconds(60) }
    }
}

impl SweepSettings {
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

    pub fn from_env() -> Result<SweepSettings, ConfigError> {
        SweepSettings::from_lookup(foodstream_config::var)
    }
}

pub struct SweepPorts<'a> {
    pub deliveries: &'a dyn DeliveryRepository,
    pub publisher: &'a dyn EventPublisher,
    pub clock: &'a dyn Clock,
    pub settings: SweepSettings,
}

/// How many overdue deliveries one sweep takes on; the next run takes the
/// rest.
pub const SWEEP_LIMIT: usize = 100;

/// Completes every assigned delivery whose completion time passed more
/// than the grace period ago, publishing exactly what the dispatcher would
/// have published: the assignment (which may never have reached the
/// broker) and the completion, then marking it completed and freeing the
/// rider. Consumers ignore what they have seen, so a delivery its
/// dispatcher finishes at the same moment is not doubled. Returns how many
/// deliveries it completed.
pub async fn sweep_deliveries(ports: &SweepPorts<'_>) -> Result<usize, ConsumeError> {
    let due_by = ports.clock.now() - ports.settings.grace;
    let overdue = ports.deliveries.overdue(due_by, SWEEP_LIMIT).await?;
    for delivery in &overdue {
        complete_delivery(ports.deliveries, ports.publisher, delivery, &[delivery]).await?;
        warn!(
            order_id = %delivery.request.order_id,
            delivery_id = %delivery.id(),
            completes_at = ?delivery.completes_at,
            "overdue delivery completed by the sweeper"
        );
    }
    Ok(overdue.len())
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
