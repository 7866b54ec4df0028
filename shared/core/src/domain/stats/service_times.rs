//! Service times in the daily rows: a day's rows count the stage times and
//! releases CSQ received that day, each once (a stage keeps the day its times
//! arrived), so the nightly reads only that day's records; and the figures a
//! period shows from any sum of rows.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;

use super::DailyStats;
use super::roll_up::at;
use crate::domain::case::rules::Calendar;
use crate::domain::form::units;
use crate::domain::times::{DeclarationTimes, ServiceStandards, bucket, quantile};
use crate::domain::watch::{KindCounts, kind_of};

/// The rows of `date` from the declarations' times recorded that day.
pub fn times_roll_up(
    date: NaiveDate,
    times: &[DeclarationTimes],
    standards: &ServiceStandards,
    calendar: &Calendar,
) -> Vec<DailyStats> {
    let mut by_unit: BTreeMap<String, DailyStats> = BTreeMap::new();
    for t in times {
        let kind = kind_of(t);
        // The office's own row keeps its declarations by kind (the watch's
        // baseline); every row of the office path counts the declaration
        // once for requests per declaration, on the day its first count came.
        let first_count = t
            .stages
            .iter()
            .filter(|s| s.document_requests.is_some())
            .map(|s| s.recorded_on)
            .min();
        if first_count == Some(date) {
            for u in &t.office_path {
                at(&mut by_unit, date, &units::unit(u), u).declarations_counting_requests += 1;
            }
        }
        for s in t.stages.iter().filter(|s| s.recorded_on == date) {
            let minutes = match (s.started_at, s.finished_at) {
                (Some(a), Some(b)) => {
                    Some(standards.working_minutes(&t.office_path, calendar, a, b))
                }
                _ => None,
            };
            let limit = standards.limit_minutes(s.stage);
            for unit in t.stage_units(s) {
                let owner = units::owner(&unit).unwrap_or(t.office.as_str()).to_owned();
                let r = at(&mut by_unit, date, &unit, &owner);
                if let Some(m) = minutes {
                    r.stages_timed += 1;
                    *r.stage_minutes.entry(bucket(m)).or_default() += 1;
                    if let Some(l) = limit {
                        r.stages_with_limit += 1;
                        if m <= l {
                            r.stages_within_limit += 1;
                        }
                    }
                }
                if let Some(n) = s.document_requests {
                    r.stages_counting_requests += 1;
                    r.document_requests += u64::from(n);
                }
            }
            let k = office_kind(&mut by_unit, date, t, &kind);
            if let Some(n) = s.document_requests {
                k.stages_counting_requests += 1;
                k.stages_with_requests += u64::from(n > 0);
            }
            if let Some(m) = minutes {
                *k.minutes
                    .entry(s.stage.code().to_owned())
                    .or_default()
                    .entry(bucket(m))
                    .or_default() += 1;
                if let Some(l) = limit {
                    k.stages_with_limit += 1;
                    k.stages_within_limit += u64::from(m <= l);
                }
            }
        }
        if t.lane_recorded_on == Some(date)
            && let Some(changed) = t.lane_changed_by_hand
        {
            for u in &t.office_path {
                let r = at(&mut by_unit, date, &units::unit(u), u);
                r.declarations_with_lane_facts += 1;
                r.lanes_changed_by_hand += u64::from(changed);
            }
            let k = office_kind(&mut by_unit, date, t, &kind);
            k.declarations_with_lane_facts += 1;
            k.lanes_changed_by_hand += u64::from(changed);
        }
        if t.release_recorded_on == Some(date)
            && let Some(released) = t.released_at
        {
            let minutes = u32::try_from((released - t.registered_at).num_minutes().max(0))
                .unwrap_or(u32::MAX);
            for u in &t.office_path {
                let r = at(&mut by_unit, date, &units::unit(u), u);
                *r.release_minutes
                    .entry(t.lane.code().to_owned())
                    .or_default()
                    .entry(bucket(minutes))
                    .or_default() += 1;
            }
        }
    }
    by_unit.into_values().collect()
}

