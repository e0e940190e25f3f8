//! The riders table (one item per rider, a `by-zone` index) and the
//! deliveries table (one item per delivery attempt, keyed
//! `{order_id}#{request_version}`). Taking a rider and recording the attempt
//! is one transaction, so a rider is never on two deliveries and a replayed
//! request never takes a second rider. An assigned delivery carries
//! `open_status` and `due_sk` until it completes: the sparse `by-due` index
//! on them is how the sweeper finds the deliveries nobody finished.

use crate::access::{Grant, index, table};
use crate::codec::{
    Item, condition_failed, from_item, put_new, query_all, s, sparse_index_up_to, time_key, to_item,
    to_value, unavailable,
};
use crate::schema::{DELIVERIES, RIDERS};
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{CancellationReason, Put, ReturnValue, TransactWriteItem, Update};
use foodstream_domain::Timestamp;
use foodstream_domain::delivery::{Delivery, DeliveryStatus, Rider, RiderStatus, Zone};
use foodstream_domain::ids::RiderId;
use foodstream_domain::ports::{AssignOutcome, DeliveryRepository, PortError, RiderRepository};
use serde::{Deserialize, Serialize};

/// The riders table: each rider's zone and whether they are available.
#[derive(Clone)]
pub struct DynamoRiders {
    client: Client,
    table: String,
}

impl DynamoRiders {
    /// `upsert`: register or move a rider.
    pub const UPSERT: &[Grant] = &[Grant::new("dynamodb:UpdateItem", table(&RIDERS))];
    /// `get`: the rider by key.
    pub const GET: &[Grant] = &[Grant::new("dynamodb:GetItem", table(&RIDERS))];
    /// `in_zone`: the zone's riders.
    pub const IN_ZONE: &[Grant] = &[Grant::new("dynamodb:Query", index(&RIDERS, "by-zone"))];

    /// The riders `table`, reached through `client`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoRiders { client, table: table.into() }
    }
}

fn rider_key(rider: &RiderId) -> Item {
    [("rider_id".to_string(), s(rider.as_str()))].into()
}

fn build<T, E: std::fmt::Display>(result: Result<T, E>) -> Result<T, PortError> {
    result.map_err(|e| PortError::Corrupt(e.to_string()))
}

#[async_trait]
impl RiderRepository for DynamoRiders {
    async fn upsert(&self, rider: &RiderId, zone: &Zone, at: Timestamp) -> Result<Rider, PortError> {
        // A new rider starts available; an existing one keeps its status and
        // delivery and only changes zone.
        let output = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(rider_key(rider)))
            .update_expression(
                "SET #zone = :zone, #status = if_not_exists(#status, :available), \
                 available_since = if_not_exists(available_since, :at)",
            )
            .expression_attribute_names("#zone", "zone")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":zone", s(zone.as_str()))
            .expression_attribute_values(":available", to_value(&RiderStatus::Available)?)
            .expression_attribute_values(":at", to_value(&at)?)
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(unavailable)?;
        let item =
            output.attributes.ok_or_else(|| PortError::Corrupt("rider upsert returned nothing".into()))?;
        from_item::<Rider>(item)
    }

    async fn get(&self, rider: &RiderId) -> Result<Option<Rider>, PortError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(rider_key(rider)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        output.item.map(from_item::<Rider>).transpose()
    }

    async fn in_zone(&self, zone: &Zone) -> Result<Vec<Rider>, PortError> {
        // The index is eventually consistent: a rider shown available may be
        // taken already, which the conditional take in `assign` catches.
        let items = query_all(&self.client, &self.table, Some("by-zone"), ("zone", s(zone.as_str()))).await?;
        items.into_iter().map(from_item::<Rider>).collect()
    }
}

/// The deliveries table, and the riders table its assignments and
/// completions take and free riders in.
#[derive(Clone)]
pub struct DynamoDeliveries {
    client: Client,
    table: String,
    riders_table: String,
}

impl DynamoDeliveries {
    /// `get`: the delivery by key.
    pub const GET: &[Grant] = &[Grant::new("dynamodb:GetItem", table(&DELIVERIES))];
    /// `assign`: the rider taken and the delivery put, in one transaction.
    pub const ASSIGN: &[Grant] = &[
        Grant::new("dynamodb:UpdateItem", table(&RIDERS)),
        Grant::new("dynamodb:PutItem", table(&DELIVERIES)),
    ];
    /// `record_failure`: the failed delivery put once.
    pub const RECORD_FAILURE: &[Grant] = &[Grant::new("dynamodb:PutItem", table(&DELIVERIES))];
    /// `complete`: the delivery finished and its rider freed.
    pub const COMPLETE: &[Grant] = &[
        Grant::new("dynamodb:UpdateItem", table(&DELIVERIES)),
        Grant::new("dynamodb:UpdateItem", table(&RIDERS)),
    ];
    /// `overdue`: the sparse index of deliveries still running.
    pub const OVERDUE: &[Grant] = &[Grant::new("dynamodb:Query", index(&DELIVERIES, "by-due"))];

