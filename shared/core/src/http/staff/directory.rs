//! The org directory and the case rules: read by every member of staff,
//! replaced by the department.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::{Staff, query};
use crate::app::cases::CaseRulesError;
use crate::app::org::OrgError;
use crate::app::staff::QueryError;
use crate::domain::case::rules::CaseRules;
use crate::domain::org::OrgDirectory;
use crate::http::{ApiError, StaffApi};
use crate::policy::StaffRoute;

/// The directory as staff read it: each field chosen here, so a field added to
/// the domain record later stays out until this view names it.
#[derive(serde::Serialize)]
struct OrgView<'a> {
    version: u32,
    inspection_unit: &'a str,
    default_unit: &'a str,
    units: Vec<UnitView<'a>>,
    /// For the department, who keeps the directory: the people only it edits.
    #[serde(skip_serializing_if = "Option::is_none")]
    administrators: Option<&'a [crate::domain::org::Handler]>,
}

#[derive(serde::Serialize)]
struct UnitView<'a> {
    code: &'a str,
    name: &'a str,
    name_en: Option<&'a str>,
    kind: &'a str,
    parent: Option<&'a str>,
    head: Option<&'a crate::domain::org::Handler>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    handlers: &'a [crate::domain::org::Handler],
    #[serde(skip_serializing_if = "Option::is_none")]
    officers: Option<&'a [crate::domain::org::Officer]>,
    successor: Option<&'a str>,
    retired: bool,
}

/// `keeper`: the reader keeps the directory (the department), and sees the
/// whole document it edits, officers and administrators included.
fn org_view(version: u32, org: &OrgDirectory, keeper: bool) -> Response {
    Json(OrgView {
        version,
        inspection_unit: &org.inspection_unit,
        default_unit: &org.default_unit,
        administrators: keeper.then_some(org.administrators.as_slice()),
        units: org
            .units
            .iter()
            .map(|u| UnitView {
                code: &u.code,
                name: &u.name,
                name_en: u.name_en.as_deref(),
                kind: &u.kind,
                parent: u.parent.as_deref(),
                head: u.head.as_ref(),
                handlers: &u.handlers,
                officers: keeper.then_some(u.officers.as_slice()),
                successor: u.successor.as_deref(),
                retired: u.retired,
            })
            .collect(),
    })
    .into_response()
}

/// The directory the caller's scope was built from: read once per request.
pub(super) async fn org(Staff(who): Staff) -> Result<Response, ApiError> {
    who.may_use(StaffRoute::Directory)?;
    match who.org() {
        Some(org) => Ok(org_view(
            who.org_version(),
            org,
            who.may_use(StaffRoute::DirectoryChange).is_ok(),
        )),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "no_directory",
            "No org directory has been imported yet (csq org import FILE).",
        )),
    }
}

/// Replaces the org directory with a new version (department staff only): how
/// the directory is kept on AWS, where there is no `csq org import`. 201 with
/// the new version; 200 when the directory sent is the one in force.
pub(super) async fn replace_org(
    State(state): State<StaffApi>,
    Staff(who): Staff,
    body: Bytes,
) -> Result<Response, ApiError> {
    who.may_use(StaffRoute::DirectoryChange)?;
    let org: OrgDirectory = crate::http::object_body(&body, |e| {
        ApiError::Fields(
            StatusCode::UNPROCESSABLE_ENTITY,
            vec![crate::domain::fields::FieldError::new(
                "$",
                format!("not an org directory: {e}"),
            )],
        )
    })?;
    match state.directory.replace_org(org, &who.who.sub).await {
        Ok(saved) => {
            let status = if saved.created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            Ok((status, Json(saved.version)).into_response())
        }
        Err(OrgError::Invalid(errors)) => {
            Err(ApiError::Fields(StatusCode::UNPROCESSABLE_ENTITY, errors))
        }
        Err(e @ OrgError::Conflict) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            e.to_string(),
        )),
        Err(OrgError::Storage(e)) => Err(ApiError::internal(&e)),
    }
}

/// Who replaced the directory, when, and what changed: newest first.
pub(super) async fn org_versions(
    State(state): State<StaffApi>,
    Staff(who): Staff,
    q: Result<Query<crate::app::org::VersionsRequest>, QueryRejection>,
) -> Result<Response, ApiError> {
    who.may_use(StaffRoute::Directory)?;
    let q = query(q)?;
    let page = state
        .directory
        .org_versions(&q)
        .await
        .map_err(|e| ApiError::from(QueryError::from(e)))?;
    Ok(Json(json!({ "items": page.items, "next_cursor": page.next })).into_response())
}

/// One past version of the directory, as it was in force.
pub(super) async fn org_version(
    State(state): State<StaffApi>,
    Staff(who): Staff,
    Path(version): Path<String>,
) -> Result<Response, ApiError> {
    who.may_use(StaffRoute::Directory)?;
    let version: u32 = version.parse().map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_version",
            "A version is a whole number: 1, 2, 3…",
        )
    })?;
    match state.directory.org_at_version(version).await {
        Ok(Some(org)) => Ok(org_view(
            version,
            &org,
            who.may_use(StaffRoute::DirectoryChange).is_ok(),
        )),
        Ok(None) => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("There is no version {version} of the org directory."),
        )),
        Err(e) => Err(ApiError::internal(&e)),
    }
}

/// The case rules in force: holidays, deadlines, measures, violation categories.
pub(super) async fn case_rules(
    State(state): State<StaffApi>,
    Staff(_who): Staff,
) -> Result<Response, ApiError> {
    let stored = state
        .case_handling
        .case_rules()
        .await
        .map_err(|e| ApiError::internal(&e))?;
    Ok(Json(json!({
        "version": stored.version,
        "saved_at": stored.saved_at,
        "rules": stored.rules,
    }))
    .into_response())
}

#[derive(Deserialize)]
pub(super) struct RulesQuery {
    /// The version the editor read: a newer one in force gets 409.
    version: Option<u32>,
}

/// Replaces the case rules (department staff only): the holiday calendar is
/// maintained here (or with `csq case-rules import` on the local host).
pub(super) async fn replace_case_rules(
    State(state): State<StaffApi>,
    Staff(who): Staff,
    q: Result<Query<RulesQuery>, QueryRejection>,
    body: Bytes,
) -> Result<Response, ApiError> {
    who.may_use(StaffRoute::CaseRulesChange)?;
    let q = query(q)?;
    let not_rules = |e: String| {
        ApiError::Fields(
            StatusCode::UNPROCESSABLE_ENTITY,
            vec![crate::domain::fields::FieldError::new(
                "$",
                format!("not a case rules document: {e}"),
            )],
        )
    };
    let rules: CaseRules = crate::http::object_body(&body, not_rules)?;
    match state
        .case_handling
        .replace_case_rules(&who.who.sub, rules, q.version)
        .await
    {
        Ok(stored) => Ok(
            Json(json!({ "version": stored.version, "saved_at": stored.saved_at })).into_response(),
        ),
        Err(CaseRulesError::Invalid(errors)) => {
            Err(ApiError::Fields(StatusCode::UNPROCESSABLE_ENTITY, errors))
        }
        Err(e @ CaseRulesError::Conflict(_)) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            e.to_string(),
        )),
        Err(CaseRulesError::Storage(e)) => Err(ApiError::internal(&e)),
    }
}
