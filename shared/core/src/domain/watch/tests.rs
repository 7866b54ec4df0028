use super::*;
use crate::domain::case::rules::CaseRules;
use crate::domain::declaration::Stage;
use crate::domain::report::Window;
use crate::domain::submission::tests::sample_form;
use crate::domain::times::{ReportedStage, ReportedTimes};

/// A small deterministic generator (the same numbers on every machine).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 11
    }
    fn uniform(&mut self) -> f64 {
        self.next() as f64 / (1u64 << 53) as f64
    }
    fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo)
    }
    /// Of `n` trials, how many succeed with probability `p`.
    fn binomial(&mut self, n: u64, p: f64) -> u64 {
        (0..n).filter(|_| self.uniform() < p).count() as u64
    }
}

/// Conduct drawn from a true over-limit share and lane-change share.
fn conduct(rng: &mut Lcg, stages: u64, over: f64, lane_changed: f64) -> Conduct {
    let declarations = stages / 2;
    let changed = rng.binomial(declarations, lane_changed);
    Conduct {
        stages_with_limit: stages,
        stages_within_limit: stages - rng.binomial(stages, over),
        declarations_with_lane_facts: declarations,
        lanes_changed_by_hand: changed,
    }
}

/// A week's watched pairs where nothing changed after the complaint, and
/// (if `slowed`) one more whose stages went over their limit far more often.
fn week(rng: &mut Lcg, pairs: usize, slowed: bool) -> Vec<WatchedPair> {
    let since = NaiveDate::from_ymd_opt(2026, 9, 1).unwrap();
    let mut out: Vec<WatchedPair> = (0..pairs)
        .map(|i| {
            let over = 0.05 + 0.3 * rng.uniform();
            let lane = 0.01 + 0.09 * rng.uniform();
            let (before, after, others) = (
                rng.between(40, 120),
                rng.between(20, 80),
                rng.between(300, 1500),
            );
            WatchedPair {
                tax_code: format!("0100{i:06}"),
                office: "03CC".into(),
                since,
                before: conduct(rng, before, over, lane),
                after: conduct(rng, after, over, lane),
                others_after: conduct(rng, others, over, lane),
            }
        })
        .collect();
    if slowed {
        out.push(WatchedPair {
            tax_code: "0999999999".into(),
            office: "03CC".into(),
            since,
            before: conduct(rng, 80, 0.10, 0.03),
            after: conduct(rng, 40, 0.45, 0.03),
            others_after: conduct(rng, 800, 0.10, 0.03),
        });
    }
    out
}

/// Over 400 seeded weeks of 50 watched businesses whose handling did not
/// change, the share of weeks with any flag (every flag false) stays at or
/// under the 5% the procedure promises; a business whose stages slowed after
/// its complaint is flagged in nearly every week, and nothing else with it.
#[test]
fn the_watch_flags_a_slowed_complainant_and_rarely_anyone_else() {
    let rules = WatchRules::default();
    let runs = 400;
    let mut rng = Lcg(20261207);
    let (mut weeks_with_a_false_flag, mut false_flags, mut tested) = (0, 0, 0);
    for _ in 0..runs {
        let report = run_watch(&week(&mut rng, 50, false), &rules);
        tested += report.comparisons_tested;
        false_flags += report.flags.len();
        if !report.flags.is_empty() {
            weeks_with_a_false_flag += 1;
        }
    }
    let share = f64::from(weeks_with_a_false_flag) / f64::from(runs);
    println!(
        "retaliation watch, nothing changed: {weeks_with_a_false_flag} of {runs} weeks with a flag \
         ({:.1}%), {false_flags} false flags over {tested} comparisons",
        share * 100.0
    );
    assert!(
        tested > runs as usize * 50 * 3,
        "most comparisons have the counts: {tested}"
    );
    assert!(
        share <= 0.05,
        "false flags in {:.1}% of weeks",
        share * 100.0
    );

    let (mut caught, mut others_flagged) = (0, 0);
    for _ in 0..runs {
        let report = run_watch(&week(&mut rng, 50, true), &rules);
        let slowed = report.flags.iter().find(|f| f.tax_code == "0999999999");
        if let Some(f) = slowed {
            caught += 1;
            assert!(f.found.iter().any(|(c, _)| matches!(
                c,
                Comparison::OverLimitAgainstItsPast | Comparison::OverLimitAgainstTheOffice
            )));
            assert_eq!(
                f.after.stages_with_limit, 40,
                "the figures travel with the flag"
            );
        }
        others_flagged += report.flags.len() - usize::from(slowed.is_some());
    }
    println!(
        "retaliation watch, one slowed complainant: caught in {caught} of {runs} weeks, {others_flagged} other flags"
    );
    assert!(
        caught >= runs * 9 / 10,
        "caught in {caught} of {runs} weeks"
    );
}

