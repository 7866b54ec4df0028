//! "Numbers agree": random ratings and cases over several months, written
//! through the stores, rolled up by the nightly steps, then every figure
//! leadership reads (monthly reports with cohorts and reasons, rankings, the
//! public report) compared with figures computed here from the raw records,
//! independently of the roll-up code.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Days, Duration, NaiveDate, Utc};
use csq_core::app::report::{RankingRequest, ReportRequest};
use csq_core::app::{Directory, Figures, Housekeeping};
use csq_core::auth::scope::Scope;
use csq_core::auth::staff::{StaffClaims, StaffRole};
use csq_core::domain::case::rules::{CaseRules, StoredCaseRules};
use csq_core::domain::case::{Case, CaseAction, CaseEvent, CaseKind, CaseStatus};
use csq_core::domain::complaint::{AssigneeRole, Assignment, Complaint};
use csq_core::domain::declaration::FormRequest;
use csq_core::domain::declaration::Stage;
use csq_core::domain::form::{Channel, Form, RatingRecord, SubjectRating, Submission};
use csq_core::domain::rating_scale::{Level, Reason};
use csq_core::domain::time::{vn_day, vn_day_start};
use csq_core::domain::times::{DeclarationTimes, OfficeHours, ReportedStage, ReportedTimes};
use csq_core::ports::Store;
use csq_core::ports::SubmissionWrite;
use serde_json::json;

/// A small deterministic generator (no dependency, same numbers everywhere).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[derive(Default, Debug, Clone, PartialEq)]
struct Cell {
    levels: [u64; 5],
    reasons: BTreeMap<String, u64>,
    issued: u64,
    rated_of_issued: u64,
    minutes: Vec<u32>,
    complaints_opened: u64,
    complaints_closed: u64,
    handling_hours: Vec<u32>,
    /// Per channel: forms submitted and their ratings by level.
    channels: BTreeMap<String, (u64, [u64; 5])>,
    /// Document checks whose times arrived in the month: working minutes
    /// (the offices work around the clock here, so clock minutes), document
    /// requests, and releases' minutes from registration.
    stage_minutes: Vec<u32>,
    document_requests: u64,
    declarations_counting_requests: u64,
    release_minutes: Vec<u32>,
}

/// The q-quantile of raw values as the figures define it: the lowest value
/// with at least q of them at or below it.
fn raw_quantile(v: &mut [u32], q: f64) -> Option<u32> {
    v.sort_unstable();
    let target = ((v.len() as f64) * q).ceil().max(1.0) as usize;
    v.get(target - 1).copied()
}

/// A figure's hours against the raw records' quantile: exact up to two
/// hours, at most 2% under it above (never over).
fn within_bound(got: Option<f64>, raw: Option<u32>, what: &str) {
    match (got, raw) {
        (None, None) => {}
        (Some(h), Some(m)) => {
            let minutes = h * 60.0;
            let m = f64::from(m);
            if m <= 120.0 {
                assert!((minutes - m).abs() < 1e-9, "{what}: {minutes} != {m}");
            } else {
                assert!(
                    minutes <= m + 1e-9 && minutes >= m / 1.02 - 1e-9,
                    "{what}: {minutes} not within 2% under {m}"
                );
            }
        }
        _ => panic!("{what}: {got:?} vs {raw:?}"),
    }
}

fn lower_median(v: &mut [u32]) -> Option<u32> {
    v.sort_unstable();
    (!v.is_empty()).then(|| v[v.len().div_ceil(2) - 1])
}

fn month_of(d: NaiveDate) -> String {
    format!("{:04}-{:02}", d.year(), d.month())
}

fn wilson_lower(k: u64, n: u64) -> f64 {
    let z = 1.959_963_984_540_054_f64;
    let (k, n) = (k as f64, n as f64);
    let p = k / n;
    ((p + z * z / (2.0 * n)) - z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt())
        / (1.0 + z * z / n)
}

/// What was generated, per (month, unit code) — `root` for the whole tree.
pub struct Expected {
    cells: BTreeMap<(String, String), Cell>,
    offices: Vec<String>,
    root: String,
    months: Vec<NaiveDate>,
    pub ratings: usize,
    pub cases: usize,
}