    /// The deliveries `table` and the `riders_table`, reached through `client`.
    pub fn new(client: Client, table: impl Into<String>, riders_table: impl Into<String>) -> Self {
        DynamoDeliveries { client, table: table.into(), riders_table: riders_table.into() }
    }

    fn record(&self, delivery: &Delivery) -> Result<Item, PortError> {
        let open = delivery.status == DeliveryStatus::Assigned;
        let mut item = to_item(&DeliveryRecord {
            delivery_id: delivery.id(),
            order_id: delivery.request.order_id.to_string(),
            status: delivery.status,
            decided_at: time_key(delivery.decided_at),
            open_status: open.then(|| OPEN.to_owned()),
            due_sk: delivery.completes_at.filter(|_| open).map(time_key),
        })?;
        item.insert("delivery".into(), to_value(delivery)?);
        Ok(item)
    }

    fn new_record(&self, delivery: &Delivery) -> Result<Put, PortError> {
        build(
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(self.record(delivery)?))
                .condition_expression("attribute_not_exists(delivery_id)")
                .build(),
        )
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct DeliveryRecord {
    delivery_id: String,
    order_id: String,
    status: DeliveryStatus,
    decided_at: String,
    /// `ASSIGNED` while assigned, absent otherwise: the `by-due` index's
    /// partition, so only open deliveries are in it.
    #[serde(skip_serializing_if = "Option::is_none")]
    open_status: Option<String>,
    /// When an open delivery is due to complete (a time key).
    #[serde(skip_serializing_if = "Option::is_none")]
    due_sk: Option<String>,
}

/// The `by-due` index's partition of open (assigned) deliveries.
const OPEN: &str = "ASSIGNED";

/// What a cancelled assignment transaction means: only a failed condition
/// on the rider (item 0) says the rider was taken, and only a failed
/// condition on the record (item 1) says the attempt was recorded before.
/// Anything else (throttling, a conflicting transaction, a validation
/// error) is a failure to retry, never a busy rider.
fn assign_outcome(reasons: &[CancellationReason]) -> Result<AssignOutcome, PortError> {
    if condition_failed(reasons, 1) {
        Ok(AssignOutcome::AlreadyRecorded)
    } else if condition_failed(reasons, 0) {
        Ok(AssignOutcome::RiderTaken)
    } else {
        let codes: Vec<&str> = reasons.iter().filter_map(|r| r.code()).filter(|c| *c != "None").collect();
        Err(PortError::Unavailable(format!("rider assignment cancelled: {}", codes.join(", "))))
    }
}

#[derive(Debug, Deserialize)]
struct StoredDelivery {
    delivery: Delivery,
}

#[derive(Debug, Deserialize)]
struct DeliveryKey {
    delivery_id: String,
}

#[async_trait]
impl DeliveryRepository for DynamoDeliveries {
    async fn get(&self, delivery_id: &str) -> Result<Option<Delivery>, PortError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("delivery_id", s(delivery_id))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        output.item.map(|i| from_item::<StoredDelivery>(i).map(|d| d.delivery)).transpose()
    }

