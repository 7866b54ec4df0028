//! The retaliation watch, for the inspection unit alone: is a business that
//! complained about an office treated worse there afterwards?
//!
//! A business that opened a complaint or misconduct case about an office is
//! watched at that office for `WatchRules::days`. Each week, every watched
//! pair is compared with its own period before the complaint and with the
//! office's other businesses over the same weeks, like with like: within
//! each kind of declaration (type and lane), so a business filing mostly
//! red-lane declarations is held against red-lane declarations. Four
//! measures: the share of stages over their legal limit, of stages slower
//! than the office's median for the stage and kind, of stages that asked for
//! more documents, and of declarations whose lane was changed by hand.
//!
//! Each comparison is an exact one-sided test: Fisher's, stratified by kind
//! (the sum over kinds of each kind's hypergeometric count), not the early
//! warning's normal approximation. A business's stages over their limit are
//! few (a 5% share of 30 stages is one or two), and there the z-test flagged
//! a business whose handling had not changed in 17% of simulated weeks
//! against the 5% promised (see the tests). Benjamini–Hochberg across every
//! comparison of the week keeps the expected share of false flags at or
//! under `false_discovery_percent`.
//!
//! This module is the statistics only: which pairs are watched, and what
//! becomes of a flag, are the callers'.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::domain::case::rules::Calendar;
use crate::domain::report::{Window, benjamini_hochberg};
use crate::domain::times::{DeclarationTimes, ServiceStandards, bucket, quantile};

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

/// The kind of a declaration the watch compares like with like: its type
/// and lane (`A11:red`).
pub fn kind_of(t: &DeclarationTimes) -> String {
    format!("{}:{}", t.type_code, t.lane.code())
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// What an office's daily row keeps of one kind of its declarations' times,
/// for the watch's baseline: counts, and each stage's working minutes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindCounts {
    #[serde(default, skip_serializing_if = "is_zero")]
    pub stages_with_limit: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub stages_within_limit: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub stages_counting_requests: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub stages_with_requests: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub declarations_with_lane_facts: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub lanes_changed_by_hand: u64,
    /// Working minutes by stage code, bucketed (`domain::times::bucket`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub minutes: BTreeMap<String, BTreeMap<u32, u64>>,
}

impl KindCounts {
    pub fn add(&mut self, o: &KindCounts) {
        self.stages_with_limit += o.stages_with_limit;
        self.stages_within_limit += o.stages_within_limit;
        self.stages_counting_requests += o.stages_counting_requests;
        self.stages_with_requests += o.stages_with_requests;
        self.declarations_with_lane_facts += o.declarations_with_lane_facts;
        self.lanes_changed_by_hand += o.lanes_changed_by_hand;
        for (stage, counts) in &o.minutes {
            let mine = self.minutes.entry(stage.clone()).or_default();
            for (m, n) in counts {
                *mine.entry(*m).or_default() += n;
            }
        }
    }
}

/// The office's median working minutes (bucketed) per kind and stage: a
/// stage above it counts as slow, on every side of a comparison.
pub type Typical = BTreeMap<(String, String), u32>;

/// The medians of an office's counts by kind.
pub fn typical_minutes(office: &BTreeMap<String, KindCounts>) -> Typical {
    let mut out = Typical::new();
    for (kind, counts) in office {
        for (stage, minutes) in &counts.minutes {
            if let Some(m) = quantile(minutes, 0.5) {
                out.insert((kind.clone(), stage.clone()), m);
            }
        }
    }
    out
}

/// How a business's declarations of one kind were handled at an office over
/// a window (or the office's other businesses').
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conduct {
    /// Timed stages that have a legal limit, and those kept within it.
    pub stages_with_limit: u64,
    pub stages_within_limit: u64,
    /// Timed stages the office has a median for, and those slower than it.
    #[serde(default)]
    pub stages_timed: u64,
    #[serde(default)]
    pub stages_slow: u64,
    /// Stages that said how many documents they asked for, and those that
    /// asked at least once.
    #[serde(default)]
    pub stages_counting_requests: u64,
    #[serde(default)]
    pub stages_with_requests: u64,
    /// Declarations whose lane is known to have been kept or changed, and
    /// those changed by hand.
    pub declarations_with_lane_facts: u64,
    pub lanes_changed_by_hand: u64,
}

