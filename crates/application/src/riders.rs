//! `PUT /riders/{riderId}`: operators register riders and move them
//! between zones.

use crate::access::require_role;
use crate::error::AppError;
use crate::views::RiderView;
use foodstream_domain::delivery::RiderInput;
use foodstream_domain::identity::{Caller, Role};
use foodstream_domain::ids::RiderId;
use foodstream_domain::ports::{Clock, RiderRepository};

/// Operators only: registers the rider in the zone given, or moves a known
/// rider there, keeping their status and current delivery.
pub async fn register_rider(
    riders: &dyn RiderRepository,
    clock: &dyn Clock,
    caller: &Caller,
    rider_id: &str,
    input: RiderInput,
) -> Result<RiderView, AppError> {
    require_role(caller, &[Role::Operator])?;
    let rider_id = RiderId::new(rider_id);
    let zone = input.validate(&rider_id)?;
    Ok(riders.upsert(&rider_id, &zone, clock.now()).await?.into())
}
