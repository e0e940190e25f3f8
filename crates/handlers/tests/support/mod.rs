//! The functions' handlers over the real adapters, on fresh tables and a
//! fresh bucket in the AWS emulator, publishing to the real broker.

#![allow(dead_code)]

pub mod payloads;

use async_trait::async_trait;
use aws_lambda_events::event::dynamodb::Event as DynamoDbEvent;
use aws_lambda_events::event::kafka::KafkaEvent;
use foodstream_application::Settings;
use foodstream_application::ordering::{ChangePorts, PlaceOrderPorts};
use foodstream_aws::schema::TABLES;
use foodstream_aws::{
    DynamoCatalog, DynamoDeliveries, DynamoLogs, DynamoNotifications, DynamoOrders, DynamoRiders,
    S3PhotoStore, SystemClock, UuidIds,
};
use foodstream_domain::catalog::MenuItemChange;
use foodstream_domain::order::Order;
use foodstream_domain::ports::{
    CatalogRepository, EventPublisher, OrderRepository, OrderUpdate, OutgoingMessage, Placement, PortError,
};
use foodstream_domain::stock::StockPlan;
use foodstream_handlers::lambda_http::{Body, Request, Response};
use foodstream_kafka::{Bootstrap, KafkaPublisher, KafkaSettings};
use foodstream_testkit as kit;
use serde_json::Value;
use std::path::Path;
use std::sync::Mutex;

pub struct Env {
    pub config: aws_config::SdkConfig,
    pub catalog: DynamoCatalog,
    pub orders: DynamoOrders,
    pub riders: DynamoRiders,
    pub deliveries: DynamoDeliveries,
    pub notifications: DynamoNotifications,
    pub logs: DynamoLogs,
    pub photos: S3PhotoStore,
    pub s3: aws_sdk_s3::Client,
    pub bucket: String,
    pub settings: Settings,
    pub publisher: SpyPublisher,
    /// Where the consumers park poison records.
    pub dead_letters: foodstream_memory::InMemoryDeadLetters,
}

impl Env {
    pub async fn new() -> Env {
        let config = kit::config().await;
        let dynamodb = aws_sdk_dynamodb::Client::new(&config);
        let names = kit::tables(&dynamodb, &TABLES).await;
        let (s3, bucket) = kit::bucket(&config).await;
        let settings = KafkaSettings {
            message_timeout_ms: 10_000,
            idempotence: true,
            client_id: "handler-tests".into(),
            // Real publishes, kept off the topics a running local stack reads.
            topic_prefix: "handler-tests.".into(),
        };
        let kafka =
            KafkaPublisher::new(&Bootstrap::Plaintext(kit::kafka_bootstrap()), &settings, None).unwrap();
        Env {
            catalog: DynamoCatalog::new(dynamodb.clone(), &names[0]),
            orders: DynamoOrders::new(dynamodb.clone(), &names[1], &names[0], &names[2]),
            riders: DynamoRiders::new(dynamodb.clone(), &names[3]),
            deliveries: DynamoDeliveries::new(dynamodb.clone(), &names[4], &names[3]),
            notifications: DynamoNotifications::new(dynamodb.clone(), &names[5]),
            logs: DynamoLogs::new(dynamodb, &names[6]),
            photos: S3PhotoStore::new(&config, s3.clone(), &bucket),
            s3,
            bucket,
            config,
            settings: Settings::default(),
            publisher: SpyPublisher { kafka, sent: Mutex::new(Vec::new()) },
            dead_letters: foodstream_memory::InMemoryDeadLetters::new(),
        }
    }

