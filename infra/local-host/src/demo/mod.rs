//! A fictional demo department, loaded through the real use cases so that every
//! screen and statistic has something to show. All names, codes and addresses
//! here are invented (`.invalid` mail domain, branch codes 91xx).

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{Days, Duration, Utc};
use csq_core::app::Services;
use csq_core::app::cases::CaseActionRequest;
use csq_core::auth::scope::Scope;
use csq_core::auth::staff::{StaffClaims, StaffRole};
use csq_core::domain::case::CaseKind;
use csq_core::domain::form::Channel;
use csq_core::domain::time::{vn_day, vn_day_start};
use csq_core::ports::{MailError, Mailer, ManualClock, OutgoingEmail, QueueConsumer};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

use crate::host::LocalHost;

mod data;

use data::*;
pub use data::{demo_org, demo_org_before};

/// Back-filled history must not flood the outbox: its emails are counted, not written.
struct CountingMailer(std::sync::atomic::AtomicUsize);

#[async_trait]
impl Mailer for CountingMailer {
    async fn send(&self, _email: &OutgoingEmail) -> Result<String, MailError> {
        let n = self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(format!("demo-backfill-{n}"))
    }
}

/// Issues one scripted declaration at `at`, submits `fields` (the officer
/// subject's index stands for `{officer}`), routes what it queued, and
/// returns the form id and the cases opened.
async fn scripted(
    past: &Services,
    host: &LocalHost,
    clock: &ManualClock,
    number: &str,
    office: &str,
    at: chrono::DateTime<Utc>,
    fields: &[(&str, &str)],
) -> anyhow::Result<(String, usize)> {
    clock.set(at);
    let id = format!("DM{office}1");
    let request = json!({
        "declaration": {"number": number, "type_code": "A11",
            "registered_at": (at - Duration::minutes(20)).to_rfc3339(),
            "customs_office": office, "lane": "yellow"},
        "business": {"tax_code": "0900010000", "name": BUSINESSES[0],
            "email": "xnk0@demo-business.invalid", "language": "vi"},
        "handling": [{"stage": "document_check", "team": format!("{office}01"),
            "officer": {"id": id, "name": name_of_officer(&id)}}]
    });
    let form = past.issuance.issue_form(parsed(&request)?).await?.form;
    let officer = form
        .subjects
        .iter()
        .position(|s| s.officer_id.is_some())
        .unwrap_or(0)
        .to_string();
    let fields: Vec<(String, String)> = fields
        .iter()
        .map(|(k, v)| (k.replace("{officer}", &officer), (*v).to_owned()))
        .collect();
    clock.advance(Duration::minutes(40));
    let token = past.rating.rating_token(&form);
    past.rating
        .submit_form(&token, &fields, None)
        .await
        .map_err(|e| anyhow::anyhow!("demo submission: {e:?}"))?;
    clock.advance(Duration::minutes(2));
    let mut opened = 0;
    for m in host.queue.receive(10).await? {
        if past.case_handling.route_complaint(&m.body).await.is_ok() {
            opened += 1;
            host.queue.delete(&m.receipt).await?;
        }
    }
    Ok((form.id, opened))
}

