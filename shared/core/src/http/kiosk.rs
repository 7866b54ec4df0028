//! Kiosk mode, the counter channel: `GET /kiosk` is the tablet's start
//! screen (or, on a tablet not registered, the box for its credential);
//! `POST /kiosk/enrol` keeps the credential on the tablet (a cookie);
//! `POST /kiosk` opens the form of a declaration of the tablet's office.
//! The rating pages then run in kiosk mode (`via=kiosk`): no autofill, back
//! to the start screen after the submission or a minute idle.

use axum::extract::{Form, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::PublicSite;
use super::pages::layout;
use crate::app::rate::KioskOpenError;
use crate::domain::declaration::Language;
use crate::domain::kiosk::{IDLE_SECONDS, Kiosk};

/// The tablet's credential, kept by its browser.
pub(crate) const KIOSK_COOKIE: &str = "csq_kiosk";

/// The credential the request's browser holds, if any.
pub(crate) fn credential(headers: &HeaderMap) -> Option<String> {
    super::cookie_value(headers, KIOSK_COOKIE)
}

fn cookie(value: &str, max_age: u32, public_url: &str) -> Option<HeaderValue> {
    let secure = super::secure_attribute(public_url);
    HeaderValue::from_str(&format!(
        "{KIOSK_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    ))
    .ok()
}

/// Both languages on each kiosk screen: staff and businesses share the tablet.
fn both(vi: &str, en: &str) -> Markup {
    html! { (vi) br; span.muted lang="en" { (en) } }
}

/// Both languages on a button, in its own colours.
fn both_on_button(vi: &str, en: &str) -> Markup {
    html! { (vi) " / " span lang="en" { (en) } }
}

fn start_page(kiosk: &Kiosk, problem: Option<(&str, &str)>) -> Markup {
    layout(
        Language::Vi,
        "Đánh giá tại quầy",
        None,
        html! {
            section.card {
                h1 { (both("Đánh giá tại quầy", "Rate us at the counter")) }
                p.muted { (kiosk.name) " · " (kiosk.office) }
                @if let Some((vi, en)) = problem {
                    p.error role="alert" { (both(vi, en)) }
                }
                form method="post" action="/kiosk" autocomplete="off" {
                    label for="declaration" {
                        (both("Số tờ khai (12 chữ số)", "Declaration number (12 digits)"))
                    }
                    input #declaration name="declaration" inputmode="numeric"
                        pattern="[0-9]{12}" maxlength="12" required autofocus;
                    div.actions { button type="submit" { (both_on_button("Mở phiếu đánh giá", "Open the form")) } }
                }
            }
        },
    )
}

fn enrol_page(problem: bool) -> Markup {
    layout(
        Language::Vi,
        "Đăng ký máy tính bảng",
        None,
        html! {
            section.card {
                h1 { (both("Máy tính bảng chưa được đăng ký", "This tablet is not registered")) }
                p { (both(
                    "Nhập mã do Cục cấp cho máy này (bảng điều khiển, mục Cài đặt).",
                    "Enter the code the department issued for this tablet (console, Settings).",
                )) }
                @if problem {
                    p.error role="alert" { (both(
                        "Mã không đúng hoặc máy đã bị thu hồi.",
                        "The code is wrong or the tablet was revoked.",
                    )) }
                }
                form method="post" action="/kiosk/enrol" autocomplete="off" {
                    label for="code" { (both("Mã đăng ký", "Registration code")) }
                    input #code name="code" type="password" required;
                    div.actions { button type="submit" { (both_on_button("Đăng ký", "Register")) } }
                }
            }
        },
    )
}

/// The tablet's own screen after a submission: nothing of the answer, back
/// to the start by itself (the page's script) or with the button.
pub(crate) fn after_submission() -> Markup {
    html! {
        p data-kiosk-idle="10" {
            a.button href="/kiosk" { (both_on_button("Tờ khai tiếp theo", "Next declaration")) }
        }
    }
}

/// The idle time of a form page at the counter.
pub(crate) fn idle_seconds() -> u32 {
    IDLE_SECONDS
}

fn unavailable() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Html(super::pages::status_page(super::pages::StatusKind::Unavailable).into_string()),
    )
        .into_response()
}

pub(super) async fn start(State(state): State<PublicSite>, headers: HeaderMap) -> Response {
    let Some(credential) = credential(&headers) else {
        return Html(enrol_page(false).into_string()).into_response();
    };
    match state.rating.kiosk_by_credential(&credential).await {
        Ok(Some(kiosk)) => Html(start_page(&kiosk, None).into_string()).into_response(),
        Ok(None) => forget_tablet(&state),
        Err(e) => {
            tracing::error!(error = %e, "kiosk storage failure");
            unavailable()
        }
    }
}

/// A revoked or unknown credential: the enrolment box, and the cookie gone.
fn forget_tablet(state: &PublicSite) -> Response {
    let mut res = (StatusCode::FORBIDDEN, Html(enrol_page(true).into_string())).into_response();
    if let Some(c) = cookie("", 0, state.pages.public_url()) {
        res.headers_mut().insert(header::SET_COOKIE, c);
    }
    res
}

#[derive(Deserialize)]
pub(super) struct Enrolment {
    code: String,
}

pub(super) async fn enrol(
    State(state): State<PublicSite>,
    body: Result<Form<Enrolment>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Ok(Form(Enrolment { code })) = body else {
        return (
            StatusCode::BAD_REQUEST,
            Html(enrol_page(true).into_string()),
        )
            .into_response();
    };
    match state.rating.kiosk_by_credential(code.trim()).await {
        Ok(Some(_)) => {
            let mut res = (StatusCode::SEE_OTHER, [(header::LOCATION, "/kiosk")]).into_response();
            // A year: the tablet stays registered until the department revokes it.
            if let Some(c) = cookie(code.trim(), 365 * 86_400, state.pages.public_url()) {
                res.headers_mut().insert(header::SET_COOKIE, c);
            }
            res
        }
        Ok(None) => (StatusCode::FORBIDDEN, Html(enrol_page(true).into_string())).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "kiosk storage failure");
            unavailable()
        }
    }
}

