//! The whole loop as its users live it: issue → email → rate → case → answer → stats.

use csq_core::auth::staff::StaffRole;
use csq_core::domain::time::vn_day;
use serde_json::Value;

use crate::helpers::{TestApp, declaration, number, spawn_app, spawn_app_with};

#[tokio::test]
async fn a_misconduct_complaint_travels_from_email_to_statistics() {
    // GIVEN a declaration registered and handled at branch 03CC
    let app = spawn_app().await;
    let decl = number();
    let link = app.issue_and_get_link(&decl).await;
    assert!(link.starts_with(&format!("{}/f/", app.base)));

    // WHEN the business opens the emailed link, rates an officer 1 for harassment
    let browser = app.open(&link).await;
    assert!(browser.page.contains("Nguyễn Văn An"));
    assert!(
        browser.page.contains("Đội 1") && browser.page.contains("Chi cục Khu vực 03"),
        "units are named from the org directory, with the path above the office"
    );
    assert!(browser.page.contains(&decl));
    let fields = [
        ("level.0", "4"),
        ("reason.0", "fast"),
        ("level.5", "1"),
        ("reason.5", "harassment"),
        ("comment.5", "<script>alert('x')</script> đòi tiền"),
        ("contact_name", "Lê Văn Cường"),
        ("contact_phone", "0912 345 678"),
        ("action", "review"),
    ];
    let review = browser.post(&app, false, &fields).await;
    assert_eq!(review.status(), 200);
    let review_page = review.text().await.unwrap();
    assert!(
        review_page.contains("&lt;script&gt;"),
        "the comment is shown escaped"
    );
    assert!(
        !review_page.contains("<script>alert"),
        "and never as markup"
    );
    assert!(review_page.contains("Sách nhiễu"));

    // ... and confirms ("Gửi")
    let sent = browser.post(&app, true, &fields).await;
    assert_eq!(sent.status(), 200);
    let thanks = sent.text().await.unwrap();
    assert!(thanks.contains("Cảm ơn"));
    assert!(
        thanks.contains("thẩm quyền"),
        "the business is told its complaint goes on"
    );

    // THEN the router opens a case for the inspection unit and emails it
    let mail = app
        .eventually("the inspection unit's email", || {
            app.emails_to("thanhtra@customs.test").into_iter().next()
        })
        .await;
    assert!(mail.subject.contains(&decl));
    assert!(mail.text.contains("Lê Văn Cường") && mail.text.contains("0912 345 678"));
    assert!(
        app.emails_to("head03cc@customs.test").is_empty(),
        "misconduct never goes to the branch"
    );

    let inspection = app.staff_token(StaffRole::Inspection, None);
    let cases: Value = app
        .staff_get(&inspection, "/v1/cases")
        .await
        .json()
        .await
        .unwrap();
    let case = &cases["items"][0];
    assert_eq!(case["assignment"]["unit"], "inspection");
    assert_eq!(case["status"], "open");
    let case_id = case["id"].as_str().unwrap().to_owned();
    assert!(
        mail.text.contains(&format!("/dashboard#case={case_id}")),
        "the email opens the case in the dashboard"
    );

    // WHEN the inspection unit verifies and resolves it
    for (action, note) in [
        ("verify", ""),
        (
            "resolve",
            "Công chức đã bị kỷ luật; đã xin lỗi doanh nghiệp.",
        ),
    ] {
        let res = app.case_action(&inspection, &case_id, action, note).await;
        assert_eq!(res.status(), 200, "{action}");
    }

    // THEN the business gets the outcome, and the trail shows every step
    let outcome = app
        .eventually("the outcome email", || {
            app.emails_to("xnk@abc.com.vn")
                .into_iter()
                .find(|e| e.subject.contains("Kết quả"))
        })
        .await;
    assert!(outcome.text.contains("kỷ luật"));
    let detail: Value = app
        .staff_get(&inspection, &format!("/v1/cases/{case_id}"))
        .await
        .json()
        .await
        .unwrap();
    let actions: Vec<&str> = detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "opened",
            "assignee_notified",
            "verify",
            "resolve",
            "business_notified"
        ]
    );
    assert_eq!(detail["case"]["status"], "resolved");

    // AND the nightly rollup counts the ratings and the complaint
    let today = vn_day(app.clock_now());
    app.roll_up(today).await;
    let dept = app.staff_token(StaffRole::Department, None);
    let officer: Value = app
        .staff_get(
            &dept,
            &format!("/v1/stats?unit=officer:HP1234&from={today}&to={today}"),
        )
        .await
        .json()
        .await
        .unwrap();
    let day = &officer["days"][0];
    assert_eq!(day["level_counts"], serde_json::json!([1, 0, 0, 0, 0]));
    assert_eq!(day["complaints_opened"], 1);
    assert_eq!(day["complaints_closed"], 1);
    let branch: Value = app
        .staff_get(
            &dept,
            &format!("/v1/stats?unit=03CC&from={today}&to={today}"),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(branch["days"][0]["average"], 4.0);
    assert_eq!(branch["days"][0]["forms_issued"], 1);
    assert_eq!(branch["days"][0]["response_rate"], 1.0);
}

