//! Who sees what (the visibility policy), as each reader would try it: a
//! misconduct report, an ordinary complaint and a satisfied rating, read by the
//! department, the inspection unit, the office head (the ordinary complaint's
//! assignee), the region head above it, another office's head and an officer,
//! through every staff route, the CSV export and the emails to staff.

use csq_core::auth::staff::StaffRole;
use csq_core::domain::time::vn_day;
use csq_core::ports::{CaseStore, FormStore};
use serde_json::Value;

use crate::helpers::{TestApp, number, spawn_app};

struct Records {
    misconduct: String,
    ordinary: String,
    satisfied: String,
}

/// Three forms at office 03CC, each rated as its name says.
async fn three_kinds(app: &TestApp) -> Records {
    let mut ids = vec![];
    for fields in [
        // The officer at document check (HP1234), reported for harassment; the
        // office rated 4 on the same form is part of the same report.
        &[
            ("level.0", "4"),
            ("level.5", "1"),
            ("reason.5", "harassment"),
            ("comment.5", "đòi tiền"),
        ][..],
        &[
            ("level.0", "2"),
            ("reason.0", "delay"),
            ("comment.0", "chờ lâu"),
        ][..],
        &[
            ("level.0", "5"),
            ("level.5", "5"),
            ("comment.5", "tận tình"),
        ][..],
    ] {
        let link = app.issue_and_get_link(&number()).await;
        let mut all = fields.to_vec();
        all.extend([("contact_name", "Ngô Lan"), ("contact_phone", "0933444555")]);
        assert_eq!(
            app.open(&link).await.post(app, true, &all).await.status(),
            200
        );
        ids.push(
            link.rsplit('/')
                .next()
                .unwrap()
                .split('.')
                .nth(1)
                .unwrap()
                .to_owned(),
        );
    }
    // Both complaints reach their cases (each assignee is emailed once).
    app.eventually("both cases", || {
        let inspection = app.emails_to("thanhtra@customs.test").len();
        let head = app.emails_to("head03cc@customs.test").len();
        (inspection == 1 && head == 1).then_some(())
    })
    .await;
    Records {
        misconduct: ids[0].clone(),
        ordinary: ids[1].clone(),
        satisfied: ids[2].clone(),
    }
}

