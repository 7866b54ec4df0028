//! The demo's made-up world: the authority's tree before and after a merge,
//! offices, officers, businesses, comments, declarations and answers.

use chrono::Utc;
use csq_core::domain::org::{Handler, OrgDirectory, Unit};
use csq_core::domain::rating_scale::{Polarity, Reason};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

pub(super) const FAMILY: [&str; 8] = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi"];

pub(super) const MIDDLE: [&str; 5] = ["Văn", "Thị", "Minh", "Thu", "Quốc"];

pub(super) const GIVEN: [&str; 10] = [
    "An", "Bình", "Chi", "Dũng", "Giang", "Hà", "Khánh", "Lan", "Nam", "Phương",
];

pub(super) const BUSINESSES: [&str; 9] = [
    "Công ty TNHH Thương mại Sao Mai (demo)",
    "Công ty CP Xuất nhập khẩu Hải Đăng (demo)",
    "Công ty TNHH Logistics Bến Cảng (demo)",
    "Công ty CP Dệt may Ánh Dương (demo)",
    "Công ty TNHH Điện tử Tân Tiến (demo)",
    "Công ty TNHH Nông sản Đồng Xanh (demo)",
    // Today's first declarations only: never emailed before, so the cap lets
    // their invitations go (the history's businesses were asked this week).
    "Công ty TNHH Cơ khí Bình Minh (demo)",
    "Công ty CP Thủy sản Vịnh Xanh (demo)",
    // Files often at 91AB; the retaliation watch's case of the demo.
    "Công ty TNHH Vận tải Cầu Rào (demo)",
];

/// The businesses of the history (the rest are today's).
pub(super) const HISTORY_BUSINESSES: usize = 6;

pub(super) const COMMENTS: [&str; 5] = [
    "Cán bộ hướng dẫn nhiệt tình.",
    "Thời gian chờ kiểm hóa còn lâu.",
    "Đề nghị công khai lịch làm việc ngoài giờ.",
    "Thủ tục nhanh, rõ ràng.",
    "Yêu cầu bổ sung chứng từ không cần thiết.",
];

/// Offices of the demo authority: code, Vietnamese and English names, region.
pub(super) const OFFICES: [(&str, &str, &str, &str); 5] = [
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
    // The directory names people now: an administrator, and two officers
    // who sign in to read their own page.
    for (office, id, name) in [
        ("91AA", "HP0001", "Nguyễn Văn Minh"),
        ("91AB", "HP0002", "Trần Thị Lan"),
    ] {
        if let Some(u) = org.units.iter_mut().find(|u| u.code == office) {
            u.officers.push(csq_core::domain::org::Officer {
                id: id.into(),
                name: name.into(),
                email: format!("{}@demo-customs.invalid", id.to_lowercase()),
            });
        }
    }
    // A case handler of 91AA who is not its head: they work from the queue.
    if let Some(u) = org.units.iter_mut().find(|u| u.code == "91AA") {
        u.handlers.push(Handler {
            name: "Cán bộ xử lý 91AA".into(),
            email: "xuly.91aa@demo-customs.invalid".into(),
        });
    }
    let mut org = OrgDirectory::new(&org.inspection_unit, &org.default_unit, org.units);
    org.administrators = vec![Handler {
        name: "Quản trị hệ thống Demo".into(),
        email: "quantri@demo-customs.invalid".into(),
    }];
    org
}

/// Days ago that the demo directory's second version came into force.
pub(super) const MERGE_DAYS_AGO: u64 = 6;

pub(super) fn officer_name(rng: &mut StdRng) -> String {
    format!(
        "{} {} {}",
        FAMILY[rng.random_range(0..FAMILY.len())],
        MIDDLE[rng.random_range(0..MIDDLE.len())],
        GIVEN[rng.random_range(0..GIVEN.len())]
    )
}

/// An officer's one name: drawn from the id, so the same officer is named
/// the same on every declaration.
pub(super) fn name_of_officer(id: &str) -> String {
    let seed = id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    officer_name(&mut StdRng::seed_from_u64(seed))
}

/// A declaration request for the demo: deterministic, so reloading changes nothing.
pub(super) fn declaration(
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
    let b = rng.random_range(0..HISTORY_BUSINESSES);
    declaration_of(rng, number, registered_at, branch, lane, b)
}

/// One declaration of `branch` in `lane` for business `b` of `BUSINESSES`.
pub(super) fn declaration_of(
    rng: &mut StdRng,
    number: &str,
    registered_at: chrono::DateTime<Utc>,
    branch: &str,
    lane: &str,
    b: usize,
) -> serde_json::Value {
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
pub(super) fn parsed(
    request: &serde_json::Value,
) -> anyhow::Result<csq_core::domain::declaration::FormRequest> {
    csq_core::domain::declaration::FormRequest::parse(request)
        .map_err(|e| anyhow::anyhow!("demo declaration: {e:?}"))
}

/// What a business would tick on the page, drawn from a realistic distribution.
pub(super) fn answers(rng: &mut StdRng, subjects: usize) -> Vec<(String, String)> {
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

/// Service times for a demo declaration: its stages one after another from
/// shortly after registration, a document check now and then over its two
/// working hours and a physical inspection now and then over its eight,
/// a document request here and there, released after the last stage.
/// `slowed`: the business is treated worse (most checks over their limits).
pub(super) fn stage_times(
    rng: &mut StdRng,
    form: &csq_core::domain::form::Form,
    slowed: bool,
) -> csq_core::domain::times::ReportedTimes {
    use csq_core::domain::declaration::Stage;
    use csq_core::domain::times::{ReportedStage, ReportedTimes};
    let mut at =
        form.declaration.registered_at + chrono::Duration::minutes(rng.random_range(5..40));
    let mut stages = vec![];
    for h in &form.handling {
        let (minutes, requests) = match h.stage {
            Stage::DocumentCheck if slowed => (rng.random_range(300..900), rng.random_range(1..4)),
            Stage::PhysicalInspection if slowed => (rng.random_range(900..2000), 2),
            Stage::DocumentCheck => (
                rng.random_range(20..200),
                [0, 0, 0, 0, 0, 0, 1, 1, 1, 2][rng.random_range(0..10)],
            ),
            Stage::PhysicalInspection => (rng.random_range(90..720), rng.random_range(0..2)),
            _ => (rng.random_range(5..60), 0),
        };
        let finished = at + chrono::Duration::minutes(minutes);
        stages.push(ReportedStage {
            stage: h.stage,
            team: h.team.as_str().to_owned(),
            officer: h.officer.as_ref().map(|o| o.id.as_str().to_owned()),
            started_at: Some(at),
            finished_at: Some(finished),
            document_requests: Some(requests),
        });
        at = finished + chrono::Duration::minutes(rng.random_range(1..20));
    }
    ReportedTimes {
        released_at: Some(at + chrono::Duration::minutes(rng.random_range(5..60))),
        lane_changed_by_hand: Some(rng.random_bool(0.03)),
        stages,
    }
}
