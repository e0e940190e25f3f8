//! Ordering and idempotency of events applied to an order.
//!
//! Everything is delivered at least once and may be replayed much later.
//! Before applying an event, a consumer asks whether it is new (apply), one
//! already applied (duplicate) or one overtaken by later changes (stale).
//! Only "apply" changes state, so no event moves an order backwards.

use serde::{Deserialize, Serialize};

/// What a consumer does with an event it received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applicability {
    /// New: apply it.
    Apply,
    /// Already applied: acknowledge and do nothing.
    Duplicate,
    /// Overtaken (an older attempt, an earlier stage): acknowledge and do
    /// nothing.
    Stale,
}

/// The stages of one delivery attempt, in the order they happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeliveryStage {
    /// A rider was taken.
    Assigned = 1,
    /// Failed and Completed both end an attempt.
    Finished = 2,
}

/// Where a delivery event sits: which attempt (the order version at which
/// delivery was requested) and which stage of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DeliveryPosition {
    /// The order version at which the attempt was requested.
    pub request_version: u64,
    /// How far the attempt got.
    pub stage: DeliveryStage,
}

/// Where the order's current delivery request stands; delivery events are
/// applied against it so a duplicate or an old attempt's event is ignored.
/// Kept on the order (`Order::delivery`); it lives here, with the positions
/// it holds, so that sequencing needs nothing of the order.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DeliveryTracking {
    /// The order version at which the current delivery was requested; the
    /// dispatcher echoes it in every delivery event of that attempt.
    pub request_version: Option<u64>,
    /// Whether the current request is the redelivery of an approved refund.
    pub redelivery: bool,
    /// The last delivery event applied for the current request.
    pub applied: Option<DeliveryPosition>,
}

/// Classifies a delivery event against the order's delivery tracking.
pub fn classify_delivery(tracking: &DeliveryTracking, incoming: DeliveryPosition) -> Applicability {
    match tracking.request_version {
        // An event of an attempt other than the current one: either older
        // (the order has been re-requested since) or one the order never
        // made. Neither may change the order.
        Some(current) if incoming.request_version != current => Applicability::Stale,
        None => Applicability::Stale,
        Some(_) => match tracking.applied {
            None => Applicability::Apply,
            Some(applied) if incoming == applied => Applicability::Duplicate,
            Some(applied) if incoming < applied => Applicability::Stale,
            Some(_) => Applicability::Apply,
        },
    }
}

/// Classifies an event by order version against the last version a
/// projection applied (notifications, logs, anything keyed by version).
pub fn classify_version(last_applied: Option<u64>, incoming: u64) -> Applicability {
    match last_applied {
        Some(last) if incoming == last => Applicability::Duplicate,
        Some(last) if incoming < last => Applicability::Stale,
        _ => Applicability::Apply,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(request_version: u64, stage: DeliveryStage) -> DeliveryPosition {
        DeliveryPosition { request_version, stage }
    }

    fn tracking(request_version: Option<u64>, applied: Option<DeliveryPosition>) -> DeliveryTracking {
        DeliveryTracking { request_version, redelivery: false, applied }
    }

    #[test]
    fn first_event_of_the_current_attempt_applies() {
        let t = tracking(Some(4), None);
        assert_eq!(classify_delivery(&t, pos(4, DeliveryStage::Assigned)), Applicability::Apply);
        assert_eq!(classify_delivery(&t, pos(4, DeliveryStage::Finished)), Applicability::Apply);
    }

    #[test]
    fn same_event_twice_is_a_duplicate() {
        let t = tracking(Some(4), Some(pos(4, DeliveryStage::Assigned)));
        assert_eq!(classify_delivery(&t, pos(4, DeliveryStage::Assigned)), Applicability::Duplicate);
        assert_eq!(classify_delivery(&t, pos(4, DeliveryStage::Finished)), Applicability::Apply);
    }

    #[test]
    fn earlier_stage_or_older_attempt_is_stale() {
        let t = tracking(Some(8), Some(pos(8, DeliveryStage::Finished)));
        assert_eq!(classify_delivery(&t, pos(8, DeliveryStage::Assigned)), Applicability::Stale);
        assert_eq!(classify_delivery(&t, pos(4, DeliveryStage::Finished)), Applicability::Stale);
        assert_eq!(classify_delivery(&t, pos(9, DeliveryStage::Assigned)), Applicability::Stale);
        assert_eq!(
            classify_delivery(&tracking(None, None), pos(1, DeliveryStage::Assigned)),
            Applicability::Stale
        );
    }

    #[test]
    fn versions_classify_as_duplicate_stale_or_new() {
        assert_eq!(classify_version(None, 1), Applicability::Apply);
        assert_eq!(classify_version(Some(3), 4), Applicability::Apply);
        assert_eq!(classify_version(Some(3), 3), Applicability::Duplicate);
        assert_eq!(classify_version(Some(3), 2), Applicability::Stale);
    }
}
