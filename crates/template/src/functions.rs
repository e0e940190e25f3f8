//! `AWS::Serverless::Function` (and `Globals.Function`) as typed serde
//! structs: the properties the local stack runs a function by, and each
//! event (`HttpApi`, `MSK`, `DynamoDB`, `SQS`, `Schedule`), and the queues. A value of the wrong
//! shape is an error naming the function and the property's path; an
//! event of another type is refused, never skipped. Numbers stay YAML
//! values here because they may be a `!Ref` to a parameter: the template
//! reads them with their parameters, by name (`integer`).

use crate::TemplateError;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_norway::Value;
use std::collections::BTreeMap;

/// `properties` of `owner` read as `T`; an error names the owner and the
/// path of the property that does not fit. Every typed part of the
/// template (functions, events, tables) is read through it.
pub(crate) fn typed<T: DeserializeOwned>(
    owner: &str,
    what: &str,
    properties: Value,
) -> Result<T, TemplateError> {
    serde_path_to_error::deserialize(properties).map_err(|e| {
        let path = e.path().to_string();
        let at = if path == "." { String::new() } else { format!(".{path}") };
        TemplateError::Invalid(format!("{owner}: {what}{at}: {}", e.inner()))
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub(crate) enum TracingMode {
    Active,
    PassThrough,
    Disabled,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Environment {
    #[serde(default)]
    pub variables: BTreeMap<String, Value>,
}

/// An inline policy: its statements, read by `Template::policy_grants`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct InlinePolicy {
    pub statement: Vec<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct EventDeclaration {
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(default)]
    pub properties: Value,
}

/// The function properties the local stack reads; the same struct reads
/// `Globals.Function`, whose values a function's own replace.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct FunctionProperties {
    pub timeout: Option<Value>,
    pub memory_size: Option<Value>,
    pub tracing: Option<TracingMode>,
    pub environment: Option<Environment>,
    #[serde(default)]
    pub policies: Vec<Value>,
    #[serde(default)]
    pub events: BTreeMap<String, EventDeclaration>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct BuildProperties {
    pub binary: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct FunctionMetadata {
    pub build_properties: BuildProperties,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct HttpApiEvent {
    pub method: String,
    pub path: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ScheduleEvent {
    pub schedule: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum StartingPosition {
    TrimHorizon,
    Latest,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub(crate) enum ResponseType {
    ReportBatchItemFailures,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct FilterPattern {
    pub pattern: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct FilterCriteria {
    pub filters: Vec<FilterPattern>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct OnFailure {
    pub destination: Value,
}

/// An SQS mapping's `ScalingConfig`: how many calls it runs at once.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ScalingConfig {
    pub maximum_concurrency: Option<Value>,
}

/// An `AWS::SQS::Queue`'s properties the local stack creates it with.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct QueueProperties {
    pub visibility_timeout: Option<Value>,
    pub message_retention_period: Option<Value>,
    pub redrive_policy: Option<RedrivePolicy>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RedrivePolicy {
    pub dead_letter_target_arn: Value,
    pub max_receive_count: Value,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct DestinationConfig {
    pub on_failure: OnFailure,
}

/// An `MSK`, `DynamoDB` or `SQS` event: an event source mapping. `Topics`
/// and `ConsumerGroupId` are MSK's; `Stream` is the cluster or the table's
/// stream; `Queue` and `ScalingConfig` are SQS's.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct MappingEvent {
    #[serde(default)]
    pub stream: Value,
    #[serde(default)]
    pub queue: Value,
    pub scaling_config: Option<ScalingConfig>,
    pub topics: Option<Vec<String>>,
    pub consumer_group_id: Option<String>,
    pub starting_position: Option<StartingPosition>,
    pub batch_size: Option<Value>,
    pub maximum_batching_window_in_seconds: Option<Value>,
    pub maximum_retry_attempts: Option<Value>,
    pub maximum_record_age_in_seconds: Option<Value>,
    pub bisect_batch_on_function_error: Option<bool>,
    pub filter_criteria: Option<FilterCriteria>,
    #[serde(default)]
    pub function_response_types: Vec<ResponseType>,
    pub destination_config: Option<DestinationConfig>,
}

#[cfg(test)]
mod tests {
    use crate::Template;

    fn function(properties: &str) -> Result<Template, String> {
        let source = format!(
            "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    \
             Metadata: {{BuildProperties: {{Binary: f}}}}\n    Properties:\n{properties}"
        );
        Template::parse(&source).map_err(|e| e.to_string())
    }

    #[test]
    fn a_property_of_the_wrong_shape_is_an_error_naming_the_function_and_the_path() {
        let error = function("      Tracing: Sometimes\n").unwrap_err();
        assert!(error.contains("F: Properties.Tracing: unknown variant `Sometimes`"), "{error}");
        let error = function(
            "      Events:\n        S:\n          Type: MSK\n          Properties:\n            Stream: x\n            \
             Topics: [t]\n            ConsumerGroupId: g\n            StartingPosition: OLDEST\n",
        )
        .unwrap_err();
        assert!(
            error.contains("F: Events.S: Properties.StartingPosition: unknown variant `OLDEST`"),
            "{error}"
        );
        let error = function(
            "      Events:\n        S:\n          Type: MSK\n          Properties:\n            Stream: x\n            \
             Topics: [t]\n            ConsumerGroupId: g\n            FunctionResponseTypes: [ReportEverything]\n",
        )
        .unwrap_err();
        assert!(error.contains("F: Events.S: Properties.FunctionResponseTypes[0]"), "{error}");
    }

    #[test]
    fn an_event_of_a_type_the_stack_cannot_run_is_refused_not_skipped() {
        let error =
            function("      Events:\n        Q:\n          Type: SNS\n          Properties: {Topic: q}\n")
                .unwrap_err();
        assert!(error.contains("F: Events.Q: Type SNS"), "{error}");
    }

    #[test]
    fn a_function_without_its_binary_is_an_error() {
        let error =
            Template::parse("Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties: {}\n")
                .unwrap_err()
                .to_string();
        assert!(error.contains("F: Metadata"), "{error}");
    }
}
