//! An officer's own page: figures per month (months of at least k ratings)
//! and the comments about them, never a misconduct report.

use super::*;

impl Records {
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
