//! The local host with the authority's OpenID provider (`CSQ_OIDC_ISSUER`,
//! `CSQ_OIDC_CLIENT_ID`): the console signs a person in there (code flow
//! with PKCE) and sends the ID token; this host checks it (RS256, the
//! provider's published keys, issuer, audience, expiry) and takes the person
//! to be its verified email. Roles stay the directory's.
//!
//! Providers rotate their signing keys, publishing a new one before they sign
//! with it: the keys are read again every few hours, and at once (at most
//! once a minute) when a token names a key this host has not seen.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use anyhow::bail;
use axum::http::request::Parts;
use chrono::{DateTime, Utc};
use csq_core::auth::staff::{Hs256, StaffAuthError};
use csq_core::http::{IdentityProvider, StaffAuthenticator};
use csq_core::policy::Caller;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

/// How often the provider's keys are read again.
pub const KEY_REFRESH: Duration = Duration::from_secs(3 * 3600);
/// The shortest gap between two reads (an unknown key in many requests, or
/// in a forged token, must not become a flood at the provider).
const KEY_REFRESH_GAP: Duration = Duration::from_secs(60);

/// The provider's signing keys, from its discovery document, kept current.
pub struct OidcVerifier {
    provider: IdentityProvider,
    jwks_uri: String,
    keys: RwLock<HashMap<String, DecodingKey>>,
    /// A token named a key not among `keys`: read them again soon.
    unknown_key: tokio::sync::Notify,
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
        let keys = read_keys(&discovery.jwks_uri).await?;
        Ok(OidcVerifier {
            provider,
            jwks_uri: discovery.jwks_uri,
            keys: RwLock::new(keys),
            unknown_key: tokio::sync::Notify::new(),
        })
    }

    /// Reads the provider's keys again; a failed read keeps the ones held.
    /// Returns how many keys are held now.
    pub async fn refresh(&self) -> anyhow::Result<usize> {
        let keys = read_keys(&self.jwks_uri).await?;
        let n = keys.len();
        *self.keys.write().unwrap_or_else(|e| e.into_inner()) = keys;
        Ok(n)
    }

    /// Keeps the keys current until the task is aborted: every `every`, and
    /// soon after a token names an unknown key.
    pub async fn keep_keys_current(&self, every: Duration) {
        self.keep_keys_current_with_gap(every, KEY_REFRESH_GAP)
            .await
    }

    async fn keep_keys_current_with_gap(&self, every: Duration, gap: Duration) {
        let mut last = Instant::now();
        loop {
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = self.unknown_key.notified() => {}
            }
            let since = last.elapsed();
            if since < gap {
                tokio::time::sleep(gap - since).await;
            }
            last = Instant::now();
            match self.refresh().await {
                Ok(n) => tracing::info!(keys = n, "identity provider keys read"),
                Err(e) => {
                    tracing::warn!(error = %e, "identity provider keys not read; keeping the previous ones")
                }
            }
        }
    }

    pub fn provider(&self) -> &IdentityProvider {
        &self.provider
    }

    /// The person an ID token names, if the provider signed it for our console.
    pub fn verify(&self, token: &str) -> Result<Caller, StaffAuthError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| StaffAuthError::Invalid)?;
        let keys = self.keys.read().unwrap_or_else(|e| e.into_inner());
        let Some(key) = header.kid.as_deref().and_then(|k| keys.get(k)) else {
            // Perhaps a key the provider published since: read them again.
            self.unknown_key.notify_one();
            return Err(StaffAuthError::Invalid);
        };
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

