//! A function's environment: read from the template (each variable a
//! literal or a `!Ref`), then resolved to the values a local run needs.

use crate::error::{TemplateError, invalid};
use crate::functions;
use crate::model::{EnvValue, Function, Template};
use crate::yaml::{reference, text};
use std::collections::BTreeMap;

/// `Environment.Variables` of `Globals.Function`, then of the function
/// (whose own replace them): each a literal or a `!Ref`, anything else an
/// error naming the function and the variable.
pub(crate) fn read(
    logical: &str,
    globals: &functions::FunctionProperties,
    properties: &functions::FunctionProperties,
) -> Result<BTreeMap<String, EnvValue>, TemplateError> {
    let mut environment = BTreeMap::new();
    let variables = [&globals.environment, &properties.environment].into_iter().flatten();
    for (name, value) in variables.flat_map(|e| &e.variables) {
        let value = match (text(value), reference(value)) {
            (Some(literal), _) => EnvValue::Literal(literal),
            (None, Some(target)) => EnvValue::Ref(target),
            _ => return Err(invalid(format!("{logical}: {name} is neither a literal nor a !Ref"))),
        };
        environment.insert(name.clone(), value);
    }
    Ok(environment)
}

impl Template {
    /// A function's environment with every `!Ref` resolved: parameters to
    /// their value (`overrides` first, then the default), resources through
    /// `resource` (table and bucket names, ...). `None` from `resource` drops
    /// the variable (e.g. `MSK_CLUSTER_ARN`, replaced locally by
    /// `KAFKA_BOOTSTRAP_SERVERS`).
    pub fn resolve(
        &self,
        function: &Function,
        overrides: &BTreeMap<String, String>,
        resource: impl Fn(&str) -> Option<String>,
    ) -> Result<BTreeMap<String, String>, TemplateError> {
        let mut resolved = BTreeMap::new();
        for (name, value) in &function.environment {
            let value = match value {
                EnvValue::Literal(v) => Some(v.clone()),
                EnvValue::Ref(target) if self.parameters.contains_key(target) => Some(
                    overrides.get(target).cloned().or_else(|| self.parameters[target].clone()).ok_or_else(
                        || invalid(format!("{}: {name}: parameter {target} has no value", function.binary)),
                    )?,
                ),
                EnvValue::Ref(target) => resource(target),
            };
            if let Some(value) = value {
                resolved.insert(name.clone(), value);
            }
        }
        Ok(resolved)
    }
}

#[cfg(test)]
mod tests {
    use crate::Template;
    use std::collections::BTreeMap;

    fn project_template() -> Template {
        crate::project_template().unwrap()
    }

    #[test]
    fn environments_resolve_parameters_with_overrides_and_resources_by_name() {
        let t = project_template();
        let refund = t.function("request-refund").unwrap();
        assert_eq!(refund.timeout_seconds, 10);
        let overrides = BTreeMap::from([("RefundWindowSeconds".to_string(), "5".to_string())]);
        let env = t.resolve(refund, &overrides, |r| Some(format!("local-{r}"))).unwrap();
        assert_eq!(env["REFUND_WINDOW_SECONDS"], "5");
        assert_eq!(env["ORDERS_TABLE"], "local-OrdersTable");
        assert_eq!(env["RUST_LOG"], "info");
        let dispatcher = t.function("delivery-dispatcher").unwrap();
        let env = t.resolve(dispatcher, &BTreeMap::new(), |r| Some(r.to_owned())).unwrap();
        assert_eq!(env["DELIVERY_DURATION_MS"], "1000");
        let notifier = t.function("notifier").unwrap();
        let env =
            t.resolve(notifier, &BTreeMap::new(), |r| (r != "MskCluster").then(|| r.to_owned())).unwrap();
        assert!(!env.contains_key("MSK_CLUSTER_ARN"));
        assert_eq!(env["KAFKA_ENABLE_IDEMPOTENCE"], "true");
    }
}
