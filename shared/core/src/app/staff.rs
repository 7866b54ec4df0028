//! What staff read: forms, ratings, cases and statistics, scoped to their units.

use chrono::{Datelike, Days, NaiveDate};
use serde::{Deserialize, Serialize};

use super::Csq;
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
use crate::ports::{Page, PageRequest, PortError};

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

#[derive(Debug, Serialize)]
pub struct CaseDetail {
    pub case: CaseView,
    pub events: Vec<CaseEventView>,
    pub overdue: bool,
}

impl Csq {
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

    /// Cases of one case list (`inspection`, `default` or a unit code; by default
    /// the caller's own), optionally one status. With `subtree`, every case the
    /// caller may see that was opened in the last 30 days (or `from`..`to`),
    /// newest day first: how a region head reads the offices below it.
    #[tracing::instrument(name = "list_cases", skip_all)]
    pub async fn list_cases(
        &self,
        who: &Scope,
        query: &CaseListQuery,
    ) -> Result<Listing<CaseView>, QueryError> {
        who.may_use(StaffRoute::Cases)?;
        let status = match query.status.as_deref() {
            Some(s) => Some(CaseStatus::from_code(s).ok_or_else(|| {
                QueryError::BadRequest(
                    "status must be open, verifying, resolved or dismissed".into(),
                )
            })?),
            None => None,
        };
        let limit = query.limit.unwrap_or(50).clamp(1, MAX_PAGE);
        let kind = match query.kind.as_deref() {
            Some(k) => Some(CaseKind::from_code(k).ok_or_else(|| {
                QueryError::BadRequest("kind must be complaint or suggestion".into())
            })?),
            None => None,
        };
        if query.due_within_days.is_some_and(|d| d > 366) {
            return Err(QueryError::BadRequest("due_within_days is 0 to 366".into()));
        }
        let now = self.clock.now();
        let due_by = query
            .due_within_days
            .map(|d| now + chrono::Duration::days(i64::from(d)));
        let overdue = query.overdue;
        let keep = |c: &Case| {
            policy::sees_case(who, c)
                && status.is_none_or(|s| c.status == s)
                && kind.is_none_or(|k| c.kind == k)
                && overdue
                    .is_none_or(|o| (c.is_overdue_at(now) || c.is_acknowledge_overdue_at(now)) == o)
                && due_by.is_none_or(|by| !c.status.is_closed() && c.due_at <= by)
        };
        let unit = if query.subtree {
            None
        } else {
            query.unit.as_deref().or(who.default_case_unit())
        };
        let listing = match unit {
            Some(unit) => {
                who.may_list_cases_of(unit)?;
                // A filter may keep few of a unit's cases: read on, up to the
                // budget, and hand back where this stopped.
                let mut items = vec![];
                let mut after = query.cursor.clone();
                let mut reads = 0;
                loop {
                    let page = self
                        .cases
                        .cases_of_unit(
                            unit,
                            status,
                            PageRequest {
                                after: after.clone(),
                                limit: limit - items.len() as u32,
                            },
                        )
                        .await?;
                    reads += 1;
                    items.extend(page.items.into_iter().filter(|c| keep(c)));
                    after = page.next;
                    if after.is_none() || items.len() >= limit as usize || reads >= READ_BUDGET {
                        break;
                    }
                }
                Listing {
                    items,
                    next_cursor: after,
                }
            }
            None => {
                let filter = ListFilter {
                    from: query.from,
                    to: query.to,
                    limit: Some(limit),
                    cursor: query.cursor.clone(),
                    ..ListFilter::default()
                };
                self.list_by_day(
                    &filter,
                    |d, p| self.cases.cases_opened_on(d, p),
                    |c: &Case| keep(c),
                )
                .await?
            }
        };
        self.record_read(who, "cases", listing.items.iter().map(|c| c.id.clone()))
            .await?;
        Ok(listing.map(|c| CaseView::for_reader(who, &c)))
    }

