//! Produce with the real publisher to the real broker (Tansu, or any
//! Kafka-protocol broker at KAFKA_BOOTSTRAP_SERVERS) and consume with two
//! consumer groups: both see every message, in order per key, with the
//! event id header and, when the message has one, its trace.

use foodstream_domain::ports::{EventPublisher, OutgoingMessage};
use foodstream_domain::trace::TraceParent;
use foodstream_kafka::{Bootstrap, KafkaPublisher, KafkaSettings};
use rdkafka::ClientConfig;
use rdkafka::Message;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::Headers;
use std::collections::HashMap;
use std::time::Duration;

fn bootstrap() -> String {
    std::env::var("KAFKA_BOOTSTRAP_SERVERS")
        .unwrap_or_else(|_| foodstream_config::emulators::KAFKA_BOOTSTRAP_SERVERS.into())
}

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{prefix}-{nanos}")
}

async fn create_topic(topic: &str, partitions: i32) {
    let admin: AdminClient<_> = ClientConfig::new().set("bootstrap.servers", bootstrap()).create().unwrap();
    let results = admin
        .create_topics(&[NewTopic::new(topic, partitions, TopicReplication::Fixed(1))], &AdminOptions::new())
        .await
        .expect("the broker answers: run `scripts/emulators.sh up` (make test does)");
    for result in results {
        result.unwrap();
    }
}

/// Reads `count` messages with `group` (our consumer properties: the
/// classic protocol, as Tansu needs).
async fn consume(topic: &str, group: &str, count: usize) -> Vec<(String, String, String, Option<String>)> {
    let mut config = ClientConfig::new();
    for (key, value) in foodstream_kafka::consumer_properties() {
        config.set(key, value);
    }
    let consumer: StreamConsumer = config
        .set("bootstrap.servers", bootstrap())
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    consumer.subscribe(&[topic]).unwrap();
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while out.len() < count {
        let message = tokio::time::timeout_at(deadline, consumer.recv())
            .await
            .unwrap_or_else(|_| panic!("{group}: only {} of {count} messages within 60 s", out.len()))
            .unwrap();
        let key = String::from_utf8(message.key().unwrap().to_vec()).unwrap();
        let value = String::from_utf8(message.payload().unwrap().to_vec()).unwrap();
        let headers = message.headers().unwrap();
        let header = |name: &str| {
            (0..headers.count())
                .map(|i| headers.get(i))
                .find(|h| h.key == name)
                .and_then(|h| h.value)
                .map(|v| String::from_utf8(v.to_vec()).unwrap())
        };
        out.push((key, value, header("event_id").unwrap(), header("traceparent")));
    }
    consumer.commit_consumer_state(rdkafka::consumer::CommitMode::Sync).ok();
    out
}

#[tokio::test]
async fn published_events_reach_two_consumer_groups_in_order_per_key() {
    let topic = unique("it-order-events");
    create_topic(&topic, 3).await;
    let leaked: &'static str = Box::leak(topic.clone().into_boxed_str());
    let settings = KafkaSettings {
        message_timeout_ms: 10_000,
        idempotence: true,
        client_id: "it".into(),
        topic_prefix: String::new(),
    };
    let publisher = KafkaPublisher::new(&Bootstrap::Plaintext(bootstrap()), &settings, None).unwrap();
    let trace = TraceParent::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
    let messages: Vec<OutgoingMessage> = (0..30)
        .map(|i| {
            OutgoingMessage {
                topic: leaked,
                key: format!("order-{}", i % 4),
                event_id: format!("order-{}:v{}", i % 4, i / 4 + 1),
                payload: format!("{{\"seq\":{i}}}").into_bytes(),
                trace: None,
            }
            .traced((i % 2 == 1).then_some(&trace))
        })
        .collect();
    publisher.publish(&messages[..10]).await.unwrap();
    publisher.publish(&messages[10..]).await.unwrap();

    for group in [unique("delivery"), unique("message")] {
        let got = consume(&topic, &group, messages.len()).await;
        assert_eq!(got.len(), 30, "{group}");
        let mut per_key: HashMap<String, Vec<i64>> = HashMap::new();
        for (key, value, event_id, traceparent) in &got {
            let seq: serde_json::Value = serde_json::from_str(value).unwrap();
            let seq = seq["seq"].as_i64().unwrap();
            assert_eq!(event_id, &format!("order-{}:v{}", seq % 4, seq / 4 + 1));
            let expected = (seq % 2 == 1).then(|| trace.to_string());
            assert_eq!(traceparent, &expected, "{group}: the trace header of message {seq}");
            per_key.entry(key.clone()).or_default().push(seq);
        }
        for (key, seqs) in per_key {
            let mut sorted = seqs.clone();
            sorted.sort();
            assert_eq!(seqs, sorted, "{group}: {key} out of order");
        }
    }
}

#[tokio::test]
async fn publishing_to_an_unreachable_broker_fails_instead_of_hanging() {
    let settings = KafkaSettings {
        message_timeout_ms: 1500,
        idempotence: true,
        client_id: "it".into(),
        topic_prefix: String::new(),
    };
    let publisher =
        KafkaPublisher::new(&Bootstrap::Plaintext("127.0.0.1:1".into()), &settings, None).unwrap();
    let message = OutgoingMessage {
        topic: "order-events",
        key: "k".into(),
        event_id: "e".into(),
        payload: b"{}".to_vec(),
        trace: None,
    };
    let started = std::time::Instant::now();
    assert!(publisher.publish(&[message]).await.is_err());
    assert!(started.elapsed() < Duration::from_secs(10));
}

/// What the producing functions do during init: a reachable broker readies
/// the producer; an unreachable one is an error (logged by `from_env`,
/// which starts the function anyway), never a hang past the budget.
#[tokio::test]
async fn readying_a_producer_at_init_succeeds_against_the_broker_and_fails_cleanly_without_one() {
    let settings = KafkaSettings {
        message_timeout_ms: 10_000,
        idempotence: true,
        client_id: "it".into(),
        topic_prefix: String::new(),
    };
    let topic = unique("it-ready");
    create_topic(&topic, 1).await;
    let publisher = KafkaPublisher::new(&Bootstrap::Plaintext(bootstrap()), &settings, None).unwrap();
    publisher.ready(&[topic.as_str()], Duration::from_secs(10)).await.unwrap();

    let nowhere = KafkaPublisher::new(&Bootstrap::Plaintext("127.0.0.1:1".into()), &settings, None).unwrap();
    let outcome = tokio::time::timeout(
        Duration::from_secs(30),
        nowhere.ready(&["order-events"], Duration::from_secs(1)),
    )
    .await;
    assert!(matches!(outcome, Ok(Err(_))), "{outcome:?}");
}
