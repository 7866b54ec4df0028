//! Case handling an inspection unit can run, on the local host: transfer,
//! findings, working-day deadlines from the department's holiday calendar,
//! reminders and escalation that never repeat, the outcome link (accept,
//! rate the handling, appeal once), suggestions, concurrency and retention.

use chrono::{DateTime, Duration, Utc};
use csq_core::auth::staff::StaffRole;
use csq_core::domain::time::vn_day;
use csq_core::ports::CaseStore;
use serde_json::{Value, json};

use crate::helpers::{Email, TestApp, number, spawn_app};

/// Submits a form for a new declaration with `fields` and waits for its cases.
pub(crate) async fn submit(app: &TestApp, fields: &[(&str, &str)]) -> String {
    let number = number();
    let link = app.issue_and_get_link(&number).await;
    let b = app.open(&link).await;
    let res = b.post(app, true, fields).await;
    assert_eq!(
        res.status(),
        200,
        "{}",
        res.text().await.unwrap_or_default()
    );
    let form_id = link
        .rsplit('/')
        .next()
        .unwrap()
        .split('.')
        .nth(1)
        .unwrap()
        .to_owned();
    app.eventually("the case email", || {
        app.emails()
            .into_iter()
            .find(|e| e.subject.contains(&number) && e.subject.starts_with("[CSQ]"))
    })
    .await;
    form_id
}

/// A level-1 rating of the office (a complaint needs the contact).
pub(crate) fn low() -> Vec<(&'static str, &'static str)> {
    vec![
        ("level.0", "1"),
        ("reason.0", "delay"),
        ("contact_name", "Mai Lan"),
        ("contact_phone", "0901234567"),
    ]
}

fn outcome_link(mail: &Email) -> String {
    mail.text
        .split_whitespace()
        .find(|w| w.contains("/c/"))
        .expect("an outcome link")
        .to_owned()
}

async fn detail(app: &TestApp, token: &str, id: &str) -> Value {
    app.staff_json(token, &format!("/v1/cases/{id}")).await
}

