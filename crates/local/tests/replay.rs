//! A failure record, replayed: a consumer's dependency fails past every
//! retry, the mapping writes the batch to the failure bucket with its
//! payload, the cause goes away, `foodstream-ops replay` re-drives the
//! record, and the work is done exactly once, however often it is replayed.
//! And the records the consumers park themselves, in the same bucket and
//! shape: kept whole whatever their size, listed and re-driven alike.

mod support;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use foodstream_aws::S3DeadLetters;
use foodstream_domain::ports::{DeadLetter, DeadLetters};
use foodstream_harness::api::Route;
use foodstream_local::runtime::Sabotage;
use std::time::Duration;
use support::{Operator, Settings, Shop, TestStack};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_batch_that_failed_past_its_retries_is_replayed_and_applied_exactly_once() {
    let t = TestStack::start(Settings::new("replay")).await;
    let shop = Shop::open(&t, 10, 1).await;
    let customer = t.token(&format!("customer-{}", t.run), "customer", None);
    // The notifier's dependency is down for its first call and the 5
    // retries the template allows.
    let notifier = t.stack.pool("notifier").unwrap();
    for _ in 0..6 {
        notifier.sabotage_next(Sabotage::Refuse).await;
    }
    t.expect(&customer, Route::PlaceOrder, Some(shop.order(1)), 201).await;
    let failed = t.failure_bucket(Duration::from_secs(60), |records| !records.is_empty()).await;
    assert_eq!(failed.len(), 1, "{}", t.recent_activity(30));
    assert_eq!(failed[0]["requestContext"]["approximateInvokeCount"], 6);
    assert_eq!(failed[0]["payload"]["eventSource"], "aws:kafka");
    assert!(
        t.list_all(&customer, &Route::ListMyNotifications.path()).await.is_empty(),
        "nothing notified yet"
    );

    // The dependency is back (the sabotage is used up): replay, twice.
    let Operator { s3, sqs, publisher } =
        Operator::new(&foodstream_testkit::kafka_bootstrap(), &t.topic_prefix).await;
    let bucket = t.stack.failure_bucket.clone().unwrap();
    let listed = foodstream_ops::list(&s3, &bucket).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].function_arn.ends_with(":notifier"), "{:?}", listed[0]);
    let first = foodstream_ops::replay(&s3, &bucket, &listed[0].key, &publisher, &sqs, true).await.unwrap();
    assert_eq!(first.produced, 1, "the one OrderPlaced record");
    let second = foodstream_ops::replay(&s3, &bucket, &listed[0].key, &publisher, &sqs, false).await.unwrap();
    assert_eq!(second.produced, 1);
    assert!(
        foodstream_ops::list(&s3, &bucket).await.unwrap().is_empty(),
        "a replayed record leaves the bucket"
    );

    // PAID, on both channels, once.
    t.wait_until(&customer, &Route::ListMyNotifications.path(), Duration::from_secs(30), |page| {
        page["items"].as_array().unwrap().len() >= 2
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let notifications = t.list_all(&customer, &Route::ListMyNotifications.path()).await;
    assert_eq!(notifications.len(), 2, "{notifications:?}");
    assert!(notifications.iter().all(|n| n["status"] == "PAID"), "{notifications:?}");
    t.stop().await;
}

// The orders stream's relay retries until the stream drops a record, so
// its failure records come only from records that expired: a replay runs
// the relay's logic again on the record's payload.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_failure_record_is_relayed_again_to_order_events() {
    use rdkafka::Message;
    use rdkafka::config::ClientConfig;
    use rdkafka::consumer::{Consumer, StreamConsumer};
    let prefix = format!("{}.", foodstream_testkit::unique("replay"));
    let bootstrap = foodstream_testkit::kafka_bootstrap();
    let Operator { s3, sqs, publisher } = Operator::new(&bootstrap, &prefix).await;
    let bucket = foodstream_testkit::unique("failures").to_lowercase();
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let payload: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(support::workspace().join("events/order-outbox-relay.json")).unwrap(),
    )
    .unwrap();
    let record = serde_json::json!({
        "requestContext": {"condition": "RecordAgeExceeded", "functionArn": "arn:aws:lambda:us-east-1:000000000000:function:order-outbox-relay"},
        "timestamp": "2026-11-29T00:00:00.000Z",
        "batchInfo": {"batchSize": 1, "source": "shard-1"},
        "payload": payload,
    });
    s3.put_object()
        .bucket(&bucket)
        .key("aws/lambda/relay.json")
        .body(record.to_string().into_bytes().into())
        .send()
        .await
        .unwrap();

    let done =
        foodstream_ops::replay(&s3, &bucket, "aws/lambda/relay.json", &publisher, &sqs, false).await.unwrap();
    assert_eq!(done.relayed, 1);

    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("group.id", foodstream_testkit::unique("replay-reader"))
        .set("auto.offset.reset", "earliest")
        .set("group.protocol", "classic")
        .set("session.timeout.ms", "6000")
        .create()
        .unwrap();
    consumer.subscribe(&[&format!("{prefix}order-events")]).unwrap();
    let message =
        tokio::time::timeout(Duration::from_secs(30), consumer.recv()).await.expect("an event").unwrap();
    let event: serde_json::Value = serde_json::from_slice(message.payload().unwrap()).unwrap();
    assert_eq!(event["event_type"], "OrderPlaced", "{event}");
}

