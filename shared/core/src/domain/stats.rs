//! Daily rollups per unit (department, branch, team, stage, officer).

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::case::Case;
use super::form::{Form, RatingRecord, Subject, units};

/// One unit's figures for one Vietnamese calendar day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DailyStats {
    pub unit: String,
    /// The branch the unit belongs to (none for the department), for scoping.
    pub branch: Option<String>,
    pub date: NaiveDate,
    /// Ratings at level 1, 2, 3, 4, 5 (index 0 is level 1).
    pub level_counts: [u64; 5],
    pub ratings: u64,
    pub average: Option<f64>,
    /// Share of ratings at level 4–5.
    pub satisfied_share: Option<f64>,
    pub forms_issued: u64,
    pub forms_submitted: u64,
    /// forms_submitted / forms_issued for the day.
    pub response_rate: Option<f64>,
    pub complaints_opened: u64,
    pub complaints_closed: u64,
    /// Cases still open past their due date at the end of the day.
    pub complaints_overdue: u64,
}

impl DailyStats {
    fn empty(unit: &str, date: NaiveDate) -> DailyStats {
        DailyStats {
            unit: unit.to_owned(),
            branch: None,
            date,
            level_counts: [0; 5],
            ratings: 0,
            average: None,
            satisfied_share: None,
            forms_issued: 0,
            forms_submitted: 0,
            response_rate: None,
            complaints_opened: 0,
            complaints_closed: 0,
            complaints_overdue: 0,
        }
    }

    fn finish(&mut self) {
        let sum: u64 = self
            .level_counts
            .iter()
            .enumerate()
            .map(|(i, n)| (i as u64 + 1) * n)
            .sum();
        self.ratings = self.level_counts.iter().sum();
        if self.ratings > 0 {
            self.average = Some(sum as f64 / self.ratings as f64);
            self.satisfied_share =
                Some((self.level_counts[3] + self.level_counts[4]) as f64 / self.ratings as f64);
        }
        if self.forms_issued > 0 {
            self.response_rate = Some(self.forms_submitted as f64 / self.forms_issued as f64);
        }
    }
}

/// Every unit a form's subjects count towards, plus the department.
fn form_units(subjects: &[Subject]) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = subjects.iter().map(Subject::unit).collect();
    out.insert(units::DEPARTMENT.to_owned());
    out
}

fn case_units(case: &Case) -> BTreeSet<String> {
    let subjects: Vec<Subject> = case
        .complaint
        .subjects
        .iter()
        .map(|s| s.subject.clone())
        .collect();
    let mut out = form_units(&subjects);
    if let Some(first) = subjects.first() {
        out.insert(units::branch(&first.branch));
    }
    out
}

/// What the nightly job read for one day.
pub struct DayInputs<'a> {
    pub date: NaiveDate,
    pub forms_issued: &'a [Form],
    pub ratings: &'a [RatingRecord],
    pub cases_opened: &'a [Case],
    pub cases_closed: &'a [Case],
    pub cases_overdue: &'a [Case],
}