fn form_ids(v: &Value, field: &str) -> Vec<String> {
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i[field].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn each_reader_sees_what_the_policy_allows_on_every_route() {
    let app = spawn_app().await;
    let r = three_kinds(&app).await;
    let today = vn_day(app.clock_now());
    app.roll_up(today).await;
    let readers = [
        ("department", app.staff_token(StaffRole::Department, None)),
        ("inspection", app.staff_token(StaffRole::Inspection, None)),
        (
            "head 03CC",
            app.staff_token(StaffRole::UnitHead, Some("03CC")),
        ),
        (
            "head R03",
            app.staff_token(StaffRole::UnitHead, Some("R03")),
        ),
        (
            "head 04CC",
            app.staff_token(StaffRole::UnitHead, Some("04CC")),
        ),
        ("officer", app.officer_token("HP1234")),
    ];
    // (reader, forms seen [misconduct, ordinary, satisfied], case detail seen
    // [misconduct, ordinary], contact on the ordinary case)
    let expected = [
        ("department", [true, true, true], [true, true], true),
        ("inspection", [true, false, false], [true, false], false),
        ("head 03CC", [false, true, true], [false, true], true),
        ("head R03", [false, true, true], [false, true], false),
        ("head 04CC", [false, false, false], [false, false], false),
        ("officer", [false, false, false], [false, false], false),
    ];
    for ((name, token), (_, forms, cases, contact)) in readers.iter().zip(expected) {
        let q = format!("from={today}&to={today}");
        let listing = app.staff_get(token, &format!("/v1/forms?{q}")).await;
        let ratings = app.staff_get(token, &format!("/v1/ratings?{q}")).await;
        if *name == "officer" {
            assert_eq!(listing.status(), 403, "{name}: forms");
            assert_eq!(ratings.status(), 403, "{name}: ratings");
        } else {
            let seen = form_ids(&listing.json().await.unwrap(), "id");
            let rated = form_ids(&ratings.json().await.unwrap(), "form_id");
            for (id, expect) in [&r.misconduct, &r.ordinary, &r.satisfied]
                .into_iter()
                .zip(forms)
            {
                assert_eq!(seen.contains(id), expect, "{name}: form {id} in forms");
                assert_eq!(rated.contains(id), expect, "{name}: form {id} in ratings");
            }
        }
        for (id, expect) in [&r.misconduct, &r.ordinary].into_iter().zip(cases) {
            let res = app.staff_get(token, &format!("/v1/cases/{id}")).await;
            assert_eq!(res.status() == 200, expect, "{name}: case {id}");
            if expect && id == &r.ordinary {
                let v: Value = res.json().await.unwrap();
                assert_eq!(
                    v["case"]["complaint"]["contact"].is_object(),
                    contact,
                    "{name}: contact"
                );
                assert_eq!(v["case"]["complaint"]["business"]["tax_code"], "0200123456");
            }
        }
        // Case lists, whichever way they are asked for, follow the same rule.
        let subtree = app.staff_get(token, "/v1/cases?subtree=true").await;
        if *name == "officer" {
            assert_eq!(subtree.status(), 403);
        } else {
            let listed = form_ids(&subtree.json().await.unwrap(), "id");
            assert_eq!(
                listed.contains(&r.misconduct),
                cases[0],
                "{name}: misconduct case listed"
            );
            assert_eq!(
                listed.contains(&r.ordinary),
                cases[1],
                "{name}: ordinary case listed"
            );
        }
    }

    // A department form listing carries the contact; a head's never does.
    let dept = &readers[0].1;
    let head = &readers[2].1;
    let forms: Value = app
        .staff_json(dept, &format!("/v1/forms?from={today}&to={today}"))
        .await;
    assert!(forms.to_string().contains("0933444555"));
    let forms: Value = app
        .staff_json(head, &format!("/v1/forms?from={today}&to={today}"))
        .await;
    assert!(!forms.to_string().contains("0933444555"));
    assert!(
        !forms.to_string().contains("harassment"),
        "no trace of the report"
    );

    // Statistics: one misconduct report in a cell of fewer than k ratings is
    // taken out for the heads (JSON and CSV), kept for the department.
    let officer_stats = format!("/v1/stats?unit=officer:HP1234&from={today}&to={today}");
    let d: Value = app.staff_json(dept, &officer_stats).await;
    assert_eq!(
        d["totals"]["level_counts"],
        serde_json::json!([1, 0, 0, 0, 1])
    );
    let h: Value = app.staff_json(head, &officer_stats).await;
    assert_eq!(
        h["totals"]["level_counts"],
        serde_json::json!([0, 0, 0, 0, 1])
    );
    let csv = app
        .staff_get(head, &officer_stats.replace("/v1/stats?", "/v1/stats.csv?"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        csv.lines().nth(1).unwrap().contains(",1,0,0,0,0,1,"),
        "{csv}"
    );
    assert_eq!(
        app.staff_get(&readers[5].1, &officer_stats).await.status(),
        403
    );

    // Emails to staff: the ordinary case's assignee gets the contact; the
    // inspection unit gets the misconduct report; no head gets it.
    let to_head = app.emails_to("head03cc@customs.test");
    assert_eq!(to_head.len(), 1);
    assert!(to_head[0].text.contains("0933444555"));
    assert!(
        app.emails_to("thanhtra@customs.test")[0]
            .text
            .contains("đòi tiền")
    );
    for head in [
        "head03cc@customs.test",
        "head-r03@customs.test",
        "head04cc@customs.test",
    ] {
        assert!(
            app.emails_to(head)
                .iter()
                .all(|m| !m.text.contains("đòi tiền")),
            "{head}"
        );
    }

    // Overdue: the escalation emails carry no contact; the misconduct case's
    // (to the authority's head) does not name the business that reported it.
    app.clock.advance(chrono::Duration::days(16));
    app.host
        .services
        .housekeeping
        .escalate_overdue()
        .await
        .unwrap();
    let to_region = app.emails_to("head-r03@customs.test");
    assert_eq!(to_region.len(), 1);
    assert!(!to_region[0].text.contains("0933444555"));
    assert!(to_region[0].text.contains("Công ty TNHH Thương mại ABC"));
    let to_root = app.emails_to("cuctruong@customs.test");
    assert_eq!(
        to_root.len(),
        1,
        "the inspection unit's case climbs to the authority"
    );
    assert!(!to_root[0].text.contains("Công ty TNHH Thương mại ABC"));
    assert!(!to_root[0].text.contains("0933444555"));
}

#[tokio::test]
async fn the_assignee_loses_the_contact_when_the_case_closes() {
    let app = spawn_app().await;
    let r = three_kinds(&app).await;
    let head = app.staff_token(StaffRole::UnitHead, Some("03CC"));
    let path = format!("/v1/cases/{}", r.ordinary);
    let open: Value = app.staff_json(&head, &path).await;
    assert!(open["case"]["complaint"]["contact"].is_object());
    let res = app
        .case_action(&head, &r.ordinary, "resolve", "Đã nhắc nhở")
        .await;
    assert_eq!(res.status(), 200);
    let closed: Value = res.json().await.unwrap();
    assert!(closed["case"]["complaint"]["contact"].is_null());
    let again: Value = app.staff_json(&head, &path).await;
    assert!(again["case"]["complaint"]["contact"].is_null());
}

#[tokio::test]
async fn an_officer_sees_figures_only_for_months_of_at_least_k_ratings() {
    let app = spawn_app().await;
    let officer = app.officer_token("HP5678");
    let rate = |level: &'static str| {
        let app = &app;
        async move {
            let link = app.issue_and_get_link(&number()).await;
            // HP5678 is the clearance officer: subject 6 on the test form.
            let fields = [("level.6", level), ("comment.6", "nhanh gọn")];
            assert_eq!(
                app.open(&link)
                    .await
                    .post(app, true, &fields)
                    .await
                    .status(),
                200
            );
        }
    };
    for level in ["5", "4", "5", "3"] {
        rate(level).await;
    }
    let today = vn_day(app.clock_now());
    app.roll_up(today).await;
    let month = today.format("%Y-%m").to_string();
    let me: Value = app.staff_json(&officer, "/v1/me").await;
    let this = me["months"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["month"] == month)
        .unwrap();
    assert_eq!(this["enough_ratings"], false, "4 ratings: no figures");
    assert!(this["figures"].is_null());
    assert!(
        me["comments"].as_array().unwrap().is_empty(),
        "nor comments"
    );

    rate("5").await;
    app.roll_up(today).await;
    let me: Value = app.staff_json(&officer, "/v1/me").await;
    let this = me["months"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["month"] == month)
        .unwrap();
    assert_eq!(this["enough_ratings"], true, "5 ratings: figures");
    assert_eq!(this["figures"]["ratings"], 5);
    let comments = me["comments"].as_array().unwrap();
    assert_eq!(comments.len(), 5);
    let text = me.to_string();
    for secret in ["Công ty", "0200123456", "xnk@abc.com.vn"] {
        assert!(!text.contains(secret), "an officer never reads {secret}");
    }
    // Nobody else reads an officer's page; an officer reads nothing else.
    let head = app.staff_token(StaffRole::UnitHead, Some("03CC"));
    assert_eq!(app.staff_get(&head, "/v1/me").await.status(), 403);
    assert_eq!(app.staff_get(&officer, "/v1/cases").await.status(), 403);
}

#[tokio::test]
async fn every_read_of_personal_data_is_audited_once_without_contents() {
    let app = spawn_app().await;
    let r = three_kinds(&app).await;
    let head = app.staff_token(StaffRole::UnitHead, Some("03CC"));
    let dept = app.staff_token(StaffRole::Department, None);
    app.staff_json(&head, "/v1/ratings").await;
    app.staff_json(&head, &format!("/v1/cases/{}", r.ordinary))
        .await;
    let log: Value = app.staff_json(&dept, "/v1/audit").await;
    let entries = log["items"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{log}");
    let ratings = entries.iter().find(|e| e["what"] == "ratings").unwrap();
    assert_eq!(
        ratings["who"], "operator-token:tester",
        "an operator token is recorded as such"
    );
    assert_eq!(ratings["role"], "unit_head");
    assert_eq!(ratings["unit"], "03CC");
    assert!(
        ratings["records"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| !x.as_str().unwrap().starts_with(&r.misconduct))
    );
    let case = entries.iter().find(|e| e["what"] == "case").unwrap();
    assert_eq!(case["records"], serde_json::json!([r.ordinary]));
    let text = log.to_string();
    for content in ["chờ lâu", "0933444555", "Ngô Lan", "Công ty"] {
        assert!(
            !text.contains(content),
            "the log holds ids, never {content}"
        );
    }
    // Reading the log is not itself a read of personal data; only the
    // department reads it.
    let again: Value = app.staff_json(&dept, "/v1/audit").await;
    assert_eq!(again["items"].as_array().unwrap().len(), 2);
    assert_eq!(app.staff_get(&head, "/v1/audit").await.status(), 403);
}

#[tokio::test]
async fn a_closed_case_forgets_the_contact_after_the_grace_period_and_keeps_the_rest() {
    let app = spawn_app().await;
    let r = three_kinds(&app).await;
    let dept = app.staff_token(StaffRole::Department, None);
    let path = format!("/v1/cases/{}", r.ordinary);
    let res = app
        .case_action(&dept, &r.ordinary, "resolve", "Đã nhắc nhở")
        .await;
    assert_eq!(res.status(), 200);
    let day = vn_day(app.clock_now());
    app.clock.advance(chrono::Duration::days(29));
    assert_eq!(app.nightly(day).await.contacts_forgotten, 0);
    let dept = app.staff_token(StaffRole::Department, None);
    assert!(app.staff_json(&dept, &path).await["case"]["complaint"]["contact"].is_object());

    app.clock.advance(chrono::Duration::days(2));
    assert_eq!(app.nightly(day).await.contacts_forgotten, 1);
    assert_eq!(app.nightly(day).await.contacts_forgotten, 0, "once");
    let dept = app.staff_token(StaffRole::Department, None);
    let case: Value = app.staff_json(&dept, &path).await;
    assert!(case["case"]["complaint"]["contact"].is_null());
    assert_eq!(case["case"]["finding"], "Đã nhắc nhở", "the finding stays");
    assert_eq!(
        case["case"]["complaint"]["business"]["tax_code"],
        "0200123456"
    );
    let trail: Vec<&str> = case["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        trail.contains(&"resolve") && trail.last() == Some(&"note"),
        "{trail:?}"
    );
    let form = app.host.store.form(&r.ordinary).await.unwrap().unwrap();
    assert_eq!(
        form.submission.unwrap().contact,
        None,
        "gone from the form as well"
    );
    // The open misconduct case keeps its contact.
    let m = app.host.store.case(&r.misconduct).await.unwrap().unwrap();
    assert!(m.complaint.contact.is_some());
}
