//! A function's events: its routes (`HttpApi`), its event source mappings
//! (`MSK`, `DynamoDB`, `SQS`) with Lambda's defaults and limits, and its
//! schedules (`Schedule`).

use crate::error::{TemplateError, invalid};
use crate::functions;
use crate::model::{Mapping, Route, Schedule, Source, Template};
use crate::yaml::{get_att, integer};
use serde_norway::Value;

/// What Lambda refuses of an SQS trigger: a batch of 1 to 10,000, over 10
/// only with a batching window of at least a second, and a maximum
/// concurrency of 2 to 1,000.
fn check_queue_mapping(owner: &str, mapping: &Mapping) -> Result<(), TemplateError> {
    if !(1..=10_000).contains(&mapping.batch_size) {
        return Err(invalid(format!("{owner}: BatchSize {} is not 1..=10000", mapping.batch_size)));
    }
    if mapping.batch_size > 10 && mapping.batching_window < std::time::Duration::from_secs(1) {
        return Err(invalid(format!(
            "{owner}: BatchSize {} over 10 needs MaximumBatchingWindowInSeconds of at least 1",
            mapping.batch_size
        )));
    }
    if let Some(concurrency) = mapping.maximum_concurrency
        && !(2..=1000).contains(&concurrency)
    {
        return Err(invalid(format!(
            "{owner}: ScalingConfig.MaximumConcurrency {concurrency} is not 2..=1000"
        )));
    }
    Ok(())
}

/// `rate(1 minute)`, `rate(5 minutes)`, `rate(1 hour)`, `rate(2 days)`.
/// (EventBridge's `cron(...)` is not read: the template uses none.)
pub fn parse_rate(expression: &str) -> Option<std::time::Duration> {
    let inner = expression.trim().strip_prefix("rate(")?.strip_suffix(')')?;
    let (count, unit) = inner.trim().split_once(' ')?;
    let count: u64 = count.parse().ok().filter(|n| *n > 0)?;
    let seconds = match unit.trim() {
        "minute" | "minutes" => 60,
        "hour" | "hours" => 3600,
        "day" | "days" => 86_400,
        _ => return None,
    };
    Some(std::time::Duration::from_secs(count * seconds))
}

/// A `Schedule` event of the function `binary`: its rate, which must be
/// one [`parse_rate`] reads.
fn schedule(binary: &str, owner: &str, props: Value) -> Result<Schedule, TemplateError> {
    let schedule: functions::ScheduleEvent = functions::typed(owner, "Properties", props)?;
    let every = parse_rate(&schedule.schedule).ok_or_else(|| {
        invalid(format!("{owner}: Schedule {:?} is not rate(N minute(s)|hour(s)|day(s))", schedule.schedule))
    })?;
    Ok(Schedule { function: binary.to_owned(), every })
}

/// A mapping's `FilterCriteria`: each filter's pattern, read as JSON.
fn filters(
    function: &str,
    criteria: Option<functions::FilterCriteria>,
) -> Result<Vec<serde_json::Value>, TemplateError> {
    let mut filters = Vec::new();
    for filter in criteria.into_iter().flat_map(|f| f.filters) {
        let pattern = filter.pattern;
        filters.push(
            serde_json::from_str(&pattern)
                .map_err(|e| invalid(format!("{function}: filter {pattern}: {e}")))?,
        );
    }
    Ok(filters)
}

