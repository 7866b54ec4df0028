//! Service times: how long each stage of a declaration took, as the
//! declaration system knows it, beside how the business rated it.
//!
//! Times are facts of the declaration, not of the survey: they arrive with the
//! form, with later stages or afterwards, whatever the form's state, and never
//! open a form or send an email. Each stage's times are kept once (by stage and
//! officer, as handling records are), so a repeated delivery changes nothing.
//! Durations are counted in the office's working hours under the department's
//! service standards (`standards.rs`); release time (registration to release)
//! in clock time, as the WCO Time Release Study reports it.

mod standards;

pub use standards::{OfficeHours, ServiceStandards, WorkingPeriod};

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::declaration::{Lane, Stage};
use crate::domain::fields::FieldError;
use crate::domain::form::{Form, units};
use crate::domain::time::vn_day;

/// How far ahead of the core's clock a reported time may be (clocks of two
/// systems differ a little; a time further ahead is a mistake).
pub const FUTURE_SLACK: Duration = Duration::minutes(10);

/// The most document requests one stage may report.
pub const MAX_DOCUMENT_REQUESTS: u32 = 100;

/// One stage's times as the declaration system reported them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageTime {
    pub stage: Stage,
    pub team: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub officer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
    /// How many times the stage asked the business for more documents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_requests: Option<u32>,
    /// The Vietnamese day CSQ received these times: the nightly counts a
    /// stage on that day, once.
    pub recorded_on: NaiveDate,
}

impl StageTime {
    /// The same key as the handling record's: stage and officer (the team
    /// when the system did the stage alone).
    pub fn key(&self) -> String {
        match &self.officer {
            Some(o) => format!("{}:officer:{o}", self.stage.code()),
            None => format!("{}:team:{}", self.stage.code(), self.team),
        }
    }

    /// Carries a duration (both ends known).
    pub fn is_timed(&self) -> bool {
        self.started_at.is_some() && self.finished_at.is_some()
    }
}

/// What a request reports for one stage (before it is recorded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportedStage {
    pub stage: Stage,
    pub team: String,
    pub officer: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub document_requests: Option<u32>,
}

impl ReportedStage {
    pub fn carries_anything(&self) -> bool {
        self.started_at.is_some() || self.finished_at.is_some() || self.document_requests.is_some()
    }
}

/// Times a request reports for a declaration (with the form, with later
/// stages, or on their own).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportedTimes {
    pub released_at: Option<DateTime<Utc>>,
    pub lane_changed_by_hand: Option<bool>,
    pub stages: Vec<ReportedStage>,
}

impl ReportedTimes {
    pub fn is_empty(&self) -> bool {
        self.released_at.is_none()
            && self.lane_changed_by_hand.is_none()
            && !self.stages.iter().any(ReportedStage::carries_anything)
    }

    /// Every problem of the reported times at once, each naming its field
    /// (`handling[1].finished_at`): a finish before its start, a time before
    /// the declaration's registration, a time ahead of `now`.
    pub fn check(&self, registered_at: DateTime<Utc>, now: DateTime<Utc>) -> Vec<FieldError> {
        let mut problems = vec![];
        let mut instant = |field: String, t: Option<DateTime<Utc>>| {
            let Some(t) = t else { return };
            if t < registered_at {
                problems.push(FieldError::new(
                    field,
                    "is before the declaration's registration",
                ));
            } else if t > now + FUTURE_SLACK {
                problems.push(FieldError::new(field, "is in the future"));
            }
        };
        instant("declaration.released_at".into(), self.released_at);
        for (i, s) in self.stages.iter().enumerate() {
            instant(format!("handling[{i}].started_at"), s.started_at);
            instant(format!("handling[{i}].finished_at"), s.finished_at);
        }
        for (i, s) in self.stages.iter().enumerate() {
            if let (Some(a), Some(b)) = (s.started_at, s.finished_at)
                && b < a
            {
                problems.push(FieldError::new(
                    format!("handling[{i}].finished_at"),
                    "is before the stage's start",
                ));
            }
            if s.document_requests
                .is_some_and(|n| n > MAX_DOCUMENT_REQUESTS)
            {
                problems.push(FieldError::new(
                    format!("handling[{i}].document_requests"),
                    format!("is 0 to {MAX_DOCUMENT_REQUESTS}"),
                ));
            }
        }
        problems
    }
}

