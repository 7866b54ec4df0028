//! How a day's records become rows: every unit a form, rating or case
//! belongs to (up the tree), its stages and officers; and the issue-day
//! cohorts of response.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::*;
use crate::domain::case::{Case, HandlingRatingRecord};
use crate::domain::form::{Form, RatingRecord, Subject, units};
use crate::domain::org::OrgDirectory;

/// The statistics units a subject counts towards, each with the org unit that
/// owns its row (an officer's row: the office).
fn subject_units<'s>(
    s: &'s Subject,
    org: Option<&OrgDirectory>,
) -> impl Iterator<Item = (String, String)> + 's {
    s.stats_units(org).into_iter().map(move |unit| {
        let owner = units::owner(&unit).unwrap_or(s.branch.as_str()).to_owned();
        (unit, owner)
    })
}

/// Every statistics unit a set of subjects counts towards, once each. A form's
/// subjects always include its office, so the office and its path are among them.
pub(super) fn units_of<'s>(
    subjects: impl Iterator<Item = &'s Subject>,
    org: Option<&OrgDirectory>,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for s in subjects {
        for (unit, owner) in subject_units(s, org) {
            out.entry(unit).or_insert(owner);
        }
    }
    out
}

/// A case counts for its complained subjects and for the office and the units
/// above it, whichever subjects the complaint names.
fn case_units(case: &Case, org: Option<&OrgDirectory>) -> BTreeMap<String, String> {
    let mut out = units_of(case.complaint.subjects.iter().map(|s| &s.subject), org);
    for unit in case.complaint.office_stats_units(org) {
        let owner = units::owner(&unit).unwrap_or_default().to_owned();
        out.entry(unit).or_insert(owner);
    }
    out
}

/// A unit's row of the day, made on first use, with the unit that owns it.
pub(super) fn at<'m>(
    map: &'m mut BTreeMap<String, DailyStats>,
    date: NaiveDate,
    unit: &str,
    owner: &str,
) -> &'m mut DailyStats {
    let row = map
        .entry(unit.to_owned())
        .or_insert_with(|| DailyStats::empty(unit, date));
    if row.owner.is_none() && !owner.is_empty() {
        row.owner = Some(owner.to_owned());
    }
    row
}

/// What the nightly job read for one day.
pub struct DayInputs<'a> {
    pub date: NaiveDate,
    pub forms_issued: &'a [Form],
    /// The forms whose ratings are among `ratings` (submitted this day).
    pub forms_submitted: &'a [Form],
    pub ratings: &'a [RatingRecord],
    pub cases_opened: &'a [Case],
    pub cases_closed: &'a [Case],
    pub cases_overdue: &'a [Case],
    pub handling_ratings: &'a [HandlingRatingRecord],
    /// Today's directory: only to place records of the first version, which did
    /// not record their units. Everything newer carries its own units.
    pub org: Option<&'a OrgDirectory>,
}

