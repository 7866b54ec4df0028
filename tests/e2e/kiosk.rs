//! Issue 19, the counter channel: a tablet the department registers to one
//! office opens the forms of that office's declarations, records its
//! submissions as the kiosk's, shows nothing of the answer, returns to its
//! start screen, and stops at once when revoked.

use csq_core::auth::staff::StaffRole;
use csq_core::domain::time::vn_day;
use serde_json::{Value, json};

use crate::helpers::*;

fn set_cookie(res: &reqwest::Response) -> String {
    res.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_counter_tablet_opens_its_offices_declarations_and_nothing_else() {
    let app = spawn_app().await;
    let dept = app.staff_token(StaffRole::Department, None);
    let head = app.staff_token(StaffRole::UnitHead, Some("03CC"));
    let tablet = json!({"office": "03CC", "name": "Quầy 1"});
    assert_eq!(
        app.staff_post(&head, "/v1/kiosks", &tablet).await.status(),
        403,
        "the department registers tablets"
    );
    let res = app
        .staff_post(
            &dept,
            "/v1/kiosks",
            &json!({"office": "99XX", "name": "Quầy"}),
        )
        .await;
    assert_eq!(res.status(), 422);
    assert_eq!(
        res.json::<Value>().await.unwrap()["errors"][0]["field"],
        "office"
    );
    let res = app.staff_post(&dept, "/v1/kiosks", &tablet).await;
    assert_eq!(res.status(), 201);
    let registered: Value = res.json().await.unwrap();
    let credential = registered["credential"].as_str().unwrap().to_owned();
    assert!(
        registered["start_url"]
            .as_str()
            .unwrap()
            .ends_with("/kiosk")
    );
    let listed = app.staff_json(&dept, "/v1/kiosks").await;
    assert_eq!(listed["items"][0]["id"], registered["id"]);
    assert!(
        !listed.to_string().contains(&credential) && !listed.to_string().contains("hash"),
        "the credential is shown once: {listed}"
    );

    // A browser that is no tablet gets the enrolment box; a wrong code, nothing.
    let start = app
        .http
        .get(format!("{}/kiosk", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), 200);
    assert!(start.text().await.unwrap().contains("name=\"code\""));
    let post = |path: &'static str, cookie: Option<String>, form: Vec<(&'static str, String)>| {
        let app = &app;
        async move {
            let mut req = app.http.post(format!("{}{path}", app.base)).form(&form);
            if let Some(c) = cookie {
                req = req.header("cookie", c);
            }
            req.send().await.unwrap()
        }
    };
    let wrong = format!("{}.not-the-secret", registered["id"].as_str().unwrap());
    assert_eq!(
        post("/kiosk/enrol", None, vec![("code", wrong)])
            .await
            .status(),
        403
    );
    let enrolled = post("/kiosk/enrol", None, vec![("code", credential.clone())]).await;
    assert_eq!(enrolled.status(), 303);
    let tablet_cookie = set_cookie(&enrolled);
    assert!(tablet_cookie.starts_with("csq_kiosk="));
    let start = app
        .http
        .get(format!("{}/kiosk", app.base))
        .header("cookie", &tablet_cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(start.contains("name=\"declaration\"") && start.contains("Quầy 1"));

    // Declarations: one of the tablet's office, one of another office.
    let ours = number();
    assert_eq!(app.issue(&declaration(&ours)).await.status(), 201);
    let theirs = number();
    let mut other = declaration(&theirs);
    other["declaration"]["customs_office"] = "04CC".into();
    other["handling"] = json!([{"stage": "document_check", "team": "04CC01",
                                "officer": {"id": "HP9999", "name": "Lê Văn C"}}]);
    assert_eq!(app.issue(&other).await.status(), 201);
    let open = |number: String| {
        post(
            "/kiosk",
            Some(tablet_cookie.clone()),
            vec![("declaration", number)],
        )
    };
    let refused = open(theirs).await;
    assert_eq!(refused.status(), 403);
    assert!(refused.text().await.unwrap().contains("không thuộc"));
    assert_eq!(open("123".into()).await.status(), 422);
    assert_eq!(open(number()).await.status(), 404, "no such declaration");
    assert_eq!(
        post("/kiosk", None, vec![("declaration", ours.clone())])
            .await
            .status(),
        403,
        "no tablet, no form"
    );

    let opened = open(ours.clone()).await;
    assert_eq!(opened.status(), 303);
    let location = opened.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with("/f/") && location.ends_with("?via=kiosk"),
        "{location}"
    );
    let page_res = app
        .http
        .get(format!("{}{location}", app.base))
        .header("cookie", &tablet_cookie)
        .send()
        .await
        .unwrap();
    let csrf_cookie = set_cookie(&page_res);
    let page = page_res.text().await.unwrap();
    assert!(
        page.contains("data-kiosk-idle=\"60\"") && page.contains("autocomplete=\"off\""),
        "kiosk mode: back to the start when idle, no autofill"
    );
    assert!(page.contains("src=\"/static/rating.js\""));
    let tablet_browser = Browser {
        cookie: format!("{csrf_cookie}; {tablet_cookie}"),
        csrf: csq_tests::hidden_value(&page, "csrf").unwrap(),
        link: format!("{}{}", app.base, location.split('?').next().unwrap()),
        page,
    };
    let res = tablet_browser
        .post(&app, true, &[("level.0", "5"), ("action", "send")])
        .await;
    assert_eq!(res.status(), 200);
    let thanks = res.text().await.unwrap();
    assert!(
        thanks.contains("href=\"/kiosk\"") && thanks.contains("data-kiosk-idle=\"10\""),
        "the tablet goes back to its start screen"
    );
    assert!(
        !thanks.contains("Rất hài lòng"),
        "nothing of the answer is shown"
    );
    assert_eq!(
        open(ours).await.status(),
        404,
        "a submitted form does not open again"
    );

    let today = vn_day(app.clock_now());
    app.roll_up(today).await;
    let stats = app
        .staff_json(
            &dept,
            &format!("/v1/stats?unit=03CC&from={today}&to={today}"),
        )
        .await;
    assert_eq!(stats["days"][0]["channel_forms"], json!({"kiosk": 1}));

    // Revoked: the tablet opens nothing from its next request, and forgets
    // its credential.
    let id = registered["id"].as_str().unwrap();
    let path = format!("/v1/kiosks/{id}/revoke");
    assert_eq!(app.staff_post(&dept, &path, &json!({})).await.status(), 204);
    assert_eq!(app.staff_post(&dept, &path, &json!({})).await.status(), 404);
    let after = open(number()).await;
    assert_eq!(after.status(), 403);
    assert!(
        set_cookie(&after).starts_with("csq_kiosk=")
            && after.headers()["set-cookie"]
                .to_str()
                .unwrap()
                .contains("Max-Age=0")
    );
    assert_eq!(
        post("/kiosk/enrol", None, vec![("code", credential)])
            .await
            .status(),
        403
    );
    let audit = app
        .staff_json(&dept, &format!("/v1/audit?day={today}"))
        .await
        .to_string();
    assert!(audit.contains("kiosk-registered") && audit.contains("kiosk-revoked"));
}
