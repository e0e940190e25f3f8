//! The trace one order's work belongs to: a W3C trace context
//! (`traceparent`, <https://www.w3.org/TR/trace-context/>).
//!
//! It starts at the HTTP request that placed the order, is kept on the
//! order, and rides along every event of the order as a Kafka record header,
//! so one order's log lines can be found across every function by its trace
//! id. The value is only carried: nothing here creates spans or ids (the
//! edge that starts a trace draws them).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// The header (HTTP and Kafka) that carries a [`TraceParent`].
pub const TRACEPARENT: &str = "traceparent";

/// A valid version-00 `traceparent`: `00-<trace id>-<parent id>-<flags>`,
/// lowercase hex, neither id all zeros.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TraceParent {
    trace_id: String,
    parent_id: String,
    sampled: bool,
}

impl TraceParent {
    /// Reads a header value; `None` when it is not a valid trace context
    /// (which starts a new trace rather than failing anything).
    pub fn parse(value: &str) -> Option<TraceParent> {
        let mut parts = value.trim().split('-');
        let (version, trace_id, parent_id, flags) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        // Version 00 has exactly four parts; later versions may append more.
        if version.len() != 2
            || !is_hex(version)
            || version == "ff"
            || (version == "00" && parts.next().is_some())
        {
            return None;
        }
        if flags.len() != 2 || !is_hex(flags) {
            return None;
        }
        let flags = u8::from_str_radix(flags, 16).ok()?;
        TraceParent::new(trace_id, parent_id, flags & 1 == 1)
    }

    /// A trace context from its ids (32 and 16 lowercase hex digits, not all
    /// zeros), or `None`.
    pub fn new(trace_id: &str, parent_id: &str, sampled: bool) -> Option<TraceParent> {
        let valid = |id: &str, len: usize| id.len() == len && is_hex(id) && id.bytes().any(|b| b != b'0');
        (valid(trace_id, 32) && valid(parent_id, 16)).then(|| TraceParent {
            trace_id: trace_id.to_owned(),
            parent_id: parent_id.to_owned(),
            sampled,
        })
    }

    /// The id shared by everything done for the order: what its log lines
    /// are searched by.
    pub fn trace_id(&self) -> &str {
        &self.trace_id
    }

    /// The id of the span the context was handed on from.
    pub fn parent_id(&self) -> &str {
        &self.parent_id
    }

    /// Whether the trace is sampled (the `01` flag).
    pub fn sampled(&self) -> bool {
        self.sampled
    }
}

fn is_hex(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl fmt::Display for TraceParent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "00-{}-{}-{:02x}", self.trace_id, self.parent_id, u8::from(self.sampled))
    }
}

impl Serialize for TraceParent {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TraceParent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = String::deserialize(deserializer)?;
        TraceParent::parse(&value)
            .ok_or_else(|| serde::de::Error::custom(format!("not a W3C traceparent: {value:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn reads_and_writes_the_w3c_example() {
        let trace = TraceParent::parse(EXAMPLE).unwrap();
        assert_eq!(trace.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(trace.parent_id(), "00f067aa0ba902b7");
        assert!(trace.sampled());
        assert_eq!(trace.to_string(), EXAMPLE);
    }

    #[test]
    fn refuses_what_the_recommendation_calls_invalid() {
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-xx",
        ] {
            assert_eq!(TraceParent::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_later_version_is_read_by_its_version_00_prefix() {
        let trace =
            TraceParent::parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-what-comes").unwrap();
        assert!(!trace.sampled());
        assert_eq!(trace.to_string(), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
    }

    #[test]
    fn serde_uses_the_header_form() {
        let trace = TraceParent::parse(EXAMPLE).unwrap();
        assert_eq!(serde_json::to_string(&trace).unwrap(), format!("\"{EXAMPLE}\""));
        assert_eq!(serde_json::from_str::<TraceParent>(&format!("\"{EXAMPLE}\"")).unwrap(), trace);
        assert!(serde_json::from_str::<TraceParent>("\"nope\"").is_err());
    }
}
