//! The public monthly report: `/public` (bilingual page), `/public.json`,
//! `/public.csv` (UTF-8 with a byte-order mark, so Excel shows Vietnamese).
//! No sign-in, no personal data, no officers; cacheable with an ETag.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::{DOCTYPE, html};
use serde::Deserialize;

use super::staff::csv_cell;
use super::{ApiError, PublicSite};
use crate::app::report::{PublicReport, etag};

pub fn router(state: PublicSite) -> Router {
    super::served(
        Router::new()
            .route("/public", get(page))
            .route("/public.json", get(json))
            .route("/public.csv", get(csv)),
    )
    .with_state(state)
}

#[derive(Deserialize)]
struct MonthQuery {
    /// YYYY-MM; default the last whole month.
    month: Option<String>,
}

async fn report(state: &PublicSite, q: &MonthQuery) -> Result<PublicReport, ApiError> {
    Ok(state.figures.public_report(q.month.as_deref()).await?)
}

/// The body with its ETag and cache headers, or 304 when the client has it.
fn cached(headers: &HeaderMap, content_type: &'static str, body: Vec<u8>) -> Response {
    let tag = etag(&body);
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag));
    let mut res = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, content_type)], body).into_response()
    };
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&tag) {
        h.insert(header::ETAG, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    res
}

fn pct(v: Option<f64>) -> String {
    v.map(|x| format!("{:.1}%", x * 100.0))
        .unwrap_or_else(|| "—".into())
}

fn num<T: ToString>(v: Option<T>) -> String {
    v.map(|x| x.to_string()).unwrap_or_else(|| "—".into())
}

async fn page(
    State(state): State<PublicSite>,
    Query(q): Query<MonthQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let r = report(&state, &q).await?;
    let body = html! {
        (DOCTYPE)
        html lang="vi" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Kết quả đánh giá chất lượng phục vụ / Service-quality report " (r.month) }
                link rel="stylesheet" href="/static/csq.css";
            }
            body {
                header.bar { strong { "Kết quả đánh giá chất lượng phục vụ — tháng " (r.month) } }
                main {
                    section.card {
                        h1 { "Kết quả đánh giá tháng " (r.month) }
                        p lang="en" { "Service-quality ratings for " (r.month) ", per unit." }
                        p.muted {
                            "Đơn vị có dưới " (r.min_ratings) " lượt đánh giá không hiển thị số liệu. "
                            span lang="en" { "Units with fewer than " (r.min_ratings) " ratings show no figures." }
                        }
                        div.scroll tabindex="0" role="region" aria-label="Bảng số liệu / Figures" {
                            table {
                                caption { "Theo đơn vị / By unit" }
                                tr {
                                    th scope="col" { "Đơn vị / Unit" }
                                    th scope="col" { "Lượt đánh giá / Ratings" }
                                    th scope="col" { "Hài lòng / Satisfied" }
                                    th scope="col" { "Phản ánh nhận / Complaints received" }
                                    th scope="col" { "Đã giải quyết / Resolved" }
                                    th scope="col" { "Thời gian giải quyết (giờ, trung vị) / Median handling hours" }
                                    th scope="col" { "Giải phóng hàng (giờ, trung vị: xanh · vàng · đỏ) / Median release hours (green · yellow · red)" }
                                }
                                @for u in &r.units {
                                    tr {
                                        th scope="row" {
                                            (u.name) @if let Some(en) = &u.name_en { br; span.muted lang="en" { (en) } }
                                            @if let Some(next) = &u.merged_into {
                                                br; span.muted { "đã sáp nhập vào " (next) " / " span lang="en" { "since merged into " (next) } }
                                            } @else if u.retired {
                                                br; span.muted { "đã giải thể / " span lang="en" { "since closed" } }
                                            }
                                        }
                                        td { (num(u.ratings)) }
                                        td { (pct(u.satisfied_share)) }
                                        td { (num(u.complaints_received)) }
                                        td { (num(u.complaints_resolved)) }
                                        td { (num(u.median_handling_hours)) }
                                        td { (release(u)) }
                                    }
                                }
                                tr {
                                    th scope="row" { "Tổng / Total" }
                                    td { (num(r.totals.ratings)) }
                                    td { (pct(r.totals.satisfied_share)) }
                                    td { (num(r.totals.complaints_received)) }
                                    td { (num(r.totals.complaints_resolved)) }
                                    td { "—" }
                                    td { "—" }
                                }
                            }
                        }
                        p { a href={ "/public.csv?month=" (r.month) } { "CSV" } " · " a href={ "/public.json?month=" (r.month) } { "JSON" } }
                    }
                }
                footer.muted {
                    a href="/privacy?lang=vi" { "Dữ liệu cá nhân" }
                    " · " a href="/privacy?lang=en" lang="en" { "Personal data" }
                }
            }
        }
    };
    Ok(cached(
        &headers,
        "text/html; charset=utf-8",
        body.into_string().into_bytes(),
    ))
}

async fn json(
    State(state): State<PublicSite>,
    Query(q): Query<MonthQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let r = report(&state, &q).await?;
    let body = serde_json::to_vec(&r).map_err(|e| ApiError::internal(&e))?;
    Ok(cached(&headers, "application/json", body))
}

/// A unit's median release hours per lane, green first ("—" when withheld).
fn release(u: &crate::app::report::PublicRow) -> String {
    crate::domain::declaration::Lane::ALL
        .iter()
        .map(
            |l| match u.median_release_hours.get(l.code()).copied().flatten() {
                Some(h) => format!("{h:.1}").replace('.', ","),
                None => "—".into(),
            },
        )
        .collect::<Vec<_>>()
        .join(" · ")
}

/// The CSV: a byte-order mark first so spreadsheet programs read UTF-8.
pub fn public_csv(r: &PublicReport) -> String {
    let mut out = String::from(
        "\u{feff}month,code,name,name_en,merged_into,ratings,satisfied_share,complaints_received,complaints_resolved,median_handling_hours,median_release_hours_green,median_release_hours_yellow,median_release_hours_red\r\n",
    );
    let opt = |v: Option<String>| v.unwrap_or_default();
    for u in &r.units {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{}\r\n",
            r.month,
            csv_cell(&u.code),
            csv_cell(&u.name),
            csv_cell(u.name_en.as_deref().unwrap_or("")),
            csv_cell(u.merged_into.as_deref().unwrap_or("")),
            opt(u.ratings.map(|x| x.to_string())),
            opt(u.satisfied_share.map(|x| format!("{x:.4}"))),
            opt(u.complaints_received.map(|x| x.to_string())),
            opt(u.complaints_resolved.map(|x| x.to_string())),
            opt(u.median_handling_hours.map(|x| x.to_string())),
            crate::domain::declaration::Lane::ALL
                .iter()
                .map(|l| opt(u
                    .median_release_hours
                    .get(l.code())
                    .copied()
                    .flatten()
                    .map(|h| format!("{h:.1}"))))
                .collect::<Vec<_>>()
                .join(","),
        ));
    }
    out
}

async fn csv(
    State(state): State<PublicSite>,
    Query(q): Query<MonthQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let r = report(&state, &q).await?;
    Ok(cached(
        &headers,
        "text/csv; charset=utf-8",
        public_csv(&r).into_bytes(),
    ))
}