#[tokio::test]
async fn an_ordinary_complaint_goes_to_the_branch_head() {
    let app = spawn_app().await;
    let link = app.issue_and_get_link(&number()).await;
    let browser = app.open(&link).await;
    let fields = [
        ("level.3", "2"),
        ("reason.3", "delay"),
        ("contact_name", "Phạm Thu"),
        ("contact_phone", "0987654321"),
    ];
    assert_eq!(browser.post(&app, true, &fields).await.status(), 200);
    let mail = app
        .eventually("the branch head's email", || {
            app.emails_to("head03cc@customs.test").into_iter().next()
        })
        .await;
    assert!(mail.text.contains("Chậm trễ"));
    assert!(app.emails_to("thanhtra@customs.test").is_empty());
}

#[tokio::test]
async fn a_happy_rating_opens_no_case() {
    let app = spawn_app().await;
    let link = app.issue_and_get_link(&number()).await;
    let browser = app.open(&link).await;
    let res = browser
        .post(&app, true, &[("level.0", "5"), ("reason.0", "helpful")])
        .await;
    assert_eq!(res.status(), 200);
    assert!(!res.text().await.unwrap().contains("thẩm quyền"));
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(app.emails().len(), 1, "only the invitation was sent");
    let dept = app.staff_token(StaffRole::Department, None);
    let cases: Value = app
        .staff_get(&dept, "/v1/cases")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(cases["items"].as_array().unwrap().len(), 0);
}

/// Issue 19, the cap per business: three declarations of one business in a
/// day give one email; the others are issued all the same (`capped`) and open
/// from the declaration software's link; another business is not held back;
/// no reminder goes within the period; a week later the business is asked
/// again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_email_per_business_per_period() {
    let app = spawn_app_with(|c| c.policy.invitation_cap_days = 7).await;
    let issue = |k: usize, tax_code: &'static str| {
        let app = &app;
        async move {
            let mut d = declaration(&number());
            d["business"]["email"] = format!("xnk{k}@abc.com.vn").into();
            d["business"]["tax_code"] = tax_code.into();
            let res = app.issue(&d).await;
            assert_eq!(res.status(), 201);
            res.json::<serde_json::Value>().await.unwrap()
        }
    };
    let mut answers = vec![];
    for k in 0..3 {
        answers.push(issue(k, "0200123456").await);
    }
    let states: Vec<&str> = answers
        .iter()
        .map(|a| a["invitation"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["sent", "capped", "capped"]);
    let invitations = |app: &TestApp| {
        app.emails()
            .into_iter()
            .filter(|e| e.subject.starts_with("Đánh giá chất lượng phục vụ"))
            .count()
    };
    assert_eq!(invitations(&app), 1, "one email for the business");
    let capped = answers[1]["rating_url"].as_str().unwrap();
    assert_eq!(app.http.get(capped).send().await.unwrap().status(), 200);
    assert_eq!(
        issue(3, "0300999888").await["invitation"],
        "sent",
        "another business"
    );

    // Reminders are emails too: none within the period.
    app.clock.advance(chrono::Duration::days(4));
    let day = csq_core::domain::time::vn_yesterday(app.clock_now());
    let report = app
        .host
        .services
        .housekeeping
        .run_nightly(day)
        .await
        .unwrap();
    assert_eq!(report.reminders_sent, 0, "{report:?}");

    app.clock.advance(chrono::Duration::days(3));
    assert_eq!(
        issue(4, "0200123456").await["invitation"],
        "sent",
        "a week later"
    );
}