    #[tracing::instrument(name = "case_detail", skip_all)]
    pub async fn case_detail(&self, who: &Scope, case_id: &str) -> Result<CaseDetail, QueryError> {
        let case = self
            .cases
            .case(case_id)
            .await?
            .ok_or(QueryError::NotFound)?;
        if !policy::sees_case(who, &case) {
            return Err(QueryError::NotFound);
        }
        let events = self.cases.case_events(case_id).await?;
        self.record_read(who, "case", [case.id.clone()]).await?;
        let overdue = case.is_overdue_at(self.clock.now());
        Ok(CaseDetail {
            case: CaseView::for_reader(who, &case),
            events: events.iter().map(CaseEventView::from).collect(),
            overdue,
        })
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

    /// An officer's own page: figures per month, only months of at least k
    /// ratings, misconduct reports never; comments without the business or the
    /// declaration, from those months only.
    #[tracing::instrument(name = "officer_report", skip_all)]
    pub async fn officer_report(
        &self,
        who: &Scope,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Result<OfficerReport, QueryError> {
        let officer = match (who.role(), who.who.officer.as_deref()) {
            (StaffRole::Officer, Some(id)) => id.to_owned(),
            _ => {
                return Err(Refusal::OfficersOnly.into());
            }
        };
        let today = vn_day(self.clock.now());
        let first_of = |d: NaiveDate| d.with_day(1).unwrap_or(d);
        let default_from = first_of(
            first_of(today)
                .checked_sub_months(chrono::Months::new(2))
                .unwrap_or(today),
        );
        let (from, to) = date_range(today, Some(from.unwrap_or(default_from)), to)?;
        let k = self.settings.min_cell;
        let rows = self
            .stats
            .daily(&units::officer(&officer), from, to)
            .await?;
        let mut by_month: std::collections::BTreeMap<String, Vec<DailyStats>> = Default::default();
        for r in rows {
            by_month
                .entry(r.date.format("%Y-%m").to_string())
                .or_default()
                .push(r.without_misconduct());
        }
        let months: Vec<OfficerMonth> = by_month
            .iter()
            .map(|(month, rows)| {
                let t = total(&units::officer(&officer), rows);
                let enough = policy::enough_ratings(t.ratings, k);
                OfficerMonth {
                    month: month.clone(),
                    enough_ratings: enough,
                    figures: enough.then_some(t),
                }
            })
            .collect();
        let shown: std::collections::HashSet<&str> = months
            .iter()
            .filter(|m| m.enough_ratings)
            .map(|m| m.month.as_str())
            .collect();
        let filter = ListFilter {
            from: Some(from),
            to: Some(to),
            limit: Some(MAX_PAGE),
            ..ListFilter::default()
        };
        let comments = self
            .list_by_day(
                &filter,
                |d, p| self.forms.ratings_on(d, p),
                |r: &RatingRecord| {
                    r.subject
                        .officer_id
                        .as_ref()
                        .is_some_and(|o| o.as_str() == officer)
                        && r.comment.is_some()
                },
            )
            .await?
            .items
            .iter()
            .filter_map(policy::officer_comment)
            .filter(|c| shown.contains(c.month.as_str()))
            .collect();
        Ok(OfficerReport {
            officer_id: officer,
            from,
            to,
            min_ratings: k,
            months,
            comments,
        })
    }

    /// The audit log of personal-data reads, newest day first (department only).
    #[tracing::instrument(name = "audit_log", skip_all)]
    pub async fn audit_log(
        &self,
        who: &Scope,
        filter: &ListFilter,
    ) -> Result<Listing<AuditEntry>, QueryError> {
        who.may_use(StaffRoute::AuditLog)?;
        self.list_by_day(filter, |d, p| self.audit.audit_on(d, p), |_| true)
            .await
    }

    /// Daily rollups of one statistics unit, optionally with its predecessors'
    /// history added in and its child units' totals for drill-down.
    #[tracing::instrument(name = "unit_stats", skip_all)]
    pub async fn unit_stats(
        &self,
        who: &Scope,
        request: &StatsRequest,
    ) -> Result<UnitStats, QueryError> {
        who.may_use(StaffRoute::Stats)?;
        let (from, to) = date_range(vn_day(self.clock.now()), request.from, request.to)?;
        let empty = OrgDirectory::new("", "", vec![]);
        let org = who.org().unwrap_or(&empty);
        let key = StatsKey::parse(request.unit.as_deref().unwrap_or(""), org)?;
        if let Some(code) = key.unit_code()
            && !who.sees_unit(code)
        {
            return Err(Refusal::Unit(code.to_owned()).into());
        }
        let days = self
            .stats_of(who, &key, org, from, to, request.include_predecessors)
            .await?;
        let unit = key.unit_code().and_then(|c| org.unit(c));
        let children = match (request.children, &key) {
            (true, StatsKey::Unit(code)) => {
                let children = org.children(code);
                if children.len() > MAX_CHILDREN {
                    return Err(QueryError::BadRequest(format!(
                        "{code} has more than {MAX_CHILDREN} units below it; ask for them one by one"
                    )));
                }
                let mut out = Vec::with_capacity(children.len());
                // Each child's own figures, retired ones included: they add up
                // to the parent's (predecessors are only merged into the unit asked).
                for child in children {
                    let child_key = StatsKey::Unit(child.code.clone());
                    let rows = self.stats_of(who, &child_key, org, from, to, false).await?;
                    out.push(ChildStats {
                        unit: UnitInfo::of(child),
                        totals: total(&child_key.key(), &rows),
                    });
                }
                Some(out)
            }
            (true, _) => {
                return Err(QueryError::BadRequest(
                    "children=true needs a unit of the tree, such as unit=03CC".into(),
                ));
            }
            _ => None,
        };
        Ok(UnitStats {
            unit: key.key(),
            info: unit.map(UnitInfo::of),
            path: unit
                .map(|u| org.path(&u.code).into_iter().map(UnitInfo::of).collect())
                .unwrap_or_default(),
            predecessors: unit
                .filter(|_| request.include_predecessors)
                .map(|u| {
                    org.predecessors(&u.code)
                        .into_iter()
                        .map(|p| p.code.clone())
                        .collect()
                })
                .unwrap_or_default(),
            totals: total(&key.key(), &days),
            days: days
                .iter()
                .map(|d| StatsRowView::for_reader(who, d))
                .collect(),
            children,
        })
    }

    /// One key's rows as `who` may see them, or its rows and its predecessors'
    /// added up per day (each unit's cell judged on its own first).
    async fn stats_of(
        &self,
        who: &Scope,
        key: &StatsKey,
        org: &OrgDirectory,
        from: NaiveDate,
        to: NaiveDate,
        include_predecessors: bool,
    ) -> Result<Vec<DailyStats>, QueryError> {
        let read = |key: StatsKey| async move { self.scoped_rows(who, &key.key(), from, to).await };
        let mut rows = read(key.clone()).await?;
        let Some(code) = key.unit_code().filter(|_| include_predecessors) else {
            return Ok(rows);
        };
        let predecessors = org.predecessors(code);
        if predecessors.is_empty() {
            return Ok(rows);
        }
        for p in predecessors {
            rows.extend(read(key.with_unit(&p.code)).await?);
        }
        Ok(merge_days(&key.key(), Some(code), &rows))
    }
}

/// What an officer reads about themselves.
#[derive(Debug, Serialize)]
pub struct OfficerReport {
    pub officer_id: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Months with fewer ratings show no figures and no comments.
    pub min_ratings: u64,
    pub months: Vec<OfficerMonth>,
    pub comments: Vec<policy::OfficerCommentView>,
}

#[derive(Debug, Serialize)]
pub struct OfficerMonth {
    pub month: String,
    pub enough_ratings: bool,
    pub figures: Option<StatsTotal>,
}

/// At most this many child units in one drill-down (one Query each).
pub const MAX_CHILDREN: usize = 500;

/// Query of `GET /v1/cases`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CaseListQuery {
    pub unit: Option<String>,
    pub status: Option<String>,
    /// `complaint` or `suggestion`.
    pub kind: Option<String>,
    /// Only cases past a deadline (acknowledge or resolve), or only those not.
    pub overdue: Option<bool>,
    /// Only open cases due within this many days from now.
    pub due_within_days: Option<u32>,
    #[serde(default)]
    pub subtree: bool,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// Query of `GET /v1/stats`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct StatsRequest {
    pub unit: Option<String>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    #[serde(default)]
    pub include_predecessors: bool,
    #[serde(default)]
    pub children: bool,
}

/// What a statistics request names: a unit of the tree, a stage within a unit,
/// or an officer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatsKey {
    Unit(String),
    Stage(String, crate::domain::declaration::Stage),
    Officer(String),
}

