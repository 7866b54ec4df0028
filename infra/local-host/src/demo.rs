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
use csq_core::domain::org::{Handler, OrgDirectory, Unit};
use csq_core::domain::rating_scale::{Polarity, Reason};
use csq_core::domain::time::{vn_day, vn_day_start};
use csq_core::ports::{MailError, Mailer, ManualClock, OutgoingEmail, QueueConsumer};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

use crate::host::LocalHost;

const FAMILY: [&str; 8] = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi"];
const MIDDLE: [&str; 5] = ["Văn", "Thị", "Minh", "Thu", "Quốc"];
const GIVEN: [&str; 10] = [
    "An", "Bình", "Chi", "Dũng", "Giang", "Hà", "Khánh", "Lan", "Nam", "Phương",
];
const BUSINESSES: [&str; 6] = [
    "Công ty TNHH Thương mại Sao Mai (demo)",
    "Công ty CP Xuất nhập khẩu Hải Đăng (demo)",
    "Công ty TNHH Logistics Bến Cảng (demo)",
    "Công ty CP Dệt may Ánh Dương (demo)",
    "Công ty TNHH Điện tử Tân Tiến (demo)",
    "Công ty TNHH Nông sản Đồng Xanh (demo)",
];
const COMMENTS: [&str; 5] = [
    "Cán bộ hướng dẫn nhiệt tình.",
    "Thời gian chờ kiểm hóa còn lâu.",
    "Đề nghị công khai lịch làm việc ngoài giờ.",
    "Thủ tục nhanh, rõ ràng.",
    "Yêu cầu bổ sung chứng từ không cần thiết.",
];

/// Offices of the demo authority: code, Vietnamese and English names, region.
const OFFICES: [(&str, &str, &str, &str); 5] = [
    (
        "91AA",
        "Hải quan cửa khẩu Cảng Demo",
        "Demo Port Border Customs",
        "KV1",
    ),
    (
        "91AB",
        "Hải quan Khu công nghiệp Demo",
        "Demo Industrial Zone Customs",
        "KV1",
    ),
    (
        "91AC",
        "Hải quan Sân bay Demo",
        "Demo Airport Customs",
        "KV2",
    ),
    (
        "91AD",
        "Hải quan Cửa khẩu Đường bộ Demo",
        "Demo Road Border Customs",
        "KV2",
    ),
    (
        "91AE",
        "Hải quan Cảng cạn Demo",
        "Demo Dry Port Customs",
        "KV2",
    ),
];

/// The demo authority as it stood `DAYS` ago: a department, two regions, five
/// offices with three teams each, the inspection unit and the department office.
pub fn demo_org_before() -> OrgDirectory {
    let h = |name: &str, email: &str| {
        Some(Handler {
            name: name.into(),
            email: email.into(),
        })
    };
    let unit = |code: &str, vi: &str, en: &str, kind: &str, parent: Option<&str>| Unit {
        name_en: Some(en.into()),
        ..Unit::new(code, vi, kind, parent)
    };
    let mut units = vec![
        Unit {
            head: h("Cục trưởng Demo", "cuctruong@demo-customs.invalid"),
            ..unit(
                "CUC",
                "Cục Hải quan Demo (hư cấu)",
                "Demo Customs Department (fictional)",
                "department",
                None,
            )
        },
        Unit {
            head: h("Phòng Thanh tra Demo", "thanhtra@demo-customs.invalid"),
            ..unit(
                "TT",
                "Phòng Thanh tra",
                "Inspection Division",
                "inspection",
                Some("CUC"),
            )
        },
        Unit {
            head: h("Văn phòng Cục Demo", "vanphong@demo-customs.invalid"),
            ..unit(
                "VP",
                "Văn phòng Cục",
                "Department Office",
                "office",
                Some("CUC"),
            )
        },
        Unit {
            head: h("Chi cục trưởng Khu vực I", "kv1@demo-customs.invalid"),
            ..unit(
                "KV1",
                "Chi cục Hải quan Khu vực I Demo",
                "Customs Region I (demo)",
                "region",
                Some("CUC"),
            )
        },
        Unit {
            head: h("Chi cục trưởng Khu vực II", "kv2@demo-customs.invalid"),
            ..unit(
                "KV2",
                "Chi cục Hải quan Khu vực II Demo",
                "Customs Region II (demo)",
                "region",
                Some("CUC"),
            )
        },
    ];
    for (code, vi, en, region) in OFFICES {
        units.push(Unit {
            head: h(
                &format!("Trưởng {vi}"),
                &format!("{}@demo-customs.invalid", code.to_lowercase()),
            ),
            ..unit(code, vi, en, "office", Some(region))
        });
        for (n, t, te) in [
            ("01", "Đội Thủ tục hàng hóa", "Clearance Team"),
            ("02", "Đội Kiểm tra thực tế", "Physical Inspection Team"),
            ("03", "Đội Giám sát", "Supervision Team"),
        ] {
            units.push(unit(&format!("{code}{n}"), t, te, "team", Some(code)));
        }
    }
    OrgDirectory::new("TT", "VP", units)
}