/// Pure arithmetic: the same inputs always give the same rollups, so rerunning the
/// nightly job for a day overwrites its figures with identical ones.
pub fn roll_up(inputs: &DayInputs<'_>) -> Vec<DailyStats> {
    let date = inputs.date;
    let mut by_unit: BTreeMap<String, DailyStats> = BTreeMap::new();
    fn at<'m>(
        map: &'m mut BTreeMap<String, DailyStats>,
        unit: &str,
        date: NaiveDate,
    ) -> &'m mut DailyStats {
        map.entry(unit.to_owned())
            .or_insert_with(|| DailyStats::empty(unit, date))
    }

    for form in inputs.forms_issued {
        for unit in form_units(&form.subjects) {
            at(&mut by_unit, &unit, date).forms_issued += 1;
        }
    }

    let mut submitted: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for r in inputs.ratings {
        let idx = usize::from(r.level.value()) - 1;
        at(&mut by_unit, &r.subject.unit(), date).level_counts[idx] += 1;
        let units = submitted.entry(&r.form_id).or_default();
        units.insert(r.subject.unit());
        units.insert(units::DEPARTMENT.to_owned());
        // The department's own satisfaction is how businesses rated the branches.
        if r.subject.kind == super::form::SubjectKind::Branch {
            at(&mut by_unit, units::DEPARTMENT, date).level_counts[idx] += 1;
        }
    }
    for units in submitted.values() {
        for unit in units {
            at(&mut by_unit, unit, date).forms_submitted += 1;
        }
    }

    for case in inputs.cases_opened {
        for unit in case_units(case) {
            at(&mut by_unit, &unit, date).complaints_opened += 1;
        }
    }
    for case in inputs.cases_closed {
        for unit in case_units(case) {
            at(&mut by_unit, &unit, date).complaints_closed += 1;
        }
    }
    for case in inputs.cases_overdue {
        for unit in case_units(case) {
            at(&mut by_unit, &unit, date).complaints_overdue += 1;
        }
    }

    // Which branch each unit belongs to, from the subjects seen.
    let mut branch_of: BTreeMap<String, String> = BTreeMap::new();
    let subjects = inputs
        .forms_issued
        .iter()
        .flat_map(|f| f.subjects.iter())
        .chain(inputs.ratings.iter().map(|r| &r.subject))
        .chain(
            [
                inputs.cases_opened,
                inputs.cases_closed,
                inputs.cases_overdue,
            ]
            .into_iter()
            .flatten()
            .flat_map(|c| c.complaint.subjects.iter().map(|s| &s.subject)),
        );
    for s in subjects {
        branch_of
            .entry(s.unit())
            .or_insert_with(|| s.branch.to_string());
        branch_of
            .entry(units::branch(&s.branch))
            .or_insert_with(|| s.branch.to_string());
    }

    by_unit
        .into_values()
        .map(|mut s| {
            s.branch = branch_of.get(&s.unit).cloned();
            s.finish();
            s
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::form::SubjectRating;
    use crate::domain::rating_scale::Level;
    use crate::domain::submission::tests::sample_form;
    use chrono::Utc;

    fn record(form: &Form, key: &str, level: u8) -> RatingRecord {
        let sub = crate::domain::form::Submission {
            ratings: vec![SubjectRating {
                subject_key: key.into(),
                level: Level::new(level).unwrap(),
                reasons: vec![],
                comment: None,
            }],
            overall_comment: None,
            contact: None,
        };
        RatingRecord::from_submission(form, &sub, Utc::now()).remove(0)
    }

    #[test]
    fn counts_average_share_and_response_rate() {
        let date = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
        let mut f1 = sample_form();
        f1.id = "f1".into();
        let mut f2 = sample_form();
        f2.id = "f2".into();
        let forms = vec![f1.clone(), f2.clone(), sample_form(), sample_form()];
        let ratings = vec![
            record(&f1, "branch:03CC", 5),
            record(&f1, "officer:document_check:HP1234", 4),
            record(&f2, "branch:03CC", 2),
            record(&f2, "officer:document_check:HP1234", 1),
        ];
        let stats = roll_up(&DayInputs {
            date,
            forms_issued: &forms,
            ratings: &ratings,
            cases_opened: &[],
            cases_closed: &[],
            cases_overdue: &[],
        });
        let get = |u: &str| stats.iter().find(|s| s.unit == u).unwrap();

        let branch = get("branch:03CC");
        assert_eq!(branch.level_counts, [0, 1, 0, 0, 1]);
        assert_eq!(branch.ratings, 2);
        assert_eq!(branch.average, Some(3.5));
        assert_eq!(branch.satisfied_share, Some(0.5));
        assert_eq!(branch.forms_issued, 4);
        assert_eq!(branch.forms_submitted, 2);
        assert_eq!(branch.response_rate, Some(0.5));

        let officer = get("officer:HP1234");
        assert_eq!(officer.level_counts, [1, 0, 0, 1, 0]);
        assert_eq!(officer.average, Some(2.5));
        assert_eq!(officer.branch.as_deref(), Some("03CC"));

        let dept = get("department");
        assert_eq!(dept.forms_issued, 4);
        assert_eq!(dept.forms_submitted, 2);
        assert_eq!(dept.ratings, 2, "the department counts branch ratings");
        assert_eq!(dept.branch, None);

        let team = get("team:03CC02");
        assert_eq!(team.forms_issued, 4);
        assert_eq!(team.forms_submitted, 0);
        assert_eq!(team.response_rate, Some(0.0));
        assert_eq!(team.average, None);
        assert!(stats.iter().all(|s| s.date == date));
    }
}
