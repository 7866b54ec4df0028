//! The retaliation watch, for the inspection unit alone: is a business that
//! complained about an office treated worse there afterwards?
//!
//! A business that opened a complaint or misconduct case about an office is
//! watched at that office for `WatchRules::days`. Each week, every watched
//! pair is compared with its own period before the complaint and with the
//! office's other businesses over the same weeks: the share of stages over
//! their legal limit, and the share of declarations whose lane was changed
//! by hand. Each comparison is a one-sided two-proportion z-test (the same as
//! the early warning's) when both sides hold `min_count`; Benjamini–Hochberg
//! across every comparison of the week keeps the expected share of false
//! flags at or under `false_discovery_rate`.
//!
//! Each comparison is Fisher's exact test, one-sided, not the early
//! warning's normal approximation: a business's stages over their limit are
//! few (a 5% share of 30 stages is one or two), and there the z-test flagged
//! a business whose handling had not changed in 17% of simulated weeks
//! against the 5% promised (see the tests). The exact test keeps the promise.
//!
//! This module is the statistics only: which pairs are watched, and what
//! becomes of a flag, are the callers'.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::domain::case::rules::Calendar;
use crate::domain::report::{Window, benjamini_hochberg};
use crate::domain::times::{DeclarationTimes, ServiceStandards};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct WatchRules {
    /// How long a business is watched at the office it complained about.
    pub days: u32,
    /// The fewest stages (or declarations) each side of a comparison needs.
    pub min_count: u64,
    pub false_discovery_rate: f64,
}

impl Default for WatchRules {
    fn default() -> Self {
        WatchRules {
            days: 90,
            min_count: 20,
            false_discovery_rate: 0.05,
        }
    }
}

/// How a business's declarations were handled at an office over a window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conduct {
    /// Timed stages that have a legal limit, and those kept within it.
    pub stages_with_limit: u64,
    pub stages_within_limit: u64,
    /// Declarations whose lane is known to have been kept or changed, and
    /// those changed by hand.
    pub declarations_with_lane_facts: u64,
    pub lanes_changed_by_hand: u64,
}

impl Conduct {
    /// Counts one declaration's times.
    pub fn add(&mut self, t: &DeclarationTimes, standards: &ServiceStandards, calendar: &Calendar) {
        for s in &t.stages {
            let (Some(from), Some(to), Some(limit)) = (
                s.started_at,
                s.finished_at,
                standards.limit_minutes(s.stage),
            ) else {
                continue;
            };
            self.stages_with_limit += 1;
            if standards.working_minutes(&t.office_path, calendar, from, to) <= limit {
                self.stages_within_limit += 1;
            }
        }
        if let Some(changed) = t.lane_changed_by_hand {
            self.declarations_with_lane_facts += 1;
            if changed {
                self.lanes_changed_by_hand += 1;
            }
        }
    }

    fn within_limit(&self) -> Window {
        Window {
            ratings: self.stages_with_limit,
            satisfied: self.stages_within_limit,
        }
    }

    fn lane_kept(&self) -> Window {
        Window {
            ratings: self.declarations_with_lane_facts,
            satisfied: self.declarations_with_lane_facts - self.lanes_changed_by_hand,
        }
    }
}

/// A business watched at an office, with its handling there before the
/// complaint, since, and the office's other businesses since.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WatchedPair {
    pub tax_code: String,
    pub office: String,
    /// The day the complaint was opened.
    pub since: NaiveDate,
    pub before: Conduct,
    pub after: Conduct,
    pub others_after: Conduct,
}

/// What a comparison found worse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Comparison {
    /// More stages over their limit than the business had before.
    OverLimitAgainstItsPast,
    /// More stages over their limit than the office's other businesses.
    OverLimitAgainstTheOffice,
    /// More lanes changed by hand than before.
    LaneChangesAgainstItsPast,
    /// More lanes changed by hand than for the office's other businesses.
    LaneChangesAgainstTheOffice,
}

impl Comparison {
    pub const ALL: [Comparison; 4] = [
        Comparison::OverLimitAgainstItsPast,
        Comparison::OverLimitAgainstTheOffice,
        Comparison::LaneChangesAgainstItsPast,
        Comparison::LaneChangesAgainstTheOffice,
    ];

