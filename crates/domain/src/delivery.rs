//! Riders, zones and deliveries.
//!
//! A rider belongs to one zone (a normalised district). A delivery request
//! takes an available rider of the order's zone, or fails with a reason; the
//! delivery completes a configured time after assignment.

use crate::Timestamp;
use crate::ids::{OrderId, RiderId, StoreId, UserId};
use crate::validation::{ValidationErrors, check_identifier, check_line};
use chrono::Duration;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A delivery zone: the district with case, surrounding space and inner
/// runs of space folded, so "Gangnam-gu", " gangnam-GU " and "gangnam-gu"
/// are one zone.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Zone(String);

impl Zone {
    /// The zone of a district as written in an address or a rider's profile.
    pub fn from_district(district: &str) -> Zone {
        let folded: Vec<String> = district.split_whitespace().map(str::to_lowercase).collect();
        Zone(folded.join(" "))
    }

    /// The folded district (`"gangnam-gu"`); empty when the district was blank.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether a rider can take a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RiderStatus {
    /// Free: may be assigned.
    Available,
    /// On a delivery ([`Rider::delivery_id`]).
    Busy,
}

/// A delivery rider, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rider {
    /// The rider's id.
    pub rider_id: RiderId,
    /// The one zone the rider serves.
    pub zone: Zone,
    /// Free or on a delivery.
    pub status: RiderStatus,
    /// The delivery a busy rider is on.
    pub delivery_id: Option<String>,
    /// When the rider last became available: the longest idle rides first.
    pub available_since: Timestamp,
}

/// The body of `PUT /riders/{riderId}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RiderInput {
    /// The district the rider serves, as written.
    pub zone: String,
}

impl RiderInput {
    /// The zone the rider is to serve, once the id and the zone are valid.
    pub fn validate(self, rider_id: &RiderId) -> Result<Zone, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        check_identifier(&mut errors, "rider_id", rider_id.as_str());
        check_line(&mut errors, "zone", &self.zone, 200);
        errors.into_result(Zone::from_district(&self.zone))
    }
}

/// Why no rider could be assigned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeliveryFailureReason {
    /// No rider is registered in the order's zone.
    NoRiderInZone,
    /// The zone has riders, but none is available.
    AllRidersBusy,
}

impl DeliveryFailureReason {
    /// The reason in words, as an order's timeline and notifications show it.
    pub fn message(self) -> &'static str {
        match self {
            DeliveryFailureReason::NoRiderInZone => "no rider serves this zone",
            DeliveryFailureReason::AllRidersBusy => "every rider of this zone is busy",
        }
    }

    /// The wire name (`"NO_RIDER_IN_ZONE"`), as serde writes it.
    pub fn code(self) -> &'static str {
        match self {
            DeliveryFailureReason::NoRiderInZone => "NO_RIDER_IN_ZONE",
            DeliveryFailureReason::AllRidersBusy => "ALL_RIDERS_BUSY",
        }
    }
}

/// The assignment decision: the riders to try, in order (longest idle
/// first, then by id so the choice is deterministic), or why there are none.
/// Taking one is a conditional write, so a rider taken meanwhile by another
/// delivery is skipped and the next one tried.
pub fn candidate_riders(riders_in_zone: &[Rider]) -> Result<Vec<&Rider>, DeliveryFailureReason> {
    if riders_in_zone.is_empty() {
        return Err(DeliveryFailureReason::NoRiderInZone);
    }
    let mut available: Vec<&Rider> =
        riders_in_zone.iter().filter(|r| r.status == RiderStatus::Available).collect();
    if available.is_empty() {
        return Err(DeliveryFailureReason::AllRidersBusy);
    }
    available
        .sort_by(|a, b| a.available_since.cmp(&b.available_since).then_with(|| a.rider_id.cmp(&b.rider_id)));
    Ok(available)
}

/// How a delivery attempt ended up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeliveryStatus {
    /// A rider was taken; the food arrives at [`Delivery::completes_at`].
    Assigned,
    /// No rider could be taken ([`Delivery::failure`] says why).
    Failed,
    /// The food is at the door.
    Completed,
}