/// A side of a comparison, kind by kind.
pub type ByKind = BTreeMap<String, Conduct>;

impl Conduct {
    /// Counts one declaration's times into its kind.
    pub fn add(
        by_kind: &mut ByKind,
        t: &DeclarationTimes,
        standards: &ServiceStandards,
        calendar: &Calendar,
        typical: &Typical,
    ) {
        let kind = kind_of(t);
        let c = by_kind.entry(kind.clone()).or_default();
        for s in &t.stages {
            if let Some(n) = s.document_requests {
                c.stages_counting_requests += 1;
                c.stages_with_requests += u64::from(n > 0);
            }
            let (Some(from), Some(to)) = (s.started_at, s.finished_at) else {
                continue;
            };
            let minutes = standards.working_minutes(&t.office_path, calendar, from, to);
            if let Some(limit) = standards.limit_minutes(s.stage) {
                c.stages_with_limit += 1;
                c.stages_within_limit += u64::from(minutes <= limit);
            }
            if let Some(median) = typical.get(&(kind.clone(), s.stage.code().to_owned())) {
                c.stages_timed += 1;
                c.stages_slow += u64::from(bucket(minutes) > *median);
            }
        }
        if let Some(changed) = t.lane_changed_by_hand {
            c.declarations_with_lane_facts += 1;
            c.lanes_changed_by_hand += u64::from(changed);
        }
    }

    /// An office's conduct in one kind from its rows' counts, its stages
    /// judged slow against `typical` as a business's are.
    pub fn of_office(kind: &str, counts: &KindCounts, typical: &Typical) -> Conduct {
        let (mut timed, mut slow) = (0, 0);
        for (stage, minutes) in &counts.minutes {
            let Some(median) = typical.get(&(kind.to_owned(), stage.clone())) else {
                continue;
            };
            for (m, n) in minutes {
                timed += n;
                if m > median {
                    slow += n;
                }
            }
        }
        Conduct {
            stages_with_limit: counts.stages_with_limit,
            stages_within_limit: counts.stages_within_limit,
            stages_timed: timed,
            stages_slow: slow,
            stages_counting_requests: counts.stages_counting_requests,
            stages_with_requests: counts.stages_with_requests,
            declarations_with_lane_facts: counts.declarations_with_lane_facts,
            lanes_changed_by_hand: counts.lanes_changed_by_hand,
        }
    }

    /// This less `part`, kept consistent: the office's rows count by the day
    /// times arrived, a business's own by registration, so they may disagree
    /// by a few; a side never has more of a kind of outcome than outcomes.
    pub fn less(&self, part: &Conduct) -> Conduct {
        let pair = |total: u64, of: u64, part_total: u64, part_of: u64| {
            let t = total.saturating_sub(part_total);
            (t, of.saturating_sub(part_of).min(t))
        };
        let (stages_with_limit, stages_within_limit) = pair(
            self.stages_with_limit,
            self.stages_within_limit,
            part.stages_with_limit,
            part.stages_within_limit,
        );
        let (stages_timed, stages_slow) = pair(
            self.stages_timed,
            self.stages_slow,
            part.stages_timed,
            part.stages_slow,
        );
        let (stages_counting_requests, stages_with_requests) = pair(
            self.stages_counting_requests,
            self.stages_with_requests,
            part.stages_counting_requests,
            part.stages_with_requests,
        );
        let (declarations_with_lane_facts, lanes_changed_by_hand) = pair(
            self.declarations_with_lane_facts,
            self.lanes_changed_by_hand,
            part.declarations_with_lane_facts,
            part.lanes_changed_by_hand,
        );
        Conduct {
            stages_with_limit,
            stages_within_limit,
            stages_timed,
            stages_slow,
            stages_counting_requests,
            stages_with_requests,
            declarations_with_lane_facts,
            lanes_changed_by_hand,
        }
    }

