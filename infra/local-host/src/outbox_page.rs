//! Local-only pages: a start page and the outbox of sent emails, with their
//! links clickable so a newcomer can follow a rating link without a mail program.
//! Served by the local host only; on AWS mail goes out through SES.

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use maud::{DOCTYPE, Markup, html};

#[derive(Clone)]
struct OutboxState {
    dir: Arc<PathBuf>,
    public_url: Arc<str>,
}

/// Who may read the outbox: everyone who can reach a loopback bind (the
/// machine's own users), otherwise only a department token.
#[derive(Clone)]
pub struct OutboxAccess {
    pub loopback_bind: bool,
    pub staff: Arc<dyn csq_core::http::StaffAuthenticator>,
    pub clock: Arc<dyn csq_core::ports::Clock>,
}

/// The outbox holds every email sent: rating links (which let anyone rate in a
/// business's name) and case details. On a bind other machines can reach, it
/// answers only a department token.
async fn guard(
    State(access): State<OutboxAccess>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if access.loopback_bind {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    match access.staff.authenticate(&parts, access.clock.now()) {
        Ok(csq_core::policy::Caller::Operator(claims))
            if claims.role == csq_core::auth::staff::StaffRole::Department =>
        {
            next.run(axum::extract::Request::from_parts(parts, body))
                .await
        }
        _ => (
            StatusCode::FORBIDDEN,
            "The outbox holds rating links and case details: on a non-loopback bind it needs \
             Authorization: Bearer <department token>.",
        )
            .into_response(),
    }
}

pub fn router(dir: PathBuf, public_url: String, access: OutboxAccess) -> Router {
    let outbox = Router::new()
        .route("/outbox", get(list))
        .route("/outbox/{name}", get(show))
        .route("/outbox/{name}/raw", get(raw))
        .layer(axum::middleware::from_fn_with_state(access, guard));
    Router::new()
        .route("/", get(start_page))
        .merge(outbox)
        .layer(axum::middleware::from_fn(csq_core::http::security_headers))
        .with_state(OutboxState {
            dir: Arc::new(dir),
            public_url: public_url.into(),
        })
}

fn page(title: &str, body: Markup) -> Html<String> {
    Html(
        html! {
            (DOCTYPE)
            html lang="vi" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { (title) }
                    link rel="stylesheet" href="/static/csq.css";
                }
                body {
                    header.bar { a href="/" { "CSQ" } " · " a href="/outbox" { "Outbox" } }
                    main { h1 { (title) } (body) }
                }
            }
        }
        .into_string(),
    )
}

async fn start_page(State(s): State<OutboxState>) -> Html<String> {
    page(
        "CSQ — local host",
        html! {
            section.card {
                p { "Đánh giá chất lượng phục vụ của cơ quan hải quan, chạy trên máy này. "
                    "Customs service-quality ratings, running on this machine." }
                ul {
                    li { a href="/outbox" { "Outbox" } " — emails the system sent (.eml)" }
                    li { code { "POST " (s.public_url) "/v1/forms" } " — issue a form (integration key)" }
                    li { code { "GET " (s.public_url) "/v1/cases" } ", " code { "/v1/ratings" } ", " code { "/v1/stats?unit=department" } " — staff API (staff token)" }
                }
                p.muted { "Keys and tokens: csq integration-key, csq staff-token --role department" }
            }
        },
    )
}

/// Only names the outbox itself writes: no path can leave the folder.
fn valid_name(name: &str) -> bool {
    name.len() < 80
        && name.ends_with(".eml")
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        && !name.contains("..")
}

struct Summary {
    name: String,
    to: String,
    subject: String,
}

fn summarize(name: String, bytes: &[u8]) -> Summary {
    let parsed = mail_parser::MessageParser::default().parse(bytes);
    let to = parsed
        .as_ref()
        .and_then(|m| m.to())
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .unwrap_or("")
        .to_owned();
    let subject = parsed
        .as_ref()
        .and_then(|m| m.subject())
        .unwrap_or("")
        .to_owned();
    Summary { name, to, subject }
}

