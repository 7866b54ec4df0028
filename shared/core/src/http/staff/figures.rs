//! Figures for staff: statistics (JSON and CSV), reports, rankings, the
//! early warning.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::{Staff, query};
use crate::app::staff::{StatsRequest, UnitStats};
use crate::auth::scope::Scope;
use crate::http::{ApiError, StaffApi};
use crate::policy::{StaffRoute, StatsRowView};

/// A unit's figures over a period beside the previous one.
pub(super) async fn report(
    State(state): State<StaffApi>,
    Staff(who): Staff,
    q: Result<Query<crate::app::report::ReportRequest>, QueryRejection>,
) -> Result<Response, ApiError> {
    who.may_use(StaffRoute::Reports)?;
    let q = query(q)?;
    Ok(Json(state.figures.unit_report(&who, &q).await?).into_response())
}

/// Units of a level, or officers of an office, ranked fairly.
pub(super) async fn rankings(
    State(state): State<StaffApi>,
    Staff(who): Staff,
    q: Result<Query<crate::app::report::RankingRequest>, QueryRejection>,
) -> Result<Response, ApiError> {
    who.may_use(StaffRoute::Rankings)?;
    let q = query(q)?;
    Ok(Json(state.figures.rankings(&who, &q).await?).into_response())
}

/// The newest weekly early warning, the flags within the reader's units.
pub(super) async fn warnings(
    State(state): State<StaffApi>,
    Staff(who): Staff,
) -> Result<Response, ApiError> {
    Ok(Json(state.figures.early_warnings(&who).await?).into_response())
}

pub(super) async fn stats_rows(
    state: &StaffApi,
    who: &Scope,
    q: Result<Query<StatsRequest>, QueryRejection>,
) -> Result<UnitStats, ApiError> {
    let q = query(q)?;
    Ok(state.figures.unit_stats(who, &q).await?)
}

pub(super) async fn stats(
    State(state): State<StaffApi>,
    Staff(who): Staff,
    q: Result<Query<StatsRequest>, QueryRejection>,
) -> Result<Response, ApiError> {
    who.may_use(StaffRoute::Stats)?;
    Ok(Json(stats_rows(&state, &who, q).await?).into_response())
}

/// Spreadsheet programs run cells that start with = + - @ as formulas; a leading
/// apostrophe makes them text (the OWASP advice for CSV injection).
pub(crate) fn csv_cell(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

fn opt(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.4}")).unwrap_or_default()
}

pub fn stats_to_csv(rows: &[StatsRowView]) -> String {
    let mut out = String::from(
        "\u{feff}date,unit,ratings,level_1,level_2,level_3,level_4,level_5,average,satisfied_share,forms_issued,forms_submitted,response_rate,complaints_opened,complaints_closed,complaints_overdue,complaints_upheld,suggestions_opened,handling_1,handling_2,handling_3,handling_4,handling_5\r\n",
    );
    for r in rows {
        let c = r.level_counts;
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\r\n",
            r.date,
            csv_cell(&r.unit),
            r.ratings,
            c[0],
            c[1],
            c[2],
            c[3],
            c[4],
            opt(r.average),
            opt(r.satisfied_share),
            r.forms_issued,
            r.forms_submitted,
            opt(r.response_rate),
            r.complaints_opened,
            r.complaints_closed,
            r.complaints_overdue,
            r.complaints_upheld
                .map(|n| n.to_string())
                .unwrap_or_default(),
            r.suggestions_opened,
            r.handling_level_counts[0],
            r.handling_level_counts[1],
            r.handling_level_counts[2],
            r.handling_level_counts[3],
            r.handling_level_counts[4]
        ));
    }
    out
}

pub(super) async fn stats_csv(
    State(state): State<StaffApi>,
    Staff(who): Staff,
    q: Result<Query<StatsRequest>, QueryRejection>,
) -> Result<Response, ApiError> {
    who.may_use(StaffRoute::Stats)?;
    let stats = stats_rows(&state, &who, q).await?;
    let (unit, rows) = (stats.unit, stats.days);
    let filename: String = unit
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"csq-stats-{filename}.csv\""),
            ),
        ],
        stats_to_csv(&rows),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_cannot_become_formulas() {
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("branch:03CC"), "branch:03CC");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
    }
}
