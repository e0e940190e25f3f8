//! Lambda event filtering (`FilterCriteria`), the part of the pattern
//! language event source mappings use: nested keys, lists of allowed
//! values, and the operators `prefix`, `suffix`, `exists`, `anything-but`,
//! `equals-ignore-case` and `numeric`. A record passes when any filter
//! matches; no filters pass everything.

use serde_json::Value;

/// Whether `record` passes the mapping's `filters` (patterns as JSON):
/// any one matching, or none given.
pub fn passes(filters: &[Value], record: &Value) -> bool {
    filters.is_empty() || filters.iter().any(|f| matches(f, record))
}

/// The value a Kafka record is filtered on: `{"value": <JSON>}`, or the
/// value as a string when it is not JSON (then only string rules match it).
pub fn kafka_subject(value: &[u8]) -> Value {
    let value = serde_json::from_slice(value)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(value).into_owned()));
    serde_json::json!({ "value": value })
}

fn matches(pattern: &Value, event: &Value) -> bool {
    let Value::Object(fields) = pattern else { return false };
    fields.iter().all(|(key, rule)| {
        let field = event.as_object().and_then(|o| o.get(key));
        match rule {
            Value::Object(_) => field.is_some_and(|f| matches(rule, f)),
            Value::Array(rules) => rules.iter().any(|r| matches_rule(r, field)),
            _ => false,
        }
    })
}

fn matches_rule(rule: &Value, field: Option<&Value>) -> bool {
    // A list field matches when any of its elements does.
    if let Some(Value::Array(items)) = field {
        return items.iter().any(|item| matches_rule(rule, Some(item)));
    }
    match rule {
        Value::Null => field.is_none_or(Value::is_null),
        Value::Object(operator) => {
            let Some((name, argument)) = operator.iter().next() else { return false };
            let text = field.and_then(Value::as_str);
            match (name.as_str(), argument) {
                ("exists", Value::Bool(wanted)) => field.is_some() == *wanted,
                ("prefix", Value::String(p)) => text.is_some_and(|t| t.starts_with(p.as_str())),
                ("suffix", Value::String(p)) => text.is_some_and(|t| t.ends_with(p.as_str())),
                ("equals-ignore-case", Value::String(p)) => text.is_some_and(|t| t.eq_ignore_ascii_case(p)),
                ("anything-but", Value::Array(excluded)) => field.is_some_and(|f| !excluded.contains(f)),
                ("anything-but", excluded) => field.is_some_and(|f| f != excluded),
                ("numeric", Value::Array(conditions)) => {
                    field.and_then(Value::as_f64).is_some_and(|n| numeric(n, conditions))
                }
                _ => false,
            }
        }
        scalar => field == Some(scalar),
    }
}

/// `["<", 10, ">=", 1]`: every comparison holds.
fn numeric(n: f64, conditions: &[Value]) -> bool {
    conditions.chunks(2).all(|pair| match pair {
        [Value::String(op), bound] => bound.as_f64().is_some_and(|b| match op.as_str() {
            "<" => n < b,
            "<=" => n <= b,
            "=" => n == b,
            ">" => n > b,
            ">=" => n >= b,
            _ => false,
        }),
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_dispatchers_filter_passes_only_delivery_requests() {
        let filters = [json!({"value": {"event_type": ["OrderDeliveryRequested"]}})];
        let requested = kafka_subject(br#"{"event_type":"OrderDeliveryRequested","order_id":"o"}"#);
        let paid = kafka_subject(br#"{"event_type":"OrderPaid"}"#);
        assert!(passes(&filters, &requested));
        assert!(!passes(&filters, &paid));
        assert!(!passes(&filters, &kafka_subject(b"not json")));
        assert!(passes(&[], &kafka_subject(b"not json")));
    }

    #[test]
    fn operators_behave_as_lambda_documents_them() {
        let record =
            json!({"eventName": "MODIFY", "dynamodb": {"SizeBytes": 120, "Keys": {"id": {"S": "ab-1"}}}});
        let pass = |p: Value| passes(&[p], &record);
        assert!(pass(json!({"eventName": ["INSERT", "MODIFY"]})));
        assert!(!pass(json!({"eventName": ["REMOVE"]})));
        assert!(pass(json!({"dynamodb": {"Keys": {"id": {"S": [{"prefix": "ab-"}]}}}})));
        assert!(pass(json!({"dynamodb": {"SizeBytes": [{"numeric": [">", 100, "<=", 120]}]}})));
        assert!(!pass(json!({"dynamodb": {"SizeBytes": [{"numeric": [">", 120]}]}})));
        assert!(pass(json!({"eventName": [{"anything-but": ["REMOVE"]}]})));
        assert!(pass(json!({"missing": [{"exists": false}]})));
        assert!(!pass(json!({"eventName": [{"exists": false}]})));
        assert!(pass(json!({"eventName": [{"equals-ignore-case": "modify"}]})));
        assert!(pass(json!({"eventName": [{"suffix": "IFY"}]})));
    }
}
