//! What leadership reads: periods over the daily rollups, fair rankings with
//! confidence intervals. Pure arithmetic.

use chrono::{Datelike, Days, Months, NaiveDate};
use serde::Serialize;

/// A reporting period containing a given day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    Week,
    Month,
    Quarter,
    Year,
    SinceLaunch,
}

impl Period {
    pub fn parse(s: &str) -> Option<Period> {
        Some(match s {
            "week" => Period::Week,
            "month" => Period::Month,
            "quarter" => Period::Quarter,
            "year" => Period::Year,
            "since_launch" | "all" => Period::SinceLaunch,
            _ => return None,
        })
    }

    /// The first and last day of the period holding `day` (weeks start on
    /// Monday; since launch starts at `launch`).
    pub fn range(self, day: NaiveDate, launch: NaiveDate) -> (NaiveDate, NaiveDate) {
        let first_of_month = |y: i32, m: u32| NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(day);
        let (from, to) = match self {
            Period::Week => {
                let from = day - Days::new(u64::from(day.weekday().num_days_from_monday()));
                (from, from + Days::new(6))
            }
            Period::Month => {
                let from = first_of_month(day.year(), day.month());
                (from, from + Months::new(1) - Days::new(1))
            }
            Period::Quarter => {
                let from = first_of_month(day.year(), (day.month() - 1) / 3 * 3 + 1);
                (from, from + Months::new(3) - Days::new(1))
            }
            Period::Year => {
                let from = first_of_month(day.year(), 1);
                (from, from + Months::new(12) - Days::new(1))
            }
            Period::SinceLaunch => (launch.min(day), day),
        };
        (from, to)
    }

    /// The period before the one holding `day` (since launch has none).
    pub fn previous(self, day: NaiveDate, launch: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
        if self == Period::SinceLaunch {
            return None;
        }
        let (from, _) = self.range(day, launch);
        Some(self.range(from - Days::new(1), launch))
    }
}

/// The Wilson score interval (95%) of `k` successes in `n` trials.
///
/// Why Wilson: it stays inside [0, 1], behaves at 0 and n successes and
/// with few ratings, and needs no prior the department would have to
/// defend; ordering by its lower bound ranks a unit by the share it has at
/// least, with the evidence it has — one 5-star rating gives [0.21, 1].
pub fn wilson(k: u64, n: u64) -> Option<(f64, f64)> {
    if n == 0 {
        return None;
    }
    const Z: f64 = 1.959_963_984_540_054;
    let (k, n) = (k as f64, n as f64);
    let p = k / n;
    let z2 = Z * Z;
    let centre = p + z2 / (2.0 * n);
    let margin = Z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    let denom = 1.0 + z2 / n;
    Some((
        ((centre - margin) / denom).max(0.0),
        ((centre + margin) / denom).min(1.0),
    ))
}

/// One entry of a ranking.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ranked {
    pub key: String,
    pub name: Option<String>,
    pub ratings: u64,
    pub satisfied: u64,
    pub satisfied_share: Option<f64>,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    /// 1 for the best; None: not enough ratings to rank.
    pub rank: Option<usize>,
    pub enough_ratings: bool,
}

