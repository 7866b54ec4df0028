//! The case rules the department maintains as data: its holiday calendar,
//! deadlines per case kind in working days, the measures and violation
//! categories a finding may name, and the appeal window.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc, Weekday};
use serde::{Deserialize, Serialize};

use super::CaseKind;
use crate::domain::fields::FieldError;
use crate::domain::time::{vn_day, vn_day_start};

/// A public holiday (ngày nghỉ lễ) or a day off moved by the government.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holiday {
    pub date: NaiveDate,
    pub name: String,
}

/// Days a case has, counted in working days from the day it opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deadlines {
    /// To acknowledge (start verifying) the case.
    pub acknowledge: u32,
    /// To close it.
    pub resolve: u32,
}

/// One entry of a configurable list (measures, violation categories).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    pub code: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_en: Option<String>,
}

fn choice(code: &str, name: &str, name_en: &str) -> Choice {
    Choice {
        code: code.into(),
        name: name.into(),
        name_en: Some(name_en.into()),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseRules {
    /// Days off besides Saturdays and Sundays.
    #[serde(default)]
    pub holidays: Vec<Holiday>,
    /// Saturdays or Sundays declared working days (make-up days for a bridge holiday).
    #[serde(default)]
    pub working_weekend_days: Vec<NaiveDate>,
    #[serde(default = "default_deadlines")]
    pub deadlines: BTreeMap<CaseKind, Deadlines>,
    /// Working days before the resolve deadline when the assignee is reminded.
    #[serde(default = "default_remind_before")]
    pub remind_before: u32,
    /// Working days an overdue case stays at one level before it climbs again.
    #[serde(default = "default_escalate_every")]
    pub escalate_every: u32,
    /// Calendar days after the outcome during which the business may appeal.
    #[serde(default = "default_appeal_days")]
    pub appeal_days: u32,
    #[serde(default = "default_measures")]
    pub measures: Vec<Choice>,
    #[serde(default = "default_violations")]
    pub violation_categories: Vec<Choice>,
    /// Whom CSQ asks and how often (the survey rules: the cap per business,
    /// sampling per office and lane). Kept in this one document so the
    /// department edits, versions and audits its rules in one place.
    #[serde(default)]
    pub survey: crate::domain::survey::SurveyRules,
    /// Each stage's legal limit in working hours and each office's working
    /// hours: what service times are measured against.
    #[serde(default)]
    pub service_standards: crate::domain::times::ServiceStandards,
}

fn default_deadlines() -> BTreeMap<CaseKind, Deadlines> {
    BTreeMap::from([
        (
            CaseKind::Complaint,
            Deadlines {
                acknowledge: 1,
                resolve: 10,
            },
        ),
        (
            CaseKind::Suggestion,
            Deadlines {
                acknowledge: 2,
                resolve: 15,
            },
        ),
    ])
}
fn default_remind_before() -> u32 {
    2
}
fn default_escalate_every() -> u32 {
    5
}
fn default_appeal_days() -> u32 {
    15
}
fn default_measures() -> Vec<Choice> {
    vec![
        choice("reminder", "Nhắc nhở", "Reminder"),
        choice("criticism", "Phê bình", "Criticism"),
        choice(
            "discipline_referral",
            "Đề nghị xử lý kỷ luật",
            "Referral for discipline",
        ),
        choice("process_change", "Điều chỉnh quy trình", "Process change"),
        choice("other", "Khác", "Other"),
    ]
}
fn default_violations() -> Vec<Choice> {
    vec![
        choice("delay", "Chậm trễ", "Delay"),
        choice("attitude", "Thái độ, tác phong", "Attitude"),
        choice("wrong_guidance", "Hướng dẫn sai", "Wrong guidance"),
        choice(
            "unnecessary_requests",
            "Yêu cầu không cần thiết",
            "Unnecessary requests",
        ),
        choice("harassment", "Gây phiền hà, sách nhiễu", "Harassment"),
        choice("misconduct", "Tiêu cực", "Misconduct"),
        choice("other", "Khác", "Other"),
    ]
}

impl Default for CaseRules {
    fn default() -> Self {
        CaseRules {
            holidays: vec![],
            working_weekend_days: vec![],
            deadlines: default_deadlines(),
            remind_before: default_remind_before(),
            escalate_every: default_escalate_every(),
            appeal_days: default_appeal_days(),
            measures: default_measures(),
            violation_categories: default_violations(),
            survey: Default::default(),
            service_standards: Default::default(),
        }
    }
}

/// No deadline or step may be so long that counting it walks for ever.
const MAX_WORKING_DAYS: u32 = 250;
/// A calendar never has a run of days off this long; the walk stops there.
const MAX_DAYS_OFF_IN_A_ROW: u32 = 60;

/// Working-day arithmetic over one set of rules.
pub struct Calendar {
    holidays: BTreeSet<NaiveDate>,
    working_weekend_days: BTreeSet<NaiveDate>,
}

impl Calendar {
    pub fn is_working_day(&self, day: NaiveDate) -> bool {
        if self.holidays.contains(&day) {
            return false;
        }
        let weekend = matches!(day.weekday(), Weekday::Sat | Weekday::Sun);
        !weekend || self.working_weekend_days.contains(&day)
    }

    fn step(&self, day: NaiveDate, forward: bool) -> NaiveDate {
        let mut d = day;
        for _ in 0..=MAX_DAYS_OFF_IN_A_ROW {
            d = if forward {
                d.checked_add_days(Days::new(1))
            } else {
                d.checked_sub_days(Days::new(1))
            }
            .unwrap_or(d);
            if self.is_working_day(d) {
                return d;
            }
        }
        d
    }

    /// The `n`-th working day after `day` (`day` itself when n is 0).
    pub fn add_working_days(&self, day: NaiveDate, n: u32) -> NaiveDate {
        (0..n.min(MAX_WORKING_DAYS)).fold(day, |d, _| self.step(d, true))
    }

    /// The `n`-th working day before `day`.
    pub fn sub_working_days(&self, day: NaiveDate, n: u32) -> NaiveDate {
        (0..n.min(MAX_WORKING_DAYS)).fold(day, |d, _| self.step(d, false))
    }

    /// The end (midnight, Vietnamese time) of the `n`-th working day after the
    /// day `from` falls on: a case opened on Friday with one working day to
    /// acknowledge is due by the end of Monday.
    pub fn deadline(&self, from: DateTime<Utc>, n: u32) -> DateTime<Utc> {
        let last = self.add_working_days(vn_day(from), n);
        vn_day_start(last + Days::new(1))
    }
}

/// A problem with a rules document, with the path of the field at fault.
pub type RulesProblem = FieldError;

impl CaseRules {
    pub fn calendar(&self) -> Calendar {
        Calendar {
            holidays: self.holidays.iter().map(|h| h.date).collect(),
            working_weekend_days: self.working_weekend_days.iter().copied().collect(),
        }
    }

    pub fn deadlines_for(&self, kind: CaseKind) -> Deadlines {
        self.deadlines
            .get(&kind)
            .or_else(|| self.deadlines.get(&CaseKind::Complaint))
            .copied()
            .unwrap_or(Deadlines {
                acknowledge: 1,
                resolve: 10,
            })
    }

    pub fn measure(&self, code: &str) -> Option<&Choice> {
        self.measures.iter().find(|m| m.code == code)
    }

    pub fn violation_category(&self, code: &str) -> Option<&Choice> {
        self.violation_categories.iter().find(|m| m.code == code)
    }

    /// Every problem at once, so the department fixes its file in one go.
    pub fn validate(&self) -> Result<(), Vec<RulesProblem>> {
        let mut problems = vec![];
        let mut seen = BTreeSet::new();
        for (i, h) in self.holidays.iter().enumerate() {
            if h.name.trim().is_empty() || h.name.chars().count() > 200 {
                problems.push(FieldError::new(
                    format!("holidays[{i}].name"),
                    "a holiday needs a name of at most 200 characters",
                ));
            }
            if !seen.insert(h.date) {
                problems.push(FieldError::new(
                    format!("holidays[{i}].date"),
                    format!("{} is listed twice", h.date),
                ));
            }
        }
        for (i, d) in self.working_weekend_days.iter().enumerate() {
            if !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
                problems.push(FieldError::new(
                    format!("working_weekend_days[{i}]"),
                    format!("{d} is not a Saturday or Sunday"),
                ));
            }
            if seen.contains(d) {
                problems.push(FieldError::new(
                    format!("working_weekend_days[{i}]"),
                    format!("{d} is also a holiday"),
                ));
            }
        }
        for kind in CaseKind::ALL {
            match self.deadlines.get(&kind) {
                None => problems.push(FieldError::new(
                    format!("deadlines.{}", kind.code()),
                    "every case kind needs its deadlines",
                )),
                Some(d) => {
                    if d.acknowledge == 0 || d.resolve == 0 || d.resolve > MAX_WORKING_DAYS {
                        problems.push(FieldError::new(
                            format!("deadlines.{}", kind.code()),
                            format!("deadlines are 1 to {MAX_WORKING_DAYS} working days"),
                        ));
                    } else if d.acknowledge > d.resolve {
                        problems.push(FieldError::new(
                            format!("deadlines.{}.acknowledge", kind.code()),
                            "acknowledging cannot take longer than resolving",
                        ));
                    }
                }
            }
        }
        for (field, v, max) in [
            ("remind_before", self.remind_before, 30),
            ("escalate_every", self.escalate_every, 60),
            ("appeal_days", self.appeal_days, 365),
        ] {
            if v == 0 || v > max {
                problems.push(FieldError::new(field, format!("must be 1 to {max}")));
            }
        }
        for (field, list) in [
            ("measures", &self.measures),
            ("violation_categories", &self.violation_categories),
        ] {
            if list.is_empty() || list.len() > 100 {
                problems.push(FieldError::new(field, "list 1 to 100 choices"));
            }
            let mut codes = BTreeSet::new();
            for (i, c) in list.iter().enumerate() {
                let good_code = !c.code.is_empty()
                    && c.code.len() <= 40
                    && c.code
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
                if !good_code || !codes.insert(c.code.as_str()) {
                    problems.push(FieldError::new(
                        format!("{field}[{i}].code"),
                        "codes are unique, lowercase letters, digits and _ (at most 40)",
                    ));
                }
                if c.name.trim().is_empty() || c.name.chars().count() > 200 {
                    problems.push(FieldError::new(
                        format!("{field}[{i}].name"),
                        "a name of 1 to 200 characters",
                    ));
                }
            }
        }
        self.survey.validate(&mut problems);
        self.service_standards.validate(&mut problems);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

/// The rules in force, with who saved them: replacements are conditional on
/// `version` so two departments' editors never overwrite each other unseen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredCaseRules {
    pub version: u32,
    pub saved_by: String,
    pub saved_at: DateTime<Utc>,
    pub rules: CaseRules,
}

impl StoredCaseRules {
    /// The rules in force: the department's, or the defaults (no holidays)
    /// until it saves its own.
    pub fn in_force(saved: Option<StoredCaseRules>) -> StoredCaseRules {
        saved.unwrap_or_else(|| StoredCaseRules {
            version: 0,
            saved_by: "default".into(),
            saved_at: DateTime::<Utc>::UNIX_EPOCH,
            rules: CaseRules::default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    /// Tết 2026 (Bính Ngọ) as the government set it: 14–22 February.
    pub fn tet_2026() -> CaseRules {
        let mut rules = CaseRules::default();
        for day in 14..=22 {
            rules.holidays.push(Holiday {
                date: NaiveDate::from_ymd_opt(2026, 2, day).unwrap(),
                name: "Tết Nguyên đán".into(),
            });
        }
        rules.holidays.push(Holiday {
            date: d("2027-01-01"),
            name: "Tết Dương lịch".into(),
        });
        rules
    }

    #[test]
    fn weekends_are_skipped() {
        let cal = CaseRules::default().calendar();
        // Friday 2026-11-27 + 1 working day = Monday 30th.
        assert_eq!(cal.add_working_days(d("2026-11-27"), 1), d("2026-11-30"));
        assert_eq!(cal.add_working_days(d("2026-11-28"), 1), d("2026-11-30"));
        assert_eq!(cal.add_working_days(d("2026-11-23"), 10), d("2026-12-07"));
        assert_eq!(cal.sub_working_days(d("2026-11-30"), 2), d("2026-11-26"));
        assert_eq!(cal.add_working_days(d("2026-11-28"), 0), d("2026-11-28"));
    }

    #[test]
    fn holidays_and_year_ends_are_skipped() {
        let rules = tet_2026();
        let cal = rules.calendar();
        // Friday 13 February 2026, the last day before Tết: 1 working day is Monday 23rd.
        assert_eq!(cal.add_working_days(d("2026-02-13"), 1), d("2026-02-23"));
        assert_eq!(cal.add_working_days(d("2026-02-12"), 10), d("2026-03-05"));
        assert_eq!(cal.sub_working_days(d("2026-02-23"), 1), d("2026-02-13"));
        // Thursday 31 December 2026 + 1: New Year's Day off, then the weekend.
        assert_eq!(cal.add_working_days(d("2026-12-31"), 1), d("2027-01-04"));
        assert_eq!(cal.add_working_days(d("2026-12-30"), 2), d("2027-01-04"));
    }

    #[test]
    fn a_make_up_saturday_counts() {
        let mut rules = CaseRules::default();
        rules.working_weekend_days.push(d("2026-11-28"));
        let cal = rules.calendar();
        assert_eq!(cal.add_working_days(d("2026-11-27"), 1), d("2026-11-28"));
        assert!(rules.validate().is_ok());
    }

    #[test]
    fn the_deadline_is_the_end_of_the_last_working_day_in_vietnam() {
        let cal = CaseRules::default().calendar();
        // Friday 27 November 2026, 16:00 in Vietnam.
        let opened = DateTime::parse_from_rfc3339("2026-11-27T16:00:00+07:00")
            .unwrap()
            .to_utc();
        let due = cal.deadline(opened, 1);
        assert_eq!(due.to_rfc3339(), "2026-11-30T17:00:00+00:00");
        assert_eq!(vn_day(due - chrono::Duration::seconds(1)), d("2026-11-30"));
    }

    #[test]
    fn bad_rules_name_every_problem() {
        let mut rules = tet_2026();
        rules.holidays.push(rules.holidays[0].clone());
        rules.working_weekend_days.push(d("2026-11-26"));
        rules.deadlines.remove(&CaseKind::Suggestion);
        rules.deadlines.insert(
            CaseKind::Complaint,
            Deadlines {
                acknowledge: 5,
                resolve: 2,
            },
        );
        rules.appeal_days = 0;
        rules.measures.push(choice("Bad Code", "", "x"));
        let problems = rules.validate().unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "holidays[10].date",
                "working_weekend_days[0]",
                "deadlines.complaint.acknowledge",
                "deadlines.suggestion",
                "appeal_days",
                "measures[5].code",
                "measures[5].name",
            ]
        );
        assert!(CaseRules::default().validate().is_ok());
    }

    #[test]
    fn a_calendar_of_nothing_but_holidays_still_ends() {
        let mut rules = CaseRules::default();
        let start = d("2026-01-01");
        for k in 0..400 {
            rules.holidays.push(Holiday {
                date: start + Days::new(k),
                name: "off".into(),
            });
        }
        let cal = rules.calendar();
        let end = cal.add_working_days(start, 3);
        assert!(end > start, "bounded walk moves on");
    }
}
