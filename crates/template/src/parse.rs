//! Reading a template: its parameters (with overrides), and each resource
//! by its `Type` into the model. A function's events are read in
//! `events`, its environment in `environment` and its policies in `grants`.

use crate::error::{TemplateError, invalid};
use crate::functions;
use crate::model::{Function, Queue, Redrive, Template, Topic};
use crate::yaml::{get, get_att, integer, text};
use crate::{Table, environment, grants};
use serde_norway::Value;
use std::collections::BTreeMap;
use std::path::Path;

impl Template {
    /// The template at `path`, with its parameters' defaults.
    pub fn load(path: &Path) -> Result<Template, TemplateError> {
        Template::load_with(path, &BTreeMap::new())
    }

    /// The template with parameter values that replace the defaults (as
    /// `sam deploy --parameter-overrides` does) wherever a `!Ref` names them.
    pub fn load_with(path: &Path, overrides: &BTreeMap<String, String>) -> Result<Template, TemplateError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| TemplateError::Read { path: path.display().to_string(), reason: e.to_string() })?;
        Template::parse_with(&text, overrides)
    }

    /// The template written in `source` (YAML), with its parameters' defaults.
    pub fn parse(source: &str) -> Result<Template, TemplateError> {
        Template::parse_with(source, &BTreeMap::new())
    }

    /// The template written in `source`, with `overrides` replacing its
    /// parameters' defaults as [`Template::load_with`] does; an override of
    /// a parameter the template does not declare is an error, not ignored.
    pub fn parse_with(source: &str, overrides: &BTreeMap<String, String>) -> Result<Template, TemplateError> {
        let root: Value = serde_norway::from_str(source).map_err(|e| invalid(e.to_string()))?;
        let mut template = Template::default();
        if let Some(parameters) = get(&root, "Parameters").and_then(Value::as_mapping) {
            for (name, spec) in parameters {
                let name = text(name).ok_or_else(|| invalid("a parameter without a name"))?;
                let value = overrides.get(&name).cloned().or_else(|| get(spec, "Default").and_then(text));
                template.parameters.insert(name, value);
            }
        }
        if let Some(unknown) = overrides.keys().find(|name| !template.parameters.contains_key(*name)) {
            return Err(invalid(format!("the template has no parameter {unknown}")));
        }
        let globals: functions::FunctionProperties =
            match get(&root, "Globals").and_then(|g| get(g, "Function")) {
                Some(globals) => functions::typed("Globals", "Function", globals.clone())?,
                None => functions::FunctionProperties::default(),
            };
        let resources =
            get(&root, "Resources").and_then(Value::as_mapping).ok_or_else(|| invalid("no Resources"))?;
        for (logical, resource) in resources {
            let logical = text(logical).ok_or_else(|| invalid("a resource without a logical id"))?;
            let kind = get(resource, "Type").and_then(text).unwrap_or_default();
            let properties =
                get(resource, "Properties").cloned().unwrap_or_else(|| Value::Mapping(Default::default()));
            match kind.as_str() {
                "AWS::Serverless::Function" => {
                    template.add_function(&logical, resource, properties, &globals)?
                }
                "AWS::DynamoDB::Table" => template.tables.push(Table::from_properties(&logical, properties)?),
                "AWS::S3::Bucket" => template.buckets.push(logical),
                "AWS::SQS::Queue" => {
                    let queue = template.queue(&logical, properties)?;
                    template.queues.push(queue);
                }
                "AWS::MSK::Topic" => {
                    let name = get(&properties, "TopicName")
                        .and_then(text)
                        .ok_or_else(|| invalid(format!("{logical}: no TopicName")))?;
                    let partitions = integer(
                        &logical,
                        "PartitionCount",
                        get(&properties, "PartitionCount"),
                        &template.parameters,
                        1,
                    )?;
                    template.topics.push(Topic { logical_id: logical, name, partitions });
                }
                _ => {}
            }
        }
        Ok(template)
    }

    fn add_function(
        &mut self,
        logical: &str,
        resource: &Value,
        properties: Value,
        globals: &functions::FunctionProperties,
    ) -> Result<(), TemplateError> {
        let metadata = get(resource, "Metadata").cloned().unwrap_or(Value::Null);
        let metadata: functions::FunctionMetadata = functions::typed(logical, "Metadata", metadata)?;
        let binary = metadata.build_properties.binary;
        let properties: functions::FunctionProperties = functions::typed(logical, "Properties", properties)?;
        let environment = environment::read(logical, globals, &properties)?;
        let policy_statements = grants::policy_statements(logical, &properties.policies)?;
        let number = |name: &str, own: &Option<Value>, global: &Option<Value>, default: u64| {
            integer(logical, name, own.as_ref().or(global.as_ref()), &self.parameters, default)
        };
        let function = Function {
            logical_id: logical.to_owned(),
            binary: binary.clone(),
            timeout_seconds: number("Timeout", &properties.timeout, &globals.timeout, 3)?,
            memory_mb: number("MemorySize", &properties.memory_size, &globals.memory_size, 128)?,
            environment,
            policy_statements,
            active_tracing: properties.tracing.or(globals.tracing) == Some(functions::TracingMode::Active),
        };
        self.functions.push(function);
        for (name, event) in properties.events {
            let owner = format!("{logical}: Events.{name}");
            self.add_event(&binary, &owner, event)?;
        }
        Ok(())
    }

    fn queue(&self, logical: &str, properties: Value) -> Result<Queue, TemplateError> {
        let props: functions::QueueProperties = functions::typed(logical, "Properties", properties)?;
        let number = |name: &str, value: Option<&Value>, default: u64| {
            integer(logical, name, value, &self.parameters, default)
        };
        let redrive = match &props.redrive_policy {
            None => None,
            Some(policy) => Some(Redrive {
                dead_letter_queue: get_att(&policy.dead_letter_target_arn).ok_or_else(|| {
                    invalid(format!("{logical}: RedrivePolicy.deadLetterTargetArn is not a !GetAtt"))
                })?,
                max_receive_count: match number(
                    "RedrivePolicy.maxReceiveCount",
                    Some(&policy.max_receive_count),
                    0,
                )? {
                    count @ 1..=1000 => count,
                    other => {
                        return Err(invalid(format!(
                            "{logical}: RedrivePolicy.maxReceiveCount {other} is not 1..=1000"
                        )));
                    }
                },
            }),
        };
        Ok(Queue {
            logical_id: logical.to_owned(),
            visibility_timeout_seconds: number("VisibilityTimeout", props.visibility_timeout.as_ref(), 30)?,
            retention_seconds: number(
                "MessageRetentionPeriod",
                props.message_retention_period.as_ref(),
                345_600,
            )?,
            redrive,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::{Source, Template, project_template_path};
    use std::collections::BTreeMap;

    #[test]
    fn the_batching_windows_follow_their_parameter_and_an_unknown_override_is_an_error() {
        let path = project_template_path();
        let windows = |t: &Template| {
            t.mappings
                .iter()
                .filter(|m| matches!(m.source, Source::Kafka { .. }))
                .map(|m| m.batching_window.as_millis())
                .collect::<Vec<_>>()
        };
        assert_eq!(windows(&Template::load(&path).unwrap()), [1000; 4], "economical by default");
        let low = BTreeMap::from([("ConsumerBatchingWindowSeconds".to_string(), "0".to_string())]);
        assert_eq!(windows(&Template::load_with(&path, &low).unwrap()), [0; 4]);
        let typo = BTreeMap::from([("ConsumerBatchingWindow".to_string(), "0".to_string())]);
        assert!(Template::load_with(&path, &typo).is_err());
    }
}
