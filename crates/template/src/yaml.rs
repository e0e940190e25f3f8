//! The YAML values of the template as CloudFormation reads them: scalars
//! as text, the intrinsic functions `!Ref` and `!GetAtt`, and numbers that
//! may be a `!Ref` to a parameter.

use crate::error::{TemplateError, invalid};
use serde_norway::Value;
use std::collections::BTreeMap;

pub(crate) fn get<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    value.as_mapping().and_then(|m| m.get(key))
}

pub(crate) fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `!Ref X` or `{Ref: X}`.
pub(crate) fn reference(value: &Value) -> Option<String> {
    match value {
        Value::Tagged(tagged) if tagged.tag == "Ref" => text(&tagged.value),
        Value::Mapping(m) if m.len() == 1 => m.get("Ref").and_then(text),
        _ => None,
    }
}

/// `!GetAtt X.Attr` or `!GetAtt [X, Attr]`: the logical id.
pub(crate) fn get_att(value: &Value) -> Option<String> {
    match value {
        Value::Tagged(tagged) if tagged.tag == "GetAtt" => match &tagged.value {
            Value::String(s) => s.split('.').next().map(String::from),
            Value::Sequence(parts) => parts.first().and_then(text),
            _ => None,
        },
        _ => None,
    }
}

/// A number property: a literal, or a `!Ref` to a parameter with a
/// default; `default` when absent. Anything else is an error naming
/// `owner` and `property`: a bad value never becomes a silent default
/// (a `MaximumRetryAttempts` read as -1 would retry for ever).
pub(crate) fn integer<T: std::str::FromStr>(
    owner: &str,
    property: &str,
    value: Option<&Value>,
    parameters: &BTreeMap<String, Option<String>>,
    default: T,
) -> Result<T, TemplateError> {
    let Some(value) = value else { return Ok(default) };
    let literal = match reference(value) {
        Some(parameter) => parameters.get(&parameter).cloned().flatten().ok_or_else(|| {
            invalid(format!("{owner}: {property}: !Ref {parameter} is not a parameter with a default"))
        })?,
        None => {
            text(value).ok_or_else(|| invalid(format!("{owner}: {property}: {value:?} is not a number")))?
        }
    };
    literal.trim().parse().map_err(|_| {
        invalid(format!("{owner}: {property}: {literal:?} is not an integer of the right range"))
    })
}

#[cfg(test)]
mod tests {
    use crate::Template;

    #[test]
    fn a_number_that_cannot_be_read_is_an_error_naming_it_never_a_default() {
        let with_retries = |retries: &str| {
            format!(
                "Parameters:\n  Retries:\n    Type: Number\nResources:\n  F:\n    Type: AWS::Serverless::Function\n    \
                 Metadata: {{BuildProperties: {{Binary: f}}}}\n    Properties:\n      Events:\n        S:\n          \
                 Type: MSK\n          Properties:\n            Topics: [t]\n            ConsumerGroupId: g\n            \
                 MaximumRetryAttempts: {retries}\n"
            )
        };
        // A !Ref to a parameter without a default used to read as -1: infinite retries.
        let error = Template::parse(&with_retries("!Ref Retries")).unwrap_err().to_string();
        assert!(
            error.contains("f: MaximumRetryAttempts: !Ref Retries is not a parameter with a default"),
            "{error}"
        );
        let error = Template::parse(&with_retries("often")).unwrap_err().to_string();
        assert!(error.contains("f: MaximumRetryAttempts: \"often\""), "{error}");
        let t = Template::parse(&with_retries("3")).unwrap();
        assert_eq!(t.mappings[0].max_retries, 3);
    }
}