impl Template {
    /// A function's event: a route, a mapping or a schedule.
    pub(crate) fn add_event(
        &mut self,
        binary: &str,
        owner: &str,
        event: functions::EventDeclaration,
    ) -> Result<(), TemplateError> {
        let props = event.properties;
        match event.kind.as_str() {
            "HttpApi" => {
                let route: functions::HttpApiEvent = functions::typed(owner, "Properties", props)?;
                self.routes.push(Route {
                    method: route.method.to_uppercase(),
                    path: route.path,
                    function: binary.to_owned(),
                });
            }
            "MSK" => {
                let event: functions::MappingEvent = functions::typed(owner, "Properties", props)?;
                let [topic] = event.topics.as_deref().unwrap_or_default() else {
                    return Err(invalid(format!("{owner}: an MSK event reads exactly one topic here")));
                };
                let consumer_group = event
                    .consumer_group_id
                    .clone()
                    .ok_or_else(|| invalid(format!("{owner}: no ConsumerGroupId")))?;
                let source = Source::Kafka { topic: topic.clone(), consumer_group };
                let mapping = self.mapping(binary, source, event)?;
                self.mappings.push(mapping);
            }
            "DynamoDB" => {
                let event: functions::MappingEvent = functions::typed(owner, "Properties", props)?;
                let table = get_att(&event.stream)
                    .ok_or_else(|| invalid(format!("{owner}: Stream is not a !GetAtt")))?;
                let mapping = self.mapping(binary, Source::TableStream { table }, event)?;
                self.mappings.push(mapping);
            }
            "SQS" => {
                let event: functions::MappingEvent = functions::typed(owner, "Properties", props)?;
                let queue = get_att(&event.queue)
                    .ok_or_else(|| invalid(format!("{owner}: Queue is not a !GetAtt")))?;
                let mapping = self.mapping(binary, Source::Queue { queue }, event)?;
                check_queue_mapping(owner, &mapping)?;
                self.mappings.push(mapping);
            }
            "Schedule" => {
                let schedule = schedule(binary, owner, props)?;
                self.schedules.push(schedule);
            }
            other => {
                return Err(invalid(format!(
                    "{owner}: Type {other} is not an event the local stack runs (HttpApi, MSK, DynamoDB, SQS, Schedule)"
                )));
            }
        }
        Ok(())
    }

    fn mapping(
        &self,
        function: &str,
        source: Source,
        event: functions::MappingEvent,
    ) -> Result<Mapping, TemplateError> {
        let filters = filters(function, event.filter_criteria)?;
        let on_failure = event.destination_config.and_then(|d| get_att(&d.on_failure.destination));
        let default_batch = match source {
            Source::Queue { .. } => 10,
            _ => 100,
        };
        let concurrency = event.scaling_config.as_ref().and_then(|c| c.maximum_concurrency.as_ref());
        let maximum_concurrency = match concurrency {
            None => None,
            some => Some(integer(function, "ScalingConfig.MaximumConcurrency", some, &self.parameters, 0)?),
        };
        let window = event.maximum_batching_window_in_seconds.as_ref();
        let batching_window = self.batching_window(function, &source, window)?;
        let number = |name: &str, value: &Option<Value>, default: i64| {
            integer(function, name, value.as_ref(), &self.parameters, default)
        };
        Ok(Mapping {
            function: function.to_owned(),
            source,
            batch_size: integer(
                function,
                "BatchSize",
                event.batch_size.as_ref(),
                &self.parameters,
                default_batch,
            )?,
            batching_window,
            filters,
            max_retries: number("MaximumRetryAttempts", &event.maximum_retry_attempts, -1)?,
            max_record_age_seconds: number(
                "MaximumRecordAgeInSeconds",
                &event.maximum_record_age_in_seconds,
                -1,
            )?,
            bisect_on_error: event.bisect_batch_on_function_error.unwrap_or(false),
            starting_position: match event.starting_position {
                Some(functions::StartingPosition::Latest) => "LATEST".into(),
                Some(functions::StartingPosition::TrimHorizon) | None => "TRIM_HORIZON".into(),
            },
            on_failure,
            report_batch_item_failures: event
                .function_response_types
                .contains(&functions::ResponseType::ReportBatchItemFailures),
            maximum_concurrency,
        })
    }

