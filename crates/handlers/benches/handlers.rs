//! Handler overheads with the in-memory adapters, each next to its floor:
//!
//! - a Kafka batch of 100 order events decoded and handled by the notifier
//!   (render, store, publish the log events), in records per second, next to
//!   plain `serde_json` parsing of the same batch bytes;
//! - an API request (POST /orders) decoded, authorised, validated, priced
//!   and stored by the place-order handler, next to parsing the same request
//!   event bytes.
//!
//! `make bench` runs them (`cargo bench -p foodstream-handlers`).

use aws_lambda_events::event::kafka::KafkaEvent;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use foodstream_application::Settings;
use foodstream_application::consumers::NotifyPorts;
use foodstream_application::ordering::PlaceOrderPorts;
use foodstream_domain::catalog::{MenuItem, MenuItemChange};
use foodstream_domain::events::{LogEvent, OrderEventData, OrderEventType};
use foodstream_domain::ids::{ProductId, StoreId};
use foodstream_domain::notification::notifications_for;
use foodstream_domain::ports::CatalogRepository;
use foodstream_domain::ports::OutgoingMessage;
use foodstream_handlers::batch::consumers;
use foodstream_handlers::batch::records::kafka_records;
use foodstream_handlers::http::routes;
use foodstream_memory::{InMemoryDeadLetters, InMemoryStore, ManualClock, RecordingPublisher, SequentialIds};
use serde_json::Value;
use std::path::Path;

const RECORDS: usize = 100;

fn payload(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events").join(format!("{name}.json"));
    std::fs::read_to_string(path).expect("events/ payload")
}

/// The notifier's payload with its one record made into `RECORDS`, each a
/// different order.
fn notifier_batch() -> Vec<u8> {
    let mut event: Value = serde_json::from_str(&payload("notifier")).unwrap();
    let (key, records) =
        event["records"].as_object().unwrap().iter().next().map(|(k, v)| (k.clone(), v.clone())).unwrap();
    let template = records[0].clone();
    let value = String::from_utf8(STANDARD.decode(template["value"].as_str().unwrap()).unwrap()).unwrap();
    let mut many = Vec::new();
    for i in 0..RECORDS {
        let mut record = template.clone();
        record["offset"] = Value::from(i);
        record["value"] = Value::from(STANDARD.encode(value.replace("order-1", &format!("order-{i}"))));
        many.push(record);
    }
    event["records"] = serde_json::json!({ key: many });
    serde_json::to_vec(&event).unwrap()
}

fn consumer_batch(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let bytes = notifier_batch();
    let settings = Settings::default();
    let dead_letters = InMemoryDeadLetters::new();
    let mut group = c.benchmark_group("kafka batch of 100 order events");
    group.throughput(Throughput::Elements(RECORDS as u64));
    group.bench_function("floor: serde_json parse of the batch", |b| {
        b.iter(|| serde_json::from_slice::<Value>(&bytes).unwrap())
    });
    // Where the notifier's time goes, stage by stage.
    group.bench_function("stage 1: the aws:kafka event and its records decoded", |b| {
        b.iter(|| {
            let batch: KafkaEvent = serde_json::from_slice(&bytes).unwrap();
            let records = kafka_records::<OrderEventType, OrderEventData>(&batch);
            assert!(records.iter().all(|r| r.event.is_ok()));
            records.len()
        })
    });
    let batch: KafkaEvent = serde_json::from_slice(&bytes).unwrap();
    let events: Vec<_> = kafka_records::<OrderEventType, OrderEventData>(&batch)
        .into_iter()
        .map(|r| r.event.unwrap())
        .collect();
    group.bench_function(
        "stage 2: notifications rendered and their log events serialised (domain only)",
        |b| {
            b.iter(|| {
                let mut bytes = 0;
                for event in &events {
                    for notification in notifications_for(event, settings.locale) {
                        let log = LogEvent::of_notification(&notification, &event.store_id, "notifier");
                        bytes += OutgoingMessage::of(&log).payload.len();
                    }
                }
                bytes
            })
        },
    );
    group.bench_function("notifier: decode + handle (in-memory adapters)", |b| {
        b.iter_batched(
            || (InMemoryStore::new(), RecordingPublisher::new()),
            |(store, publisher)| {
                let batch = serde_json::from_slice(&bytes).unwrap();
                let ports = NotifyPorts { notifications: &store, publisher: &publisher, settings: &settings };
                let report = runtime.block_on(consumers::notify(&ports, &dead_letters, &batch));
                assert!(report.response.batch_item_failures.is_empty());
                // The adapters outlive a batch in a function: dropped after
                // the timing, with the report, not inside it.
                (report, store, publisher)
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

fn api_request(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    // No Idempotency-Key: every call places a new order.
    let mut event: Value = serde_json::from_str(&payload("place-order")).unwrap();
    event["headers"].as_object_mut().unwrap().remove("idempotency-key");
    let text = event.to_string();
    let store = InMemoryStore::new();
    for product in ["bibimbap", "kimchi"] {
        let item = MenuItem {
            store_id: StoreId::new("store-1"),
            product_id: ProductId::new(product),
            name: product.into(),
            price: 9000,
            stock: 1_000_000_000,
            version: 1,
        };
        runtime.block_on(store.save_item(&MenuItemChange::creating(&item))).unwrap();
    }
    let clock = ManualClock::at(chrono::DateTime::parse_from_rfc3339("2026-11-25T12:00:00Z").unwrap().into());
    let ids = SequentialIds::new("bench");
    let mut group = c.benchmark_group("API request POST /orders");
    group.throughput(Throughput::Elements(1));
    group.bench_function("floor: serde_json parse of the request event", |b| {
        b.iter(|| serde_json::from_str::<Value>(&text).unwrap())
    });
    group.bench_function("place-order: decode + handle (in-memory adapters)", |b| {
        b.iter(|| {
            let request = foodstream_handlers::lambda_http::request::from_str(&text).unwrap();
            let ports = PlaceOrderPorts { orders: &store, catalog: &store, clock: &clock, ids: &ids };
            let response = runtime.block_on(routes::place_order(ports, request)).unwrap();
            assert_eq!(response.status(), 201);
            response
        })
    });
    group.finish();
}

criterion_group!(benches, consumer_batch, api_request);
criterion_main!(benches);
