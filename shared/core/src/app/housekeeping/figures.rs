//! The figures' nightly work: the day's rollups, what the day changes in
//! the issue-day cohorts, and the week's early warning (Sundays).

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate};

use super::Housekeeping;
use crate::app::{all_pages, emails};
use crate::domain::case::rules::StoredCaseRules;
use crate::domain::form::{Form, RatingRecord, units};
use crate::domain::org::OrgDirectory;
use crate::domain::report::{Flag, WarningReport};
use crate::domain::stats::{
    DailyStats, DayInputs, add_rows, cohort_issued, cohort_ratings, cohort_roll_up, roll_up,
    time_satisfaction_roll_up, times_roll_up,
};
use crate::domain::time::vn_day;
use crate::domain::time::vn_day_start;
use crate::domain::times::DeclarationTimes;
use crate::ports::PortResult;

/// Weeks of the recent window and of the baseline before it.
pub const RECENT_WEEKS: u64 = 4;
pub const BASELINE_WEEKS: u64 = 12;
/// The share of false alarms tolerated among the week's flags.
pub const FALSE_DISCOVERY_RATE: f64 = 0.05;

impl Housekeeping {
    /// Computes and stores the rollups of one day, and what the day changes
    /// in the issue-day cohorts; rerunning gives the same figures.
    pub async fn aggregate_day(&self, date: NaiveDate) -> PortResult<Vec<DailyStats>> {
        Ok(self.roll_up_day(date).await?.0)
    }

    /// The day's rows, and how many cohort rows it wrote.
    #[tracing::instrument(name = "aggregate_day", skip_all)]
    pub(super) async fn roll_up_day(
        &self,
        date: NaiveDate,
    ) -> PortResult<(Vec<DailyStats>, usize)> {
        let forms = all_pages(|p| self.forms.forms_issued_on(date, p)).await?;
        let ratings = all_pages(|p| self.forms.ratings_on(date, p)).await?;
        let opened = all_pages(|p| self.cases.cases_opened_on(date, p)).await?;
        let closed = all_pages(|p| self.cases.cases_closed_on(date, p)).await?;
        let end_of_day = vn_day_start(date + Days::new(1));
        let overdue: Vec<_> = all_pages(|p| self.cases.open_cases_due_before(end_of_day, p))
            .await?
            .into_iter()
            .filter(|c| c.opened_at < end_of_day)
            .collect();
        let handling = all_pages(|p| self.cases.handling_ratings_on(date, p)).await?;
        let org = self.directory.current_org().await?.map(|(_, o)| o);
        // The day's submitted forms, one read each (bounded by the day's
        // ratings): a form counts as submitted for every unit it was issued
        // for, not only those whose subjects it rated.
        let mut rated_ids: Vec<&str> = ratings.iter().map(|r| r.form_id.as_str()).collect();
        rated_ids.sort_unstable();
        rated_ids.dedup();
        let mut submitted = Vec::with_capacity(rated_ids.len());
        for id in rated_ids {
            if let Some(form) = self.forms.form(id).await? {
                submitted.push(form);
            }
        }
        // The service times CSQ received this day, measured against the
        // department's standards and calendar in force.
        let times = all_pages(|p| self.times.times_recorded_on(date, p)).await?;
        let rules = StoredCaseRules::in_force(self.org.case_rules().await?).rules;
        let calendar = rules.calendar();
        let mut timed = times_roll_up(date, &times, &rules.service_standards, &calendar);
        let pairs = self.rated_with_times(date, &ratings, &times).await?;
        timed.extend(time_satisfaction_roll_up(
            date,
            &pairs,
            &rules.service_standards,
            &calendar,
            org.as_ref(),
        ));
        let stats = roll_up(&DayInputs {
            date,
            forms_issued: &forms,
            forms_submitted: &submitted,
            ratings: &ratings,
            cases_opened: &opened,
            cases_closed: &closed,
            cases_overdue: &overdue,
            handling_ratings: &handling,
            org: org.as_ref(),
        });
        let stats = add_rows(stats, timed);
        self.stats.put_daily(&stats).await?;
        let cohort_rows = self
            .update_cohorts(date, &forms, &submitted, org.as_ref())
            .await?;
        tracing::info!(%date, units = stats.len(), cohort_rows, forms = forms.len(), ratings = ratings.len(), "day rolled up");
        Ok((stats, cohort_rows))
    }