impl StatsKey {
    /// Reads `03CC`, `unit:03CC`, `stage:03CC:clearance`, `officer:HP1234`, and the
    /// first version's `department`, `branch:03CC`, `team:03CC01`.
    pub fn parse(raw: &str, org: &OrgDirectory) -> Result<StatsKey, QueryError> {
        let bad = || {
            QueryError::BadRequest(
                "unit is required: a unit code at any level (03CC, or unit:03CC), department, stage:03CC:clearance or officer:HP1234".into(),
            )
        };
        if raw.is_empty() || raw.len() > 64 {
            return Err(bad());
        }
        let code_ok = |c: &str| crate::domain::fields::UnitCode::parse(c).is_ok();
        let key = match raw.split_once(':') {
            None if raw == "department" => {
                StatsKey::Unit(org.root().map(|u| u.code.clone()).ok_or_else(bad)?)
            }
            None if code_ok(raw) => StatsKey::Unit(raw.to_owned()),
            Some(("unit" | "branch" | "team", c)) if code_ok(c) => StatsKey::Unit(c.to_owned()),
            Some(("stage", rest)) => match rest.split_once(':') {
                Some((c, stage)) if code_ok(c) => StatsKey::Stage(
                    c.to_owned(),
                    crate::domain::declaration::Stage::from_code(stage).ok_or_else(bad)?,
                ),
                _ => return Err(bad()),
            },
            Some(("officer", id)) if !id.is_empty() => StatsKey::Officer(id.to_owned()),
            _ => return Err(bad()),
        };
        Ok(key)
    }

