//! Exports of ratings and cases for a whole range (up to a year), as the
//! reader may see them, page by page: a page is read, filtered, recorded in
//! the audit log and handed on before the next is read, so memory stays flat
//! however many rows the range holds.

use chrono::{Days, NaiveDate};
use serde::Deserialize;
use tokio::sync::mpsc;

use super::Records;
use super::staff::{ListFilter, QueryError, date_range};
use crate::auth::scope::Scope;
use crate::domain::case::{Case, CaseKind, CaseStatus};
use crate::domain::time::vn_day;
use crate::policy::{self, CaseView, RatingView};
use crate::ports::{Page, PageRequest, PortResult};

/// Rows per store page an export reads.
const EXPORT_PAGE: u32 = 500;

/// Query of the case export.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CaseExportQuery {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub status: Option<String>,
    pub kind: Option<String>,
}

impl Records {
    /// Checks an export of ratings before any byte is sent: the caller's
    /// rights, the filter and the range (at most a year).
    pub fn check_rating_export(
        &self,
        who: &Scope,
        filter: &ListFilter,
    ) -> Result<(NaiveDate, NaiveDate), QueryError> {
        // The filter is built to be refused early; the export builds its own.
        let _keep = Self::rating_filter(who, filter)?;
        date_range(vn_day(self.clock.now()), filter.from, filter.to)
    }

    /// Sends the ratings of the range, newest day first, one page at a time.
    /// Stops quietly when the receiver is gone (the client went away).
    #[tracing::instrument(name = "export_ratings", skip_all)]
    pub async fn export_ratings(
        &self,
        who: &Scope,
        filter: &ListFilter,
        tx: mpsc::Sender<Vec<RatingView>>,
    ) -> Result<u64, QueryError> {
        let (from, to) = self.check_rating_export(who, filter)?;
        let keep = Self::rating_filter(who, filter)?;
        self.export_by_day(
            (from, to),
            |d, p| self.forms.ratings_on(d, p),
            keep,
            |r| {
                (
                    format!("{}:{}", r.form_id, r.subject.key),
                    RatingView::of(r),
                )
            },
            ("ratings export", who),
            tx,
        )
        .await
    }

    pub fn check_case_export(
        &self,
        who: &Scope,
        q: &CaseExportQuery,
    ) -> Result<(NaiveDate, NaiveDate), QueryError> {
        who.may_use(crate::policy::StaffRoute::Exports)?;
        if q.status
            .as_deref()
            .is_some_and(|s| CaseStatus::from_code(s).is_none())
        {
            return Err(QueryError::BadRequest(
                "status must be open, verifying, resolved or dismissed".into(),
            ));
        }
        if q.kind
            .as_deref()
            .is_some_and(|k| CaseKind::from_code(k).is_none())
        {
            return Err(QueryError::BadRequest(
                "kind must be complaint or suggestion".into(),
            ));
        }
        date_range(vn_day(self.clock.now()), q.from, q.to)
    }

    /// Sends every case the reader may see opened in the range, by open day.
    #[tracing::instrument(name = "export_cases", skip_all)]
    pub async fn export_cases(
        &self,
        who: &Scope,
        q: &CaseExportQuery,
        tx: mpsc::Sender<Vec<CaseView>>,
    ) -> Result<u64, QueryError> {
        let (from, to) = self.check_case_export(who, q)?;
        let status = q.status.as_deref().and_then(CaseStatus::from_code);
        let kind = q.kind.as_deref().and_then(CaseKind::from_code);
        self.export_by_day(
            (from, to),
            |d, p| self.cases.cases_opened_on(d, p),
            |c: &Case| {
                policy::sees_case(who, c)
                    && status.is_none_or(|s| c.status == s)
                    && kind.is_none_or(|k| c.kind == k)
            },
            |c| (c.id.clone(), CaseView::for_reader(who, c)),
            ("cases export", who),
            tx,
        )
        .await
    }

    /// Reads a day index from `to` back to `from`, page by page: keeps what
    /// `keep` keeps, records the read ids, sends the views on. Stops quietly
    /// when the receiver is gone (the client went away).
    async fn export_by_day<T, V, Fut>(
        &self,
        (from, to): (NaiveDate, NaiveDate),
        query: impl Fn(NaiveDate, PageRequest) -> Fut,
        keep: impl Fn(&T) -> bool,
        id_and_view: impl Fn(&T) -> (String, V),
        (what, who): (&str, &Scope),
        tx: mpsc::Sender<Vec<V>>,
    ) -> Result<u64, QueryError>
    where
        Fut: std::future::Future<Output = PortResult<Page<T>>>,
    {
        let mut sent = 0;
        let mut day = to;
        while day >= from {
            let mut page = PageRequest::first(EXPORT_PAGE);
            loop {
                let batch = query(day, page.clone()).await?;
                let (ids, views): (Vec<String>, Vec<V>) = batch
                    .items
                    .iter()
                    .filter(|t| keep(t))
                    .map(&id_and_view)
                    .unzip();
                if !views.is_empty() {
                    self.record_read(who, what, ids).await?;
                    sent += views.len() as u64;
                    if tx.send(views).await.is_err() {
                        return Ok(sent);
                    }
                }
                match batch.next {
                    Some(next) => page.after = Some(next),
                    None => break,
                }
            }
            let Some(prev) = day.checked_sub_days(Days::new(1)) else {
                break;
            };
            day = prev;
        }
        Ok(sent)
    }
}
