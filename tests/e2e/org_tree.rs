//! The org directory as a tree that changes over time: versions, merges and
//! renames, statistics at every level, scopes that follow the tree, and a data
//! directory of the first version read as a tree.

use chrono::Utc;
use csq_core::auth::staff::StaffRole;
use csq_core::domain::org::legacy::{LegacyBranch, LegacyTeam};
use csq_core::domain::org::{Handler, LegacyOrg};
use csq_core::domain::stats::DailyStats;
use csq_core::domain::time::vn_day;
use csq_core::ports::{FirstVersionOrgWriter, StatsStore};
use serde_json::{Value, json};

use crate::helpers::{TestApp, declaration, error_fields, number, spawn_app, spawn_app_with};

async fn put_org(app: &TestApp, token: &str, body: &Value) -> reqwest::Response {
    app.http
        .put(format!("{}/v1/org", app.base))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap()
}

/// Issues a form at `office` and rates its office subject `level`.
async fn rate_office(app: &TestApp, office: &str, team: &str, level: &str) -> Value {
    let mut body = declaration(&number());
    body["declaration"]["customs_office"] = json!(office);
    body["handling"] = json!([{"stage": "clearance", "team": team,
        "officer": {"id": "HP9999", "name": "Phạm Văn Dũng"}}]);
    let issued: Value = app.issue(&body).await.json().await.unwrap();
    let link = crate::helpers::link_in(
        &app.emails_to("xnk@abc.com.vn")
            .into_iter()
            .find(|e| {
                e.text
                    .contains(body["declaration"]["number"].as_str().unwrap())
            })
            .expect("invitation")
            .text,
    );
    let browser = app.open(&link).await;
    let fields = [
        ("level.0", level),
        ("contact_name", "Mai Lan"),
        ("contact_phone", "0901234567"),
    ];
    let res = browser.post(app, true, &fields).await;
    assert_eq!(res.status(), 200);
    issued
}

