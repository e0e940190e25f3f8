//! Every identifier the local stack hands the functions is in AWS's format,
//! and every ARN names the stack's one account and one region: the MSK
//! event's cluster, the invoked function's ARN, the DynamoDB stream records,
//! the SQS messages, the API Gateway request and the failure records. Read
//! back with a parser of this file's own (split on `:` and `/`), not with
//! the stack's builders. All but the last test run without the emulators;
//! the last one checks that moto answers in the stack's account.

use foodstream_local::gateway::{self, RouteSpec};
use foodstream_local::ids::{self, LOCAL_ACCOUNT_ID, LOCAL_REGION};
use foodstream_local::jwt::Claims;
use foodstream_local::mappings::{self, Failure, Record};
use foodstream_local::queue_mapping;
use foodstream_local::runtime::{FunctionPool, FunctionSpec, InvokeOutcome};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::time::Duration;

/// An ARN by its parts: `arn:aws:<service>:<region>:<account>:<resource>`
/// (the resource keeps its own colons: a function's, a stream label's).
#[derive(Debug)]
struct Arn {
    service: String,
    region: String,
    account: String,
    resource: String,
}

fn arn(text: &str) -> Arn {
    let parts: Vec<&str> = text.splitn(6, ':').collect();
    assert_eq!(parts.len(), 6, "{text}: not an ARN");
    assert_eq!((parts[0], parts[1]), ("arn", "aws"), "{text}: not an ARN of the aws partition");
    assert!(is_region(parts[3]), "{text}: {} is not a region", parts[3]);
    assert!(is_account(parts[4]), "{text}: {} is not an account id", parts[4]);
    assert!(!parts[5].is_empty(), "{text}: no resource");
    Arn {
        service: parts[2].to_owned(),
        region: parts[3].to_owned(),
        account: parts[4].to_owned(),
        resource: parts[5].to_owned(),
    }
}

/// Twelve digits.
fn is_account(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

/// `<area>-<direction>-<n>`: `us-east-1`, `ap-northeast-2`.
fn is_region(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    let letters = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase());
    parts.len() == 3
        && parts[0].len() == 2
        && letters(parts[0])
        && letters(parts[1])
        && !parts[2].is_empty()
        && parts[2].bytes().all(|b| b.is_ascii_digit())
}