    /// The two windows it compares: the pair's since the complaint, and
    /// what it is held against.
    fn windows(self, pair: &WatchedPair) -> (Window, Window) {
        match self {
            Comparison::OverLimitAgainstItsPast => {
                (pair.after.within_limit(), pair.before.within_limit())
            }
            Comparison::OverLimitAgainstTheOffice => {
                (pair.after.within_limit(), pair.others_after.within_limit())
            }
            Comparison::LaneChangesAgainstItsPast => {
                (pair.after.lane_kept(), pair.before.lane_kept())
            }
            Comparison::LaneChangesAgainstTheOffice => {
                (pair.after.lane_kept(), pair.others_after.lane_kept())
            }
        }
    }
}

/// A watched pair the week's tests flagged: the figures, never another
/// business's name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WatchFlag {
    pub tax_code: String,
    pub office: String,
    pub since: NaiveDate,
    /// Each comparison that was a discovery, with its p-value.
    pub found: Vec<(Comparison, f64)>,
    pub before: Conduct,
    pub after: Conduct,
    pub others_after: Conduct,
}

/// What a week's watch tested and found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WatchReport {
    pub pairs_watched: usize,
    /// Comparisons with enough counts on both sides (the BH family).
    pub comparisons_tested: usize,
    pub flags: Vec<WatchFlag>,
}

/// ln(n!) for 0..=n, built once per call of the watch's tests.
struct LnFactorials(Vec<f64>);

impl LnFactorials {
    fn up_to(n: u64) -> LnFactorials {
        let mut v = Vec::with_capacity(n as usize + 1);
        let mut acc = 0.0;
        v.push(0.0);
        for k in 1..=n {
            acc += (k as f64).ln();
            v.push(acc);
        }
        LnFactorials(v)
    }

    fn ln_choose(&self, n: u64, k: u64) -> f64 {
        self.0[n as usize] - self.0[k as usize] - self.0[(n - k) as usize]
    }
}

/// One-sided Fisher's exact test: the probability, were both windows the
/// same process, that the watched window holds at least as many bad outcomes
/// (`ratings - satisfied`) as it does. None when a side has fewer than `min`.
pub fn worse_p_value(watched: Window, baseline: Window, min: u64) -> Option<f64> {
    if watched.ratings < min.max(1) || baseline.ratings < min.max(1) {
        return None;
    }
    let bad_watched = watched.ratings - watched.satisfied;
    let bad = bad_watched + (baseline.ratings - baseline.satisfied);
    let total = watched.ratings + baseline.ratings;
    let f = LnFactorials::up_to(total);
    let denominator = f.ln_choose(total, watched.ratings);
    // P(X >= bad_watched), X hypergeometric: `watched.ratings` drawn from
    // `total` of which `bad` are bad.
    let top = bad.min(watched.ratings);
    let p: f64 = (bad_watched..=top)
        .filter(|&x| bad - x <= baseline.ratings)
        .map(|x| {
            (f.ln_choose(bad, x) + f.ln_choose(total - bad, watched.ratings - x) - denominator)
                .exp()
        })
        .sum();
    Some(p.min(1.0))
}

/// Tests every pair's comparisons that have the counts, and flags the
/// pairs with a discovery at the rules' false discovery rate.
pub fn run_watch(pairs: &[WatchedPair], rules: &WatchRules) -> WatchReport {
    let mut tests: Vec<(usize, Comparison, f64)> = vec![];
    for (i, pair) in pairs.iter().enumerate() {
        for c in Comparison::ALL {
            let (after, baseline) = c.windows(pair);
            if let Some(p) = worse_p_value(after, baseline, rules.min_count) {
                tests.push((i, c, p));
            }
        }
    }
    let p_values: Vec<f64> = tests.iter().map(|(_, _, p)| *p).collect();
    let discovered = benjamini_hochberg(&p_values, rules.false_discovery_rate);
    let mut flags: Vec<WatchFlag> = vec![];
    for ((i, c, p), found) in tests.iter().zip(discovered) {
        if !found {
            continue;
        }
        let pair = &pairs[*i];
        match flags
            .iter_mut()
            .find(|f| f.tax_code == pair.tax_code && f.office == pair.office)
        {
            Some(f) => f.found.push((*c, *p)),
            None => flags.push(WatchFlag {
                tax_code: pair.tax_code.clone(),
                office: pair.office.clone(),
                since: pair.since,
                found: vec![(*c, *p)],
                before: pair.before,
                after: pair.after,
                others_after: pair.others_after,
            }),
        }
    }
    WatchReport {
        pairs_watched: pairs.len(),
        comparisons_tested: tests.len(),
        flags,
    }
}

#[cfg(test)]
mod tests;
