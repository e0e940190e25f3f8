//! Where an order's trace starts: the HTTP request.
//!
//! The trace is, in this order of preference:
//! 1. the client's own `traceparent` header, so a caller's trace continues;
//! 2. Lambda's X-Ray trace of the invocation (active tracing), read as a W3C
//!    trace id (`Root=1-5759e988-bd862e3fe1be46a994272793` is trace id
//!    `5759e988bd862e3fe1be46a994272793`, the mapping X-Ray itself uses for
//!    W3C ids), so the order's log lines and its X-Ray trace share an id;
//! 3. a new random one.

use foodstream_domain::trace::{TRACEPARENT, TraceParent};
use lambda_http::{Request, RequestExt};

/// The trace a request runs in, kept in the request's extensions.
#[derive(Debug, Clone)]
struct RequestTrace(TraceParent);

/// Chooses the request's trace and keeps it with the request (`None` only
/// if a random id came out all zeros, which a v4 uuid never does).
pub(crate) fn start(request: &mut Request) -> Option<TraceParent> {
    let from_client =
        request.headers().get(TRACEPARENT).and_then(|v| v.to_str().ok()).and_then(TraceParent::parse);
    let trace = from_client
        .or_else(|| request.lambda_context_ref().and_then(|c| c.xray_trace_id.as_deref()).and_then(from_xray))
        .or_else(random)?;
    request.extensions_mut().insert(RequestTrace(trace.clone()));
    Some(trace)
}

/// The trace [`serve`](super::serve) chose for this request when it
/// started it (`None` outside `serve`).
pub fn of(request: &Request) -> Option<&TraceParent> {
    request.extensions().get::<RequestTrace>().map(|t| &t.0)
}

/// `Root=1-<8 hex>-<24 hex>;Parent=<16 hex>;Sampled=<0|1>` as a trace
/// context; `None` when it has no usable root.
pub fn from_xray(header: &str) -> Option<TraceParent> {
    let field =
        |name: &str| header.split(';').find_map(|part| part.trim().strip_prefix(name)?.strip_prefix('='));
    let mut root = field("Root")?.split('-');
    let (version, time, unique) = (root.next()?, root.next()?, root.next()?);
    if version != "1" || time.len() != 8 || unique.len() != 24 || root.next().is_some() {
        return None;
    }
    let trace_id = format!("{time}{unique}").to_ascii_lowercase();
    let parent = field("Parent").map(str::to_ascii_lowercase).unwrap_or_else(random_parent_id);
    TraceParent::new(&trace_id, &parent, field("Sampled") == Some("1"))
        .or_else(|| TraceParent::new(&trace_id, &random_parent_id(), false))
}

fn random() -> Option<TraceParent> {
    let trace_id = format!("{:032x}", uuid::Uuid::new_v4().as_u128());
    TraceParent::new(&trace_id, &random_parent_id(), false)
}

fn random_parent_id() -> String {
    // A v4 uuid's top 64 bits hold 60 random ones and never are all zero.
    format!("{:016x}", (uuid::Uuid::new_v4().as_u128() >> 64) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_xray_root_is_read_as_the_w3c_trace_id_x_ray_maps_it_to() {
        let trace =
            from_xray("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1").unwrap();
        assert_eq!(trace.to_string(), "00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01");
        let unsampled = from_xray("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0").unwrap();
        assert_eq!(unsampled.trace_id(), "5759e988bd862e3fe1be46a994272793");
        assert!(!unsampled.sampled());
    }

    #[test]
    fn an_unusable_xray_header_starts_no_trace() {
        for bad in [
            "",
            "Sampled=1",
            "Root=1-00000000-000000000000000000000000;Sampled=0",
            "Root=2-5759e988-bd862e3fe1be46a994272793",
        ] {
            assert_eq!(from_xray(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_client_traceparent_wins_and_a_new_trace_is_random() {
        let mut request = Request::default();
        request
            .headers_mut()
            .insert(TRACEPARENT, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".parse().unwrap());
        assert_eq!(start(&mut request).unwrap().trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(of(&request).unwrap().trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
        let (a, b) = (start(&mut Request::default()).unwrap(), start(&mut Request::default()).unwrap());
        assert_ne!(a.trace_id(), b.trace_id());
    }
}
