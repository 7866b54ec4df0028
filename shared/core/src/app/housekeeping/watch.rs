//! The retaliation watch, weekly with the early warning: every business that
//! opened a complaint or misconduct case about an office within the watch's
//! days is compared with its own past there and with the office's other
//! businesses, kind by kind (type and lane); a flag becomes a watch case for the inspection unit alone.
//! Nothing is sent to anyone, and no event or figure tells of it.

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate};

use super::Housekeeping;
use crate::app::all_pages;
use crate::domain::case::rules::StoredCaseRules;
use crate::domain::form::units;
use crate::domain::time::vn_day_start;
use crate::domain::watch::{
    ByKind, Conduct, KindCounts, WatchCase, WatchReport, WatchedPair, run_watch, typical_minutes,
};
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
            // The office's declarations by kind over the weeks since: its
            // own daily rows. Their medians judge a stage slow on every side.
            let rows = self
                .stats
                .daily(&units::unit(&office), first, week_end)
                .await?;
            let mut office_kinds: BTreeMap<String, KindCounts> = BTreeMap::new();
            for r in &rows {
                for (kind, counts) in &r.kinds {
                    office_kinds.entry(kind.clone()).or_default().add(counts);
                }
            }
            let typical = typical_minutes(&office_kinds);
            let start = vn_day_start(first);
            let from = start - chrono::Duration::days(i64::from(watch.days));
            let mut before = ByKind::new();
            let mut after = ByKind::new();
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
                Conduct::add(side, &t, standards, &calendar, &typical);
            }
            // The office's other businesses: its rows less this business's own.
            let others_after: ByKind = office_kinds
                .iter()
                .map(|(kind, counts)| {
                    let office = Conduct::of_office(kind, counts, &typical);
                    let own = after.get(kind).copied().unwrap_or_default();
                    (kind.clone(), office.less(&own))
                })
                .collect();
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