/// An `aws:kafka` event of one record, as a consumer parks it: the record
/// under its `topic-partition`, key and value in base64.
fn kafka_batch(topic: &str, offset: i64, key: &str, value: &[u8]) -> serde_json::Value {
    let record = serde_json::json!({
        "topic": topic, "partition": 0, "offset": offset, "timestamp": 1795608000000_i64,
        "timestampType": "CREATE_TIME", "key": STANDARD.encode(key), "value": STANDARD.encode(value),
        "headers": [{"event_id": [101, 49]}],
    });
    let mut records = serde_json::Map::new();
    records.insert(format!("{topic}-0"), serde_json::json!([record]));
    serde_json::json!({"eventSource": "aws:kafka", "records": records})
}

/// A fresh bucket on the emulator, and its client.
async fn failure_bucket(label: &str) -> (aws_sdk_s3::Client, String) {
    let config = foodstream_testkit::config().await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config).force_path_style(true).build(),
    );
    let bucket = foodstream_testkit::unique(label).to_lowercase();
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    (s3, bucket)
}

/// A record over the 256 KiB an SQS message holds is parked whole: one
/// object under `parked/`, in the shape of Lambda's failure records, its
/// payload the record's batch as it was.
#[tokio::test]
async fn a_record_larger_than_an_sqs_message_is_parked_whole_in_the_failure_bucket() {
    let config = foodstream_testkit::config().await;
    let (s3, bucket) = failure_bucket("parkedlarge").await;
    let letters = S3DeadLetters::new(&config, s3.clone(), &bucket);
    let payload = kafka_batch("log-events", 42, "user-1", "x".repeat(300 * 1024).as_bytes());
    assert!(payload.to_string().len() > 256 * 1024);
    let letter = DeadLetter {
        consumer: "log-collector".into(),
        source: "log-events-0@42".into(),
        reason: "not JSON".into(),
        record: payload.clone(),
    };
    letters.park(&letter).await.unwrap();

    let listed = foodstream_ops::list(&s3, &bucket).await.unwrap();
    assert_eq!(listed.len(), 1);
    let parked = &listed[0];
    // parked/<consumer>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<uuid>
    let parts: Vec<&str> = parked.key.split('/').collect();
    assert_eq!(parts[..2], ["parked", "log-collector"], "{}", parked.key);
    assert_eq!(parts.len(), 6, "{}", parked.key);
    assert!(parts[5].starts_with(&format!("{}-{}-{}T", parts[2], parts[3], parts[4])), "{}", parked.key);
    assert_eq!(
        (parked.condition.as_str(), parked.source.as_str(), parked.batch_size),
        ("Unprocessable", "log-events-0@42", 1)
    );
    assert_eq!((parked.parked_by.as_str(), parked.reason.as_str()), ("log-collector", "not JSON"));
    assert!(parked.function_arn.ends_with(":function:log-collector"), "{}", parked.function_arn);
    assert_eq!(parked.payload, payload, "the payload, whole");
    let head = s3.head_object().bucket(&bucket).key(&parked.key).send().await.unwrap();
    assert!(head.content_length().unwrap() > 256 * 1024, "{head:?}");
}

