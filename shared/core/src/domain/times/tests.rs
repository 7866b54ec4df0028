use super::*;
use crate::domain::case::rules::{CaseRules, Holiday};
use crate::domain::submission::tests::sample_form;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

fn reported(stage: Stage, officer: &str, start: &str, end: &str, docs: u32) -> ReportedStage {
    ReportedStage {
        stage,
        team: "03CC01".into(),
        officer: Some(officer.into()),
        started_at: Some(at(start)),
        finished_at: Some(at(end)),
        document_requests: Some(docs),
    }
}

#[test]
fn working_minutes_follow_the_office_hours_and_the_calendar() {
    let standards = ServiceStandards::default();
    let path = vec!["CUC".to_owned(), "03CC".to_owned()];
    let calendar = CaseRules::default().calendar();
    let minutes = |a, b| standards.working_minutes(&path, &calendar, at(a), at(b));
    // Inside the morning: clock time.
    assert_eq!(
        minutes("2026-12-07T08:00:00+07:00", "2026-12-07T09:30:00+07:00"),
        90
    );
    // Across lunch: 11:00-11:30 and 13:00-14:00.
    assert_eq!(
        minutes("2026-12-07T11:00:00+07:00", "2026-12-07T14:00:00+07:00"),
        90
    );
    // Friday 16:00 to Monday 08:30: one hour Friday, one Monday.
    assert_eq!(
        minutes("2026-12-11T16:00:00+07:00", "2026-12-14T08:30:00+07:00"),
        120
    );
    // A holiday counts nothing.
    let mut rules = CaseRules::default();
    rules.holidays.push(Holiday {
        date: chrono::NaiveDate::from_ymd_opt(2026, 12, 14).unwrap(),
        name: "Nghỉ".into(),
    });
    let with_holiday = standards.working_minutes(
        &path,
        &rules.calendar(),
        at("2026-12-11T16:00:00+07:00"),
        at("2026-12-15T08:30:00+07:00"),
    );
    assert_eq!(with_holiday, 120);
    // An office around the clock counts every minute; a unit above it names
    // its hours for it when it has none of its own.
    let mut port = standards.clone();
    port.office_hours.push(OfficeHours {
        office: Some("CUC".into()),
        around_the_clock: true,
        periods: vec![],
    });
    assert_eq!(
        port.working_minutes(
            &path,
            &calendar,
            at("2026-12-11T16:00:00+07:00"),
            at("2026-12-14T08:30:00+07:00")
        ),
        (2 * 24 + 16) * 60 + 30
    );
    assert_eq!(standards.limit_minutes(Stage::DocumentCheck), Some(120));
    assert_eq!(standards.limit_minutes(Stage::Clearance), None);
    let mut problems = vec![];
    standards.validate(&mut problems);
    assert!(problems.is_empty(), "{problems:?}");
    port.office_hours.push(OfficeHours {
        office: Some("CUC".into()),
        around_the_clock: true,
        periods: vec![WorkingPeriod {
            start: chrono::NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
            end: chrono::NaiveTime::from_hms_opt(8, 0, 0).unwrap(),
        }],
    });
    port.stage_limits.insert(Stage::Clearance, 0);
    port.validate(&mut problems);
    let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "service_standards.stage_limits.clearance",
            "service_standards.office_hours[2]",
            "service_standards.office_hours[2]",
            "service_standards.office_hours[2].periods[0]",
        ]
    );
}

#[test]
fn times_are_checked_field_by_field_and_kept_once_per_stage() {
    let form = sample_form();
    let registered = form.declaration.registered_at;
    let now = registered + Duration::days(1);
    let bad = ReportedTimes {
        released_at: Some(registered - Duration::hours(1)),
        lane_changed_by_hand: None,
        stages: vec![
            ReportedStage {
                finished_at: Some(registered + Duration::hours(1)),
                started_at: Some(registered + Duration::hours(2)),
                ..reported(
                    Stage::DocumentCheck,
                    "HP1234",
                    "2026-11-27T10:00:00+07:00",
                    "2026-11-27T11:00:00+07:00",
                    0,
                )
            },
            ReportedStage {
                finished_at: Some(now + Duration::hours(1)),
                document_requests: Some(1_000),
                ..reported(
                    Stage::Clearance,
                    "HP5678",
                    "2026-11-27T10:00:00+07:00",
                    "2026-11-27T11:00:00+07:00",
                    0,
                )
            },
        ],
    };
    let fields: Vec<String> = bad
        .check(registered, now)
        .into_iter()
        .map(|p| p.field)
        .collect();
    assert_eq!(
        fields,
        [
            "declaration.released_at",
            "handling[1].finished_at",
            "handling[0].finished_at",
            "handling[1].document_requests",
        ]
    );

    let mut times = DeclarationTimes::of(&form, now);
    let good = ReportedTimes {
        released_at: Some(registered + Duration::hours(5)),
        lane_changed_by_hand: Some(false),
        stages: vec![reported(
            Stage::DocumentCheck,
            "HP1234",
            "2026-11-27T10:00:00+07:00",
            "2026-11-27T11:00:00+07:00",
            1,
        )],
    };
    assert!(good.check(registered, now).is_empty());
    assert!(times.merge(&good, now));
    assert!(
        !times.merge(&good, now + Duration::days(1)),
        "a repeat changes nothing"
    );
    assert_eq!(times.recorded_on, vn_day(now));
    let mut other = good.clone();
    other.stages[0].finished_at = Some(at("2026-11-27T15:00:00+07:00"));
    assert!(!times.merge(&other, now), "the first times of a stage stay");
    let later = ReportedTimes {
        stages: vec![reported(
            Stage::Clearance,
            "HP5678",
            "2026-11-27T11:00:00+07:00",
            "2026-11-27T11:20:00+07:00",
            0,
        )],
        ..ReportedTimes::default()
    };
    let tomorrow = now + Duration::days(1);
    assert!(times.merge(&later, tomorrow));
    assert_eq!(times.stages.len(), 2);
    assert_eq!(times.stages[1].recorded_on, vn_day(tomorrow));
    assert_eq!(
        times.stages[0].recorded_on,
        vn_day(now),
        "each stage keeps its day"
    );
    let units = times.stage_units(&times.stages[0]);
    assert!(units.contains(&"unit:03CC".to_owned()));
    assert!(units.contains(&"stage:03CC:document_check".to_owned()));
    assert!(units.contains(&"unit:03CC01".to_owned()));
    assert!(units.contains(&"officer:HP1234".to_owned()));
}

#[test]
fn durations_are_exact_under_two_hours_and_within_two_percent_above() {
    for m in [0, 1, 59, 120] {
        assert_eq!(bucket(m), m);
    }
    for m in (121..50_000).step_by(7) {
        let b = bucket(m);
        assert!(
            b <= m && f64::from(m) < f64::from(b) * BUCKET_GROWTH + 1.0,
            "{m} -> {b}"
        );
        assert_eq!(bucket(b), b, "a bucket's value is its own bucket");
    }
    let counts: BTreeMap<u32, u64> = [(10, 5), (20, 4), (30, 1)].into();
    assert_eq!(quantile(&counts, 0.5), Some(10));
    assert_eq!(quantile(&counts, 0.9), Some(20));
    assert_eq!(quantile(&counts, 1.0), Some(30));
    assert_eq!(quantile(&BTreeMap::new(), 0.5), None);
}
