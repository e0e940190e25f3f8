//! A local stack for one test: the template, the real function binaries,
//! the emulators `make test` starts, and every name (tables, bucket, queue,
//! topics, consumer groups) prefixed with the test's run id, so tests run in
//! parallel on one broker and one AWS emulator without seeing each other.

#![allow(dead_code)] // each test binary uses a part

use foodstream_harness::api::{ApiAnswer, ApiClient, Route};
use foodstream_local::activity::StackEvent;
use foodstream_local::jwt::{self, Claims};
use foodstream_local::stack::{Stack, StackConfig};
use reqwest::Method;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const SECRET: &str = "test-secret";

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `target/debug`, where `cargo build --workspace --bins` put the functions;
/// or `FOODSTREAM_FUNCTIONS_DIR` (`make test-package`: the bootstraps of
/// `make package`).
pub fn bin_dir() -> PathBuf {
    match std::env::var_os("FOODSTREAM_FUNCTIONS_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => target_dir(),
    }
}

/// `target/debug`: the test binaries' own directory's parent.
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().and_then(Path::parent).unwrap().to_path_buf()
}

/// What the functions run under: `FOODSTREAM_FUNCTION_LAUNCHER` (qemu for
/// the arm64 package), else nothing.
pub fn launcher() -> Vec<String> {
    std::env::var("FOODSTREAM_FUNCTION_LAUNCHER")
        .unwrap_or_default()
        .split_whitespace()
        .map(String::from)
        .collect()
}

pub struct Settings {
    pub run: String,
    pub parameters: BTreeMap<String, String>,
    pub kafka_bootstrap: String,
    /// A namespace shared with an earlier stack (to replay its data).
    pub namespace: Option<String>,
    pub group_prefix: Option<String>,
    /// Every `Schedule` event at this rate instead of the template's.
    pub schedule_every: Option<Duration>,
    /// A console that sees what the stack reports.
    pub console: Option<Arc<foodstream_local::console::Console>>,
}

impl Settings {
    pub fn new(label: &str) -> Settings {
        let unique = foodstream_testkit::unique(label).replace('-', "").to_lowercase();
        Settings {
            run: format!("{label}{}", &unique[unique.len() - 10..]),
            parameters: BTreeMap::new(),
            kafka_bootstrap: foodstream_testkit::kafka_bootstrap(),
            namespace: None,
            group_prefix: None,
            schedule_every: None,
            console: None,
        }
    }

    pub fn parameter(mut self, name: &str, value: impl ToString) -> Settings {
        self.parameters.insert(name.into(), value.to_string());
        self
    }
}

pub struct TestStack {
    pub stack: Stack,
    pub run: String,
    pub topic_prefix: String,
    pub activity: Arc<Mutex<Vec<StackEvent>>>,
    /// The API client the scenario and the bench use too.
    pub api: ApiClient,
    pub log_dir: PathBuf,
}

impl TestStack {
    pub async fn start(settings: Settings) -> TestStack {
        let run = settings.run.clone();
        let activity: Arc<Mutex<Vec<StackEvent>>> = Arc::default();
        let sink = activity.clone();
        let log_dir = target_dir().join("test-stacks").join(&run);
        let topic_prefix = format!("{}.", settings.namespace.clone().unwrap_or_else(|| run.clone()));
        let stack = Stack::start(StackConfig {
            template: workspace().join("infra/template.yaml"),
            bin_dir: bin_dir(),
            namespace: settings.namespace.unwrap_or_else(|| run.clone()),
            group_prefix: settings.group_prefix.unwrap_or_else(|| format!("{run}-")),
            topic_prefix: topic_prefix.clone(),
            api_addr: "127.0.0.1:0".parse().unwrap(),
            aws_endpoint: foodstream_testkit::endpoint(),
            kafka_bootstrap: settings.kafka_bootstrap,
            parameters: settings.parameters,
            max_instances: 4,
            log_dir: Some(log_dir.clone()),
            state_dir: None,
            jwt_secret: SECRET.into(),
            activity: {
                let record: foodstream_local::activity::Activity =
                    Arc::new(move |event| sink.lock().unwrap().push(event));
                match &settings.console {
                    Some(console) => console.tap(record),
                    None => record,
                }
            },
            first_retry_backoff: Duration::from_millis(20),
            schedule_every: settings.schedule_every,
            allow_non_loopback: false,
            launcher: launcher(),
        })
        .await
        .expect(
            "the stack starts (function binaries built by `cargo build --workspace --bins`, emulators up)",
        );
        let api = ApiClient::new(stack.api_url.clone());
        TestStack { stack, run, topic_prefix, activity, api, log_dir }
    }

