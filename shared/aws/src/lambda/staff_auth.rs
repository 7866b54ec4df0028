//! Staff identity on AWS: the HTTP API's JWT authorizer has verified the token
//! (signature, issuer, audience, expiry); the function reads its claims from the
//! request context and applies the same claim model as the local host.

use axum::http::request::Parts;
use chrono::{DateTime, Utc};
use csq_core::auth::staff::{StaffAuthError, StaffClaims};
use csq_core::http::StaffAuthenticator;
use lambda_http::request::RequestContext;

#[derive(Debug, Clone, Copy, Default)]
pub struct AuthorizerClaims;

impl StaffAuthenticator for AuthorizerClaims {
    fn authenticate(
        &self,
        parts: &Parts,
        _now: DateTime<Utc>,
    ) -> Result<StaffClaims, StaffAuthError> {
        let Some(RequestContext::ApiGatewayV2(ctx)) = parts.extensions.get::<RequestContext>()
        else {
            return Err(StaffAuthError::Missing);
        };
        let claims = ctx
            .authorizer
            .as_ref()
            .and_then(|a| a.jwt.as_ref())
            .map(|j| &j.claims)
            .ok_or(StaffAuthError::Missing)?;
        let payload: serde_json::Map<String, serde_json::Value> = claims
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect();
        StaffClaims::from_payload(&serde_json::Value::Object(payload))
    }
}

/// The declaration system on AWS: the integration route's IAM authorizer
/// verified its SigV4 signature and left the caller in the request context.
/// A request without it reached the function some other way and is refused.
#[derive(Debug, Clone, Copy, Default)]
pub struct IamCaller;

impl csq_core::http::GatewayCaller for IamCaller {
    fn verified(&self, parts: &Parts) -> bool {
        matches!(
            parts.extensions.get::<RequestContext>(),
            Some(RequestContext::ApiGatewayV2(ctx))
                if ctx.authorizer.as_ref().is_some_and(|a| a.iam.is_some())
        )
    }
}