impl ReportedTimes {
    /// The times in a request body: `declaration.released_at`,
    /// `declaration.lane_changed_by_hand`, and each `handling[i]`'s
    /// `started_at`, `finished_at` and `document_requests` (all optional),
    /// with the stage, team and officer they belong to. Every problem at once.
    pub fn parse(body: &serde_json::Value) -> Result<ReportedTimes, Vec<FieldError>> {
        use serde_json::Value;
        let mut problems = vec![];
        let mut instant = |v: Option<&Value>, field: String| -> Option<DateTime<Utc>> {
            match v {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => match DateTime::parse_from_rfc3339(s) {
                    Ok(t) => Some(t.to_utc()),
                    Err(_) => {
                        problems.push(FieldError::new(
                            field,
                            "must be a date-time with offset, such as 2026-11-27T09:30:00+07:00",
                        ));
                        None
                    }
                },
                Some(_) => {
                    problems.push(FieldError::new(field, "must be a date-time string"));
                    None
                }
            }
        };
        let declaration = body.get("declaration");
        let released_at = instant(
            declaration.and_then(|d| d.get("released_at")),
            "declaration.released_at".into(),
        );
        let mut stages = vec![];
        let handling = body
            .get("handling")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        for (i, h) in handling.iter().enumerate() {
            let started_at = instant(h.get("started_at"), format!("handling[{i}].started_at"));
            let finished_at = instant(h.get("finished_at"), format!("handling[{i}].finished_at"));
            stages.push((i, h, started_at, finished_at));
        }
        let lane_changed_by_hand = match declaration.and_then(|d| d.get("lane_changed_by_hand")) {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                problems.push(FieldError::new(
                    "declaration.lane_changed_by_hand",
                    "must be true or false",
                ));
                None
            }
        };
        let mut out = vec![];
        for (i, h, started_at, finished_at) in stages {
            let document_requests = match h.get("document_requests") {
                None | Some(Value::Null) => None,
                Some(v) => match v.as_u64().and_then(|n| u32::try_from(n).ok()) {
                    Some(n) => Some(n),
                    None => {
                        problems.push(FieldError::new(
                            format!("handling[{i}].document_requests"),
                            "must be a whole number, 0 or more",
                        ));
                        None
                    }
                },
            };
            let stage = h
                .get("stage")
                .and_then(Value::as_str)
                .and_then(Stage::from_code);
            let team = h.get("team").and_then(Value::as_str);
            let officer = h
                .get("officer")
                .and_then(|o| o.get("id"))
                .and_then(Value::as_str)
                .map(str::to_owned);
            let reported = ReportedStage {
                stage: stage.unwrap_or(Stage::Registration),
                team: team.unwrap_or_default().to_owned(),
                officer,
                started_at,
                finished_at,
                document_requests,
            };
            if reported.carries_anything() && (stage.is_none() || team.is_none_or(str::is_empty)) {
                problems.push(FieldError::new(
                    format!("handling[{i}]"),
                    "times need the stage and team they belong to",
                ));
                continue;
            }
            out.push(reported);
        }
        if problems.is_empty() {
            Ok(ReportedTimes {
                released_at,
                lane_changed_by_hand,
                stages: out,
            })
        } else {
            Err(problems)
        }
    }
}

/// A declaration's times: what the statistics and the watch read. Keyed by
/// the declaration number; the declaration's facts are copied from its
/// first form, placed in the directory as that form was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeclarationTimes {
    pub number: String,
    pub type_code: String,
    pub office: String,
    /// The office and the units above it, root first (the form's placement).
    pub office_path: Vec<String>,
    pub lane: Lane,
    /// The business, by tax code (the retaliation watch compares a business
    /// with others at the same office; never shown to anyone but the
    /// inspection unit, as figures).
    pub tax_code: String,
    pub registered_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub released_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_recorded_on: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lane_changed_by_hand: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lane_recorded_on: Option<NaiveDate>,
    #[serde(default)]
    pub stages: Vec<StageTime>,
    /// The last Vietnamese day anything was recorded (the nightly's index).
    pub recorded_on: NaiveDate,
    /// Bumped on each change: stores write conditionally on the one read.
    #[serde(default)]
    pub version: u32,
}

/// The most stages one declaration's times hold (as many as its handling records).
pub const MAX_STAGES: usize = crate::domain::declaration::MAX_HANDLING * 2;

