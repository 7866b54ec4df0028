//! HTTP routers. Each function's routes are one axum `Router` built here; Lambda
//! serves it with `lambda_http::run`, the local host mounts them all on one port.

mod compress;
pub mod export;
pub mod integration;
mod kiosk;
pub mod outcome;
mod pages;
pub mod public;
pub mod rating_form;
pub mod sign_in;
pub mod staff;
mod unsubscribe;

use std::sync::Arc;

use axum::Json;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::app::{CaseHandling, Channels, Directory, Figures, Issuance, Pages, Rating, Records};
use crate::auth::staff::{Hs256, StaffAuthError};
use crate::domain::fields::FieldError;
use crate::policy::Caller;

/// Largest request body any route accepts; larger ones get 413 before parsing.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// How the integration route knows its caller is the declaration system.
#[derive(Clone)]
pub enum IntegrationAuth {
    /// `Authorization: Bearer <key>` (the local host).
    BearerKey(Arc<str>),
    /// The gateway checked the caller (IAM auth on AWS); the request must
    /// carry its proof, so that a mistaken route or a second trigger in front
    /// of the function does not open the integration API to anyone.
    Gateway(Arc<dyn GatewayCaller>),
}

/// What the gateway leaves on a request it authenticated.
pub trait GatewayCaller: Send + Sync {
    /// True when the request carries the gateway's verified caller.
    fn verified(&self, parts: &axum::http::request::Parts) -> bool;
}

/// How staff routes learn who is calling: the host's identity of the caller
/// (what they may do is the directory's, `policy::scope_of`).
pub trait StaffAuthenticator: Send + Sync {
    fn authenticate(
        &self,
        parts: &axum::http::request::Parts,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Caller, StaffAuthError>;
}

/// The token of an `Authorization: Bearer` header.
pub fn bearer_token(parts: &axum::http::request::Parts) -> Option<&str> {
    bearer_from_headers(&parts.headers)
}

/// The token of an `Authorization: Bearer` header among `headers`.
pub fn bearer_from_headers(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// Operator tokens minted by the local host (`csq staff-token`).
impl StaffAuthenticator for Hs256 {
    fn authenticate(
        &self,
        parts: &axum::http::request::Parts,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Caller, StaffAuthError> {
        let token = bearer_token(parts).ok_or(StaffAuthError::Missing)?;
        Ok(Caller::Operator(self.verify(token, now)?))
    }
}

/// What the integration route (the issue-form function) holds: the one
/// service it calls, and how it knows its caller.
#[derive(Clone)]
pub struct IntegrationApi {
    pub issuance: Issuance,
    pub auth: IntegrationAuth,
}

/// What the public pages (the rating-form function) hold: the rating form and
/// its opt-out link, and the public monthly report.
#[derive(Clone)]
pub struct PublicSite {
    pub rating: Rating,
    pub figures: Figures,
    pub pages: Pages,
}

/// What the staff API (the staff-api function) holds, with the business's
/// outcome pages that answer its cases.
#[derive(Clone)]
pub struct StaffApi {
    pub records: Records,
    pub figures: Figures,
    pub directory: Directory,
    pub case_handling: CaseHandling,
    pub channels: Channels,
    pub data_requests: crate::app::DataRequests,
    pub watch: crate::app::watch::WatchCases,
    pub pages: Pages,
    /// Bearer tokens: the identity provider's (through the API's authorizer)
    /// or the machine's operator tokens.
    pub auth: Arc<dyn StaffAuthenticator>,
    /// The one-machine sign-in's sessions (cookie), where the host has it.
    pub sessions: Option<crate::app::sign_in::SignIn>,
    /// Where the console sends staff to sign in, where an OpenID provider does it.
    pub identity_provider: Option<IdentityProvider>,
    /// Who acts as the department while no directory exists (to import it).
    pub first_administrator: Option<String>,
}

/// The OpenID provider the console signs staff in at (authorization code
/// with PKCE, the console being a public client).
#[derive(Debug, Clone, serde::Serialize)]
pub struct IdentityProvider {
    pub issuer: String,
    pub client_id: String,
}

impl IdentityProvider {
    /// The origins the console's script may call besides its own: the
    /// issuer's (discovery) and, for a Cognito pool, its sign-in domain (token).
    pub fn origins(&self) -> Vec<String> {
        let origin = |url: &str| {
            let (scheme, rest) = url.split_once("://").unwrap_or(("https", url));
            let host = rest.split('/').next().unwrap_or("");
            format!("{scheme}://{host}")
        };
        let mut out = vec![origin(&self.issuer)];
        if let Some(region) = self
            .issuer
            .strip_prefix("https://cognito-idp.")
            .and_then(|r| r.split('.').next())
        {
            out.push(format!("https://*.auth.{region}.amazoncognito.com"));
        }
        out
    }
}

/// The request's id, as the host knows it: API Gateway's on Lambda (the AWS
/// glue puts it here); absent locally, where one is drawn per request.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// One span per request, named by its route template and carrying the
/// request id, so every log line of a use case and its store calls can be
/// found by the request that caused it. No path (it may hold a token), no query.
pub async fn request_span(req: Request, next: Next) -> Response {
    use tracing::Instrument;
    let id = req
        .extensions()
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let span =
        tracing::info_span!("request", request_id = %id, method = %req.method(), route = %route);
    let started = std::time::Instant::now();
    let res = next.run(req).instrument(span.clone()).await;
    tracing::debug!(parent: &span, status = res.status().as_u16(), ms = started.elapsed().as_millis() as u64, "answered");
    res
}

/// What every router of ours wears: a bounded body, the security headers,
/// and a span per request (outermost, so the others' logs fall inside it).
pub(crate) fn served<S: Clone + Send + Sync + 'static>(router: axum::Router<S>) -> axum::Router<S> {
    router
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(security_headers))
        .layer(axum::middleware::from_fn(request_span))
}

/// Security headers on every response: pages load nothing from elsewhere, never
/// leak the tokenised URL in a Referer, and cannot be framed.
pub async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    // A route that needs a different policy (the dashboard's script) sets its own.
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            ),
        );
    }
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // Browsers honour this only over HTTPS (on AWS, always), and ignore it over
    // the local host's plain HTTP, so it is safe to send everywhere.
    h.insert(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static("max-age=31536000; includeSubDomains"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

/// A JSON error a caller can act on. Internal causes go to the log, not here.
#[derive(Debug)]
pub enum ApiError {
    Fields(StatusCode, Vec<FieldError>),
    Message(StatusCode, &'static str, String),
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Message(status, code, message.into())
    }

    /// Logs the full cause and answers 503 without details.
    pub fn internal(err: &dyn std::error::Error) -> Self {
        tracing::error!(error = %err, "request failed");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "The service could not complete the request; try again shortly.",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Fields(status, errors) => {
                (status, Json(json!({ "errors": errors }))).into_response()
            }
            ApiError::Message(status, code, message) => (
                status,
                Json(json!({ "error": { "code": code, "message": message } })),
            )
                .into_response(),
        }
    }
}

impl From<StaffAuthError> for ApiError {
    fn from(e: StaffAuthError) -> Self {
        match e {
            // Who they are is known; the directory gives them nothing (here).
            StaffAuthError::NotInDirectory | StaffAuthError::RoleNotHeld(_) => {
                ApiError::new(StatusCode::FORBIDDEN, "forbidden", e.to_string())
            }
            _ => ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", e.to_string()),
        }
    }
}

/// The stylesheet of the public pages, served from our own origin so that the
/// CSP can forbid inline styles.
pub const STYLESHEET: &str = include_str!("csq.css");

pub async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLESHEET,
    )
}

