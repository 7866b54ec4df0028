//! The nightly job as staff and businesses notice it: one reminder, expiry,
//! escalation of overdue cases, and statistics that do not change on a rerun.

use chrono::{Days, Duration};
use csq_core::domain::time::vn_day;

use crate::helpers::{TestApp, number, spawn_app};

/// The nightly job as the timer runs it: for yesterday, Vietnamese time.
async fn run_nightly(app: &TestApp) -> csq_core::app::nightly::NightlyReport {
    let yesterday = vn_day(app.clock_now())
        .checked_sub_days(Days::new(1))
        .unwrap();
    app.host.csq.run_nightly(yesterday).await.unwrap()
}

#[tokio::test]
async fn unanswered_forms_get_one_reminder_then_expire() {
    let app = spawn_app().await;
    let link = app.issue_and_get_link(&number()).await;
    let answered = app.issue_and_get_link(&number()).await;
    let b = app.open(&answered).await;
    assert_eq!(b.post(&app, true, &[("level.0", "5")]).await.status(), 200);

    // Two days on: too early for a reminder.
    app.clock.advance(Duration::days(2));
    assert_eq!(run_nightly(&app).await.reminders_sent, 0);

    // Three days and an hour on: one reminder, to the business that did not answer.
    app.clock.advance(Duration::days(1) + Duration::hours(1));
    let report = run_nightly(&app).await;
    assert_eq!(report.reminders_sent, 1);
    let reminders: Vec<_> = app
        .emails_to("xnk@abc.com.vn")
        .into_iter()
        .filter(|e| e.subject.starts_with("Nhắc"))
        .collect();
    assert_eq!(reminders.len(), 1);
    assert_eq!(
        crate::helpers::link_in(&reminders[0].text),
        link,
        "the reminder carries a working link"
    );
    assert_eq!(run_nightly(&app).await.reminders_sent, 0, "never twice");

    // Past the 30-day window: the form closes, and its link says so.
    app.clock.advance(Duration::days(28));
    let report = run_nightly(&app).await;
    assert_eq!(report.forms_expired, 1);
    assert_eq!(app.http.get(&link).send().await.unwrap().status(), 410);
    assert_eq!(
        app.http.get(&answered).send().await.unwrap().status(),
        409,
        "a submitted form stays submitted"
    );
}

#[tokio::test]
async fn overdue_cases_escalate_once_to_the_default_handler() {
    let app = spawn_app().await;
    let link = app.issue_and_get_link(&number()).await;
    let b = app.open(&link).await;
    let fields = [
        ("level.0", "1"),
        ("contact_name", "Mai Lan"),
        ("contact_phone", "0901234567"),
    ];
    assert_eq!(b.post(&app, true, &fields).await.status(), 200);
    app.eventually("the case", || {
        app.emails_to("head03cc@customs.test").into_iter().next()
    })
    .await;

    app.clock.advance(Duration::days(11));
    let day = vn_day(app.clock_now())
        .checked_sub_days(Days::new(1))
        .unwrap();
    assert_eq!(
        app.host.csq.run_nightly(day).await.unwrap().cases_escalated,
        1
    );
    assert_eq!(
        app.host.csq.run_nightly(day).await.unwrap().cases_escalated,
        0,
        "once"
    );
    let escalations = app.emails_to("vanphong@customs.test");
    assert_eq!(escalations.len(), 1);
    assert!(escalations[0].subject.contains("quá hạn"));

    // The day's rollup counts it as overdue, and rerunning changes nothing.
    let first = app.host.csq.aggregate_day(day).await.unwrap();
    let second = app.host.csq.aggregate_day(day).await.unwrap();
    assert_eq!(first, second);
    let dept = first.iter().find(|s| s.unit == "department").unwrap();
    assert_eq!(dept.complaints_overdue, 1);
}
