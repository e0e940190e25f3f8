//! The local JWT authorizer: HS256 tokens signed with `LOCAL_JWT_SECRET`
//! (default `local-dev-secret`), issuer `food-delivery-local`, audience
//! `food-delivery`, `exp` checked; what `make token` mints and what the
//! emulated API Gateway verifies before it hands the claims to a function.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const ISSUER: &str = "food-delivery-local";
pub const AUDIENCE: &str = "food-delivery";
pub const DEFAULT_SECRET: &str = "local-dev-secret";

/// The secret from `LOCAL_JWT_SECRET`, or the default.
pub fn secret_from_env() -> String {
    std::env::var("LOCAL_JWT_SECRET").ok().filter(|s| !s.is_empty()).unwrap_or_else(|| DEFAULT_SECRET.into())
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_id: Option<String>,
    pub iss: String,
    pub aud: String,
    pub iat: u64,
    pub exp: u64,
}

impl Claims {
    pub fn new(sub: &str, role: &str, store_id: Option<&str>, now: u64, lifetime_seconds: u64) -> Claims {
        Claims {
            sub: sub.into(),
            role: role.into(),
            store_id: store_id.map(String::from),
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            iat: now,
            exp: now + lifetime_seconds,
        }
    }

    /// The claims as API Gateway puts them in
    /// `requestContext.authorizer.jwt.claims`: every value a string.
    pub fn as_gateway_claims(&self) -> BTreeMap<String, String> {
        let mut claims = BTreeMap::from([
            ("sub".to_string(), self.sub.clone()),
            ("role".to_string(), self.role.clone()),
            ("iss".to_string(), self.iss.clone()),
            ("aud".to_string(), self.aud.clone()),
            ("iat".to_string(), self.iat.to_string()),
            ("exp".to_string(), self.exp.to_string()),
        ]);
        if let Some(store) = &self.store_id {
            claims.insert("store_id".into(), store.clone());
        }
        claims
    }
}

#[derive(Debug, thiserror::Error)]
#[error("invalid token: {0}")]
pub struct TokenError(String);

pub fn mint(claims: &Claims, secret: &str) -> Result<String, TokenError> {
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &EncodingKey::from_secret(secret.as_bytes()))
        .map_err(|e| TokenError(e.to_string()))
}

/// Verifies signature, algorithm, issuer, audience and expiry (no leeway).
pub fn verify(token: &str, secret: &str) -> Result<Claims, TokenError> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[AUDIENCE]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.leeway = 0;
    jsonwebtoken::decode::<Claims>(token, &DecodingKey::from_secret(secret.as_bytes()), &validation)
        .map(|data| data.claims)
        .map_err(|e| TokenError(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> u64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
    }

    #[test]
    fn minted_tokens_verify_and_carry_the_claims() {
        let claims = Claims::new("owner-1", "owner", Some("store-1"), now(), 3600);
        let token = mint(&claims, DEFAULT_SECRET).unwrap();
        assert_eq!(verify(&token, DEFAULT_SECRET).unwrap(), claims);
        assert_eq!(claims.as_gateway_claims()["store_id"], "store-1");
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
        assert!(verify("not.a.token", DEFAULT_SECRET).is_err());
    }
}