/// Work for every role, whatever the random history drew: a misconduct
/// report for the inspection unit, a complaint transferred to another unit,
/// a complaint answered and appealed one level up, and a suggestion.
async fn each_roles_work(
    past: &Services,
    host: &LocalHost,
    clock: &ManualClock,
    department: &Scope,
    today: chrono::NaiveDate,
) -> anyhow::Result<usize> {
    let day = vn_day_start(today.checked_sub_days(Days::new(3)).expect("recent"));
    let contact = [
        ("contact_name", "Lê Thu Hà"),
        ("contact_phone", "0912345678"),
    ];
    let mut opened = 0;
    let misconduct = [
        ("level.0", "3"),
        ("level.{officer}", "1"),
        ("reason.{officer}", "harassment"),
        (
            "comment.{officer}",
            "Công chức gợi ý chi phí ngoài quy định để xử lý nhanh.",
        ),
        contact[0],
        contact[1],
    ];
    let at = day + Duration::hours(8);
    opened += scripted(past, host, clock, "980000000001", "91AA", at, &misconduct)
        .await?
        .1;

    let slow = [
        ("level.0", "2"),
        ("reason.0", "delay"),
        contact[0],
        contact[1],
    ];
    let at = day + Duration::hours(9);
    let (transferred, n) = scripted(past, host, clock, "980000000002", "91AB", at, &slow).await?;
    opened += n;
    clock.advance(Duration::hours(2));
    let transfer = CaseActionRequest {
        action: "transfer".into(),
        to: Some("91AA".into()),
        note: "Khâu kiểm tra hồ sơ do Hải quan cửa khẩu Cảng Demo thực hiện.".into(),
        ..CaseActionRequest::default()
    };
    past.case_handling
        .act_on_case(department, &transferred, &transfer)
        .await
        .map_err(|e| anyhow::anyhow!("demo transfer: {e}"))?;

    let at = day + Duration::hours(10);
    let (appealed, n) = scripted(past, host, clock, "980000000003", "91AC", at, &slow).await?;
    opened += n;
    clock.advance(Duration::hours(3));
    let dismiss = CaseActionRequest {
        action: "dismiss".into(),
        note: "Đã kiểm tra: hồ sơ được xử lý trong thời hạn quy định.".into(),
        ..CaseActionRequest::default()
    };
    let (closed, _) = past
        .case_handling
        .act_on_case(department, &appealed, &dismiss)
        .await
        .map_err(|e| anyhow::anyhow!("demo dismissal: {e}"))?;
    clock.advance(Duration::hours(20));
    let rules = past.case_handling.case_rules().await?.rules;
    let token = past
        .case_handling
        .outcome_token(&closed, &rules)
        .ok_or_else(|| anyhow::anyhow!("a dismissed case has an outcome link"))?;
    let appeal = csq_core::domain::case::BusinessAction::Appeal(
        "Hồ sơ nộp đủ từ ngày đầu nhưng vẫn phải chờ hai ngày.".into(),
    );
    past.case_handling
        .respond_to_outcome(&token, &appeal)
        .await
        .map_err(|e| anyhow::anyhow!("demo appeal: {e}"))?;

    let idea = [
        ("level.0", "5"),
        (
            "suggestion",
            "Đề nghị công khai thời gian xử lý dự kiến của từng khâu.",
        ),
    ];
    let at = day + Duration::hours(11);
    opened += scripted(past, host, clock, "980000000004", "91AE", at, &idea)
        .await?
        .1;
    Ok(opened)
}

#[derive(Debug)]
pub struct DemoSummary {
    pub declarations: usize,
    pub submitted: usize,
    pub cases_opened: usize,
    pub unrated_link: String,
    pub staff_token: String,
    /// The credential of 91AE's counter tablet (enter it at `/kiosk`).
    pub counter_credential: String,
    /// Watch cases the history raised for the inspection unit.
    pub watch_flags: usize,
}

/// The office and business (index of `BUSINESSES`) of the demo's watched
/// complainant, and how many days ago it complained.
const WATCHED: (&str, usize) = ("91AB", 8);
const COMPLAINT_DAYS_AGO: u64 = DAYS / 2;

/// The office whose businesses rate at the counter (no email).
const COUNTER_OFFICE: &str = "91AE";

/// The demo department's survey rules: a third of the green lane asked by
/// email (every yellow and red declaration), and none of 91AE's.
fn demo_survey_rules() -> csq_core::domain::survey::SurveyRules {
    use csq_core::domain::declaration::Lane;
    use csq_core::domain::survey::{SampleRule, SurveyRules};
    SurveyRules {
        cap_days: None,
        sampling: vec![
            SampleRule {
                office: None,
                lane: Some(Lane::Green),
                percent: 33,
            },
            SampleRule {
                office: Some(COUNTER_OFFICE.into()),
                lane: None,
                percent: 0,
            },
        ],
    }
}

/// How a business of the history reached its form: 91AE's at the counter;
/// an emailed one by the email's link or a level button, or from the
/// declaration software; one not emailed from the software.
fn channel_of(rng: &mut StdRng, form: &csq_core::domain::form::Form) -> Channel {
    use csq_core::domain::form::InvitationState;
    if form.declaration.customs_office.as_str() == COUNTER_OFFICE {
        return Channel::Kiosk;
    }
    if form.invitation_state() != InvitationState::Sent {
        return Channel::InApp;
    }
    match rng.random_range(0..100) {
        0..=44 => Channel::Email,
        45..=79 => Channel::EmailButton,
        _ => Channel::InApp,
    }
}

/// Days of history the demo fills in, and declarations per day.
const DAYS: u64 = 14;

