//! Provisioning from `infra/template.yaml` on the emulators: everything the
//! template declares is created, as declared, and a second run changes
//! nothing (what `make up` relies on when it starts again).

use foodstream_local::provision::{Names, provision};
use foodstream_template::Template;
use std::path::Path;

#[tokio::test]
async fn provisioning_creates_what_the_template_declares_once() {
    let template =
        Template::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infra/template.yaml")).unwrap();
    let run = foodstream_testkit::unique("prov").replace('-', "").to_lowercase();
    let names = Names { namespace: run.clone(), topic_prefix: format!("{run}.") };
    let aws = foodstream_testkit::config().await;
    let bootstrap = foodstream_testkit::kafka_bootstrap();

    let first = provision(&template, &names, &aws, &bootstrap).await.unwrap();
    assert_eq!(
        first.created.len(),
        7 + 3 + 2 + 3,
        "7 tables, 3 buckets (photos, failures, access logs), 2 queues (the delivery timer and its dead letters), 3 topics: {:?}",
        first.created
    );
    assert!(first.existing.is_empty(), "{:?}", first.existing);
    let second = provision(&template, &names, &aws, &bootstrap).await.unwrap();
    assert!(second.created.is_empty(), "a second run created {:?}", second.created);
    assert_eq!(second.existing.len(), first.created.len());

    // As declared: the delivery timer's visibility timeout, retention and
    // redrive to its dead-letter queue.
    {
        use aws_sdk_sqs::types::QueueAttributeName as A;
        let sqs = aws_sdk_sqs::Client::new(&aws);
        let url = sqs.get_queue_url().queue_name(names.queue("DeliveryTimerQueue")).send().await.unwrap();
        let out = sqs
            .get_queue_attributes()
            .queue_url(url.queue_url().unwrap())
            .attribute_names(A::All)
            .send()
            .await
            .unwrap();
        let attributes = out.attributes().unwrap();
        assert_eq!(attributes.get(&A::VisibilityTimeout).map(String::as_str), Some("90"));
        assert_eq!(attributes.get(&A::MessageRetentionPeriod).map(String::as_str), Some("345600"));
        let redrive: serde_json::Value =
            serde_json::from_str(attributes.get(&A::RedrivePolicy).unwrap()).unwrap();
        assert_eq!(redrive["maxReceiveCount"].to_string().trim_matches('"'), "5");
        let dead_letters = names.queue("DeliveryTimerDeadLetterQueue");
        assert!(redrive["deadLetterTargetArn"].as_str().unwrap().ends_with(&format!(":{dead_letters}")));
    }

    // As declared: the orders table's keys, indexes and stream; a TTL.
    let dynamodb = aws_sdk_dynamodb::Client::new(&aws);
    let orders = dynamodb.describe_table().table_name(names.table("OrdersTable")).send().await.unwrap();
    let table = orders.table().unwrap();
    assert_eq!(table.key_schema()[0].attribute_name(), "order_id");
    let mut indexes: Vec<&str> =
        table.global_secondary_indexes().iter().filter_map(|i| i.index_name()).collect();
    indexes.sort();
    assert_eq!(indexes, ["by-awaiting-delivery", "by-customer", "by-store", "by-store-status"]);
    let stream = table.stream_specification().unwrap();
    assert!(stream.stream_enabled());
    assert_eq!(stream.stream_view_type().map(|v| v.as_str()), Some("NEW_AND_OLD_IMAGES"));
    let ttl =
        dynamodb.describe_time_to_live().table_name(names.table("IdempotencyTable")).send().await.unwrap();
    let ttl = ttl.time_to_live_description().unwrap();
    assert_eq!(ttl.attribute_name(), Some("expires_at"));

    // The topics with the template's partition count.
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let consumer: BaseConsumer =
        rdkafka::ClientConfig::new().set("bootstrap.servers", &bootstrap).create().unwrap();
    let topic = names.topic("order-events");
    let metadata = consumer.fetch_metadata(Some(&topic), std::time::Duration::from_secs(10)).unwrap();
    assert_eq!(metadata.topics()[0].partitions().len(), 3);
}
