//! What staff read: forms, ratings, cases and statistics, scoped to their units.

use chrono::{Datelike, Days, NaiveDate};
use serde::{Deserialize, Serialize};

mod cases;
mod officer;
mod stats;

pub use cases::{CaseDetail, CaseListQuery};
pub use officer::{OfficerMonth, OfficerReport};
pub use stats::{ChildStats, MAX_CHILDREN, StatsKey, StatsRequest, UnitInfo, UnitStats};

use std::sync::Arc;

use super::Settings;
use crate::auth::scope::Scope;
use crate::auth::staff::StaffRole;
use crate::auth::{b64, unb64};
use crate::domain::audit::AuditEntry;
use crate::domain::case::{Case, CaseKind, CaseStatus};
use crate::domain::form::{Form, RatingRecord, units};
use crate::domain::org::{OrgDirectory, Unit};
use crate::domain::rating_scale::Level;
use crate::domain::stats::{DailyStats, StatsTotal, merge_days, total};
use crate::domain::time::vn_day;
use crate::policy::{
    self, CaseEventView, CaseView, FormView, RatingView, Refusal, StaffRoute, StatsRowView,
};
use crate::ports::{
    AuditLog, CaseStore, Clock, FormStore, Page, PageRequest, PortError, StatsStore, Store,
};

/// The longest date range one listing or stats request may cover.
pub const MAX_RANGE_DAYS: u64 = 366;
pub const MAX_PAGE: u32 = 200;

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("{0}")]
    BadRequest(String),
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Forbidden(crate::policy::Refusal),
    #[error(transparent)]
    Storage(PortError),
}

impl From<Refusal> for QueryError {
    fn from(r: Refusal) -> Self {
        QueryError::Forbidden(r)
    }
}

/// A cursor the store rejects is the caller's mistake (400), not an outage.
impl From<PortError> for QueryError {
    fn from(e: PortError) -> Self {
        if e.is_bad_cursor() {
            QueryError::BadRequest(BAD_CURSOR.into())
        } else {
            QueryError::Storage(e)
        }
    }
}

const BAD_CURSOR: &str = "cursor is not valid for this listing; start again without it";

/// Store pages one listing request may read. A listing whose filter keeps few
/// records over a long range stops here and hands back a cursor: no request
/// walks storage without a bound.
pub const READ_BUDGET: u32 = 40;

/// Filters shared by the form and rating listings.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ListFilter {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// A unit at any level: records of its subtree.
    pub unit: Option<String>,
    /// The first version's name for `unit`.
    pub branch: Option<String>,
    pub team: Option<String>,
    pub officer: Option<String>,
    pub level: Option<u8>,
    pub status: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// Where a listing stopped: the day it was reading and the store's cursor in it.
#[derive(Debug, Serialize, Deserialize)]
pub struct Cursor {
    day: NaiveDate,
    after: Option<String>,
}

fn encode_cursor(c: &Cursor) -> String {
    b64(serde_json::to_string(c)
        .expect("cursor serializes")
        .as_bytes())
}

/// Reads a listing cursor given by a client: any string, never a panic.
pub fn decode_cursor(s: &str) -> Result<Cursor, QueryError> {
    unb64(s)
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| QueryError::BadRequest(BAD_CURSOR.into()))
}