fn request(number: usize, office: &str, officer: usize) -> FormRequest {
    FormRequest::parse(&json!({
        "declaration": {"number": format!("{:012}", 700_000_000_000usize + number), "type_code": "A11",
                        "registered_at": "2026-01-05T09:30:00+07:00", "customs_office": office, "lane": "yellow"},
        "business": {"tax_code": "0200123456", "name": "Công ty Kiểm tra Số liệu", "email": "so-lieu@demo.example.vn"},
        "handling": [{"stage": "document_check", "team": format!("{office}01"),
                      "officer": {"id": format!("N{office}{officer}"), "name": "Công chức"}}]
    }))
    .expect("valid request")
}

/// What to generate: `forms` random forms at `offices` under `root`, over
/// the `days` before `end`, drawn from `seed`.
pub struct Scenario<'a> {
    pub offices: &'a [&'a str],
    pub root: &'a str,
    pub forms: usize,
    pub days: i64,
    pub end: DateTime<Utc>,
    pub seed: u64,
}

/// Writes the scenario's random forms, rates about 60% of them (the office
/// subject), opens a case for each rating of 1–2 and closes about two thirds
/// of those; then runs the nightly roll-ups.
pub async fn generate(
    store: &dyn Store,
    housekeeping: &Housekeeping,
    scenario: Scenario<'_>,
) -> Expected {
    let Scenario {
        offices,
        root,
        forms,
        days,
        end,
        seed,
    } = scenario;
    let mut rng = Lcg(seed);
    let mut cells: BTreeMap<(String, String), Cell> = BTreeMap::new();
    let mut add = |month: &str, office: &str, f: &mut dyn FnMut(&mut Cell)| {
        for unit in [office, root] {
            f(cells
                .entry((month.to_owned(), unit.to_owned()))
                .or_default());
        }
    };
    // Every office works around the clock here: a stage's working minutes
    // are its clock minutes, computed below without the standards' code.
    let saved = store.case_rules().await.expect("case rules");
    let mut rules = StoredCaseRules::in_force(saved.clone());
    rules.rules.service_standards.office_hours = vec![OfficeHours {
        office: None,
        around_the_clock: true,
        periods: vec![],
    }];
    rules.version = saved.map_or(1, |s| s.version + 1);
    rules.saved_by = "numbers".into();
    store.save_case_rules(&rules).await.expect("save rules");
    let start = end - Duration::days(days);
    let (mut ratings, mut cases) = (0, 0);
    for n in 0..forms {
        let office = offices[rng.below(offices.len() as u64) as usize];
        let issued = start + Duration::minutes(rng.below(days as u64 * 24 * 60) as i64);
        let form = Form::new(
            format!("nf{seed:x}-{n:06}"),
            request(n, office, rng.below(3) as usize),
            issued,
            issued + Duration::days(30),
            issued + Duration::days(3650),
            vec![],
        );
        store.insert_form(&form).await.expect("insert form");
        let im = month_of(vn_day(issued));
        add(&im, office, &mut |c| c.issued += 1);
        // Two in three declarations send their document check's times with
        // the form; one in three of those asks for documents, and half say
        // when the goods were released.
        if rng.below(3) < 2 {
            let began = issued - Duration::minutes(rng.below(600) as i64);
            let minutes = 1 + rng.below(400) as u32;
            let requests = (rng.below(3) == 0).then(|| rng.below(4) as u32);
            let released = (rng.below(2) == 0).then(|| 30 + rng.below(6000) as u32);
            let mut times = DeclarationTimes::of(&form, issued);
            // As an issued form is placed: the office under the root.
            times.office_path = vec![root.to_owned(), office.to_owned()];
            let officer = form
                .subjects
                .iter()
                .find_map(|s| s.officer_id.as_ref().map(|o| o.as_str().to_owned()));
            times.merge(
                &ReportedTimes {
                    released_at: released
                        .map(|m| form.declaration.registered_at + Duration::minutes(i64::from(m))),
                    lane_changed_by_hand: None,
                    stages: vec![ReportedStage {
                        stage: Stage::DocumentCheck,
                        team: format!("{office}01"),
                        officer,
                        started_at: Some(began),
                        finished_at: Some(began + Duration::minutes(i64::from(minutes))),
                        document_requests: requests,
                    }],
                },
                issued,
            );
            assert!(store.save_times(&times).await.expect("save times"));
            add(&im, office, &mut |c| {
                c.stage_minutes.push(minutes);
                if let Some(r) = requests {
                    c.document_requests += u64::from(r);
                    c.declarations_counting_requests += 1;
                }
                if let Some(m) = released {
                    c.release_minutes.push(m);
                }
            });
        }
        let rated_at = issued + Duration::minutes(1 + rng.below(3 * 24 * 60) as i64);
        if rng.below(10) >= 6 || rated_at >= end {
            continue;
        }
        let level = [1u8, 2, 3, 4, 4, 5, 5, 5][rng.below(8) as usize];
        let lv = Level::new(level).expect("level");
        let reasons: Vec<Reason> = Reason::ALL
            .into_iter()
            .filter(|r| r.fits(lv) && !r.is_misconduct())
            .filter(|_| rng.below(3) == 0)
            .collect();
        let channel = Channel::ALL[rng.below(Channel::ALL.len() as u64) as usize];
        let submission = Submission {
            ratings: vec![SubjectRating {
                subject_key: form.subjects[0].key.clone(),
                level: lv,
                reasons: reasons.clone(),
                comment: None,
            }],
            overall_comment: None,
            contact: None,
            suggestion: None,
            channel: Some(channel),
        };
        let records = RatingRecord::from_submission(&form, &submission, rated_at);
        let complaint = Complaint::from_submission(&form, &submission, rated_at);
        store
            .submit(&SubmissionWrite {
                form_id: form.id.clone(),
                submitted_at: rated_at,
                submission,
                ratings: records,
                complaint: None,
                events: vec![],
            })
            .await
            .expect("submit");
        ratings += 1;
        let minutes = u32::try_from((rated_at - issued).num_minutes()).expect("minutes");
        add(&im, office, &mut |c| {
            c.rated_of_issued += 1;
            c.minutes.push(minutes);
        });
        let rm = month_of(vn_day(rated_at));
        add(&rm, office, &mut |c| {
            c.levels[usize::from(level) - 1] += 1;
            for r in &reasons {
                *c.reasons.entry(r.code().to_owned()).or_default() += 1;
            }
            let by_channel = c.channels.entry(channel.code().to_owned()).or_default();
            by_channel.0 += 1;
            by_channel.1[usize::from(level) - 1] += 1;
        });
        // A complaint: its case opens when the rating comes; two in three close.
        if let Some(complaint) = complaint {
            let assignment = Assignment {
                unit: office.to_owned(),
                role: AssigneeRole::UnitHead,
                name: "Chi cục trưởng".into(),
                email: "head@demo.example.vn".into(),
                rule: "numbers".into(),
            };
            let mut case = Case::open(
                CaseKind::Complaint,
                complaint,
                assignment,
                rated_at,
                &CaseRules::default(),
            );
            case.assignee_notified_at = Some(rated_at);
            let event = CaseEvent {
                case_id: case.id.clone(),
                at: rated_at,
                actor: "numbers".into(),
                action: CaseAction::Opened,
                note: None,
                status_after: case.status,
            };
            store
                .open_case(&case, &event, &[])
                .await
                .expect("open case");
            cases += 1;
            add(&rm, office, &mut |c| c.complaints_opened += 1);
            let closed_at = rated_at + Duration::minutes(30 + rng.below(20 * 24 * 60) as i64);
            if rng.below(3) < 2 && closed_at < end {
                let mut closed = case.clone();
                closed.status = CaseStatus::Resolved;
                closed.closed_at = Some(closed_at);
                closed.finding = Some("Đã xử lý".into());
                closed.version += 1;
                let ev = CaseEvent {
                    at: closed_at,
                    action: CaseAction::Resolve,
                    status_after: CaseStatus::Resolved,
                    ..event
                };
                store
                    .update_case(&closed, case.version, &ev, &[])
                    .await
                    .expect("close");
                let hours = u32::try_from((closed_at - rated_at).num_hours()).expect("hours");
                add(&month_of(vn_day(closed_at)), office, &mut |c| {
                    c.complaints_closed += 1;
                    c.handling_hours.push(hours);
                });
            }
        }
    }
    // The nightly steps over the span: each day's rollup, which also keeps
    // the issue-day cohorts up to date from the day's records (no rebuild).
    let (first, last) = (vn_day(start), vn_day(end));
    let mut d = first;
    while d <= last {
        housekeeping.aggregate_day(d).await.expect("roll up");
        d = d + Days::new(1);
    }
    let mut months = vec![];
    let mut m = NaiveDate::from_ymd_opt(first.year(), first.month(), 1).expect("month");
    while m <= last {
        months.push(m);
        m = m + chrono::Months::new(1);
    }
    Expected {
        cells,
        offices: offices.iter().map(|s| s.to_string()).collect(),
        root: root.to_owned(),
        months,
        ratings,
        cases,
    }
}