impl DeclarationTimes {
    /// An empty record for the declaration of `form` (its first form).
    pub fn of(form: &Form, now: DateTime<Utc>) -> DeclarationTimes {
        let d = &form.declaration;
        let office_path = if form.office_path.is_empty() {
            vec![d.customs_office.as_str().to_owned()]
        } else {
            form.office_path.iter().map(|u| u.code.clone()).collect()
        };
        DeclarationTimes {
            number: d.number.as_str().to_owned(),
            type_code: d.type_code.as_str().to_owned(),
            office: d.customs_office.as_str().to_owned(),
            office_path,
            lane: d.lane,
            tax_code: form.business.tax_code.as_str().to_owned(),
            registered_at: d.registered_at,
            released_at: None,
            release_recorded_on: None,
            lane_changed_by_hand: None,
            lane_recorded_on: None,
            stages: vec![],
            recorded_on: vn_day(now),
            version: 0,
        }
    }

    /// Adds what was reported and not known yet: each stage's times once,
    /// the release once. True if anything changed (a repeated delivery
    /// changes nothing). Stages beyond `MAX_STAGES` are ignored.
    pub fn merge(&mut self, reported: &ReportedTimes, now: DateTime<Utc>) -> bool {
        let today = vn_day(now);
        let mut changed = false;
        if self.released_at.is_none()
            && let Some(at) = reported.released_at
        {
            self.released_at = Some(at);
            self.release_recorded_on = Some(today);
            changed = true;
        }
        if self.lane_changed_by_hand.is_none() && reported.lane_changed_by_hand.is_some() {
            self.lane_changed_by_hand = reported.lane_changed_by_hand;
            self.lane_recorded_on = Some(today);
            changed = true;
        }
        for s in reported.stages.iter().filter(|s| s.carries_anything()) {
            let time = StageTime {
                stage: s.stage,
                team: s.team.clone(),
                officer: s.officer.clone(),
                started_at: s.started_at,
                finished_at: s.finished_at,
                document_requests: s.document_requests,
                recorded_on: today,
            };
            if self.stages.iter().any(|t| t.key() == time.key()) || self.stages.len() >= MAX_STAGES
            {
                continue;
            }
            self.stages.push(time);
            changed = true;
        }
        if changed {
            self.recorded_on = today;
            self.version += 1;
        }
        changed
    }

    /// The statistics units a stage's times count towards: the office and
    /// the units above it, the stage in each of them, the team, the officer.
    pub fn stage_units(&self, s: &StageTime) -> Vec<String> {
        let mut out: Vec<String> = self.office_path.iter().map(|u| units::unit(u)).collect();
        out.extend(self.office_path.iter().map(|u| units::stage(u, s.stage)));
        let team = units::unit(&s.team);
        if !out.contains(&team) {
            out.push(team);
        }
        if let Some(o) = &s.officer {
            out.push(units::officer(o));
        }
        out
    }
}

/// Durations kept as counts per value: exact up to `EXACT_MINUTES`, then in
/// buckets each 2% wider than the last (a value is stored as its bucket's
/// lower bound), so a percentile read from any sum of days is exact below two
/// hours and within 2% above, and a day's row stays small.
pub const EXACT_MINUTES: u32 = 120;
/// The relative width of a bucket above `EXACT_MINUTES`.
pub const BUCKET_GROWTH: f64 = 1.02;

/// The value a duration of `minutes` is counted under.
pub fn bucket(minutes: u32) -> u32 {
    if minutes <= EXACT_MINUTES {
        return minutes;
    }
    let steps = (f64::from(minutes) / f64::from(EXACT_MINUTES)).ln() / BUCKET_GROWTH.ln();
    let lower = f64::from(EXACT_MINUTES) * BUCKET_GROWTH.powi(steps.floor() as i32);
    // Never above the value itself: floating point must not move it up a bucket.
    (lower.ceil() as u32).min(minutes)
}

/// The q-quantile (0 < q ≤ 1) of counts by value: the lowest value with at
/// least q of the counts at or below it. None when there are none.
pub fn quantile(counts: &BTreeMap<u32, u64>, q: f64) -> Option<u32> {
    let n: u64 = counts.values().sum();
    if n == 0 {
        return None;
    }
    let target = ((n as f64) * q).ceil().max(1.0) as u64;
    let mut seen = 0;
    for (v, c) in counts {
        seen += c;
        if seen >= target {
            return Some(*v);
        }
    }
    counts.keys().next_back().copied()
}

#[cfg(test)]
mod tests;
