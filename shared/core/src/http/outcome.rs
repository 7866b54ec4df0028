//! The business's outcome page: `GET /c/{token}` shows a case's outcome with
//! what the business may still do (accept it, rate how it was handled, appeal
//! once), `POST /c/{token}` does it. No JavaScript; both languages, the
//! business's first. Served by the staff API function on AWS: it already
//! writes cases, the public rating function never does.

use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use maud::{Markup, html};

use super::StaffApi;
use super::pages::layout;
use crate::app::cases::OutcomeLinkError;
use crate::domain::case::rules::CaseRules;
use crate::domain::case::{BusinessAction, Case, CaseKind, ResponseError};
use crate::domain::declaration::Language;
use crate::domain::rating_scale::Level;
use crate::domain::time::vn_deadline;

const CSRF_COOKIE: &str = "csq_case_csrf";

pub fn router(state: StaffApi) -> Router {
    super::served(Router::new().route("/c/{token}", get(show).post(answer))).with_state(state)
}

/// Vietnamese and English, the business's language first.
fn both(lang: Language, vi: &str, en: &str) -> Markup {
    let (first, second) = match lang {
        Language::Vi => (vi, en),
        Language::En => (en, vi),
    };
    html! { (first) br; span.muted lang=(lang.other().code()) { (second) } }
}

/// Both languages on one line, for buttons (a muted second line would lose
/// its contrast on the button's colour).
fn both_inline(lang: Language, vi: &str, en: &str) -> String {
    match lang {
        Language::Vi => format!("{vi} / {en}"),
        Language::En => format!("{en} / {vi}"),
    }
}

fn message_page(status: StatusCode, vi: &str, en: &str) -> Response {
    let page = layout(
        Language::Vi,
        "Kết quả xử lý / Outcome",
        None,
        html! { section.card { p { (vi) } p lang="en" { (en) } } },
    );
    (status, Html(page.into_string())).into_response()
}

fn error_response(e: OutcomeLinkError) -> Response {
    match e {
        OutcomeLinkError::Invalid => message_page(
            StatusCode::NOT_FOUND,
            "Liên kết không hợp lệ. Vui lòng mở đúng liên kết trong email kết quả.",
            "This link is not valid. Please open the exact link from the outcome email.",
        ),
        OutcomeLinkError::Response(ResponseError::Expired) => message_page(
            StatusCode::GONE,
            "Liên kết đã hết hạn.",
            "This link has expired.",
        ),
        OutcomeLinkError::Response(e @ ResponseError::NotAllowed { .. }) => message_page(
            StatusCode::CONFLICT,
            "Thao tác này đã được thực hiện hoặc không còn khả dụng.",
            &e.to_string(),
        ),
        OutcomeLinkError::Response(e) => message_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Vui lòng nêu lý do khiếu nại (tối đa 4000 ký tự).",
            &e.to_string(),
        ),
        OutcomeLinkError::Conflict => message_page(
            StatusCode::CONFLICT,
            "Hồ sơ vừa thay đổi; vui lòng mở lại liên kết.",
            "The case changed meanwhile; please open the link again.",
        ),
        OutcomeLinkError::Storage(e) => {
            tracing::error!(error = %e, "outcome page storage failure");
            message_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Hệ thống đang bận; vui lòng thử lại sau ít phút.",
                "The service is busy; please try again in a few minutes.",
            )
        }
    }
}

fn outcome_page(
    case: &Case,
    rules: &CaseRules,
    now: chrono::DateTime<chrono::Utc>,
    token: &str,
    csrf: &str,
    done: Option<&str>,
) -> Markup {
    let lang = case.complaint.business.language;
    let allowed = case.allowed_business_actions(now, rules);
    let (kind_vi, kind_en) = match case.kind {
        CaseKind::Complaint => ("phản ánh", "complaint"),
        CaseKind::Suggestion => ("kiến nghị", "suggestion"),
    };
    let action = format!("/c/{token}");
    let until = case.outcome_link_expiry(rules).map(vn_deadline);
    let (until_vi, until_en) = until.map(|d| (d.vi, d.en)).unwrap_or_default();
    layout(
        lang,
        match lang {
            Language::Vi => "Kết quả xử lý",
            Language::En => "Outcome",
        },
        None,
        html! {
            @if let Some(msg) = done {
                section.card role="status" { p { strong { (msg) } } }
            }
            section.card {
                h1 { (both(lang, &format!("Kết quả xử lý {kind_vi} — tờ khai {}", case.complaint.declaration_number), &format!("Outcome of your {kind_en} — declaration {}", case.complaint.declaration_number))) }
                @if let Some(c) = &case.conclusion {
                    p { strong { @if c.upheld {
                        (both(lang, "Phản ánh đúng; đơn vị đã xử lý.", "Your complaint was upheld and acted upon."))
                    } @else {
                        (both(lang, "Nội dung phản ánh không có cơ sở.", "Your complaint was found without grounds."))
                    } } }
                }
                p { (case.finding.as_deref().unwrap_or("")) }
                @if case.response.appeal.is_some() && !case.status.is_closed() {
                    p { (both(lang, "Khiếu nại của Quý doanh nghiệp đang được xem xét lại.", "Your appeal is being reviewed."))}
                }
            }
            @if allowed.contains(&"accept") {
                form.card method="post" action=(action) {
                    input type="hidden" name="csrf" value=(csrf);
                    p { (both(lang, "Quý doanh nghiệp đồng ý với kết quả này?", "Do you accept this outcome?")) }
                    div.actions { button type="submit" name="action" value="accept" { (both_inline(lang, "Đồng ý", "Accept")) } }
                }
            }
            @if allowed.contains(&"rate") {
                form.card method="post" action=(action) {
                    input type="hidden" name="csrf" value=(csrf);
                    fieldset {
                        legend { (both(lang, "Đánh giá việc giải quyết (một lần)", "Rate how it was handled (once)")) }
                        div.levels {
                            @for level in Level::ALL {
                                label {
                                    input type="radio" name="level" value=(level.value()) required;
                                    " " (level.value()) " – " (level.label(lang))
                                }
                            }
                        }
                    }
                    div.actions { button type="submit" name="action" value="rate" { (both_inline(lang, "Gửi đánh giá", "Send rating")) } }
                }
            }
            @if allowed.contains(&"appeal") {
                form.card method="post" action=(action) {
                    input type="hidden" name="csrf" value=(csrf);
                    label {
                        strong { (both(lang, "Khiếu nại kết quả (một lần)", "Appeal the outcome (once)")) }
                        span.muted { " " (both(lang, &format!("Hồ sơ sẽ được cấp trên xem xét lại. Hạn: {until_vi}."), &format!("A higher level will review the case, {until_en}."))) }
                        textarea name="reason" maxlength="4000" required {}
                    }
                    div.actions { button.secondary type="submit" name="action" value="appeal" { (both_inline(lang, "Gửi khiếu nại", "Send appeal")) } }
                }
            }
            @if allowed.is_empty() && done.is_none() {
                section.card { p.muted { (both(lang, "Không còn thao tác nào với kết quả này.", "Nothing more can be done with this outcome.")) } }
            }
        },
    )
}

