//! Loopback only: the console binds there, refuses a peer or a `Host`
//! that is not loopback (a page elsewhere rebinding its name to 127.0.0.1
//! cannot read it), and takes changes from its own pages only (CSRF).

use crate::stack::StackError;
use axum::extract::{ConnectInfo, Request};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;

/// Refuses a console address that is not loopback.
pub fn check_console_address(addr: SocketAddr) -> Result<(), StackError> {
    if addr.ip().is_loopback() {
        Ok(())
    } else {
        Err(StackError::Bind { addr, reason: "the console serves loopback only".into() })
    }
}

/// A `Host` header that names this machine's loopback: `127.0.0.1`,
/// `localhost` or `[::1]`, with any port.
pub fn is_loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name.eq_ignore_ascii_case("localhost")
        || name.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// A request that changes something (a replay, a try-it call) comes from
/// the console's own pages: a browser names the page's origin in `Origin`
/// and says `Sec-Fetch-Site`; a form another site posts to 127.0.0.1 says
/// `cross-site` and its own origin. A client that is no browser (curl)
/// sends neither and is let through.
pub fn is_same_origin(method: &Method, host: &str, origin: Option<&str>, fetch_site: Option<&str>) -> bool {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return true;
    }
    let origin_ok = origin.is_none_or(|origin| origin == format!("http://{host}"));
    let site_ok = fetch_site.is_none_or(|site| matches!(site, "same-origin" | "none"));
    origin_ok && site_ok
}

pub(super) async fn loopback_only(
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    let headers = request.headers();
    let text = |name: &str| headers.get(name).and_then(|h| h.to_str().ok());
    let host = text("host").unwrap_or_default();
    if !peer.ip().is_loopback() || !is_loopback_host(host) {
        return (
            StatusCode::FORBIDDEN,
            "the foodstream console answers loopback only (127.0.0.1, localhost)\n",
        )
            .into_response();
    }
    if !is_same_origin(request.method(), host, text("origin"), text("sec-fetch-site")) {
        return (StatusCode::FORBIDDEN, "the foodstream console takes changes from its own pages only\n")
            .into_response();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn only_loopback_hosts_are_loopback() {
        for host in ["127.0.0.1:3001", "localhost:3001", "LOCALHOST", "[::1]:3001", "127.0.0.2", "[::1]"] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in
            ["", "10.0.0.2:3001", "evil.example", "localhost.evil.example:3001", "[::2]:1", "0.0.0.0:3001"]
        {
            assert!(!is_loopback_host(host), "{host}");
        }
        assert!(check_console_address("127.0.0.1:0".parse().unwrap()).is_ok());
        assert!(check_console_address("[::]:0".parse().unwrap()).is_err());
        assert!(check_console_address("0.0.0.0:0".parse().unwrap()).is_err());
    }

    #[test]
    fn changes_come_from_the_consoles_own_pages_only() {
        let host = "127.0.0.1:3001";
        assert!(is_same_origin(&Method::POST, host, Some("http://127.0.0.1:3001"), Some("same-origin")));
        assert!(is_same_origin(&Method::POST, host, None, None), "curl");
        assert!(is_same_origin(&Method::GET, host, Some("http://evil.example"), Some("cross-site")), "reads");
        assert!(!is_same_origin(&Method::POST, host, Some("http://evil.example"), Some("cross-site")));
        assert!(!is_same_origin(&Method::POST, host, Some("null"), None));
        assert!(!is_same_origin(&Method::POST, host, None, Some("cross-site")));
        assert!(
            !is_same_origin(&Method::DELETE, host, Some("http://localhost:3001"), None),
            "another origin"
        );
    }

    proptest! {
        /// Any Host header is judged without a panic, and never loopback
        /// unless its name is one.
        #[test]
        fn any_host_header_is_judged(host in ".{0,40}") {
            let loopback = is_loopback_host(&host);
            if loopback {
                let lower = host.to_ascii_lowercase();
                prop_assert!(lower.starts_with("localhost") || lower.starts_with("127.") || lower.starts_with("[::1]") || lower.starts_with("::1") || lower.starts_with("[0:0:0:0:0:0:0:1]") || lower.starts_with("0:0:0:0:0:0:0:1"), "{}", host);
            }
        }
    }
}