    async fn assign(&self, delivery: &Delivery) -> Result<AssignOutcome, PortError> {
        let rider = delivery
            .rider_id
            .as_ref()
            .ok_or_else(|| PortError::Corrupt("assignment without rider".into()))?;
        let take = build(
            Update::builder()
                .table_name(&self.riders_table)
                .set_key(Some(rider_key(rider)))
                .update_expression("SET #status = :busy, delivery_id = :delivery")
                // Still available and still in the request's zone: the
                // zone's riders came from an eventually consistent index, and
                // a rider moved to another zone since must not be taken.
                .condition_expression("#status = :available AND #zone = :zone")
                .expression_attribute_names("#status", "status")
                .expression_attribute_names("#zone", "zone")
                .expression_attribute_values(":busy", to_value(&RiderStatus::Busy)?)
                .expression_attribute_values(":available", to_value(&RiderStatus::Available)?)
                .expression_attribute_values(":zone", s(delivery.request.zone.as_str()))
                .expression_attribute_values(":delivery", s(delivery.id()))
                .build(),
        )?;
        let items = vec![
            TransactWriteItem::builder().update(take).build(),
            TransactWriteItem::builder().put(self.new_record(delivery)?).build(),
        ];
        match self.client.transact_write_items().set_transact_items(Some(items)).send().await {
            Ok(_) => Ok(AssignOutcome::Assigned),
            Err(error) => match error.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => {
                    assign_outcome(cancelled.cancellation_reasons())
                }
                _ => Err(unavailable(error)),
            },
        }
    }

    async fn overdue(&self, due_by: Timestamp, limit: usize) -> Result<Vec<Delivery>, PortError> {
        let keys = sparse_index_up_to(
            &self.client,
            &self.table,
            "by-due",
            ("open_status", OPEN),
            ("due_sk", time_key(due_by)),
            limit,
        )
        .await?;
        // Read each one again, by key, and keep those still assigned.
        let mut due = Vec::new();
        for item in keys {
            let id: DeliveryKey = from_item(item)?;
            if let Some(delivery) = self.get(&id.delivery_id).await?
                && delivery.status == DeliveryStatus::Assigned
            {
                due.push(delivery);
            }
        }
        Ok(due)
    }

    async fn record_failure(&self, delivery: &Delivery) -> Result<bool, PortError> {
        put_new(&self.client, &self.table, self.record(delivery)?, "delivery_id").await
    }

    async fn complete(&self, delivery: &Delivery, at: Timestamp) -> Result<bool, PortError> {
        let finish = build(
            Update::builder()
                .table_name(&self.table)
                .key("delivery_id", s(delivery.id()))
                .update_expression(
                    "SET #status = :completed, delivery = :delivery REMOVE open_status, due_sk",
                )
                .condition_expression("#status = :assigned")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":completed", to_value(&DeliveryStatus::Completed)?)
                .expression_attribute_values(":assigned", to_value(&DeliveryStatus::Assigned)?)
                .expression_attribute_values(":delivery", to_value(delivery)?)
                .build(),
        )?;
        let rider = delivery
            .rider_id
            .as_ref()
            .ok_or_else(|| PortError::Corrupt("completion without rider".into()))?;
        let free = build(
            Update::builder()
                .table_name(&self.riders_table)
                .set_key(Some(rider_key(rider)))
                .update_expression("SET #status = :available, available_since = :at REMOVE delivery_id")
                .condition_expression("delivery_id = :delivery")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":available", to_value(&RiderStatus::Available)?)
                .expression_attribute_values(":at", to_value(&at)?)
                .expression_attribute_values(":delivery", s(delivery.id()))
                .build(),
        )?;
        let both = vec![
            TransactWriteItem::builder().update(finish.clone()).build(),
            TransactWriteItem::builder().update(free).build(),
        ];
        match self.client.transact_write_items().set_transact_items(Some(both)).send().await {
            Ok(_) => Ok(true),
            Err(error) => match error.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => {
                    let reasons = cancelled.cancellation_reasons();
                    if condition_failed(reasons, 0) {
                        return Ok(false);
                    }
                    if !condition_failed(reasons, 1) {
                        // Throttled or in conflict: not an answer, a retry.
                        return Err(assign_outcome(reasons).err().unwrap_or_else(|| {
                            PortError::Unavailable("delivery completion cancelled".into())
                        }));
                    }
                    // The rider is no longer on this delivery (an operator
                    // moved them): complete the delivery alone.
                    let only = vec![TransactWriteItem::builder().update(finish).build()];
                    match self.client.transact_write_items().set_transact_items(Some(only)).send().await {
                        Ok(_) => Ok(true),
                        Err(e)
                            if matches!(
                                e.as_service_error(),
                                Some(TransactWriteItemsError::TransactionCanceledException(_))
                            ) =>
                        {
                            Ok(false)
                        }
                        Err(e) => Err(unavailable(e)),
                    }
                }
                _ => Err(unavailable(error)),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reasons(codes: &[&str]) -> Vec<CancellationReason> {
        codes.iter().map(|c| CancellationReason::builder().code(*c).build()).collect()
    }

    #[test]
    fn only_a_failed_condition_on_the_rider_means_the_rider_was_taken() {
        assert_eq!(
            assign_outcome(&reasons(&["ConditionalCheckFailed", "None"])),
            Ok(AssignOutcome::RiderTaken)
        );
        assert_eq!(
            assign_outcome(&reasons(&["None", "ConditionalCheckFailed"])),
            Ok(AssignOutcome::AlreadyRecorded)
        );
        for failure in
            ["ThrottlingError", "TransactionConflict", "ValidationError", "ProvisionedThroughputExceeded"]
        {
            for codes in [[failure, "None"], ["None", failure]] {
                match assign_outcome(&reasons(&codes)) {
                    Err(PortError::Unavailable(message)) => assert!(message.contains(failure), "{message}"),
                    other => panic!("{codes:?} is a failure to retry, not {other:?}"),
                }
            }
        }
    }
}
