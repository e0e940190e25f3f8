//! Poison records parked by the consumers themselves in the stack's failure
//! bucket, with their payload whatever its size, the moment they are found
//! to be unprocessable: the record is answered as done, so it never blocks
//! its partition or shard, and nothing is lost.
//!
//! Each parked record is one object under `parked/`, in the shape of the
//! failure records Lambda's event source mappings write to the same bucket
//! after their retries (under `aws/lambda/`): condition `Unprocessable`,
//! the consumer (`parkedBy`) and the reason besides, and as its payload the
//! record as a batch of its own. `make replay` lists and re-drives both
//! kinds alike (see `docs/functions.md`).

use crate::access::{Grant, Resource};
use async_trait::async_trait;
use aws_config::SdkConfig;
use chrono::{DateTime, SecondsFormat, Utc};
use foodstream_domain::ports::{DeadLetter, DeadLetters, PortError};
use serde_json::{Value, json};

/// Where parked records go in the failure bucket: a prefix of their own,
/// beside the event source mappings' `aws/lambda/`.
pub const PARKED_PREFIX: &str = "parked/";

/// The parked records' objects: the only keys the consumers write.
const PARKED: Resource = Resource::Objects { bucket: crate::schema::FAILURE_BUCKET, prefix: PARKED_PREFIX };

/// The consumers' dead letters: each one an object of the failure bucket,
/// under [`PARKED_PREFIX`].
#[derive(Clone)]
pub struct S3DeadLetters {
    client: aws_sdk_s3::Client,
    bucket: String,
    region: String,
    /// The function's name as Lambda gives it (`AWS_LAMBDA_FUNCTION_NAME`);
    /// without it, the consumer's.
    function: Option<String>,
}

impl S3DeadLetters {
    /// `park`: one object under `parked/`.
    pub const PARK: &[Grant] = &[Grant::new("s3:PutObject", PARKED)];

    /// Parks on `bucket` with `client`, naming the function by its
    /// environment and the region of `config` (the one `client` was built
    /// from).
    pub fn new(config: &SdkConfig, client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        S3DeadLetters {
            client,
            bucket: bucket.into(),
            region: config.region().map(|r| r.to_string()).unwrap_or_else(|| "us-east-1".into()),
            function: foodstream_config::local_only("AWS_LAMBDA_FUNCTION_NAME"),
        }
    }

    /// The failure record `letter` is parked as, at `at`: Lambda's own S3
    /// on-failure record of a one-record batch, plus `parkedBy` and
    /// `reason`. Lambda tells a function its name and region, not its
    /// account: the function's ARN is written without it.
    pub fn failure_record(&self, letter: &DeadLetter, at: DateTime<Utc>) -> Value {
        let function = self.function.as_deref().unwrap_or(&letter.consumer);
        json!({
            "requestContext": {
                "requestId": "",
                "functionArn": format!("arn:{}:lambda:{}::function:{function}", partition(&self.region), self.region),
                "condition": "Unprocessable",
                "approximateInvokeCount": 1,
            },
            "version": "1.0",
            "timestamp": at.to_rfc3339_opts(SecondsFormat::Millis, true),
            "batchInfo": {
                "source": letter.source,
                "batchSize": 1,
            },
            "parkedBy": letter.consumer,
            "reason": letter.reason,
            "payload": letter.record,
        })
    }

    /// The key of a record `consumer` parks at `at`, named as Lambda names
    /// its destination's objects (the day, then the second and a random
    /// UUID): `parked/notifier/2026/11/29/2026-11-29T04.00.00-<uuid>`.
    pub fn key(consumer: &str, at: DateTime<Utc>) -> String {
        format!(
            "{PARKED_PREFIX}{consumer}/{}/{}-{}",
            at.format("%Y/%m/%d"),
            at.format("%Y-%m-%dT%H.%M.%S"),
            uuid::Uuid::new_v4()
        )
    }
}

/// The ARN partition of a region: `aws-cn` and `aws-us-gov` for theirs.
fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

#[async_trait]
impl DeadLetters for S3DeadLetters {
    async fn park(&self, letter: &DeadLetter) -> Result<(), PortError> {
        let at = Utc::now();
        let body = self.failure_record(letter, at).to_string();
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(S3DeadLetters::key(&letter.consumer, at))
            .content_type("application/json")
            .body(body.into_bytes().into())
            .send()
            .await
            .map_err(|e| PortError::Unavailable(aws_sdk_s3::error::DisplayErrorContext(e).to_string()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_parked_record_is_named_and_shaped_as_lambdas_own_failure_records() {
        let at = Utc.with_ymd_and_hms(2026, 11, 29, 4, 5, 6).unwrap();
        let key = S3DeadLetters::key("notifier", at);
        let id = key.strip_prefix("parked/notifier/2026/11/29/2026-11-29T04.05.06-").unwrap();
        assert_eq!(uuid::Uuid::parse_str(id).unwrap().get_version_num(), 4, "{key}");
        assert_ne!(key, S3DeadLetters::key("notifier", at), "two records of one second never meet");

        let config = aws_config::SdkConfig::builder().region(aws_config::Region::new("eu-west-1")).build();
        let client = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&config)
                .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
                .build(),
        );
        let letters = S3DeadLetters { function: None, ..S3DeadLetters::new(&config, client, "failures") };
        let payload = json!({"eventSource": "aws:kafka", "records": {"log-events-0": [{"offset": 7}]}});
        let letter = DeadLetter {
            consumer: "log-collector".into(),
            source: "log-events-0@7".into(),
            reason: "not JSON".into(),
            record: payload.clone(),
        };
        let record = letters.failure_record(&letter, at);
        assert_eq!(record["requestContext"]["condition"], "Unprocessable");
        assert_eq!(record["requestContext"]["approximateInvokeCount"], 1);
        let arn = &record["requestContext"]["functionArn"];
        assert_eq!(arn, "arn:aws:lambda:eu-west-1::function:log-collector");
        assert_eq!(record["timestamp"], "2026-11-29T04:05:06.000Z");
        assert_eq!(record["version"], "1.0");
        assert_eq!(record["batchInfo"], json!({"source": "log-events-0@7", "batchSize": 1}));
        assert_eq!((&record["parkedBy"], &record["reason"]), (&json!("log-collector"), &json!("not JSON")));
        assert_eq!(record["payload"], payload);
    }
}
