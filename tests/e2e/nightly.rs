//! The nightly job as staff and businesses notice it: one reminder, expiry,
//! escalation of overdue cases, and statistics that do not change on a rerun.

use chrono::{Days, Duration};
use csq_core::domain::time::vn_day;
use csq_core::ports::CaseStore;

use crate::helpers::{TestApp, number, spawn_app};

/// The nightly job as the timer runs it: for yesterday, Vietnamese time.
async fn run_nightly(app: &TestApp) -> csq_core::app::housekeeping::NightlyReport {
    let yesterday = vn_day(app.clock_now())
        .checked_sub_days(Days::new(1))
        .unwrap();
    app.nightly(yesterday).await
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
async fn overdue_cases_climb_the_tree_once_per_level() {
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

    // Overdue (10 working days span at most 14 calendar days): the head of
    // the region above the office gets it, once.
    app.clock.advance(Duration::days(16));
    let day = vn_day(app.clock_now())
        .checked_sub_days(Days::new(1))
        .unwrap();
    // Other systems hear of each escalation (unit codes only).
    let bus = std::sync::Arc::new(crate::webhooks::Bus::default());
    let housekeeping = app
        .host
        .services_publishing_to(app.clock.clone(), app.host.mailer.clone(), bus.clone())
        .housekeeping;
    let escalated = |_: &crate::helpers::TestApp| {
        let housekeeping = housekeeping.clone();
        async move { housekeeping.run_nightly(day).await.unwrap().cases_escalated }
    };
    assert_eq!(escalated(&app).await, 1);
    assert_eq!(escalated(&app).await, 0, "once per level");
    let to_region = app.emails_to("head-r03@customs.test");
    assert_eq!(to_region.len(), 1);
    assert!(to_region[0].subject.contains("quá hạn"));
    assert!(app.emails_to("cuctruong@customs.test").is_empty());

    // Still open 5 working days (a week) later: the next level up, the authority's head.
    app.clock.advance(Duration::days(8));
    assert_eq!(escalated(&app).await, 1);
    assert_eq!(escalated(&app).await, 0);
    assert_eq!(app.emails_to("cuctruong@customs.test").len(), 1);
    // No level above the authority: nothing more, however long it stays open.
    app.clock.advance(Duration::days(30));
    assert_eq!(escalated(&app).await, 0);
    assert_eq!(app.emails_to("head-r03@customs.test").len(), 1);
    let announced: Vec<String> = bus
        .took
        .lock()
        .unwrap()
        .iter()
        .filter(|id| id.starts_with("case.escalated:"))
        .cloned()
        .collect();
    assert_eq!(announced.len(), 2, "one event per level: {announced:?}");

    // The region head reads the escalated case; the other office's head cannot.
    let case_id = app
        .host
        .store
        .cases_of_unit("03CC", None, csq_core::ports::PageRequest::first(5))
        .await
        .unwrap()
        .items[0]
        .id
        .clone();
    let region = app.staff_token(csq_core::auth::staff::StaffRole::UnitHead, Some("R03"));
    let other = app.staff_token(csq_core::auth::staff::StaffRole::UnitHead, Some("04CC"));
    let path = format!("/v1/cases/{case_id}");
    assert_eq!(app.staff_get(&region, &path).await.status(), 200);
    assert_eq!(app.staff_get(&other, &path).await.status(), 404);

    // The day's rollup counts it as overdue, and rerunning changes nothing.
    let first = app.roll_up(day).await;
    let second = app.roll_up(day).await;
    assert_eq!(first, second);
    for unit in ["unit:CUC", "unit:R03", "unit:03CC"] {
        let row = first.iter().find(|s| s.unit == unit).unwrap();
        assert_eq!(row.complaints_overdue, 1, "{unit}");
    }
}