/// The demo authority today: 91AE was renamed and 91AD merged into 91AC
/// (`MERGE_DAYS_AGO` days ago), so the history features have something to show.
pub fn demo_org() -> OrgDirectory {
    let mut org = demo_org_before();
    for u in &mut org.units {
        match u.code.as_str() {
            "91AE" => {
                u.name = "Hải quan ICD Demo".into();
                u.name_en = Some("Demo Inland Container Depot Customs".into());
            }
            "91AD" => {
                u.successor = Some("91AC".into());
                u.retired = true;
            }
            c if c.starts_with("91AD") => u.retired = true,
            _ => {}
        }
    }
    OrgDirectory::new(&org.inspection_unit, &org.default_unit, org.units)
}

/// Days ago that the demo directory's second version came into force.
const MERGE_DAYS_AGO: u64 = 6;

/// Back-filled history must not flood the outbox: its emails are counted, not written.
struct CountingMailer(std::sync::atomic::AtomicUsize);

#[async_trait]
impl Mailer for CountingMailer {
    async fn send(&self, _email: &OutgoingEmail) -> Result<String, MailError> {
        let n = self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(format!("demo-backfill-{n}"))
    }
}

fn officer_name(rng: &mut StdRng) -> String {
    format!(
        "{} {} {}",
        FAMILY[rng.random_range(0..FAMILY.len())],
        MIDDLE[rng.random_range(0..MIDDLE.len())],
        GIVEN[rng.random_range(0..GIVEN.len())]
    )
}

/// An officer's one name: drawn from the id, so the same officer is named
/// the same on every declaration.
fn name_of_officer(id: &str) -> String {
    let seed = id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    officer_name(&mut StdRng::seed_from_u64(seed))
}

/// A declaration request for the demo: deterministic, so reloading changes nothing.
fn declaration(
    rng: &mut StdRng,
    number: &str,
    registered_at: chrono::DateTime<Utc>,
    merged: bool,
) -> serde_json::Value {
    let offices: &[&str] = if merged {
        &["91AA", "91AB", "91AC", "91AE"]
    } else {
        &["91AA", "91AB", "91AC", "91AD", "91AE"]
    };
    let branch = offices[rng.random_range(0..offices.len())];
    let lane = ["green", "yellow", "red"][rng.random_range(0..3)];
    let stages: &[&str] = match lane {
        "green" => &["registration", "clearance"],
        "yellow" => &["registration", "document_check", "clearance"],
        _ => &["document_check", "physical_inspection", "clearance"],
    };
    let handling: Vec<_> = stages
        .iter()
        .map(|stage| {
            let team = format!("{branch}0{}", rng.random_range(1..=3));
            let n: u32 = rng.random_range(1..=6);
            let id = format!("DM{branch}{n}");
            let name = name_of_officer(&id);
            json!({"stage": stage, "team": team, "officer": {"id": id, "name": name}})
        })
        .collect();
    let b = rng.random_range(0..BUSINESSES.len());
    let type_code = ["A11", "A12", "E31", "B11"][rng.random_range(0..4)];
    json!({
        "declaration": {
            "number": number,
            "type_code": type_code,
            "registered_at": registered_at.to_rfc3339(),
            "customs_office": branch,
            "lane": lane
        },
        "business": {
            "tax_code": format!("09{:08}", 10_000 + b * 7919),
            "name": BUSINESSES[b],
            "email": format!("xnk{b}@demo-business.invalid"),
            "language": if b == 4 { "en" } else { "vi" }
        },
        "handling": handling
    })
}

