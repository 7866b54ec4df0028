//! Staff API: authentication, scope, pagination, CSV, idempotent rollups.

use csq_core::auth::staff::StaffRole;
use csq_core::domain::time::vn_day;
use serde_json::{Value, json};

use crate::helpers::{declaration, number, spawn_app};

#[tokio::test]
async fn staff_routes_need_a_valid_token() {
    let app = spawn_app().await;
    let res = app
        .http
        .get(format!("{}/v1/cases", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let res = app.staff_get("abc.def.ghi", "/v1/ratings").await;
    assert_eq!(res.status(), 401);
    let token = app.staff_token(StaffRole::Department, None);
    app.clock.advance(chrono::Duration::hours(2));
    assert_eq!(
        app.staff_get(&token, "/v1/org").await.status(),
        401,
        "expired"
    );
}

#[tokio::test]
async fn ratings_page_by_cursor_and_filter() {
    let app = spawn_app().await;
    for level in ["5", "4", "5", "3", "5"] {
        let link = app.issue_and_get_link(&number()).await;
        let b = app.open(&link).await;
        assert_eq!(
            b.post(&app, true, &[("level.0", level), ("level.5", level)])
                .await
                .status(),
            200
        );
    }
    let dept = app.staff_token(StaffRole::Department, None);
    let mut seen = 0;
    let mut path = "/v1/ratings?limit=3".to_owned();
    let mut pages = 0;
    loop {
        let page: Value = app.staff_get(&dept, &path).await.json().await.unwrap();
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 3);
        seen += items.len();
        pages += 1;
        match page["next_cursor"].as_str() {
            Some(c) if !items.is_empty() => path = format!("/v1/ratings?limit=3&cursor={c}"),
            _ => break,
        }
        assert!(pages < 20);
    }
    assert_eq!(seen, 10);
    let fives: Value = app
        .staff_get(&dept, "/v1/ratings?level=5&officer=HP1234")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(fives["items"].as_array().unwrap().len(), 3);
    assert_eq!(
        app.staff_get(&dept, "/v1/ratings?level=9").await.status(),
        400
    );
    assert_eq!(
        app.staff_get(&dept, "/v1/ratings?cursor=@@@")
            .await
            .status(),
        400
    );
    assert_eq!(
        app.staff_get(&dept, "/v1/ratings?from=2026-13-01")
            .await
            .status(),
        400
    );
}

#[tokio::test]
async fn unit_heads_see_their_subtree_but_never_a_misconduct_report() {
    let app = spawn_app().await;
    let link = app.issue_and_get_link(&number()).await;
    let b = app.open(&link).await;
    let fields = [
        ("level.0", "1"),
        ("reason.0", "misconduct"),
        ("contact_name", "Ngô Lan"),
        ("contact_phone", "0933444555"),
    ];
    assert_eq!(b.post(&app, true, &fields).await.status(), 200);
    app.eventually("the case", || {
        app.emails_to("thanhtra@customs.test").into_iter().next()
    })
    .await;

    let head03 = app.staff_token(StaffRole::UnitHead, Some("03CC"));
    let head04 = app.staff_token(StaffRole::UnitHead, Some("04CC"));
    let mine: Value = app
        .staff_get(&head03, "/v1/ratings?branch=03CC")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        mine["items"].as_array().unwrap().len(),
        0,
        "a misconduct report is withheld from the head of the unit it is about"
    );
    assert_eq!(
        app.staff_get(&head04, "/v1/ratings?branch=03CC")
            .await
            .status(),
        403
    );
    let theirs: Value = app
        .staff_get(&head04, "/v1/ratings")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        theirs["items"].as_array().unwrap().len(),
        0,
        "another branch's ratings are filtered out"
    );

    let form_id = link
        .rsplit('/')
        .next()
        .unwrap()
        .split('.')
        .nth(1)
        .unwrap()
        .to_owned();
    assert_eq!(
        app.staff_get(&head03, &format!("/v1/cases/{form_id}"))
            .await
            .status(),
        404,
        "misconduct cases are the inspection unit's"
    );
    assert_eq!(
        app.staff_get(&head03, "/v1/cases?unit=inspection")
            .await
            .status(),
        403
    );
    let res = app
        .case_action(&head03, &form_id, "dismiss", "nothing happened")
        .await;
    assert_eq!(res.status(), 404, "nor can they close it");

    let today = vn_day(app.clock_now());
    app.roll_up(today).await;
    assert_eq!(
        app.staff_get(&head04, "/v1/stats?unit=branch:03CC")
            .await
            .status(),
        403
    );
    assert_eq!(
        app.staff_get(&head03, "/v1/stats?unit=department")
            .await
            .status(),
        403
    );
    assert_eq!(
        app.staff_get(&head03, "/v1/stats?unit=branch:03CC")
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn rollups_rerun_identically_and_export_as_csv() {
    let app = spawn_app().await;
    for level in ["5", "2"] {
        let link = app.issue_and_get_link(&number()).await;
        let b = app.open(&link).await;
        let res = b
            .post(
                &app,
                true,
                &[
                    ("level.0", level),
                    ("contact_name", "Lý Minh"),
                    ("contact_phone", "0944555666"),
                ],
            )
            .await;
        assert_eq!(res.status(), 200);
    }
    app.issue(&declaration(&number())).await;
    // The level-2 rating's case is opened by the router in the background: the
    // day is complete once its head has been emailed.
    app.eventually("the complaint's case", || {
        app.emails_to("head03cc@customs.test").into_iter().next()
    })
    .await;
    let today = vn_day(app.clock_now());
    let first = app.roll_up(today).await;
    let second = app.roll_up(today).await;
    assert_eq!(first, second);

    let dept = app.staff_token(StaffRole::Department, None);
    let stats: Value = app
        .staff_get(
            &dept,
            &format!("/v1/stats?unit=branch:03CC&from={today}&to={today}"),
        )
        .await
        .json()
        .await
        .unwrap();
    let day = &stats["days"][0];
    assert_eq!(day["level_counts"], json!([0, 1, 0, 0, 1]));
    assert_eq!(day["forms_issued"], 3);
    assert_eq!(day["forms_submitted"], 2);
    assert_eq!(day["satisfied_share"], 0.5);

    let csv = app
        .staff_get(
            &dept,
            &format!("/v1/stats.csv?unit=branch:03CC&from={today}&to={today}"),
        )
        .await;
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let body = csv.text().await.unwrap();
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(
        lines[0].starts_with("\u{feff}date,unit,ratings,level_1"),
        "a byte-order mark first, so Excel reads UTF-8"
    );
    assert!(lines[1].starts_with(&format!(
        "{today},unit:03CC,2,0,1,0,0,1,3.5000,0.5000,3,2,0.6667"
    )));
    assert_eq!(
        app.staff_get(&dept, "/v1/stats").await.status(),
        400,
        "a unit is required"
    );
}

#[tokio::test]
async fn the_dashboard_page_is_public_and_runs_only_its_own_script() {
    let app = spawn_app().await;
    let page = app
        .http
        .get(format!("{}/dashboard", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("script-src 'self'")
            && csp.contains("connect-src 'self'")
            && !csp.contains("unsafe")
    );
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"<script src="/static/dashboard.js""#));
    let js = app
        .http
        .get(format!("{}/static/dashboard.js", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        js.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    let js = js.text().await.unwrap();
    assert!(
        js.contains("/v1/stats?") && !js.contains("innerHTML"),
        "data only through textContent"
    );
    // The rating pages keep the strict policy: their own script file only
    // (it opens the details), nothing inline, no requests from script.
    let other = app
        .http
        .get(format!("{}/f/x", app.base))
        .send()
        .await
        .unwrap();
    let csp = other.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("script-src 'self';")
            && !csp.contains("unsafe")
            && !csp.contains("connect-src"),
        "{csp}"
    );
}

#[tokio::test]
async fn reasons_come_with_their_labels() {
    let app = spawn_app().await;
    let dept = app.staff_token(StaffRole::Department, None);
    let reasons: Value = app
        .staff_get(&dept, "/v1/reasons")
        .await
        .json()
        .await
        .unwrap();
    let harassment = reasons
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["code"] == "harassment")
        .unwrap();
    assert_eq!(harassment["vi"], "Sách nhiễu");
    assert_eq!(harassment["misconduct"], true);
    assert_eq!(
        reasons.as_array().unwrap().len(),
        csq_core::domain::rating_scale::Reason::ALL.len()
    );
}

#[tokio::test]
async fn cursors_stay_in_their_range_and_listings_read_within_a_budget() {
    use base64::Engine;
    let app = spawn_app().await;
    let link = app.issue_and_get_link(&number()).await;
    assert_eq!(
        app.open(&link)
            .await
            .post(&app, true, &[("level.0", "5")])
            .await
            .status(),
        200
    );
    let dept = app.staff_token(StaffRole::Department, None);
    let today = vn_day(app.clock_now());
    let b64 = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    // A made-up cursor far before the range would walk millions of days.
    let far = b64(json!({"day": "0001-01-01", "after": null}));
    let res = app
        .staff_get(&dept, &format!("/v1/ratings?cursor={far}"))
        .await;
    assert_eq!(res.status(), 400);
    // A day in range with a damaged store position: 400, not an outage.
    let damaged = b64(json!({"day": today.to_string(), "after": "garbage"}));
    let res = app
        .staff_get(&dept, &format!("/v1/ratings?cursor={damaged}"))
        .await;
    assert_eq!(res.status(), 400);
    let res = app
        .staff_get(&dept, "/v1/cases?unit=03CC&cursor=garbage")
        .await;
    assert_eq!(res.status(), 400);
    let res = app
        .staff_get(&dept, "/v1/org/versions?cursor=garbage")
        .await;
    assert_eq!(res.status(), 400);

    // A filter that keeps nothing over a year: each request reads at most its
    // budget of days and hands back a cursor; following them ends.
    let from = today.checked_sub_days(chrono::Days::new(365)).unwrap();
    let mut path = format!("/v1/ratings?from={from}&to={today}&officer=NOBODY");
    let mut requests = 0;
    loop {
        let page: Value = app.staff_json(&dept, &path).await;
        requests += 1;
        assert!(page["items"].as_array().unwrap().is_empty());
        match page["next_cursor"].as_str() {
            Some(c) => {
                path = format!("/v1/ratings?from={from}&to={today}&officer=NOBODY&cursor={c}")
            }
            None => break,
        }
        assert!(requests < 50, "the walk ends");
    }
    let budget = csq_core::app::staff::READ_BUDGET as usize;
    assert_eq!(
        requests,
        366usize.div_ceil(budget),
        "366 days at {budget} reads a request"
    );
}

/// The outbox holds rating links and case details: on a bind other machines
/// can reach, only a department token opens it. (Driven in-process: no
/// network address other than loopback is used in tests.)
#[tokio::test]
async fn the_outbox_of_a_public_bind_needs_a_department_token() {
    use tower::ServiceExt;
    let dir = tempfile::tempdir().unwrap();
    let config = csq_local_host::HostConfig::for_tests(dir.path());
    let clock = std::sync::Arc::new(csq_core::ports::ManualClock::new(chrono::Utc::now()));
    let host = csq_local_host::LocalHost::open(config, clock, "10.20.30.40:8080".parse().unwrap())
        .unwrap();
    let get = |token: Option<String>| {
        let mut req = axum::http::Request::get("/outbox");
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        host.router()
            .oneshot(req.body(axum::body::Body::empty()).unwrap())
    };
    let claims = |role, unit: Option<&str>| csq_core::auth::staff::StaffClaims {
        sub: "s".into(),
        role,
        unit: unit.map(Into::into),
        officer: None,
    };
    let token = |c| host.mint_staff_token(&c, chrono::Duration::hours(1));
    assert_eq!(get(None).await.unwrap().status(), 403);
    let head = token(claims(StaffRole::UnitHead, Some("03CC")));
    assert_eq!(get(Some(head)).await.unwrap().status(), 403);
    let dept = token(claims(StaffRole::Department, None));
    assert_eq!(get(Some(dept)).await.unwrap().status(), 200);
}
