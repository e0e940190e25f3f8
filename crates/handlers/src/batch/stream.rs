//! The orders table's stream records as the order events their changes
//! carry: the outbox relay's batch, decoded with the orders adapter's own
//! reading of an item (`foodstream_aws::order_events_of_change`).

use crate::batch::records::{BatchRecord, ItemIdentifier, RawRecord};
use aws_lambda_events::event::dynamodb::Event as DynamoDbEvent;
use foodstream_aws::{OrderImage, TRACE_ATTRIBUTE, order_events_of_change};
use foodstream_domain::events::OrderEvent;
use foodstream_domain::trace::TraceParent;
use tracing::info_span;

/// The records of a batch of the orders table's stream, in stream order,
/// each with the order events its change carries (none for a removal or a
/// change without a new version).
pub fn stream_records(event: &DynamoDbEvent) -> Vec<BatchRecord<'_, Vec<OrderEvent>>> {
    event
        .records
        .iter()
        .map(|record| {
            let sequence = record.change.sequence_number.clone().unwrap_or_default();
            let span = info_span!("record", sequence = %sequence);
            BatchRecord {
                span,
                id: ItemIdentifier::Sequence(sequence),
                group: record.event_source_arn.clone().unwrap_or_default(),
                raw: RawRecord::Stream(record),
                event: order_events_of_record(record),
                trace: match record.change.new_image.get(TRACE_ATTRIBUTE) {
                    Some(serde_dynamo::AttributeValue::S(value)) => TraceParent::parse(value),
                    _ => None,
                },
            }
        })
        .collect()
}

fn order_events_of_record(
    record: &aws_lambda_events::event::dynamodb::EventRecord,
) -> Result<Vec<OrderEvent>, String> {
    if record.change.new_image.is_empty() {
        return Ok(Vec::new()); // a removal
    }
    let new = image(&record.change.new_image).map_err(|e| format!("new image: {e}"))?;
    let old = if record.change.old_image.is_empty() {
        None
    } else {
        Some(image(&record.change.old_image).map_err(|e| format!("old image: {e}"))?)
    };
    order_events_of_change(&new, old.as_ref()).map_err(|e| e.to_string())
}

/// An item of the orders table as its stream carries it; an error names
/// the attribute (`version: expected a number`), for whoever reads the
/// dead letter.
fn image(item: &serde_dynamo::Item) -> Result<OrderImage, String> {
    let value = serde_dynamo::AttributeValue::M(item.clone().into_inner());
    let deserializer = serde_dynamo::Deserializer::from_attribute_value(value);
    serde_path_to_error::deserialize(deserializer).map_err(|e| format!("{}: {}", e.path(), e.inner()))
}
