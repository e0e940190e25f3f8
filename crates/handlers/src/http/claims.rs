//! Who calls a route: the claims API Gateway's JWT authorizer verified,
//! read the way our user pool writes them (see [`caller`]).

use foodstream_application::{AppError, access};
use foodstream_domain::identity::Caller;
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};

/// The claims the JWT authorizer verified, from a Cognito ID token: `sub`,
/// and the custom attributes `custom:role` and `custom:store_id`. Nothing
/// else is read: no token on AWS carries a plain `role`, and one that has
/// it without `custom:role` is refused (401) rather than trusted.
pub fn caller(request: &Request) -> Result<Caller, AppError> {
    let claims = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => {
            context.authorizer.as_ref().and_then(|a| a.jwt.as_ref()).map(|jwt| &jwt.claims)
        }
        _ => None,
    };
    let Some(claims) = claims else {
        return Err(AppError::Unauthenticated("no verified token claims in the request".into()));
    };
    let claim = |name: &str| claims.get(name).map(String::as_str);
    for name in ["sub", "custom:store_id"] {
        if let Some(value) = claim(name)
            && !keyable(value)
        {
            return Err(AppError::Unauthenticated(format!(
                "the token's {name} is not 1 to {MAX_ID_CLAIM_BYTES} bytes of text without control characters"
            )));
        }
    }
    access::caller_from_claims(claim("sub"), claim("custom:role"), claim("custom:store_id"))
}

/// The longest `sub` or `custom:store_id` taken, in bytes (a Cognito `sub`
/// is a 36-character UUID). The caller's id keys their orders, their
/// idempotency records (escaped, up to three times as long, next to a
/// 128-character Idempotency-Key), their notifications and their log
/// records, and travels in those lists' cursors: at this bound every such
/// key is well within DynamoDB's 2048 bytes and every cursor within the
/// 2048 characters the API takes (crates/aws/tests/limits.rs). An id no key
/// could hold is a 401, never a DynamoDB validation error (a 503).
pub const MAX_ID_CLAIM_BYTES: usize = 128;

fn keyable(id: &str) -> bool {
    id.len() <= MAX_ID_CLAIM_BYTES && !id.chars().any(char::is_control)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_claims(sub: &str, store_id: Option<&str>) -> Request {
        let text = include_str!("../../../../events/list-my-notifications.json");
        let mut payload: serde_json::Value = serde_json::from_str(text).unwrap();
        let claims = &mut payload["requestContext"]["authorizer"]["jwt"]["claims"];
        claims["sub"] = sub.into();
        if let Some(store) = store_id {
            claims["custom:role"] = "owner".into();
            claims["custom:store_id"] = store.into();
        }
        lambda_http::request::from_str(&payload.to_string()).unwrap()
    }

    /// The caller's id keys the orders, idempotency records, notifications
    /// and logs, and travels in their cursors: one no key or cursor could
    /// hold is a 401, never a DynamoDB validation error (a 503).
    #[test]
    fn a_sub_or_store_claim_too_long_to_key_on_is_401() {
        let max = MAX_ID_CLAIM_BYTES;
        assert_eq!(caller(&with_claims(&"u".repeat(max), None)).unwrap().user_id.as_str().len(), max);
        let owner = caller(&with_claims("o-1", Some(&"s".repeat(max)))).unwrap();
        assert_eq!(owner.store_id.map(|s| s.as_str().len()), Some(max));
        for sub in ["u".repeat(max + 1), "u".repeat(5000), "u\u{0}1".into()] {
            let refused = caller(&with_claims(&sub, None));
            assert!(matches!(refused, Err(AppError::Unauthenticated(_))), "{:.20}: {refused:?}", sub);
        }
        let refused = caller(&with_claims("o-1", Some(&"s".repeat(max + 1))));
        assert!(matches!(refused, Err(AppError::Unauthenticated(_))), "{refused:?}");
    }
}
