//! The retaliation watch's cases, for the inspection unit and the
//! department: `GET /v1/watch`, `GET /v1/watch/{id}`, and
//! `POST /v1/watch/{id}/actions` (verify, resolve, dismiss). Every read is
//! audited.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::Staff;
use super::channels::body;
use crate::app::watch::WatchError;
use crate::domain::fields::FieldError;
use crate::domain::watch::{Conduct, WatchCase};
use crate::http::{ApiError, StaffApi};

impl From<WatchError> for ApiError {
    fn from(e: WatchError) -> Self {
        match e {
            WatchError::Refused(r) => r.into(),
            WatchError::NotFound => {
                ApiError::new(StatusCode::NOT_FOUND, "not_found", "No such watch case.")
            }
            WatchError::Action(a) => ApiError::Fields(
                StatusCode::UNPROCESSABLE_ENTITY,
                vec![FieldError::new("action", a.to_string())],
            ),
            WatchError::Conflict => ApiError::new(StatusCode::CONFLICT, "conflict", e.to_string()),
            WatchError::Storage(e) => ApiError::internal(&e),
        }
    }
}

fn conduct(c: &Conduct) -> serde_json::Value {
    json!({
        "stages_with_limit": c.stages_with_limit,
        "stages_within_limit": c.stages_within_limit,
        "stages_timed": c.stages_timed,
        "stages_slower_than_office_median": c.stages_slow,
        "stages_counting_document_requests": c.stages_counting_requests,
        "stages_with_document_requests": c.stages_with_requests,
        "declarations_with_lane_facts": c.declarations_with_lane_facts,
        "lanes_changed_by_hand": c.lanes_changed_by_hand,
    })
}

/// A watch case as the inspection unit reads it: the business and office
/// watched, what was found, and the figures (never another business's name).
fn view(c: &WatchCase) -> serde_json::Value {
    json!({
        "id": c.id,
        "raised_on": c.raised_on,
        "status": c.status,
        "business_tax_code": c.flag.tax_code,
        "office": c.flag.office,
        "watched_since": c.flag.since,
        "found": c.flag.found.iter().map(|(what, p)| json!({"comparison": what, "p_value": p})).collect::<Vec<_>>(),
        "before": conduct(&c.flag.before),
        "after": conduct(&c.flag.after),
        "office_others_after": conduct(&c.flag.others_after),
        "trail": c.trail.iter().map(|s| json!({"at": s.at, "by": s.by, "action": s.action, "note": s.note})).collect::<Vec<_>>(),
        "version": c.version,
    })
}

pub(super) async fn list(
    State(state): State<StaffApi>,
    Staff(who): Staff,
) -> Result<Response, ApiError> {
    let cases = state.watch.list(&who).await?;
    Ok(Json(json!({"items": cases.iter().map(view).collect::<Vec<_>>()})).into_response())
}

pub(super) async fn read(
    State(state): State<StaffApi>,
    Staff(who): Staff,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(view(&state.watch.read(&who, &id).await?)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ActionBody {
    action: String,
    note: Option<String>,
}

pub(super) async fn act(
    State(state): State<StaffApi>,
    Staff(who): Staff,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let b: ActionBody = body(
        &bytes,
        "{\"action\": \"verify|resolve|dismiss\", \"note\": \"...\"}",
    )?;
    let case = state
        .watch
        .act(&who, &id, &b.action, b.note.as_deref())
        .await?;
    Ok(Json(view(&case)).into_response())
}
