//! Issue 19: the department's survey rules (the cap's period, sampling per
//! office and lane) decide whom CSQ asks; every submission records the
//! channel it came by; the figures say what was asked and how it was answered.

use chrono::Duration;
use csq_core::auth::staff::StaffRole;
use csq_core::domain::time::vn_day;
use serde_json::{Value, json};

use crate::helpers::*;

fn in_lane(lane: &str) -> Value {
    let mut d = declaration(&number());
    d["declaration"]["lane"] = lane.into();
    // A business per declaration: the cap is not what this test is about.
    d["business"]["email"] = format!("xnk-{lane}@abc.com.vn").into();
    d
}

async fn put_rules(app: &TestApp, body: &Value) -> reqwest::Response {
    app.http
        .put(format!("{}/v1/case-rules", app.base))
        .bearer_auth(app.staff_token(StaffRole::Department, None))
        .json(body)
        .send()
        .await
        .unwrap()
}

/// The email's links as a mail program reads them (`&amp;` unescaped).
fn links_in(html: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .filter(|h| h.contains("/f/"))
        .map(|h| h.replace("&amp;", "&"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_survey_rules_decide_whom_to_ask_and_the_figures_say_how_they_answered() {
    let app = spawn_app().await;
    // Bad rules: refused field by field, nothing stored.
    let res = put_rules(
        &app,
        &json!({"survey": {"sampling": [{"lane": "red", "percent": 150}], "cap_days": 9999}}),
    )
    .await;
    assert_eq!(res.status(), 422);
    let errors: Value = res.json().await.unwrap();
    let fields = error_fields(&errors);
    assert_eq!(
        fields,
        ["survey.cap_days", "survey.sampling[0].percent"],
        "{errors}"
    );
    let res = put_rules(&app, &json!({"survey": {"sample": []}})).await;
    assert_eq!(res.status(), 422, "an unknown survey field is a typo");

    // Every red-lane declaration of the office, none of the green ones; the
    // yellow lane has no rule, so every one of it is asked.
    let rules = json!({"survey": {"sampling": [
        {"office": "03CC", "lane": "red", "percent": 100},
        {"lane": "green", "percent": 0}
    ]}});
    assert_eq!(put_rules(&app, &rules).await.status(), 200);

    let mut answers = vec![];
    for lane in ["green", "red", "yellow"] {
        let body = in_lane(lane);
        let res = app.issue(&body).await;
        assert_eq!(res.status(), 201);
        let answer: Value = res.json().await.unwrap();
        // A retry gives the same answer.
        let again: Value = app.issue(&body).await.json().await.unwrap();
        assert_eq!(again["form_id"], answer["form_id"]);
        assert_eq!(again["invitation"], answer["invitation"]);
        answers.push(answer);
    }
    let states: Vec<&str> = answers
        .iter()
        .map(|a| a["invitation"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["sampled_out", "sent", "sent"]);
    assert!(app.emails_to("xnk-green@abc.com.vn").is_empty());
    // A form left out is issued all the same and opens from its link.
    let green_url = answers[0]["rating_url"].as_str().unwrap().to_owned();
    let green = app.open(&green_url).await;

    // Each business answers by another channel: the declaration software's
    // link (green), the email's link (red), a level button (yellow).
    let res = green
        .post(&app, true, &[("level.0", "4"), ("action", "send")])
        .await;
    assert_eq!(res.status(), 200);

    let red_mail = &app.emails_to("xnk-red@abc.com.vn")[0];
    let red_link = links_in(&red_mail.html)
        .into_iter()
        .find(|l| l.ends_with("?via=email"))
        .expect("the email's link carries its channel");
    let opened = app.open(&red_link).await;
    let red = Browser {
        link: red_link.split('?').next().unwrap().to_owned(),
        ..opened
    };
    let res = red
        .post(&app, true, &[("level.0", "4"), ("action", "send")])
        .await;
    assert_eq!(res.status(), 200);

    let yellow_mail = &app.emails_to("xnk-yellow@abc.com.vn")[0];
    let five = links_in(&yellow_mail.html)
        .into_iter()
        .find(|l| l.ends_with("via=email_button&level=5"))
        .expect("a level button");
    let opened = app.open(&five).await;
    let yellow = Browser {
        link: five.split('?').next().unwrap().to_owned(),
        ..opened
    };
    let res = yellow
        .post(&app, true, &[("level.0", "5"), ("action", "send")])
        .await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("Cảm ơn"));

    // A `via` of kiosk from a browser that is no registered kiosk counts as
    // the declaration software's link.
    let body = in_lane("yellow");
    let other: Value = app.issue(&body).await.json().await.unwrap();
    let res = app
        .open(other["rating_url"].as_str().unwrap())
        .await
        .post(
            &app,
            true,
            &[("level.0", "5"), ("via", "kiosk"), ("action", "send")],
        )
        .await;
    assert_eq!(res.status(), 200);

    let dept = app.staff_token(StaffRole::Department, None);
    let today = vn_day(app.clock_now());
    app.roll_up(today).await;
    let stats = app
        .staff_json(
            &dept,
            &format!("/v1/stats?unit=03CC&from={today}&to={today}"),
        )
        .await;
    let day = &stats["days"][0];
    assert_eq!(
        day["invitations"],
        json!({"sampled_out": 1, "sent": 3}),
        "{day}"
    );
    assert_eq!(
        day["channel_forms"],
        json!({"email": 1, "email_button": 1, "in_app": 2}),
        "{day}"
    );

    // The period report: response and ratings by channel; a channel with
    // fewer than k ratings keeps its levels to itself.
    let report = app
        .staff_json(&dept, &format!("/v1/report?unit=03CC&at={today}"))
        .await;
    let current = &report["current"];
    assert_eq!(current["invitations"]["sampled_out"], 1);
    let channel = |code: &str| {
        current["by_channel"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["channel"] == code)
            .cloned()
            .unwrap()
    };
    let in_app = channel("in_app");
    assert_eq!(in_app["forms_submitted"], 2);
    assert_eq!(in_app["response_rate"], 0.5, "two of four forms");
    assert_eq!(in_app["shown"], false, "{in_app}");
    assert_eq!(in_app["level_counts"], Value::Null);
    assert_eq!(channel("kiosk")["forms_submitted"], 0);

    // The cap's period is the rules' own when they give one, whatever the
    // host's setting (off in the tests' host).
    app.clock.advance(Duration::days(1));
    let dept = app.staff_token(StaffRole::Department, None);
    let mut with_cap = rules.clone();
    with_cap["survey"]["cap_days"] = 3.into();
    let current_rules = app.staff_json(&dept, "/v1/case-rules").await;
    let version = current_rules["version"].as_u64().unwrap();
    let res = app
        .http
        .put(format!("{}/v1/case-rules?version={version}", app.base))
        .bearer_auth(&dept)
        .json(&with_cap)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let mut first = in_lane("red");
    first["business"]["tax_code"] = "0311122233".into();
    let mut second = in_lane("red");
    second["business"]["tax_code"] = "0311122233".into();
    let a: Value = app.issue(&first).await.json().await.unwrap();
    let b: Value = app.issue(&second).await.json().await.unwrap();
    assert_eq!(
        (a["invitation"].as_str(), b["invitation"].as_str()),
        (Some("sent"), Some("capped")),
        "the rules' cap of 3 days holds though the host's is off"
    );
}