    pub fn token(&self, sub: &str, role: &str, store: Option<&str>) -> String {
        let now = chrono::Utc::now().timestamp() as u64;
        jwt::mint(&Claims::new(sub, role, store, now, 3600), SECRET).unwrap()
    }

    /// `route` with `token` as bearer and `body` as JSON.
    pub async fn call(&self, token: Option<&str>, route: Route<'_>, body: Option<Value>) -> ApiAnswer {
        self.send(token, route.method(), &route.path(), body).await
    }

    /// `method path` as is: a route's path with a query.
    pub async fn send(
        &self,
        token: Option<&str>,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> ApiAnswer {
        self.api.send(token, method, path, body.as_ref(), &[]).await.expect("the gateway answers")
    }

    /// Like `call`, insisting on `status`.
    pub async fn expect(&self, token: &str, route: Route<'_>, body: Option<Value>, status: u16) -> Value {
        self.expect_at(token, route.method(), &route.path(), body, status).await
    }

    /// Like `send`, insisting on `status`.
    pub async fn expect_at(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
        status: u16,
    ) -> Value {
        let answer = self.send(Some(token), method.clone(), path, body).await;
        assert_eq!(answer.status, status, "{method} {path}: {}", answer.body);
        answer.body
    }

    /// Polls until `done` holds for the answer of GET `path`, or panics
    /// with the last answer after `timeout`.
    pub async fn wait_until(
        &self,
        token: &str,
        path: &str,
        timeout: Duration,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let until = Instant::now() + timeout;
        loop {
            let answer = self.send(Some(token), Method::GET, path, None).await;
            if answer.status == 200 && done(&answer.body) {
                return answer.body;
            }
            assert!(
                Instant::now() < until,
                "GET {path} still {} {} after {timeout:?}; stack activity:\n{}",
                answer.status,
                answer.body,
                self.recent_activity(30)
            );
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    /// The last `lines` things the stack did, reads (GET) left out.
    pub fn recent_activity(&self, lines: usize) -> String {
        let all = self.activity.lock().unwrap();
        let reads = |e: &&StackEvent| matches!(e, StackEvent::Request { method, .. } if method == "GET");
        let mut recent: Vec<String> =
            all.iter().rev().filter(|e| !reads(e)).take(lines).map(|e| e.to_string()).collect();
        recent.reverse();
        recent.join("\n")
    }

    /// Every item of a paginated list.
    pub async fn list_all(&self, token: &str, path: &str) -> Vec<Value> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page_path = foodstream_harness::api::page_path(path, cursor.as_deref());
            let page = self.expect_at(token, Method::GET, &page_path, None, 200).await;
            items.extend(page["items"].as_array().cloned().unwrap_or_default());
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return items,
            }
        }
    }

    /// The failure records the stack's event source mappings wrote to its
    /// failure bucket (under `aws/lambda/`), read until `enough` holds for
    /// them or `timeout` passes.
    pub async fn failure_bucket(&self, timeout: Duration, enough: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        self.failure_records("aws/lambda/", timeout, enough).await
    }

    /// The records the stack's consumers parked as unprocessable in its
    /// failure bucket (under `parked/`, in the shape of the mappings'
    /// failure records), read until `enough` holds for them or `timeout`
    /// passes.
    pub async fn parked(&self, timeout: Duration, enough: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        self.failure_records(foodstream_aws::PARKED_PREFIX, timeout, enough).await
    }