/// Pure arithmetic: the same inputs always give the same rollups, so rerunning the
/// nightly job for a day overwrites its figures with identical ones. Every unit of
/// the tree with activity gets a row: an office's rating counts for the office
/// and each unit above it, a team's for the team, a stage's for the stage in the
/// office and above, an officer's for the officer.
pub fn roll_up(inputs: &DayInputs<'_>) -> Vec<DailyStats> {
    let date = inputs.date;
    let org = inputs.org;
    let mut by_unit: BTreeMap<String, DailyStats> = BTreeMap::new();

    for form in inputs.forms_issued {
        let invitation = form.invitation_state().code();
        for (unit, owner) in units_of(form.subjects.iter(), org) {
            let row = at(&mut by_unit, date, &unit, &owner);
            row.forms_issued += 1;
            *row.invitations.entry(invitation.to_owned()).or_default() += 1;
        }
    }

    // A submitted form counts for every unit it was issued for, as in
    // `forms_issued` and the cohorts, whichever of its subjects were rated.
    for form in inputs.forms_submitted {
        let misconduct = form.is_misconduct_report();
        for (unit, owner) in units_of(form.subjects.iter(), org) {
            let row = at(&mut by_unit, date, &unit, &owner);
            row.forms_submitted += 1;
            if misconduct {
                row.misconduct_forms_submitted += 1;
            }
        }
        if !misconduct {
            channel_figures(&mut by_unit, date, form, org);
        }
    }

    for r in inputs.ratings {
        let idx = usize::from(r.level.value()) - 1;
        let misconduct = r.is_part_of_misconduct_report();
        for (unit, owner) in subject_units(&r.subject, org) {
            let row = at(&mut by_unit, date, &unit, &owner);
            row.level_counts[idx] += 1;
            if misconduct {
                row.misconduct_level_counts[idx] += 1;
            }
            for reason in &r.reasons {
                row.reason_counts
                    .entry(reason.code().to_owned())
                    .or_default()[idx] += 1;
                if misconduct {
                    row.misconduct_reason_counts
                        .entry(reason.code().to_owned())
                        .or_default()[idx] += 1;
                }
            }
        }
        // The office knows which officers it had rated, for rankings within it.
        if let Some(officer) = &r.subject.officer_id {
            let office = units::unit(r.subject.branch.as_str());
            let row = at(&mut by_unit, date, &office, r.subject.branch.as_str());
            if !row.officer_ids.iter().any(|o| o == officer.as_str()) {
                row.officer_ids.push(officer.to_string());
            }
        }
    }
    for case in inputs.cases_opened {
        if !case.counts_as_complaint() {
            for (unit, owner) in case_units(case, org) {
                at(&mut by_unit, date, &unit, &owner).suggestions_opened += 1;
            }
        }
    }
    for (cases, field) in [
        (inputs.cases_opened, 0),
        (inputs.cases_closed, 1),
        (inputs.cases_overdue, 2),
    ] {
        for case in cases.iter().filter(|c| c.counts_as_complaint()) {
            let misconduct = case.complaint.is_misconduct();
            for (unit, owner) in case_units(case, org) {
                let row = at(&mut by_unit, date, &unit, &owner);
                match field {
                    0 => row.complaints_opened += 1,
                    1 => {
                        row.complaints_closed += 1;
                        if let Some(closed) = case.closed_at {
                            let hours = (closed - case.opened_at).num_hours().max(0);
                            *row.handling_hours
                                .entry(u32::try_from(hours).unwrap_or(u32::MAX))
                                .or_default() += 1;
                        }
                    }
                    _ => row.complaints_overdue += 1,
                }
                if misconduct {
                    row.misconduct_complaints[field] += 1;
                }
            }
        }
    }
    for case in inputs
        .cases_closed
        .iter()
        .filter(|c| c.counts_as_complaint())
    {
        let Some(conclusion) = case.conclusion.as_ref().filter(|c| c.upheld) else {
            continue;
        };
        let misconduct = case.complaint.is_misconduct();
        let mut units = case_units(case, org);
        // The finding, not the complaint, says which officers were at fault.
        units.retain(|u, _| !u.starts_with("officer:"));
        for officer in &conclusion.officers {
            units.insert(units::officer(officer), case.complaint.branch.clone());
        }
        for (unit, owner) in units {
            let row = at(&mut by_unit, date, &unit, &owner);
            row.complaints_upheld += 1;
            if misconduct {
                row.misconduct_upheld += 1;
            }
        }
    }
    for h in inputs.handling_ratings {
        let idx = usize::from(h.level.value()) - 1;
        for unit in &h.units {
            let owner = units::owner(unit).unwrap_or_default().to_owned();
            at(&mut by_unit, date, unit, &owner).handling_level_counts[idx] += 1;
        }
    }

    by_unit
        .into_values()
        .map(|mut s| {
            s.finish();
            s
        })
        .collect()
}

/// A submitted form's channel figures: the form for every unit it was
/// issued for, each rating for the units its subject counts towards.
fn channel_figures(
    by_unit: &mut BTreeMap<String, DailyStats>,
    date: NaiveDate,
    form: &Form,
    org: Option<&OrgDirectory>,
) {
    let Some(submission) = &form.submission else {
        return;
    };
    let Some(channel) = submission.channel.map(|c| c.code()) else {
        return;
    };
    for (unit, owner) in units_of(form.subjects.iter(), org) {
        *at(by_unit, date, &unit, &owner)
            .channel_forms
            .entry(channel.to_owned())
            .or_default() += 1;
    }
    for rating in &submission.ratings {
        let Some(subject) = form.subject(&rating.subject_key) else {
            continue;
        };
        let idx = usize::from(rating.level.value()) - 1;
        for (unit, owner) in subject_units(subject, org) {
            at(by_unit, date, &unit, &owner)
                .channel_level_counts
                .entry(channel.to_owned())
                .or_default()[idx] += 1;
        }
    }
}
