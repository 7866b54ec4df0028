//! Daily rollups per unit of the tree (any level), per stage within a unit,
//! per officer: the row and how rows add up (here), and how a day's records
//! become rows (`roll_up.rs`).

mod cohort;
mod roll_up;
mod service_times;
mod time_satisfaction;

pub use cohort::{CohortRatings, RatedOn, cohort_issued, cohort_ratings, cohort_roll_up};
pub use roll_up::{DayInputs, roll_up};
pub use service_times::{ServiceTimeFigures, add_rows, times_roll_up};
pub use time_satisfaction::{BANDS, OVER_LIMIT, WITHIN_LIMIT, time_satisfaction_roll_up};

use std::collections::BTreeMap;

use crate::domain::watch::KindCounts;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// One unit's figures for one Vietnamese calendar day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DailyStats {
    pub unit: String,
    /// The org unit the row belongs to (an officer's: the office), for scoping.
    #[serde(alias = "branch")]
    pub owner: Option<String>,
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
    /// The part of `level_counts` that belong to misconduct reports (every
    /// rating of such a form, not only the line naming the reason), and of the
    /// complaint counts that are misconduct cases: what a reader who may not see
    /// them loses in a small cell (see `policy`). Never shown on its own.
    #[serde(default)]
    pub misconduct_level_counts: [u64; 5],
    /// The part of `forms_submitted` that are misconduct reports.
    #[serde(default)]
    pub misconduct_forms_submitted: u64,
    #[serde(default)]
    pub misconduct_complaints: [u64; 3],
    /// Complaints closed this day with an upheld finding: for the office and
    /// the units above it, and for each officer the finding names.
    #[serde(default)]
    pub complaints_upheld: u64,
    /// The part of `complaints_upheld` that are misconduct cases.
    #[serde(default)]
    pub misconduct_upheld: u64,
    /// Suggestions (kiến nghị) opened: never counted as complaints.
    #[serde(default)]
    pub suggestions_opened: u64,
    /// How businesses rated the handling of their cases, given this day, for
    /// the unit that answered and those above (index 0 is level 1).
    #[serde(default)]
    pub handling_level_counts: [u64; 5],
    /// Ratings per reason code, per level (index 0 is level 1).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub reason_counts: BTreeMap<String, [u64; 5]>,
    /// The part of `reason_counts` from misconduct reports.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub misconduct_reason_counts: BTreeMap<String, [u64; 5]>,
    /// Complaints closed this day by hours from opening to closing.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub handling_hours: BTreeMap<u32, u64>,
    /// Cohort rows only (`cohort:` keys, dated by issue day): forms rated by
    /// minutes from issue to rating.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub minutes_to_rate: BTreeMap<u32, u64>,
    /// Cohort rows only: the forms rated on each day after issue (what
    /// `forms_submitted` and `minutes_to_rate` add up), so each night puts
    /// its own day's part and a rerun replaces it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub rated_by_day: BTreeMap<NaiveDate, RatedOn>,
    /// Forms issued this day by their invitation's state at the nightly run
    /// (`sent`, `capped`, `sampled_out`, `suppressed`…): what was asked.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub invitations: BTreeMap<String, u64>,
    /// Forms submitted this day by channel (`email`, `email_button`,
    /// `in_app`, `kiosk`). Misconduct reports are left out of every channel
    /// figure: they are the inspection unit's, and a breakdown that held them
    /// would show a reader who may not see them what `without_misconduct` took out.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub channel_forms: BTreeMap<String, u64>,
    /// Ratings of those forms by channel, per level (index 0 is level 1).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub channel_level_counts: BTreeMap<String, [u64; 5]>,
    /// Stages whose times (start and finish) CSQ received this day.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub stages_timed: u64,
    /// Those stages by working minutes (`domain::times::bucket`: exact under
    /// two hours, within 2% above).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub stage_minutes: BTreeMap<u32, u64>,
    /// Of the timed stages, those with a legal limit, and those within it.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub stages_with_limit: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub stages_within_limit: u64,
    /// Stages that said how many documents they asked for, and the sum.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub stages_counting_requests: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub document_requests: u64,
    /// Declarations that first said how many documents a stage asked for
    /// this day (the office and the units above it): the denominator of
    /// document requests per declaration.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub declarations_counting_requests: u64,
    /// Declarations released this day (as CSQ learnt it), by lane: clock
    /// minutes from registration to release, bucketed as `stage_minutes`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub release_minutes: BTreeMap<String, BTreeMap<u32, u64>>,
    /// Declarations whose lane facts arrived this day, and those whose lane
    /// was changed by hand (the office and the units above it).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub declarations_with_lane_facts: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub lanes_changed_by_hand: u64,
    /// Satisfaction against time: levels of rated stages and officers whose
    /// stage times are known, by `within_limit` / `over_limit` and by
    /// duration band (`time_satisfaction::BANDS`); misconduct reports left out.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub time_levels: BTreeMap<String, [u64; 5]>,
    /// An office's own row: its declarations' times by kind (type and
    /// lane), the retaliation watch's like-with-like baseline. Never shown.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub kinds: BTreeMap<String, KindCounts>,
    /// An office's rows: the officers rated there that day (for rankings).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub officer_ids: Vec<String>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The cohort key of a statistics unit: forms by the day they were issued.