    /// The issue-day cohorts the day changes: its issued forms open their
    /// rows, and each form rated this day adds to its issue day's row under
    /// this day (a rerun replaces what it added). One read per cohort key
    /// touched (its rows of the window), so a night costs what the day
    /// holds, not the window's forms. A row from before rows kept their
    /// ratings by day has its issue day recomputed from its forms, once.
    async fn update_cohorts(
        &self,
        date: NaiveDate,
        issued: &[Form],
        rated: &[Form],
        org: Option<&OrgDirectory>,
    ) -> PortResult<usize> {
        let window = u64::try_from(self.settings.form_ttl.num_days()).unwrap_or(30) + 2;
        let from = date.checked_sub_days(Days::new(window)).unwrap_or(date);
        let opened = cohort_issued(issued, org);
        let ratings = cohort_ratings(rated, org);
        let mut touched: BTreeMap<String, BTreeMap<NaiveDate, String>> = BTreeMap::new();
        for (key, (owner, _)) in &opened {
            touched
                .entry(key.clone())
                .or_default()
                .insert(date, owner.clone());
        }
        for ((key, day), (owner, _)) in &ratings {
            touched
                .entry(key.clone())
                .or_default()
                .insert(*day, owner.clone());
        }
        let mut out: BTreeMap<(String, NaiveDate), DailyStats> = BTreeMap::new();
        let mut rebuild = std::collections::BTreeSet::new();
        for (key, days) in touched {
            let mut stored: BTreeMap<NaiveDate, DailyStats> = self
                .stats
                .daily(&key, from, date)
                .await?
                .into_iter()
                .map(|r| (r.date, r))
                .collect();
            for (day, owner) in days {
                let mut row = stored.remove(&day).unwrap_or_else(|| {
                    let mut r = DailyStats::empty(&key, day);
                    r.owner = Some(owner).filter(|o| !o.is_empty());
                    r
                });
                if row.is_cohort_without_days() {
                    rebuild.insert(day);
                    continue;
                }
                if day == date {
                    row.forms_issued = opened.get(&key).map_or(0, |(_, n)| *n);
                }
                let added = ratings
                    .get(&(key.clone(), day))
                    .map(|(_, r)| r.clone())
                    .unwrap_or_default();
                row.set_rated_on(date, added);
                out.insert((key.clone(), day), row);
            }
        }
        for day in rebuild {
            let forms = all_pages(|p| self.forms.forms_issued_on(day, p)).await?;
            for row in cohort_roll_up(day, &forms, org) {
                out.insert((row.unit.clone(), day), row);
            }
        }
        let rows: Vec<DailyStats> = out.into_values().collect();
        self.stats.put_daily(&rows).await?;
        Ok(rows.len())
    }

    /// The ratings whose stage times are known, with those times: the day's
    /// ratings of stages (one read per declaration whose times did not
    /// arrive this day), and the earlier ratings of the declarations
    /// registered before this day whose times arrived this day (one read per
    /// form). Both bounded by the day's records; the domain counts each pair
    /// once.
    async fn rated_with_times(
        &self,
        date: NaiveDate,
        ratings: &[RatingRecord],
        times: &[DeclarationTimes],
    ) -> PortResult<Vec<(RatingRecord, DeclarationTimes)>> {
        let mut pairs = vec![];
        let mut by_declaration: BTreeMap<&str, Vec<&RatingRecord>> = BTreeMap::new();
        for r in ratings
            .iter()
            .filter(|r| r.subject.stage.is_some() && !r.is_part_of_misconduct_report())
        {
            by_declaration
                .entry(r.declaration_number.as_str())
                .or_default()
                .push(r);
        }
        // Times that arrived this day are at hand: what arrives later counts
        // on its own day, so this day's copy is the one that matters.
        let arrived: BTreeMap<&str, &DeclarationTimes> =
            times.iter().map(|t| (t.number.as_str(), t)).collect();
        for (number, rated) in by_declaration {
            let t = match arrived.get(number) {
                Some(t) => Some((*t).clone()),
                None => self.times.declaration_times(number).await?,
            };
            if let Some(t) = t {
                pairs.extend(rated.into_iter().map(|r| (r.clone(), t.clone())));
            }
        }
        // A declaration registered this day has no form rated before it:
        // only those registered earlier are read for earlier ratings.
        for t in times.iter().filter(|t| {
            vn_day(t.registered_at) < date
                && t.stages
                    .iter()
                    .any(|s| s.recorded_on == date && s.is_timed())
        }) {
            for form in crate::app::forms_of_declaration(self.forms.as_ref(), &t.number).await? {
                let (Some(submission), Some(at)) = (&form.submission, form.submitted_at) else {
                    continue;
                };
                if vn_day(at) >= date {
                    continue; // the day's own ratings are above
                }
                pairs.extend(
                    RatingRecord::from_submission(&form, submission, at)
                        .into_iter()
                        .map(|r| (r, t.clone())),
                );
            }
        }
        Ok(pairs)
    }

    /// Recomputes from their forms the issue-day cohorts a rating can still
    /// change: the days whose forms may still be rated (the rating window and
    /// two more). The nightly keeps them up to date from each day's records
    /// (`update_cohorts`); this rebuild is for a history loaded at once (the
    /// demo) or rows in doubt.
    pub async fn aggregate_cohorts(&self, date: NaiveDate) -> PortResult<usize> {
        let org = self.directory.current_org().await?.map(|(_, o)| o);
        let window = u64::try_from(self.settings.form_ttl.num_days()).unwrap_or(30) + 2;
        let mut rows = 0;
        for back in 0..=window {
            let Some(day) = date.checked_sub_days(Days::new(back)) else {
                break;
            };
            let forms = all_pages(|p| self.forms.forms_issued_on(day, p)).await?;
            let cohort = cohort_roll_up(day, &forms, org.as_ref());
            self.stats.put_daily(&cohort).await?;
            rows += cohort.len();
        }
        Ok(rows)
    }

