//! `/u/{token}`: the one-click opt-out of invitations (RFC 8058). Mail programs
//! POST `List-Unsubscribe=One-Click` to it without cookies; a person who opens
//! it gets a page with one button (a GET changes nothing: link scanners open
//! every URL of a message).

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::html;

use super::PublicSite;
use super::pages::{StatusKind, layout, status_page};
use crate::app::optout::OptOutError;
use crate::domain::declaration::Language;

const ONE_CLICK: (&str, &str) = ("List-Unsubscribe", "One-Click");

fn error_page(e: OptOutError) -> Response {
    match e {
        OptOutError::NotFound => (
            StatusCode::NOT_FOUND,
            Html(status_page(StatusKind::NotFound).into_string()),
        )
            .into_response(),
        OptOutError::Storage(e) => {
            tracing::error!(error = %e, "opt-out storage failure");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Html(status_page(StatusKind::Unavailable).into_string()),
            )
                .into_response()
        }
    }
}

pub(super) async fn show(State(state): State<PublicSite>, Path(token): Path<String>) -> Response {
    let form = match state.rating.opt_out_form(&token).await {
        Ok(f) => f,
        Err(e) => return error_page(e),
    };
    let number = form.declaration.number.to_string();
    let page = layout(
        Language::Vi,
        "Từ chối nhận thư mời đánh giá",
        None,
        html! {
            section.card {
                h1 { "Từ chối nhận thư mời đánh giá" }
                p { "Bấm nút dưới đây: địa chỉ email nhận thư mời của tờ khai " strong { (number) } " sẽ không nhận thư mời và thư nhắc đánh giá nữa. "
                    "Quý doanh nghiệp vẫn có thể đánh giá từ phần mềm khai báo hải quan." }
            }
            section.card lang="en" {
                h2 { "Stop rating invitations" }
                p { "Press the button below and the address that received the invitation for declaration " strong { (number) } " will get no more rating invitations or reminders. "
                    "You can still rate from your customs declaration software." }
            }
            form method="post" action={ "/u/" (token) } {
                input type="hidden" name=(ONE_CLICK.0) value=(ONE_CLICK.1);
                button type="submit" { "Từ chối nhận thư / Unsubscribe" }
            }
        },
    );
    Html(page.into_string()).into_response()
}

pub(super) async fn one_click(
    State(state): State<PublicSite>,
    Path(token): Path<String>,
    body: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    let one_click = body
        .map(|Form(fields)| {
            fields
                .iter()
                .any(|(k, v)| (k.as_str(), v.as_str()) == ONE_CLICK)
        })
        .unwrap_or(false);
    if !one_click {
        return (
            StatusCode::BAD_REQUEST,
            Html(status_page(StatusKind::SessionExpired).into_string()),
        )
            .into_response();
    }
    match state.rating.opt_out(&token).await {
        Ok(_) => Html(
            layout(
                Language::Vi,
                "Đã từ chối nhận thư",
                None,
                html! {
                    section.card { h1 { "Đã từ chối nhận thư" } p { "Quý doanh nghiệp sẽ không nhận thư mời và thư nhắc đánh giá nữa." } }
                    section.card lang="en" { h2 { "Unsubscribed" } p { "You will get no more rating invitations or reminders." } }
                },
            )
            .into_string(),
        )
        .into_response(),
        Err(e) => error_page(e),
    }
}
