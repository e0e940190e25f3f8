//! The defects of issue 12 that live in the use cases, over the in-memory
//! adapters: every test here failed on the code before its fix.

mod support;
use support::*;

use async_trait::async_trait;
use foodstream_application::Settings;
use foodstream_application::consumers::dispatch_delivery;
use foodstream_domain::Timestamp;
use foodstream_domain::delivery::{Rider, RiderStatus, Zone};
use foodstream_domain::events::DeliveryEventType;
use foodstream_domain::ids::RiderId;
use foodstream_domain::ports::{PortError, RiderRepository};
use foodstream_memory::InMemoryStore;

// Defect 10: an out-of-range setting is a named error at init, never a
// panic, and a delivery time must fit the dispatcher's timeout.
#[test]
fn out_of_range_settings_are_named_errors_not_panics() {
    let huge = i64::MAX.to_string();
    let cases = [
        ("REFUND_WINDOW_SECONDS", huge.as_str()),
        ("LOG_RETENTION_DAYS", huge.as_str()),
        ("DELIVERY_DURATION_MS", huge.as_str()),
        // Longer than the dispatcher's 30 s timeout can wait out.
        ("DELIVERY_DURATION_MS", "60000"),
        ("REFUND_WINDOW_SECONDS", "0"),
    ];
    for (name, value) in cases {
        let read =
            std::panic::catch_unwind(|| Settings::from_lookup(|k| (k == name).then(|| value.to_owned())));
        let result = read.unwrap_or_else(|_| panic!("{name}={value} panicked"));
        let error = result.expect_err(&format!("{name}={value} is out of range"));
        assert!(
            matches!(error, foodstream_config::ConfigError::Invalid { name: named, .. } if named == name),
            "{error}"
        );
        assert!(error.to_string().contains(name), "{error}");
    }
}

/// The riders' index as DynamoDB's eventually consistent GSI may show it:
/// every rider still busy, although one has just been freed.
struct LaggingIndex<'a>(&'a InMemoryStore);

#[async_trait]
impl RiderRepository for LaggingIndex<'_> {
    async fn upsert(&self, rider: &RiderId, zone: &Zone, at: Timestamp) -> Result<Rider, PortError> {
        self.0.upsert(rider, zone, at).await
    }
    async fn get(&self, rider: &RiderId) -> Result<Option<Rider>, PortError> {
        self.0.get(rider).await
    }
    async fn in_zone(&self, zone: &Zone) -> Result<Vec<Rider>, PortError> {
        let riders = self.0.in_zone(zone).await?;
        Ok(riders.into_iter().map(|r| Rider { status: RiderStatus::Busy, ..r }).collect())
    }
}

// Defect 4: an index that lags is not a busy zone: the candidates are read
// again, consistently, before ALL_RIDERS_BUSY is recorded.
#[tokio::test]
async fn a_lagging_rider_index_is_read_again_before_failing_the_delivery() {
    let w = World::new().with_menu(&[("bibimbap", 9000, 10)]).await;
    w.register_rider("r-1", "Gangnam-gu").await;
    let (_, request) = w.delivery_requested().await;
    let lagging = LaggingIndex(&w.store);
    let mut ports = w.dispatch_ports();
    ports.riders = &lagging;
    dispatch_delivery(&ports, &request, None).await.unwrap();
    let (_, deliveries, _) = split(&w.publisher.take());
    let types: Vec<_> = deliveries.iter().map(|e| e.event_type).collect();
    assert_eq!(types, [DeliveryEventType::RiderAssigned, DeliveryEventType::DeliveryCompleted]);
}
