//! A function's configuration, read one way.
//!
//! Every environment variable a function reads on AWS goes through [`var`]
//! or [`required`], and every adapter declares the AWS actions it calls
//! through [`grant`] when it is built. Both are recorded: run a function
//! binary with `FOODSTREAM_WIRING=print` and it prints what its `main.rs`
//! wired instead of serving (see `foodstream_handlers::wiring`), which is what the
//! template test compares with each function's `Environment` and
//! `Policies`. The record is the code's own account of itself: no scraping
//! of source files.

#![warn(missing_docs)]

use std::collections::BTreeSet;
use std::sync::Mutex;

/// The one error type of configuration: a variable unset or unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A required variable is unset or blank; holds its name.
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    /// A variable is set to a value that cannot be used.
    #[error("{name}={value:?}: {reason}")]
    Invalid {
        /// The variable's name.
        name: &'static str,
        /// The value it was set to.
        value: String,
        /// Why the value cannot be used.
        reason: String,
    },
}

/// The resources of the template an adapter acts on, by the names the
/// template gives them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Resource {
    /// A DynamoDB table, by logical id.
    Table {
        /// The table's logical id.
        table: &'static str,
    },
    /// One global secondary index of a table.
    Index {
        /// The table's logical id.
        table: &'static str,
        /// The index's name.
        index: &'static str,
    },
    /// A table's stream.
    Stream {
        /// The table's logical id.
        table: &'static str,
    },
    /// The objects of a bucket under a key prefix.
    Objects {
        /// The bucket's logical id.
        bucket: &'static str,
        /// The key prefix, e.g. `refund-photos/`.
        prefix: &'static str,
    },
    /// An SQS queue, by logical id.
    Queue {
        /// The queue's logical id.
        queue: &'static str,
    },
    /// The MSK cluster.
    Cluster,
    /// A Kafka topic, by its name.
    Topic {
        /// The topic's name.
        topic: &'static str,
    },
    /// A Kafka consumer group, by its id.
    Group {
        /// The group's id.
        group: &'static str,
    },
}

/// The form the template test compares: `table/OrdersTable`,
/// `index/OrdersTable/by-customer`, `objects/PhotosBucket/refund-photos/`,
/// `topic/order-events`, ...
impl std::fmt::Display for Resource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Resource::Table { table } => write!(f, "table/{table}"),
            Resource::Index { table, index } => write!(f, "index/{table}/{index}"),
            Resource::Stream { table } => write!(f, "stream/{table}"),
            Resource::Objects { bucket, prefix } => write!(f, "objects/{bucket}/{prefix}"),
            Resource::Queue { queue } => write!(f, "queue/{queue}"),
            Resource::Cluster => write!(f, "cluster"),
            Resource::Topic { topic } => write!(f, "topic/{topic}"),
            Resource::Group { group } => write!(f, "group/{group}"),
        }
    }
}

/// One IAM action on one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Grant {
    /// The IAM action, e.g. `dynamodb:GetItem`.
    pub action: &'static str,
    /// What the action is allowed on.
    pub resource: Resource,
}

impl std::fmt::Display for Grant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} on {}", self.action, self.resource)
    }
}

impl Grant {
    /// Allows `action` on `resource`; `const`, so adapters can keep their
    /// grants in constants.
    pub const fn new(action: &'static str, resource: Resource) -> Grant {
        Grant { action, resource }
    }
}

/// What this process wired: the variables it read and the grants its
/// adapters declared.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Wiring {
    /// The names of the variables read through [`var`], [`required`] or
    /// [`parsed`] (not [`local_only`]).
    pub environment: BTreeSet<&'static str>,
    /// Every grant declared through [`grant`].
    pub grants: BTreeSet<Grant>,
}

static WIRED: Mutex<Wiring> = Mutex::new(Wiring { environment: BTreeSet::new(), grants: BTreeSet::new() });

fn wired_mut<T>(change: impl FnOnce(&mut Wiring) -> T) -> T {
    let mut wired = WIRED.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    change(&mut wired)
}

/// A variable of the function's configuration (set by the template on AWS):
/// `None` when unset or blank.
pub fn var(name: &'static str) -> Option<String> {
    wired_mut(|w| w.environment.insert(name));
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// A variable the function cannot start without.
pub fn required(name: &'static str) -> Result<String, ConfigError> {
    var(name).ok_or(ConfigError::Missing(name))
}

/// A variable parsed by `parse`, which says why a value is unusable;
/// `None` when unset or blank.
pub fn parsed<T>(
    name: &'static str,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Result<Option<T>, ConfigError> {
    var(name)
        .map(|value| parse(value.trim()).map_err(|reason| ConfigError::Invalid { name, value, reason }))
        .transpose()
}

/// A variable only the local stack sets (an emulator endpoint, a topic
/// prefix): read like the others but not part of what the template must set.
pub fn local_only(name: &'static str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Declares the AWS actions an adapter calls, when it is built.
pub fn grant(grants: &[Grant]) {
    wired_mut(|w| w.grants.extend(grants.iter().copied()));
}

/// Everything recorded so far.
pub fn wired() -> Wiring {
    wired_mut(|w| w.clone())
}

/// The variable that turns a function binary into a description of itself.
pub const PRINT_WIRING_ENV: &str = "FOODSTREAM_WIRING";

/// True when the binary only describes its wiring: adapters then skip the
/// network calls they would make at init (e.g. looking up MSK brokers).
pub fn describing_only() -> bool {
    std::env::var(PRINT_WIRING_ENV).is_ok_and(|v| v == "print")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_grants_are_recorded() {
        let _ = var("FOODSTREAM_CONFIG_TEST_UNSET");
        grant(&[Grant::new("dynamodb:GetItem", Resource::Table { table: "OrdersTable" })]);
        let wired = wired();
        assert!(wired.environment.contains("FOODSTREAM_CONFIG_TEST_UNSET"));
        assert!(
            wired.grants.contains(&Grant::new("dynamodb:GetItem", Resource::Table { table: "OrdersTable" }))
        );
        assert_eq!(
            required("FOODSTREAM_CONFIG_TEST_UNSET"),
            Err(ConfigError::Missing("FOODSTREAM_CONFIG_TEST_UNSET"))
        );
    }

    #[test]
    fn a_bad_value_names_the_variable_and_the_reason() {
        // PATH is set in every test process and is not a number.
        let error =
            parsed::<u32>("PATH", |v| v.parse::<u32>().map_err(|_| "must be a number".into())).unwrap_err();
        assert!(matches!(error, ConfigError::Invalid { name: "PATH", .. }), "{error}");
        assert!(error.to_string().contains("must be a number"));
    }
}

/// Where the local emulators listen, bound to loopback only
/// (`scripts/emulators.sh`): the one default every tool and test of the
/// workspace falls back to when `AWS_ENDPOINT_URL` or
/// `KAFKA_BOOTSTRAP_SERVERS` is unset.
pub mod emulators {
    /// moto_server's endpoint (DynamoDB, Streams, S3, SQS).
    pub const AWS_ENDPOINT_URL: &str = "http://127.0.0.1:4566";
    /// Tansu's bootstrap address.
    pub const KAFKA_BOOTSTRAP_SERVERS: &str = "127.0.0.1:9092";
}