#[tokio::test]
async fn the_directory_changes_as_versions_and_history_stays_with_its_unit() {
    let app = spawn_app().await;
    let dept = app.staff_token(StaffRole::Department, None);
    let org: Value = app.staff_json(&dept, "/v1/org").await;
    assert_eq!(org["version"], 1);
    let body = json!({"inspection_unit": org["inspection_unit"], "default_unit": org["default_unit"], "units": org["units"]});

    // Sending the directory in force again changes nothing.
    assert_eq!(put_org(&app, &dept, &body).await.status(), 200);

    // A broken directory: every problem with its path, nothing stored.
    let mut bad = body.clone();
    bad["units"][3]["parent"] = json!("03CC02"); // R03 under its own team: a cycle
    bad["units"][5]["parent"] = json!("99XX");
    bad["units"][7]["head"]["email"] = json!("not-an-email");
    bad["units"][8]["code"] = json!("03CC02");
    let res = put_org(&app, &dept, &bad).await;
    assert_eq!(res.status(), 422);
    let errors: Value = res.json().await.unwrap();
    let fields = error_fields(&errors);
    for f in [
        "units[3].parent",
        "units[5].parent",
        "units[7].head.email",
        "units[8].code",
    ] {
        assert!(fields.contains(&f), "{f} not in {fields:?}");
    }

    // Ratings given to 04CC before it is merged into 03CC.
    let before = rate_office(&app, "04CC", "04CC01", "2").await;
    assert_eq!(before["unknown_units"], json!([]));

    // Version 2: 03CC renamed, 04CC merged into it, its team left out.
    let mut next = body.clone();
    next["units"][4]["name"] = json!("Hải quan cửa khẩu 03CC");
    next["units"][7]["successor"] = json!("03CC");
    next["units"][7]["retired"] = json!(true);
    next["units"].as_array_mut().unwrap().remove(8);
    let res = put_org(&app, &dept, &next).await;
    assert_eq!(res.status(), 201);
    let saved: Value = res.json().await.unwrap();
    assert_eq!(saved["version"], 2);
    let changes: Vec<(String, String)> = saved["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["code"].as_str().unwrap().into(),
                c["change"].as_str().unwrap().into(),
            )
        })
        .collect();
    for expected in [
        ("03CC", "renamed"),
        ("04CC", "merged"),
        ("04CC01", "retired"),
    ] {
        assert!(
            changes.contains(&(expected.0.into(), expected.1.into())),
            "{expected:?} in {changes:?}"
        );
    }
    let versions: Value = app.staff_json(&dept, "/v1/org/versions").await;
    let listed: Vec<u64> = versions["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_u64().unwrap())
        .collect();
    assert_eq!(listed, [2, 1]);
    assert_eq!(
        versions["items"][0]["saved_by"], "operator-token:tester",
        "the token's subject, marked as an operator's"
    );
    let v1: Value = app.staff_json(&dept, "/v1/org/versions/1").await;
    assert_eq!(
        v1["units"][4]["name"], "Chi cục 03CC",
        "the old version as it was"
    );
    assert_eq!(
        app.staff_get(&dept, "/v1/org/versions/9").await.status(),
        404
    );

    // A form keeps the version in force when it was issued.
    let after = rate_office(&app, "03CC", "03CC01", "5").await;
    let today = vn_day(app.clock_now());
    let forms: Value = app
        .staff_json(&dept, &format!("/v1/forms?from={today}&to={today}"))
        .await;
    let version_of = |id: &Value| {
        forms["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["id"] == *id)
            .map(|f| f["org_version"].clone())
            .unwrap()
    };
    assert_eq!(version_of(&before["form_id"]), 1);
    assert_eq!(version_of(&after["form_id"]), 2);

    // Statistics: the merged office's ratings stay its own, and count for its
    // successor only when asked.
    app.roll_up(today).await;
    let q =
        |unit: &str, extra: &str| format!("/v1/stats?unit={unit}&from={today}&to={today}{extra}");
    let own: Value = app.staff_json(&dept, &q("03CC", "")).await;
    assert_eq!(own["totals"]["level_counts"], json!([0, 0, 0, 0, 1]));
    assert_eq!(own["info"]["name"], "Hải quan cửa khẩu 03CC");
    let path: Vec<&str> = own["path"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["code"].as_str().unwrap())
        .collect();
    assert_eq!(path, ["CUC", "R03", "03CC"]);
    let merged: Value = app
        .staff_json(&dept, &q("03CC", "&include_predecessors=true"))
        .await;
    assert_eq!(merged["predecessors"], json!(["04CC"]));
    assert_eq!(merged["totals"]["level_counts"], json!([0, 1, 0, 0, 1]));
    let old: Value = app.staff_json(&dept, &q("04CC", "")).await;
    assert_eq!(old["totals"]["level_counts"], json!([0, 1, 0, 0, 0]));

    // Every level has figures; drill down from the authority.
    let root: Value = app
        .staff_json(&dept, &q("department", "&children=true"))
        .await;
    assert_eq!(root["unit"], "unit:CUC");
    assert_eq!(root["totals"]["ratings"], 2);
    let region = root["children"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["unit"]["code"] == "R03")
        .unwrap();
    assert_eq!(region["totals"]["ratings"], 2);
    assert_eq!(region["totals"]["forms_issued"], 2);
    let offices: Value = app.staff_json(&dept, &q("R03", "&children=true")).await;
    let children: Vec<(&str, bool, u64)> = offices["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["unit"]["code"].as_str().unwrap(),
                c["unit"]["active"].as_bool().unwrap(),
                c["totals"]["ratings"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(children, [("03CC", true, 1), ("04CC", false, 1)]);
    let stage: Value = app.staff_json(&dept, &q("stage:R03:clearance", "")).await;
    assert_eq!(stage["totals"]["forms_issued"], 2);
}

#[tokio::test]
async fn a_complaint_about_a_merged_office_goes_to_its_successor() {
    let app = spawn_app().await;
    let dept = app.staff_token(StaffRole::Department, None);
    // Issued while 04CC existed...
    let mut body = declaration(&number());
    body["declaration"]["customs_office"] = json!("04CC");
    body["handling"] = json!([{"stage": "clearance", "team": "04CC01"}]);
    assert_eq!(app.issue(&body).await.status(), 201);
    let link = crate::helpers::link_in(&app.emails_to("xnk@abc.com.vn")[0].text);
    // ... rated after 04CC was merged into 03CC.
    let org: Value = app.staff_json(&dept, "/v1/org").await;
    let mut next = json!({"inspection_unit": "TT", "default_unit": "VP", "units": org["units"]});
    next["units"][7]["successor"] = json!("03CC");
    next["units"][7]["retired"] = json!(true);
    next["units"][8]["retired"] = json!(true);
    assert_eq!(put_org(&app, &dept, &next).await.status(), 201);
    let browser = app.open(&link).await;
    let fields = [
        ("level.0", "2"),
        ("reason.0", "delay"),
        ("contact_name", "Mai Lan"),
        ("contact_phone", "0901234567"),
    ];
    assert_eq!(browser.post(&app, true, &fields).await.status(), 200);
    let mail = app
        .eventually("the successor's head email", || {
            app.emails_to("head03cc@customs.test").into_iter().next()
        })
        .await;
    assert!(
        mail.text.contains("Chi cục 04CC"),
        "the unit is named, not coded"
    );
    assert!(app.emails_to("head04cc@customs.test").is_empty());
}

#[tokio::test]
async fn scopes_follow_the_tree() {
    let app = spawn_app().await;
    rate_office(&app, "03CC", "03CC01", "4").await;
    rate_office(&app, "04CC", "04CC01", "5").await;
    let today = vn_day(app.clock_now());
    app.roll_up(today).await;
    let region = app.staff_token(StaffRole::UnitHead, Some("R03"));
    let office = app.staff_token(StaffRole::UnitHead, Some("03CC"));
    let stats = |unit: &str| format!("/v1/stats?unit={unit}&from={today}&to={today}");

    for unit in ["R03", "03CC", "04CC", "03CC01", "stage:04CC:clearance"] {
        assert_eq!(
            app.staff_get(&region, &stats(unit)).await.status(),
            200,
            "region sees {unit}"
        );
    }
    for unit in ["R03", "04CC", "department", "CUC"] {
        assert_eq!(
            app.staff_get(&office, &stats(unit)).await.status(),
            403,
            "office must not see {unit}"
        );
    }
    assert_eq!(app.staff_get(&office, &stats("03CC01")).await.status(), 200);

    let ratings = |token: &str| {
        let (app, token) = (&app, token.to_owned());
        async move {
            let v: Value = app
                .staff_json(&token, &format!("/v1/ratings?from={today}&to={today}"))
                .await;
            let mut offices: Vec<String> = v["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["branch"].as_str().unwrap().to_owned())
                .collect();
            offices.dedup();
            offices
        }
    };
    assert_eq!(
        ratings(&region).await.len(),
        2,
        "the region reads both offices"
    );
    assert_eq!(ratings(&office).await, ["03CC"]);
    let filtered = app
        .staff_get(
            &region,
            &format!("/v1/ratings?unit=04CC&from={today}&to={today}"),
        )
        .await;
    assert_eq!(filtered.status(), 200);
    assert_eq!(
        app.staff_get(
            &office,
            &format!("/v1/ratings?unit=R03&from={today}&to={today}")
        )
        .await
        .status(),
        403
    );

    // A unit claim that names no unit of the directory is refused, not widened.
    let typo = app.staff_token(StaffRole::UnitHead, Some("03CX"));
    let res = app.staff_get(&typo, "/v1/reasons").await;
    assert_eq!(res.status(), 401);
    let err: Value = res.json().await.unwrap();
    assert!(err["error"]["message"].as_str().unwrap().contains("03CX"));
}

#[tokio::test]
async fn a_first_version_data_directory_reads_as_a_tree() {
    // GIVEN a data directory the first version wrote: a department › branch ›
    // team directory and a rollup under its old key.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    {
        let store = csq_local::SqliteStore::open(&data.join("csq.sqlite")).unwrap();
        let h = |n: &str| Handler {
            name: n.into(),
            email: format!("{n}@customs.test"),
        };
        store
            .write_first_version_org(&LegacyOrg {
                department: "Cục Hải quan Cũ".into(),
                inspection: h("thanhtra"),
                default_handler: h("vanphong"),
                branches: vec![LegacyBranch {
                    code: "03CC".into(),
                    name: "Chi cục 03CC".into(),
                    head: h("head03cc"),
                    teams: vec![LegacyTeam {
                        code: "03CC01".into(),
                        name: "Đội 1".into(),
                    }],
                }],
            })
            .await
            .unwrap();
        let row: DailyStats = serde_json::from_value(json!({
            "unit": "branch:03CC", "branch": "03CC", "date": vn_day(Utc::now()).to_string(),
            "level_counts": [0, 0, 0, 1, 2], "ratings": 3, "average": 4.67, "satisfied_share": 1.0,
            "forms_issued": 4, "forms_submitted": 3, "response_rate": 0.75,
            "complaints_opened": 0, "complaints_closed": 0, "complaints_overdue": 0
        }))
        .unwrap();
        store.put_daily(&[row]).await.unwrap();
    }
    // WHEN today's version opens it (no manual step)
    let data_dir = data.clone();
    let app = spawn_app_with(move |c| c.data_dir = data_dir).await;
    let dept = app.staff_token(StaffRole::Department, None);

    // THEN the migration made it version 1 of a tree, once, and kept its figures
    let versions: Value = app.staff_json(&dept, "/v1/org/versions").await;
    let items = versions["items"].as_array().unwrap();
    let first = items.last().unwrap();
    assert_eq!(
        (first["version"].as_u64(), first["saved_by"].as_str()),
        (Some(1), Some("migration"))
    );
    let v1: Value = app.staff_json(&dept, "/v1/org/versions/1").await;
    let codes: Vec<&str> = v1["units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["CUC", "TT", "VP", "03CC", "03CC01"]);
    let today = vn_day(app.clock_now());
    let stats: Value = app
        .staff_get(
            &dept,
            &format!("/v1/stats?unit=03CC&from={today}&to={today}"),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(stats["days"][0]["level_counts"], json!([0, 0, 0, 1, 2]));
    assert_eq!(stats["days"][0]["owner"], "03CC");
    assert!(
        !app.host
            .services
            .directory
            .migrate_first_version()
            .await
            .unwrap(),
        "it runs once"
    );
}