/// Fisher's exact test against a table worked by hand: 3 bad of 4 watched,
/// 1 bad of 4 baseline: P(X >= 3) = (C(4,3)C(4,1) + C(4,4)C(4,0)) / C(8,4) = 17/70.
#[test]
fn fishers_exact_test_matches_a_table_worked_by_hand() {
    let w = |n, good| Window {
        ratings: n,
        satisfied: good,
    };
    let p = worse_p_value(w(4, 1), w(4, 3), 1).unwrap();
    assert!((p - 17.0 / 70.0).abs() < 1e-12, "{p}");
    assert!(
        (worse_p_value(w(4, 4), w(4, 3), 1).unwrap() - 1.0).abs() < 1e-12,
        "none bad"
    );
    assert!(worse_p_value(w(3, 0), w(40, 40), 4).is_none(), "too few");
    // Counts from two sources that disagree by a few: no overflow, the side
    // read as all good.
    let odd = worse_p_value(w(10, 2), w(20, 23), 1).unwrap();
    assert!((0.0..=1.0).contains(&odd));
}

#[test]
fn too_few_stages_are_not_tested() {
    let few = Conduct {
        stages_with_limit: 10,
        stages_within_limit: 0,
        declarations_with_lane_facts: 5,
        lanes_changed_by_hand: 5,
    };
    let many = Conduct {
        stages_with_limit: 500,
        stages_within_limit: 500,
        declarations_with_lane_facts: 250,
        lanes_changed_by_hand: 0,
    };
    let pair = WatchedPair {
        tax_code: "0100000001".into(),
        office: "03CC".into(),
        since: NaiveDate::from_ymd_opt(2026, 9, 1).unwrap(),
        before: many,
        after: few,
        others_after: many,
    };
    let report = run_watch(&[pair], &WatchRules::default());
    assert_eq!(
        report.comparisons_tested, 0,
        "ten stages, however bad, test nothing"
    );
    assert!(report.flags.is_empty());
}

#[test]
fn conduct_counts_stages_against_their_limits_and_lanes_changed() {
    let form = sample_form();
    let registered = form.declaration.registered_at;
    let mut times = DeclarationTimes::of(&form, registered + chrono::Duration::days(1));
    let stage = |stage, minutes: i64| ReportedStage {
        stage,
        team: "03CC01".into(),
        officer: Some(format!("{stage:?}")),
        started_at: Some(registered + chrono::Duration::minutes(30)),
        finished_at: Some(registered + chrono::Duration::minutes(30 + minutes)),
        document_requests: None,
    };
    assert!(times.merge(
        &ReportedTimes {
            released_at: None,
            lane_changed_by_hand: Some(true),
            stages: vec![
                stage(Stage::DocumentCheck, 60),
                stage(Stage::PhysicalInspection, 60 * 24 * 4),
                stage(Stage::Clearance, 600),
            ],
        },
        registered + chrono::Duration::days(1),
    ));
    let mut c = Conduct::default();
    c.add(
        &times,
        &ServiceStandards::default(),
        &CaseRules::default().calendar(),
    );
    assert_eq!(
        c,
        Conduct {
            stages_with_limit: 2,
            stages_within_limit: 1,
            declarations_with_lane_facts: 1,
            lanes_changed_by_hand: 1,
        },
        "clearance has no limit; the inspection took days"
    );
}