    /// Every kind added up (the figures a flag carries).
    pub fn total(by_kind: &ByKind) -> Conduct {
        by_kind.values().fold(Conduct::default(), |a, c| Conduct {
            stages_with_limit: a.stages_with_limit + c.stages_with_limit,
            stages_within_limit: a.stages_within_limit + c.stages_within_limit,
            stages_timed: a.stages_timed + c.stages_timed,
            stages_slow: a.stages_slow + c.stages_slow,
            stages_counting_requests: a.stages_counting_requests + c.stages_counting_requests,
            stages_with_requests: a.stages_with_requests + c.stages_with_requests,
            declarations_with_lane_facts: a.declarations_with_lane_facts
                + c.declarations_with_lane_facts,
            lanes_changed_by_hand: a.lanes_changed_by_hand + c.lanes_changed_by_hand,
        })
    }

    /// A measure as outcomes and good outcomes (`ratings`, `satisfied`).
    fn window(&self, measure: Measure) -> Window {
        let (n, bad) = match measure {
            Measure::OverLimit => (
                self.stages_with_limit,
                self.stages_with_limit
                    .saturating_sub(self.stages_within_limit),
            ),
            Measure::SlowStages => (self.stages_timed, self.stages_slow),
            Measure::DocumentRequests => (self.stages_counting_requests, self.stages_with_requests),
            Measure::LaneChanges => (
                self.declarations_with_lane_facts,
                self.lanes_changed_by_hand,
            ),
        };
        Window {
            ratings: n,
            satisfied: n.saturating_sub(bad),
        }
    }
}

/// A business watched at an office, kind by kind: its handling there before
/// the complaint, since, and the office's other businesses since.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WatchedPair {
    pub tax_code: String,
    pub office: String,
    /// The day the complaint was opened.
    pub since: NaiveDate,
    pub before: ByKind,
    pub after: ByKind,
    pub others_after: ByKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Measure {
    OverLimit,
    SlowStages,
    DocumentRequests,
    LaneChanges,
}

/// What a comparison found worse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Comparison {
    /// More stages over their limit than the business had before.
    OverLimitAgainstItsPast,
    /// More stages over their limit than the office's other businesses.
    OverLimitAgainstTheOffice,
    /// More stages slower than the office's median than before.
    SlowStagesAgainstItsPast,
    /// More stages slower than the office's median than its other businesses.
    SlowStagesAgainstTheOffice,
    /// More stages asking for more documents than before.
    DocumentRequestsAgainstItsPast,
    /// More stages asking for more documents than for the other businesses.
    DocumentRequestsAgainstTheOffice,
    /// More lanes changed by hand than before.
    LaneChangesAgainstItsPast,
    /// More lanes changed by hand than for the office's other businesses.
    LaneChangesAgainstTheOffice,
}

impl Comparison {
    pub const ALL: [Comparison; 8] = [
        Comparison::OverLimitAgainstItsPast,
        Comparison::OverLimitAgainstTheOffice,
        Comparison::SlowStagesAgainstItsPast,
        Comparison::SlowStagesAgainstTheOffice,
        Comparison::DocumentRequestsAgainstItsPast,
        Comparison::DocumentRequestsAgainstTheOffice,
        Comparison::LaneChangesAgainstItsPast,
        Comparison::LaneChangesAgainstTheOffice,
    ];

    /// What it measures, and whether against the office (else its past).
    fn parts(self) -> (Measure, bool) {
        match self {
            Comparison::OverLimitAgainstItsPast => (Measure::OverLimit, false),
            Comparison::OverLimitAgainstTheOffice => (Measure::OverLimit, true),
            Comparison::SlowStagesAgainstItsPast => (Measure::SlowStages, false),
            Comparison::SlowStagesAgainstTheOffice => (Measure::SlowStages, true),
            Comparison::DocumentRequestsAgainstItsPast => (Measure::DocumentRequests, false),
            Comparison::DocumentRequestsAgainstTheOffice => (Measure::DocumentRequests, true),
            Comparison::LaneChangesAgainstItsPast => (Measure::LaneChanges, false),
            Comparison::LaneChangesAgainstTheOffice => (Measure::LaneChanges, true),
        }
    }

