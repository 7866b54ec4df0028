//! Staff identity on AWS: the HTTP API's JWT authorizer has verified the token
//! (signature, issuer, audience, expiry); the function reads who the person is
//! (their verified email) from the request context. What they may do is the
//! directory's, as on the local host: no claim of the token grants a role.

use axum::http::request::Parts;
use chrono::{DateTime, Utc};
use csq_core::auth::staff::StaffAuthError;
use csq_core::http::StaffAuthenticator;
use csq_core::policy::Caller;
use lambda_http::request::RequestContext;

#[derive(Debug, Clone, Copy, Default)]
pub struct AuthorizerClaims;

impl StaffAuthenticator for AuthorizerClaims {
    fn authenticate(&self, parts: &Parts, _now: DateTime<Utc>) -> Result<Caller, StaffAuthError> {
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
        person(claims)
    }
}

/// The person an identity provider's token names: its `email`, unless the
/// provider says it is not verified (Cognito and Entra ID say so in
/// `email_verified`; an address nobody proved is nobody's).
pub fn person(
    claims: &std::collections::HashMap<String, String>,
) -> Result<Caller, StaffAuthError> {
    if claims.get("email_verified").is_some_and(|v| v == "false") {
        return Err(StaffAuthError::NoEmail);
    }
    let email = claims
        .get("email")
        .map(|e| e.trim())
        .filter(|e| e.contains('@'))
        .ok_or(StaffAuthError::NoEmail)?;
    Ok(Caller::Person {
        email: email.to_owned(),
    })
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
