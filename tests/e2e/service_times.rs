//! Issue 20, service times: the declaration system sends how long each stage
//! took (with the form, with later stages, or afterwards); CSQ checks them,
//! keeps them once per stage, never emails for them, and the nightly rolls
//! them up against the department's service standards.

use csq_core::auth::staff::StaffRole;
use csq_core::domain::time::vn_day;
use serde_json::{Value, json};

use crate::helpers::*;

/// A declaration registered Friday 27 November 2026 at 09:30, with its
/// document check 10:00–11:00 (one working hour, one document request) and
/// its clearance 11:00–11:20, released at 12:00.
fn timed(number: &str) -> Value {
    let mut d = declaration(number);
    d["handling"][0]["started_at"] = "2026-11-27T10:00:00+07:00".into();
    d["handling"][0]["finished_at"] = "2026-11-27T11:00:00+07:00".into();
    d["handling"][0]["document_requests"] = 1.into();
    d["handling"][1]["started_at"] = "2026-11-27T11:00:00+07:00".into();
    d["handling"][1]["finished_at"] = "2026-11-27T11:20:00+07:00".into();
    d["declaration"]["released_at"] = "2026-11-27T12:00:00+07:00".into();
    d
}

async fn post_times(app: &TestApp, number: &str, body: &Value) -> reqwest::Response {
    app.integration_post(&format!("/v1/declarations/{number}/times"), body)
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stage_times_are_checked_kept_once_and_rolled_up_against_the_standards() {
    let app = spawn_app().await;
    let number = number();

    // Bad times: every field named, nothing stored (the form is not issued).
    let mut bad = timed(&number);
    bad["handling"][0]["finished_at"] = "2026-11-27T09:59:00+07:00".into();
    bad["handling"][1]["started_at"] = "2026-11-27T08:00:00+07:00".into();
    bad["declaration"]["released_at"] = "2036-01-01T00:00:00+07:00".into();
    let res = app.issue(&bad).await;
    assert_eq!(res.status(), 422);
    let errors: Value = res.json().await.unwrap();
    let fields = error_fields(&errors);
    assert_eq!(
        fields,
        [
            "declaration.released_at",
            "handling[1].started_at",
            "handling[0].finished_at"
        ],
        "{errors}"
    );
    assert!(app.emails().is_empty(), "nothing issued");

    let res = app.issue(&timed(&number)).await;
    assert_eq!(res.status(), 201, "the corrected request is the first");
    let emails = app.emails().len();

    // Afterwards, whatever the form's state: the physical inspection, from
    // Friday 13:00 to Monday 15:00 (4 + 6 = 10 working hours, over its 8).
    let later = json!({"handling": [
        {"stage": "physical_inspection", "team": "03CC02", "officer": {"id": "HP5678"},
         "started_at": "2026-11-27T13:00:00+07:00", "finished_at": "2026-11-30T15:00:00+07:00",
         "document_requests": 2}
    ]});
    let res = post_times(&app, &number, &later).await;
    assert_eq!(res.status(), 200);
    let recorded: Value = res.json().await.unwrap();
    assert_eq!(recorded["changed"], true);
    assert_eq!(recorded["stages_with_times"], 3);
    let again: Value = post_times(&app, &number, &later)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        again["changed"], false,
        "a repeated delivery changes nothing"
    );
    assert_eq!(app.emails().len(), emails, "times never send an email");
    assert_eq!(
        post_times(&app, &super::helpers::number(), &later)
            .await
            .status(),
        404
    );
    let mut wrong = later.clone();
    wrong["handling"][0]["started_at"] = "yesterday".into();
    let res = post_times(&app, &number, &wrong).await;
    assert_eq!(res.status(), 422);
    assert_eq!(
        res.json::<Value>().await.unwrap()["errors"][0]["field"],
        "handling[0].started_at"
    );

    // The business rates the document check's officer and the stage (both
    // 60 working minutes, within the 2-hour limit).
    let link = link_in(&app.emails_to("xnk@abc.com.vn")[0].text);
    let browser = app.open(&link).await;
    let sent = browser
        .post(
            &app,
            true,
            &[
                ("level.0", "4"),
                ("level.3", "4"),
                ("level.5", "5"),
                ("action", "send"),
            ],
        )
        .await;
    assert_eq!(sent.status(), 200);

    // The night's rollup: the times CSQ received today.
    let dept = app.staff_token(StaffRole::Department, None);
    let today = vn_day(app.clock_now());
    app.roll_up(today).await;
    let report = app
        .staff_json(&dept, &format!("/v1/report?unit=03CC&at={today}"))
        .await;
    let times = &report["current"]["service_times"];
    assert_eq!(times["stages_timed"], 3, "{times}");
    // 20 minutes, 60 minutes, 600 minutes (within 2% above two hours).
    assert_eq!(times["median_hours"], 1.0, "{times}");
    let p90 = times["p90_hours"].as_f64().unwrap();
    assert!((9.8..=10.0).contains(&p90), "{p90}");
    // Two stages have legal limits (document check 2 h, inspection 8 h): one within.
    assert_eq!(times["stages_with_limit"], 2);
    assert_eq!(times["within_limit_share"], 0.5);
    assert_eq!(times["document_requests_per_stage"], 1.5);
    assert_eq!(
        times["document_requests_per_declaration"], 3.0,
        "one declaration asked three times"
    );
    assert_eq!(
        times["release"],
        json!([{"lane": "yellow", "declarations": 1, "median_hours": 2.5, "p90_hours": 2.5}])
    );
    // The officer's own figures: the inspection alone.
    let officer = app
        .staff_json(&dept, &format!("/v1/report?unit=officer:HP5678&at={today}"))
        .await;
    assert_eq!(officer["current"]["service_times"]["stages_timed"], 2);
    let group = |report: &Value, name: &str| {
        report["current"]["service_times"]["satisfaction"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["group"] == name)
            .cloned()
            .unwrap()
    };
    let doc_officer = app
        .staff_json(&dept, &format!("/v1/report?unit=officer:HP1234&at={today}"))
        .await;
    assert_eq!(group(&doc_officer, "within_limit")["ratings"], 1);
    assert_eq!(group(&doc_officer, "1h_to_2h")["ratings"], 1);
    assert_eq!(group(&doc_officer, "over_limit")["ratings"], 0);
    let stage = app
        .staff_json(
            &dept,
            &format!("/v1/report?unit=stage:03CC:document_check&at={today}"),
        )
        .await;
    assert_eq!(group(&stage, "within_limit")["ratings"], 1);
    // The office in view: the stage's and its officer's ratings, both within.
    assert_eq!(group(&report, "within_limit")["ratings"], 2, "{report}");
    assert_eq!(group(&report, "over_limit")["ratings"], 0);

    // The other order: a rating today, its stage's times tomorrow (10:00 to
    // 14:00, 150 working minutes, over the limit): counted once, tomorrow.
    let second = super::helpers::number();
    assert_eq!(app.issue(&declaration(&second)).await.status(), 201);
    let link = link_in(
        &app.emails_to("xnk@abc.com.vn")
            .into_iter()
            .find(|e| e.subject.contains(&second))
            .unwrap()
            .text,
    );
    let browser = app.open(&link).await;
    let sent = browser
        .post(
            &app,
            true,
            &[("level.5", "3"), ("reason.5", "delay"), ("action", "send")],
        )
        .await;
    assert_eq!(sent.status(), 200, "{}", sent.text().await.unwrap());
    app.roll_up(today).await;
    app.clock.advance(chrono::Duration::days(1));
    let tomorrow = vn_day(app.clock_now());
    let late = json!({"handling": [{"stage": "document_check", "team": "03CC01",
        "officer": {"id": "HP1234"}, "started_at": "2026-11-27T10:00:00+07:00",
        "finished_at": "2026-11-27T14:00:00+07:00"}]});
    assert_eq!(post_times(&app, &second, &late).await.status(), 200);
    app.roll_up(tomorrow).await;
    app.roll_up(today).await;
    let dept = app.staff_token(StaffRole::Department, None);
    // Both days in one period: had today's rerun counted the pair as well,
    // the officer would have two ratings over the limit.
    let both = app
        .staff_json(
            &dept,
            &format!("/v1/report?unit=officer:HP1234&period=week&at={tomorrow}"),
        )
        .await;
    assert_eq!(group(&both, "over_limit")["ratings"], 1, "{both}");
    assert_eq!(group(&both, "within_limit")["ratings"], 1);
    assert_eq!(group(&both, "2h_to_4h")["ratings"], 1);
}
