//! The staff API: JSON with cursor pagination, CSV export of statistics.
//! Every route needs a staff identity and answers only within its scope.
//! The directory and case rules routes are in `directory.rs`, figures and
//! their CSV in `figures.rs`; listings, cases and the reader's own page here.

mod channels;
mod directory;
mod figures;
mod personal_data;
mod watch;

pub(crate) use figures::csv_cell;

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::sign_in::{CSRF_HEADER, SESSION_COOKIE};
use super::{ApiError, StaffApi};
use crate::app::cases::{CaseActionError, CaseActionRequest};
use crate::app::staff::{CaseListQuery, ListFilter, QueryError};
use crate::auth::scope::Scope;
use crate::auth::staff::StaffAuthError;
use crate::domain::case::CaseRuleError;
use crate::policy::{CaseEventView, CaseView, Refusal, StaffRoute};
use directory::{case_rules, org, org_version, org_versions, replace_case_rules, replace_org};
use figures::{rankings, report, stats, stats_csv, warnings};

pub fn router(state: StaffApi) -> Router {
    let outcome_pages = super::outcome::router(state.clone());
    let webhooks_routes = get(channels::webhooks).post(channels::add_webhook);
    crate::http::served(
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
            .route("/v1/suppressions", post(channels::suppress))
            .route(
                "/v1/suppressions/lookup",
                post(channels::suppression_lookup),
            )
            .route("/v1/suppressions/lift", post(channels::lift_suppression))
            .route("/v1/webhooks", webhooks_routes)
            .route("/v1/webhooks/{id}", delete(channels::remove_webhook))
            .route(
                "/v1/kiosks",
                get(channels::kiosks).post(channels::register_kiosk),
            )
            .route("/v1/kiosks/{id}/revoke", post(channels::revoke_kiosk))
            .route("/v1/watch", get(watch::list))
            .route("/v1/watch/{id}", get(watch::read))
            .route("/v1/watch/{id}/actions", post(watch::act))
            .route("/v1/webhooks/dead-letters", get(channels::dead_letters))
            .route("/v1/webhooks/redeliver", post(channels::redeliver))
            .route("/v1/personal-data/find", post(personal_data::find))
            .route("/v1/personal-data/export", post(personal_data::export))
            .route("/v1/personal-data/erase", post(personal_data::erase))
            .route("/me", get(dashboard))
            .route("/v1/stats.csv", get(stats_csv))
            .route("/dashboard", get(dashboard))
            .route("/static/dashboard.js", get(dashboard_script))
            .route("/auth/config", get(sign_in_config))
            .route("/v1/session", get(who_am_i)),
    )
    .with_state(state)
    .merge(outcome_pages)
}

/// The dashboard page and script hold no data: they are public, and the script
/// calls the API with the staff token the person pastes in.
const DASHBOARD_HTML: &str = include_str!("../dashboard/dashboard.html");

const DASHBOARD_JS: &str = include_str!("../dashboard/dashboard.js");

/// The one page that runs a script: only our own, talking only to our own
/// API and, where staff sign in there, the identity provider.
fn dashboard_csp(idp: Option<&super::IdentityProvider>) -> String {
    let extra: String = idp
        .map(|i| i.origins().iter().map(|o| format!(" {o}")).collect())
        .unwrap_or_default();
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'{extra}; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
}

/// How the console signs a person in here: at the identity provider, or by a
/// one-time code from this machine.
async fn sign_in_config(State(state): State<StaffApi>) -> Response {
    match &state.identity_provider {
        Some(idp) => {
            Json(json!({"method": "oidc", "issuer": idp.issuer, "client_id": idp.client_id}))
                .into_response()
        }
        None if state.sessions.is_some() => Json(json!({"method": "code"})).into_response(),
        None => Json(json!({"method": "token"})).into_response(),
    }
}

/// Who the caller is and every role the directory in force gives them: the
/// console's first call with a provider's token.
async fn who_am_i(
    State(state): State<StaffApi>,
    Signed(caller): Signed,
) -> Result<Response, ApiError> {
    use crate::policy::{Caller, RoleView, grants};
    let (email, roles) = match caller {
        Caller::Person { email } => {
            let org = state
                .directory
                .current_org()
                .await
                .map_err(|e| ApiError::internal(&e))?
                .map(|(_, o)| o);
            let held = org.as_ref().map(|o| grants(o, &email)).unwrap_or_default();
            if held.is_empty() {
                return Err(StaffAuthError::NotInDirectory.into());
            }
            let name = org
                .as_ref()
                .and_then(|o| crate::app::sign_in::name_of(o, &email));
            let roles: Vec<RoleView> = match &org {
                Some(o) => held
                    .iter()
                    .map(|g| RoleView::for_person(o, &email, g))
                    .collect(),
                None => held.iter().map(RoleView::from).collect(),
            };
            return Ok(
                Json(json!({"email": email, "name": name, "roles": roles, "csrf": ""}))
                    .into_response(),
            );
        }
        Caller::Operator(claims) => (claims.sub.clone(), vec![RoleView::from(&claims)]),
    };
    Ok(Json(json!({"email": email, "name": null, "roles": roles, "csrf": ""})).into_response())
}

async fn dashboard(State(state): State<StaffApi>) -> Response {
    let csp = dashboard_csp(state.identity_provider.as_ref());
    (
        [
            (header::CONTENT_SECURITY_POLICY, csp.as_str()),
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

/// The role a request acts in, for a person the directory names in several
/// (a grant code such as `unit_head:03CC`; none: their widest).
pub const ROLE_HEADER: &str = "x-csq-role";

/// Who is calling, as the host identified them (a signed-in session, a
/// provider's token, an operator token), before the directory says what they may do.
pub struct Signed(pub crate::policy::Caller);

impl FromRequestParts<StaffApi> for Signed {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &StaffApi,
    ) -> Result<Self, Self::Rejection> {
        let now = state.pages.now();
        let caller = match (
            &state.sessions,
            super::cookie_value(&parts.headers, SESSION_COOKIE),
        ) {
            // A signed-in console (a bearer token, if any, is the caller's choice).
            (Some(sign_in), Some(token)) if !parts.headers.contains_key(header::AUTHORIZATION) => {
                let session = sign_in
                    .person(&token)
                    .await
                    .map_err(|e| ApiError::internal(&e))?
                    .ok_or(StaffAuthError::Expired)?;
                if !parts.method.is_safe() {
                    let given = parts
                        .headers
                        .get(CSRF_HEADER)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("");
                    if !sign_in.csrf_ok(&token, given).await {
                        return Err(super::sign_in::csrf_refused());
                    }
                }
                crate::policy::Caller::Person {
                    email: session.email,
                }
            }
            _ => state.auth.authenticate(parts, now)?,
        };
        Ok(Signed(caller))
    }
}

/// The authenticated caller and the units they may see, from the directory in force.
pub struct Staff(pub Scope);

impl FromRequestParts<StaffApi> for Staff {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &StaffApi,
    ) -> Result<Self, Self::Rejection> {
        let Signed(caller) = Signed::from_request_parts(parts, state).await?;
        let current = state
            .directory
            .current_org()
            .await
            .map_err(|e| ApiError::internal(&e))?;
        // A person holding several roles says which one a request acts in.
        let wanted = parts
            .headers
            .get(ROLE_HEADER)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty());
        Ok(Staff(crate::policy::scope_of(
            caller,
            current,
            wanted,
            state.first_administrator.as_deref(),
        )?))
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

impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> Self {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", r.to_string())
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
    let body: CaseActionRequest = crate::http::object_body(&body, |e| {
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
