//! A person's requests about their data, as the department makes them: find,
//! export (the same, as a file to hand over) and erase, by the email address
//! or phone number in a POST body, so neither lands in a URL or a log.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::Staff;
use super::channels::body;
use crate::app::data_requests::HeldData;
use crate::domain::fields::FieldError;
use crate::domain::privacy::person::{PersonQuery, PersonQueryError};
use crate::http::{ApiError, StaffApi};
use crate::policy::StaffRoute;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PersonBody {
    email: Option<String>,
    phone: Option<String>,
}

const PERSON_BODY: &str = "{\"email\": \"...\"} or {\"phone\": \"...\"}";

fn person(bytes: &Bytes) -> Result<PersonQuery, ApiError> {
    let b: PersonBody = body(bytes, PERSON_BODY)?;
    PersonQuery::parse(b.email.as_deref(), b.phone.as_deref()).map_err(|e| {
        let field = match e {
            PersonQueryError::OneOf => "$",
            PersonQueryError::NotAnAddress(_) => "email",
            PersonQueryError::NotAPhone => "phone",
        };
        ApiError::Fields(
            StatusCode::UNPROCESSABLE_ENTITY,
            vec![FieldError::new(field, e.to_string())],
        )
    })
}

/// Everything held about the person the body names, audited as `what`.
async fn held(
    state: &StaffApi,
    who: &crate::auth::scope::Scope,
    bytes: &Bytes,
    what: &str,
) -> Result<HeldData, ApiError> {
    who.may_use(StaffRoute::PersonalData)?;
    let person = person(bytes)?;
    state
        .data_requests
        .find(&who.who.sub, &person, what)
        .await
        .map_err(|e| ApiError::internal(&e))
}

/// Everything held about a person.
pub(super) async fn find(
    State(state): State<StaffApi>,
    Staff(who): Staff,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let held = held(&state, &who, &bytes, "personal-data-find").await?;
    Ok(Json(held).into_response())
}

/// The same, as a JSON file to hand to the person.
pub(super) async fn export(
    State(state): State<StaffApi>,
    Staff(who): Staff,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let held = held(&state, &who, &bytes, "personal-data-export").await?;
    Ok((
        [
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"personal-data.json\"",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        Json(held),
    )
        .into_response())
}

/// Erases the person's data from every form and case (idempotent).
pub(super) async fn erase(
    State(state): State<StaffApi>,
    Staff(who): Staff,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    who.may_use(StaffRoute::PersonalData)?;
    let person = person(&bytes)?;
    let done = state
        .data_requests
        .erase(&who.who.sub, &person)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    Ok(Json(done).into_response())
}