/// The office's own row's counts of one kind.
fn office_kind<'m>(
    by_unit: &'m mut BTreeMap<String, DailyStats>,
    date: NaiveDate,
    t: &DeclarationTimes,
    kind: &str,
) -> &'m mut KindCounts {
    at(by_unit, date, &units::unit(&t.office), &t.office)
        .kinds
        .entry(kind.to_owned())
        .or_default()
}

/// Two days' worth of rows for the same day added up by unit (the survey's
/// rows and the times' rows of one nightly run).
pub fn add_rows(rows: Vec<DailyStats>, more: Vec<DailyStats>) -> Vec<DailyStats> {
    let mut by_unit: BTreeMap<String, DailyStats> =
        rows.into_iter().map(|r| (r.unit.clone(), r)).collect();
    for m in more {
        match by_unit.get_mut(&m.unit) {
            Some(r) => r.add(&m),
            None => {
                by_unit.insert(m.unit.clone(), m);
            }
        }
    }
    by_unit
        .into_values()
        .map(|mut r| {
            r.finish();
            r
        })
        .collect()
}

/// A unit's service times over a period, from the sum of its rows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceTimeFigures {
    pub stages_timed: u64,
    /// In working hours; exact under two hours, within 2% above.
    pub median_hours: Option<f64>,
    pub p90_hours: Option<f64>,
    /// Of the stages with a legal limit, the share within it.
    pub within_limit_share: Option<f64>,
    pub stages_with_limit: u64,
    /// Document requests per stage that counted them.
    pub document_requests_per_stage: Option<f64>,
    /// Document requests per declaration that counted them (offices and the
    /// units above them; a stage's or officer's row counts stages only).
    pub document_requests_per_declaration: Option<f64>,
    /// Registration to release, per lane, in clock hours.
    pub release: Vec<ReleaseFigures>,
    /// How businesses rated stages kept within their limit and over it, and
    /// by duration band; levels withheld below k ratings.
    pub satisfaction: Vec<TimeSatisfaction>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimeSatisfaction {
    /// `within_limit`, `over_limit`, or a band (`under_1h` … `8h_or_more`).
    pub group: String,
    pub ratings: u64,
    pub shown: bool,
    pub satisfied_share: Option<f64>,
    pub average: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReleaseFigures {
    pub lane: String,
    pub declarations: u64,
    pub median_hours: Option<f64>,
    pub p90_hours: Option<f64>,
}

fn hours(minutes: Option<u32>) -> Option<f64> {
    minutes.map(|m| f64::from(m) / 60.0)
}

impl ServiceTimeFigures {
    /// `k`: the fewest ratings a group's levels are shown on.
    pub fn of(sum: &DailyStats, k: u64) -> ServiceTimeFigures {
        ServiceTimeFigures {
            stages_timed: sum.stages_timed,
            median_hours: hours(quantile(&sum.stage_minutes, 0.5)),
            p90_hours: hours(quantile(&sum.stage_minutes, 0.9)),
            within_limit_share: (sum.stages_with_limit > 0)
                .then(|| sum.stages_within_limit as f64 / sum.stages_with_limit as f64),
            stages_with_limit: sum.stages_with_limit,
            document_requests_per_stage: (sum.stages_counting_requests > 0)
                .then(|| sum.document_requests as f64 / sum.stages_counting_requests as f64),
            document_requests_per_declaration: (sum.declarations_counting_requests > 0)
                .then(|| sum.document_requests as f64 / sum.declarations_counting_requests as f64),
            release: sum
                .release_minutes
                .iter()
                .map(|(lane, counts)| ReleaseFigures {
                    lane: lane.clone(),
                    declarations: counts.values().sum(),
                    median_hours: hours(quantile(counts, 0.5)),
                    p90_hours: hours(quantile(counts, 0.9)),
                })
                .collect(),
            satisfaction: [super::WITHIN_LIMIT, super::OVER_LIMIT]
                .into_iter()
                .chain(super::BANDS.iter().map(|(b, _)| *b))
                .map(|group| {
                    let levels = sum.time_levels.get(group).copied().unwrap_or([0; 5]);
                    let (figures, shown) = super::Levels::shown_from(&levels, k);
                    TimeSatisfaction {
                        group: group.to_owned(),
                        ratings: figures.ratings,
                        shown,
                        satisfied_share: figures.satisfied_share,
                        average: figures.average,
                    }
                })
                .collect(),
        }
    }
}
