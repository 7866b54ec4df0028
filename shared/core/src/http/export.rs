//! Streamed CSV exports (`/v1/ratings.csv`, `/v1/cases.csv`): UTF-8 with a
//! byte-order mark so Excel shows Vietnamese; rows leave as each store page
//! is read, through a small channel, so memory stays flat for a year of data.

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use tokio::sync::mpsc;

use super::staff::{Staff, csv_cell, query};
use super::{ApiError, StaffApi};
use crate::app::export::CaseExportQuery;
use crate::app::staff::ListFilter;
use crate::policy::{CaseView, RatingView};

/// Pages in flight between the reader and the client: the bound on memory.
const IN_FLIGHT: usize = 2;
const BOM: &str = "\u{feff}";

/// The receiving end of the export channel as a response body stream.
struct Chunks(mpsc::Receiver<Bytes>);

impl futures_core::Stream for Chunks {
    type Item = Result<Bytes, std::convert::Infallible>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx).map(|c| c.map(Ok))
    }
}

fn csv_response(name: &str, rx: mpsc::Receiver<Bytes>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        Body::from_stream(Chunks(rx)),
    )
        .into_response()
}

/// Runs `produce` (which sends pages of views) and turns each page into CSV
/// text on the body channel, header first.
fn stream_csv<V: Send + 'static>(
    name: &str,
    header_line: &'static str,
    row: fn(&V) -> String,
    produce: impl FnOnce(mpsc::Sender<Vec<V>>) -> tokio::task::JoinHandle<()>,
) -> Response {
    let (pages_tx, mut pages_rx) = mpsc::channel::<Vec<V>>(1);
    let (body_tx, body_rx) = mpsc::channel::<Bytes>(IN_FLIGHT);
    let _producer = produce(pages_tx);
    tokio::spawn(async move {
        if body_tx
            .send(Bytes::from(format!("{BOM}{header_line}\r\n")))
            .await
            .is_err()
        {
            return;
        }
        while let Some(page) = pages_rx.recv().await {
            let mut text = String::with_capacity(page.len() * 160);
            for v in &page {
                text.push_str(&row(v));
                text.push_str("\r\n");
            }
            if body_tx.send(Bytes::from(text)).await.is_err() {
                return;
            }
        }
    });
    csv_response(name, body_rx)
}

fn rating_row(r: &RatingView) -> String {
    let reasons: Vec<&str> = r.reasons.iter().map(|x| x.code()).collect();
    format!(
        "{},{},{},{},{},{},{},{},{},{}",
        r.submitted_at.to_rfc3339(),
        csv_cell(&r.declaration_number),
        csv_cell(&r.branch),
        csv_cell(&r.subject.key),
        csv_cell(&r.subject.label),
        csv_cell(r.subject.officer_id.as_deref().unwrap_or("")),
        r.level,
        csv_cell(&reasons.join(" ")),
        csv_cell(r.comment.as_deref().unwrap_or("")),
        csv_cell(&r.form_id),
    )
}

fn case_row(c: &CaseView) -> String {
    let finding = c.conclusion.as_ref();
    format!(
        "{},{},{},{},{},{},{},{},{},{},{},{},{}",
        csv_cell(&c.id),
        c.kind.code(),
        c.status.code(),
        csv_cell(&c.complaint.declaration_number),
        csv_cell(&c.complaint.branch),
        csv_cell(&c.assignment.unit),
        c.opened_at.to_rfc3339(),
        c.due_at.to_rfc3339(),
        c.closed_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
        finding.map(|f| f.upheld.to_string()).unwrap_or_default(),
        csv_cell(&finding.map(|f| f.officers.join(" ")).unwrap_or_default()),
        csv_cell(finding.and_then(|f| f.measure.as_deref()).unwrap_or("")),
        c.response
            .handling_rating
            .map(|n| n.to_string())
            .unwrap_or_default(),
    )
}

pub async fn ratings_csv(
    State(state): State<StaffApi>,
    Staff(who): Staff,
    q: Result<Query<ListFilter>, QueryRejection>,
) -> Result<Response, ApiError> {
    who.may_use(crate::policy::StaffRoute::Exports)?;
    let filter = query(q)?;
    let (from, to) = state.records.check_rating_export(&who, &filter)?;
    let records = state.records.clone();
    Ok(stream_csv(
        &format!("ratings-{from}-{to}.csv"),
        "submitted_at,declaration_number,office,subject,subject_label,officer_id,level,reasons,comment,form_id",
        rating_row,
        move |tx| {
            tokio::spawn(async move {
                if let Err(e) = records.export_ratings(&who, &filter, tx).await {
                    tracing::error!(error = %e, "ratings export stopped");
                }
            })
        },
    ))
}

pub async fn cases_csv(
    State(state): State<StaffApi>,
    Staff(who): Staff,
    q: Result<Query<CaseExportQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    who.may_use(crate::policy::StaffRoute::Exports)?;
    let q = query(q)?;
    let (from, to) = state.records.check_case_export(&who, &q)?;
    let records = state.records.clone();
    Ok(stream_csv(
        &format!("cases-{from}-{to}.csv"),
        "case_id,kind,status,declaration_number,office,assigned_unit,opened_at,due_at,closed_at,upheld,officers,measure,handling_rating",
        case_row,
        move |tx| {
            tokio::spawn(async move {
                if let Err(e) = records.export_cases(&who, &q, tx).await {
                    tracing::error!(error = %e, "cases export stopped");
                }
            })
        },
    ))
}