    /// `MaximumBatchingWindowInSeconds`, or Lambda's default for `source`
    /// when absent (see [`Mapping::batching_window`]).
    fn batching_window(
        &self,
        function: &str,
        source: &Source,
        window: Option<&Value>,
    ) -> Result<std::time::Duration, TemplateError> {
        let default_window_ms = match source {
            Source::Kafka { .. } => 500,
            Source::TableStream { .. } | Source::Queue { .. } => 0,
        };
        let window_ms: u64 = match window {
            None => default_window_ms,
            window => {
                integer::<u64>(function, "MaximumBatchingWindowInSeconds", window, &self.parameters, 0)?
                    * 1000
            }
        };
        Ok(std::time::Duration::from_millis(window_ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqs_triggers_and_queues_lambda_would_refuse_are_refused() {
        let with = |event: &str, redrive: u64| {
            format!(
                "Resources:\n  D:\n    Type: AWS::SQS::Queue\n  Q:\n    Type: AWS::SQS::Queue\n    Properties:\n      \
                 RedrivePolicy: {{deadLetterTargetArn: !GetAtt D.Arn, maxReceiveCount: {redrive}}}\n  \
                 F:\n    Type: AWS::Serverless::Function\n    \
                 Metadata: {{BuildProperties: {{Binary: f}}}}\n    Properties:\n      Events:\n        S:\n          \
                 Type: SQS\n          Properties:\n            Queue: !GetAtt Q.Arn\n{event}"
            )
        };
        let fine = Template::parse(&with("            BatchSize: 10\n", 5)).unwrap();
        assert_eq!(fine.mappings[0].batch_size, 10);
        assert_eq!(fine.queue_named("Q").unwrap().redrive.as_ref().unwrap().max_receive_count, 5);
        for (event, redrive, expected) in [
            ("            BatchSize: 11\n", 5, "over 10 needs MaximumBatchingWindowInSeconds"),
            ("            BatchSize: 0\n", 5, "BatchSize 0"),
            ("            ScalingConfig: {MaximumConcurrency: 1}\n", 5, "MaximumConcurrency 1"),
            ("            BatchSize: 10\n", 0, "maxReceiveCount 0"),
        ] {
            let error = Template::parse(&with(event, redrive)).unwrap_err().to_string();
            assert!(error.contains(expected), "{event}: {error}");
        }
        let windowed = "            BatchSize: 100\n            MaximumBatchingWindowInSeconds: 1\n";
        assert!(Template::parse(&with(windowed, 5)).is_ok());
    }

    /// Lambda's Kafka default window (500 ms) applies only when the window is
    /// absent; an explicit 0 is no window. The stack used to read both as
    /// 500 ms, so the low-latency profile could not be measured.
    #[test]
    fn a_kafka_window_of_zero_is_none_and_an_absent_one_is_lambdas_500_ms() {
        let mapping = |window: &str| {
            format!(
                "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    \
                 Metadata: {{BuildProperties: {{Binary: f}}}}\n    Properties:\n      Events:\n        S:\n          \
                 Type: MSK\n          Properties:\n            Topics: [t]\n            ConsumerGroupId: g\n{window}"
            )
        };
        let window = |yaml: &str| Template::parse(&mapping(yaml)).unwrap().mappings[0].batching_window;
        assert_eq!(window(""), std::time::Duration::from_millis(500));
        assert_eq!(window("            MaximumBatchingWindowInSeconds: 0\n"), std::time::Duration::ZERO);
        assert_eq!(
            window("            MaximumBatchingWindowInSeconds: 2\n"),
            std::time::Duration::from_secs(2)
        );
    }

    #[test]
    fn rates_are_read_and_anything_else_refused() {
        assert_eq!(parse_rate("rate(1 minute)"), Some(std::time::Duration::from_secs(60)));
        assert_eq!(parse_rate("rate(5 minutes)"), Some(std::time::Duration::from_secs(300)));
        assert_eq!(parse_rate("rate(2 hours)"), Some(std::time::Duration::from_secs(7200)));
        for bad in ["rate(0 minutes)", "cron(0 12 * * ? *)", "rate(1 fortnight)", "every minute"] {
            assert_eq!(parse_rate(bad), None, "{bad}");
        }
    }
}
