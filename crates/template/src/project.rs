//! This checkout's `infra/template.yaml`, and the tests that hold the whole
//! of it: its topology, and the timeouts and limits its parts must agree on.

use crate::error::TemplateError;
use crate::model::Template;
use std::path::Path;

/// This checkout's `infra/template.yaml`, for the tests, the bench and the
/// tools run from the workspace (a deployed function never reads it).
pub fn project_template_path() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infra/template.yaml")
}

/// This checkout's template, with its parameters' defaults.
pub fn project_template() -> Result<Template, TemplateError> {
    Template::load(&project_template_path())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::{get, text};
    use crate::{EnvValue, FailureDestination, KeyElement, KeyType, Route, Schedule, Source, StreamViewType};
    use serde_norway::Value;

    fn project_template() -> Template {
        super::project_template().unwrap()
    }

    #[test]
    fn the_project_template_reads_as_the_whole_topology() {
        let t = project_template();
        assert_eq!(t.functions.len(), 23);
        assert_eq!(t.routes.len(), 16);
        assert_eq!(t.mappings.len(), 6);
        assert!(t.mappings.iter().all(|m| m.report_batch_item_failures), "every mapping answers partially");
        assert_eq!(
            t.schedules,
            [Schedule { function: "delivery-sweeper".into(), every: std::time::Duration::from_secs(60) }]
        );
        assert_eq!(t.tables.len(), 7);
        assert_eq!(
            t.topics.iter().map(|t| (t.name.as_str(), t.partitions)).collect::<Vec<_>>(),
            [("order-events", 3), ("delivery-events", 3), ("log-events", 3)]
        );
        let dispatcher = t.mappings.iter().find(|m| m.function == "delivery-dispatcher").unwrap();
        assert_eq!(
            dispatcher.source,
            Source::Kafka { topic: "order-events".into(), consumer_group: "delivery".into() }
        );
        assert_eq!(dispatcher.filters[0]["value"]["event_type"][0], "OrderDeliveryRequested");
        assert_eq!((dispatcher.max_retries, dispatcher.bisect_on_error), (5, true));
        assert_eq!(
            t.failure_destination(dispatcher),
            Some(FailureDestination::Bucket("FailureBucket".into()))
        );
        let completer = t.mappings.iter().find(|m| m.function == "delivery-completer").unwrap();
        assert_eq!(completer.source, Source::Queue { queue: "DeliveryTimerQueue".into() });
        assert_eq!((completer.batch_size, completer.batching_window), (10, std::time::Duration::ZERO));
        assert_eq!(completer.maximum_concurrency, Some(10));
        let timer = t.queue_named("DeliveryTimerQueue").unwrap();
        let redrive = timer.redrive.as_ref().unwrap();
        assert_eq!(
            (redrive.dead_letter_queue.as_str(), redrive.max_receive_count),
            ("DeliveryTimerDeadLetterQueue", 5)
        );
        assert_eq!(timer.visibility_timeout_seconds, 90);
        let order: Vec<_> = t.queues_in_creation_order().iter().map(|q| q.logical_id.as_str()).collect();
        let position = |q: &str| order.iter().position(|o| *o == q).unwrap();
        assert!(position("DeliveryTimerDeadLetterQueue") < position("DeliveryTimerQueue"), "{order:?}");
        let relay = t.mappings.iter().find(|m| m.function == "order-outbox-relay").unwrap();
        assert_eq!(relay.source, Source::TableStream { table: "OrdersTable".into() });
        assert_eq!(relay.filters[0]["eventName"][1], "MODIFY");
        let orders = t.table("OrdersTable").unwrap();
        assert_eq!(orders.key, [KeyElement { attribute_name: "order_id".into(), key_type: KeyType::Hash }]);
        assert_eq!(orders.indexes.len(), 4);
        assert_eq!(orders.stream_view, Some(StreamViewType::NewAndOldImages));
        let idempotency = t.table("IdempotencyTable").unwrap();
        assert_eq!(idempotency.ttl_attribute.as_deref(), Some("expires_at"));
        assert!(t.routes.contains(&Route {
            method: "POST".into(),
            path: "/orders".into(),
            function: "place-order".into()
        }));
    }

    #[test]
    fn no_function_waits_a_delivery_out_and_the_timer_fits_its_completer() {
        let t = project_template();
        let max_ms = foodstream_domain::delivery::MAX_DELIVERY_DURATION_MS as u64;
        // The sweeper waits out an assignment of its own inside its call:
        // the longest delivery leaves it 10 s to complete and publish.
        let sweeper = t.function("delivery-sweeper").unwrap();
        assert!(
            sweeper.timeout_seconds * 1000 >= max_ms + 10_000,
            "sweeper Timeout {}",
            sweeper.timeout_seconds
        );
        // The completer waits at most a message's early part, then
        // publishes (KAFKA_MESSAGE_TIMEOUT_MS) and writes.
        let completer = t.function("delivery-completer").unwrap();
        let publish_ms: u64 = match completer.environment.get("KAFKA_MESSAGE_TIMEOUT_MS") {
            Some(EnvValue::Literal(ms)) => ms.parse().unwrap(),
            other => panic!("KAFKA_MESSAGE_TIMEOUT_MS: {other:?}"),
        };
        let early_ms = foodstream_domain::timer::MAX_EARLY_MS as u64;
        assert!(completer.timeout_seconds * 1000 >= early_ms + publish_ms + 2_000);
        // Lambda refuses an SQS trigger whose queue hides a message for less
        // than the function's timeout: the parameter cannot go below it.
        let path = project_template_path();
        let raw: Value = serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let parameter = |name: &str| get(&raw, "Parameters").and_then(|p| get(p, name)).unwrap().clone();
        let retry = parameter("DeliveryTimerRetrySeconds");
        let min: u64 = get(&retry, "MinValue").and_then(text).unwrap().parse().unwrap();
        assert!(min >= completer.timeout_seconds, "MinValue {min} < the completer's Timeout");
        // SQS delays are whole seconds up to 15 minutes: every delivery fits.
        assert!(max_ms <= 900_000);
        // The parameter refuses what the functions would refuse at start.
        let duration = parameter("DeliveryDurationMs");
        assert_eq!(get(&duration, "MaxValue").and_then(text), Some(max_ms.to_string()));
    }
}