    pub fn key(&self) -> String {
        match self {
            StatsKey::Unit(c) => units::unit(c),
            StatsKey::Stage(c, s) => units::stage(c, *s),
            StatsKey::Officer(id) => units::officer(id),
        }
    }

    pub fn unit_code(&self) -> Option<&str> {
        match self {
            StatsKey::Unit(c) | StatsKey::Stage(c, _) => Some(c),
            StatsKey::Officer(_) => None,
        }
    }

    fn with_unit(&self, code: &str) -> StatsKey {
        match self {
            StatsKey::Unit(_) => StatsKey::Unit(code.to_owned()),
            StatsKey::Stage(_, s) => StatsKey::Stage(code.to_owned(), *s),
            StatsKey::Officer(id) => StatsKey::Officer(id.clone()),
        }
    }
}

/// A unit as the statistics name it.
#[derive(Debug, Clone, Serialize)]
pub struct UnitInfo {
    pub code: String,
    pub name: String,
    pub name_en: Option<String>,
    pub kind: String,
    pub active: bool,
}

impl UnitInfo {
    fn of(u: &Unit) -> UnitInfo {
        UnitInfo {
            code: u.code.clone(),
            name: u.name.clone(),
            name_en: u.name_en.clone(),
            kind: u.kind.clone(),
            active: u.is_active(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ChildStats {
    pub unit: UnitInfo,
    pub totals: StatsTotal,
}

#[derive(Debug, Clone, Serialize)]
pub struct UnitStats {
    /// The statistics key read, such as `unit:03CC`.
    pub unit: String,
    /// The unit of the tree it belongs to, when it is one.
    pub info: Option<UnitInfo>,
    /// Root first, the unit last: for breadcrumbs.
    pub path: Vec<UnitInfo>,
    /// Codes whose history was added in (`include_predecessors=true`).
    pub predecessors: Vec<String>,
    pub totals: StatsTotal,
    pub days: Vec<StatsRowView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub children: Option<Vec<ChildStats>>,
}
