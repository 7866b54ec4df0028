//! The case lists and a case's detail as a reader may see them: the
//! reader's own lists by default, misconduct reports to the inspection unit
//! alone, every read of a complainant's contact audited.

use super::*;

#[derive(Debug, Serialize)]
pub struct CaseDetail {
    pub case: CaseView,
    pub events: Vec<CaseEventView>,
    pub overdue: bool,
}

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

impl Records {
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
}