async fn list(State(s): State<OutboxState>) -> Response {
    let mut names: Vec<String> = match std::fs::read_dir(s.dir.as_ref()) {
        Ok(rd) => rd
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| valid_name(n))
            .collect(),
        Err(_) => Vec::new(),
    };
    names.sort_unstable_by(|a, b| b.cmp(a));
    let total = names.len();
    let shown: Vec<Summary> = names
        .into_iter()
        .take(200)
        .filter_map(|n| std::fs::read(s.dir.join(&n)).ok().map(|b| summarize(n, &b)))
        .collect();
    page("Outbox", html! {
        p.muted { (total) " emails, newest first (showing at most 200). Folder: " code { (s.dir.display()) } }
        table {
            tr { th { "File" } th { "To" } th { "Subject" } }
            @for m in &shown {
                tr {
                    td { a href={ "/outbox/" (m.name) } { (m.name) } }
                    td { (m.to) }
                    td { (m.subject) }
                }
            }
        }
    })
    .into_response()
}

/// Text with every http(s) URL turned into a link; everything escaped by maud.
fn linkified(text: &str) -> Markup {
    html! {
        @for line in text.lines() {
            @for (i, word) in line.split(' ').enumerate() {
                @if i > 0 { " " }
                @if word.starts_with("http://") || word.starts_with("https://") {
                    a href=(word) { (word) }
                } @else {
                    (word)
                }
            }
            "\n"
        }
    }
}

async fn show(State(s): State<OutboxState>, Path(name): Path<String>) -> Response {
    if !valid_name(&name) {
        return (StatusCode::NOT_FOUND, "no such email").into_response();
    }
    let Ok(bytes) = std::fs::read(s.dir.join(&name)) else {
        return (StatusCode::NOT_FOUND, "no such email").into_response();
    };
    let Some(msg) = mail_parser::MessageParser::default().parse(&bytes) else {
        return (StatusCode::UNPROCESSABLE_ENTITY, "not a readable email").into_response();
    };
    let addr = |a: Option<&mail_parser::Address>| {
        a.and_then(|a| a.first())
            .map(|x| format!("{} <{}>", x.name().unwrap_or(""), x.address().unwrap_or("")))
            .unwrap_or_default()
    };
    let text = msg.body_text(0).map(|t| t.into_owned()).unwrap_or_default();
    page(
        msg.subject().unwrap_or("(no subject)"),
        html! {
            section.card {
                p { strong { "From: " } (addr(msg.from())) }
                p { strong { "To: " } (addr(msg.to())) }
                p { a href={ "/outbox/" (name) "/raw" } { "Raw .eml" } }
            }
            pre { (linkified(&text)) }
        },
    )
    .into_response()
}

async fn raw(State(s): State<OutboxState>, Path(name): Path<String>) -> Response {
    if !valid_name(&name) {
        return (StatusCode::NOT_FOUND, "no such email").into_response();
    }
    match std::fs::read(s.dir.join(&name)) {
        // Shown as text: a browser must not render the message's HTML from our origin.
        Ok(bytes) => ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], bytes).into_response(),
        Err(_) => (StatusCode::NOT_FOUND, "no such email").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_outbox_names_are_served() {
        assert!(valid_name("20261128T101010123456Z-ab12cd34.eml"));
        for bad in [
            "../secrets.json",
            "..eml",
            ".x.eml.tmp",
            "a/b.eml",
            "secrets.json",
            "x..eml",
        ] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn links_are_clickable_and_text_escaped() {
        let m = linkified("Open http://127.0.0.1:8080/f/abc now <script>").into_string();
        assert!(m.contains(r#"<a href="http://127.0.0.1:8080/f/abc">"#));
        assert!(m.contains("&lt;script&gt;"));
    }
}