/// A delivery asked for by an `OrderDeliveryRequested` event: everything
/// the dispatcher needs without reading the order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryRequest {
    /// The order to deliver.
    pub order_id: OrderId,
    /// The order version at which delivery was requested: identifies the
    /// attempt, and every delivery event of it carries it back.
    pub request_version: u64,
    /// The customer who ordered.
    pub customer_id: UserId,
    /// The store cooking it.
    pub store_id: StoreId,
    /// The zone of the delivery address, where a rider is looked for.
    pub zone: Zone,
    /// True when this is the redelivery of an approved refund.
    pub redelivery: bool,
    /// The order's trace, which the request came with: kept with the
    /// delivery so that whoever completes it (the dispatcher or the
    /// sweeper) publishes within it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<crate::trace::TraceParent>,
}

impl DeliveryRequest {
    /// The id of the attempt: `{order_id}#{request_version}`, so a replayed
    /// request finds the attempt already recorded.
    pub fn delivery_id(&self) -> String {
        format!("{}#{}", self.order_id, self.request_version)
    }

    /// The attempt with `rider` taken at `at`.
    pub fn assign(self, rider: RiderId, at: Timestamp, settings: &DeliverySettings) -> Delivery {
        Delivery {
            request: self,
            status: DeliveryStatus::Assigned,
            rider_id: Some(rider),
            failure: None,
            decided_at: at,
            completes_at: Some(at + settings.duration),
        }
    }

    /// The attempt that found no rider.
    pub fn fail(self, reason: DeliveryFailureReason, at: Timestamp) -> Delivery {
        Delivery {
            request: self,
            status: DeliveryStatus::Failed,
            rider_id: None,
            failure: Some(reason),
            decided_at: at,
            completes_at: None,
        }
    }
}

/// One delivery attempt: the dispatcher's record, keyed by
/// [`DeliveryRequest::delivery_id`], so a replayed request finds the attempt
/// it already handled instead of taking a second rider.
///
/// A delivery's lifecycle: requested, then assigned to the longest idle
/// available rider of the zone and completed once the food is at the door, or
/// failed when the zone has no rider to take.
///
/// ```rust
/// use foodstream_domain::Timestamp;
/// use foodstream_domain::delivery::{
///     DeliveryFailureReason, DeliveryRequest, DeliverySettings, DeliveryStatus, Rider, RiderStatus,
///     Zone, candidate_riders,
/// };
///
/// let at: Timestamp = "2026-11-25T12:00:00Z".parse().unwrap();
/// let zone = Zone::from_district(" Gangnam-GU ");
/// let request = DeliveryRequest {
///     order_id: "o-1".into(),
///     request_version: 3,
///     customer_id: "cust-1".into(),
///     store_id: "store-1".into(),
///     zone: zone.clone(),
///     redelivery: false,
///     trace: None,
/// };
/// assert_eq!(request.delivery_id(), "o-1#3");
///
/// // The zone's riders decide: the longest idle available one is tried first.
/// let rider = |id: &str, status| Rider {
///     rider_id: id.into(),
///     zone: zone.clone(),
///     status,
///     delivery_id: None,
///     available_since: at,
/// };
/// let riders = [rider("r-1", RiderStatus::Busy), rider("r-2", RiderStatus::Available)];
/// let first = candidate_riders(&riders).unwrap()[0].rider_id.clone();
/// assert_eq!(first.as_str(), "r-2");
///
/// // Assigned: the rider is taken and the food arrives after the configured time.
/// let settings = DeliverySettings::from_millis(1500);
/// let assigned = request.clone().assign(first, at, &settings);
/// assert_eq!(assigned.status, DeliveryStatus::Assigned);
/// assert_eq!(assigned.completes_at, Some(at + settings.duration));
///
/// // Completed: only an assigned attempt completes, once.
/// let completed = assigned.completed().unwrap();
/// assert_eq!(completed.status, DeliveryStatus::Completed);
/// assert!(completed.completed().is_none());
///
/// // Failed: with no available rider the attempt fails, naming why.
/// let busy = &riders[..1];
/// let reason = candidate_riders(busy).unwrap_err();
/// assert_eq!(reason, DeliveryFailureReason::AllRidersBusy);
/// let failed = request.fail(reason, at);
/// assert_eq!(failed.status, DeliveryStatus::Failed);
/// assert!(failed.completed().is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// What was asked for.
    pub request: DeliveryRequest,
    /// Where the attempt stands.
    pub status: DeliveryStatus,
    /// The rider taken (assigned and completed attempts).
    pub rider_id: Option<RiderId>,
    /// Why no rider was taken (failed attempts).
    pub failure: Option<DeliveryFailureReason>,
    /// When the rider was taken or the attempt failed.
    pub decided_at: Timestamp,
    /// When the food is at the door (assigned attempts).
    pub completes_at: Option<Timestamp>,
}

