//! Staff sign-in on one machine: `POST /auth/code` mails a one-time code,
//! `POST /auth/session` exchanges it for a session cookie (`HttpOnly`,
//! `SameSite=Strict`, `Secure` over https), `GET /auth/session` tells the
//! console who it is (204: nobody), `DELETE /auth/session` signs out. The token never
//! reaches a page script; every write carries the session's CSRF token.

use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::{ApiError, cookie_value};
use crate::app::Pages;
use crate::app::sign_in::{SignIn, SignInError};

/// The session cookie.
pub const SESSION_COOKIE: &str = "csq_staff";
/// The header a write carries the session's CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

#[derive(Clone)]
pub struct SignInPages {
    pub sign_in: SignIn,
    pub pages: Pages,
}

pub fn router(state: SignInPages) -> Router {
    super::served(
        Router::new()
            .route("/auth/code", post(send_code))
            .route("/auth/session", post(start).get(current).delete(sign_out)),
    )
    .with_state(state)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CodeRequest {
    email: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SessionRequest {
    email: String,
    code: String,
}

fn body<T>(b: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    b.map(|Json(t)| t)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_request", e.body_text()))
}

impl From<SignInError> for ApiError {
    fn from(e: SignInError) -> Self {
        match e {
            SignInError::BadAddress(_) => {
                ApiError::new(StatusCode::BAD_REQUEST, "bad_address", e.to_string())
            }
            SignInError::TooMany => {
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too_many", e.to_string())
            }
            SignInError::WrongCode => {
                ApiError::new(StatusCode::UNAUTHORIZED, "wrong_code", e.to_string())
            }
            SignInError::Storage(e) => ApiError::internal(&e),
        }
    }
}

/// The same answer whether the directory names the address or not.
async fn send_code(
    State(state): State<SignInPages>,
    b: Result<Json<CodeRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let req = body(b)?;
    state.sign_in.send_code(&req.email).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({
            "message": "Nếu danh bạ có địa chỉ này, mã đăng nhập đã được gửi. / If the directory names this address, a code is on its way."
        })),
    )
        .into_response())
}

fn session_cookie(token: &str, max_age: i64, public_url: &str) -> Option<HeaderValue> {
    let secure = if public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    ))
    .ok()
}

async fn start(
    State(state): State<SignInPages>,
    b: Result<Json<SessionRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let req = body(b)?;
    let started = state.sign_in.verify_code(&req.email, &req.code).await?;
    // The browser keeps the cookie for the day's limit; the idle limit is the
    // server's (each request moves it), or an active person would be signed
    // out at the first idle deadline.
    let max_age = crate::domain::sign_in::SESSION_LIFETIME.num_seconds();
    let mut res = Json(started.view).into_response();
    if let Some(cookie) = session_cookie(&started.token, max_age, state.pages.public_url()) {
        res.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    Ok(res)
}

fn signed_out() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "signed_out",
        "Not signed in, or the session ended: sign in again.",
    )
}

/// The console asks on every load: no session is an answer (204), not an error.
async fn current(
    State(state): State<SignInPages>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Some(token) = cookie_value(&headers, SESSION_COOKIE) else {
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    let view = state
        .sign_in
        .session_view(&token)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    Ok(match view {
        Some(view) => Json(view).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    })
}

async fn sign_out(
    State(state): State<SignInPages>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let token = cookie_value(&headers, SESSION_COOKIE).ok_or_else(signed_out)?;
    let given = headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !state.sign_in.csrf_ok(&token, given).await {
        return Err(csrf_refused());
    }
    state
        .sign_in
        .sign_out(&token)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    let mut res = StatusCode::NO_CONTENT.into_response();
    if let Some(cookie) = session_cookie("", 0, state.pages.public_url()) {
        res.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    Ok(res)
}

pub(crate) fn csrf_refused() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "csrf",
        "A write from a signed-in page must carry its X-CSRF-Token.",
    )
}
