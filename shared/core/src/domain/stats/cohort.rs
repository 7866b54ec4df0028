//! The issue-day cohorts of response, kept up to date from each day's
//! records: a day's issued forms open their cohort rows, and each form rated
//! that day adds to its issue day's row under the rating day. A rerun of a
//! day replaces what that day added, so the figures come out the same; and
//! the night reads what the day holds, never the whole window's forms.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::roll_up::units_of;
use super::{DailyStats, cohort_key};
use crate::domain::form::{Form, FormStatus};
use crate::domain::org::OrgDirectory;
use crate::domain::time::vn_day;

/// The forms of one issue day rated on one later day, for a unit: how many,
/// and by minutes from issue to rating.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RatedOn {
    pub forms: u64,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub minutes: BTreeMap<u32, u64>,
}

/// When a submitted form was rated, in minutes after it was issued.
fn rated_after(form: &Form) -> Option<(NaiveDate, u32)> {
    let at = form
        .submitted_at
        .filter(|_| form.status == FormStatus::Submitted)?;
    let minutes = u32::try_from((at - form.issued_at).num_minutes().max(0)).unwrap_or(u32::MAX);
    Some((vn_day(at), minutes))
}

/// A cohort row's contributions, keyed by cohort key and issue day, each
/// with the unit that owns the row.
pub type CohortRatings = BTreeMap<(String, NaiveDate), (String, RatedOn)>;

/// What the day's rated forms add to their issue days' cohorts: each form
/// once per unit it counts towards.
pub fn cohort_ratings(rated: &[Form], org: Option<&OrgDirectory>) -> CohortRatings {
    let mut out = CohortRatings::new();
    for form in rated {
        let Some((_, minutes)) = rated_after(form) else {
            continue;
        };
        let issued_on = vn_day(form.issued_at);
        for (unit, owner) in units_of(form.subjects.iter(), org) {
            let (_, r) = out
                .entry((cohort_key(&unit), issued_on))
                .or_insert_with(|| (owner, RatedOn::default()));
            r.forms += 1;
            *r.minutes.entry(minutes).or_default() += 1;
        }
    }
    out
}

/// How many forms a day issued, per cohort key, with the unit owning the row.
pub fn cohort_issued(
    issued: &[Form],
    org: Option<&OrgDirectory>,
) -> BTreeMap<String, (String, u64)> {
    let mut out: BTreeMap<String, (String, u64)> = BTreeMap::new();
    for form in issued {
        for (unit, owner) in units_of(form.subjects.iter(), org) {
            out.entry(cohort_key(&unit)).or_insert((owner, 0)).1 += 1;
        }
    }
    out
}

impl DailyStats {
    /// A cohort row written before rows kept their ratings by day: its
    /// ratings cannot be told apart, so its day is recomputed from its forms.
    pub fn is_cohort_without_days(&self) -> bool {
        self.forms_submitted > 0 && self.rated_by_day.is_empty()
    }

    /// Puts what the forms rated on `day` add to this cohort row (replacing
    /// what that day added before), and the totals that follow.
    pub fn set_rated_on(&mut self, day: NaiveDate, rated: RatedOn) {
        if rated.forms == 0 {
            self.rated_by_day.remove(&day);
        } else {
            self.rated_by_day.insert(day, rated);
        }
        self.forms_submitted = self.rated_by_day.values().map(|r| r.forms).sum();
        self.minutes_to_rate.clear();
        for r in self.rated_by_day.values() {
            for (m, n) in &r.minutes {
                *self.minutes_to_rate.entry(*m).or_default() += n;
            }
        }
        self.response_rate = None;
        self.finish();
    }
}

/// The cohort rows of `date` computed from every form it issued (the
/// rebuild: after an upgrade, or when a day's rows are in doubt): how many
/// were issued, and how many of those have been rated so far, by rating day.
pub fn cohort_roll_up(
    date: NaiveDate,
    forms_issued: &[Form],
    org: Option<&OrgDirectory>,
) -> Vec<DailyStats> {
    let mut by_key: BTreeMap<String, DailyStats> = BTreeMap::new();
    for (key, (owner, n)) in cohort_issued(forms_issued, org) {
        let mut row = DailyStats::empty(&key, date);
        row.owner = Some(owner).filter(|o| !o.is_empty());
        row.forms_issued = n;
        by_key.insert(key, row);
    }
    let mut by_day: BTreeMap<(String, NaiveDate), RatedOn> = BTreeMap::new();
    for form in forms_issued {
        let Some((day, minutes)) = rated_after(form) else {
            continue;
        };
        for (unit, _) in units_of(form.subjects.iter(), org) {
            let r = by_day.entry((cohort_key(&unit), day)).or_default();
            r.forms += 1;
            *r.minutes.entry(minutes).or_default() += 1;
        }
    }
    for ((key, day), rated) in by_day {
        if let Some(row) = by_key.get_mut(&key) {
            row.set_rated_on(day, rated);
        }
    }
    by_key
        .into_values()
        .map(|mut s| {
            s.finish();
            s
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::submission::tests::sample_form;
    use chrono::{Duration, Utc};

    fn form(id: &str, issued: chrono::DateTime<Utc>, rated_after: Option<i64>) -> Form {
        let mut f = sample_form();
        f.id = id.into();
        f.issued_at = issued;
        if let Some(m) = rated_after {
            f.status = FormStatus::Submitted;
            f.submitted_at = Some(issued + Duration::minutes(m));
        }
        f
    }

    /// Day by day, as the nightly keeps them (each day's issued forms, then
    /// each day's rated forms added to their issue days, a day run twice),
    /// the cohort rows equal the rebuild from every form of the issue day.
    #[test]
    fn rows_kept_day_by_day_equal_the_rebuild_and_reruns_change_nothing() {
        let d0 = crate::domain::time::vn_day_start(NaiveDate::from_ymd_opt(2026, 11, 2).unwrap())
            + Duration::hours(9);
        let forms = vec![
            form("a", d0, Some(30)),              // rated the same day
            form("b", d0, Some(60 * 24 + 5)),     // the next day
            form("c", d0, Some(60 * 24 * 3 + 7)), // three days on
            form("d", d0 + Duration::minutes(1), None),
        ];
        let day = |n: u64| vn_day(d0) + chrono::Days::new(n);
        let key = cohort_key("unit:03CC");
        let mut row = DailyStats::empty(&key, day(0));
        row.owner = Some("03CC".into());
        for n in [0, 1, 1, 2, 3, 3] {
            let rated: Vec<Form> = forms
                .iter()
                .filter(|f| f.submitted_at.map(vn_day) == Some(day(n)))
                .cloned()
                .collect();
            if n == 0 {
                row.forms_issued = cohort_issued(&forms, None)[&key].1;
            }
            let added = cohort_ratings(&rated, None)
                .remove(&(key.clone(), day(0)))
                .map(|(_, r)| r)
                .unwrap_or_default();
            row.set_rated_on(day(n), added);
        }
        let rebuilt = cohort_roll_up(day(0), &forms, None);
        let want = rebuilt.iter().find(|r| r.unit == key).unwrap();
        assert_eq!(&row, want);
        assert_eq!((row.forms_issued, row.forms_submitted), (4, 3));
        assert_eq!(row.response_rate, Some(0.75));
        assert_eq!(
            row.rated_by_day.len(),
            3,
            "the same day, the next, three on"
        );
        assert!(!row.is_cohort_without_days());
        // A row written before rows kept their days is recomputed, not added to.
        let mut old = want.clone();
        old.rated_by_day.clear();
        assert!(old.is_cohort_without_days());
    }
}
