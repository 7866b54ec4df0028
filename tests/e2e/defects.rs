//! Defects found by trying the demo as a new user would (issue 23), each with
//! the test that failed before its fix.

use chrono::{DateTime, Utc};
use csq_core::auth::staff::StaffRole;
use serde_json::Value;

use crate::helpers::{TestApp, spawn_app};

fn vn(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

/// Submits `fields` on the form behind `link` (the final "Gửi").
async fn submit(app: &TestApp, link: &str, fields: &[(&str, &str)]) {
    let b = app.open(link).await;
    let res = b.post(app, true, fields).await;
    assert_eq!(
        res.status(),
        200,
        "{}",
        res.text().await.unwrap_or_default()
    );
}

/// A misconduct report: the office rated 3 with no reason, the officer
/// HP1234 rated 1 for harassment, with the contact that level requires.
const MISCONDUCT_REPORT: [(&str, &str); 5] = [
    ("level.0", "3"),
    ("level.5", "1"),
    ("reason.5", "harassment"),
    ("contact_name", "Mai Lan"),
    ("contact_phone", "0901234567"),
];

fn totals(report: &Value) -> (u64, u64) {
    (
        report["current"]["totals"]["forms_submitted"]
            .as_u64()
            .unwrap(),
        report["current"]["cohort"]["forms_rated"].as_u64().unwrap(),
    )
}

/// Two forms of 03CC issued on 2 December 2026, submitted with `first` and
/// `second`, and that day's nightly run.
async fn two_forms_rated_on_2_december(first: &[(&str, &str)], second: &[(&str, &str)]) -> TestApp {
    let app = spawn_app().await;
    app.clock.set(vn("2026-12-02T10:00:00+07:00"));
    for fields in [first, second] {
        let link = app.issue_and_get_link(&crate::helpers::number()).await;
        submit(&app, &link, fields).await;
    }
    app.clock.set(vn("2026-12-03T02:00:00+07:00"));
    app.nightly("2026-12-02".parse().unwrap()).await;
    app
}

/// Item 1: a business that rated only an officer submitted a form too.
#[tokio::test]
async fn forms_submitted_counts_forms_not_office_ratings() {
    // One business rated the office, the other only an officer.
    let app = two_forms_rated_on_2_december(&[("level.0", "5")], &[("level.5", "4")]).await;

    let dept = app.staff_token(StaffRole::Department, None);
    for unit in ["03CC", "R03", "department", "03CC02"] {
        let r = app
            .staff_json(
                &dept,
                &format!("/v1/report?unit={unit}&period=month&at=2026-12-02"),
            )
            .await;
        assert_eq!(totals(&r), (2, 2), "{unit}: {r}");
    }
    let r = app
        .staff_json(&dept, "/v1/report?unit=03CC&period=since_launch")
        .await;
    assert_eq!(totals(&r), (2, 2), "{r}");
    let day = app
        .staff_json(&dept, "/v1/stats?unit=03CC&from=2026-12-02&to=2026-12-02")
        .await;
    assert_eq!(day["days"][0]["forms_submitted"], 2, "{day}");
    assert_eq!(day["days"][0]["ratings"], 1, "{day}");
}

/// Item 9: in a cell under k, a unit head loses the whole misconduct report,
/// as the listings do, not only the line that names misconduct.
#[tokio::test]
async fn a_small_cell_hides_the_whole_misconduct_form_from_a_unit_head() {
    let app = two_forms_rated_on_2_december(&[("level.0", "5")], &MISCONDUCT_REPORT).await;

    let path = "/v1/stats?unit=03CC&from=2026-12-02&to=2026-12-02";
    let dept = app.staff_token(StaffRole::Department, None);
    let all = app.staff_json(&dept, path).await;
    assert_eq!(
        all["days"][0]["level_counts"],
        serde_json::json!([0, 0, 1, 0, 1])
    );
    assert_eq!(all["days"][0]["forms_submitted"], 2);

    let head = app.staff_token(StaffRole::UnitHead, Some("03CC"));
    let seen = app.staff_json(&head, path).await;
    let row = &seen["days"][0];
    assert_eq!(
        row["level_counts"],
        serde_json::json!([0, 0, 0, 0, 1]),
        "{seen}"
    );
    assert_eq!(row["ratings"], 1);
    assert_eq!(row["forms_submitted"], 1);
    // The listings agree: one form, one rating.
    let listed = app
        .staff_json(&head, "/v1/ratings?unit=03CC&from=2026-12-02&to=2026-12-02")
        .await;
    let forms: std::collections::BTreeSet<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["form_id"].as_str())
        .collect();
    assert_eq!(forms.len(), 1, "{listed}");
}