/// A JSON request body that must be an object, read into `T`. serde reads a
/// JSON array as a struct's fields in order (`[]`: every default, `[null]`:
/// the first field absent), so an array would pass as a request no one
/// wrote: it is refused with `why`'s message, like any other bad body.
pub(crate) fn object_body<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    why: impl Fn(String) -> ApiError,
) -> Result<T, ApiError> {
    let doc: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| why(e.to_string()))?;
    if !doc.is_object() {
        return Err(why("a JSON object is expected".into()));
    }
    serde_json::from_value(doc).map_err(|e| why(e.to_string()))
}

/// The rating page's script (it opens the detailed subjects after a low
/// office level); the page works without it.
pub async fn rating_script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("rating.js"),
    )
}

/// A short cookie of ours (a CSRF nonce, a session token), by name.
pub(crate) fn cookie_value(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
        .filter(|v| !v.is_empty() && v.len() <= 64)
}

/// `; Secure` for cookies of a site served over https (the local host's
/// plain http would have the browser drop them).
pub(crate) fn secure_attribute(public_url: &str) -> &'static str {
    if public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    }
}

/// The browser's nonce, reused so a second tab does not invalidate the first,
/// or a new one with the `Set-Cookie` value (scoped to `path`) that gives it.
pub(crate) fn csrf_nonce_or_new(
    headers: &axum::http::HeaderMap,
    name: &str,
    path: &str,
    public_url: &str,
) -> (String, Option<HeaderValue>) {
    if let Some(n) = cookie_value(headers, name) {
        return (n, None);
    }
    let nonce = crate::auth::random_secret(18);
    let secure = secure_attribute(public_url);
    let cookie =
        format!("{name}={nonce}; Path={path}; HttpOnly; SameSite=Strict; Max-Age=86400{secure}");
    (nonce, HeaderValue::from_str(&cookie).ok())
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tower::ServiceExt;

    /// Log lines captured in memory.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// Every log line of a request carries its id (the host's, or one drawn
    /// here) and its route template, never the path with its token.
    #[tokio::test]
    async fn a_requests_logs_carry_its_id_and_route() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_current_span(true)
            .with_writer(move || writer.clone())
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let app = axum::Router::new()
            .route(
                "/f/{token}",
                axum::routing::get(|| async {
                    tracing::info!("inside the use case");
                    "ok"
                }),
            )
            .layer(axum::middleware::from_fn(super::request_span));
        let mut req = axum::http::Request::builder()
            .uri("/f/secret-token")
            .body(axum::body::Body::empty())
            .unwrap();
        req.extensions_mut()
            .insert(super::RequestId("gw-123".into()));
        app.clone().oneshot(req).await.unwrap();
        let req = axum::http::Request::builder()
            .uri("/f/other")
            .body(axum::body::Body::empty())
            .unwrap();
        app.oneshot(req).await.unwrap();
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert_eq!(lines[0]["span"]["request_id"], "gw-123");
        assert_eq!(lines[0]["span"]["route"], "/f/{token}");
        let drawn = lines[1]["span"]["request_id"].as_str().unwrap();
        assert_eq!(drawn.len(), 32, "one drawn locally");
        assert!(!text.contains("secret-token"));
    }
}