fn is_lower_hex(text: &str, len: usize) -> bool {
    text.len() == len && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A version 4 UUID, lower-case and hyphenated.
fn is_uuid_v4(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && [8, 4, 4, 4, 12].iter().zip(&groups).all(|(len, group)| is_lower_hex(group, *len))
        && groups[2].starts_with('4')
        && groups[3].starts_with(['8', '9', 'a', 'b'])
}

/// Digits only, at least one.
fn is_number(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// A name of letters, digits, `-` and `_` (functions, queues, clusters).
fn is_name(text: &str, max: usize) -> bool {
    let allowed = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
    (1..=max).contains(&text.len()) && text.bytes().all(allowed)
}

/// `2026-12-02T17:20:31.123`: a UTC time to the millisecond.
fn is_stream_label(text: &str) -> bool {
    text.len() == 23 && chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.3f").is_ok()
}

/// RFC 3339 in UTC to the millisecond: `2019-11-14T00:38:04.835Z`.
fn is_millis_utc(text: &str) -> bool {
    text.len() == 24 && text.ends_with('Z') && chrono::DateTime::parse_from_rfc3339(text).is_ok()
}

/// RFC 3339 in UTC to the second: `2019-11-14T00:38:04Z`.
fn is_seconds_utc(text: &str) -> bool {
    text.len() == 20 && text.ends_with('Z') && chrono::DateTime::parse_from_rfc3339(text).is_ok()
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or_else(|| panic!("not a string: {value}"))
}

/// `arn:aws:lambda:<region>:<account>:function:<name>`; answers the name.
fn function_name(text: &str) -> String {
    let parsed = arn(text);
    assert_eq!(parsed.service, "lambda", "{text}");
    let name = parsed.resource.strip_prefix("function:").unwrap_or_else(|| panic!("{text}: not a function"));
    assert!(is_name(name, 64), "{text}: {name} is not a function name");
    name.to_owned()
}

/// `arn:aws:kafka:<region>:<account>:cluster/<name>/<uuid>-<n>`; answers the name.
fn cluster_name(text: &str) -> String {
    let parsed = arn(text);
    assert_eq!(parsed.service, "kafka", "{text}");
    let parts: Vec<&str> = parsed.resource.split('/').collect();
    assert_eq!(parts.len(), 3, "{text}: not cluster/<name>/<uuid>-<n>");
    assert_eq!(parts[0], "cluster", "{text}");
    assert!(is_name(parts[1], 64) && parts[1].as_bytes()[0].is_ascii_alphanumeric(), "{text}: cluster name");
    let (uuid, n) = parts[2].rsplit_once('-').unwrap_or_else(|| panic!("{text}: no -<n> after the uuid"));
    assert!(is_uuid_v4(uuid), "{text}: {uuid} is not a UUID");
    assert!(is_number(n), "{text}: {n} is not a number");
    parts[1].to_owned()
}

/// `arn:aws:dynamodb:<region>:<account>:table/<table>/stream/<label>`;
/// answers the table and the label.
fn stream_table_and_label(text: &str) -> (String, String) {
    let parsed = arn(text);
    assert_eq!(parsed.service, "dynamodb", "{text}");
    let (table, label) = parsed
        .resource
        .strip_prefix("table/")
        .and_then(|rest| rest.split_once("/stream/"))
        .unwrap_or_else(|| panic!("{text}: not table/<table>/stream/<label>"));
    assert!(is_name(table, 255) || table.contains('.'), "{text}: table name");
    assert!(is_stream_label(label), "{text}: {label} is not a stream label to the millisecond");
    (table.to_owned(), label.to_owned())
}

/// `arn:aws:sqs:<region>:<account>:<queue>`; answers the queue.
fn queue_name(text: &str) -> String {
    let parsed = arn(text);
    assert_eq!(parsed.service, "sqs", "{text}");
    assert!(is_name(&parsed.resource, 80), "{text}: {} is not a queue name", parsed.resource);
    parsed.resource
}

fn echo_pool() -> FunctionPool {
    FunctionPool::new(FunctionSpec {
        name: "echo".into(),
        binary: PathBuf::from(env!("CARGO_BIN_EXE_local-echo-function")),
        environment: BTreeMap::from([("RUST_LOG".to_string(), "warn".to_string())]),
        timeout: Duration::from_secs(10),
        memory_mb: 128,
        max_instances: 1,
        log_file: None,
        launcher: Vec::new(),
        active_tracing: false,
    })
}

/// Kafka records of `order-events` as the poller reads them: (partition, offset).
fn kafka_batch(positions: &[(i32, i64)]) -> Vec<Record> {
    positions
        .iter()
        .map(|(partition, offset)| {
            let message = rdkafka::message::OwnedMessage::new(
                Some(br#"{"event_type":"OrderPlaced"}"#.to_vec()),
                Some(b"order-1".to_vec()),
                "order-events".into(),
                rdkafka::Timestamp::CreateTime(1_796_000_000_000 + offset),
                *partition,
                *offset,
                None,
            );
            mappings::kafka_record(&message)
        })
        .collect()
}

/// A record as moto's DynamoDB Streams answers it (version 1.0, its own
/// region, `event_id` as given), read by the stack's poller.
fn stream_batch(event_ids: &[Option<&str>], stream_arn: &str) -> Vec<Record> {
    use aws_sdk_dynamodbstreams::types::{AttributeValue, OperationType, StreamViewType};
    event_ids
        .iter()
        .enumerate()
        .map(|(i, event_id)| {
            let change = aws_sdk_dynamodbstreams::types::StreamRecord::builder()
                .approximate_creation_date_time(aws_sdk_dynamodbstreams::primitives::DateTime::from_secs(
                    1_796_000_000 + i as i64,
                ))
                .keys("order_id", AttributeValue::S(format!("order-{i}")))
                .new_image("order_id", AttributeValue::S(format!("order-{i}")))
                .sequence_number(format!("11000000000174544230{:02}", i + 9))
                .size_bytes(42)
                .stream_view_type(StreamViewType::NewAndOldImages)
                .build();
            let mut record = aws_sdk_dynamodbstreams::types::Record::builder()
                .event_name(OperationType::Insert)
                .event_version("1.0")
                .event_source("aws:dynamodb")
                .aws_region("eu-west-1")
                .dynamodb(change);
            if let Some(id) = event_id {
                record = record.event_id(*id);
            }
            mappings::stream_record(&record.build(), "shardId-00000001796000000000-0a1b2c3d", stream_arn)
        })
        .collect()
}

/// The stream's ARN as moto hands it out: microseconds in the label.
const MOTO_STREAM_ARN: &str =
    "arn:aws:dynamodb:us-east-1:123456789012:table/foodstream-local-Orders/stream/2026-12-02T17:20:31.123456";

/// Checks one `aws:dynamodb` record of the stack's events.
fn check_stream_event_record(record: &Value, table: &str) {
    assert_eq!(record["eventVersion"], "1.1", "{record}");
    assert_eq!(record["eventSource"], "aws:dynamodb", "{record}");
    assert_eq!(record["awsRegion"], LOCAL_REGION, "{record}");
    assert!(is_lower_hex(text(&record["eventID"]), 32), "eventID: {record}");
    let (named, _) = stream_table_and_label(text(&record["eventSourceARN"]));
    assert_eq!(named, table, "{record}");
    assert_eq!(arn(text(&record["eventSourceARN"])).region, LOCAL_REGION);
}

#[tokio::test]
async fn the_stack_has_one_account_and_one_region_and_its_clients_use_them() {
    assert!(is_account(LOCAL_ACCOUNT_ID));
    assert_eq!(LOCAL_ACCOUNT_ID, "123456789012", "moto's default account, the one its ARNs carry");
    assert!(is_region(LOCAL_REGION));
    let config = foodstream_aws::emulator_config("http://127.0.0.1:4566").await;
    let region = config.region().map(|r| r.to_string());
    assert_eq!(region.as_deref(), Some(LOCAL_REGION), "the emulator clients' region");
    assert!(
        ids::LOCAL_API_ID.len() == 10
            && ids::LOCAL_API_ID.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()),
        "an HTTP API id is ten lower-case letters and digits"
    );
}

#[test]
fn the_msk_event_names_its_cluster_as_msk_does() {
    let cluster = ids::msk_cluster_name("foodstream-local");
    let cluster_arn = ids::msk_cluster_arn(&cluster);
    assert_eq!(cluster_name(&cluster_arn), "foodstream-local-kafka", "the template's `<stack>-kafka`");
    assert_eq!(ids::msk_cluster_arn(&cluster), cluster_arn, "the same ARN on every run");
    assert_ne!(ids::msk_cluster_arn("other-kafka"), cluster_arn, "another cluster, another UUID");
    // A namespace with characters MSK does not take still names a cluster.
    cluster_name(&ids::msk_cluster_arn(&ids::msk_cluster_name("run.1_x")));

    let event = mappings::kafka_event(&cluster_arn, "127.0.0.1:9092", &kafka_batch(&[(0, 5), (1, 9)]));
    assert_eq!(event["eventSource"], "aws:kafka");
    assert_eq!(event["eventSourceArn"], json!(cluster_arn));
    let arn = arn(text(&event["eventSourceArn"]));
    assert_eq!((arn.account.as_str(), arn.region.as_str()), (LOCAL_ACCOUNT_ID, LOCAL_REGION));
    let groups: BTreeSet<&str> = event["records"].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(groups, BTreeSet::from(["order-events-0", "order-events-1"]), "keyed topic-partition");
}

#[tokio::test]
async fn the_runtime_api_names_the_invoked_function_by_its_arn_and_the_log_stream_as_lambda_does() {
    assert_eq!(function_name(&ids::function_arn("order-outbox-relay")), "order-outbox-relay");
    let pool = echo_pool();
    let report = pool.invoke(b"{}".to_vec()).await;
    let answer: Value = match &report.outcome {
        InvokeOutcome::Response(bytes) => serde_json::from_slice(bytes).unwrap(),
        other => panic!("expected an answer, got {other:?}"),
    };
    pool.shutdown().await;
    let invoked = text(&answer["invoked_function_arn"]);
    assert_eq!(function_name(invoked), "echo", "Lambda-Runtime-Invoked-Function-Arn: {invoked}");
    let parsed = arn(invoked);
    assert_eq!((parsed.account.as_str(), parsed.region.as_str()), (LOCAL_ACCOUNT_ID, LOCAL_REGION));
    assert!(is_uuid_v4(text(&answer["request_id"])), "{answer}");
    // `2026/12/02/[$LATEST]<32 hex digits>`
    let stream = text(&answer["log_stream_name"]);
    let (date, id) = stream.split_once("/[$LATEST]").unwrap_or_else(|| panic!("log stream {stream}"));
    assert!(chrono::NaiveDate::parse_from_str(date, "%Y/%m/%d").is_ok() && date.len() == 10, "{stream}");
    assert!(is_lower_hex(id, 32), "{stream}");
}

#[test]
fn stream_records_carry_version_1_1_the_region_an_event_id_and_the_stream_arn_to_the_millisecond() {
    let event_arn = ids::event_stream_arn(MOTO_STREAM_ARN);
    let (table, label) = stream_table_and_label(&event_arn);
    assert_eq!(table, "foodstream-local-Orders");
    assert_eq!(label, "2026-12-02T17:20:31.123", "moto's label, cut to the millisecond");
    let moto_id = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";
    let batch = stream_batch(&[Some(moto_id), Some("1"), None], &event_arn);
    let event = mappings::stream_event(&batch);
    let records = event["Records"].as_array().unwrap();
    assert_eq!(records.len(), 3);
    for record in records {
        check_stream_event_record(record, &table);
    }
    assert_eq!(records[0]["eventID"], moto_id, "the emulator's id is kept when it has DynamoDB's form");
    let event_ids: BTreeSet<&str> = records.iter().map(|r| text(&r["eventID"])).collect();
    assert_eq!(event_ids.len(), 3, "every record its own id");
}

#[test]
fn sqs_events_name_the_queue_in_the_stack_account_and_region() {
    let queue = "foodstream-local-DeliveryTimerQueue";
    let message = aws_sdk_sqs::types::Message::builder()
        .message_id("059f36b4-87a3-44ab-83d2-661975830a7d")
        .receipt_handle("AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a")
        .body(r#"{"order_id":"o-1"}"#)
        .md5_of_body("e4e68fb7bd0e697a0ae8f1bb342846b3")
        .build();
    let event = queue_mapping::sqs_event(&ids::queue_arn(queue), &[message]);
    let record = &event["Records"][0];
    assert_eq!(record["eventSource"], "aws:sqs");
    assert_eq!(queue_name(text(&record["eventSourceARN"])), queue);
    let parsed = arn(text(&record["eventSourceARN"]));
    assert_eq!((parsed.account.as_str(), parsed.region.as_str()), (LOCAL_ACCOUNT_ID, LOCAL_REGION));
    assert_eq!(record["awsRegion"], LOCAL_REGION);
}

#[test]
fn the_gateway_event_carries_the_stack_account_and_api_gateway_ids() {
    let route = RouteSpec {
        method: "POST".into(),
        path: "/orders/{orderId}/cancel".into(),
        function: "cancel-order".into(),
    };
    let mut headers = axum::http::HeaderMap::new();
    headers.insert("host", axum::http::HeaderValue::from_static("127.0.0.1:3000"));
    let uri: axum::http::Uri = "/orders/o-1/cancel".parse().unwrap();
    let claims = Claims::new("owner-1", "owner", Some("store-1"), 1_796_000_000, 3600);
    let params = HashMap::from([("orderId".to_string(), "o-1".to_string())]);
    let event = gateway::request_event(&route, params, &headers, &uri, b"{}", &claims, "127.0.0.1");
    let event = serde_json::to_value(&event).unwrap();
    let context = &event["requestContext"];
    assert_eq!(context["accountId"], LOCAL_ACCOUNT_ID, "{context}");
    assert_eq!(context["apiId"], ids::LOCAL_API_ID, "{context}");
    assert_eq!(context["domainPrefix"], "127", "the domain name's first label: {context}");
    // `JKJaXmPLvHcESHA=`: 11 bytes in base64.
    let request_id = text(&context["requestId"]);
    use base64::Engine;
    let decoded = base64::engine::general_purpose::STANDARD.decode(request_id);
    assert!(request_id.len() == 16 && request_id.ends_with('='), "requestId {request_id}");
    assert_eq!(decoded.map(|bytes| bytes.len()).ok(), Some(11), "requestId {request_id}");
}

#[test]
fn failure_records_name_the_function_and_the_source_in_aws_formats() {
    let outcome = InvokeOutcome::Error { error_type: "Unhandled".into(), message: "a poison record".into() };
    let at = chrono::Utc::now();

    // MSK: KafkaBatchInfo, per topic-partition.
    let cluster_arn = ids::msk_cluster_arn(&ids::msk_cluster_name("foodstream-local"));
    let batch = kafka_batch(&[(0, 5), (0, 6), (1, 9)]);
    let payload = mappings::kafka_event(&cluster_arn, "127.0.0.1:9092", &batch);
    let failure = Failure {
        function: "delivery-dispatcher",
        source_arn: &cluster_arn,
        request_id: "3c4e8fd0-5a1b-4c2d-9e3f-4a5b6c7d8e9f",
        invokes: 3,
        outcome: &outcome,
        condition: "RetryAttemptsExhausted",
        at,
    };
    let record = mappings::failure_record(&failure, &batch, &payload);
    assert_eq!(function_name(text(&record["requestContext"]["functionArn"])), "delivery-dispatcher");
    assert_eq!(record["requestContext"]["approximateInvokeCount"], 3);
    assert_eq!(record["version"], "1.0");
    assert!(is_millis_utc(text(&record["timestamp"])), "{record}");
    let info = &record["KafkaBatchInfo"];
    assert_eq!(cluster_name(text(&info["eventSourceArn"])), "foodstream-local-kafka");
    assert_eq!(info["batchSize"], 3);
    assert_eq!(info["bootstrapServers"], "127.0.0.1:9092");
    assert_eq!(info["payloadSize"], json!(serde_json::to_vec(&payload).unwrap().len()));
    let partition = &info["recordsInfo"]["order-events-0"];
    assert_eq!((&partition["firstRecordOffset"], &partition["lastRecordOffset"]), (&json!("5"), &json!("6")));
    assert!(is_millis_utc(text(&partition["firstRecordTimestamp"])), "{partition}");
    assert!(is_millis_utc(text(&partition["lastRecordTimestamp"])), "{partition}");
    assert_eq!(info["recordsInfo"]["order-events-1"]["firstRecordOffset"], "9");
    assert_eq!(record["batchInfo"]["source"], "order-events-0", "the stack's own block stays");

    // A DynamoDB stream: DDBStreamBatchInfo.
    let stream_arn = ids::event_stream_arn(MOTO_STREAM_ARN);
    let batch = stream_batch(&[None, None], &stream_arn);
    let payload = mappings::stream_event(&batch);
    let failure = Failure {
        function: "order-outbox-relay",
        source_arn: &stream_arn,
        condition: "RecordAgeExceeded",
        ..failure
    };
    let record = mappings::failure_record(&failure, &batch, &payload);
    assert_eq!(function_name(text(&record["requestContext"]["functionArn"])), "order-outbox-relay");
    let info = &record["DDBStreamBatchInfo"];
    assert_eq!(info["streamArn"], json!(stream_arn));
    stream_table_and_label(text(&info["streamArn"]));
    assert!(text(&info["shardId"]).starts_with("shardId-"), "{info}");
    assert!(is_number(text(&info["startSequenceNumber"])), "{info}");
    assert!(is_number(text(&info["endSequenceNumber"])), "{info}");
    assert!(is_seconds_utc(text(&info["approximateArrivalOfFirstRecord"])), "{info}");
    assert!(is_seconds_utc(text(&info["approximateArrivalOfLastRecord"])), "{info}");
    assert_eq!(info["batchSize"], 2);
    assert!(record.get("KafkaBatchInfo").is_none());
}

#[test]
fn every_arn_in_the_events_and_failure_records_names_one_account_and_one_region() {
    let stream_arn = ids::event_stream_arn(MOTO_STREAM_ARN);
    let cluster_arn = ids::msk_cluster_arn(&ids::msk_cluster_name("foodstream-local"));
    let outcome = InvokeOutcome::TimedOut { after: Duration::from_secs(30) };
    let failure = Failure {
        function: "notifier",
        source_arn: &cluster_arn,
        request_id: "3c4e8fd0-5a1b-4c2d-9e3f-4a5b6c7d8e9f",
        invokes: 1,
        outcome: &outcome,
        condition: "RetryAttemptsExhausted",
        at: chrono::Utc::now(),
    };
    let kafka = kafka_batch(&[(2, 1)]);
    let kafka_payload = mappings::kafka_event(&cluster_arn, "127.0.0.1:9092", &kafka);
    let kafka_failure = mappings::failure_record(&failure, &kafka, &kafka_payload);
    let stream = stream_batch(&[None], &stream_arn);
    let stream_event = mappings::stream_event(&stream);
    let message = aws_sdk_sqs::types::Message::builder().message_id("m-1").body("{}").build();
    let timer_queue = ids::queue_arn("foodstream-local-DeliveryTimerQueue");
    let sqs_event = queue_mapping::sqs_event(&timer_queue, &[message]);
    let arns = [
        cluster_arn,
        stream_arn,
        text(&kafka_failure["requestContext"]["functionArn"]).to_owned(),
        text(&kafka_failure["KafkaBatchInfo"]["eventSourceArn"]).to_owned(),
        text(&stream_event["Records"][0]["eventSourceARN"]).to_owned(),
        text(&sqs_event["Records"][0]["eventSourceARN"]).to_owned(),
    ];
    let parsed: Vec<Arn> = arns.iter().map(|a| arn(a.as_str())).collect();
    let accounts: BTreeSet<&str> = parsed.iter().map(|a| a.account.as_str()).collect();
    let regions: BTreeSet<&str> = parsed.iter().map(|a| a.region.as_str()).collect();
    assert_eq!(accounts, BTreeSet::from([LOCAL_ACCOUNT_ID]), "{arns:#?}");
    assert_eq!(regions, BTreeSet::from([LOCAL_REGION]), "{arns:#?}");
    let services: BTreeSet<&str> = parsed.iter().map(|a| a.service.as_str()).collect();
    assert_eq!(services, BTreeSet::from(["dynamodb", "kafka", "lambda", "sqs"]));
}

/// Against moto (`make test` starts it): the ARNs and queue URLs moto hands
/// out carry the stack's account, and a record read from a real stream
/// comes out as the stack hands it on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_answers_in_the_stack_account_and_its_stream_records_come_out_in_aws_formats() {
    let config = foodstream_testkit::config().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    let table = foodstream_testkit::tables(&dynamodb, &[foodstream_aws::schema::ORDERS]).await.remove(0);
    let described = dynamodb.describe_table().table_name(&table).send().await.unwrap();
    let moto_arn = described
        .table()
        .and_then(|t| t.latest_stream_arn())
        .expect("the orders table has a stream")
        .to_owned();
    let moto = arn(&moto_arn);
    assert_eq!(moto.account, LOCAL_ACCOUNT_ID, "moto's account is the stack's: {moto_arn}");
    assert_eq!(moto.region, LOCAL_REGION, "{moto_arn}");
    let event_arn = ids::event_stream_arn(&moto_arn);
    let (named, label) = stream_table_and_label(&event_arn);
    assert_eq!(named, table);
    let moto_label = moto_arn.rsplit_once("/stream/").map(|(_, l)| l.to_owned()).unwrap();
    assert_eq!(moto_label[..19], label[..19], "the same creation time: {moto_arn} and {event_arn}");

    dynamodb
        .put_item()
        .table_name(&table)
        .item("order_id", aws_sdk_dynamodb::types::AttributeValue::S("order-1".into()))
        .send()
        .await
        .unwrap();
    let streams = aws_sdk_dynamodbstreams::Client::new(&config);
    let description = streams.describe_stream().stream_arn(&moto_arn).send().await.unwrap();
    let shard = description
        .stream_description()
        .and_then(|d| d.shards().first())
        .and_then(|s| s.shard_id())
        .expect("the stream has a shard")
        .to_owned();
    let iterator = streams
        .get_shard_iterator()
        .stream_arn(&moto_arn)
        .shard_id(&shard)
        .shard_iterator_type(aws_sdk_dynamodbstreams::types::ShardIteratorType::TrimHorizon)
        .send()
        .await
        .unwrap()
        .shard_iterator()
        .expect("an iterator")
        .to_owned();
    let read = streams.get_records().shard_iterator(iterator).send().await.unwrap();
    let first = read.records().first().expect("the put is on the stream");
    let event = mappings::stream_event(&[mappings::stream_record(first, &shard, &event_arn)]);
    check_stream_event_record(&event["Records"][0], &table);

    let sqs = aws_sdk_sqs::Client::new(&config);
    let queue = foodstream_testkit::unique("ids");
    let url = sqs.create_queue().queue_name(&queue).send().await.unwrap().queue_url().unwrap().to_owned();
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap();
    let queue_arn = attributes
        .attributes()
        .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
        .expect("the queue's ARN")
        .clone();
    sqs.delete_queue().queue_url(&url).send().await.unwrap();
    assert_eq!(queue_arn, ids::queue_arn(&queue), "moto's ARN of the queue is the one the events carry");
    assert_eq!(queue_name(&queue_arn), queue);
    assert_eq!(url.rsplit('/').nth(1), Some(LOCAL_ACCOUNT_ID), "the queue URL's account: {url}");
}

proptest::proptest! {
    /// Whatever ARN the emulator answers, rewriting it into the stack's
    /// format never panics, and a second rewrite changes nothing.
    #[test]
    fn any_emulator_stream_arn_is_rewritten_without_panic_and_once_for_all(
        arn in "(arn:aws:dynamodb:[a-z0-9-]{0,12}:[0-9]{0,12}:table/[A-Za-z0-9._-]{0,20}/stream/)?\\PC{0,40}",
    ) {
        let once = ids::event_stream_arn(&arn);
        proptest::prop_assert_eq!(ids::event_stream_arn(&once), once);
    }
}