impl Delivery {
    /// The attempt's id: [`DeliveryRequest::delivery_id`].
    pub fn id(&self) -> String {
        self.request.delivery_id()
    }

    /// The attempt once the food is at the door; `None` unless assigned.
    pub fn completed(&self) -> Option<Delivery> {
        (self.status == DeliveryStatus::Assigned)
            .then(|| Delivery { status: DeliveryStatus::Completed, ..self.clone() })
    }
}

/// The longest delivery time. No function waits a delivery out: the
/// delivery timer does (SQS keeps delays of up to 15 minutes). The bound
/// is the sweeper's: it completes an assignment of its own not yet due by
/// waiting inside its call (timeout 60 s). `DELIVERY_DURATION_MS` above
/// this is refused at start (the template's `MaxValue` says the same).
pub const MAX_DELIVERY_DURATION_MS: i64 = 20_000;

/// How long a delivery takes once a rider is assigned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliverySettings {
    /// From assignment to the door.
    pub duration: Duration,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        Self { duration: Duration::milliseconds(1000) }
    }
}

impl DeliverySettings {
    /// A delivery of `millis` milliseconds (`DELIVERY_DURATION_MS`).
    pub fn from_millis(millis: i64) -> Self {
        Self { duration: Duration::milliseconds(millis) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(seconds: i64) -> Timestamp {
        chrono::Utc.timestamp_opt(1_700_000_000 + seconds, 0).unwrap()
    }

    fn rider(id: &str, status: RiderStatus, since: i64) -> Rider {
        Rider {
            rider_id: id.into(),
            zone: Zone::from_district("gangnam-gu"),
            status,
            delivery_id: None,
            available_since: t(since),
        }
    }

    #[test]
    fn rule_8_zones_are_normalised() {
        assert_eq!(Zone::from_district("  Gangnam-GU "), Zone::from_district("gangnam-gu"));
        assert_eq!(Zone::from_district("Jung   gu").as_str(), "jung gu");
        assert_eq!(Zone::from_district("강남구").as_str(), "강남구");
    }

    #[test]
    fn rule_9_longest_idle_available_rider_is_tried_first() {
        let riders = [
            rider("r1", RiderStatus::Available, 30),
            rider("r2", RiderStatus::Busy, 0),
            rider("r3", RiderStatus::Available, 10),
        ];
        let order: Vec<&str> =
            candidate_riders(&riders).unwrap().iter().map(|r| r.rider_id.as_str()).collect();
        assert_eq!(order, vec!["r3", "r1"]);
    }

    #[test]
    fn rule_9_failure_reasons_distinguish_empty_and_busy_zones() {
        assert_eq!(candidate_riders(&[]), Err(DeliveryFailureReason::NoRiderInZone));
        assert_eq!(
            candidate_riders(&[rider("r1", RiderStatus::Busy, 0)]),
            Err(DeliveryFailureReason::AllRidersBusy)
        );
    }

    fn request() -> DeliveryRequest {
        DeliveryRequest {
            order_id: "o1".into(),
            request_version: 4,
            customer_id: "c1".into(),
            store_id: "s1".into(),
            zone: Zone::from_district("x"),
            redelivery: false,
            trace: None,
        }
    }

    #[test]
    fn rule_10_delivery_completes_after_the_configured_duration() {
        let d = request().assign("r1".into(), t(0), &DeliverySettings::default());
        assert_eq!(d.id(), "o1#4");
        assert_eq!(d.completes_at, Some(t(1)));
        let done = d.completed().unwrap();
        assert_eq!(done.status, DeliveryStatus::Completed);
        assert!(done.completed().is_none(), "only an assigned delivery completes");
        let slow = request().assign("r1".into(), t(0), &DeliverySettings::from_millis(2500));
        assert_eq!(slow.completes_at, Some(t(0) + Duration::milliseconds(2500)));
        let failed = request().fail(DeliveryFailureReason::AllRidersBusy, t(0));
        assert!(failed.completed().is_none());
    }
}
