//! The complaint router: duplicates change nothing, poison goes to dead letters.

use csq_core::auth::staff::StaffRole;
use csq_core::ports::{CaseStore, QueueConsumer};
use serde_json::Value;

use crate::helpers::{number, spawn_app, spawn_app_with};

#[tokio::test]
async fn a_redelivered_complaint_opens_no_second_case_and_sends_no_second_email() {
    let app = spawn_app().await;
    let link = app.issue_and_get_link(&number()).await;
    let browser = app.open(&link).await;
    let fields = [
        ("level.0", "1"),
        ("contact_name", "Đỗ Hà"),
        ("contact_phone", "0911222333"),
    ];
    assert_eq!(browser.post(&app, true, &fields).await.status(), 200);
    app.eventually("the first case email", || {
        app.emails_to("head03cc@customs.test").into_iter().next()
    })
    .await;

    // The same complaint delivered twice more (an SQS at-least-once redelivery).
    let form_id = link
        .rsplit('/')
        .next()
        .unwrap()
        .split('.')
        .nth(1)
        .unwrap()
        .to_owned();
    let case = app.host.store.case(&form_id).await.unwrap().expect("case");
    let body = serde_json::to_string(&case.complaint).unwrap();
    app.host.queue.send_raw(&body).await.unwrap();
    app.host.queue.send_raw(&body).await.unwrap();
    for _ in 0..100 {
        if app.host.queue.depth().await.unwrap() == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        app.host.queue.depth().await.unwrap(),
        0,
        "both redeliveries were consumed"
    );
    assert_eq!(app.emails_to("head03cc@customs.test").len(), 1);
    let dept = app.staff_token(StaffRole::Department, None);
    let cases: Value = app
        .staff_get(&dept, "/v1/cases")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(cases["items"].as_array().unwrap().len(), 1);
    let detail: Value = app
        .staff_get(&dept, &format!("/v1/cases/{form_id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        detail["events"].as_array().unwrap().len(),
        2,
        "opened + notified, nothing more"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_message_ends_in_dead_letters_and_others_still_flow() {
    // The background router is slowed down so the test drives passes itself.
    let app = spawn_app_with(|c| c.router_poll_ms = 60_000).await;
    app.host.queue.send_raw("{not a complaint").await.unwrap();
    let link = app.issue_and_get_link(&number()).await;
    let browser = app.open(&link).await;
    let fields = [
        ("level.0", "2"),
        ("contact_name", "Đỗ Hà"),
        ("contact_phone", "0911222333"),
    ];
    assert_eq!(browser.post(&app, true, &fields).await.status(), 200);

    let first = app.host.route_pending().await.unwrap();
    assert_eq!(
        (first.routed, first.failed),
        (1, 1),
        "the good one is routed despite the poison"
    );
    assert_eq!(app.emails_to("head03cc@customs.test").len(), 1);

    // Each retry after the visibility timeout fails again, until the queue gives up.
    for _ in 0..4 {
        app.clock.advance(chrono::Duration::seconds(2));
        app.host.route_pending().await.unwrap();
    }
    let dead = app.host.queue.dead_letters(10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].body, "{not a complaint");
    assert_eq!(dead[0].receive_count, 3);
    app.clock.advance(chrono::Duration::seconds(2));
    assert_eq!(
        app.host.route_pending().await.unwrap().failed,
        0,
        "the dead letter is not handed out again"
    );
}