/// `make replay` re-drives what the consumers parked as it does the
/// mappings' records: a Kafka record produced again to its topic as it was,
/// a delivery timer message sent again to its queue; then both leave the
/// bucket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parked_kafka_record_and_a_parked_sqs_message_are_re_driven() {
    use rdkafka::Message;
    use rdkafka::config::ClientConfig;
    use rdkafka::consumer::{Consumer, StreamConsumer};
    use rdkafka::message::Headers;
    let config = foodstream_testkit::config().await;
    let (s3, bucket) = failure_bucket("parkedreplay").await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let letters = S3DeadLetters::new(&config, s3.clone(), &bucket);

    let topic = format!("{}.log-events", foodstream_testkit::unique("parked"));
    letters
        .park(&DeadLetter {
            consumer: "log-collector".into(),
            source: format!("{topic}-0@7"),
            reason: "an order that does not exist yet".into(),
            record: kafka_batch(&topic, 7, "user-1", br#"{"event_type": "NotificationProduced"}"#),
        })
        .await
        .unwrap();
    let queue = foodstream_testkit::unique("parkedtimer");
    let url = sqs.create_queue().queue_name(&queue).send().await.unwrap().queue_url().unwrap().to_owned();
    let body = r#"{"delivery_id": "o-1#3", "completes_at": "2026-11-25T12:00:01Z"}"#;
    letters
        .park(&DeadLetter {
            consumer: "delivery-completer".into(),
            source: "message m-1".into(),
            reason: "no such delivery".into(),
            record: serde_json::json!({"Records": [{
                "messageId": "m-1", "body": body, "eventSource": "aws:sqs",
                "eventSourceARN": format!("arn:aws:sqs:us-east-1:123456789012:{queue}"),
                "awsRegion": "us-east-1", "attributes": {}, "messageAttributes": {},
            }]}),
        })
        .await
        .unwrap();

    let listed = foodstream_ops::list(&s3, &bucket).await.unwrap();
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert!(listed.iter().all(|r| r.condition == "Unprocessable" && r.key.starts_with("parked/")));
    let parked_by = |consumer: &str| listed.iter().find(|r| r.parked_by == consumer).unwrap().key.clone();
    let bootstrap = foodstream_testkit::kafka_bootstrap();
    let publisher = Operator::new(&bootstrap, "").await.publisher;
    let redrive = async |consumer: &str| {
        foodstream_ops::replay(&s3, &bucket, &parked_by(consumer), &publisher, &sqs, false).await.unwrap()
    };
    let kafka = redrive("log-collector").await;
    assert_eq!((kafka.produced, kafka.relayed, kafka.resent), (1, 0, 0));
    let timer = redrive("delivery-completer").await;
    assert_eq!((timer.produced, timer.relayed, timer.resent), (0, 0, 1));
    let left = foodstream_ops::list(&s3, &bucket).await.unwrap();
    assert!(left.is_empty(), "re-driven records leave the bucket: {left:?}");

    // The message, on its queue again, as it was.
    let received = sqs.receive_message().queue_url(&url).wait_time_seconds(5).send().await.unwrap();
    let bodies: Vec<&str> = received.messages().iter().filter_map(|m| m.body()).collect();
    assert_eq!(bodies, [body]);
    // The record, on its topic again, as it was.
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("group.id", foodstream_testkit::unique("parked-reader"))
        .set("auto.offset.reset", "earliest")
        .set("group.protocol", "classic")
        .set("session.timeout.ms", "6000")
        .create()
        .unwrap();
    consumer.subscribe(&[&topic]).unwrap();
    let message =
        tokio::time::timeout(Duration::from_secs(30), consumer.recv()).await.expect("a record").unwrap();
    assert_eq!(message.key(), Some(&b"user-1"[..]));
    assert_eq!(message.payload(), Some(&br#"{"event_type": "NotificationProduced"}"#[..]));
    let header = message.headers().unwrap().iter().find(|h| h.key == "event_id").unwrap();
    assert_eq!(header.value, Some(&b"e1"[..]));
}

/// `make replay` on a bucket of any size: 10,000 failure records and one
/// object that is not one, walked a page at a time (never held whole), each
/// record read alone, the stray reported and skipped. Prints the process's
/// peak resident memory before and after (a figure, not a bound).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_bucket_of_ten_thousand_records_and_a_stray_is_walked_a_page_at_a_time() {
    use futures::StreamExt;
    const RECORDS: usize = 10_000;
    let config = foodstream_testkit::config().await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config).force_path_style(true).build(),
    );
    let bucket = foodstream_testkit::unique("replayscale").to_lowercase();
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let record = |i: usize| {
        serde_json::json!({
            "requestContext": {"condition": "RetryAttemptsExhausted", "functionArn": "arn:aws:lambda:us-east-1:000000000000:function:notifier", "approximateInvokeCount": 6},
            "timestamp": "2026-12-02T00:00:00.000Z",
            "batchInfo": {"source": format!("order-events-0@{i}"), "batchSize": 1},
            "payload": {"eventSource": "aws:kafka", "records": {}},
        })
        .to_string()
    };
    futures::stream::iter(0..RECORDS)
        .map(|i| {
            let (s3, bucket, body) = (&s3, &bucket, record(i));
            async move {
                s3.put_object()
                    .bucket(bucket)
                    .key(format!("aws/lambda/{i:05}.json"))
                    .body(body.into_bytes().into())
                    .send()
                    .await
                    .unwrap()
            }
        })
        .buffer_unordered(32)
        .collect::<Vec<_>>()
        .await;
    s3.put_object()
        .bucket(&bucket)
        .key("README.txt")
        .body(b"not a record".to_vec().into())
        .send()
        .await
        .unwrap();

    let before = peak_rss_kib();
    let (mut records, mut strays) = (0, Vec::new());
    let visited = foodstream_ops::each_key(&s3, &bucket, async |key| {
        match foodstream_ops::read(&s3, &bucket, key).await {
            Ok(_) => records += 1,
            Err(foodstream_ops::ReplayError::NotARecord { key, .. }) => strays.push(key),
            Err(other) => return Err(other),
        }
        Ok(())
    })
    .await
    .unwrap();
    let after = peak_rss_kib();
    println!("replay walk of {visited} objects: peak RSS {before} KiB before, {after} KiB after");
    assert_eq!((visited, records, strays), (RECORDS + 1, RECORDS, vec!["README.txt".to_owned()]));

    // Empty the bucket for the emulator's sake, a thousand keys a call.
    let mut keys = Vec::new();
    foodstream_ops::each_key(&s3, &bucket, async |key| {
        keys.push(key.to_owned());
        Ok(())
    })
    .await
    .unwrap();
    for chunk in keys.chunks(1000) {
        let objects = chunk
            .iter()
            .map(|k| aws_sdk_s3::types::ObjectIdentifier::builder().key(k).build().unwrap())
            .collect();
        let delete = aws_sdk_s3::types::Delete::builder().set_objects(Some(objects)).build().unwrap();
        s3.delete_objects().bucket(&bucket).delete(delete).send().await.unwrap();
    }
}

