//! The riders table (one item per rider, a `by-zone` index) and the
//! deliveries table (one item per delivery attempt, keyed
//! `{order_id}#{request_version}`). Taking a rider and recording the attempt
//! is one transaction, so a rider is never on two deliveries and a replayed
//! request never takes a second rider.

use crate::codec::{
    Item, condition_failed, from_item, put_new, query_all, s, time_key, to_item, to_value, unavailable,
};
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{Put, ReturnValue, TransactWriteItem, Update};
use foodstream_domain::Timestamp;
use foodstream_domain::delivery::{Delivery, DeliveryStatus, Rider, RiderStatus, Zone};
use foodstream_domain::ids::RiderId;
use foodstream_domain::ports::{AssignOutcome, DeliveryRepository, PortError, RiderRepository};
use serde::{Deserialize, Serialize};

#[derive(Clone)]
pub struct DynamoRiders {
    client: Client,
    table: String,
}

impl DynamoRiders {
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

#[derive(Clone)]
pub struct DynamoDeliveries {
    client: Client,
    table: String,
    riders_table: String,
}

impl DynamoDeliveries {
    pub fn new(client: Client, table: impl Into<String>, riders_table: impl Into<String>) -> Self {
        DynamoDeliveries { client, table: table.into(), riders_table: riders_table.into() }
    }

    fn record(&self, delivery: &Delivery) -> Result<Item, PortError> {
        let mut item = to_item(&DeliveryRecord {
            delivery_id: delivery.id(),
            order_id: delivery.request.order_id.to_string(),
            status: delivery.status,
            decided_at: time_key(delivery.decided_at),
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
}

#[derive(Debug, Deserialize)]
struct StoredDelivery {
    delivery: Delivery,
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
                .condition_expression("#status = :available")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":busy", to_value(&RiderStatus::Busy)?)
                .expression_attribute_values(":available", to_value(&RiderStatus::Available)?)
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
                    let reasons = cancelled.cancellation_reasons();
                    if condition_failed(reasons, 1) {
                        Ok(AssignOutcome::AlreadyRecorded)
                    } else if condition_failed(reasons, 0) {
                        Ok(AssignOutcome::RiderTaken)
                    } else {
                        // Another transaction on the same rider at the same
                        // moment: treat the rider as taken and try the next.
                        Ok(AssignOutcome::RiderTaken)
                    }
                }
                _ => Err(unavailable(error)),
            },
        }
    }

    async fn record_failure(&self, delivery: &Delivery) -> Result<bool, PortError> {
        put_new(&self.client, &self.table, self.record(delivery)?, "delivery_id").await
    }

    async fn complete(&self, delivery: &Delivery, at: Timestamp) -> Result<bool, PortError> {
        let finish = build(
            Update::builder()
                .table_name(&self.table)
                .key("delivery_id", s(delivery.id()))
                .update_expression("SET #status = :completed, delivery = :delivery")
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
