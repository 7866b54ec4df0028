//! What leadership reads, on the local host: response rate by issue-day
//! cohort (never above 100%), periods beside the previous one, reasons,
//! fair rankings, and the public monthly report with its ETag.

use chrono::{DateTime, Duration, Utc};
use csq_core::auth::staff::StaffRole;
use csq_core::domain::time::vn_day;
use csq_core::ports::StatsStore;
use serde_json::{Value, json};

use crate::helpers::{TestApp, declaration, link_in, number, spawn_app};

fn vn(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

/// Issues a form for `office` and returns its rating link.
pub(crate) async fn issue(app: &TestApp, office: &str) -> String {
    let n = number();
    let mut body = declaration(&n);
    body["declaration"]["customs_office"] = json!(office);
    if office != "03CC" {
        body["handling"] = json!([{"stage": "document_check", "team": format!("{office}01"),
            "officer": {"id": "HP9000", "name": "Lê Văn Chín"}}]);
    }
    let res = app.issue(&body).await;
    assert_eq!(res.status(), 201);
    // The background sweep may be the one that sends it: wait for it.
    let mail = app
        .eventually("the invitation", || {
            app.emails_to("xnk@abc.com.vn")
                .into_iter()
                .rev()
                .find(|e| e.subject.contains(&n))
        })
        .await;
    link_in(&mail.text)
}

async fn rate(app: &TestApp, link: &str, level: &str, reason: &str) {
    let b = app.open(link).await;
    let mut fields = vec![("level.0", level)];
    if !reason.is_empty() {
        fields.push(("reason.0", reason));
    }
    if level <= "2" {
        fields.extend([("contact_name", "Mai Lan"), ("contact_phone", "0901234567")]);
    }
    let res = b.post(app, true, &fields).await;
    assert_eq!(
        res.status(),
        200,
        "{}",
        res.text().await.unwrap_or_default()
    );
}

#[tokio::test]
async fn cohorts_periods_reasons_rankings_and_the_public_report() {
    let app = spawn_app().await;
    // Wednesday 2 December 2026: six forms for 03CC, one for 04CC.
    app.clock.set(vn("2026-12-02T10:00:00+07:00"));
    let mut links = vec![];
    for _ in 0..6 {
        links.push(issue(&app, "03CC").await);
    }
    let other = issue(&app, "04CC").await;
    // Rated the next day (three of six) and one on the day after: the
    // day-based rate of 3 Dec would read 3/0; the cohort of 2 Dec reads 4/6.
    app.clock.set(vn("2026-12-03T10:30:00+07:00"));
    rate(&app, &links[0], "5", "fast").await;
    rate(&app, &links[1], "4", "fast").await;
    rate(&app, &links[2], "2", "delay").await;
    rate(&app, &other, "5", "helpful").await;
    app.clock.set(vn("2026-12-04T11:00:00+07:00"));
    rate(&app, &links[3], "5", "").await;
    app.clock.set(vn("2026-12-05T02:00:00+07:00"));
    for day in ["2026-12-02", "2026-12-03", "2026-12-04"] {
        app.nightly(day.parse().unwrap()).await;
    }

    let dept = app.staff_token(StaffRole::Department, None);
    let r = app
        .staff_json(&dept, "/v1/report?unit=03CC&period=month&at=2026-12-02")
        .await;
    let cohort = &r["current"]["cohort"];
    assert_eq!(
        (
            cohort["forms_issued"].as_u64(),
            cohort["forms_rated"].as_u64()
        ),
        (Some(6), Some(4)),
        "{r}"
    );
    assert!((cohort["response_rate"].as_f64().unwrap() - 4.0 / 6.0).abs() < 1e-9);
    // Minutes from issue (10:00 on the 2nd) to rating: 1470, 1470, 1470, 2940 → lower median 1470.
    assert_eq!(cohort["median_minutes_to_rate"], 1470);
    assert_eq!(r["current"]["from"], "2026-12-01");
    assert_eq!(r["current"]["totals"]["ratings"], 4);
    assert_eq!(r["previous"]["from"], "2026-11-01");
    assert_eq!(r["previous"]["totals"]["ratings"], 0);
    let reasons: Vec<(&str, u64)> = r["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["reason"].as_str().unwrap(), x["total"].as_u64().unwrap()))
        .collect();
    assert_eq!(reasons, [("delay", 1), ("fast", 2)]);
    assert_eq!(r["top_negative_reasons"][0]["reason"], "delay");
    assert_eq!(
        r["top_negative_reasons"][0]["levels"],
        json!([0, 1, 0, 0, 0])
    );
    assert_eq!(r["top_negative_reasons"][0]["previous_total"], 0);
    // A week and since launch hold the same ratings here.
    let week = app
        .staff_json(&dept, "/v1/report?unit=03CC&period=week&at=2026-12-02")
        .await;
    assert_eq!(week["current"]["from"], "2026-11-30");
    assert_eq!(week["current"]["totals"]["ratings"], 4);
    let all = app
        .staff_json(&dept, "/v1/report?unit=department&period=since_launch")
        .await;
    assert_eq!(all["current"]["totals"]["ratings"], 5);
    assert!(all["previous"].is_null());
    assert_eq!(
        app.staff_get(&dept, "/v1/report?unit=03CC&period=decade")
            .await
            .status(),
        400
    );

    // Rankings: one 5-star rating never tops a list; below the minimum, unranked.
    let ranked = app
        .staff_json(
            &dept,
            "/v1/rankings?level=office&within=R03&at=2026-12-02&min_ratings=1",
        )
        .await;
    let keys: Vec<&str> = ranked["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["unit:03CC", "unit:04CC"], "{ranked}");
    assert!(
        ranked["items"][0]["lower"].as_f64().unwrap()
            > ranked["items"][1]["lower"].as_f64().unwrap()
    );
    let strict = app
        .staff_json(&dept, "/v1/rankings?level=office&within=R03&at=2026-12-02")
        .await;
    assert!(
        strict["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["rank"].is_null() && i["enough_ratings"] == false)
    );
    let officers = app
        .staff_json(
            &dept,
            "/v1/rankings?officers_of=03CC&at=2026-12-02&min_ratings=1",
        )
        .await;
    assert!(
        officers["items"].as_array().unwrap().is_empty(),
        "only the office was rated: {officers}"
    );
    let head04 = app.staff_token(StaffRole::UnitHead, Some("04CC"));
    assert_eq!(
        app.staff_get(&head04, "/v1/rankings?level=office&within=R03")
            .await
            .status(),
        403
    );

    // The public report of December: figures only for units with at least k (5) ratings.
    let res = app
        .http
        .get(format!("{}/public.json?month=2026-12", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let tag = res.headers()["etag"].to_str().unwrap().to_owned();
    let public: Value = res.json().await.unwrap();
    let units: Vec<&str> = public["units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["code"].as_str().unwrap())
        .collect();
    assert!(units.contains(&"03CC") && units.contains(&"04CC"));
    assert!(
        public["units"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["shown"] == false && u["ratings"].is_null())
    );
    assert!(!public.to_string().contains("HP1234") && !public.to_string().contains("abc.com.vn"));
    let again = app
        .http
        .get(format!("{}/public.json?month=2026-12", app.base))
        .header("if-none-match", &tag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    let csv = app
        .http
        .get(format!("{}/public.csv?month=2026-12", app.base))
        .send()
        .await
        .unwrap();
    let bytes = csv.bytes().await.unwrap();
    assert!(bytes.starts_with("\u{feff}month,code".as_bytes()));
    let page = app
        .http
        .get(format!("{}/public?month=2026-12", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("Units with fewer than 5 ratings show no figures")
    );
    assert_eq!(
        app.http
            .get(format!("{}/public.json?month=12-2026", app.base))
            .send()
            .await
            .unwrap()
            .status(),
        400
    );

    // Five more ratings for 03CC in the month (nine): now it is shown, the ETag changes.
    app.clock.set(vn("2026-12-05T09:00:00+07:00"));
    let mut more = vec![];
    for _ in 0..4 {
        more.push(issue(&app, "03CC").await);
    }
    for l in &more {
        rate(&app, l, "4", "").await;
    }
    rate(&app, &links[4], "5", "").await;
    app.clock.set(vn("2026-12-06T02:00:00+07:00"));
    app.nightly(vn_day(app.clock_now() - Duration::days(1)))
        .await;
    let res = app
        .http
        .get(format!("{}/public.json?month=2026-12", app.base))
        .send()
        .await
        .unwrap();
    assert_ne!(res.headers()["etag"].to_str().unwrap(), tag);
    let public: Value = res.json().await.unwrap();
    let office = public["units"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["code"] == "03CC")
        .unwrap();
    assert_eq!(office["ratings"], 9);
    assert!((office["satisfied_share"].as_f64().unwrap() - 8.0 / 9.0).abs() < 1e-9);
    // The cohort of 2 December now has five of six rated; never more than issued.
    let dept = app.staff_token(StaffRole::Department, None);
    let r = app
        .staff_json(&dept, "/v1/report?unit=03CC&period=week&at=2026-12-02")
        .await;
    let c = &r["current"]["cohort"];
    assert_eq!(
        (c["forms_issued"].as_u64(), c["forms_rated"].as_u64()),
        (Some(10), Some(9))
    );
    assert!(c["response_rate"].as_f64().unwrap() <= 1.0);
}

/// The nightly keeps the cohorts from each day's records: a rerun changes
/// nothing, and a cohort row written before rows kept their ratings by day
/// (an upgraded host) is recomputed from its forms, not added to.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cohorts_are_kept_day_by_day_and_old_rows_recomputed() {
    let app = spawn_app().await;
    app.clock.set(vn("2026-12-02T10:00:00+07:00"));
    let mut links = vec![];
    for _ in 0..3 {
        links.push(issue(&app, "03CC").await);
    }
    app.clock.set(vn("2026-12-03T10:30:00+07:00"));
    rate(&app, &links[0], "5", "fast").await;
    rate(&app, &links[1], "4", "fast").await;
    app.clock.set(vn("2026-12-04T02:00:00+07:00"));
    for day in ["2026-12-02", "2026-12-03", "2026-12-03"] {
        app.nightly(day.parse().unwrap()).await;
    }
    let dept = app.staff_token(StaffRole::Department, None);
    let cohort = |r: Value| {
        (
            r["current"]["cohort"]["forms_issued"].as_u64().unwrap(),
            r["current"]["cohort"]["forms_rated"].as_u64().unwrap(),
        )
    };
    let at = "/v1/report?unit=03CC&period=week&at=2026-12-02";
    assert_eq!(
        cohort(app.staff_json(&dept, at).await),
        (3, 2),
        "a rerun adds nothing"
    );
    // As an older host wrote it: the totals alone.
    let key = csq_core::domain::stats::cohort_key("unit:03CC");
    let day: chrono::NaiveDate = "2026-12-02".parse().unwrap();
    let mut rows = app.host.store.daily(&key, day, day).await.unwrap();
    assert_eq!(rows[0].rated_by_day.len(), 1, "both rated on the 3rd");
    rows[0].rated_by_day.clear();
    app.host.store.put_daily(&rows).await.unwrap();
    app.clock.set(vn("2026-12-05T09:00:00+07:00"));
    rate(&app, &links[2], "5", "").await;
    app.clock.set(vn("2026-12-06T02:00:00+07:00"));
    app.nightly("2026-12-05".parse().unwrap()).await;
    let dept = app.staff_token(StaffRole::Department, None);
    assert_eq!(
        cohort(app.staff_json(&dept, at).await),
        (3, 3),
        "recomputed from its forms, not 1 of 3"
    );
    let rows = app.host.store.daily(&key, day, day).await.unwrap();
    assert_eq!(rows[0].rated_by_day.len(), 2, "kept by day again");
}

/// A day's rollup row with `n` ratings of which `k` satisfied.
fn row(
    unit: &str,
    owner: &str,
    date: chrono::NaiveDate,
    n: u64,
    k: u64,
) -> csq_core::domain::stats::DailyStats {
    let mut r: csq_core::domain::stats::DailyStats = serde_json::from_value(json!({
        "unit": unit, "owner": owner, "date": date, "level_counts": [n - k, 0, 0, k, 0],
        "ratings": n, "average": null, "satisfied_share": null, "forms_issued": n,
        "forms_submitted": n, "response_rate": null, "complaints_opened": 0,
        "complaints_closed": 0, "complaints_overdue": 0
    }))
    .unwrap();
    if unit == "unit:03CC" {
        r.officer_ids = vec!["HP1234".into()];
    }
    r
}

#[tokio::test]
async fn the_weekly_early_warning_flags_real_drops_once_and_emails_the_heads() {
    let app = spawn_app().await;
    let week_end: chrono::NaiveDate = "2026-11-29".parse().unwrap(); // a Sunday
    // 16 weeks of rollups: 03CC and its officer HP1234 fall from 90% to 55%
    // in the last 4 weeks; 04CC stays at 87.5%; 04CC01 has too few ratings.
    let mut rows = vec![];
    for back in 0..112u64 {
        let d = week_end - chrono::Days::new(back);
        let recent = back < 28;
        rows.push(row(
            "unit:03CC",
            "03CC",
            d,
            10,
            if recent { 5 + (back % 2) } else { 9 },
        ));
        rows.push(row(
            "officer:HP1234",
            "03CC",
            d,
            4,
            if recent {
                2
            } else {
                4 - u64::from(back % 5 == 0)
            },
        ));
        rows.push(row(
            "unit:04CC",
            "04CC",
            d,
            10,
            // The same 87.5% in both windows, day to day noise only.
            9 - (back % 4 == 0) as u64,
        ));
        if back % 30 == 0 {
            rows.push(row("unit:04CC01", "04CC01", d, 1, 0));
        }
    }
    app.host.store.put_daily(&rows).await.unwrap();
    app.clock.set(vn("2026-11-30T02:00:00+07:00"));
    let report = app
        .host
        .services
        .housekeeping
        .run_early_warning(week_end)
        .await
        .unwrap()
        .expect("saved");
    let keys: Vec<&str> = report.flags.iter().map(|f| f.key.as_str()).collect();
    assert!(
        keys.contains(&"unit:03CC") && keys.contains(&"officer:HP1234"),
        "{keys:?}"
    );
    assert!(
        !keys.contains(&"unit:04CC") && !keys.contains(&"unit:04CC01"),
        "{keys:?}"
    );
    let f = report.flags.iter().find(|f| f.key == "unit:03CC").unwrap();
    assert_eq!((f.recent_ratings, f.baseline_ratings), (280, 840));
    assert!(f.p_value < 0.001);
    // Emails: the department's head gets every flag, the region's head 03CC's,
    // the office head its officer's; a rerun saves and sends nothing.
    let mails = |to: &str| {
        app.emails_to(to)
            .into_iter()
            .filter(|e| e.subject.contains("Early warning"))
            .collect::<Vec<_>>()
    };
    assert_eq!(mails("cuctruong@customs.test").len(), 1);
    assert!(mails("head-r03@customs.test")[0].text.contains("unit:03CC"));
    assert!(
        mails("head03cc@customs.test")[0]
            .text
            .contains("officer:HP1234")
    );
    assert!(
        app.host
            .services
            .housekeeping
            .run_early_warning(week_end)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(mails("cuctruong@customs.test").len(), 1, "once");

    // Who reads which flags.
    let dept = app.staff_token(StaffRole::Department, None);
    let all = app.staff_json(&dept, "/v1/warnings").await;
    assert_eq!(all["flags"].as_array().unwrap().len(), report.flags.len());
    assert_eq!(all["week_end"], "2026-11-29");
    let head04 = app.staff_token(StaffRole::UnitHead, Some("04CC"));
    assert!(
        app.staff_json(&head04, "/v1/warnings").await["flags"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let region = app.staff_token(StaffRole::UnitHead, Some("R03"));
    assert_eq!(
        app.staff_json(&region, "/v1/warnings").await["flags"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn exports_stream_csv_with_a_bom_scoped_to_the_reader() {
    let app = spawn_app().await;
    let plain = issue(&app, "03CC").await;
    rate(&app, &plain, "2", "delay").await;
    let reported = issue(&app, "03CC").await;
    let b = app.open(&reported).await;
    let fields = [
        ("level.5", "1"),
        ("reason.5", "harassment"),
        ("contact_name", "Mai Lan"),
        ("contact_phone", "0901234567"),
    ];
    assert_eq!(b.post(&app, true, &fields).await.status(), 200);
    app.eventually("two cases", || {
        (app.emails()
            .iter()
            .filter(|e| e.subject.starts_with("[CSQ]"))
            .count()
            >= 2)
            .then_some(())
    })
    .await;
    let get = |token: String, path: &'static str| {
        let app = &app;
        async move {
            let res = app.staff_get(&token, path).await;
            assert_eq!(res.status(), 200, "{path}");
            assert!(
                res.headers()["content-type"]
                    .to_str()
                    .unwrap()
                    .starts_with("text/csv")
            );
            String::from_utf8(res.bytes().await.unwrap().to_vec()).unwrap()
        }
    };
    let dept = app.staff_token(StaffRole::Department, None);
    let head = app.staff_token(StaffRole::UnitHead, Some("03CC"));
    let all = get(dept.clone(), "/v1/ratings.csv").await;
    assert!(all.starts_with("\u{feff}submitted_at,declaration_number"));
    assert_eq!(all.lines().count(), 3, "{all}");
    assert!(all.contains("harassment"));
    let scoped = get(head.clone(), "/v1/ratings.csv").await;
    assert_eq!(
        scoped.lines().count(),
        2,
        "the misconduct report is not the head's: {scoped}"
    );
    assert!(!scoped.contains("harassment"));
    let cases = get(dept, "/v1/cases.csv").await;
    assert!(cases.starts_with("\u{feff}case_id,kind,status"));
    assert_eq!(cases.lines().count(), 3);
    let head_cases = get(head.clone(), "/v1/cases.csv").await;
    assert_eq!(head_cases.lines().count(), 2);
    assert_eq!(
        app.staff_get(&head, "/v1/ratings.csv?from=2025-01-01&to=2026-12-31")
            .await
            .status(),
        400,
        "at most a year"
    );
    let officer = app.officer_token("HP1234");
    assert_eq!(app.staff_get(&officer, "/v1/cases.csv").await.status(), 403);
}

/// Thousands of random ratings and cases over four months: every figure of
/// the reports, rankings, public report and CSV equals one computed from the
/// raw records (the AWS adapters run the same check on the emulator).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_numbers_agree_with_the_raw_records() {
    let app = spawn_app().await;
    let end = app.clock_now();
    let expected = csq_contract::numbers::generate(
        app.host.store.as_ref(),
        &app.host.services.housekeeping,
        csq_contract::numbers::Scenario {
            offices: &["03CC", "04CC"],
            root: "CUC",
            forms: 3000,
            days: 120,
            end,
            seed: 20_261_128,
        },
    )
    .await;
    assert!(
        expected.ratings > 1500 && expected.cases > 200,
        "{} ratings, {} cases",
        expected.ratings,
        expected.cases
    );
    csq_contract::numbers::check(
        &app.host.services.figures,
        &app.host.services.directory,
        app.host.config.policy.min_cell,
        &expected,
        "office",
    )
    .await;

    // The statistics CSV adds up to the same ratings as the monthly report.
    let dept = app.staff_token(StaffRole::Department, None);
    let to = vn_day(end);
    let from = to - chrono::Days::new(120);
    let res = app
        .staff_get(
            &dept,
            &format!("/v1/stats.csv?unit=03CC&from={from}&to={to}"),
        )
        .await;
    let csv = res.text().await.unwrap();
    let from_csv: u64 = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(2).unwrap().parse::<u64>().unwrap())
        .sum();
    let report = app
        .staff_json(&dept, "/v1/report?unit=03CC&period=since_launch")
        .await;
    assert_eq!(
        from_csv,
        report["current"]["totals"]["ratings"].as_u64().unwrap()
    );
}