    /// Kind by kind, the pair's window since the complaint and the one it
    /// is held against (kinds on one side only tell nothing, and are left).
    fn windows(self, pair: &WatchedPair) -> Vec<(Window, Window)> {
        let (measure, against_office) = self.parts();
        let baseline = if against_office {
            &pair.others_after
        } else {
            &pair.before
        };
        pair.after
            .iter()
            .filter_map(|(kind, after)| {
                let b = baseline.get(kind)?;
                Some((after.window(measure), b.window(measure)))
            })
            .collect()
    }
}

/// A watched pair the week's tests flagged: the figures, every kind added
/// up, never another business's name.
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

/// ln(n!) for 0..=n, built once per test.
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
    worse_p_value_by_kind(&[(watched, baseline)], min)
}

/// The same test stratified by kind: within each kind the watched window's
/// bad count is hypergeometric were both sides the same process; the
/// p-value is that of their sum (kinds convolved exactly). Kinds with an
/// empty side are left out; None when what is left has fewer than `min`
/// outcomes on a side.
pub fn worse_p_value_by_kind(kinds: &[(Window, Window)], min: u64) -> Option<f64> {
    // Counts from different sources (rows less a business's own) may not
    // agree to the unit: a side never has more good outcomes than outcomes.
    let bad = |w: &Window| w.ratings.saturating_sub(w.satisfied);
    let kinds: Vec<&(Window, Window)> = kinds
        .iter()
        .filter(|(w, b)| w.ratings > 0 && b.ratings > 0)
        .collect();
    let watched: u64 = kinds.iter().map(|(w, _)| w.ratings).sum();
    let baseline: u64 = kinds.iter().map(|(_, b)| b.ratings).sum();
    if watched < min.max(1) || baseline < min.max(1) {
        return None;
    }
    let observed: u64 = kinds.iter().map(|(w, _)| bad(w)).sum();
    let largest = kinds
        .iter()
        .map(|(w, b)| w.ratings + b.ratings)
        .max()
        .unwrap_or(0);
    let f = LnFactorials::up_to(largest);
    // The distribution of the summed bad count, from `low` upwards.
    let (mut low, mut dist) = (0u64, vec![1.0f64]);
    for (w, b) in kinds {
        let total = w.ratings + b.ratings;
        let all_bad = bad(w) + bad(b);
        let denominator = f.ln_choose(total, w.ratings);
        // X: `w.ratings` drawn from `total` of which `all_bad` are bad.
        let from = w.ratings.saturating_sub(total - all_bad);
        let to = all_bad.min(w.ratings);
        let pmf: Vec<f64> = (from..=to)
            .map(|x| {
                (f.ln_choose(all_bad, x) + f.ln_choose(total - all_bad, w.ratings - x)
                    - denominator)
                    .exp()
            })
            .collect();
        let mut next = vec![0.0; dist.len() + pmf.len() - 1];
        for (i, a) in dist.iter().enumerate() {
            for (j, p) in pmf.iter().enumerate() {
                next[i + j] += a * p;
            }
        }
        low += from;
        dist = next;
    }
    let p: f64 = dist
        .iter()
        .enumerate()
        .filter(|(i, _)| low + *i as u64 >= observed)
        .map(|(_, p)| p)
        .sum();
    Some(p.min(1.0))
}

/// Tests every pair's comparisons that have the counts, and flags the
/// pairs with a discovery at the rules' false discovery rate.
pub fn run_watch(pairs: &[WatchedPair], rules: &WatchRules) -> WatchReport {
    let mut tests: Vec<(usize, Comparison, f64)> = vec![];
    for (i, pair) in pairs.iter().enumerate() {
        for c in Comparison::ALL {
            if let Some(p) = worse_p_value_by_kind(&c.windows(pair), rules.min_count) {
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
                before: Conduct::total(&pair.before),
                after: Conduct::total(&pair.after),
                others_after: Conduct::total(&pair.others_after),
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