/// Resolves from/to (default: the last 30 days) and checks the range.
pub(crate) fn date_range(
    today: NaiveDate,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Result<(NaiveDate, NaiveDate), QueryError> {
    let to = to.unwrap_or(today);
    let from = from.unwrap_or_else(|| to.checked_sub_days(Days::new(29)).unwrap_or(to));
    if from > to {
        return Err(QueryError::BadRequest("from must not be after to".into()));
    }
    if (to - from).num_days() as u64 >= MAX_RANGE_DAYS {
        return Err(QueryError::BadRequest(format!(
            "a range covers at most {MAX_RANGE_DAYS} days"
        )));
    }
    Ok((from, to))
}

#[derive(Debug, Serialize)]
pub struct Listing<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Listing<T> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Listing<U> {
        Listing {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}

/// What staff read: forms, ratings, cases and the audit log of personal-data
/// reads, scoped to the reader's units, each read of personal data audited;
/// and the officer's own page.
#[derive(Clone)]
pub struct Records {
    pub(super) forms: Arc<dyn FormStore>,
    pub(super) cases: Arc<dyn CaseStore>,
    pub(super) audit: Arc<dyn AuditLog>,
    /// An officer's own page reads the officer's rollups.
    pub(super) stats: Arc<dyn StatsStore>,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) settings: Arc<Settings>,
}

impl Records {
    pub fn new(store: &Arc<dyn Store>, clock: Arc<dyn Clock>, settings: Arc<Settings>) -> Records {
        Records {
            forms: store.clone(),
            cases: store.clone(),
            audit: store.clone(),
            stats: store.clone(),
            clock,
            settings,
        }
    }

    /// Walks days from `to` back to `from`, newest first, reading each day's Query
    /// pages and keeping the items the filter accepts, until `limit` are found.
    async fn list_by_day<T, Q, Fut>(
        &self,
        filter: &ListFilter,
        query: Q,
        keep: impl Fn(&T) -> bool,
    ) -> Result<Listing<T>, QueryError>
    where
        Q: Fn(NaiveDate, PageRequest) -> Fut,
        Fut: std::future::Future<Output = Result<Page<T>, PortError>>,
    {
        let limit = filter.limit.unwrap_or(50).clamp(1, MAX_PAGE);
        let (from, to) = date_range(vn_day(self.clock.now()), filter.from, filter.to)?;
        let (mut day, mut after) = match &filter.cursor {
            Some(c) => {
                let c = decode_cursor(c)?;
                // A cursor names a day of this listing's range, never another.
                if c.day < from || c.day > to {
                    return Err(QueryError::BadRequest(BAD_CURSOR.into()));
                }
                (c.day, c.after)
            }
            None => (to, None),
        };
        let mut items = Vec::new();
        let mut reads = 0;
        while day >= from && reads < READ_BUDGET {
            // Ask only for what is still missing, so the store's cursor after this
            // page is exactly where the caller's next page must start.
            let missing = limit - items.len() as u32;
            let page = query(
                day,
                PageRequest {
                    after: after.clone(),
                    limit: missing,
                },
            )
            .await?;
            reads += 1;
            for item in page.items {
                if keep(&item) {
                    items.push(item);
                }
            }
            after = page.next;
            if after.is_none() {
                match day.checked_sub_days(Days::new(1)) {
                    Some(d) => day = d,
                    None => break,
                }
            }
            if items.len() >= limit as usize {
                break;
            }
        }
        let next_cursor = (day >= from).then(|| encode_cursor(&Cursor { day, after }));
        Ok(Listing { items, next_cursor })
    }

    /// The unit a listing is narrowed to, if any: it must be in the caller's scope.
    /// Which rating records a listing or an export of `filter` keeps for `who`.
    pub(crate) fn rating_filter<'a>(
        who: &'a Scope,
        filter: &'a ListFilter,
    ) -> Result<impl Fn(&RatingRecord) -> bool + 'a, QueryError> {
        who.may_use(StaffRoute::Ratings)?;
        let unit = Self::unit_filter(who, filter)?;
        let level = match filter.level {
            Some(n) => Some(
                Level::new(n)
                    .ok_or_else(|| QueryError::BadRequest("level must be 1 to 5".into()))?,
            ),
            None => None,
        };
        Ok(move |r: &RatingRecord| {
            let within =
                |code: &str, u: &str| who.org().map_or(code == u, |o| o.is_within(code, u));
            policy::sees_rating(who, r)
                && unit.is_none_or(|u| {
                    within(r.branch.as_str(), u)
                        || r.subject
                            .team
                            .as_ref()
                            .is_some_and(|t| within(t.as_str(), u))
                })
                && filter
                    .team
                    .as_deref()
                    .is_none_or(|t| r.subject.team.as_ref().is_some_and(|x| x.as_str() == t))
                && filter.officer.as_deref().is_none_or(|o| {
                    r.subject
                        .officer_id
                        .as_ref()
                        .is_some_and(|x| x.as_str() == o)
                })
                && level.is_none_or(|l| r.level == l)
        })
    }

    fn unit_filter<'f>(who: &Scope, filter: &'f ListFilter) -> Result<Option<&'f str>, QueryError> {
        let unit = filter.unit.as_deref().or(filter.branch.as_deref());
        match unit {
            Some(u) if !who.sees_unit(u) => Err(Refusal::Unit(u.to_owned()).into()),
            _ => Ok(unit),
        }
    }

    #[tracing::instrument(name = "list_forms", skip_all)]
    pub async fn list_forms(
        &self,
        who: &Scope,
        filter: &ListFilter,
    ) -> Result<Listing<FormView>, QueryError> {
        who.may_use(StaffRoute::Forms)?;
        let unit = Self::unit_filter(who, filter)?;
        let within = |code: &str, u: &str| who.org().map_or(code == u, |o| o.is_within(code, u));
        let status = filter.status.as_deref();
        let listing = self
            .list_by_day(
                filter,
                |d, p| self.forms.forms_issued_on(d, p),
                |f: &Form| {
                    policy::sees_form(who, f)
                        && unit.is_none_or(|u| {
                            within(f.declaration.customs_office.as_str(), u)
                                || f.handling.iter().any(|h| within(h.team.as_str(), u))
                        })
                        && filter
                            .team
                            .as_deref()
                            .is_none_or(|t| f.handling.iter().any(|h| h.team.as_str() == t))
                        && filter.officer.as_deref().is_none_or(|o| {
                            f.handling
                                .iter()
                                .any(|h| h.officer.as_ref().is_some_and(|x| x.id.as_str() == o))
                        })
                        && status.is_none_or(|s| f.status.code() == s)
                },
            )
            .await?;
        self.record_read(who, "forms", listing.items.iter().map(|f| f.id.clone()))
            .await?;
        Ok(listing.map(|f| FormView::for_reader(who, &f)))
    }

    #[tracing::instrument(name = "list_ratings", skip_all)]
    pub async fn list_ratings(
        &self,
        who: &Scope,
        filter: &ListFilter,
    ) -> Result<Listing<RatingView>, QueryError> {
        let keep = Self::rating_filter(who, filter)?;
        let listing = self
            .list_by_day(filter, |d, p| self.forms.ratings_on(d, p), keep)
            .await?;
        self.record_read(
            who,
            "ratings",
            listing
                .items
                .iter()
                .map(|r| format!("{}:{}", r.form_id, r.subject.key)),
        )
        .await?;
        Ok(listing.map(|r| RatingView::of(&r)))
    }

    /// Records that `who` read these records (ids only). A listing that
    /// returned nothing read nothing and is not recorded.
    pub(crate) async fn record_read(
        &self,
        who: &Scope,
        what: &str,
        ids: impl IntoIterator<Item = String>,
    ) -> Result<(), PortError> {
        let records: Vec<String> = ids.into_iter().collect();
        if records.is_empty() {
            return Ok(());
        }
        let now = self.clock.now();
        self.audit
            .record(&AuditEntry {
                id: uuid::Uuid::new_v4().simple().to_string(),
                at: now,
                who: who.who.sub.clone(),
                role: who.role().code().to_owned(),
                unit: who.who.unit.clone().or_else(|| who.who.officer.clone()),
                what: what.to_owned(),
                records,
                keep_until: now + self.settings.audit_retention,
            })
            .await
    }

    /// The audit log of personal-data reads, newest day first (department only).
    #[tracing::instrument(name = "audit_log", skip_all)]
    pub async fn audit_log(
        &self,
        who: &Scope,
        filter: &ListFilter,
    ) -> Result<Listing<crate::policy::AuditView>, QueryError> {
        who.may_use(StaffRoute::AuditLog)?;
        Ok(self
            .list_by_day(filter, |d, p| self.audit.audit_on(d, p), |_| true)
            .await?
            .map(|e| crate::policy::AuditView::of(&e)))
    }
}