/// Ranks entries by the lower bound of their satisfied share; those with
/// fewer than `min_ratings` are listed after, unranked.
pub fn rank(entries: Vec<(String, Option<String>, u64, u64)>, min_ratings: u64) -> Vec<Ranked> {
    let mut out: Vec<Ranked> = entries
        .into_iter()
        .map(|(key, name, n, k)| {
            let interval = wilson(k, n);
            Ranked {
                key,
                name,
                ratings: n,
                satisfied: k,
                satisfied_share: (n > 0).then(|| k as f64 / n as f64),
                lower: interval.map(|i| i.0),
                upper: interval.map(|i| i.1),
                rank: None,
                enough_ratings: n >= min_ratings.max(1),
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.enough_ratings
            .cmp(&a.enough_ratings)
            .then(b.lower.unwrap_or(-1.0).total_cmp(&a.lower.unwrap_or(-1.0)))
            .then(b.ratings.cmp(&a.ratings))
            .then(a.key.cmp(&b.key))
    });
    for (place, r) in (1..).zip(out.iter_mut().filter(|r| r.enough_ratings)) {
        r.rank = Some(place);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn periods_hold_the_day() {
        let launch = d("2025-03-01");
        let day = d("2026-11-28");
        assert_eq!(
            Period::Week.range(day, launch),
            (d("2026-11-23"), d("2026-11-29"))
        );
        assert_eq!(
            Period::Month.range(day, launch),
            (d("2026-11-01"), d("2026-11-30"))
        );
        assert_eq!(
            Period::Quarter.range(day, launch),
            (d("2026-10-01"), d("2026-12-31"))
        );
        assert_eq!(
            Period::Year.range(day, launch),
            (d("2026-01-01"), d("2026-12-31"))
        );
        assert_eq!(Period::SinceLaunch.range(day, launch), (launch, day));
        assert_eq!(
            Period::Month.previous(day, launch),
            Some((d("2026-10-01"), d("2026-10-31")))
        );
        assert_eq!(
            Period::Quarter.previous(d("2026-02-10"), launch),
            Some((d("2025-10-01"), d("2025-12-31")))
        );
        assert_eq!(
            Period::Month.range(d("2028-02-10"), launch).1,
            d("2028-02-29")
        );
        assert_eq!(Period::SinceLaunch.previous(day, launch), None);
    }

    #[test]
    fn wilson_matches_known_values() {
        let (lo, hi) = wilson(1, 1).unwrap();
        assert!((lo - 0.2065).abs() < 1e-3 && (hi - 1.0).abs() < 1e-9);
        let (lo, hi) = wilson(81, 100).unwrap();
        assert!(
            (lo - 0.7222).abs() < 1e-3 && (hi - 0.8750).abs() < 1e-3,
            "{lo} {hi}"
        );
        assert_eq!(wilson(0, 0), None);
        let (lo, _) = wilson(0, 10).unwrap();
        assert_eq!(lo, 0.0);
    }

    #[test]
    fn one_five_star_rating_never_tops_a_list() {
        let ranked = rank(
            vec![
                ("lucky".into(), None, 1, 1),
                ("steady".into(), None, 400, 360),
                ("good".into(), None, 40, 38),
                ("empty".into(), None, 0, 0),
            ],
            1,
        );
        let order: Vec<&str> = ranked.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(order[0], "steady", "{order:?}");
        assert_eq!(order.last(), Some(&"empty"));
        let ranked = rank(
            vec![
                ("lucky".into(), None, 1, 1),
                ("steady".into(), None, 400, 360),
            ],
            30,
        );
        assert_eq!(ranked[0].rank, Some(1));
        assert_eq!((ranked[1].key.as_str(), ranked[1].rank), ("lucky", None));
        assert!(!ranked[1].enough_ratings);
    }
}

/// The standard normal upper tail P(Z > z), from the complementary error
/// function (Numerical Recipes' erfc, relative error below 1.2e-7).
pub fn normal_upper_tail(z: f64) -> f64 {
    let x = z / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.5 * x.abs());
    let poly = -x * x - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let erfc = t * poly.exp();
    let erfc = if x >= 0.0 { erfc } else { 2.0 - erfc };
    erfc / 2.0
}

/// Satisfied ratings out of all, in one window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Window {
    pub ratings: u64,
    pub satisfied: u64,
}

impl Window {
    pub fn share(&self) -> Option<f64> {
        (self.ratings > 0).then(|| self.satisfied as f64 / self.ratings as f64)
    }
}

