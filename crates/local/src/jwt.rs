//! The local JWT authorizer: tokens shaped like the Cognito ID tokens the
//! API accepts on AWS (`sub`, `cognito:username`, the custom attributes
//! `custom:role` and `custom:store_id`, `token_use: id`, `aud` = the app
//! client id, `iat`, `nbf`, `exp`), signed HS256 with `LOCAL_JWT_SECRET`
//! (default `local-dev-secret`) instead of Cognito's RS256 keys; what
//! `make token` mints and what the emulated API Gateway verifies (issuer,
//! audience, `exp` and `nbf`, no leeway) before it hands the claims to a
//! function, every value a string, as API Gateway does.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The local user pool's issuer: an ID token's `iss`.
pub const ISSUER: &str = "food-delivery-local";
/// The local user pool's app client id: an ID token's `aud`.
pub const AUDIENCE: &str = "foodstream-local-app-client";
/// The signing secret when `LOCAL_JWT_SECRET` is unset: well known, so
/// loopback only.
pub const DEFAULT_SECRET: &str = "local-dev-secret";

/// The secret from `LOCAL_JWT_SECRET`, or the default.
pub fn secret_from_env() -> String {
    std::env::var("LOCAL_JWT_SECRET").ok().filter(|s| !s.is_empty()).unwrap_or_else(|| DEFAULT_SECRET.into())
}

/// An ID token's claims, as a Cognito user pool issues them. The role and
/// store are optional here as in Cognito (an attribute an administrator
/// never set is absent): the authorizer passes whatever the token holds,
/// and the function refuses what it cannot use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user's id.
    pub sub: String,
    /// `cognito:username` (the `sub` in minted tokens).
    #[serde(rename = "cognito:username")]
    pub username: String,
    /// `custom:role`: `customer`, `owner` or `operator`.
    #[serde(rename = "custom:role", default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// `custom:store_id`: the store an owner runs.
    #[serde(rename = "custom:store_id", default, skip_serializing_if = "Option::is_none")]
    pub store_id: Option<String>,
    /// `id` for ID tokens (Cognito's access tokens say `access` and carry
    /// no custom attributes).
    pub token_use: String,
    /// Issuer: [`ISSUER`].
    pub iss: String,
    /// Audience: [`AUDIENCE`].
    pub aud: String,
    /// Issued at (seconds since the epoch).
    pub iat: u64,
    /// Not before (seconds since the epoch).
    pub nbf: u64,
    /// Expiry (seconds since the epoch).
    pub exp: u64,
}

impl Claims {
    /// An ID token's claims for user `sub` with `role` (and `store_id`),
    /// valid from `now` for `lifetime_seconds`.
    pub fn new(sub: &str, role: &str, store_id: Option<&str>, now: u64, lifetime_seconds: u64) -> Claims {
        Claims {
            sub: sub.into(),
            username: sub.into(),
            role: Some(role.into()),
            store_id: store_id.map(String::from),
            token_use: "id".into(),
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            iat: now,
            nbf: now,
            exp: now + lifetime_seconds,
        }
    }

    /// The claims as API Gateway puts them in
    /// `requestContext.authorizer.jwt.claims`: by their names in the token,
    /// every value a string.
    pub fn as_gateway_claims(&self) -> BTreeMap<String, String> {
        let json = serde_json::to_value(self).expect("claims always serialise");
        json.as_object()
            .into_iter()
            .flatten()
            .map(|(name, value)| {
                let text = value.as_str().map(String::from).unwrap_or_else(|| value.to_string());
                (name.clone(), text)
            })
            .collect()
    }
}

/// A token that cannot be minted or does not verify, and why.
#[derive(Debug, thiserror::Error)]
#[error("invalid token: {0}")]
pub struct TokenError(String);

/// Signs `claims` with `secret` (HS256): what `make token` prints.
pub fn mint(claims: &Claims, secret: &str) -> Result<String, TokenError> {
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &EncodingKey::from_secret(secret.as_bytes()))
        .map_err(|e| TokenError(e.to_string()))
}

/// Verifies signature, algorithm, issuer, audience, `exp` and `nbf` (no
/// leeway), and that it is an ID token.
pub fn verify(token: &str, secret: &str) -> Result<Claims, TokenError> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[AUDIENCE]);
    validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
    validation.validate_nbf = true;
    validation.leeway = 0;
    let claims =
        jsonwebtoken::decode::<Claims>(token, &DecodingKey::from_secret(secret.as_bytes()), &validation)
            .map(|data| data.claims)
            .map_err(|e| TokenError(e.to_string()))?;
    if claims.token_use != "id" {
        return Err(TokenError(format!("token_use is {:?}, not an ID token", claims.token_use)));
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> u64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
    }

    #[test]
    fn minted_tokens_are_shaped_like_cognito_id_tokens_and_verify() {
        let claims = Claims::new("owner-1", "owner", Some("store-1"), now(), 3600);
        let token = mint(&claims, DEFAULT_SECRET).unwrap();
        assert_eq!(verify(&token, DEFAULT_SECRET).unwrap(), claims);
        let gateway = claims.as_gateway_claims();
        assert_eq!(gateway["custom:role"], "owner");
        assert_eq!(gateway["custom:store_id"], "store-1");
        assert_eq!(gateway["cognito:username"], "owner-1");
        assert_eq!(gateway["token_use"], "id");
        assert_eq!(gateway["aud"], AUDIENCE);
        assert_eq!(gateway["nbf"], gateway["iat"]);
        assert!(!gateway.contains_key("role") && !gateway.contains_key("store_id"), "{gateway:?}");
    }

    #[test]
    fn bad_signature_expiry_issuer_and_audience_are_refused() {
        let good = Claims::new("c", "customer", None, now(), 3600);
        assert!(verify(&mint(&good, "another-secret").unwrap(), DEFAULT_SECRET).is_err());
        let expired = Claims::new("c", "customer", None, now() - 7200, 3600);
        assert!(verify(&mint(&expired, DEFAULT_SECRET).unwrap(), DEFAULT_SECRET).is_err());
        let foreign = Claims { iss: "someone-else".into(), ..good.clone() };
        assert!(verify(&mint(&foreign, DEFAULT_SECRET).unwrap(), DEFAULT_SECRET).is_err());
        let elsewhere = Claims { aud: "other-api".into(), ..good.clone() };
        assert!(verify(&mint(&elsewhere, DEFAULT_SECRET).unwrap(), DEFAULT_SECRET).is_err());
        let early = Claims { nbf: now() + 600, ..good.clone() };
        assert!(verify(&mint(&early, DEFAULT_SECRET).unwrap(), DEFAULT_SECRET).is_err(), "nbf is checked");
        let access = Claims { token_use: "access".into(), ..good.clone() };
        assert!(verify(&mint(&access, DEFAULT_SECRET).unwrap(), DEFAULT_SECRET).is_err());
        assert!(verify("not.a.token", DEFAULT_SECRET).is_err());
    }
}