/// The demo's declaration JSON, parsed as the integration route does.
fn parsed(
    request: &serde_json::Value,
) -> anyhow::Result<csq_core::domain::declaration::FormRequest> {
    csq_core::domain::declaration::FormRequest::parse(request)
        .map_err(|e| anyhow::anyhow!("demo declaration: {e:?}"))
}

/// What a business would tick on the page, drawn from a realistic distribution.
fn answers(rng: &mut StdRng, subjects: usize) -> Vec<(String, String)> {
    let mut fields = Vec::new();
    let mut low = false;
    // Ratings of one form go together: most businesses are content with the whole
    // procedure, a few had one bad experience (as in the pilot's 94% satisfied).
    let mood = rng.random_range(0..100);
    let unhappy_subject = rng.random_range(0..subjects);
    for i in 0..subjects {
        if rng.random_bool(0.15) {
            continue;
        }
        let level: u8 = match mood {
            0..=84 => rng.random_range(4..=5),
            85..=94 => rng.random_range(3..=5),
            _ if i == unhappy_subject => rng.random_range(1..=2),
            _ => rng.random_range(3..=5),
        };
        low |= level <= 2;
        fields.push((format!("level.{i}"), level.to_string()));
        let level_value = csq_core::domain::rating_scale::Level::new(level).expect("1-5");
        let negative_at_three = rng.random_bool(0.3);
        let misconduct = rng.random_bool(0.15);
        let pool: Vec<Reason> = Reason::ALL
            .into_iter()
            .filter(|r| r.fits(level_value))
            .filter(|r| level != 3 || r.polarity() == Polarity::Positive || negative_at_three)
            .filter(|r| !r.is_misconduct() || misconduct)
            .collect();
        if !pool.is_empty() && (level != 3 || rng.random_bool(0.5)) {
            let r = pool[rng.random_range(0..pool.len())];
            fields.push((format!("reason.{i}"), r.code().into()));
        }
        if rng.random_bool(0.1) {
            fields.push((
                format!("comment.{i}"),
                COMMENTS[rng.random_range(0..COMMENTS.len())].into(),
            ));
        }
    }
    if fields.is_empty() {
        fields.push(("level.0".into(), "5".into()));
    }
    // About one business in fifteen leaves a suggestion (kiến nghị).
    const SUGGESTIONS: [&str; 3] = [
        "Đề nghị bố trí thêm cán bộ tiếp nhận hồ sơ vào buổi sáng.",
        "Nên công khai thời gian xử lý dự kiến của từng khâu.",
        "Đề nghị mở rộng bãi chờ kiểm hóa cho xe container.",
    ];
    if rng.random_range(0..15) == 0 {
        let s = SUGGESTIONS[rng.random_range(0..SUGGESTIONS.len())];
        fields.push(("suggestion".into(), s.into()));
    }
    if low {
        fields.push(("contact_name".into(), officer_name(rng)));
        fields.push((
            "contact_phone".into(),
            format!("09{:08}", rng.random_range(0..100_000_000u32)),
        ));
    }
    fields
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
        .submit_form(&token, &fields)
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
        let rules = crate::case_rules_file::parse(crate::case_rules_file::DEMO, false)?;
        past.case_handling
            .replace_case_rules("demo", rules, None)
            .await
            .map_err(|e| anyhow::anyhow!("demo case rules: {e}"))?;
    }
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
            let request = declaration(
                &mut rng,
                &number,
                at - Duration::minutes(20),
                day >= merge_day,
            );
            let issued = past.issuance.issue_form(parsed(&request)?).await?;
            declarations += 1;
            let form = issued.form;
            let fields = answers(&mut rng, form.subjects.len());
            if !rng.random_bool(0.72) {
                continue;
            }
            clock.set(at + Duration::minutes(rng.random_range(15..300)));
            let token = past.rating.rating_token(&form);
            if past.rating.submit_form(&token, &fields).await.is_ok() {
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
    // Response rates by issue-day cohort over the demo's days.
    past.housekeeping
        .aggregate_cohorts(today.checked_sub_days(Days::new(1)).expect("recent"))
        .await?;

    // Today's declarations go through the real outbox, so a newcomer can rate one.
    let mut unrated_link = String::new();
    for k in 0..3 {
        let number = format!("990000{k:06}");
        let request = declaration(&mut rng, &number, Utc::now() - Duration::minutes(30), true);
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
    })
}