/// The keys a JWKS document holds that CSQ can use (RSA with a key id).
async fn read_keys(jwks_uri: &str) -> anyhow::Result<HashMap<String, DecodingKey>> {
    let jwks: JwkSet = csq_local::https::get_json(jwks_uri).await?;
    let mut keys = HashMap::new();
    for jwk in &jwks.keys {
        if let (Some(kid), Ok(key)) = (&jwk.common.key_id, DecodingKey::from_jwk(jwk)) {
            keys.insert(kid.clone(), key);
        }
    }
    if keys.is_empty() {
        bail!("{jwks_uri} has no key CSQ can use");
    }
    Ok(keys)
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

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use axum::Json;
    use axum::extract::State;
    use axum::http::StatusCode;
    use axum::routing::get;
    use base64::Engine;
    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::{Value, json};

    use super::*;

    /// Two RSA keys made for these tests (`openssl genrsa 2048`): private
    /// key (PKCS#1 DER), and its public modulus and exponent as a JWK has them.
    fn test_key(name: &str) -> Value {
        let all: Value =
            serde_json::from_str(include_str!("../tests/fixtures/oidc-test-keys.json")).unwrap();
        all[name].clone()
    }

    fn public(key: &Value) -> Value {
        json!({"kty": "RSA", "use": "sig", "alg": "RS256", "kid": key["kid"], "n": key["n"], "e": key["e"]})
    }

    fn id_token(key: &Value, issuer: &str, email: &str) -> String {
        let der = base64::engine::general_purpose::STANDARD
            .decode(key["der"].as_str().unwrap())
            .unwrap();
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(key["kid"].as_str().unwrap().to_owned());
        let claims = json!({
            "iss": issuer, "aud": "csq-console", "sub": "p1", "email": email,
            "email_verified": true, "exp": Utc::now().timestamp() + 600,
        });
        jsonwebtoken::encode(&header, &claims, &EncodingKey::from_rsa_der(&der)).unwrap()
    }

    /// A provider's discovery and JWKS endpoints, its keys changeable (None: 500).
    async fn provider(jwks: Arc<Mutex<Option<Value>>>) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let discovery = json!({"issuer": base, "jwks_uri": format!("{base}/jwks")});
        let app = axum::Router::new()
            .route(
                "/.well-known/openid-configuration",
                get(move || async move { Json(discovery) }),
            )
            .route(
                "/jwks",
                get(|State(j): State<Arc<Mutex<Option<Value>>>>| async move {
                    match j.lock().unwrap().clone() {
                        Some(keys) => Ok(Json(keys)),
                        None => Err(StatusCode::INTERNAL_SERVER_ERROR),
                    }
                }),
            )
            .with_state(jwks);
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        base
    }

    #[tokio::test]
    async fn a_rotated_signing_key_is_read_again_and_an_old_one_dropped() {
        let (a, b) = (test_key("a"), test_key("b"));
        let jwks = Arc::new(Mutex::new(Some(json!({"keys": [public(&a)]}))));
        let issuer = provider(jwks.clone()).await;
        let verifier = Arc::new(
            OidcVerifier::discover(IdentityProvider {
                issuer: issuer.clone(),
                client_id: "csq-console".into(),
            })
            .await
            .unwrap(),
        );
        let person = |r: Result<Caller, StaffAuthError>| match r {
            Ok(Caller::Person { email }) => Ok(email),
            Ok(_) => Err(StaffAuthError::Invalid),
            Err(e) => Err(e),
        };
        let signed_a = id_token(&a, &issuer, "head@customs.test");
        assert_eq!(
            person(verifier.verify(&signed_a)),
            Ok("head@customs.test".into())
        );

        // The provider rotates: key b replaces key a. A token under b names a
        // key this host has not seen: refused now, and the keys read again.
        *jwks.lock().unwrap() = Some(json!({"keys": [public(&b)]}));
        let keeper = verifier.clone();
        let task = tokio::spawn(async move {
            keeper
                .keep_keys_current_with_gap(Duration::from_secs(3600), Duration::ZERO)
                .await
        });
        let signed_b = id_token(&b, &issuer, "head@customs.test");
        assert_eq!(
            person(verifier.verify(&signed_b)),
            Err(StaffAuthError::Invalid)
        );
        let mut accepted = false;
        for _ in 0..100 {
            tokio::time::sleep(Duration::from_millis(20)).await;
            if verifier.verify(&signed_b).is_ok() {
                accepted = true;
                break;
            }
        }
        assert!(accepted, "key b read after a token named it");
        assert_eq!(
            person(verifier.verify(&signed_a)),
            Err(StaffAuthError::Invalid),
            "key a is no longer the provider's"
        );

        // The provider failing to answer keeps the keys held.
        *jwks.lock().unwrap() = None;
        assert!(verifier.refresh().await.is_err());
        assert_eq!(
            person(verifier.verify(&signed_b)),
            Ok("head@customs.test".into())
        );
        task.abort();
    }
}
