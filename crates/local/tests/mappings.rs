//! The MSK event source mapping against Tansu and moto's SQS: a real topic
//! read with its own consumer group, a real function process behind the
//! Runtime API, the filter applied, a poison record isolated by bisecting
//! and sent to an SQS on-failure destination after the retries, and the
//! offsets committed past everything, so the partition moves on.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use foodstream_local::mappings::{self, Deliverer, FailureTarget, KafkaPollerSettings};
use foodstream_local::runtime::{FunctionPool, FunctionSpec};
use foodstream_template::{Mapping, Source};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

async fn create_topic(bootstrap: &str, topic: &str) {
    create_topic_with(bootstrap, topic, 1).await
}

async fn create_topic_with(bootstrap: &str, topic: &str, partitions: i32) {
    let admin: AdminClient<DefaultClientContext> =
        ClientConfig::new().set("bootstrap.servers", bootstrap).create().unwrap();
    let results = admin
        .create_topics(&[NewTopic::new(topic, partitions, TopicReplication::Fixed(1))], &AdminOptions::new())
        .await
        .unwrap();
    results.into_iter().for_each(|r| {
        r.unwrap();
    });
}

async fn produce(bootstrap: &str, topic: &str, values: &[&str]) {
    let producer: FutureProducer = ClientConfig::new().set("bootstrap.servers", bootstrap).create().unwrap();
    for (i, value) in values.iter().enumerate() {
        let key = format!("key-{i}");
        let headers = OwnedHeaders::new().insert(Header { key: "event_id", value: Some(&format!("e{i}")) });
        producer
            .send(FutureRecord::to(topic).key(&key).payload(*value).headers(headers), Duration::from_secs(10))
            .await
            .map_err(|(e, _)| e)
            .unwrap();
    }
}

