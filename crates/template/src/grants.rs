//! What a function may do on AWS: the IAM statements of its `Policies`,
//! read as grants on the template's resources, and the grants its event
//! source mappings need from its role. Both are printed in the form
//! `foodstream_config::Grant` prints, so the two can be compared.

use crate::error::{TemplateError, invalid};
use crate::functions;
use crate::model::{FailureDestination, Function, Source, Template};
use crate::yaml::{get, reference, text};
use serde_norway::Value;
use std::collections::BTreeSet;

/// The statements of a function's `Policies`: each policy must be an
/// inline statement list (SAM policy templates are refused).
pub(crate) fn policy_statements(logical: &str, policies: &[Value]) -> Result<Vec<Value>, TemplateError> {
    let mut policy_statements = Vec::new();
    for policy in policies {
        let policy: functions::InlinePolicy = functions::typed(logical, "Policies", policy.clone()).map_err(|_| {
            invalid(format!("{logical}: a policy that is not an inline statement list (SAM policy templates are not used here)"))
        })?;
        policy_statements.extend(policy.statement);
    }
    Ok(policy_statements)
}

impl Template {
    /// Every action a function's `Policies` allow, each on one resource, in
    /// the form `foodstream_config::Grant` prints: `dynamodb:GetItem on
    /// table/OrdersTable`, `kafka-cluster:WriteData on topic/order-events`.
    /// A statement this cannot read (a `Deny`, a wildcard action, a
    /// resource of an unknown shape) is an error naming it.
    pub fn policy_grants(&self, function: &Function) -> Result<BTreeSet<String>, TemplateError> {
        let mut grants = BTreeSet::new();
        let fail = |what: String| invalid(format!("{}: Policies: {what}", function.binary));
        for statement in &function.policy_statements {
            if get(statement, "Effect").and_then(text).as_deref() != Some("Allow") {
                return Err(fail(format!("only Allow statements are read, found {statement:?}")));
            }
            let list = |key: &str| -> Vec<Value> {
                match get(statement, key) {
                    Some(Value::Sequence(items)) => items.clone(),
                    Some(one) => vec![one.clone()],
                    None => Vec::new(),
                }
            };
            let conditional = get(statement, "Condition").is_some();
            for resource in list("Resource") {
                let resource =
                    self.policy_resource(&resource).ok_or_else(|| fail(format!("resource {resource:?}")))?;
                let resource = if conditional { format!("{resource} (conditional)") } else { resource };
                for action in list("Action") {
                    let action = text(&action)
                        .filter(|a| !a.contains('*'))
                        .ok_or_else(|| fail(format!("action {action:?}")))?;
                    grants.insert(format!("{action} on {resource}"));
                }
            }
        }
        Ok(grants)
    }

    /// What Lambda's event source mappings of a function need from its
    /// role: for an MSK trigger, connecting, reading its topic and
    /// committing as its group; for a stream, reading the stream; and
    /// sending to the on-failure destination. (Lambda's documentation on
    /// MSK, DynamoDB and SQS triggers; the managed policies SAM attaches do
    /// not cover the `kafka-cluster:` data plane, and this template writes
    /// every grant inline, on its resource.)
    pub fn mapping_grants(&self, function: &Function) -> BTreeSet<String> {
        let mut grants = BTreeSet::new();
        for mapping in self.mappings.iter().filter(|m| m.function == function.binary) {
            match &mapping.source {
                Source::Kafka { topic, consumer_group } => {
                    for (action, resource) in [
                        ("Connect", "cluster".to_string()),
                        ("DescribeClusterDynamicConfiguration", "cluster".into()),
                        ("DescribeTopic", format!("topic/{topic}")),
                        ("ReadData", format!("topic/{topic}")),
                        ("DescribeGroup", format!("group/{consumer_group}")),
                        ("AlterGroup", format!("group/{consumer_group}")),
                    ] {
                        grants.insert(format!("kafka-cluster:{action} on {resource}"));
                    }
                }
                Source::TableStream { table } => {
                    for action in ["DescribeStream", "GetRecords", "GetShardIterator", "ListStreams"] {
                        grants.insert(format!("dynamodb:{action} on stream/{table}"));
                    }
                }
                Source::Queue { queue } => {
                    for action in ["ReceiveMessage", "DeleteMessage", "GetQueueAttributes"] {
                        grants.insert(format!("sqs:{action} on queue/{queue}"));
                    }
                }
            }
            match self.failure_destination(mapping) {
                Some(FailureDestination::Queue(queue)) => {
                    grants.insert(format!("sqs:SendMessage on queue/{queue}"));
                }
                Some(FailureDestination::Bucket(bucket)) => {
                    grants.insert(format!("s3:PutObject on objects/{bucket}/"));
                    grants.insert(format!("s3:ListBucket on bucket/{bucket}"));
                }
                None => {}
            }
        }
        grants
    }

    /// A policy resource in the form of `foodstream_config::Resource`'s
    /// `Display`, from the shapes the template uses.
    fn policy_resource(&self, value: &Value) -> Option<String> {
        if reference(value).as_deref() == Some("MskCluster") {
            return Some("cluster".into());
        }
        if let Value::Tagged(tagged) = value
            && tagged.tag == "GetAtt"
        {
            let (logical, attribute) = match &tagged.value {
                Value::String(s) => s.split_once('.').map(|(l, a)| (l.to_owned(), a.to_owned()))?,
                Value::Sequence(parts) => (text(parts.first()?)?, text(parts.get(1)?)?),
                _ => return None,
            };
            return match attribute.as_str() {
                "StreamArn" => Some(format!("stream/{logical}")),
                "TopicArn" => {
                    self.topics.iter().find(|t| t.logical_id == logical).map(|t| format!("topic/{}", t.name))
                }
                "Arn" if self.tables.iter().any(|t| t.logical_id == logical) => {
                    Some(format!("table/{logical}"))
                }
                "Arn" if self.queue_named(&logical).is_some() => Some(format!("queue/{logical}")),
                "Arn" if self.buckets.contains(&logical) => Some(format!("bucket/{logical}")),
                _ => None,
            };
        }
        if let Value::Tagged(tagged) = value
            && tagged.tag == "Sub"
        {
            let pattern = match &tagged.value {
                Value::String(s) => s.clone(),
                Value::Sequence(parts) => text(parts.first()?)?,
                _ => return None,
            };
            if let Some(group) = pattern.split_once(":group/${Cluster}/").map(|(_, g)| g) {
                return Some(format!("group/{group}"));
            }
            let rest = pattern.strip_prefix("${")?;
            let (logical, path) = rest.split_once(".Arn}/")?;
            if let Some(index) = path.strip_prefix("index/") {
                return Some(format!("index/{logical}/{index}"));
            }
            if self.buckets.iter().any(|b| b == logical) {
                return Some(format!("objects/{logical}/{}", path.strip_suffix('*')?));
            }
        }
        None
    }
}