#[tokio::test]
async fn transfer_finding_outcome_link_and_appeal_one_level_up() {
    let app = spawn_app().await;
    let id = submit(&app, &low()).await;
    let dept = app.staff_token(StaffRole::Department, None);
    let head04 = app.staff_token(StaffRole::UnitHead, Some("04CC"));
    assert_eq!(
        app.staff_get(&head04, &format!("/v1/cases/{id}"))
            .await
            .status(),
        404
    );

    // Transfer: a reason is required; the new assignee is emailed and sees it.
    let res = app
        .case_action_json(&dept, &id, &json!({"action": "transfer", "to": "04CC"}))
        .await;
    assert_eq!(res.status(), 422);
    let res = app
        .case_action_json(
            &dept,
            &id,
            &json!({"action": "transfer", "to": "NOPE", "note": "x"}),
        )
        .await;
    assert_eq!(res.status(), 422);
    let res = app
        .case_action_json(
            &dept,
            &id,
            &json!({"action": "transfer", "to": "04CC", "note": "Tờ khai do 04CC xử lý"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let moved: Value = res.json().await.unwrap();
    assert_eq!(moved["case"]["assignment"]["unit"], "04CC");
    assert_eq!(
        moved["case"]["transfers"][0]["reason"],
        "Tờ khai do 04CC xử lý"
    );
    let mail = app
        .eventually("the transfer email", || {
            app.emails_to("head04cc@customs.test").into_iter().next()
        })
        .await;
    assert!(mail.text.contains("chuyển"), "{}", mail.text);
    let seen = detail(&app, &head04, &id).await;
    let actions: Vec<&str> = seen["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"transfer") && actions.ends_with(&["transfer", "assignee_notified"]),
        "{actions:?}"
    );

    // Illegal transitions answer 409 naming what is allowed.
    assert_eq!(
        app.case_action(&head04, &id, "verify", "").await.status(),
        200
    );
    let res = app.case_action(&head04, &id, "verify", "").await;
    assert_eq!(res.status(), 409);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "action_not_allowed");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("allowed now: transfer, resolve, dismiss, note")
    );

    // Resolving records the finding: upheld, the officers from the handling, category, measure.
    for bad in [
        json!({"action": "resolve", "note": "x"}),
        json!({"action": "resolve", "note": "x", "upheld": true, "violation_category": "delay"}),
        json!({"action": "resolve", "note": "x", "upheld": true, "violation_category": "delay", "measure": "beheading"}),
        json!({"action": "resolve", "note": "x", "upheld": true, "violation_category": "delay", "measure": "reminder", "officers": ["ZZ0000"]}),
        json!({"action": "resolve", "note": "x", "surprise": 1}),
    ] {
        assert_eq!(
            app.case_action_json(&head04, &id, &bad).await.status(),
            422,
            "{bad}"
        );
    }
    let res = app
        .case_action_json(
            &head04,
            &id,
            &json!({"action": "resolve", "note": "Công chức đã được nhắc nhở", "upheld": true,
                    "officers": ["HP5678"], "violation_category": "delay", "measure": "reminder"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let res = app.case_action(&head04, &id, "note", "late").await;
    assert_eq!(res.status(), 409);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("nothing (the case is closed)")
    );

    // The business's outcome email carries the outcome link.
    let outcome = app
        .emails_to("xnk@abc.com.vn")
        .into_iter()
        .find(|e| e.subject.starts_with("Kết quả xử lý phản ánh"))
        .expect("outcome email");
    let link = outcome_link(&outcome);
    assert!(outcome.text.contains("Công chức đã được nhắc nhở"));
    // It says where the handling of the business's data is explained.
    assert!(outcome.text.contains("/privacy?lang=vi") && outcome.html.contains("/privacy?lang=en"));

    // Forged, form-purpose and cross-site requests are refused.
    let forged = format!("{}x", &link[..link.len() - 1]);
    assert_eq!(app.http.get(&forged).send().await.unwrap().status(), 404);
    let form_token_as_case = link.replace("/c/", "/f/");
    assert_ne!(
        app.http
            .get(&form_token_as_case)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let b = app.open(&link).await;
    assert!(b.page.contains(r#"value="appeal""#) && b.page.contains(r#"value="rate""#));
    let no_csrf = app
        .http
        .post(&link)
        .header("cookie", &b.cookie)
        .form(&[("action", "accept")])
        .send()
        .await
        .unwrap();
    assert_eq!(no_csrf.status(), 403);

    // Rate the handling once; a second rating is refused.
    assert_eq!(
        b.post(&app, false, &[("action", "rate"), ("level", "4")])
            .await
            .status(),
        200
    );
    assert_eq!(
        b.post(&app, false, &[("action", "rate"), ("level", "1")])
            .await
            .status(),
        409
    );
    assert_eq!(
        b.post(&app, false, &[("action", "rate"), ("level", "9")])
            .await
            .status(),
        422
    );
    // Appeal: needs a reason, reopens the case one level up (04CC › R03), once.
    assert_eq!(
        b.post(&app, false, &[("action", "appeal"), ("reason", " ")])
            .await
            .status(),
        422
    );
    let res = b
        .post(
            &app,
            false,
            &[("action", "appeal"), ("reason", "Chưa thỏa đáng")],
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        b.post(&app, false, &[("action", "appeal"), ("reason", "lần hai")])
            .await
            .status(),
        409
    );
    let reopened = detail(&app, &dept, &id).await;
    assert_eq!(reopened["case"]["status"], "open");
    assert_eq!(reopened["case"]["assignment"]["unit"], "R03");
    assert_eq!(
        reopened["case"]["response"]["appeal_reason"],
        "Chưa thỏa đáng"
    );
    assert_eq!(reopened["case"]["response"]["handling_rating"], 4);
    let to_region = app
        .eventually("the appeal email", || {
            app.emails_to("head-r03@customs.test").into_iter().next()
        })
        .await;
    assert!(to_region.text.contains("khiếu nại"), "{}", to_region.text);

    // Answered again: the business may accept, not appeal twice; the old link
    // still opens the case.
    let region = app.staff_token(StaffRole::UnitHead, Some("R03"));
    let res = app
        .case_action_json(
            &region,
            &id,
            &json!({"action": "resolve", "note": "Giữ nguyên", "upheld": true, "officers": ["HP5678"],
                    "violation_category": "delay", "measure": "criticism"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let b = app.open(&link).await;
    assert!(!b.page.contains(r#"value="appeal""#) && b.page.contains(r#"value="accept""#));
    assert_eq!(
        b.post(&app, false, &[("action", "accept")]).await.status(),
        200
    );
    assert_eq!(
        b.post(&app, false, &[("action", "accept")]).await.status(),
        409,
        "reused"
    );

    // Expired: 15 days after the outcome.
    app.clock.advance(Duration::days(16));
    assert_eq!(app.http.get(&link).send().await.unwrap().status(), 410);

    // Statistics: the upheld complaint counts for the office path and the
    // officer the finding names; only the department and inspection read it.
    let dept = app.staff_token(StaffRole::Department, None);
    let head04 = app.staff_token(StaffRole::UnitHead, Some("04CC"));
    let today = vn_day(app.clock_now() - Duration::days(16));
    app.roll_up(today).await;
    let q = format!("from={today}&to={today}");
    // The complaint was about 03CC, whoever answered it.
    let about = app
        .staff_json(&dept, &format!("/v1/stats?unit=03CC&{q}"))
        .await;
    assert_eq!(about["days"][0]["complaints_upheld"], 1, "{about}");
    let office = app
        .staff_json(&dept, &format!("/v1/stats?unit=04CC&{q}"))
        .await;
    assert_eq!(office["days"][0]["complaints_upheld"], 0, "{office}");
    let officer = app
        .staff_json(&dept, &format!("/v1/stats?unit=officer:HP5678&{q}"))
        .await;
    assert_eq!(officer["days"][0]["complaints_upheld"], 1);
    let as_head = app
        .staff_json(&head04, &format!("/v1/stats?unit=04CC&{q}"))
        .await;
    assert!(
        as_head["days"][0]["complaints_upheld"].is_null(),
        "discipline figures are not the unit head's"
    );
    // The handling rating counts for the unit that answered, on the day given.
    assert_eq!(
        office["days"][0]["handling_level_counts"],
        json!([0, 0, 0, 1, 0])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_staff_acting_at_once_one_wins_the_other_gets_the_current_case() {
    let app = spawn_app().await;
    let id = submit(&app, &low()).await;
    let dept = app.staff_token(StaffRole::Department, None);
    let head = app.staff_token(StaffRole::UnitHead, Some("03CC"));
    let version = detail(&app, &dept, &id).await["case"]["version"].clone();
    let verify = json!({"action": "verify", "version": version});
    let dismiss = json!({"action": "dismiss", "note": "Không có cơ sở", "version": version});
    let (a, b) = tokio::join!(
        app.case_action_json(&dept, &id, &verify),
        app.case_action_json(&head, &id, &dismiss)
    );
    let mut codes = [a.status().as_u16(), b.status().as_u16()];
    codes.sort();
    assert_eq!(codes, [200, 409]);
    let loser = if a.status() == 409 { a } else { b };
    let body: Value = loser.json().await.unwrap();
    assert_eq!(body["error"]["code"], "conflict");
    let current = detail(&app, &dept, &id).await;
    assert!(
        body["current"]["version"].as_u64() > version.as_u64(),
        "the winner's change"
    );
    assert!(body["current"]["version"].as_u64() <= current["case"]["version"].as_u64());
    assert_eq!(body["current"]["status"], current["case"]["status"]);
}

#[tokio::test]
async fn a_suggestion_is_its_own_case_answered_by_email_never_a_complaint() {
    let app = spawn_app().await;
    let fields = [
        ("level.0", "5"),
        ("suggestion", "Nên có thêm chỗ đỗ xe cho xe container"),
    ];
    let form_id = submit(&app, &fields).await;
    let dept = app.staff_token(StaffRole::Department, None);
    assert_eq!(
        app.staff_get(&dept, &format!("/v1/cases/{form_id}"))
            .await
            .status(),
        404,
        "no complaint"
    );
    let id = format!("{form_id}-kn");
    let case = detail(&app, &dept, &id).await;
    assert_eq!(case["case"]["kind"], "suggestion");
    assert_eq!(case["case"]["assignment"]["unit"], "03CC");
    assert_eq!(
        case["case"]["complaint"]["suggestion"],
        "Nên có thêm chỗ đỗ xe cho xe container"
    );
    assert!(
        !case["case"]["allowed_actions"]
            .as_array()
            .unwrap()
            .contains(&json!("dismiss"))
    );
    let mail = app.emails_to("head03cc@customs.test").pop().unwrap();
    assert!(mail.subject.contains("Kiến nghị"), "{}", mail.subject);
    let listed = app
        .staff_json(&dept, "/v1/cases?unit=03CC&kind=suggestion")
        .await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    let listed = app
        .staff_json(&dept, "/v1/cases?unit=03CC&kind=complaint")
        .await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 0);
    assert_eq!(
        app.staff_get(&dept, "/v1/cases?kind=praise").await.status(),
        400
    );
    let res = app
        .case_action_json(
            &dept,
            &id,
            &json!({"action": "resolve", "note": "Sẽ bố trí từ quý sau", "upheld": true}),
        )
        .await;
    assert_eq!(res.status(), 422, "a suggestion is answered, not judged");
    assert_eq!(
        app.case_action(&dept, &id, "resolve", "Sẽ bố trí từ quý sau")
            .await
            .status(),
        200
    );
    let answer = app
        .emails_to("xnk@abc.com.vn")
        .into_iter()
        .find(|e| e.subject.contains("kiến nghị"))
        .expect("the answer");
    assert!(answer.text.contains("Sẽ bố trí từ quý sau"));
    let b = app.open(&outcome_link(&answer)).await;
    assert!(
        !b.page.contains(r#"value="appeal""#),
        "a suggestion is not appealed"
    );

    let today = vn_day(app.clock_now());
    let rows = app.roll_up(today).await;
    let office = rows.iter().find(|r| r.unit == "unit:03CC").unwrap();
    assert_eq!(
        (office.complaints_opened, office.suggestions_opened),
        (0, 1)
    );
}

fn vn(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

#[tokio::test]
async fn deadlines_count_working_days_and_reminders_and_escalations_never_repeat() {
    let app = spawn_app().await;
    // Tokens are minted at the moment of use: the clock jumps weeks ahead.
    let dept = || app.staff_token(StaffRole::Department, None);
    let head = || app.staff_token(StaffRole::UnitHead, Some("03CC"));
    // The department keeps the holiday calendar.
    let rules = json!({"holidays": [{"date": "2027-01-01", "name": "Tết Dương lịch"}]});
    let put = |token: String, body: Value, q: &'static str| {
        let app = &app;
        async move {
            app.http
                .put(format!("{}/v1/case-rules{q}", app.base))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(put(head(), rules.clone(), "").await.status(), 403);
    let bad = json!({"holidays": [{"date": "2027-01-01", "name": ""}], "appeal_days": 0});
    let res = put(dept(), bad, "").await;
    assert_eq!(res.status(), 422);
    let errors: Value = res.json().await.unwrap();
    assert_eq!(errors["errors"].as_array().unwrap().len(), 2, "{errors}");
    // An array is not a rules document (serde would take it for all defaults).
    let res = put(dept(), json!([]), "").await;
    assert_eq!(res.status(), 422);
    assert_eq!(
        res.json::<Value>().await.unwrap()["errors"][0]["field"],
        "$"
    );
    let res = put(dept(), rules.clone(), "?version=0").await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        put(dept(), json!({}), "?version=0").await.status(),
        409,
        "stale editor"
    );
    assert_eq!(
        app.staff_json(&dept(), "/v1/case-rules").await["version"],
        1
    );

    // Opened Thursday 31 December 2026 at 10:00: New Year's Day and the
    // weekend do not count.
    app.clock.set(vn("2026-12-31T10:00:00+07:00"));
    let id = submit(&app, &low()).await;
    let case = detail(&app, &dept(), &id).await;
    assert_eq!(case["case"]["acknowledge_due_at"], "2027-01-04T17:00:00Z");
    assert_eq!(case["case"]["due_at"], "2027-01-15T17:00:00Z");
    // Issue 23, item 7: deadlines read as people read them, not as the next
    // midnight: in the console's view and in the assignee's email.
    assert_eq!(case["case"]["due_by"]["en"], "by the end of 15/01/2027");
    assert_eq!(case["case"]["acknowledge_by"]["vi"], "hết ngày 04/01/2027");
    let assigned = app.emails_to("head03cc@customs.test");
    let assigned = assigned.last().expect("the assignee's email");
    assert!(
        assigned.text.contains("Due by the end of 15/01/2027")
            && assigned.text.contains("hết ngày 15/01/2027")
            && !assigned.text.contains("16/01/2027"),
        "{}",
        assigned.text
    );

    // Not acknowledged by the end of Monday: listed as overdue.
    app.clock.set(vn("2027-01-05T09:00:00+07:00"));
    let overdue = app
        .staff_json(&dept(), "/v1/cases?unit=03CC&overdue=true")
        .await;
    assert_eq!(overdue["items"].as_array().unwrap().len(), 1);
    let within = app
        .staff_json(&dept(), "/v1/cases?unit=03CC&due_within_days=3")
        .await;
    assert_eq!(within["items"].as_array().unwrap().len(), 0);
    assert_eq!(
        app.case_action(&head(), &id, "verify", "").await.status(),
        200
    );
    let overdue = app
        .staff_json(&dept(), "/v1/cases?unit=03CC&overdue=true")
        .await;
    assert_eq!(overdue["items"].as_array().unwrap().len(), 0);

    let night = |at: &str| {
        let app = &app;
        let at = vn(at);
        async move {
            app.clock.set(at);
            app.nightly(vn_day(at) - Duration::days(1)).await
        }
    };
    // One reminder two working days before the due day (Wednesday 13th), never twice.
    assert_eq!(
        night("2027-01-12T23:00:00+07:00").await.case_reminders_sent,
        0
    );
    assert_eq!(
        night("2027-01-13T01:00:00+07:00").await.case_reminders_sent,
        1
    );
    assert_eq!(
        night("2027-01-13T02:00:00+07:00").await.case_reminders_sent,
        0
    );
    assert_eq!(
        night("2027-01-14T01:00:00+07:00").await.case_reminders_sent,
        0
    );
    let reminders: Vec<Email> = app
        .emails_to("head03cc@customs.test")
        .into_iter()
        .filter(|e| e.subject.contains("Nhắc hạn"))
        .collect();
    assert_eq!(reminders.len(), 1);
    assert!(
        reminders[0]
            .text
            .contains("is due by the end of 15/01/2027"),
        "{}",
        reminders[0].text
    );
    let within = app
        .staff_json(&dept(), "/v1/cases?unit=03CC&due_within_days=3")
        .await;
    assert_eq!(within["items"].as_array().unwrap().len(), 1);

    // Overdue after Friday 15th: the region's head, once; 5 working days
    // later the authority's head, once.
    assert_eq!(night("2027-01-15T23:00:00+07:00").await.cases_escalated, 0);
    assert_eq!(night("2027-01-16T01:00:00+07:00").await.cases_escalated, 1);
    assert_eq!(night("2027-01-17T01:00:00+07:00").await.cases_escalated, 0);
    assert_eq!(night("2027-01-22T12:00:00+07:00").await.cases_escalated, 0);
    assert_eq!(night("2027-01-23T01:00:00+07:00").await.cases_escalated, 1);
    assert_eq!(night("2027-01-24T01:00:00+07:00").await.cases_escalated, 0);
    assert_eq!(app.emails_to("head-r03@customs.test").len(), 1);
    assert_eq!(app.emails_to("cuctruong@customs.test").len(), 1);
}

#[tokio::test]
async fn expired_personal_data_anonymises_the_case_and_keeps_its_finding_and_trail() {
    let app = spawn_app().await;
    let id = submit(&app, &low()).await;
    let dept = app.staff_token(StaffRole::Department, None);
    assert_eq!(
        app.case_action(&dept, &id, "resolve", "Đã nhắc nhở")
            .await
            .status(),
        200
    );
    let before = detail(&app, &dept, &id).await;
    let trail = before["events"].as_array().unwrap().len();

    app.clock.advance(Duration::days(366));
    let dept = app.staff_token(StaffRole::Department, None);
    let report = app.nightly(vn_day(app.clock_now())).await;
    assert_eq!(report.cases_anonymised, 1);
    assert_eq!(
        app.nightly(vn_day(app.clock_now())).await.cases_anonymised,
        0,
        "once"
    );
    let after = detail(&app, &dept, &id).await;
    assert_eq!(after["case"]["anonymised"], true);
    assert!(after["case"]["complaint"]["contact"].is_null());
    assert_eq!(after["case"]["conclusion"], before["case"]["conclusion"]);
    assert_eq!(after["case"]["finding"], "Đã nhắc nhở");
    let events = after["events"].as_array().unwrap();
    assert_eq!(events.len(), trail + 1);
    assert_eq!(events.last().unwrap()["action"], "anonymised");
    assert!(!after.to_string().contains("xnk@abc.com.vn"));
    let stored = app.host.store.case(&id).await.unwrap().unwrap();
    assert!(
        !serde_json::to_string(&stored)
            .unwrap()
            .contains("xnk@abc.com.vn")
    );
    assert!(
        !serde_json::to_string(&stored)
            .unwrap()
            .contains("0901234567")
    );
}