pub fn cohort_key(unit: &str) -> String {
    format!("cohort:{unit}")
}

fn add_map<K: Ord + Clone, V: Copy>(
    a: &mut BTreeMap<K, V>,
    b: &BTreeMap<K, V>,
    add: impl Fn(V, V) -> V,
) {
    for (k, v) in b {
        a.entry(k.clone())
            .and_modify(|x| *x = add(*x, *v))
            .or_insert(*v);
    }
}

fn add5(a: [u64; 5], b: [u64; 5]) -> [u64; 5] {
    std::array::from_fn(|i| a[i] + b[i])
}

impl DailyStats {
    pub(crate) fn empty(unit: &str, date: NaiveDate) -> DailyStats {
        DailyStats {
            unit: unit.to_owned(),
            owner: None,
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
            misconduct_level_counts: [0; 5],
            misconduct_forms_submitted: 0,
            misconduct_complaints: [0; 3],
            complaints_upheld: 0,
            misconduct_upheld: 0,
            suggestions_opened: 0,
            handling_level_counts: [0; 5],
            reason_counts: BTreeMap::new(),
            misconduct_reason_counts: BTreeMap::new(),
            handling_hours: BTreeMap::new(),
            minutes_to_rate: BTreeMap::new(),
            rated_by_day: BTreeMap::new(),
            invitations: BTreeMap::new(),
            channel_forms: BTreeMap::new(),
            channel_level_counts: BTreeMap::new(),
            stages_timed: 0,
            stage_minutes: BTreeMap::new(),
            stages_with_limit: 0,
            stages_within_limit: 0,
            stages_counting_requests: 0,
            document_requests: 0,
            declarations_counting_requests: 0,
            release_minutes: BTreeMap::new(),
            declarations_with_lane_facts: 0,
            lanes_changed_by_hand: 0,
            time_levels: BTreeMap::new(),
            kinds: BTreeMap::new(),
            officer_ids: vec![],
        }
    }

    /// The same row with misconduct reports and cases taken out.
    pub fn without_misconduct(&self) -> DailyStats {
        let mut out = self.clone();
        for (n, m) in out
            .level_counts
            .iter_mut()
            .zip(self.misconduct_level_counts)
        {
            *n = n.saturating_sub(m);
        }
        out.forms_submitted = out
            .forms_submitted
            .saturating_sub(self.misconduct_forms_submitted);
        let [o, c, d] = self.misconduct_complaints;
        out.complaints_opened = out.complaints_opened.saturating_sub(o);
        out.complaints_closed = out.complaints_closed.saturating_sub(c);
        out.complaints_overdue = out.complaints_overdue.saturating_sub(d);
        out.complaints_upheld = out.complaints_upheld.saturating_sub(self.misconduct_upheld);
        for (reason, m) in &self.misconduct_reason_counts {
            if let Some(n) = out.reason_counts.get_mut(reason) {
                *n = std::array::from_fn(|i| n[i].saturating_sub(m[i]));
            }
        }
        out.reason_counts.retain(|_, n| n.iter().any(|&x| x > 0));
        out.misconduct_reason_counts.clear();
        out.misconduct_level_counts = [0; 5];
        out.misconduct_forms_submitted = 0;
        out.misconduct_complaints = [0; 3];
        out.misconduct_upheld = 0;
        out.average = None;
        out.satisfied_share = None;
        out.response_rate = None;
        out.finish();
        out
    }

