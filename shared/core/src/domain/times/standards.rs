//! The service standards, a section of the department's rules document
//! (`service_standards`): each stage's legal limit in working hours (the
//! Customs Law 2014, art. 23: a document check within 2 working hours of a
//! complete dossier, a physical inspection within 8 of the goods being
//! presented), and each office's working hours. Days off are the case rules'
//! own calendar.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Days, NaiveTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::case::rules::Calendar;
use crate::domain::declaration::Stage;
use crate::domain::fields::FieldError;
use crate::domain::time::{vn_day, vn_day_start};

/// One stretch of a working day, Vietnamese time ("07:30" to "11:30").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkingPeriod {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

/// An office's working hours (no office: every office without its own).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfficeHours {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub office: Option<String>,
    /// Every hour of every day counts (a port that works around the clock).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub around_the_clock: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub periods: Vec<WorkingPeriod>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceStandards {
    /// Working hours each stage may take; a stage not listed has no limit.
    #[serde(default = "default_limits")]
    pub stage_limits: BTreeMap<Stage, u32>,
    #[serde(default = "default_hours")]
    pub office_hours: Vec<OfficeHours>,
    /// The retaliation watch: how long a business that complained is
    /// watched, the fewest stages a comparison needs, its false discovery rate.
    #[serde(default)]
    pub watch: crate::domain::watch::WatchRules,
}

fn default_limits() -> BTreeMap<Stage, u32> {
    BTreeMap::from([(Stage::DocumentCheck, 2), (Stage::PhysicalInspection, 8)])
}

fn time(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).expect("a time of day")
}

fn default_hours() -> Vec<OfficeHours> {
    vec![OfficeHours {
        office: None,
        around_the_clock: false,
        periods: vec![
            WorkingPeriod {
                start: time(7, 30),
                end: time(11, 30),
            },
            WorkingPeriod {
                start: time(13, 0),
                end: time(17, 0),
            },
        ],
    }]
}

impl Default for ServiceStandards {
    fn default() -> Self {
        ServiceStandards {
            stage_limits: default_limits(),
            office_hours: default_hours(),
            watch: Default::default(),
        }
    }
}

/// A duration counted in days longer than this is not a stage's: the walk
/// stops there (and counts what it walked).
const MAX_DAYS_WALKED: u64 = 400;

impl ServiceStandards {
    /// The limit of a stage in working minutes, if it has one.
    pub fn limit_minutes(&self, stage: Stage) -> Option<u32> {
        self.stage_limits.get(&stage).map(|h| h * 60)
    }

    /// The hours of `office`: its own entry, else one naming a unit on its
    /// path (root first; the nearest wins), else the default one.
    pub fn hours_of(&self, office_path: &[String]) -> Option<&OfficeHours> {
        office_path
            .iter()
            .rev()
            .find_map(|u| {
                self.office_hours
                    .iter()
                    .find(|h| h.office.as_deref() == Some(u))
            })
            .or_else(|| self.office_hours.iter().find(|h| h.office.is_none()))
    }

    /// Working minutes between two instants at an office: the overlap with
    /// its working periods on the calendar's working days (every minute for
    /// an office working around the clock).
    pub fn working_minutes(
        &self,
        office_path: &[String],
        calendar: &Calendar,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> u32 {
        if to <= from {
            return 0;
        }
        let Some(hours) = self.hours_of(office_path) else {
            return minutes(to - from);
        };
        if hours.around_the_clock {
            return minutes(to - from);
        }
        let mut total = chrono::Duration::zero();
        let mut day = vn_day(from);
        for _ in 0..MAX_DAYS_WALKED {
            let start_of_day = vn_day_start(day);
            if start_of_day >= to {
                break;
            }
            if calendar.is_working_day(day) {
                for p in &hours.periods {
                    let a = start_of_day + (p.start - NaiveTime::MIN);
                    let b = start_of_day + (p.end - NaiveTime::MIN);
                    let (a, b) = (a.max(from), b.min(to));
                    if b > a {
                        total += b - a;
                    }
                }
            }
            match day.checked_add_days(Days::new(1)) {
                Some(next) => day = next,
                None => break,
            }
        }
        minutes(total)
    }

    /// Every problem at once, with its field path under `service_standards`.
    pub fn validate(&self, problems: &mut Vec<FieldError>) {
        for (stage, hours) in &self.stage_limits {
            if *hours == 0 || *hours > 2_000 {
                problems.push(FieldError::new(
                    format!("service_standards.stage_limits.{}", stage.code()),
                    "a limit is 1 to 2,000 working hours",
                ));
            }
        }
        let mut seen = BTreeSet::new();
        for (i, h) in self.office_hours.iter().enumerate() {
            let field = format!("service_standards.office_hours[{i}]");
            if !seen.insert(h.office.clone()) {
                problems.push(FieldError::new(
                    &field,
                    "another entry names the same office",
                ));
            }
            if h.around_the_clock != h.periods.is_empty() {
                problems.push(FieldError::new(
                    &field,
                    "give periods, or around_the_clock: true, not both",
                ));
            }
            let mut last_end = NaiveTime::MIN;
            for (j, p) in h.periods.iter().enumerate() {
                if p.end <= p.start || p.start < last_end {
                    problems.push(FieldError::new(
                        format!("{field}.periods[{j}]"),
                        "periods run forward, in order, without overlapping",
                    ));
                }
                last_end = p.end;
            }
        }
        let w = &self.watch;
        if w.days == 0 || w.days > 365 {
            problems.push(FieldError::new(
                "service_standards.watch.days",
                "a business is watched 1 to 365 days",
            ));
        }
        if w.min_count == 0 || w.min_count > 10_000 {
            problems.push(FieldError::new(
                "service_standards.watch.min_count",
                "1 to 10,000",
            ));
        }
        if w.false_discovery_percent == 0 || w.false_discovery_percent > 20 {
            problems.push(FieldError::new(
                "service_standards.watch.false_discovery_percent",
                "1 to 20 per cent",
            ));
        }
        if !self.office_hours.iter().any(|h| h.office.is_none()) {
            problems.push(FieldError::new(
                "service_standards.office_hours",
                "one entry without an office gives every other office's hours",
            ));
        }
    }
}

fn minutes(d: chrono::Duration) -> u32 {
    u32::try_from(d.num_minutes().max(0)).unwrap_or(u32::MAX)
}
