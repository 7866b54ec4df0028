//! `POST /v1/forms`: the declaration system's contract (see DESIGN.md).

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};

use super::{ApiError, HttpState, IntegrationAuth, MAX_BODY_BYTES, security_headers};
use crate::app::issue::{IssueError, IssuedForm};
use crate::auth::hmac_sign;
use crate::domain::fields::FieldError;

pub fn router(state: HttpState) -> Router {
    Router::new()
        .route("/v1/forms", post(issue_form))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(security_headers))
        .with_state(state)
}

/// Compares keys by their MACs, so the comparison time says nothing about the key.
fn key_matches(expected: &str, given: &str) -> bool {
    hmac_sign(b"csq-integration-key", expected.as_bytes())
        == hmac_sign(b"csq-integration-key", given.as_bytes())
}

fn check_caller(auth: &IntegrationAuth, headers: &HeaderMap) -> Result<(), ApiError> {
    match auth {
        IntegrationAuth::Gateway => Ok(()),
        IntegrationAuth::BearerKey(key) => {
            let given = headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .unwrap_or("");
            if !given.is_empty() && key_matches(key, given.trim()) {
                Ok(())
            } else {
                Err(ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "unauthorized",
                    "A valid integration key is required (Authorization: Bearer <key>).",
                ))
            }
        }
    }
}

async fn issue_form(
    State(state): State<HttpState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    check_caller(&state.integration_auth, &headers)?;
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/json")
        });
    if !is_json {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Send the body as application/json.",
        ));
    }
    let value: serde_json::Value = serde_json::from_slice(&body).map_err(|e| {
        ApiError::Fields(
            StatusCode::BAD_REQUEST,
            vec![FieldError::new("$", format!("body is not valid JSON: {e}"))],
        )
    })?;
    match state.csq.issue_form(&value).await {
        Ok(outcome) => {
            let status = if outcome.created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            Ok((
                status,
                Json(IssuedForm::new(&outcome.form, &state.csq.settings)),
            )
                .into_response())
        }
        Err(IssueError::Invalid(errors)) => {
            Err(ApiError::Fields(StatusCode::UNPROCESSABLE_ENTITY, errors))
        }
        Err(IssueError::Storage(e)) => Err(ApiError::internal(&e)),
    }
}