const PER_DAY: usize = 22;

pub async fn load_demo(host: &LocalHost) -> anyhow::Result<DemoSummary> {
    let mut rng = StdRng::seed_from_u64(20_200_401);
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let past = host.services_with(clock.clone(), Arc::new(CountingMailer(0.into())));
    let department = StaffClaims {
        sub: "demo-department".into(),
        role: StaffRole::Department,
        unit: None,
        officer: None,
    };
    let today = vn_day(Utc::now());
    // The directory's history, written once: a reloaded demo keeps the versions it has.
    let fresh = host.services.directory.current_org().await?.is_none();
    if fresh {
        clock.set(vn_day_start(
            today.checked_sub_days(Days::new(DAYS + 1)).expect("recent"),
        ));
        past.directory
            .replace_org(crate::org_import::check(demo_org_before())?, "demo")
            .await?;
        // This year's holidays, so deadlines count working days as the department would.
        let mut rules = crate::case_rules_file::parse(crate::case_rules_file::DEMO, false)?;
        rules.survey = demo_survey_rules();
        // Two weeks of a demo hold fewer stages than a real quarter.
        rules.service_standards.watch.min_count = 8;
        past.case_handling
            .replace_case_rules("demo", rules, None)
            .await
            .map_err(|e| anyhow::anyhow!("demo case rules: {e}"))?;
    }
    // 91AE asks by email no one: its businesses rate at the counter, on this tablet.
    clock.set(vn_day_start(
        today.checked_sub_days(Days::new(DAYS + 1)).expect("recent"),
    ));
    let (_, counter) = past
        .channels
        .register_kiosk("demo", COUNTER_OFFICE, "Quầy 1 — Hải quan 91AE")
        .await
        .map_err(|e| anyhow::anyhow!("demo counter tablet: {e}"))?;
    let merge_day = today
        .checked_sub_days(Days::new(MERGE_DAYS_AGO))
        .expect("recent date");
    let (mut declarations, mut submitted, mut cases_opened) = (0, 0, 0);

    for back in (1..=DAYS).rev() {
        let day = today
            .checked_sub_days(Days::new(back))
            .expect("recent date");
        let start = vn_day_start(day) + Duration::hours(7);
        if fresh && day == merge_day {
            clock.set(vn_day_start(day));
            past.directory
                .replace_org(crate::org_import::check(demo_org())?, "demo")
                .await?;
        }
        for k in 0..PER_DAY {
            let at = start + Duration::minutes(25 * k as i64);
            clock.set(at);
            let number = format!("99{back:04}{k:06}");
            // One business files often at 91AB; after its complaint there its
            // stages slow down (the retaliation watch flags it).
            let watched = k % 4 == 1;
            let request = if watched {
                let lane = ["yellow", "red"][rng.random_range(0..2)];
                let (office, business) = WATCHED;
                declaration_of(
                    &mut rng,
                    &number,
                    at - Duration::minutes(20),
                    office,
                    lane,
                    business,
                )
            } else {
                declaration(
                    &mut rng,
                    &number,
                    at - Duration::minutes(20),
                    day >= merge_day,
                )
            };
            let issued = past.issuance.issue_form(parsed(&request)?).await?;
            declarations += 1;
            let form = issued.form;
            // The declaration system sends the stages' times once the goods are released.
            let times = stage_times(&mut rng, &form, watched && back < COMPLAINT_DAYS_AGO);
            clock.set(times.released_at.unwrap_or(at) + Duration::minutes(1));
            past.issuance
                .record_times(form.declaration.number.as_str(), &times)
                .await
                .map_err(|e| anyhow::anyhow!("demo service times: {e}"))?;
            clock.set(at);
            let mut fields = answers(&mut rng, form.subjects.len());
            let complaint = watched && back == COMPLAINT_DAYS_AGO && k == 1;
            if complaint {
                fields = [
                    ("level.0", "1"),
                    ("reason.0", "delay"),
                    ("contact_name", "Lê Thị Hoa"),
                    ("contact_phone", "0912345678"),
                ]
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .into();
            } else if watched && back > COMPLAINT_DAYS_AGO {
                // Content until its complaint: the watch dates it from that one.
                fields = vec![("level.0".to_owned(), "4".to_owned())];
            } else if !rng.random_bool(0.72) {
                continue;
            }
            clock.set(at + Duration::minutes(rng.random_range(15..300)));
            let token = past.rating.rating_token(&form);
            let via = channel_of(&mut rng, &form);
            fields.push(("via".into(), via.code().into()));
            let tablet = (via == Channel::Kiosk).then_some(counter.as_str());
            if past
                .rating
                .submit_form(&token, &fields, tablet)
                .await
                .is_ok()
            {
                submitted += 1;
            }
            // Route what this submission queued, at its own time.
            clock.advance(Duration::minutes(2));
            for m in host.queue.receive(10).await? {
                if past.case_handling.route_complaint(&m.body).await.is_ok() {
                    cases_opened += 1;
                    host.queue.delete(&m.receipt).await?;
                }
            }
        }
    }

    // Older cases get handled: most resolved, some dismissed, some still open.
    let department_scope = Scope::new(department.clone(), None)?;
    for back in (4..=DAYS).rev() {
        let day = today
            .checked_sub_days(Days::new(back))
            .expect("recent date");
        for case in past.case_handling.cases_opened_on(day).await? {
            if case.status.is_closed() {
                continue;
            }
            clock.set(case.opened_at + Duration::days(2));
            let complaint = case.kind == CaseKind::Complaint;
            let officer = case.complaint.handling_officers().into_iter().next();
            let request = match rng.random_range(0..10) {
                0..=5 => CaseActionRequest {
                    action: "resolve".into(),
                    note:
                        "Đã làm việc với công chức và nhắc nhở; đã trao đổi lại với doanh nghiệp."
                            .into(),
                    upheld: complaint.then_some(true),
                    officers: officer.into_iter().filter(|_| complaint).collect(),
                    violation_category: complaint.then(|| "attitude".into()),
                    measure: complaint.then(|| "reminder".into()),
                    ..CaseActionRequest::default()
                },
                6..=7 => CaseActionRequest {
                    action: if complaint { "dismiss" } else { "resolve" }.into(),
                    note: "Đã kiểm tra hồ sơ và camera; thủ tục đúng quy định.".into(),
                    ..CaseActionRequest::default()
                },
                _ => CaseActionRequest {
                    action: "verify".into(),
                    ..CaseActionRequest::default()
                },
            };
            let _ = past
                .case_handling
                .act_on_case(&department_scope, &case.id, &request)
                .await;
        }
    }

    if fresh {
        cases_opened += each_roles_work(&past, host, &clock, &department_scope, today).await?;
    }

    for back in (1..=DAYS).rev() {
        let day = today
            .checked_sub_days(Days::new(back))
            .expect("recent date");
        clock.set(vn_day_start(day + Days::new(1)) + Duration::hours(1));
        past.housekeeping.aggregate_day(day).await?;
    }
    // The week's retaliation watch over the history: the business above is flagged.
    let watch_flags = past
        .housekeeping
        .run_retaliation_watch(today.checked_sub_days(Days::new(1)).expect("recent"))
        .await?
        .flags
        .len();
    // Response rates by issue-day cohort over the demo's days.
    past.housekeeping
        .aggregate_cohorts(today.checked_sub_days(Days::new(1)).expect("recent"))
        .await?;

    // Today's declarations go through the real outbox, so a newcomer can rate
    // one: two new businesses are invited (one of them rates from the email's
    // buttons), the second's next declaration is capped, and 91AE's is left
    // out by the survey rules (it opens at the counter tablet).
    let mut unrated_link = String::new();
    for (k, (office, lane, business)) in [
        ("91AA", "yellow", HISTORY_BUSINESSES),
        ("91AB", "red", HISTORY_BUSINESSES + 1),
        ("91AC", "yellow", HISTORY_BUSINESSES + 1),
        (COUNTER_OFFICE, "red", HISTORY_BUSINESSES),
    ]
    .into_iter()
    .enumerate()
    {
        let number = format!("990000{k:06}");
        let at = Utc::now() - Duration::minutes(30);
        let request = declaration_of(&mut rng, &number, at, office, lane, business);
        let issued = host.services.issuance.issue_form(parsed(&request)?).await?;
        if k == 0 {
            unrated_link = host.services.rating.rating_link(&issued.form);
        }
    }
    let staff_token = host.mint_staff_token(&department, Duration::hours(12));
    Ok(DemoSummary {
        declarations,
        submitted,
        cases_opened,
        unrated_link,
        staff_token,
        counter_credential: counter,
        watch_flags,
    })
}
