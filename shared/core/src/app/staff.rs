//! What staff read: forms, ratings, cases and statistics, scoped to their units.

use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};

use super::Csq;
use crate::auth::staff::{StaffClaims, StaffRole};
use crate::auth::{b64, unb64};
use crate::domain::case::{Case, CaseEvent, CaseStatus};
use crate::domain::form::{Form, RatingRecord, units};
use crate::domain::org::OrgDirectory;
use crate::domain::rating_scale::Level;
use crate::domain::stats::DailyStats;
use crate::domain::time::vn_day;
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
    #[error("you may not see unit {0}")]
    Forbidden(String),
    #[error(transparent)]
    Storage(#[from] PortError),
}

/// Filters shared by the form and rating listings.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ListFilter {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
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
struct Cursor {
    day: NaiveDate,
    after: Option<String>,
}

fn encode_cursor(c: &Cursor) -> String {
    b64(serde_json::to_string(c)
        .expect("cursor serializes")
        .as_bytes())
}

fn decode_cursor(s: &str) -> Result<Cursor, QueryError> {
    unb64(s)
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| QueryError::BadRequest("cursor is not valid; start again without it".into()))
}

/// Resolves from/to (default: the last 30 days) and checks the range.
fn date_range(
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

#[derive(Debug, Serialize)]
pub struct CaseDetail {
    pub case: Case,
    pub events: Vec<CaseEvent>,
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
                (c.day, c.after)
            }
            None => (to, None),
        };
        let mut items = Vec::new();
        while day >= from {
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

    fn check_branch_filter(who: &StaffClaims, branch: Option<&str>) -> Result<(), QueryError> {
        match branch {
            Some(b) if !who.sees_branch(b) => Err(QueryError::Forbidden(format!("branch:{b}"))),
            _ => Ok(()),
        }
    }

    pub async fn list_forms(
        &self,
        who: &StaffClaims,
        filter: &ListFilter,
    ) -> Result<Listing<Form>, QueryError> {
        Self::check_branch_filter(who, filter.branch.as_deref())?;
        let status = filter.status.as_deref();
        self.list_by_day(
            filter,
            |d, p| self.forms.forms_issued_on(d, p),
            |f: &Form| {
                who.sees_branch(f.declaration.customs_office.as_str())
                    && filter
                        .branch
                        .as_deref()
                        .is_none_or(|b| f.declaration.customs_office.as_str() == b)
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
        .await
    }

    pub async fn list_ratings(
        &self,
        who: &StaffClaims,
        filter: &ListFilter,
    ) -> Result<Listing<RatingRecord>, QueryError> {
        Self::check_branch_filter(who, filter.branch.as_deref())?;
        let level = match filter.level {
            Some(n) => Some(
                Level::new(n)
                    .ok_or_else(|| QueryError::BadRequest("level must be 1 to 5".into()))?,
            ),
            None => None,
        };
        self.list_by_day(
            filter,
            |d, p| self.forms.ratings_on(d, p),
            |r: &RatingRecord| {
                who.sees_branch(r.branch.as_str())
                    && filter
                        .branch
                        .as_deref()
                        .is_none_or(|b| r.branch.as_str() == b)
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
            },
        )
        .await
    }

    /// Cases of one unit (by default the caller's own), optionally one status.
    pub async fn list_cases(
        &self,
        who: &StaffClaims,
        unit: Option<&str>,
        status: Option<&str>,
        limit: Option<u32>,
        cursor: Option<String>,
    ) -> Result<Listing<Case>, QueryError> {
        let status = match status {
            Some(s) => Some(CaseStatus::from_code(s).ok_or_else(|| {
                QueryError::BadRequest(
                    "status must be open, verifying, resolved or dismissed".into(),
                )
            })?),
            None => None,
        };
        let unit = unit.or(who.default_case_unit());
        let limit = limit.unwrap_or(50).clamp(1, MAX_PAGE);
        match unit {
            Some(unit) => {
                if who.role != StaffRole::Department && who.default_case_unit() != Some(unit) {
                    return Err(QueryError::Forbidden(unit.to_owned()));
                }
                let page = self
                    .cases
                    .cases_of_unit(
                        unit,
                        status,
                        PageRequest {
                            after: cursor,
                            limit,
                        },
                    )
                    .await?;
                Ok(Listing {
                    items: page.items,
                    next_cursor: page.next,
                })
            }
            // The department without a unit: every case opened in the last 30 days.
            None => {
                let filter = ListFilter {
                    limit: Some(limit),
                    cursor,
                    ..ListFilter::default()
                };
                self.list_by_day(
                    &filter,
                    |d, p| self.cases.cases_opened_on(d, p),
                    |c: &Case| status.is_none_or(|s| c.status == s),
                )
                .await
            }
        }
    }

    pub async fn case_detail(
        &self,
        who: &StaffClaims,
        case_id: &str,
    ) -> Result<CaseDetail, QueryError> {
        let case = self
            .cases
            .case(case_id)
            .await?
            .ok_or(QueryError::NotFound)?;
        if !who.sees_case(&case) {
            return Err(QueryError::NotFound);
        }
        let events = self.cases.case_events(case_id).await?;
        let overdue = case.is_overdue_at(self.clock.now());
        Ok(CaseDetail {
            case,
            events,
            overdue,
        })
    }

    /// Daily rollups of one unit. Branch heads see their branch and the units in it.
    pub async fn unit_stats(
        &self,
        who: &StaffClaims,
        unit: &str,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Result<Vec<DailyStats>, QueryError> {
        if unit.is_empty() || unit.len() > 64 {
            return Err(QueryError::BadRequest("unit is required, such as department, branch:03CC, team:03CC01, stage:03CC:clearance or officer:HP1234".into()));
        }
        let (from, to) = date_range(vn_day(self.clock.now()), from, to)?;
        if who.role == StaffRole::BranchHead && unit == units::DEPARTMENT {
            return Err(QueryError::Forbidden(unit.to_owned()));
        }
        let rows = self.stats.daily(unit, from, to).await?;
        if rows
            .iter()
            .any(|r| r.branch.as_deref().is_some_and(|b| !who.sees_branch(b)))
        {
            return Err(QueryError::Forbidden(unit.to_owned()));
        }
        Ok(rows)
    }

    pub async fn org_directory(&self) -> Result<Option<OrgDirectory>, PortError> {
        self.org.org().await
    }
}