    /// The weekly early warning for the 4 weeks ending `week_end`: every
    /// active unit and every officer rated in them, tested against its 12
    /// weeks before (one-sided two-proportion test, Benjamini–Hochberg across
    /// all tested). Saved once per week; the department's head and each flag's
    /// parent unit head are emailed only by the run that saved it.
    #[tracing::instrument(name = "run_early_warning", skip_all)]
    pub async fn run_early_warning(
        &self,
        week_end: NaiveDate,
    ) -> PortResult<Option<WarningReport>> {
        use crate::domain::report::{Window, benjamini_hochberg, drop_p_value};
        let Some((_, org)) = self.directory.current_org().await? else {
            return Ok(None);
        };
        let recent_from = week_end - Days::new(RECENT_WEEKS * 7 - 1);
        let baseline_to = recent_from - Days::new(1);
        let baseline_from = recent_from - Days::new(BASELINE_WEEKS * 7);
        let min = self.settings.warning_min_ratings;
        let mut candidates: Vec<(String, String)> = org
            .units
            .iter()
            .filter(|u| !u.retired)
            .map(|u| (units::unit(&u.code), u.code.clone()))
            .collect();
        let mut officers: BTreeMap<String, String> = BTreeMap::new();
        let mut tested: Vec<(String, String, Window, Window, f64)> = vec![];
        let window = |rows: &[DailyStats], from: NaiveDate, to: NaiveDate| {
            let (mut n, mut k) = (0, 0);
            for r in rows.iter().filter(|r| r.date >= from && r.date <= to) {
                n += r.ratings;
                k += r.level_counts[3] + r.level_counts[4];
            }
            Window {
                ratings: n,
                satisfied: k,
            }
        };
        let mut i = 0;
        while i < candidates.len() {
            let (key, owner) = candidates[i].clone();
            i += 1;
            let rows = self.stats.daily(&key, baseline_from, week_end).await?;
            for r in rows.iter().filter(|r| r.date >= recent_from) {
                for o in &r.officer_ids {
                    officers.entry(o.clone()).or_insert_with(|| owner.clone());
                }
            }
            let (recent, baseline) = (
                window(&rows, recent_from, week_end),
                window(&rows, baseline_from, baseline_to),
            );
            if let Some(p) = drop_p_value(recent, baseline, min) {
                tested.push((key, owner, recent, baseline, p));
            }
            // Officers are found in their offices' rows: test them after the units.
            if i == candidates.len() {
                for (id, office) in std::mem::take(&mut officers) {
                    let key = units::officer(&id);
                    if !candidates.iter().any(|(k, _)| *k == key) {
                        candidates.push((key, office));
                    }
                }
            }
        }
        let p_values: Vec<f64> = tested.iter().map(|t| t.4).collect();
        let flagged = benjamini_hochberg(&p_values, FALSE_DISCOVERY_RATE);
        let flags: Vec<Flag> = tested
            .iter()
            .zip(flagged)
            .filter(|(_, f)| *f)
            .map(|((key, owner, recent, baseline, p), _)| Flag {
                key: key.clone(),
                owner: owner.clone(),
                recent_ratings: recent.ratings,
                recent_satisfied: recent.satisfied,
                baseline_ratings: baseline.ratings,
                baseline_satisfied: baseline.satisfied,
                p_value: *p,
            })
            .collect();
        let report = WarningReport {
            week_end,
            recent_from,
            baseline_from,
            baseline_to,
            min_ratings: min,
            false_discovery_rate: FALSE_DISCOVERY_RATE,
            tested: tested.len(),
            flags,
        };
        if !self.stats.put_warnings(&report).await? {
            return Ok(None);
        }
        // One email per head: the department's head gets every flag, each
        // parent unit's head those below it (an officer's: the office head).
        let mut to: BTreeMap<(String, String), Vec<&Flag>> = BTreeMap::new();
        for f in &report.flags {
            if let Some((_, head)) = org.root().and_then(|r| org.head_for(&r.code)) {
                to.entry((head.name.clone(), head.email.clone()))
                    .or_default()
                    .push(f);
            }
            let parent = if f.key.starts_with("officer:") {
                Some(f.owner.as_str())
            } else {
                org.unit(&f.owner).and_then(|u| u.parent.as_deref())
            };
            if let Some((_, head)) = parent.and_then(|p| org.head_for(p)) {
                let flags = to
                    .entry((head.name.clone(), head.email.clone()))
                    .or_default();
                if !flags.contains(&f) {
                    flags.push(f);
                }
            }
        }
        for ((name, email), flags) in to {
            let mail =
                emails::early_warning(&name, &email, &report, &flags, &self.settings.staff_url);
            if let Err(e) = self.mailer.send(&mail).await {
                tracing::warn!(error = %e, "early-warning email not sent");
            }
        }
        tracing::info!(%week_end, tested = report.tested, flags = report.flags.len(), "early warning");
        Ok(Some(report))
    }
}
