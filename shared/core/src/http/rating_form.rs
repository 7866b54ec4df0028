//! The public rating form: `GET /f/{token}` shows it (and records nothing),
//! `POST /f/{token}` checks it and shows the review ("Ghi"), `POST /f/{token}/submit`
//! stores it once ("Gửi").

use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::pages::{self, StatusKind};
use super::{PublicSite, stylesheet};
use crate::app::rate::{LinkError, SubmitError};
use crate::domain::declaration::Language;
use crate::domain::form::{Channel, Form as RatingForm};

const CSRF_COOKIE: &str = "csq_csrf";

pub fn router(state: PublicSite) -> Router {
    let public_report = super::public::router(state.clone());
    super::served(
        Router::new()
            .route("/f/{token}", get(show_form).post(review))
            .route("/f/{token}/submit", post(submit))
            .route("/f/{token}/qr.svg", get(qr_code))
            .route(
                "/u/{token}",
                get(super::unsubscribe::show).post(super::unsubscribe::one_click),
            )
            .route("/kiosk", get(super::kiosk::start).post(super::kiosk::open))
            .route("/kiosk/enrol", post(super::kiosk::enrol))
            .route("/privacy", get(privacy))
            .route("/static/csq.css", get(stylesheet))
            .route("/static/rating.js", get(super::rating_script))
            .route("/favicon.ico", get(no_icon)),
    )
    .layer(axum::middleware::from_fn(super::compress::gzip))
    .with_state(state)
    .merge(public_report)
}

/// The full privacy notice, in the language asked for (Vietnamese by default).
async fn privacy(State(state): State<PublicSite>, Query(q): Query<LangQuery>) -> Response {
    let lang = q
        .lang
        .as_deref()
        .and_then(Language::from_code)
        .unwrap_or(Language::Vi);
    match state.pages.privacy_page(lang).await {
        Ok(text) => (
            [(header::CACHE_CONTROL, "public, max-age=300")],
            Html(pages::privacy_page(lang, &text).into_string()),
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "privacy page storage failure");
            status_response(StatusKind::Unavailable)
        }
    }
}

/// Browsers ask every origin for an icon; CSQ has none, and says so without an error.
async fn no_icon() -> Response {
    (
        StatusCode::NO_CONTENT,
        [(header::CACHE_CONTROL, "public, max-age=86400")],
    )
        .into_response()
}

/// The QR code of a form link. Only the signature is checked (no storage read):
/// the code holds nothing but the link itself, which the caller already has.
async fn qr_code(State(state): State<PublicSite>, Path(token): Path<String>) -> Response {
    let Ok(code) = state.pages.form_qr(&token).await else {
        return status_response(StatusKind::NotFound);
    };
    match code {
        Some(svg) => (
            [
                (header::CONTENT_TYPE, "image/svg+xml"),
                (header::CACHE_CONTROL, "private, max-age=86400"),
            ],
            svg,
        )
            .into_response(),
        None => status_response(StatusKind::NotFound),
    }
}

fn status_response(kind: StatusKind) -> Response {
    let status = match kind {
        StatusKind::NotFound => StatusCode::NOT_FOUND,
        StatusKind::Expired => StatusCode::GONE,
        StatusKind::AlreadySubmitted => StatusCode::CONFLICT,
        StatusKind::SessionExpired => StatusCode::FORBIDDEN,
        StatusKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        StatusKind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
    };
    (status, Html(pages::status_page(kind).into_string())).into_response()
}

fn link_error_response(e: LinkError) -> Response {
    match e {
        LinkError::NotFound => status_response(StatusKind::NotFound),
        LinkError::Expired(_) => status_response(StatusKind::Expired),
        LinkError::AlreadySubmitted(_) => status_response(StatusKind::AlreadySubmitted),
        LinkError::Storage(e) => {
            tracing::error!(error = %e, "rating form storage failure");
            status_response(StatusKind::Unavailable)
        }
    }
}

/// The form again with what was typed and what is wrong (422), or the page
/// for a link that cannot be used.
fn submit_error_response(
    e: SubmitError,
    token: &str,
    lang: Language,
    csrf: &str,
    fields: &[(String, String)],
    privacy: &crate::domain::privacy::PrivacyText,
) -> Response {
    match e {
        SubmitError::Invalid { form, errors } => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Html(
                pages::form_page(&form, token, lang, csrf, fields, &errors, privacy, false)
                    .into_string(),
            ),
        )
            .into_response(),
        SubmitError::Link(e) => link_error_response(e),
    }
}

fn language(requested: Option<&str>, form: &RatingForm) -> Language {
    requested
        .and_then(Language::from_code)
        .unwrap_or(form.business.language)
}