/// The process's peak resident set (`VmHWM`), in KiB.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The delivery timer's dead-letter queue re-driven: every message back on
/// the timer queue once, the dead-letter queue empty.
#[tokio::test]
async fn the_timer_dead_letter_queue_is_moved_back_to_the_timer_queue() {
    let sqs = aws_sdk_sqs::Client::new(&foodstream_testkit::config().await);
    let name = foodstream_testkit::unique("timer");
    let dlq = sqs.create_queue().queue_name(format!("{name}-dlq")).send().await.unwrap();
    let dlq = dlq.queue_url().unwrap().to_owned();
    let timer = sqs.create_queue().queue_name(&name).send().await.unwrap();
    let timer = timer.queue_url().unwrap().to_owned();
    let bodies: Vec<String> = (0..12).map(|i| format!(r#"{{"delivery_id": "o-{i}#3"}}"#)).collect();
    for body in &bodies {
        sqs.send_message().queue_url(&dlq).message_body(body).send().await.unwrap();
    }
    assert_eq!(foodstream_ops::waiting(&sqs, &dlq).await.unwrap(), 12);
    // By name, as `make replay` passes it.
    let from = foodstream_ops::queue_url(&sqs, &format!("{name}-dlq")).await.unwrap();
    let moved = foodstream_ops::redrive_queue(&sqs, &from, &timer, 100).await.unwrap();
    assert_eq!(moved.moved, 12);
    assert_eq!(foodstream_ops::waiting(&sqs, &dlq).await.unwrap(), 0);
    let mut back = Vec::new();
    while back.len() < 12 {
        let out = sqs.receive_message().queue_url(&timer).max_number_of_messages(10).send().await.unwrap();
        assert!(!out.messages().is_empty(), "only {} came back", back.len());
        back.extend(out.messages().iter().map(|m| m.body().unwrap().to_owned()));
    }
    back.sort();
    let mut expected = bodies.clone();
    expected.sort();
    assert_eq!(back, expected, "each message once, unchanged");
    // A bound stops it early.
    sqs.send_message().queue_url(&dlq).message_body("a").send().await.unwrap();
    sqs.send_message().queue_url(&dlq).message_body("b").send().await.unwrap();
    assert_eq!(foodstream_ops::redrive_queue(&sqs, &dlq, &timer, 1).await.unwrap().moved, 1);
}
