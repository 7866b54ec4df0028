//! `POST /v1/forms`: the declaration system's contract (see DESIGN.md).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::json;

use super::{ApiError, IntegrationApi, IntegrationAuth};
use crate::app::issue::{
    IssueError, LaterHandlingError, LaterHandlingOutcome, MAX_FORMS_PER_DECLARATION,
};
use crate::app::times::{TimesError, TimesRecorded};
use crate::domain::declaration::{FormRequest, MAX_HANDLING, parse_later_handling};
use crate::domain::fields::DeclarationNumber;
use crate::domain::fields::FieldError;
use crate::domain::form::FormStatus;
use crate::domain::times::ReportedTimes;

pub fn router(state: IntegrationApi) -> Router {
    super::served(
        Router::new()
            .route("/v1/forms", post(issue_form))
            .route(
                "/v1/forms/{declaration_number}/handling",
                post(add_handling),
            )
            .route(
                "/v1/declarations/{declaration_number}/times",
                post(add_times),
            ),
    )
    .with_state(state)
}

fn check_caller(auth: &IntegrationAuth, parts: &Parts) -> Result<(), ApiError> {
    match auth {
        IntegrationAuth::Gateway(gateway) if gateway.verified(parts) => Ok(()),
        IntegrationAuth::Gateway(_) => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "This route takes only requests the gateway authenticated (IAM, SigV4-signed).",
        )),
        IntegrationAuth::BearerKey(key) => {
            let given = parts
                .headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .unwrap_or("");
            if !given.is_empty() && crate::auth::secrets_match(key, given.trim()) {
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

/// The body as JSON, or the error the declaration system can act on.
fn json_body(headers: &HeaderMap, body: &Bytes) -> Result<serde_json::Value, ApiError> {
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
    serde_json::from_slice(body).map_err(|e| {
        ApiError::Fields(
            StatusCode::BAD_REQUEST,
            vec![FieldError::new("$", format!("body is not valid JSON: {e}"))],
        )
    })
}

async fn issue_form(
    State(state): State<IntegrationApi>,
    parts: Parts,
    body: Bytes,
) -> Result<Response, ApiError> {
    check_caller(&state.auth, &parts)?;
    let headers = &parts.headers;
    let value = json_body(headers, &body)?;
    // Parsed here, at the edge: the use case takes a valid request only.
    let request = FormRequest::parse(&value)
        .map_err(|errors| ApiError::Fields(StatusCode::UNPROCESSABLE_ENTITY, errors))?;
    match state.issuance.issue_form(request).await {
        Ok(outcome) => {
            let status = if outcome.created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            Ok((status, Json(state.issuance.issued_form(&outcome.form))).into_response())
        }
        Err(IssueError::InvalidTimes(errors)) => {
            Err(ApiError::Fields(StatusCode::UNPROCESSABLE_ENTITY, errors))
        }
        Err(IssueError::Storage(e)) => Err(ApiError::internal(&e)),
    }
}

fn no_form() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "no_form",
        "No rating form was issued for this declaration number.",
    )
}

/// Records service times sent with later stages or on their own: 422 naming
/// each bad field (nothing stored), 404 for a declaration without a form.
async fn times_of(
    state: &IntegrationApi,
    number: &str,
    value: &serde_json::Value,
) -> Result<Option<TimesRecorded>, ApiError> {
    let times = ReportedTimes::parse(value)
        .map_err(|errors| ApiError::Fields(StatusCode::UNPROCESSABLE_ENTITY, errors))?;
    if times.is_empty() {
        return Ok(None);
    }
    record(state, number, &times).await.map(Some)
}

async fn record(
    state: &IntegrationApi,
    number: &str,
    times: &ReportedTimes,
) -> Result<TimesRecorded, ApiError> {
    state
        .issuance
        .record_times(number, times)
        .await
        .map_err(|e| match e {
            TimesError::NoForm => no_form(),
            TimesError::Invalid(errors) => {
                ApiError::Fields(StatusCode::UNPROCESSABLE_ENTITY, errors)
            }
            TimesError::Storage(e) => ApiError::internal(&e),
        })
}

/// `POST /v1/declarations/{declaration_number}/times`: service times after
/// the form (released, a stage finished), whatever the form's state. 200 with
/// what is on record; a repeated delivery changes nothing.
async fn add_times(
    State(state): State<IntegrationApi>,
    Path(number): Path<String>,
    parts: Parts,
    body: Bytes,
) -> Result<Response, ApiError> {
    check_caller(&state.auth, &parts)?;
    let value = json_body(&parts.headers, &body)?;
    if DeclarationNumber::parse(&number).is_err() {
        return Err(no_form());
    }
    let times = ReportedTimes::parse(&value)
        .map_err(|errors| ApiError::Fields(StatusCode::UNPROCESSABLE_ENTITY, errors))?;
    // A body without times changes nothing and answers what is on record.
    let recorded = record(&state, &number, &times).await?;
    Ok((StatusCode::OK, Json(recorded)).into_response())
}

/// `POST /v1/forms/{declaration_number}/handling`: stages handled after the
/// form was issued. 200 with the form when they joined it; 409 with the
/// follow-up form when the business had already submitted (or the form closed).
async fn add_handling(
    State(state): State<IntegrationApi>,
    Path(number): Path<String>,
    parts: Parts,
    body: Bytes,
) -> Result<Response, ApiError> {
    check_caller(&state.auth, &parts)?;
    let headers = &parts.headers;
    let value = json_body(headers, &body)?;
    if DeclarationNumber::parse(&number).is_err() {
        return Err(no_form());
    }
    let handling = parse_later_handling(&value)
        .map_err(|errors| ApiError::Fields(StatusCode::UNPROCESSABLE_ENTITY, errors))?;
    // Times are the declaration's facts: recorded first (checked, or 422
    // with nothing stored), whatever happens to the stages' forms.
    times_of(&state, &number, &value).await?;
    match state.issuance.add_later_handling(&number, handling).await {
        Ok(LaterHandlingOutcome::Added { form, .. }) => {
            Ok((StatusCode::OK, Json(state.issuance.issued_form(&form))).into_response())
        }
        Ok(LaterHandlingOutcome::FollowUp {
            first, follow_up, ..
        }) => {
            let (code, message) = if first.status == FormStatus::Submitted {
                (
                    "form_submitted",
                    "The business already submitted this declaration's form; the later stages are on a follow-up form.",
                )
            } else {
                (
                    "form_closed",
                    "This declaration's form can no longer be rated; the later stages are on a follow-up form.",
                )
            };
            Ok((
                StatusCode::CONFLICT,
                Json(json!({
                    "error": {"code": code, "message": message},
                    "follow_up": follow_up.map(|f| state.issuance.issued_form(&f)),
                })),
            )
                .into_response())
        }
        Err(LaterHandlingError::NoForm) => Err(no_form()),
        // A state of the declaration, not a fault of this request's fields.
        Err(LaterHandlingError::TooMany) => Ok((
            StatusCode::CONFLICT,
            Json(json!({
                "error": {
                    "code": "form_full",
                    "message": format!(
                        "A form carries at most {MAX_HANDLING} handling records and a declaration at most {MAX_FORMS_PER_DECLARATION} forms."
                    ),
                },
                "follow_up": null,
            })),
        )
            .into_response()),
        Err(LaterHandlingError::Storage(e)) => Err(ApiError::internal(&e)),
    }
}