    pub(crate) fn add(&mut self, other: &DailyStats) {
        for (a, b) in self.level_counts.iter_mut().zip(other.level_counts) {
            *a += b;
        }
        self.forms_issued += other.forms_issued;
        self.forms_submitted += other.forms_submitted;
        self.misconduct_forms_submitted += other.misconduct_forms_submitted;
        self.complaints_opened += other.complaints_opened;
        self.complaints_closed += other.complaints_closed;
        self.complaints_overdue += other.complaints_overdue;
        self.complaints_upheld += other.complaints_upheld;
        self.misconduct_upheld += other.misconduct_upheld;
        self.suggestions_opened += other.suggestions_opened;
        add_map(&mut self.reason_counts, &other.reason_counts, add5);
        add_map(
            &mut self.misconduct_reason_counts,
            &other.misconduct_reason_counts,
            add5,
        );
        add_map(&mut self.handling_hours, &other.handling_hours, |a, b| {
            a + b
        });
        add_map(&mut self.minutes_to_rate, &other.minutes_to_rate, |a, b| {
            a + b
        });
        for (day, r) in &other.rated_by_day {
            let mine = self.rated_by_day.entry(*day).or_default();
            mine.forms += r.forms;
            add_map(&mut mine.minutes, &r.minutes, |a, b| a + b);
        }
        add_map(&mut self.invitations, &other.invitations, |a, b| a + b);
        add_map(&mut self.channel_forms, &other.channel_forms, |a, b| a + b);
        add_map(
            &mut self.channel_level_counts,
            &other.channel_level_counts,
            add5,
        );
        self.stages_timed += other.stages_timed;
        add_map(&mut self.stage_minutes, &other.stage_minutes, |a, b| a + b);
        self.stages_with_limit += other.stages_with_limit;
        self.stages_within_limit += other.stages_within_limit;
        self.stages_counting_requests += other.stages_counting_requests;
        self.document_requests += other.document_requests;
        self.declarations_counting_requests += other.declarations_counting_requests;
        for (kind, counts) in &other.kinds {
            self.kinds.entry(kind.clone()).or_default().add(counts);
        }
        add_map(&mut self.time_levels, &other.time_levels, add5);
        self.declarations_with_lane_facts += other.declarations_with_lane_facts;
        self.lanes_changed_by_hand += other.lanes_changed_by_hand;
        for (lane, counts) in &other.release_minutes {
            add_map(
                self.release_minutes.entry(lane.clone()).or_default(),
                counts,
                |a, b| a + b,
            );
        }
        for o in &other.officer_ids {
            if !self.officer_ids.contains(o) {
                self.officer_ids.push(o.clone());
            }
        }
        for (a, b) in self
            .handling_level_counts
            .iter_mut()
            .zip(other.handling_level_counts)
        {
            *a += b;
        }
        for (a, b) in self
            .misconduct_level_counts
            .iter_mut()
            .zip(other.misconduct_level_counts)
        {
            *a += b;
        }
        for (a, b) in self
            .misconduct_complaints
            .iter_mut()
            .zip(other.misconduct_complaints)
        {
            *a += b;
        }
    }

    pub(crate) fn finish(&mut self) {
        let levels = Levels::of(&self.level_counts);
        self.ratings = levels.ratings;
        if levels.ratings > 0 {
            self.average = levels.average;
            self.satisfied_share = levels.satisfied_share;
        }
        if self.forms_issued > 0 {
            self.response_rate = Some(self.forms_submitted as f64 / self.forms_issued as f64);
        }
    }
}

/// How a set of ratings by level reads: how many, their average level, and
/// the satisfied share (levels 4–5); None for both when there are none.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Levels {
    pub ratings: u64,
    pub average: Option<f64>,
    pub satisfied_share: Option<f64>,
}

