//! The staff API: JSON with cursor pagination, CSV export of statistics.
//! Every route needs a staff identity and answers only within its scope.

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::{ApiError, MAX_BODY_BYTES, StaffApi, security_headers};
use crate::app::cases::{CaseActionError, CaseActionRequest, CaseRulesError};
use crate::app::org::OrgError;
use crate::app::staff::{CaseListQuery, ListFilter, QueryError, StatsRequest, UnitStats};
use crate::auth::scope::Scope;
use crate::domain::case::CaseRuleError;
use crate::domain::case::rules::CaseRules;
use crate::domain::org::OrgDirectory;
use crate::policy::{CaseEventView, CaseView, Refusal, StaffRoute, StatsRowView};

pub fn router(state: StaffApi) -> Router {
    let outcome_pages = super::outcome::router(state.clone());
    Router::new()
        .route("/v1/org", get(org).put(replace_org))
        .route("/v1/org/versions", get(org_versions))
        .route("/v1/org/versions/{version}", get(org_version))
        .route("/v1/forms", get(list_forms))
        .route("/v1/reasons", get(reasons))
        .route("/v1/ratings", get(list_ratings))
        .route("/v1/ratings.csv", get(super::export::ratings_csv))
        .route("/v1/cases.csv", get(super::export::cases_csv))
        .route("/v1/cases", get(list_cases))
        .route("/v1/cases/{id}", get(case_detail))
        .route("/v1/cases/{id}/actions", post(case_action))
        .route("/v1/case-rules", get(case_rules).put(replace_case_rules))
        .route("/v1/stats", get(stats))
        .route("/v1/report", get(report))
        .route("/v1/rankings", get(rankings))
        .route("/v1/warnings", get(warnings))
        .route("/v1/me", get(me))
        .route("/v1/audit", get(audit))
        .route("/me", get(dashboard))
        .route("/v1/stats.csv", get(stats_csv))
        .route("/dashboard", get(dashboard))
        .route("/static/dashboard.js", get(dashboard_script))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(security_headers))
        .layer(axum::middleware::from_fn(super::request_span))
        .with_state(state)
        .merge(outcome_pages)
}

/// The dashboard page and script hold no data: they are public, and the script
/// calls the API with the staff token the person pastes in.
const DASHBOARD_HTML: &str = include_str!("dashboard/dashboard.html");
const DASHBOARD_JS: &str = include_str!("dashboard/dashboard.js");
/// The one page that runs a script: only our own, talking only to our own API.
const DASHBOARD_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

async fn dashboard() -> Response {
    (
        [
            (header::CONTENT_SECURITY_POLICY, DASHBOARD_CSP),
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        ],
        DASHBOARD_HTML,
    )
        .into_response()
}

async fn dashboard_script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        DASHBOARD_JS,
    )
        .into_response()
}

/// The authenticated caller and the units they may see, from the directory in force.
pub struct Staff(pub Scope);

impl FromRequestParts<StaffApi> for Staff {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &StaffApi,
    ) -> Result<Self, Self::Rejection> {
        let now = state.pages.now();
        let claims = state.auth.authenticate(parts, now)?;
        let current = state
            .directory
            .current_org()
            .await
            .map_err(|e| ApiError::internal(&e))?;
        let version = current.as_ref().map_or(0, |(v, _)| *v);
        let scope = Scope::new(claims, current.map(|(_, o)| o))?;
        Ok(Staff(scope.with_org_version(version)))
    }
}

pub(crate) fn query<T>(q: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    q.map(|Query(t)| t)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_query", e.body_text()))
}

impl From<QueryError> for ApiError {
    fn from(e: QueryError) -> Self {
        match e {
            QueryError::BadRequest(m) => ApiError::new(StatusCode::BAD_REQUEST, "bad_request", m),
            QueryError::NotFound => ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "No such item, or not in your scope.",
            ),
            QueryError::Forbidden(refusal) => refusal.into(),
            QueryError::Storage(e) => ApiError::internal(&e),
        }
    }
}

/// The directory as staff read it: each field chosen here, so a field added to
/// the domain record later stays out until this view names it.
#[derive(serde::Serialize)]
struct OrgView<'a> {
    version: u32,
    inspection_unit: &'a str,
    default_unit: &'a str,
    units: Vec<UnitView<'a>>,
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
    successor: Option<&'a str>,
    retired: bool,
}

fn org_view(version: u32, org: &OrgDirectory) -> Response {
    Json(OrgView {
        version,
        inspection_unit: &org.inspection_unit,
        default_unit: &org.default_unit,
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
                successor: u.successor.as_deref(),
                retired: u.retired,
            })
            .collect(),
    })
    .into_response()
}

/// The directory the caller's scope was built from: read once per request.
async fn org(Staff(who): Staff) -> Result<Response, ApiError> {
    who.may_use(StaffRoute::Directory)?;
    match who.org() {
        Some(org) => Ok(org_view(who.org_version(), org)),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "no_directory",
            "No org directory has been imported yet (csq org import FILE).",
        )),
    }
}

impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> Self {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", r.to_string())
    }
}

/// Replaces the org directory with a new version (department staff only): how
/// the directory is kept on AWS, where there is no `csq org import`. 201 with
/// the new version; 200 when the directory sent is the one in force.
async fn replace_org(
    State(state): State<StaffApi>,
    Staff(who): Staff,
    body: Bytes,
) -> Result<Response, ApiError> {
    who.may_use(StaffRoute::DirectoryChange)?;
    let org: OrgDirectory = serde_json::from_slice(&body).map_err(|e| {
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
async fn org_versions(
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
async fn org_version(
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
        Ok(Some(org)) => Ok(org_view(version, &org)),
        Ok(None) => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("There is no version {version} of the org directory."),
        )),
        Err(e) => Err(ApiError::internal(&e)),
    }
}

/// The predefined reasons with their labels, so clients show words, not codes.
async fn reasons(_who: Staff) -> Response {
    use crate::domain::declaration::Language;
    use crate::domain::rating_scale::{Polarity, Reason};
    let list: Vec<serde_json::Value> = Reason::ALL
        .iter()
        .map(|r| {
            json!({
                "code": r.code(),
                "vi": r.label(Language::Vi),
                "en": r.label(Language::En),
                "negative": r.polarity() == Polarity::Negative,
                "misconduct": r.is_misconduct(),
            })
        })
        .collect();
    Json(list).into_response()
}

async fn list_forms(
    State(state): State<StaffApi>,
    Staff(who): Staff,
    q: Result<Query<ListFilter>, QueryRejection>,
) -> Result<Response, ApiError> {
    who.may_use(StaffRoute::Forms)?;
    let filter = query(q)?;
    Ok(Json(state.records.list_forms(&who, &filter).await?).into_response())
}

async fn list_ratings(
    State(state): State<StaffApi>,
    Staff(who): Staff,
    q: Result<Query<ListFilter>, QueryRejection>,
) -> Result<Response, ApiError> {
    who.may_use(StaffRoute::Ratings)?;
    let filter = query(q)?;
    Ok(Json(state.records.list_ratings(&who, &filter).await?).into_response())
}

async fn list_cases(
    State(state): State<StaffApi>,
    Staff(who): Staff,
    q: Result<Query<CaseListQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    who.may_use(StaffRoute::Cases)?;
    let q = query(q)?;
    Ok(Json(state.records.list_cases(&who, &q).await?).into_response())
}

async fn case_detail(
    State(state): State<StaffApi>,
    Staff(who): Staff,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(state.records.case_detail(&who, &id).await?).into_response())
}

async fn case_action(
    State(state): State<StaffApi>,
    Staff(who): Staff,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body: CaseActionRequest = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_body",
            format!(
                "Send {{\"action\": \"verify|transfer|resolve|dismiss|note\", \"note\": \"...\", \"version\": n}} \
                 (transfer: \"to\"; resolve a complaint: \"upheld\", \"officers\", \"violation_category\", \"measure\"): {e}"
            ),
        )
    })?;
    match state.case_handling.act_on_case(&who, &id, &body).await {
        Ok((case, events)) => {
            let events: Vec<CaseEventView> = events.iter().map(CaseEventView::from).collect();
            Ok(
                Json(json!({ "case": CaseView::for_reader(&who, &case), "events": events }))
                    .into_response(),
            )
        }
        Err(CaseActionError::NotFound) => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "No such case, or not in your scope.",
        )),
        Err(e @ CaseActionError::Conflict(_)) => {
            let CaseActionError::Conflict(current) = &e else {
                unreachable!()
            };
            let body = json!({
                "error": { "code": "conflict", "message": e.to_string() },
                "current": CaseView::for_reader(&who, current),
            });
            Ok((StatusCode::CONFLICT, Json(body)).into_response())
        }
        Err(CaseActionError::Storage(e)) => Err(ApiError::internal(&e)),
        Err(e @ CaseActionError::Rule(CaseRuleError::NotAllowed { .. })) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "action_not_allowed",
            e.to_string(),
        )),
        Err(e) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_action",
            e.to_string(),
        )),
    }
}

