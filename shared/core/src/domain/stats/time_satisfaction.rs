//! Satisfaction against time: the levels of rated stages and officers, by
//! whether their stage kept its legal limit and by how long it took; in the
//! rows of the subject, and of the office and the units above it.
//!
//! A rating and its stage's times may arrive in either order, days apart; the
//! pair counts once, on the later of the two days (the rating's day, or the
//! day its stage's times arrived). Misconduct reports are left out, as from
//! the channel figures: a breakdown holding them would show a reader who may
//! not see them what the small-cell rule took out.

use std::collections::BTreeSet;

use chrono::NaiveDate;

use super::DailyStats;
use super::roll_up::at;
use crate::domain::case::rules::Calendar;
use crate::domain::form::{RatingRecord, units};
use crate::domain::org::OrgDirectory;
use crate::domain::time::vn_day;
use crate::domain::times::{DeclarationTimes, ServiceStandards, StageTime};

/// The duration bands of the figures, in working hours (upper bound
/// exclusive; the last has none).
pub const BANDS: [(&str, u32); 5] = [
    ("under_1h", 60),
    ("1h_to_2h", 120),
    ("2h_to_4h", 240),
    ("4h_to_8h", 480),
    ("8h_or_more", u32::MAX),
];

/// The figures' keys besides the bands: kept or over the stage's limit.
pub const WITHIN_LIMIT: &str = "within_limit";
pub const OVER_LIMIT: &str = "over_limit";

fn band(minutes: u32) -> &'static str {
    BANDS
        .iter()
        .find(|(_, upper)| minutes < *upper)
        .map_or("8h_or_more", |(name, _)| name)
}

/// The stage times a rating is about: its subject's stage, by the same
/// officer (a stage subject: the stage's first timed record).
fn stage_of<'t>(rating: &RatingRecord, times: &'t DeclarationTimes) -> Option<&'t StageTime> {
    let stage = rating.subject.stage?;
    let officer = rating.subject.officer_id.as_ref().map(|o| o.as_str());
    times.stages.iter().find(|s| {
        s.stage == stage && s.is_timed() && (officer.is_none() || s.officer.as_deref() == officer)
    })
}

/// The rows of `date` from candidate pairs of a rating and its declaration's
/// times (the day's ratings with their times, and the ratings of earlier days
/// whose stage times arrived this day): each pair counted once, on its day.
pub fn time_satisfaction_roll_up(
    date: NaiveDate,
    pairs: &[(RatingRecord, DeclarationTimes)],
    standards: &ServiceStandards,
    calendar: &Calendar,
    org: Option<&OrgDirectory>,
) -> Vec<DailyStats> {
    let mut by_unit = std::collections::BTreeMap::new();
    let mut seen = BTreeSet::new();
    for (rating, times) in pairs {
        if rating.is_part_of_misconduct_report() {
            continue;
        }
        let Some(stage) = stage_of(rating, times) else {
            continue;
        };
        let day = vn_day(rating.submitted_at).max(stage.recorded_on);
        if day != date || !seen.insert((rating.form_id.clone(), rating.subject.key.clone())) {
            continue;
        }
        let (Some(from), Some(to)) = (stage.started_at, stage.finished_at) else {
            continue;
        };
        let minutes = standards.working_minutes(&times.office_path, calendar, from, to);
        let idx = usize::from(rating.level.value()) - 1;
        let limit = standards.limit_minutes(stage.stage).map(|l| {
            if minutes <= l {
                WITHIN_LIMIT
            } else {
                OVER_LIMIT
            }
        });
        // The subject's own units, and the office with the units above it:
        // the leadership reads satisfaction against time for the unit in view.
        let mut targets = rating.subject.stats_units(org);
        for u in &times.office_path {
            let unit = units::unit(u);
            if !targets.contains(&unit) {
                targets.push(unit);
            }
        }
        for unit in targets {
            let owner = units::owner(&unit)
                .unwrap_or(rating.branch.as_str())
                .to_owned();
            let row = at(&mut by_unit, date, &unit, &owner);
            row.time_levels.entry(band(minutes).to_owned()).or_default()[idx] += 1;
            if let Some(key) = limit {
                row.time_levels.entry(key.to_owned()).or_default()[idx] += 1;
            }
        }
    }
    by_unit.into_values().collect()
}