#[derive(Deserialize)]
struct LangQuery {
    lang: Option<String>,
    /// The office's level chosen with a button of the invitation email:
    /// shown chosen, with a button that sends at once. Opening records nothing.
    level: Option<String>,
    /// How the business came: `email`, `email_button` (the links of the
    /// invitation), none for the declaration software's link.
    via: Option<String>,
}

async fn show_form(
    State(state): State<PublicSite>,
    Path(token): Path<String>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let form = match state.rating.open_form(&token).await {
        Ok(f) => f,
        Err(e) => return link_error_response(e),
    };
    let lang = language(q.lang.as_deref(), &form);
    let (nonce, set_cookie) =
        super::csrf_nonce_or_new(&headers, CSRF_COOKIE, "/f/", state.pages.public_url());
    let csrf = state.pages.csrf_token(&form.id, &nonce);
    let privacy = state.pages.privacy_notice(lang);
    let mut chosen: Vec<(String, String)> = q
        .level
        .as_deref()
        .and_then(|l| crate::domain::rating_scale::Level::new(l.parse().ok()?))
        .and_then(|level| {
            let office = form
                .subjects
                .iter()
                .position(|s| s.kind == crate::domain::form::SubjectKind::Branch)?;
            Some(vec![(format!("level.{office}"), level.value().to_string())])
        })
        .unwrap_or_default();
    let send_now = !chosen.is_empty();
    if let Some(via) = q.via.as_deref().and_then(Channel::from_code) {
        chosen.push(("via".into(), via.code().into()));
    }
    let page = pages::form_page(&form, &token, lang, &csrf, &chosen, &[], &privacy, send_now);
    let mut res = Html(page.into_string()).into_response();
    if let Some(cookie) = set_cookie {
        res.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    res
}

/// Reads the posted fields and checks the CSRF pair; on failure, the page to show.
async fn posted_fields(
    state: &PublicSite,
    token: &str,
    headers: &HeaderMap,
    body: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Result<(RatingForm, Vec<(String, String)>, String, Language), Response> {
    let Form(fields) = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            status_response(StatusKind::TooLarge)
        } else {
            (
                StatusCode::BAD_REQUEST,
                Html(pages::status_page(StatusKind::SessionExpired).into_string()),
            )
                .into_response()
        }
    })?;
    let form = state
        .rating
        .open_form(token)
        .await
        .map_err(link_error_response)?;
    let posted_csrf = fields
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    let nonce = super::cookie_value(headers, CSRF_COOKIE).unwrap_or_default();
    if !state.pages.csrf_ok(&form.id, &nonce, posted_csrf).await {
        return Err(status_response(StatusKind::SessionExpired));
    }
    let lang = language(
        fields
            .iter()
            .find(|(k, _)| k == "lang")
            .map(|(_, v)| v.as_str()),
        &form,
    );
    let csrf = posted_csrf.to_owned();
    Ok((form, fields, csrf, lang))
}

async fn review(
    State(state): State<PublicSite>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    let (form, fields, csrf, lang) = match posted_fields(&state, &token, &headers, body).await {
        Ok(x) => x,
        Err(res) => return res,
    };
    let privacy = state.pages.privacy_notice(lang);
    let editing = fields.iter().any(|(k, v)| k == "action" && v == "edit");
    if editing {
        return Html(
            pages::form_page(&form, &token, lang, &csrf, &fields, &[], &privacy, false)
                .into_string(),
        )
        .into_response();
    }
    match state.rating.review_submission(&token, &fields).await {
        Ok((form, submission)) => Html(
            pages::review_page(&form, &token, lang, &csrf, &fields, &submission, &privacy)
                .into_string(),
        )
        .into_response(),
        Err(e) => submit_error_response(e, &token, lang, &csrf, &fields, &privacy),
    }
}

async fn submit(
    State(state): State<PublicSite>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    let (_, fields, csrf, lang) = match posted_fields(&state, &token, &headers, body).await {
        Ok(x) => x,
        Err(res) => return res,
    };
    let kiosk = super::kiosk::credential(&headers);
    match state
        .rating
        .submit_form(&token, &fields, kiosk.as_deref())
        .await
    {
        Ok((form, complaint)) => {
            // At the counter, the tablet goes back to its start screen.
            let at_counter = kiosk.is_some() && pages::value(&fields, "via") == "kiosk";
            Html(pages::thanks_page(&form, lang, complaint, at_counter).into_string())
                .into_response()
        }
        Err(e) => {
            let privacy = state.pages.privacy_notice(lang);
            submit_error_response(e, &token, lang, &csrf, &fields, &privacy)
        }
    }
}