    /// The objects of the failure bucket under `prefix`, as JSON, read
    /// until `enough` holds for them or `timeout` passes.
    async fn failure_records(
        &self,
        prefix: &str,
        timeout: Duration,
        enough: impl Fn(&[Value]) -> bool,
    ) -> Vec<Value> {
        let config = foodstream_testkit::config().await;
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&config).force_path_style(true).build(),
        );
        let bucket = self.stack.failure_bucket.clone().expect("the template has a failure bucket");
        let until = Instant::now() + timeout;
        loop {
            let listed = s3.list_objects_v2().bucket(&bucket).prefix(prefix).send().await.unwrap();
            let mut records = Vec::new();
            for object in listed.contents() {
                let body = s3.get_object().bucket(&bucket).key(object.key().unwrap()).send().await.unwrap();
                let bytes = body.body.collect().await.unwrap().into_bytes();
                records.push(serde_json::from_slice(&bytes).unwrap());
            }
            if enough(&records) || Instant::now() >= until {
                return records;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    /// The events of `order` on the stack's `delivery-events`, read from
    /// the start of every partition until the topic is quiet.
    pub async fn delivery_events(&self, order: &str) -> Vec<Value> {
        use rdkafka::Message;
        use rdkafka::consumer::{BaseConsumer, Consumer};
        let topic = self.stack.names.topic("delivery-events");
        let consumer: BaseConsumer = rdkafka::config::ClientConfig::new()
            .set("bootstrap.servers", foodstream_testkit::kafka_bootstrap())
            .set("group.id", format!("{}-reader", self.run))
            .set("enable.auto.commit", "false")
            .create()
            .unwrap();
        let mut partitions = rdkafka::TopicPartitionList::new();
        for partition in 0..3 {
            partitions.add_partition_offset(&topic, partition, rdkafka::Offset::Beginning).unwrap();
        }
        consumer.assign(&partitions).unwrap();
        let mut events = Vec::new();
        let mut quiet_since = std::time::Instant::now();
        while quiet_since.elapsed() < Duration::from_secs(3) {
            if let Some(Ok(message)) = consumer.poll(Duration::from_millis(200)) {
                quiet_since = std::time::Instant::now();
                if message.key() == Some(order.as_bytes()) {
                    events.push(serde_json::from_slice(message.payload().unwrap_or_default()).unwrap());
                }
            }
        }
        events
    }

    /// The queue the template calls `logical`, by URL.
    pub async fn queue_url(&self, logical: &str) -> String {
        let sqs = aws_sdk_sqs::Client::new(&foodstream_testkit::config().await);
        let out = sqs.get_queue_url().queue_name(self.stack.names.queue(logical)).send().await.unwrap();
        out.queue_url().unwrap().to_owned()
    }

    pub async fn stop(self) {
        self.stack.stop().await;
    }
}

/// A store with one item, an owner and a zone with `riders` riders.
pub struct Shop {
    pub store: String,
    pub owner: String,
    pub operator: String,
    pub zone: String,
}

impl Shop {
    pub async fn open(t: &TestStack, stock: u64, riders: usize) -> Shop {
        let store = format!("store-{}", t.run);
        let owner = t.token(&format!("owner-{}", t.run), "owner", Some(&store));
        let operator = t.token(&format!("operator-{}", t.run), "operator", None);
        let zone = format!("Zone-{}", t.run);
        t.expect(
            &owner,
            Route::PutMenuItem { store: &store, product: "chicken" },
            Some(serde_json::json!({"name": "Fried chicken", "price": 18000, "stock": stock})),
            200,
        )
        .await;
        for i in 0..riders {
            t.expect(
                &operator,
                Route::RegisterRider { rider: &format!("rider-{i}-{}", t.run) },
                Some(serde_json::json!({"zone": zone})),
                200,
            )
            .await;
        }
        Shop { store, owner, operator, zone }
    }

    /// Places an order for `customer`, accepts it, calls a rider and waits
    /// until it is DELIVERED; its id.
    pub async fn deliver_one(&self, t: &TestStack, customer: &str, timeout: Duration) -> String {
        let id = self.request_delivery(t, customer).await;
        let path = Route::GetOrder { order: &id }.path();
        t.wait_until(customer, &path, timeout, |o| o["status"] == "DELIVERED").await;
        id
    }

    /// Places an order for `customer`, accepts it and calls a rider; its id.
    pub async fn request_delivery(&self, t: &TestStack, customer: &str) -> String {
        let id = t.expect(customer, Route::PlaceOrder, Some(self.order(1)), 201).await["order_id"]
            .as_str()
            .unwrap()
            .to_owned();
        t.expect(&self.owner, Route::AcceptOrder { order: &id }, None, 200).await;
        t.expect(&self.owner, Route::RequestDelivery { order: &id }, None, 202).await;
        id
    }

    pub fn order(&self, quantity: u64) -> Value {
        serde_json::json!({
            "store_id": self.store,
            "items": [{"product_id": "chicken", "quantity": quantity}],
            "address": {"street": "1 Teheran-ro", "district": self.zone, "city": "Seoul"},
        })
    }
}

/// What `make replay` works with, as an operator runs it: the emulator's S3
/// and SQS clients, and a publisher to `bootstrap` under `topic_prefix`.
pub struct Operator {
    pub s3: aws_sdk_s3::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub publisher: foodstream_kafka::KafkaPublisher,
}

impl Operator {
    pub async fn new(bootstrap: &str, topic_prefix: &str) -> Operator {
        use foodstream_kafka::{Bootstrap, KafkaPublisher, KafkaSettings};
        let config = foodstream_testkit::config().await;
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&config).force_path_style(true).build(),
        );
        let settings = KafkaSettings {
            message_timeout_ms: 10_000,
            idempotence: true,
            client_id: "replay-test".into(),
            topic_prefix: topic_prefix.to_owned(),
        };
        let publisher =
            KafkaPublisher::new(&Bootstrap::Plaintext(bootstrap.to_owned()), &settings, None).unwrap();
        Operator { s3, sqs: aws_sdk_sqs::Client::new(&config), publisher }
    }
}