impl Levels {
    /// `counts`: ratings at level 1…5 (index 0 is level 1).
    pub fn of(counts: &[u64; 5]) -> Levels {
        let ratings: u64 = counts.iter().sum();
        let weighted: u64 = counts
            .iter()
            .enumerate()
            .map(|(i, n)| (i as u64 + 1) * n)
            .sum();
        let n = ratings as f64;
        Levels {
            ratings,
            average: (ratings > 0).then(|| weighted as f64 / n),
            satisfied_share: (ratings > 0).then(|| (counts[3] + counts[4]) as f64 / n),
        }
    }

    /// The same, or only the count when there are fewer than k ratings
    /// (`policy::enough_ratings`): a small cell keeps its levels to itself.
    pub fn shown_from(counts: &[u64; 5], k: u64) -> (Levels, bool) {
        let levels = Levels::of(counts);
        let shown = levels.ratings > 0 && crate::policy::enough_ratings(levels.ratings, k);
        if shown {
            (levels, true)
        } else {
            (
                Levels {
                    average: None,
                    satisfied_share: None,
                    ..levels
                },
                false,
            )
        }
    }
}

/// The median of counts by value (lower median), or None when empty.
pub fn median_of(counts: &BTreeMap<u32, u64>) -> Option<u32> {
    let n: u64 = counts.values().sum();
    if n == 0 {
        return None;
    }
    let target = n.div_ceil(2);
    let mut seen = 0;
    for (v, c) in counts {
        seen += c;
        if seen >= target {
            return Some(*v);
        }
    }
    None
}

/// Several rows of one day added up, as one unit (a unit with its predecessors).
pub fn merge_days(unit: &str, owner: Option<&str>, rows: &[DailyStats]) -> Vec<DailyStats> {
    let mut by_day: BTreeMap<NaiveDate, DailyStats> = BTreeMap::new();
    for r in rows {
        let day = by_day.entry(r.date).or_insert_with(|| {
            let mut d = DailyStats::empty(unit, r.date);
            d.owner = owner.map(str::to_owned);
            d
        });
        day.add(r);
    }
    by_day
        .into_values()
        .map(|mut d| {
            d.finish();
            d
        })
        .collect()
}

/// A unit's figures over a whole range: what a drill-down table shows per child.
pub fn total(unit: &str, rows: &[DailyStats]) -> StatsTotal {
    StatsTotal::of(&sum_rows(unit, rows))
}

/// Rows of any days added up into one (reasons, hours and minutes included).
pub fn sum_rows(unit: &str, rows: &[DailyStats]) -> DailyStats {
    let mut sum = DailyStats::empty(unit, NaiveDate::MIN);
    for r in rows {
        sum.add(r);
    }
    sum.finish();
    sum
}

impl StatsTotal {
    pub fn of(sum: &DailyStats) -> StatsTotal {
        StatsTotal {
            unit: sum.unit.clone(),
            level_counts: sum.level_counts,
            ratings: sum.ratings,
            average: sum.average,
            satisfied_share: sum.satisfied_share,
            forms_issued: sum.forms_issued,
            forms_submitted: sum.forms_submitted,
            complaints_opened: sum.complaints_opened,
            complaints_closed: sum.complaints_closed,
        }
    }
}

