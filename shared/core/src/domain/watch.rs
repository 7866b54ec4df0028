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
//! flags at or under `false_discovery_percent`.
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatchRules {
    /// How long a business is watched at the office it complained about.
    pub days: u32,
    /// The fewest stages (or declarations) each side of a comparison needs.
    pub min_count: u64,
    /// The share of false flags the week's flags may hold, in per cent.
    pub false_discovery_percent: u32,
}

impl Default for WatchRules {
    fn default() -> Self {
        WatchRules {
            days: 90,
            min_count: 20,
            false_discovery_percent: 5,
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
            satisfied: self
                .declarations_with_lane_facts
                .saturating_sub(self.lanes_changed_by_hand),
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
    // Counts from different sources (rows less a business's own) may not
    // agree to the unit: a side never has more good outcomes than outcomes.
    let bad_watched = watched.ratings.saturating_sub(watched.satisfied);
    let bad = bad_watched + baseline.ratings.saturating_sub(baseline.satisfied);
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
    let q = f64::from(rules.false_discovery_percent) / 100.0;
    let discovered = benjamini_hochberg(&p_values, q);
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

/// A flag as the inspection unit handles it: its own kind of case, never in
/// a unit's queue, listing, export, email, event or figure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WatchCase {
    pub id: String,
    /// The last day of the week whose tests raised it.
    pub raised_on: NaiveDate,
    pub flag: WatchFlag,
    pub status: WatchStatus,
    #[serde(default)]
    pub trail: Vec<WatchStep>,
    /// Bumped on each change: stores write conditionally on the one read.
    pub version: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WatchStatus {
    Open,
    Verifying,
    Resolved,
    Dismissed,
}

/// One step of a watch case: who did what, with their note.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WatchStep {
    pub at: chrono::DateTime<chrono::Utc>,
    pub by: String,
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WatchActionError {
    #[error("the actions are verify, resolve and dismiss")]
    Unknown,
    #[error("a {0} case takes no more actions")]
    Closed(&'static str),
    #[error("resolving or dismissing needs a note of 1 to 2,000 characters")]
    NoteNeeded,
}

/// The most watch cases one listing holds (a week raises a handful).
pub const MAX_WATCH_CASES: u32 = 500;

impl WatchCase {
    /// The case of `flag` raised in the week ending `raised_on`; its id is
    /// the same for the same week and pair, so a rerun raises nothing new.
    pub fn raise(
        flag: WatchFlag,
        raised_on: NaiveDate,
        now: chrono::DateTime<chrono::Utc>,
    ) -> WatchCase {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(format!("{raised_on}|{}|{}", flag.office, flag.tax_code));
        let id = format!("w{}", &crate::auth::b64(&digest)[..16]).replace(['-', '_'], "x");
        WatchCase {
            id,
            raised_on,
            flag,
            status: WatchStatus::Open,
            trail: vec![WatchStep {
                at: now,
                by: "csq".into(),
                action: "raised".into(),
                note: None,
            }],
            version: 1,
        }
    }

    /// The existing case actions, on this kind: verify, then resolve or dismiss.
    pub fn act(
        &mut self,
        action: &str,
        by: &str,
        note: Option<&str>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), WatchActionError> {
        let note = note.map(str::trim).filter(|n| !n.is_empty());
        if note.is_some_and(|n| n.chars().count() > 2_000) {
            return Err(WatchActionError::NoteNeeded);
        }
        let next = match (self.status, action) {
            (WatchStatus::Resolved, _) => return Err(WatchActionError::Closed("resolved")),
            (WatchStatus::Dismissed, _) => return Err(WatchActionError::Closed("dismissed")),
            (_, "verify") => WatchStatus::Verifying,
            (_, "resolve" | "dismiss") if note.is_none() => {
                return Err(WatchActionError::NoteNeeded);
            }
            (_, "resolve") => WatchStatus::Resolved,
            (_, "dismiss") => WatchStatus::Dismissed,
            _ => return Err(WatchActionError::Unknown),
        };
        self.status = next;
        self.trail.push(WatchStep {
            at: now,
            by: by.to_owned(),
            action: action.to_owned(),
            note: note.map(str::to_owned),
        });
        self.version += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
