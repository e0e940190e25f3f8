//! Who calls a route: the claims API Gateway's JWT authorizer verified,
//! read the way our user pool writes them (see [`caller`]).

use foodstream_application::{AppError, access};
use foodstream_domain::identity::Caller;
use foodstream_lambda::lambda_http::request::RequestContext;
use foodstream_lambda::lambda_http::{Request, RequestExt};

/// The claims the JWT authorizer verified, from a Cognito ID token: `sub`,
/// and the custom attributes `custom:role` and `custom:store_id`. Nothing
/// else is read: no token on AWS carries a plain `role`, and one that does
/// is refused (401) rather than trusted.
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
    access::caller_from_claims(claim("sub"), claim("custom:role"), claim("custom:store_id"))
}