#[derive(Deserialize)]
pub(super) struct Opening {
    declaration: String,
}

pub(super) async fn open(
    State(state): State<PublicSite>,
    headers: HeaderMap,
    body: Result<Form<Opening>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Some(credential) = credential(&headers) else {
        return forget_tablet(&state);
    };
    let number = body.map(|Form(o)| o.declaration).unwrap_or_default();
    let refused = |kiosk: &Kiosk, status: StatusCode, vi: &str, en: &str| {
        (
            status,
            Html(start_page(kiosk, Some((vi, en))).into_string()),
        )
            .into_response()
    };
    match state.rating.open_at_kiosk(&credential, &number).await {
        Ok(token) => (
            StatusCode::SEE_OTHER,
            [(header::LOCATION, format!("/f/{token}?via=kiosk"))],
        )
            .into_response(),
        Err(KioskOpenError::NotRegistered) => forget_tablet(&state),
        Err(KioskOpenError::BadNumber(k)) => refused(
            &k,
            StatusCode::UNPROCESSABLE_ENTITY,
            "Số tờ khai gồm đúng 12 chữ số.",
            "A declaration number has exactly 12 digits.",
        ),
        Err(KioskOpenError::NoOpenForm(k)) => refused(
            &k,
            StatusCode::NOT_FOUND,
            "Tờ khai này không có phiếu đánh giá đang mở.",
            "This declaration has no form open for rating.",
        ),
        Err(KioskOpenError::OtherOffice(k)) => refused(
            &k,
            StatusCode::FORBIDDEN,
            "Tờ khai này không thuộc đơn vị của quầy.",
            "This declaration is not of this counter's office.",
        ),
        Err(KioskOpenError::Storage(e)) => {
            tracing::error!(error = %e, "kiosk storage failure");
            unavailable()
        }
    }
}