/// One-sided two-proportion z-test (pooled): the p-value that the recent
/// satisfied share is this much below the baseline by chance. None when a
/// window has fewer than `min` ratings or the pooled share is 0 or 1.
pub fn drop_p_value(recent: Window, baseline: Window, min: u64) -> Option<f64> {
    if recent.ratings < min.max(1) || baseline.ratings < min.max(1) {
        return None;
    }
    let (n1, n2) = (recent.ratings as f64, baseline.ratings as f64);
    let pooled = (recent.satisfied + baseline.satisfied) as f64 / (n1 + n2);
    if pooled <= 0.0 || pooled >= 1.0 {
        return None;
    }
    let se = (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
    let z = (baseline.share()? - recent.share()?) / se;
    Some(normal_upper_tail(z))
}

/// Benjamini–Hochberg: which of the p-values are discoveries at false
/// discovery rate `q` (controls the share of false alarms among the flags
/// across the many units and officers tested at once).
pub fn benjamini_hochberg(p_values: &[f64], q: f64) -> Vec<bool> {
    let m = p_values.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p_values[a].total_cmp(&p_values[b]));
    let mut cutoff = None;
    for (rank, &i) in order.iter().enumerate() {
        if p_values[i] <= q * (rank + 1) as f64 / m as f64 {
            cutoff = Some(rank);
        }
    }
    let mut out = vec![false; m];
    if let Some(c) = cutoff {
        for &i in &order[..=c] {
            out[i] = true;
        }
    }
    out
}

/// One unit or officer whose satisfied share fell significantly.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Flag {
    /// `unit:CODE` or `officer:ID`.
    pub key: String,
    /// The org unit the figures belong to (an officer's office), for scoping.
    pub owner: String,
    pub recent_ratings: u64,
    pub recent_satisfied: u64,
    pub baseline_ratings: u64,
    pub baseline_satisfied: u64,
    pub p_value: f64,
}

/// A week's early-warning run: what was tested and what was flagged.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct WarningReport {
    /// The Sunday the last 4 weeks end on.
    pub week_end: NaiveDate,
    pub recent_from: NaiveDate,
    pub baseline_from: NaiveDate,
    pub baseline_to: NaiveDate,
    pub min_ratings: u64,
    pub false_discovery_rate: f64,
    /// Units and officers with enough ratings in both windows to be tested.
    pub tested: usize,
    pub flags: Vec<Flag>,
}

#[cfg(test)]
mod warning_tests {
    use super::*;

    #[test]
    fn the_normal_tail_is_right() {
        assert!((normal_upper_tail(0.0) - 0.5).abs() < 1e-7);
        assert!((normal_upper_tail(1.959_964) - 0.025).abs() < 1e-6);
        assert!((normal_upper_tail(-1.644_854) - 0.95).abs() < 1e-6);
        assert!((normal_upper_tail(3.0) - 0.001_349_9).abs() < 1e-6);
    }

    #[test]
    fn a_real_drop_is_significant_and_noise_is_not() {
        let w = |n, k| Window {
            ratings: n,
            satisfied: k,
        };
        // 90% over 12 weeks, 60% over the last 4.
        let p = drop_p_value(w(100, 60), w(300, 270), 20).unwrap();
        assert!(p < 1e-6, "{p}");
        let p = drop_p_value(w(100, 88), w(300, 270), 20).unwrap();
        assert!(p > 0.2, "{p}");
        assert_eq!(drop_p_value(w(10, 2), w(300, 270), 20), None, "too few");
        assert_eq!(drop_p_value(w(30, 30), w(30, 30), 20), None);
    }

    #[test]
    fn benjamini_hochberg_controls_the_many_tests() {
        // Sorted: 0.005 ≤ 0.05·1/6, 0.01 ≤ 0.05·2/6, 0.03 > 0.05·3/6, 0.04 > 0.05·4/6:
        // two discoveries, although 0.03 and 0.04 pass 0.05 on their own.
        let p = [0.01, 0.04, 0.03, 0.005, 0.5, 0.2];
        assert_eq!(
            benjamini_hochberg(&p, 0.05),
            [true, false, false, true, false, false]
        );
        // A step-up: a later p-value under its line takes the earlier ones with it.
        assert_eq!(benjamini_hochberg(&[0.02, 0.024], 0.05), [true, true]);
        assert_eq!(benjamini_hochberg(&[0.2, 0.6], 0.05), [false, false]);
        assert!(benjamini_hochberg(&[], 0.05).is_empty());
    }
}
