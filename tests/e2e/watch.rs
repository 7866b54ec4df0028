//! Issue 20, the retaliation watch: a business that complained about an
//! office and whose stages there then went over their limits far more often
//! than before, and than the office's other businesses, is flagged the next
//! week, for the inspection unit and the department alone; nothing goes to
//! the office.

use chrono::{DateTime, Duration, Utc};
use csq_core::auth::staff::StaffRole;
use csq_core::domain::time::vn_day;
use serde_json::{Value, json};

use crate::helpers::*;

const WATCHED: &str = "0311111111";

/// A declaration of `tax_code` at 03CC registered at `at`, its document check
/// taking `minutes` of clock time from ten minutes after registration.
fn timed(tax_code: &str, at: DateTime<Utc>, minutes: i64) -> Value {
    let mut d = declaration(&number());
    d["declaration"]["registered_at"] = at.to_rfc3339().into();
    d["business"]["tax_code"] = tax_code.into();
    d["business"]["email"] = format!("xnk-{tax_code}@abc.com.vn").into();
    let start = at + Duration::minutes(10);
    d["handling"][0]["started_at"] = start.to_rfc3339().into();
    d["handling"][0]["finished_at"] = (start + Duration::minutes(minutes)).to_rfc3339().into();
    d
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_complainant_treated_worse_afterwards_is_flagged_for_the_inspection_unit_alone() {
    let app = spawn_app().await;
    let opened = app.clock_now();
    // Before: the business's document checks all within their two hours.
    for i in 0..25 {
        let at = opened - Duration::days(30) + Duration::minutes(i);
        assert_eq!(app.issue(&timed(WATCHED, at, 45)).await.status(), 201);
    }
    // It complains about the office today.
    // Registered the day before (a declaration of the complaint's own day would
    // count as after it).
    let complaint = timed(WATCHED, opened - Duration::days(1), 45);
    let number = complaint["declaration"]["number"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(app.issue(&complaint).await.status(), 201);
    let mail = app
        .emails_to(&format!("xnk-{WATCHED}@abc.com.vn"))
        .into_iter()
        .find(|e| e.subject.contains(&number))
        .unwrap();
    let browser = app.open(&link_in(&mail.text)).await;
    let sent = browser
        .post(
            &app,
            true,
            &[
                ("level.0", "1"),
                ("reason.0", "delay"),
                ("contact_name", "Phạm Thị Dung"),
                ("contact_phone", "0912345678"),
                ("action", "send"),
            ],
        )
        .await;
    assert_eq!(sent.status(), 200);
    app.eventually("the office's case email", || {
        app.emails_to("head03cc@customs.test").into_iter().next()
    })
    .await;
    let head_mails = app.emails_to("head03cc@customs.test").len();

    // After: three days on, its checks take a day and more; the office's
    // other businesses' stay within the limit.
    app.clock.advance(Duration::days(3));
    let after = opened + Duration::hours(20);
    for i in 0..25 {
        let at = after + Duration::minutes(i);
        assert_eq!(app.issue(&timed(WATCHED, at, 60 * 30)).await.status(), 201);
    }
    for i in 0..40 {
        let at = after + Duration::minutes(i);
        let other = format!("03000000{i:02}");
        assert_eq!(app.issue(&timed(&other, at, 45)).await.status(), 201);
    }
    let today = vn_day(app.clock_now());
    for back in 0..=3 {
        app.roll_up(today - chrono::Days::new(back)).await;
    }
    let watch = app
        .host
        .services
        .housekeeping
        .run_retaliation_watch(today)
        .await
        .unwrap();
    assert_eq!(watch.flags.len(), 1, "{watch:?}");
    assert_eq!(watch.flags[0].tax_code, WATCHED);
    assert_eq!(watch.flags[0].after.stages_with_limit, 25);
    assert!(watch.pairs_watched >= 1);
    let again = app
        .host
        .services
        .housekeeping
        .run_retaliation_watch(today)
        .await
        .unwrap();
    assert_eq!(again.flags.len(), 1, "the same week's flag again…");

    // The inspection unit and the department read it; nobody else.
    let inspection = app.staff_token(StaffRole::Inspection, None);
    let listed = app.staff_json(&inspection, "/v1/watch").await;
    let items = listed["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "…raises no second case: {listed}");
    let case = &items[0];
    assert_eq!(case["business_tax_code"], WATCHED);
    assert_eq!(case["office"], "03CC");
    assert_eq!(case["status"], "open");
    assert!(
        case["found"][0]["comparison"]
            .as_str()
            .unwrap()
            .starts_with("over_limit")
    );
    assert!(
        !listed.to_string().contains("0300000000"),
        "never another business's name"
    );
    let dept = app.staff_token(StaffRole::Department, None);
    assert_eq!(app.staff_get(&dept, "/v1/watch").await.status(), 200);
    for token in [
        app.staff_token(StaffRole::UnitHead, Some("03CC")),
        app.staff_token(StaffRole::UnitHead, Some("CUC")),
        app.officer_token("HP1234"),
    ] {
        assert_eq!(app.staff_get(&token, "/v1/watch").await.status(), 403);
    }
    let id = case["id"].as_str().unwrap();
    let act = |body: Value| {
        let (app, inspection) = (&app, inspection.clone());
        let path = format!("/v1/watch/{id}/actions");
        async move { app.staff_post(&inspection, &path, &body).await }
    };
    assert_eq!(act(json!({"action": "verify"})).await.status(), 200);
    assert_eq!(
        act(json!({"action": "resolve"})).await.status(),
        422,
        "a note"
    );
    let res = act(json!({"action": "resolve", "note": "Đã làm việc với Chi cục"})).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["status"], "resolved");
    assert_eq!(
        act(json!({"action": "verify"})).await.status(),
        422,
        "closed"
    );

    // Nothing went to the office, and the reads are audited.
    assert_eq!(app.emails_to("head03cc@customs.test").len(), head_mails);
    let audit = app
        .staff_json(&dept, &format!("/v1/audit?from={today}&to={today}"))
        .await
        .to_string();
    assert!(
        audit.contains("watch-list") && audit.contains("watch-resolve"),
        "{audit}"
    );
}
