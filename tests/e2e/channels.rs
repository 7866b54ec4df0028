//! Channels beyond the emailed link: the rating link and its QR code in the
//! declaration software, later stages and follow-up forms, events for other
//! systems, and the one-click opt-out.

use chrono::Duration;
use csq_core::app::qr::read_back;
use csq_core::auth::staff::StaffRole;
use mail_parser::MimeHeaders;
use serde_json::{Value, json};

use crate::helpers::*;

/// The QR image part of a raw email, decoded to the text it encodes.
fn qr_in_email(raw: &[u8]) -> Option<String> {
    let msg = mail_parser::MessageParser::default().parse(raw)?;
    let part = msg
        .parts
        .iter()
        .find(|p| p.content_id() == Some("qr-rating-link"))?;
    read_back::png(part.contents())
}

fn header(raw: &[u8], name: &str) -> Option<String> {
    let msg = mail_parser::MessageParser::default().parse(raw)?;
    msg.header_raw(name).map(|v| v.trim().to_owned())
}

#[tokio::test]
async fn the_declaration_software_gets_the_link_and_a_qr_code_of_it() {
    let app = spawn_app().await;
    let number = number();
    let res = app.issue(&declaration(&number)).await;
    assert_eq!(res.status(), 201);
    let issued: Value = res.json().await.unwrap();
    let rating_url = issued["rating_url"].as_str().unwrap().to_owned();
    let qr_url = issued["qr_url"].as_str().unwrap().to_owned();
    assert_eq!(qr_url, format!("{rating_url}/qr.svg"));

    // The QR code, as a phone would read it, is the rating link.
    let res = app.http.get(&qr_url).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "image/svg+xml");
    let svg = res.text().await.unwrap();
    assert_eq!(read_back::svg(&svg).as_deref(), Some(rating_url.as_str()));
    // The link opens the form in the declaration software's own screen.
    let page = app.http.get(&rating_url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains(&number));

    // The repeated call answers the same link; no second invitation.
    let again: Value = app.issue(&declaration(&number)).await.json().await.unwrap();
    assert_eq!(again["rating_url"], issued["rating_url"]);
    assert_eq!(again["qr_url"], issued["qr_url"]);

    // The invitation shows the same code as an inline image; its text keeps the link.
    let mail = app
        .eventually("the invitation", || {
            app.emails_to("xnk@abc.com.vn")
                .into_iter()
                .find(|e| e.subject.contains(&number))
        })
        .await;
    assert_eq!(link_in(&mail.text), rating_url);
    assert!(mail.html.contains("cid:qr-rating-link"));
    // The email's code carries its channel, so a scan of it counts as the email's.
    assert_eq!(
        qr_in_email(&mail.raw),
        Some(format!("{rating_url}?via=email"))
    );

    // A QR code is made only for links CSQ signed.
    let forged = qr_url.replace("/f/k", "/f/x");
    assert_eq!(app.http.get(&forged).send().await.unwrap().status(), 404);
}