/// The case rules in force: holidays, deadlines, measures, violation categories.
async fn case_rules(
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
struct RulesQuery {
    /// The version the editor read: a newer one in force gets 409.
    version: Option<u32>,
}

/// Replaces the case rules (department staff only): the holiday calendar is
/// maintained here (or with `csq case-rules import` on the local host).
async fn replace_case_rules(
    State(state): State<StaffApi>,
    Staff(who): Staff,
    q: Result<Query<RulesQuery>, QueryRejection>,
    body: Bytes,
) -> Result<Response, ApiError> {
    who.may_use(StaffRoute::CaseRulesChange)?;
    let q = query(q)?;
    let rules: CaseRules = serde_json::from_slice(&body).map_err(|e| {
        ApiError::Fields(
            StatusCode::UNPROCESSABLE_ENTITY,
            vec![crate::domain::fields::FieldError::new(
                "$",
                format!("not a case rules document: {e}"),
            )],
        )
    })?;
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

/// A unit's figures over a period beside the previous one.
async fn report(
    State(state): State<StaffApi>,
    Staff(who): Staff,
    q: Result<Query<crate::app::report::ReportRequest>, QueryRejection>,
) -> Result<Response, ApiError> {
    who.may_use(StaffRoute::Reports)?;
    let q = query(q)?;
    Ok(Json(state.figures.unit_report(&who, &q).await?).into_response())
}

/// Units of a level, or officers of an office, ranked fairly.
async fn rankings(
    State(state): State<StaffApi>,
    Staff(who): Staff,
    q: Result<Query<crate::app::report::RankingRequest>, QueryRejection>,
) -> Result<Response, ApiError> {
    who.may_use(StaffRoute::Rankings)?;
    let q = query(q)?;
    Ok(Json(state.figures.rankings(&who, &q).await?).into_response())
}

/// The newest weekly early warning, the flags within the reader's units.
async fn warnings(State(state): State<StaffApi>, Staff(who): Staff) -> Result<Response, ApiError> {
    Ok(Json(state.figures.early_warnings(&who).await?).into_response())
}

#[derive(Deserialize)]
struct PeriodQuery {
    from: Option<chrono::NaiveDate>,
    to: Option<chrono::NaiveDate>,
}

/// An officer's own figures and comments.
async fn me(
    State(state): State<StaffApi>,
    Staff(who): Staff,
    q: Result<Query<PeriodQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    who.may_use(StaffRoute::OwnPage)?;
    let q = query(q)?;
    Ok(Json(state.records.officer_report(&who, q.from, q.to).await?).into_response())
}

/// Who read which personal data, when (department only).
async fn audit(
    State(state): State<StaffApi>,
    Staff(who): Staff,
    q: Result<Query<ListFilter>, QueryRejection>,
) -> Result<Response, ApiError> {
    who.may_use(StaffRoute::AuditLog)?;
    let filter = query(q)?;
    Ok(Json(state.records.audit_log(&who, &filter).await?).into_response())
}

async fn stats_rows(
    state: &StaffApi,
    who: &Scope,
    q: Result<Query<StatsRequest>, QueryRejection>,
) -> Result<UnitStats, ApiError> {
    let q = query(q)?;
    Ok(state.figures.unit_stats(who, &q).await?)
}

async fn stats(
    State(state): State<StaffApi>,
    Staff(who): Staff,
    q: Result<Query<StatsRequest>, QueryRejection>,
) -> Result<Response, ApiError> {
    who.may_use(StaffRoute::Stats)?;
    Ok(Json(stats_rows(&state, &who, q).await?).into_response())
}

/// Spreadsheet programs run cells that start with = + - @ as formulas; a leading
/// apostrophe makes them text (the OWASP advice for CSV injection).
pub(crate) fn csv_cell(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

fn opt(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.4}")).unwrap_or_default()
}

pub fn stats_to_csv(rows: &[StatsRowView]) -> String {
    let mut out = String::from(
        "\u{feff}date,unit,ratings,level_1,level_2,level_3,level_4,level_5,average,satisfied_share,forms_issued,forms_submitted,response_rate,complaints_opened,complaints_closed,complaints_overdue,complaints_upheld,suggestions_opened,handling_1,handling_2,handling_3,handling_4,handling_5\r\n",
    );
    for r in rows {
        let c = r.level_counts;
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\r\n",
            r.date,
            csv_cell(&r.unit),
            r.ratings,
            c[0],
            c[1],
            c[2],
            c[3],
            c[4],
            opt(r.average),
            opt(r.satisfied_share),
            r.forms_issued,
            r.forms_submitted,
            opt(r.response_rate),
            r.complaints_opened,
            r.complaints_closed,
            r.complaints_overdue,
            r.complaints_upheld
                .map(|n| n.to_string())
                .unwrap_or_default(),
            r.suggestions_opened,
            r.handling_level_counts[0],
            r.handling_level_counts[1],
            r.handling_level_counts[2],
            r.handling_level_counts[3],
            r.handling_level_counts[4]
        ));
    }
    out
}

async fn stats_csv(
    State(state): State<StaffApi>,
    Staff(who): Staff,
    q: Result<Query<StatsRequest>, QueryRejection>,
) -> Result<Response, ApiError> {
    who.may_use(StaffRoute::Stats)?;
    let stats = stats_rows(&state, &who, q).await?;
    let (unit, rows) = (stats.unit, stats.days);
    let filename: String = unit
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"csq-stats-{filename}.csv\""),
            ),
        ],
        stats_to_csv(&rows),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_cannot_become_formulas() {
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("branch:03CC"), "branch:03CC");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
    }
}
