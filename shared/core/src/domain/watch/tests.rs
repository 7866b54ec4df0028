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

/// True shares of a business's (or an office's) handling.
#[derive(Clone, Copy)]
struct Shares {
    over: f64,
    slow: f64,
    documents: f64,
    lane_changed: f64,
}

/// Conduct drawn from true shares, over `stages` stages.
fn conduct(rng: &mut Lcg, stages: u64, s: Shares) -> Conduct {
    let declarations = stages / 2;
    Conduct {
        stages_with_limit: stages,
        stages_within_limit: stages - rng.binomial(stages, s.over),
        stages_timed: stages,
        stages_slow: rng.binomial(stages, s.slow),
        stages_counting_requests: stages,
        stages_with_requests: rng.binomial(stages, s.documents),
        declarations_with_lane_facts: declarations,
        lanes_changed_by_hand: rng.binomial(declarations, s.lane_changed),
    }
}

fn one_kind(c: Conduct) -> ByKind {
    ByKind::from([("A11:yellow".to_owned(), c)])
}

/// A week's watched pairs where nothing changed after the complaint, and
/// (if `slowed`) one more whose stages went over their limit far more often.
fn week(rng: &mut Lcg, pairs: usize, slowed: bool) -> Vec<WatchedPair> {
    let since = NaiveDate::from_ymd_opt(2026, 9, 1).unwrap();
    let mut out: Vec<WatchedPair> = (0..pairs)
        .map(|i| {
            let s = Shares {
                over: 0.05 + 0.3 * rng.uniform(),
                slow: 0.3 + 0.3 * rng.uniform(),
                documents: 0.05 + 0.2 * rng.uniform(),
                lane_changed: 0.01 + 0.09 * rng.uniform(),
            };
            let (before, after, others) = (
                rng.between(40, 120),
                rng.between(20, 80),
                rng.between(300, 1500),
            );
            WatchedPair {
                tax_code: format!("0100{i:06}"),
                office: "03CC".into(),
                since,
                before: one_kind(conduct(rng, before, s)),
                after: one_kind(conduct(rng, after, s)),
                others_after: one_kind(conduct(rng, others, s)),
            }
        })
        .collect();
    if slowed {
        let usual = Shares {
            over: 0.10,
            slow: 0.45,
            documents: 0.10,
            lane_changed: 0.03,
        };
        let worse = Shares {
            over: 0.45,
            ..usual
        };
        out.push(WatchedPair {
            tax_code: "0999999999".into(),
            office: "03CC".into(),
            since,
            before: one_kind(conduct(rng, 80, usual)),
            after: one_kind(conduct(rng, 40, worse)),
            others_after: one_kind(conduct(rng, 800, usual)),
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
        tested > runs as usize * 50 * 6,
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
        stages_timed: 10,
        stages_slow: 10,
        stages_counting_requests: 10,
        stages_with_requests: 10,
        declarations_with_lane_facts: 5,
        lanes_changed_by_hand: 5,
    };
    let many = Conduct {
        stages_with_limit: 500,
        stages_within_limit: 500,
        stages_timed: 500,
        stages_slow: 0,
        stages_counting_requests: 500,
        stages_with_requests: 0,
        declarations_with_lane_facts: 250,
        lanes_changed_by_hand: 0,
    };
    let pair = WatchedPair {
        tax_code: "0100000001".into(),
        office: "03CC".into(),
        since: NaiveDate::from_ymd_opt(2026, 9, 1).unwrap(),
        before: one_kind(many),
        after: one_kind(few),
        others_after: one_kind(many),
    };
    let report = run_watch(&[pair], &WatchRules::default());
    assert_eq!(
        report.comparisons_tested, 0,
        "ten stages, however bad, test nothing"
    );
    assert!(report.flags.is_empty());
}

/// The stratified test against the sum over every table worked from
/// binomial coefficients: two kinds, 2 + 3 bad watched outcomes observed.
#[test]
fn the_test_by_kind_sums_each_kinds_hypergeometric_count() {
    let w = |n, good| Window {
        ratings: n,
        satisfied: good,
    };
    fn choose(n: u64, k: u64) -> f64 {
        if k > n {
            return 0.0;
        }
        (0..k).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64)
    }
    // Kind 1: 4 watched (2 bad), 6 baseline (1 bad): 3 bad of 10.
    // Kind 2: 5 watched (3 bad), 5 baseline (2 bad): 5 bad of 10.
    let hyper = |total: u64, bad: u64, drawn: u64, x: u64| {
        choose(bad, x) * choose(total - bad, drawn - x) / choose(total, drawn)
    };
    let mut want = 0.0;
    for x1 in 0..=3 {
        for x2 in 0..=5 {
            if x1 + x2 >= 5 {
                want += hyper(10, 3, 4, x1) * hyper(10, 5, 5, x2);
            }
        }
    }
    let got = worse_p_value_by_kind(&[(w(4, 2), w(6, 5)), (w(5, 2), w(5, 3))], 1).unwrap();
    assert!((got - want).abs() < 1e-12, "{got} vs {want}");
    // One kind is Fisher's test; a kind with an empty side tells nothing.
    let alone = worse_p_value(w(4, 2), w(6, 5), 1).unwrap();
    let with_empty = worse_p_value_by_kind(&[(w(4, 2), w(6, 5)), (w(9, 0), w(0, 0))], 1).unwrap();
    assert!((alone - with_empty).abs() < 1e-12);
}

/// Like with like: a business filing red-lane declarations, which the
/// office inspects longer for everyone, is held against the office's
/// red-lane declarations and not flagged; held against the office's whole
/// mix, it would be in nearly every week.
#[test]
fn a_business_is_held_against_declarations_of_its_kind() {
    let rules = WatchRules::default();
    let mut rng = Lcg(7);
    let green = Shares {
        over: 0.05,
        slow: 0.2,
        documents: 0.05,
        lane_changed: 0.01,
    };
    let red = Shares {
        over: 0.40,
        slow: 0.8,
        documents: 0.30,
        lane_changed: 0.10,
    };
    let runs = 200;
    let (mut flagged_by_kind, mut flagged_pooled) = (0, 0);
    for _ in 0..runs {
        let before = conduct(&mut rng, 80, red);
        let after = conduct(&mut rng, 60, red);
        let others_red = conduct(&mut rng, 150, red);
        let others_green = conduct(&mut rng, 1500, green);
        let pair = WatchedPair {
            tax_code: "0100000002".into(),
            office: "03CC".into(),
            since: NaiveDate::from_ymd_opt(2026, 9, 1).unwrap(),
            before: ByKind::from([("A11:red".to_owned(), before)]),
            after: ByKind::from([("A11:red".to_owned(), after)]),
            others_after: ByKind::from([
                ("A11:red".to_owned(), others_red),
                ("A11:green".to_owned(), others_green),
            ]),
        };
        flagged_by_kind += usize::from(
            !run_watch(std::slice::from_ref(&pair), &rules)
                .flags
                .is_empty(),
        );
        let pooled = WatchedPair {
            after: one_kind(after),
            before: one_kind(before),
            others_after: one_kind(Conduct::total(&pair.others_after)),
            ..pair
        };
        flagged_pooled += usize::from(!run_watch(&[pooled], &rules).flags.is_empty());
    }
    println!(
        "red-lane filer, nothing changed: flagged in {flagged_by_kind} of {runs} weeks by kind, \
         {flagged_pooled} against the office's whole mix"
    );
    assert!(flagged_by_kind <= runs / 20, "{flagged_by_kind}");
    assert!(flagged_pooled >= runs * 9 / 10, "{flagged_pooled}");
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
    let kind = kind_of(&times);
    // The office's median document check takes 45 minutes; its clearance 700.
    let typical = Typical::from([
        ((kind.clone(), "document_check".to_owned()), 45),
        ((kind.clone(), "clearance".to_owned()), 700),
    ]);
    let mut by_kind = ByKind::new();
    Conduct::add(
        &mut by_kind,
        &times,
        &ServiceStandards::default(),
        &CaseRules::default().calendar(),
        &typical,
    );
    assert_eq!(
        by_kind,
        ByKind::from([(
            kind,
            Conduct {
                stages_with_limit: 2,
                stages_within_limit: 1,
                stages_timed: 2,
                stages_slow: 1,
                stages_counting_requests: 0,
                stages_with_requests: 0,
                declarations_with_lane_facts: 1,
                lanes_changed_by_hand: 1,
            }
        )]),
        "clearance has no limit; the inspection took days and has no office median; \
         the document check took longer than the office's median, clearance did not"
    );
}