/// The sum of a unit's daily rows over a range.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatsTotal {
    pub unit: String,
    pub level_counts: [u64; 5],
    pub ratings: u64,
    pub average: Option<f64>,
    pub satisfied_share: Option<f64>,
    pub forms_issued: u64,
    pub forms_submitted: u64,
    pub complaints_opened: u64,
    pub complaints_closed: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::form::{Form, RatingRecord, SubjectRating};
    use crate::domain::rating_scale::Level;
    use crate::domain::submission::tests::sample_form;
    use chrono::Utc;

    /// The form as stored once `ratings` were submitted on it.
    fn submitted(form: &Form, ratings: &[&RatingRecord]) -> Form {
        let mut f = form.clone();
        f.status = crate::domain::form::FormStatus::Submitted;
        f.submitted_at = ratings.first().map(|r| r.submitted_at);
        f.submission = Some(crate::domain::form::Submission {
            ratings: ratings
                .iter()
                .map(|r| SubjectRating {
                    subject_key: r.subject.key.clone(),
                    level: r.level,
                    reasons: r.reasons.clone(),
                    comment: None,
                })
                .collect(),
            overall_comment: None,
            contact: None,
            suggestion: None,
            channel: None,
        });
        f
    }

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
            suggestion: None,
            channel: None,
        };
        RatingRecord::from_submission(form, &sub, Utc::now()).remove(0)
    }

    #[test]
    fn counts_every_level_of_the_tree() {
        let date = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
        let org = crate::domain::org::tests::sample_org();
        let placed = |id: &str| {
            let mut f = sample_form();
            f.id = id.into();
            f.place_in_org(&org, Some(1));
            f
        };
        let (f1, f2) = (placed("f1"), placed("f2"));
        let forms = vec![f1.clone(), f2.clone(), placed("f3"), placed("f4")];
        let ratings = vec![
            record(&f1, "branch:03CC", 5),
            record(&f1, "officer:document_check:HP1234", 4),
            record(&f2, "branch:03CC", 2),
            record(&f2, "officer:document_check:HP1234", 1),
            record(&f2, "stage:clearance", 4),
        ];
        let rated = vec![
            submitted(&f1, &[&ratings[0], &ratings[1]]),
            submitted(&f2, &[&ratings[2], &ratings[3], &ratings[4]]),
        ];
        let stats = roll_up(&DayInputs {
            date,
            forms_issued: &forms,
            forms_submitted: &rated,
            ratings: &ratings,
            cases_opened: &[],
            cases_closed: &[],
            cases_overdue: &[],
            handling_ratings: &[],
            org: None,
        });
        let get = |u: &str| stats.iter().find(|s| s.unit == u).unwrap();

        for unit in ["unit:03CC", "unit:R03", "unit:CUC"] {
            let row = get(unit);
            assert_eq!(row.level_counts, [0, 1, 0, 0, 1], "{unit}");
            assert_eq!(row.ratings, 2);
            assert_eq!(row.average, Some(3.5));
            assert_eq!(row.satisfied_share, Some(0.5));
            assert_eq!(row.forms_issued, 4);
            assert_eq!(row.forms_submitted, 2);
            assert_eq!(row.response_rate, Some(0.5));
            assert_eq!(row.owner.as_deref(), unit.strip_prefix("unit:"));
        }

        let officer = get("officer:HP1234");
        assert_eq!(officer.level_counts, [1, 0, 0, 1, 0]);
        assert_eq!(officer.average, Some(2.5));
        assert_eq!(officer.owner.as_deref(), Some("03CC"));

        for unit in [
            "stage:03CC:clearance",
            "stage:R03:clearance",
            "stage:CUC:clearance",
        ] {
            assert_eq!(get(unit).level_counts, [0, 0, 0, 1, 0], "{unit}");
        }

        // Neither form rated the team, but both were submitted: a form counts
        // as submitted for every unit it was issued for.
        let team = get("unit:03CC02");
        assert_eq!(team.forms_issued, 4);
        assert_eq!(team.forms_submitted, 2);
        assert_eq!(team.response_rate, Some(0.5));
        assert_eq!(team.average, None);
        assert!(stats.iter().all(|s| s.date == date));
        assert!(
            stats.iter().all(|s| s.unit != "unit:TT"),
            "no activity, no row"
        );

        // Records of the first version carry no units: today's tree places them,
        // and the figures come out the same.
        let strip = |f: &Form| {
            let mut f = f.clone();
            f.office_path.clear();
            for s in &mut f.subjects {
                s.counts_toward.clear();
            }
            f
        };
        let old_forms: Vec<Form> = forms.iter().map(strip).collect();
        let old_ratings: Vec<RatingRecord> = ratings
            .iter()
            .map(|r| {
                let mut r = r.clone();
                r.subject.counts_toward.clear();
                r
            })
            .collect();
        let old_rated: Vec<Form> = rated.iter().map(strip).collect();
        let again = roll_up(&DayInputs {
            date,
            forms_issued: &old_forms,
            forms_submitted: &old_rated,
            ratings: &old_ratings,
            cases_opened: &[],
            cases_closed: &[],
            cases_overdue: &[],
            handling_ratings: &[],
            org: Some(&org),
        });
        assert_eq!(again, stats);
    }

    #[test]
    fn a_form_that_rated_no_office_still_counts_as_submitted_for_it() {
        let date = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
        let mut form = sample_form();
        form.place_in_org(&crate::domain::org::tests::sample_org(), Some(1));
        let only_officer = record(&form, "officer:document_check:HP1234", 4);
        let stats = roll_up(&DayInputs {
            date,
            forms_issued: std::slice::from_ref(&form),
            forms_submitted: &[submitted(&form, &[&only_officer])],
            ratings: std::slice::from_ref(&only_officer),
            cases_opened: &[],
            cases_closed: &[],
            cases_overdue: &[],
            handling_ratings: &[],
            org: None,
        });
        let office = stats.iter().find(|s| s.unit == "unit:03CC").unwrap();
        assert_eq!(office.ratings, 0, "the office subject itself was not rated");
        assert_eq!(office.forms_submitted, 1);
        assert_eq!(office.response_rate, Some(1.0));
    }

    #[test]
    fn a_small_cell_loses_the_whole_misconduct_report() {
        use crate::domain::rating_scale::Reason;
        let date = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
        let placed = |id: &str| {
            let mut f = sample_form();
            f.id = id.into();
            f.place_in_org(&crate::domain::org::tests::sample_org(), Some(1));
            f
        };
        let (plain, report) = (placed("f1"), placed("f2"));
        // The report rates the office 3 with no misconduct reason; only its
        // officer line names harassment.
        let sub = crate::domain::form::Submission {
            ratings: vec![
                SubjectRating {
                    subject_key: "branch:03CC".into(),
                    level: Level::new(3).unwrap(),
                    reasons: vec![],
                    comment: None,
                },
                SubjectRating {
                    subject_key: "officer:document_check:HP1234".into(),
                    level: Level::new(1).unwrap(),
                    reasons: vec![Reason::from_code("harassment").unwrap()],
                    comment: None,
                },
            ],
            overall_comment: None,
            contact: None,
            suggestion: None,
            channel: None,
        };
        let mut ratings = RatingRecord::from_submission(&report, &sub, Utc::now());
        let report_ratings: Vec<&RatingRecord> = ratings.iter().collect();
        let report_form = submitted(&report, &report_ratings);
        let plain_rating = record(&plain, "branch:03CC", 5);
        let plain_form = submitted(&plain, &[&plain_rating]);
        ratings.push(plain_rating);
        let stats = roll_up(&DayInputs {
            date,
            forms_issued: &[],
            forms_submitted: &[report_form, plain_form],
            ratings: &ratings,
            cases_opened: &[],
            cases_closed: &[],
            cases_overdue: &[],
            handling_ratings: &[],
            org: None,
        });
        let office = stats.iter().find(|s| s.unit == "unit:03CC").unwrap();
        assert_eq!(office.level_counts, [0, 0, 1, 0, 1]);
        assert_eq!(office.forms_submitted, 2);
        let hidden = office.without_misconduct();
        assert_eq!(
            hidden.level_counts,
            [0, 0, 0, 0, 1],
            "the report's office rating goes with it"
        );
        assert_eq!(hidden.ratings, 1);
        assert_eq!(hidden.forms_submitted, 1);
    }

    #[test]
    fn merged_days_and_totals_add_up() {
        let d1 = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        let d2 = NaiveDate::from_ymd_opt(2026, 11, 2).unwrap();
        let row = |unit: &str, date, counts: [u64; 5], issued| {
            let mut r = DailyStats::empty(unit, date);
            r.level_counts = counts;
            r.forms_issued = issued;
            r.finish();
            r
        };
        let rows = [
            row("unit:A", d1, [0, 0, 0, 1, 1], 4),
            row("unit:B", d1, [1, 0, 0, 0, 0], 2),
            row("unit:B", d2, [0, 0, 0, 0, 2], 2),
        ];
        let merged = merge_days("unit:A", Some("A"), &rows);
        assert_eq!(merged.len(), 2);
        assert_eq!(merged[0].level_counts, [1, 0, 0, 1, 1]);
        assert_eq!(merged[0].forms_issued, 6);
        assert_eq!(merged[0].unit, "unit:A");
        assert_eq!(merged[1].satisfied_share, Some(1.0));
        let t = total("unit:A", &rows);
        assert_eq!(t.ratings, 5);
        assert_eq!(t.satisfied_share, Some(0.8));
        assert_eq!(t.forms_issued, 8);
    }
}