async fn show(
    State(state): State<StaffApi>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    let (case, rules) = match state.case_handling.case_for_outcome_link(&token).await {
        Ok(x) => x,
        Err(e) => return error_response(e),
    };
    let (nonce, set_cookie) =
        super::csrf_nonce_or_new(&headers, CSRF_COOKIE, "/c/", state.pages.public_url());
    let csrf = state.pages.csrf_token(&case.id, &nonce);
    let now = state.pages.now();
    let mut res =
        Html(outcome_page(&case, &rules, now, &token, &csrf, None).into_string()).into_response();
    if let Some(cookie) = set_cookie {
        res.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    res
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

async fn answer(
    State(state): State<StaffApi>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    let Ok(Form(fields)) = body else {
        return message_page(
            StatusCode::BAD_REQUEST,
            "Nội dung gửi không hợp lệ.",
            "What was sent is not valid.",
        );
    };
    let (case, _) = match state.case_handling.case_for_outcome_link(&token).await {
        Ok(x) => x,
        Err(e) => return error_response(e),
    };
    let nonce = super::cookie_value(&headers, CSRF_COOKIE).unwrap_or_default();
    if !state
        .pages
        .csrf_ok(&case.id, &nonce, field(&fields, "csrf"))
        .await
    {
        return message_page(
            StatusCode::FORBIDDEN,
            "Phiên làm việc không hợp lệ; vui lòng mở lại liên kết trong email.",
            "Your session is not valid; please open the link from the email again.",
        );
    }
    let action = match field(&fields, "action") {
        "accept" => BusinessAction::Accept,
        "rate" => match field(&fields, "level")
            .parse::<u8>()
            .ok()
            .and_then(Level::new)
        {
            Some(level) => BusinessAction::Rate(level),
            None => {
                return message_page(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Vui lòng chọn một mức từ 1 đến 5.",
                    "Please choose a level from 1 to 5.",
                );
            }
        },
        "appeal" => BusinessAction::Appeal(field(&fields, "reason").to_owned()),
        _ => {
            return message_page(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Thao tác không hợp lệ.",
                "Unknown action.",
            );
        }
    };
    match state
        .case_handling
        .respond_to_outcome(&token, &action)
        .await
    {
        Ok(after) => {
            let rules = state
                .case_handling
                .case_rules()
                .await
                .map(|r| r.rules)
                .unwrap_or_default();
            let lang = after.complaint.business.language;
            let done = match (&action, lang) {
                (BusinessAction::Accept, Language::Vi) => {
                    "Đã ghi nhận: Quý doanh nghiệp đồng ý với kết quả."
                }
                (BusinessAction::Accept, Language::En) => "Recorded: you accepted the outcome.",
                (BusinessAction::Rate(_), Language::Vi) => "Cảm ơn Quý doanh nghiệp đã đánh giá.",
                (BusinessAction::Rate(_), Language::En) => "Thank you for your rating.",
                (BusinessAction::Appeal(_), Language::Vi) => {
                    "Đã nhận khiếu nại; hồ sơ được mở lại để cấp trên xem xét."
                }
                (BusinessAction::Appeal(_), Language::En) => {
                    "Appeal received: the case is reopened for review one level up."
                }
            };
            let csrf = field(&fields, "csrf").to_owned();
            let now = state.pages.now();
            Html(outcome_page(&after, &rules, now, &token, &csrf, Some(done)).into_string())
                .into_response()
        }
        Err(e) => error_response(e),
    }
}