#[tokio::test]
async fn one_click_opt_out_stops_invitations_and_reminders_but_not_rating() {
    let app = spawn_app().await;
    let first = number();
    let link = app.issue_and_get_link(&first).await;
    let mail = app
        .emails_to("xnk@abc.com.vn")
        .into_iter()
        .find(|e| e.subject.contains(&first))
        .unwrap();
    let list = header(&mail.raw, "List-Unsubscribe").expect("List-Unsubscribe");
    assert_eq!(
        header(&mail.raw, "List-Unsubscribe-Post").as_deref(),
        Some("List-Unsubscribe=One-Click")
    );
    let url = list
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_owned();
    assert!(url.contains("/u/"), "{url}");
    assert!(mail.text.contains(&url), "the text part offers it too");

    // Opening the link (a person, or a mail scanner) changes nothing.
    let page = app.http.get(&url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains("List-Unsubscribe") && page.contains("One-Click"));
    let second = number();
    app.issue_and_get_link(&second).await;

    // A POST without the one-click field is refused; a forged link is not found.
    let res = app
        .http
        .post(&url)
        .form(&[("x", "y")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let forged = url.replace("/u/k", "/u/x");
    let res = app
        .http
        .post(&forged)
        .form(&[("List-Unsubscribe", "One-Click")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);

    // What a mail program sends: that field and nothing else, no cookie.
    for _ in 0..2 {
        let res = app
            .http
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("List-Unsubscribe=One-Click")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "and again: nothing changes");
    }

    // The next form is issued, not mailed, and can be rated in-app; the
    // address is matched whatever its case.
    let before = app.emails_to("xnk@abc.com.vn").len();
    let third = number();
    let mut body = declaration(&third);
    body["business"]["email"] = "XNK@abc.com.vn".into();
    let res = app.issue(&body).await;
    assert_eq!(res.status(), 201);
    let issued: Value = res.json().await.unwrap();
    assert_eq!(issued["invitation"], "suppressed");
    let page = app
        .http
        .get(issued["rating_url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    app.host.services.housekeeping.sweep().await.unwrap();

    // The forms mailed before get no reminder.
    app.clock.advance(Duration::days(3) + Duration::hours(1));
    let yesterday = csq_core::domain::time::vn_day(app.clock_now()) - chrono::Days::new(1);
    let report = app.nightly(yesterday).await;
    assert_eq!(report.reminders_sent, 0);
    assert_eq!(
        app.emails_to("xnk@abc.com.vn").len(),
        before,
        "nothing more sent"
    );
    let _ = link;
}

/// The department keeps the suppression list from the console: it looks an
/// address up, lists it, lifts it; each step is audited under the list's key,
/// never the address, and only the department may do it.
#[tokio::test]
async fn the_department_keeps_the_suppression_list_through_the_staff_api() {
    let app = spawn_app().await;
    let dept = app.staff_token(StaffRole::Department, None);
    let address = json!({"address": "XNK@abc.com.vn "});
    let standing = |v: &Value| (v["suppressed"].clone(), v["reason"].clone());

    let res = app
        .staff_post(&dept, "/v1/suppressions/lookup", &address)
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        standing(&res.json().await.unwrap()),
        (json!(false), Value::Null)
    );
    let res = app.staff_post(&dept, "/v1/suppressions", &address).await;
    assert_eq!(res.status(), 201, "newly listed");
    let res = app.staff_post(&dept, "/v1/suppressions", &address).await;
    assert_eq!(res.status(), 200, "listing it again changes nothing");
    let looked: Value = app
        .staff_post(
            &dept,
            "/v1/suppressions/lookup",
            &json!({"address": "xnk@abc.com.vn"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(standing(&looked), (json!(true), json!("staff")));

    let issued: Value = app
        .issue(&declaration(&number()))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(issued["invitation"], "suppressed");
    // Other businesses are not affected.
    let mut other = declaration(&number());
    other["business"]["email"] = "other@xyz.vn".into();
    let issued: Value = app.issue(&other).await.json().await.unwrap();
    assert_ne!(issued["invitation"], "suppressed");
    assert!(app.emails_to("xnk@abc.com.vn").is_empty());

    // Lifted: the next declaration's invitation goes out.
    let lifted: Value = app
        .staff_post(&dept, "/v1/suppressions/lift", &address)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(lifted["lifted"], true);
    let issued: Value = app
        .issue(&declaration(&number()))
        .await
        .json()
        .await
        .unwrap();
    assert_ne!(issued["invitation"], "suppressed");
    assert_eq!(app.emails_to("xnk@abc.com.vn").len(), 1);

    // Bad input names the field; other roles are refused.
    let res = app
        .staff_post(
            &dept,
            "/v1/suppressions",
            &json!({"address": "not an address"}),
        )
        .await;
    assert_eq!(res.status(), 422);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["errors"][0]["field"], "address");
    let head = app.staff_token(StaffRole::UnitHead, Some("03CC"));
    for path in [
        "/v1/suppressions",
        "/v1/suppressions/lookup",
        "/v1/suppressions/lift",
    ] {
        assert_eq!(
            app.staff_post(&head, path, &address).await.status(),
            403,
            "{path}"
        );
    }

    // The audit log says who looked up, listed and lifted, by key only.
    let key = csq_core::domain::suppression::address_key("xnk@abc.com.vn");
    let (whats, log) = app.audited(&key).await;
    for what in [
        "suppression-lookup",
        "suppression-added",
        "suppression-lifted",
    ] {
        assert!(whats.iter().any(|w| w == what), "{what} in {whats:?}");
    }
    assert_eq!(
        whats.iter().filter(|w| *w == "suppression-added").count(),
        1
    );
    assert!(
        !log.to_lowercase().contains("xnk@abc"),
        "no address in the audit log"
    );
    // The department's view of an entry, not the stored record (its expiry stays).
    assert!(
        log.contains("\"records\"") && !log.contains("keep_until"),
        "{log}"
    );
}

async fn post_handling(app: &TestApp, number: &str, body: &Value) -> reqwest::Response {
    app.integration_post(&format!("/v1/forms/{number}/handling"), body)
        .await
}

fn later(stage: &str, team: &str, officer: &str, name: &str) -> Value {
    serde_json::json!({"handling": [
        {"stage": stage, "team": team, "officer": {"id": officer, "name": name}}
    ]})
}

fn subject_keys(form: &Value) -> Vec<String> {
    form["subjects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["key"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn later_stages_join_an_unsubmitted_form_and_then_get_a_follow_up_form() {
    let app = spawn_app().await;
    let number = number();
    let link = app.issue_and_get_link(&number).await;

    // Valuation was done after registration: the form shows it at once.
    let valuation = later("valuation", "03CC02", "HP9001", "Lê Văn Cường");
    let res = post_handling(&app, &number, &valuation).await;
    assert_eq!(res.status(), 200);
    let form: Value = res.json().await.unwrap();
    let keys = subject_keys(&form);
    assert!(keys.contains(&"stage:valuation".to_owned()), "{keys:?}");
    assert!(keys.contains(&"officer:valuation:HP9001".to_owned()));
    assert_eq!(keys[0], "branch:03CC", "subjects keep their order by kind");
    let page = app.open(&link).await.page;
    assert!(page.contains("Lê Văn Cường"));
    // The same stage again changes nothing.
    let again: Value = post_handling(&app, &number, &valuation)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(subject_keys(&again), keys);

    // The business rates (including the later stage) and submits.
    let browser = app.open(&link).await;
    let at = keys
        .iter()
        .position(|k| k == "officer:valuation:HP9001")
        .unwrap();
    let level = format!("level.{at}");
    let reason = format!("reason.{at}");
    let sent = browser
        .post(
            &app,
            true,
            &[(level.as_str(), "5"), (reason.as_str(), "helpful")],
        )
        .await;
    assert_eq!(sent.status(), 200);

    // Supervision after submission: 409, and one follow-up form with one email.
    let invitations = |app: &TestApp| {
        app.emails_to("xnk@abc.com.vn")
            .into_iter()
            .filter(|e| e.subject.contains(&number))
            .count()
    };
    assert_eq!(invitations(&app), 1);
    let supervision = later("supervision", "03CC01", "HP9002", "Đỗ Thị Dung");
    let res = post_handling(&app, &number, &supervision).await;
    assert_eq!(res.status(), 409);
    let conflict: Value = res.json().await.unwrap();
    assert_eq!(conflict["error"]["code"], "form_submitted");
    let follow_up = &conflict["follow_up"];
    let follow_keys = subject_keys(follow_up);
    assert!(follow_keys.contains(&"officer:supervision:HP9002".to_owned()));
    assert!(
        !follow_keys
            .iter()
            .any(|k| k.contains("HP1234") || k.contains("HP9001")),
        "only the later stages: {follow_keys:?}"
    );
    assert_ne!(follow_up["form_id"], form["form_id"]);
    let mail = app
        .eventually("the follow-up invitation", || {
            app.emails_to("xnk@abc.com.vn")
                .into_iter()
                .filter(|e| e.subject.contains(&number))
                .nth(1)
        })
        .await;
    assert!(
        mail.text
            .contains("More stages were handled after you rated")
    );
    assert_eq!(
        link_in(&mail.text),
        follow_up["rating_url"].as_str().unwrap()
    );

    // Repeated (a retry of the declaration system): the same follow-up, no email.
    let res = post_handling(&app, &number, &supervision).await;
    assert_eq!(res.status(), 409);
    let repeated: Value = res.json().await.unwrap();
    assert_eq!(repeated["follow_up"]["form_id"], follow_up["form_id"]);
    // A further stage joins the open follow-up form, not a third one.
    let res = post_handling(
        &app,
        &number,
        &later("tax_collection", "03CC01", "HP9003", "Vũ Văn Em"),
    )
    .await;
    assert_eq!(res.status(), 409);
    let joined: Value = res.json().await.unwrap();
    assert_eq!(joined["follow_up"]["form_id"], follow_up["form_id"]);
    assert!(
        subject_keys(&joined["follow_up"]).contains(&"officer:tax_collection:HP9003".to_owned())
    );
    app.host.services.housekeeping.sweep().await.unwrap();
    assert_eq!(invitations(&app), 2, "one email per form");
    // The follow-up form is rated like any other.
    let browser = app.open(follow_up["rating_url"].as_str().unwrap()).await;
    let sent = browser
        .post(&app, true, &[("level.0", "4"), ("reason.0", "helpful")])
        .await;
    assert_eq!(sent.status(), 200);
}

#[tokio::test]
async fn later_stages_need_a_form_a_key_and_valid_records() {
    let app = spawn_app().await;
    let stage = later("valuation", "03CC02", "HP9001", "Lê Văn Cường");
    let res = post_handling(&app, "999999999999", &stage).await;
    assert_eq!(res.status(), 404);
    let res = post_handling(&app, "not-a-number", &stage).await;
    assert_eq!(res.status(), 404);
    let number = number();
    assert_eq!(app.issue(&declaration(&number)).await.status(), 201);
    let bad = serde_json::json!({"handling": [{"stage": "lunch", "team": ""}]});
    let res = post_handling(&app, &number, &bad).await;
    assert_eq!(res.status(), 422);
    let errors: Value = res.json().await.unwrap();
    let fields = error_fields(&errors);
    assert_eq!(fields, ["handling[0].stage", "handling[0].team"]);
    let res = app
        .http
        .post(format!("{}/v1/forms/{number}/handling", app.base))
        .json(&stage)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "same authentication as issuing");
}

/// Issue 19: the cap per business holds across a declaration's follow-up
/// form. Its business was emailed for the declaration's first form within
/// the period, so the follow-up is issued `capped`, with no second email,
/// and still opens from its link.
#[tokio::test]
async fn the_cap_holds_across_a_follow_up_form() {
    let app = spawn_app_with(|c| c.policy.invitation_cap_days = 7).await;
    let number = number();
    let link = app.issue_and_get_link(&number).await;
    let browser = app.open(&link).await;
    let sent = browser.post(&app, true, &[("level.0", "5")]).await;
    assert_eq!(sent.status(), 200);
    let res = post_handling(
        &app,
        &number,
        &later("supervision", "03CC01", "HP9002", "Đỗ Thị Dung"),
    )
    .await;
    assert_eq!(res.status(), 409);
    let conflict: Value = res.json().await.unwrap();
    let follow_up = &conflict["follow_up"];
    assert_eq!(follow_up["invitation"], "capped", "{follow_up}");
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let invitations = app
        .emails_to("xnk@abc.com.vn")
        .into_iter()
        .filter(|e| e.subject.contains(&number))
        .count();
    assert_eq!(invitations, 1, "the first form's email only");
    let follow_link = follow_up["rating_url"].as_str().unwrap();
    assert_eq!(
        app.http.get(follow_link).send().await.unwrap().status(),
        200
    );
}
