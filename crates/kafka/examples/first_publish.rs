//! Times a fresh producer's first and second publish against the broker at
//! KAFKA_BOOTSTRAP_SERVERS (default 127.0.0.1:9092), as a cold-started
//! function does them: `cargo run -p foodstream-kafka --example
//! first_publish [warm]`. With `warm`, the producer is readied first
//! (`KafkaPublisher::ready`), as the functions do during init.
//! `RDKAFKA_DEBUG=eos,metadata,broker` shows librdkafka's own timeline.

use foodstream_domain::ports::{EventPublisher, OutgoingMessage};
use foodstream_kafka::{Bootstrap, KafkaPublisher, KafkaSettings};
use std::time::Instant;

#[tokio::main]
async fn main() {
    let warm = std::env::args().any(|a| a == "warm");
    let servers = std::env::var("KAFKA_BOOTSTRAP_SERVERS")
        .unwrap_or_else(|_| foodstream_config::emulators::KAFKA_BOOTSTRAP_SERVERS.into());
    let settings = KafkaSettings {
        message_timeout_ms: 10_000,
        idempotence: std::env::var("IDEMPOTENCE").map(|v| v != "false").unwrap_or(true),
        client_id: "first-publish".into(),
        topic_prefix: std::env::var("TOPIC_PREFIX").unwrap_or_default(),
    };
    let started = Instant::now();
    let publisher = KafkaPublisher::new(&Bootstrap::Plaintext(servers), &settings, None).unwrap();
    println!("created in {:?}", started.elapsed());
    if warm {
        let at = Instant::now();
        publisher.ready(&["order-events"], std::time::Duration::from_secs(5)).await.unwrap();
        println!("ready in {:?}", at.elapsed());
    }
    for attempt in ["first", "second", "third"] {
        let message = OutgoingMessage {
            topic: "order-events",
            key: "first-publish".into(),
            event_id: format!("first-publish-{attempt}"),
            payload: b"{}".to_vec(),
            trace: None,
        };
        let at = Instant::now();
        publisher.publish(&[message]).await.unwrap();
        println!("{attempt} publish in {:?}", at.elapsed());
    }
}