/// The failure records on an SQS on-failure destination (up to ten), as JSON.
async fn failure_queue_records(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> Vec<Value> {
    let received =
        sqs.receive_message().queue_url(queue_url).max_number_of_messages(10).send().await.unwrap();
    received.messages().iter().map(|m| serde_json::from_str(m.body().unwrap()).unwrap()).collect()
}

/// The echo function, appending every event it gets to `invocations`.
fn echo_pool(invocations: &std::path::Path, max_instances: usize) -> Arc<FunctionPool> {
    Arc::new(FunctionPool::new(FunctionSpec {
        name: "echo".into(),
        binary: PathBuf::from(env!("CARGO_BIN_EXE_local-echo-function")),
        environment: BTreeMap::from([(
            "ECHO_INVOCATIONS_FILE".to_string(),
            invocations.display().to_string(),
        )]),
        timeout: Duration::from_secs(10),
        memory_mb: 128,
        max_instances,
        log_file: None,
        launcher: Vec::new(),
        active_tracing: false,
    }))
}

/// The echo function's mapping of `topic` with `group`: batches of 10 in a
/// 1 s window, no filter, no retry, no age limit, no destination.
fn echo_mapping(topic: &str, group: &str) -> Mapping {
    Mapping {
        function: "echo".into(),
        source: Source::Kafka { topic: topic.to_owned(), consumer_group: group.to_owned() },
        batch_size: 10,
        batching_window: Duration::from_secs(1),
        filters: vec![],
        max_retries: 0,
        max_record_age_seconds: -1,
        bisect_on_error: false,
        starting_position: "TRIM_HORIZON".into(),
        on_failure: None,
        report_batch_item_failures: false,
        maximum_concurrency: None,
    }
}

/// A Kafka mapping's deliverer around `pool`, with `aws:kafka` events.
fn kafka_deliverer(
    mapping: Mapping,
    pool: Arc<FunctionPool>,
    failure: Option<FailureTarget>,
    bootstrap: &str,
    activity: foodstream_local::activity::Activity,
) -> Deliverer {
    let arn = "arn:aws:kafka:us-east-1:000000000000:cluster/test/local".to_string();
    let (envelope_arn, envelope_bootstrap) = (arn.clone(), bootstrap.to_owned());
    Deliverer {
        mapping,
        pool,
        failure,
        envelope: Box::new(move |records| mappings::kafka_event(&envelope_arn, &envelope_bootstrap, records)),
        source_arn: arn,
        activity,
        first_backoff: Duration::from_millis(50),
    }
}

fn committed(bootstrap: &str, group: &str, topic: &str) -> Option<i64> {
    let consumer: BaseConsumer =
        ClientConfig::new().set("bootstrap.servers", bootstrap).set("group.id", group).create().unwrap();
    let mut list = TopicPartitionList::new();
    list.add_partition(topic, 0);
    let offsets = consumer.committed_offsets(list, Duration::from_secs(5)).ok()?;
    match offsets.find_partition(topic, 0)?.offset() {
        Offset::Offset(n) => Some(n),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kafka_mapping_filters_retries_bisects_routes_failures_and_commits() {
    let bootstrap = foodstream_testkit::kafka_bootstrap();
    let aws = foodstream_testkit::config().await;
    let topic = foodstream_testkit::unique("esm");
    let group = foodstream_testkit::unique("esm-group");
    create_topic(&bootstrap, &topic).await;
    let values = [
        r#"{"event_type":"A","n":0}"#,
        r#"{"event_type":"A","n":1}"#,
        r#"{"event_type":"A","n":2,"note":"poison"}"#,
        r#"{"event_type":"B","n":3}"#,
        r#"{"event_type":"A","n":4}"#,
    ];
    produce(&bootstrap, &topic, &values).await;

    let sqs = aws_sdk_sqs::Client::new(&aws);
    let queue = sqs.create_queue().queue_name(foodstream_testkit::unique("failures")).send().await.unwrap();
    let queue_url = queue.queue_url().unwrap().to_owned();
    let invocations =
        std::env::temp_dir().join(format!("{}.jsonl", foodstream_testkit::unique("invocations")));
    let pool = echo_pool(&invocations, 1);
    let mapping = Mapping {
        filters: vec![json!({"value": {"event_type": ["A"]}})],
        max_retries: 1,
        bisect_on_error: true,
        on_failure: Some("OnFailureQueue".into()),
        ..echo_mapping(&topic, &group)
    };
    let activity: Arc<Mutex<Vec<foodstream_local::activity::StackEvent>>> = Arc::default();
    let sink = activity.clone();
    let deliverer = kafka_deliverer(
        mapping,
        pool.clone(),
        Some(FailureTarget::Queue { sqs: sqs.clone(), url: queue_url.clone() }),
        &bootstrap,
        Arc::new(move |event| sink.lock().unwrap().push(event)),
    );
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let settings = KafkaPollerSettings { bootstrap: bootstrap.clone(), group_prefix: String::new() };
    let poller =
        tokio::spawn(mappings::run_kafka(deliverer, topic.clone(), group.clone(), settings, stopped));

    let deadline = Instant::now() + Duration::from_secs(40);
    while committed(&bootstrap, &group, &topic) != Some(5) {
        assert!(
            Instant::now() < deadline,
            "offsets not committed past the batch; activity: {:?}",
            activity.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    stop.send(true).unwrap();
    poller.await.unwrap();
    pool.shutdown().await;

    // The poison record, alone, reached the on-failure queue after 1 + 1 attempts.
    let messages = failure_queue_records(&sqs, &queue_url).await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    let failure = &messages[0];
    assert_eq!(failure["requestContext"]["condition"], "RetryAttemptsExhausted");
    assert_eq!(failure["requestContext"]["approximateInvokeCount"], 2);
    assert_eq!(failure["batchInfo"]["batchSize"], 1);
    assert_eq!(failure["batchInfo"]["startPosition"], "0@2");
    // As Lambda writes to SQS: the batch's position, never its records.
    assert!(failure.get("payload").is_none(), "an SQS failure record carries no payload: {failure}");

    // What the function saw: the aws:kafka shape, never the filtered record,
    // and every good record in a successful call.
    let calls: Vec<Value> = std::fs::read_to_string(&invocations)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let first = &calls[0];
    assert_eq!(first["eventSource"], "aws:kafka");
    assert_eq!(first["bootstrapServers"], bootstrap.as_str());
    let group_key = format!("{topic}-0");
    let record = &first["records"][&group_key][0];
    assert_eq!(record["topic"], topic.as_str());
    assert_eq!(record["partition"], 0);
    assert_eq!(record["offset"], 0);
    assert_eq!(record["timestampType"], "CREATE_TIME");
    assert!(record["timestamp"].as_i64().unwrap() > 0);
    assert_eq!(STANDARD.decode(record["key"].as_str().unwrap()).unwrap(), b"key-0");
    assert_eq!(STANDARD.decode(record["value"].as_str().unwrap()).unwrap(), values[0].as_bytes());
    assert_eq!(record["headers"][0]["event_id"], json!([101, 48]));
    let offsets_in = |call: &Value| -> Vec<i64> {
        call["records"][&group_key]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["offset"].as_i64().unwrap())
            .collect()
    };
    assert!(calls.iter().all(|c| !offsets_in(c).contains(&3)), "the filtered record reached the function");
    let succeeded: Vec<i64> = calls.iter().map(offsets_in).filter(|o| !o.contains(&2)).flatten().collect();
    for good in [0, 1, 4] {
        assert!(succeeded.contains(&good), "record {good} never went through a successful call: {calls:?}");
    }
    // Bisecting: [0 1 2 4] fails, [0 1] passes, [2 4] fails, [2] fails twice, [4] passes.
    assert_eq!(calls.len(), 6, "{:?}", calls.iter().map(offsets_in).collect::<Vec<_>>());
    let _ = std::fs::remove_file(invocations);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_partition_has_its_own_batch_in_flight_as_on_lambda() {
    let bootstrap = foodstream_testkit::kafka_bootstrap();
    let topic = foodstream_testkit::unique("esm-partitions");
    let group = foodstream_testkit::unique("esm-partitions-group");
    create_topic_with(&bootstrap, &topic, 2).await;
    let invocations = std::env::temp_dir().join(format!("{}.jsonl", foodstream_testkit::unique("calls")));
    let pool = echo_pool(&invocations, 2);
    let mapping = Mapping { batching_window: Duration::ZERO, ..echo_mapping(&topic, &group) };
    let deliverer = kafka_deliverer(mapping, pool.clone(), None, &bootstrap, Arc::new(|_| {}));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let settings = KafkaPollerSettings { bootstrap: bootstrap.clone(), group_prefix: String::new() };
    let poller =
        tokio::spawn(mappings::run_kafka(deliverer, topic.clone(), group.clone(), settings, stopped));

    // A slow record (its call takes 3 s) on partition 0; once its call has
    // started, a quick one on partition 1, which must not wait behind it.
    let lines = || -> Vec<Value> {
        std::fs::read_to_string(&invocations)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let wait_for = |count: usize| {
        let lines = &lines;
        async move {
            let deadline = Instant::now() + Duration::from_secs(30);
            while lines().len() < count {
                assert!(Instant::now() < deadline, "calls so far: {:?}", lines());
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    let producer: FutureProducer = ClientConfig::new().set("bootstrap.servers", &bootstrap).create().unwrap();
    let send = |partition: i32, value: &'static str| {
        let (producer, topic) = (&producer, &topic);
        async move {
            producer
                .send(
                    FutureRecord::to(topic).partition(partition).key("k").payload(value),
                    Duration::from_secs(10),
                )
                .await
                .map_err(|(e, _)| e)
                .unwrap();
        }
    };
    send(0, "slow").await;
    wait_for(1).await;
    send(1, "quick").await;
    wait_for(3).await;
    stop.send(true).unwrap();
    poller.await.unwrap();
    pool.shutdown().await;
    let partitions: Vec<String> = lines()
        .iter()
        .map(|l| match l["records"].as_object() {
            Some(records) => records.keys().cloned().collect::<Vec<_>>().join(","),
            None => "slow call done".to_string(),
        })
        .collect();
    assert_eq!(
        partitions,
        [format!("{topic}-0"), format!("{topic}-1"), "slow call done".to_string()],
        "partition 1's batch ran while partition 0's was in flight"
    );
    let _ = std::fs::remove_file(invocations);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_older_than_the_maximum_age_goes_to_the_destination_uninvoked() {
    let bootstrap = foodstream_testkit::kafka_bootstrap();
    let aws = foodstream_testkit::config().await;
    let topic = foodstream_testkit::unique("esm-age");
    let group = foodstream_testkit::unique("esm-age-group");
    create_topic(&bootstrap, &topic).await;
    // An hour old, then a fresh one.
    let producer: FutureProducer = ClientConfig::new().set("bootstrap.servers", &bootstrap).create().unwrap();
    let hour_ago = chrono::Utc::now().timestamp_millis() - 3_600_000;
    for (value, timestamp) in [("old", Some(hour_ago)), ("fresh", None)] {
        let mut record = FutureRecord::to(&topic).key("k").payload(value);
        if let Some(at) = timestamp {
            record = record.timestamp(at);
        }
        producer.send(record, Duration::from_secs(10)).await.map_err(|(e, _)| e).unwrap();
    }
    let sqs = aws_sdk_sqs::Client::new(&aws);
    let queue = sqs.create_queue().queue_name(foodstream_testkit::unique("aged")).send().await.unwrap();
    let queue_url = queue.queue_url().unwrap().to_owned();
    let invocations =
        std::env::temp_dir().join(format!("{}.jsonl", foodstream_testkit::unique("aged-calls")));
    let pool = echo_pool(&invocations, 1);
    let mapping = Mapping {
        max_record_age_seconds: 60,
        on_failure: Some("OnFailureQueue".into()),
        ..echo_mapping(&topic, &group)
    };
    let deliverer = kafka_deliverer(
        mapping,
        pool.clone(),
        Some(FailureTarget::Queue { sqs: sqs.clone(), url: queue_url.clone() }),
        &bootstrap,
        Arc::new(|_| {}),
    );
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let settings = KafkaPollerSettings { bootstrap: bootstrap.clone(), group_prefix: String::new() };
    let poller =
        tokio::spawn(mappings::run_kafka(deliverer, topic.clone(), group.clone(), settings, stopped));
    let deadline = Instant::now() + Duration::from_secs(40);
    while committed(&bootstrap, &group, &topic) != Some(2) {
        assert!(Instant::now() < deadline, "offsets not committed past both records");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    stop.send(true).unwrap();
    poller.await.unwrap();
    pool.shutdown().await;

    let records = failure_queue_records(&sqs, &queue_url).await;
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0]["requestContext"]["condition"], "RecordAgeExceeded");
    assert_eq!(records[0]["requestContext"]["approximateInvokeCount"], 0);
    assert_eq!(records[0]["batchInfo"]["startPosition"], "0@0");
    // Only the fresh record reached the function.
    let calls = std::fs::read_to_string(&invocations).unwrap();
    assert_eq!(calls.lines().count(), 1, "{calls}");
    assert!(calls.contains(&STANDARD.encode("fresh")) && !calls.contains(&STANDARD.encode("old")), "{calls}");
    let _ = std::fs::remove_file(invocations);
}

/// `MaximumRecordAgeInSeconds` ends a retry without a count: a record that
/// fails every call is retried until it is older than the age, then goes
/// to the destination, without waiting for a new batch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_retried_without_a_count_expires_to_the_destination_on_a_retry() {
    let aws = foodstream_testkit::config().await;
    let sqs = aws_sdk_sqs::Client::new(&aws);
    let queue = sqs.create_queue().queue_name(foodstream_testkit::unique("expiring")).send().await.unwrap();
    let queue_url = queue.queue_url().unwrap().to_owned();
    let invocations =
        std::env::temp_dir().join(format!("{}.jsonl", foodstream_testkit::unique("expiring-calls")));
    let pool = echo_pool(&invocations, 1);
    let topic = "expiring";
    let mapping = Mapping {
        max_retries: -1,
        max_record_age_seconds: 60,
        on_failure: Some("OnFailureQueue".into()),
        ..echo_mapping(topic, "expiring-group")
    };
    let deliverer = kafka_deliverer(
        mapping,
        pool.clone(),
        Some(FailureTarget::Queue { sqs: sqs.clone(), url: queue_url.clone() }),
        "127.0.0.1:9",
        Arc::new(|_| {}),
    );
    // A poison record (the echo function fails on it), 59.5 s old: young
    // enough for its first call, expired within a few retries.
    let created = chrono::Utc::now().timestamp_millis() - 59_500;
    let message = rdkafka::message::OwnedMessage::new(
        Some(b"poison".to_vec()),
        Some(b"k".to_vec()),
        topic.to_owned(),
        rdkafka::Timestamp::CreateTime(created),
        0,
        7,
        None,
    );
    tokio::time::timeout(Duration::from_secs(30), deliverer.deliver(vec![mappings::kafka_record(&message)]))
        .await
        .expect("a retry without a count ends when the record expires");
    pool.shutdown().await;

    let records = failure_queue_records(&sqs, &queue_url).await;
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0]["requestContext"]["condition"], "RecordAgeExceeded");
    assert!(records[0]["requestContext"]["approximateInvokeCount"].as_i64().unwrap() >= 1, "{records:?}");
    let calls = std::fs::read_to_string(&invocations).unwrap();
    assert!(calls.lines().count() >= 1, "it was invoked before it expired: {calls}");
    let _ = std::fs::remove_file(invocations);
}