fn department(org: csq_core::domain::org::OrgDirectory) -> Scope {
    Scope::new(
        StaffClaims {
            sub: "numbers".into(),
            role: StaffRole::Department,
            unit: None,
            officer: None,
        },
        Some(org),
    )
    .expect("department scope")
}

fn close(a: Option<f64>, b: Option<f64>, what: &str) {
    match (a, b) {
        (None, None) => {}
        (Some(x), Some(y)) => assert!((x - y).abs() < 1e-9, "{what}: {x} != {y}"),
        _ => panic!("{what}: {a:?} != {b:?}"),
    }
}

/// Compares the monthly reports, the rankings and the public report with
/// the expected figures. `rank_level` is the kind of the offices.
/// `min_cell` is the k of the figures' settings (cells under it are withheld).
pub async fn check(
    figures: &Figures,
    directory: &Directory,
    min_cell: u64,
    expected: &Expected,
    rank_level: &str,
) {
    let (_, org) = directory.current_org().await.expect("org").expect("an org");
    let who = department(org);
    let empty = Cell::default();
    for month in &expected.months {
        let key = month_of(*month);
        for unit in expected.offices.iter().chain([&expected.root]) {
            let cell = expected
                .cells
                .get(&(key.clone(), unit.clone()))
                .unwrap_or(&empty)
                .clone();
            let report = figures
                .unit_report(
                    &who,
                    &ReportRequest {
                        unit: Some(unit.clone()),
                        period: Some("month".into()),
                        at: Some(*month),
                    },
                )
                .await
                .expect("report");
            let what = format!("{unit} {key}");
            let t = &report.current.totals;
            assert_eq!(t.level_counts, cell.levels, "{what}: levels");
            let n: u64 = cell.levels.iter().sum();
            close(
                t.satisfied_share,
                (n > 0).then(|| (cell.levels[3] + cell.levels[4]) as f64 / n as f64),
                &format!("{what}: satisfied share"),
            );
            assert_eq!(
                t.complaints_opened, cell.complaints_opened,
                "{what}: complaints"
            );
            assert_eq!(
                t.complaints_closed, cell.complaints_closed,
                "{what}: closed"
            );
            let c = &report.current.cohort;
            assert_eq!(
                (c.forms_issued, c.forms_rated),
                (cell.issued, cell.rated_of_issued),
                "{what}: cohort"
            );
            assert!(c.forms_rated <= c.forms_issued);
            let mut minutes = cell.minutes.clone();
            assert_eq!(
                c.median_minutes_to_rate,
                lower_median(&mut minutes),
                "{what}: median"
            );
            let reasons: BTreeMap<String, u64> = report
                .reasons
                .iter()
                .map(|r| (r.reason.clone(), r.total))
                .collect();
            assert_eq!(reasons, cell.reasons, "{what}: reasons");
            for ch in &report.current.by_channel {
                let (forms, levels) = cell.channels.get(ch.channel).copied().unwrap_or_default();
                assert_eq!(ch.forms_submitted, forms, "{what}: {} forms", ch.channel);
                assert_eq!(
                    ch.ratings,
                    levels.iter().sum::<u64>(),
                    "{what}: {}",
                    ch.channel
                );
                let shown = ch.ratings >= min_cell.max(1);
                assert_eq!(ch.shown, shown, "{what}: {} shown", ch.channel);
                assert_eq!(
                    ch.level_counts,
                    shown.then_some(levels),
                    "{what}: {}",
                    ch.channel
                );
            }
            // Every form issued in the month is counted under one invitation
            // state, by issue day (a running host's sweep may have sent some
            // of these pending invitations meanwhile: the sum is what holds).
            let invited: u64 = report.current.invitations.values().sum();
            assert_eq!(invited, cell.issued, "{what}: invitations");
            // Service times: counts exact, percentiles within their bound.
            let times = &report.current.service_times;
            let mut minutes = cell.stage_minutes.clone();
            assert_eq!(times.stages_timed, minutes.len() as u64, "{what}: timed");
            within_bound(
                times.median_hours,
                raw_quantile(&mut minutes, 0.5),
                &format!("{what}: median stage"),
            );
            within_bound(
                times.p90_hours,
                raw_quantile(&mut minutes, 0.9),
                &format!("{what}: P90 stage"),
            );
            let within = minutes.iter().filter(|m| **m <= 120).count() as u64;
            assert_eq!(times.stages_with_limit, minutes.len() as u64);
            close(
                times.within_limit_share,
                (!minutes.is_empty()).then(|| within as f64 / minutes.len() as f64),
                &format!("{what}: within the limit"),
            );
            close(
                times.document_requests_per_declaration,
                (cell.declarations_counting_requests > 0).then(|| {
                    cell.document_requests as f64 / cell.declarations_counting_requests as f64
                }),
                &format!("{what}: document requests per declaration"),
            );
            let mut released = cell.release_minutes.clone();
            let yellow = times.release.iter().find(|r| r.lane == "yellow");
            assert_eq!(
                yellow.map_or(0, |r| r.declarations),
                released.len() as u64,
                "{what}: releases"
            );
            within_bound(
                yellow.and_then(|r| r.median_hours),
                raw_quantile(&mut released, 0.5),
                &format!("{what}: median release"),
            );
            within_bound(
                yellow.and_then(|r| r.p90_hours),
                raw_quantile(&mut released, 0.9),
                &format!("{what}: P90 release"),
            );
        }

        // Rankings of the offices for the month.
        let ranking = figures
            .rankings(
                &who,
                &RankingRequest {
                    level: Some(rank_level.into()),
                    within: Some(expected.root.clone()),
                    officers_of: None,
                    period: Some("month".into()),
                    at: Some(*month),
                    min_ratings: Some(1),
                },
            )
            .await
            .expect("rankings");
        let mut want: Vec<(String, f64)> = expected
            .offices
            .iter()
            .filter_map(|o| {
                let c = expected.cells.get(&(key.clone(), o.clone()))?;
                let n: u64 = c.levels.iter().sum();
                (n > 0).then(|| {
                    (
                        format!("unit:{o}"),
                        wilson_lower(c.levels[3] + c.levels[4], n),
                    )
                })
            })
            .collect();
        want.sort_by(|a, b| b.1.total_cmp(&a.1));
        let got: Vec<(String, f64)> = ranking
            .items
            .iter()
            .filter(|i| i.rank.is_some())
            .map(|i| (i.key.clone(), i.lower.expect("a bound")))
            .collect();
        assert_eq!(got.len(), want.len(), "{key}: ranked units");
        for (g, w) in got.iter().zip(&want) {
            assert!((g.1 - w.1).abs() < 1e-9, "{key}: {g:?} vs {w:?}");
        }

        // The public report of the month.
        let public = figures
            .public_report(Some(&key))
            .await
            .expect("public report");
        for o in &expected.offices {
            let cell = expected
                .cells
                .get(&(key.clone(), o.clone()))
                .unwrap_or(&empty);
            let row = public
                .units
                .iter()
                .find(|u| &u.code == o)
                .expect("every office is listed");
            let n: u64 = cell.levels.iter().sum();
            let shown = n >= min_cell;
            assert_eq!(row.shown, shown, "{o} {key}: suppression");
            if shown {
                assert_eq!(row.ratings, Some(n));
                assert_eq!(row.complaints_received, Some(cell.complaints_opened));
                assert_eq!(row.complaints_resolved, Some(cell.complaints_closed));
                let mut hours = cell.handling_hours.clone();
                assert_eq!(
                    row.median_handling_hours,
                    lower_median(&mut hours),
                    "{o} {key}: hours"
                );
            } else {
                assert!(row.ratings.is_none() && row.satisfied_share.is_none());
            }
        }
    }
}

/// The first instant of the month holding `t`, in Vietnam (for callers that
/// want whole months).
pub fn month_start(t: DateTime<Utc>) -> DateTime<Utc> {
    let d = vn_day(t);
    vn_day_start(NaiveDate::from_ymd_opt(d.year(), d.month(), 1).expect("month"))
}
