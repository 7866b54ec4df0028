//! The local host with the authority's OpenID provider (`CSQ_OIDC_ISSUER`,
//! `CSQ_OIDC_CLIENT_ID`): the console signs a person in there (code flow
//! with PKCE) and sends the ID token; this host checks it (RS256, the
//! provider's published keys, issuer, audience, expiry) and takes the person
//! to be its verified email. Roles stay the directory's.

use std::collections::HashMap;

use anyhow::bail;
use axum::http::request::Parts;
use chrono::{DateTime, Utc};
use csq_core::auth::staff::{Hs256, StaffAuthError};
use csq_core::http::{IdentityProvider, StaffAuthenticator};
use csq_core::policy::Caller;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

/// The provider's signing keys, read once at start from its discovery document.
pub struct OidcVerifier {
    provider: IdentityProvider,
    keys: HashMap<String, DecodingKey>,
}

#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    jwks_uri: String,
}

#[derive(Deserialize)]
struct IdClaims {
    email: Option<String>,
    #[serde(default)]
    email_verified: Option<serde_json::Value>,
}

impl OidcVerifier {
    /// Reads the provider's discovery document and keys.
    pub async fn discover(provider: IdentityProvider) -> anyhow::Result<OidcVerifier> {
        let url = format!(
            "{}/.well-known/openid-configuration",
            provider.issuer.trim_end_matches('/')
        );
        let discovery: Discovery = csq_local::https::get_json(&url).await?;
        if discovery.issuer.trim_end_matches('/') != provider.issuer.trim_end_matches('/') {
            bail!(
                "{url} names issuer {}, not {}",
                discovery.issuer,
                provider.issuer
            );
        }
        let jwks: JwkSet = csq_local::https::get_json(&discovery.jwks_uri).await?;
        let mut keys = HashMap::new();
        for jwk in &jwks.keys {
            if let (Some(kid), Ok(key)) = (&jwk.common.key_id, DecodingKey::from_jwk(jwk)) {
                keys.insert(kid.clone(), key);
            }
        }
        if keys.is_empty() {
            bail!("{} has no key CSQ can use", discovery.jwks_uri);
        }
        Ok(OidcVerifier { provider, keys })
    }

    pub fn provider(&self) -> &IdentityProvider {
        &self.provider
    }

    /// The person an ID token names, if the provider signed it for our console.
    pub fn verify(&self, token: &str) -> Result<Caller, StaffAuthError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| StaffAuthError::Invalid)?;
        let key = header
            .kid
            .as_deref()
            .and_then(|k| self.keys.get(k))
            .ok_or(StaffAuthError::Invalid)?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&[self.provider.issuer.as_str()]);
        validation.set_audience(&[self.provider.client_id.as_str()]);
        let claims = jsonwebtoken::decode::<IdClaims>(token, key, &validation)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => StaffAuthError::Expired,
                _ => StaffAuthError::Invalid,
            })?
            .claims;
        let verified = match claims.email_verified {
            Some(serde_json::Value::Bool(b)) => b,
            Some(serde_json::Value::String(s)) => s == "true",
            _ => false,
        };
        match claims.email {
            Some(email) if verified && email.contains('@') => Ok(Caller::Person { email }),
            _ => Err(StaffAuthError::NoEmail),
        }
    }
}

/// Bearer tokens on the local host: operator tokens minted here (HS256) and,
/// with an identity provider, its ID tokens.
pub struct LocalStaffAuth {
    pub operator: Hs256,
    pub oidc: Option<std::sync::Arc<OidcVerifier>>,
}

impl StaffAuthenticator for LocalStaffAuth {
    fn authenticate(&self, parts: &Parts, now: DateTime<Utc>) -> Result<Caller, StaffAuthError> {
        let token = csq_core::http::bearer_token(parts).ok_or(StaffAuthError::Missing)?;
        let alg = jsonwebtoken::decode_header(token).map(|h| h.alg);
        match (&self.oidc, alg) {
            (Some(oidc), Ok(Algorithm::RS256)) => oidc.verify(token),
            _ => self.operator.authenticate(parts, now),
        }
    }
}