    pub fn place_ports(&self) -> PlaceOrderPorts<'_> {
        PlaceOrderPorts { orders: &self.orders, catalog: &self.catalog, clock: &SystemClock, ids: &UuidIds }
    }

    pub fn change_ports(&self) -> ChangePorts<'_> {
        ChangePorts { orders: &self.orders, clock: &SystemClock, settings: &self.settings }
    }

    /// The payloads' menu in the catalog.
    pub async fn with_menu(self) -> Env {
        for item in payloads::menu().values() {
            self.catalog.save_item(&MenuItemChange::creating(item)).await.unwrap();
        }
        self
    }

    /// Stores `order` as if it had been placed (the payloads' order-1).
    pub async fn with_order(self, order: &Order) -> Env {
        let placement = Placement {
            order: order.clone(),
            events: vec![],
            stock: StockPlan { store_id: order.store_id.clone(), changes: vec![] },
            idempotency: None,
        };
        self.orders.place(&placement).await.unwrap();
        self
    }

    /// A JPEG of `bytes` bytes at the payloads' photo key, as the phone
    /// would have uploaded it.
    pub async fn upload_photo(&self, bytes: usize) {
        self.s3
            .put_object()
            .bucket(&self.bucket)
            .key(payloads::PHOTO_KEY)
            .content_type("image/jpeg")
            .body(vec![0u8; bytes].into())
            .send()
            .await
            .unwrap();
    }

    /// order-1 brought to DELIVERY_REQUESTED at version 3, as the
    /// order-delivery-updater payload expects.
    pub async fn with_delivery_requested(self) -> Env {
        let env = self.with_order(&payloads::placed().0).await;
        let (requested, _) = payloads::delivery_requested();
        let update = OrderUpdate { order: requested, expected_version: 1, events: vec![], stock: None };
        env.orders.update(&update).await.unwrap();
        env
    }

    pub async fn order(&self) -> Order {
        self.orders.get(&payloads::ORDER.into()).await.unwrap().expect("order-1 exists")
    }
}

/// Publishes to the real broker and remembers what it published.
pub struct SpyPublisher {
    kafka: KafkaPublisher,
    sent: Mutex<Vec<OutgoingMessage>>,
}

impl SpyPublisher {
    pub fn sent(&self) -> Vec<OutgoingMessage> {
        self.sent.lock().unwrap().clone()
    }

    pub fn sent_ids(&self) -> Vec<String> {
        self.sent().into_iter().map(|m| m.event_id).collect()
    }
}

#[async_trait]
impl EventPublisher for SpyPublisher {
    async fn publish(&self, messages: &[OutgoingMessage]) -> Result<(), PortError> {
        self.kafka.publish(messages).await?;
        self.sent.lock().unwrap().extend_from_slice(messages);
        Ok(())
    }
}

pub fn payload_text(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events").join(format!("{name}.json"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e} (run `make events`)", path.display()))
}

pub fn request(name: &str) -> Request {
    foodstream_handlers::lambda_http::request::from_str(&payload_text(name))
        .expect("an API Gateway v2 request")
}

/// The payload `name` as JSON, changed by `edit`, as a request.
pub fn edited_request(name: &str, edit: impl FnOnce(&mut Value)) -> Request {
    let mut payload: Value = serde_json::from_str(&payload_text(name)).unwrap();
    edit(&mut payload);
    foodstream_handlers::lambda_http::request::from_str(&payload.to_string())
        .expect("an API Gateway v2 request")
}

pub fn kafka_batch(name: &str) -> KafkaEvent {
    serde_json::from_str(&payload_text(name)).expect("an aws:kafka batch")
}

pub fn stream_batch(name: &str) -> DynamoDbEvent {
    serde_json::from_str(&payload_text(name)).expect("a DynamoDB stream batch")
}

/// Status and JSON body of an answer.
pub fn answer(response: Response<Body>) -> (u16, Value) {
    let status = response.status().as_u16();
    let body = match response.body() {
        Body::Text(t) => serde_json::from_str(t).unwrap(),
        Body::Empty => Value::Null,
        other => panic!("unexpected body {other:?}"),
    };
    (status, body)
}

/// The answer of a handler that may fail, as the client sees it.
pub fn answer_of(result: Result<Response<Body>, foodstream_application::AppError>) -> (u16, Value) {
    match result {
        Ok(response) => answer(response),
        Err(e) => answer(foodstream_handlers::http::error(&e)),
    }
}
