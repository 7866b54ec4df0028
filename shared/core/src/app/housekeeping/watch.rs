//! The retaliation watch, weekly with the early warning: every business that
//! opened a complaint or misconduct case about an office within the watch's
//! days is compared with its own past there and with the office's other
//! businesses; a flag becomes a watch case for the inspection unit alone.
//! Nothing is sent to anyone, and no event or figure tells of it.

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate};

use super::Housekeeping;
use crate::app::all_pages;
use crate::domain::case::rules::StoredCaseRules;
use crate::domain::form::units;
use crate::domain::stats::sum_rows;
use crate::domain::time::vn_day_start;
use crate::domain::watch::{Conduct, WatchCase, WatchReport, WatchedPair, run_watch};
use crate::ports::PortResult;

/// The most declarations of one business at one office the watch reads a
/// week (a busy forwarding agent files a few hundred in 180 days).
const MAX_DECLARATIONS_READ: u32 = 1_000;

impl Housekeeping {
    /// The watch for the week ending `week_end`: the pairs tested, the flags
    /// raised (each once per week: a rerun raises nothing new).
    pub async fn run_retaliation_watch(&self, week_end: NaiveDate) -> PortResult<WatchReport> {
        let rules = StoredCaseRules::in_force(self.org.case_rules().await?).rules;
        let watch = rules.service_standards.watch;
        let calendar = rules.calendar();
        let standards = &rules.service_standards;
        // Who is watched where, since their first case within the window.
        let mut since: BTreeMap<(String, String), NaiveDate> = BTreeMap::new();
        for back in 0..u64::from(watch.days) {
            let Some(day) = week_end.checked_sub_days(Days::new(back)) else {
                break;
            };
            for case in all_pages(|p| self.cases.cases_opened_on(day, p)).await? {
                if !case.counts_as_complaint() {
                    continue;
                }
                let key = (
                    case.complaint.business.tax_code.as_str().to_owned(),
                    case.complaint.branch.clone(),
                );
                since
                    .entry(key)
                    .and_modify(|d| *d = (*d).min(day))
                    .or_insert(day);
            }
        }
        let end = vn_day_start(week_end + Days::new(1));
        let mut pairs = vec![];
        for ((tax_code, office), first) in since {
            let start = vn_day_start(first);
            let from = start - chrono::Duration::days(i64::from(watch.days));
            let mut before = Conduct::default();
            let mut after = Conduct::default();
            for t in self
                .times
                .business_times(&office, &tax_code, from, end, MAX_DECLARATIONS_READ)
                .await?
            {
                let side = if t.registered_at < start {
                    &mut before
                } else {
                    &mut after
                };
                side.add(&t, standards, &calendar);
            }
            // The office's other businesses over the same weeks: its daily
            // rows less this business's own.
            let rows = self
                .stats
                .daily(&units::unit(&office), first, week_end)
                .await?;
            let office_sum = sum_rows(&office, &rows);
            // The rows count by the day times arrived, the business's own by
            // registration: the difference is kept consistent (never more
            // stages within the limit than stages, nor more lanes changed
            // than declarations).
            let stages_with_limit = office_sum
                .stages_with_limit
                .saturating_sub(after.stages_with_limit);
            let declarations_with_lane_facts = office_sum
                .declarations_with_lane_facts
                .saturating_sub(after.declarations_with_lane_facts);
            let others_after = Conduct {
                stages_with_limit,
                stages_within_limit: office_sum
                    .stages_within_limit
                    .saturating_sub(after.stages_within_limit)
                    .min(stages_with_limit),
                declarations_with_lane_facts,
                lanes_changed_by_hand: office_sum
                    .lanes_changed_by_hand
                    .saturating_sub(after.lanes_changed_by_hand)
                    .min(declarations_with_lane_facts),
            };
            pairs.push(WatchedPair {
                tax_code,
                office,
                since: first,
                before,
                after,
                others_after,
            });
        }
        let report = run_watch(&pairs, &watch);
        let now = self.clock.now();
        for flag in &report.flags {
            // False: this week's case of the pair exists already.
            self.watch
                .save_watch_case(&WatchCase::raise(flag.clone(), week_end, now))
                .await?;
        }
        tracing::info!(%week_end, pairs = report.pairs_watched, tested = report.comparisons_tested, flags = report.flags.len(), "retaliation watch run");
        Ok(report)
    }
}