async fn public_json(app: &TestApp, month: &str) -> Value {
    serde_json::from_str(&app.get_text(&format!("/public.json?month={month}")).await).unwrap()
}

/// Item 2: a month's public report lists the units as they were that month,
/// a unit merged since included (marked as such), and its totals add up.
#[tokio::test]
async fn a_past_months_public_report_keeps_a_unit_merged_later() {
    let app = crate::helpers::spawn_app_with(|c| c.policy.min_cell = 1).await;
    app.clock.set(vn("2026-11-10T10:00:00+07:00"));
    for (office, level) in [("03CC", "5"), ("03CC", "2"), ("04CC", "4")] {
        let link = crate::leadership::issue(&app, office).await;
        let mut fields = vec![("level.0", level)];
        if level == "2" {
            fields.extend([
                ("reason.0", "delay"),
                ("contact_name", "Mai Lan"),
                ("contact_phone", "0901234567"),
            ]);
        }
        submit(&app, &link, &fields).await;
    }
    app.clock.set(vn("2026-11-11T02:00:00+07:00"));
    app.nightly("2026-11-10".parse().unwrap()).await;

    // December: 04CC is merged into 03CC.
    app.clock.set(vn("2026-12-01T09:00:00+07:00"));
    let mut org = crate::helpers::org();
    for u in &mut org.units {
        if u.code == "04CC" {
            u.successor = Some("03CC".into());
            u.retired = true;
        }
        if u.code == "04CC01" {
            u.parent = Some("03CC".into());
        }
    }
    app.host
        .services
        .directory
        .replace_org(org, "test")
        .await
        .expect("merge");

    let public = public_json(&app, "2026-11").await;
    let units = public["units"].as_array().unwrap();
    let merged = units
        .iter()
        .find(|u| u["code"] == "04CC")
        .unwrap_or_else(|| panic!("04CC is listed: {public}"));
    assert_eq!(merged["merged_into"], "03CC");
    assert_eq!(merged["ratings"], 1);
    let listed: u64 = units.iter().filter_map(|u| u["ratings"].as_u64()).sum();
    assert_eq!(listed, 3);
    assert_eq!(public["totals"]["ratings"], 3, "{public}");
    assert!((public["totals"]["satisfied_share"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-9);

    // A month with no figures of its own does not list the merged unit.
    let december = public_json(&app, "2026-12").await;
    assert!(
        !december["units"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["code"] == "04CC"),
        "{december}"
    );
    let page = app.get_text("/public?month=2026-11").await;
    assert!(page.contains("since merged into 03CC"));
}

/// A refusal: 403 with the error schema, one sentence naming what and why.
async fn refused(app: &TestApp, token: &str, path: &str) -> String {
    let res = app.staff_get(token, path).await;
    assert_eq!(res.status(), 403, "GET {path}");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "forbidden", "{body}");
    let message = body["error"]["message"].as_str().unwrap().to_owned();
    assert!(message.ends_with('.'), "{message}");
    assert_eq!(message.matches(". ").count(), 0, "one sentence: {message}");
    message
}

/// Items 4–6: an officer reads only /v1/me (not the directory with heads'
/// emails), every refusal is a sentence, and the role is checked before the
/// parameters.
#[tokio::test]
async fn officers_read_only_their_page_and_refusals_say_why() {
    let app = spawn_app().await;
    let officer = app.officer_token("HP1234");
    for path in ["/v1/org", "/v1/org/versions", "/v1/org/versions/1"] {
        let m = refused(&app, &officer, path).await;
        assert_eq!(
            m,
            "Officers may not read the org directory: an officer reads only their own figures and comments, at /v1/me."
        );
    }
    assert_eq!(app.staff_get(&officer, "/v1/me").await.status(), 200);
    let head = app.staff_token(StaffRole::UnitHead, Some("03CC"));
    assert_eq!(app.staff_get(&head, "/v1/org").await.status(), 200);

    // The role first: no unit given, still the refusal for the route.
    let m = refused(&app, &officer, "/v1/stats").await;
    assert!(
        m.starts_with("Officers may not read unit statistics"),
        "{m}"
    );
    refused(&app, &officer, "/v1/stats.csv?from=nonsense").await;
    refused(&app, &officer, "/v1/report?period=decade").await;
    refused(&app, &officer, "/v1/rankings").await;
    refused(&app, &officer, "/v1/ratings.csv").await;
    refused(&app, &officer, "/v1/cases?status=nonsense").await;
    assert_eq!(app.staff_get(&head, "/v1/stats").await.status(), 400);

    let dept = app.staff_token(StaffRole::Department, None);
    let m = refused(&app, &dept, "/v1/me?from=nonsense").await;
    assert!(m.starts_with("/v1/me is an officer's own page"), "{m}");
    let m = refused(&app, &head, "/v1/stats?unit=04CC").await;
    assert_eq!(
        m,
        "04CC is outside your scope: you may read your own unit and the units under it."
    );
    let m = refused(&app, &head, "/v1/audit").await;
    assert_eq!(m, "Only department staff may read the audit log.");
    let m = refused(&app, &head, "/v1/cases?unit=inspection").await;
    assert!(
        m.starts_with("The cases of inspection are outside your scope"),
        "{m}"
    );
}

/// Item 8: a fresh demo always shows each role's work, names each officer
/// once, and names office heads as office heads.
#[tokio::test]
async fn the_demo_shows_every_roles_work() {
    let dir = tempfile::tempdir().unwrap();
    let config = csq_local_host::HostConfig::for_tests(dir.path());
    let clock = std::sync::Arc::new(csq_core::ports::SystemClock);
    // As `csq serve --demo`: the demo loads before the host serves (and
    // before its complaint router takes from the queue).
    {
        let loading = csq_local_host::LocalHost::open(
            config.clone(),
            clock.clone(),
            "127.0.0.1:1".parse().unwrap(),
        )
        .unwrap();
        loading.migrate().await.unwrap();
        csq_local_host::demo::load_demo(&loading).await.unwrap();
    }
    let running = csq_local_host::host::spawn(config, clock).await.unwrap();
    let host = running.host;
    let base = format!("http://{}", running.addr);
    let http = reqwest::Client::new();
    let dept = host.mint_staff_token(
        &csq_core::auth::staff::StaffClaims {
            sub: "test".into(),
            role: StaffRole::Department,
            unit: None,
            officer: None,
        },
        chrono::Duration::hours(1),
    );
    let get = |path: String| {
        let (http, dept) = (http.clone(), dept.clone());
        let url = format!("{base}{path}");
        async move {
            let res = http.get(url).bearer_auth(dept).send().await.unwrap();
            assert!(res.status().is_success(), "{}", res.status());
            res.text().await.unwrap()
        }
    };
    let today = csq_core::domain::time::vn_day(Utc::now());
    let from = today - chrono::Days::new(20);
    let range = format!("from={from}&to={today}");

    let cases = get(format!("/v1/cases.csv?{range}")).await;
    let rows: Vec<Vec<&str>> = cases
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    let case_of = |number: &str| {
        rows.iter()
            .find(|r| r[3] == number && r[1] == "complaint")
            .map(|r| r[0].to_owned())
            .unwrap_or_else(|| panic!("a case for {number}: {cases}"))
    };
    let misconduct = case_of("980000000001");
    assert!(
        rows.iter()
            .any(|r| r[0] == misconduct && r[5] == "inspection"),
        "the inspection unit has a misconduct case"
    );
    let detail = |id: String| async move {
        serde_json::from_str::<Value>(&get(format!("/v1/cases/{id}")).await).unwrap()
    };
    let transferred = detail(case_of("980000000002")).await;
    assert_eq!(
        transferred["case"]["transfers"][0]["to"], "91AA",
        "{transferred}"
    );
    let appealed = detail(case_of("980000000003")).await;
    assert!(
        !appealed["case"]["response"]["appealed_at"].is_null(),
        "{appealed}"
    );
    assert!(
        rows.iter()
            .any(|r| r[3] == "980000000004" && r[1] == "suggestion"),
        "a suggestion"
    );

    // One name per officer id across every rating.
    let ratings = get(format!("/v1/ratings.csv?{range}")).await;
    let mut names: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> =
        Default::default();
    let mut reader = csv::Reader::from_reader(ratings.trim_start_matches('\u{feff}').as_bytes());
    for record in reader.records() {
        let record = record.unwrap();
        let (officer, label) = (&record[5], &record[4]);
        if !officer.is_empty() {
            names
                .entry(officer.to_owned())
                .or_default()
                .insert(label.to_owned());
        }
    }
    assert!(!names.is_empty());
    for (officer, labels) in &names {
        let people: std::collections::BTreeSet<&str> = labels
            .iter()
            .map(|l| {
                l.rsplit_once(" (")
                    .map_or(l.as_str(), |(name, _stage)| name)
            })
            .collect();
        assert_eq!(people.len(), 1, "{officer}: {labels:?}");
    }

    let org: Value = serde_json::from_str(&get("/v1/org".into()).await).unwrap();
    for u in org["units"].as_array().unwrap() {
        if u["kind"] == "office" && u["code"].as_str().unwrap().starts_with("91") {
            let head = u["head"]["name"].as_str().unwrap();
            assert!(!head.starts_with("Đội trưởng"), "{head}");
        }
    }
}
