//! Issue 25: a person is told what happens to their data where it is asked
//! for (the contact section, the confirm step), and in full at `/privacy`,
//! with the periods in force and in the department's own words if it wrote
//! them.

use crate::helpers::*;

/// The notice beside the contact fields names the periods in force and leads
/// to the full notice; the confirm step says who will read the contact given:
/// the handling unit for a complaint, the inspection unit alone for a report
/// of an officer's misconduct.
#[tokio::test]
async fn the_notice_stands_where_a_contact_is_asked_for() {
    let app = spawn_app_with(|c| {
        c.policy.personal_data_days = 200;
        c.policy.contact_grace_days = 15;
    })
    .await;
    let link = app.issue_and_get_link(&number()).await;
    let browser = app.open(&link).await;
    let page = &browser.page;
    let contact = &page[page.find("Thông tin liên hệ").expect("the contact section")..];
    assert!(
        contact.contains("xóa 15 ngày sau khi phản ánh được giải quyết")
            && contact.contains("không lưu quá 200 ngày"),
        "{contact}"
    );
    assert!(contact.contains("chỉ bộ phận thanh tra đọc"));
    assert!(contact.contains(r#"href="/privacy?lang=vi""#));

    let contact_fields = [("contact_name", "Mai Lan"), ("contact_phone", "0901234567")];
    let review = |level_reason: [(&'static str, &'static str); 2]| {
        let fields: Vec<(&str, &str)> = level_reason
            .into_iter()
            .chain(contact_fields)
            .chain([("action", "review")])
            .collect();
        let browser = &browser;
        let app = &app;
        async move {
            let res = browser.post(app, false, &fields).await;
            assert_eq!(res.status(), 200);
            res.text().await.unwrap()
        }
    };
    let complaint = review([("level.0", "1"), ("reason.0", "delay")]).await;
    assert!(
        complaint.contains("được chuyển đến đơn vị xử lý phản ánh"),
        "{complaint}"
    );
    assert!(complaint.contains("Mai Lan") && complaint.contains("200 ngày"));
    let misconduct = review([("level.0", "1"), ("reason.0", "harassment")]).await;
    assert!(
        misconduct.contains("chỉ được chuyển đến bộ phận thanh tra"),
        "{misconduct}"
    );
    assert!(!misconduct.contains("được chuyển đến đơn vị xử lý phản ánh"));
}

/// `/privacy` needs no sign-in, comes in both languages, names the
/// department from the directory and the periods in force; the rating page,
/// the public report and the invitation lead to it.
#[tokio::test]
async fn the_full_notice_names_the_department_and_the_periods() {
    let app = spawn_app_with(|c| {
        c.policy.personal_data_days = 200;
        c.policy.contact_grace_days = 15;
        c.policy.audit_days = 400;
    })
    .await;
    let vi = app
        .http
        .get(format!("{}/privacy", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(vi.status(), 200);
    let vi = vi.text().await.unwrap();
    assert!(vi.contains(r#"<html lang="vi">"#));
    assert!(
        vi.contains("Cục Hải quan Thử nghiệm"),
        "the controller: {vi}"
    );
    for figure in ["200 ngày", "15 ngày", "400 ngày", "30 ngày"] {
        assert!(vi.contains(figure), "{figure}");
    }
    assert!(vi.contains("Quyền của Quý vị") && vi.contains(r#"href="/privacy?lang=en""#));
    let en = app.get_text("/privacy?lang=en").await;
    assert!(en.contains(r#"<html lang="en">"#) && en.contains("Your rights"));
    assert!(en.contains("200 days") && en.contains("no personal data"));

    let public = app.get_text("/public").await;
    assert!(public.contains(r#"href="/privacy?lang=vi""#));
    let link = app.issue_and_get_link(&number()).await;
    let invitation = &app.emails_to("xnk@abc.com.vn")[0];
    assert!(
        invitation
            .text
            .contains(&format!("{}/privacy?lang=vi", app.base))
    );
    assert!(
        invitation
            .html
            .contains(&format!("{}/privacy?lang=en", app.base))
    );
    let page = app.open(&link).await.page;
    assert!(page.contains("<footer") && page.contains(r#"href="/privacy?lang=vi""#));
}

/// The department replaces the wording with a file; a file that uses an
/// unknown placeholder is refused at start with the reason.
#[tokio::test]
async fn the_department_words_it_its_own_way() {
    let dir = tempfile::tempdir().unwrap();
    let mut texts = csq_core::domain::privacy::PrivacyTexts::default();
    texts.vi.notice = "Cục giữ số điện thoại {personal_data_days} ngày, chỉ để trả lời.".into();
    texts.vi.sections[0].text = "Bên kiểm soát: {controller}, số 1 Đường Biển.".into();
    let file = dir.path().join("privacy.yaml");
    std::fs::write(&file, serde_norway::to_string(&texts).unwrap()).unwrap();
    let app = spawn_app_with(|c| c.privacy_file = Some(file.clone())).await;
    let link = app.issue_and_get_link(&number()).await;
    let page = app.open(&link).await.page;
    assert!(page.contains("Cục giữ số điện thoại 365 ngày, chỉ để trả lời."));
    let full = app.get_text("/privacy").await;
    assert!(full.contains("Bên kiểm soát: Cục Hải quan Thử nghiệm, số 1 Đường Biển."));

    texts.vi.notice = "Giữ tại {controller}".into();
    std::fs::write(&file, serde_norway::to_string(&texts).unwrap()).unwrap();
    let mut config = csq_local_host::config::HostConfig::for_tests(dir.path());
    config.privacy_file = Some(file);
    let secrets = config.secrets().unwrap();
    let err = config
        .settings("127.0.0.1:9".parse().unwrap(), &secrets)
        .unwrap_err();
    assert!(
        format!("{err:#}").contains("vi.notice uses {controller}"),
        "{err:#}"
    );
}

/// A person asks for their data: the department finds everything held about
/// their address or number, exports it, and erases it; the case, its finding
/// and its trail stay; a second erasure changes nothing; each step is in the
/// audit log under a keyed hash, never the address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_persons_data_is_found_exported_and_erased() {
    use crate::case_handling::{low, submit};
    use csq_core::auth::staff::StaffRole;
    use serde_json::{Value, json};
    let app = spawn_app().await;
    let case_id = submit(&app, &low()).await;
    let dept = app.staff_token(StaffRole::Department, None);
    let post = |token: &str, path: &str, body: Value| {
        let (app, token, path) = (&app, token.to_owned(), path.to_owned());
        async move { app.staff_post(&token, &path, &body).await }
    };
    let find = |body: Value| {
        let post = &post;
        let dept = dept.clone();
        async move {
            let res = post(&dept, "/v1/personal-data/find", body).await;
            assert_eq!(res.status(), 200);
            res.json::<Value>().await.unwrap()
        }
    };

    let held = find(json!({"email": " XNK@abc.com.vn"})).await;
    assert_eq!(held["by"], "email");
    assert_eq!(held["forms"].as_array().unwrap().len(), 1, "{held}");
    let form = &held["forms"][0];
    assert_eq!(form["email"], "xnk@abc.com.vn");
    assert_eq!(form["contact_phone"], "0901234567");
    assert_eq!(form["ratings"][0]["level"], 1);
    assert_eq!(held["cases"][0]["case_id"], case_id.as_str());
    assert_eq!(held["cases"][0]["contact_name"], "Mai Lan");
    assert!(held["suppression"].is_null());
    let by_phone = find(json!({"phone": "+84 901 234 567"})).await;
    assert_eq!(by_phone["forms"][0]["form_id"], form["form_id"]);
    assert_eq!(by_phone["cases"].as_array().unwrap().len(), 1);

    // The same as a file; the department alone; one of address or number.
    let export = post(
        &dept,
        "/v1/personal-data/export",
        json!({"email": "xnk@abc.com.vn"}),
    )
    .await;
    assert_eq!(export.status(), 200);
    assert!(
        export.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("personal-data.json")
    );
    let head = app.staff_token(StaffRole::UnitHead, Some("03CC"));
    let res = post(
        &head,
        "/v1/personal-data/find",
        json!({"email": "xnk@abc.com.vn"}),
    )
    .await;
    assert_eq!(res.status(), 403);
    for bad in [
        json!({}),
        json!({"email": "xnk@abc.com.vn", "phone": "0901234567"}),
        json!({"email": "not an address"}),
        json!({"phone": "12"}),
    ] {
        let res = post(&dept, "/v1/personal-data/erase", bad.clone()).await;
        assert_eq!(res.status(), 422, "{bad}");
    }

    // Erased: the form keeps its ratings, the case its finding and trail.
    let res = post(
        &dept,
        "/v1/personal-data/erase",
        json!({"email": "xnk@abc.com.vn"}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let done: Value = res.json().await.unwrap();
    assert_eq!(done, json!({"forms_erased": 1, "cases_anonymised": 1}));
    let case = app.staff_json(&dept, &format!("/v1/cases/{case_id}")).await;
    let text = case.to_string();
    assert!(
        !text.contains("Mai Lan") && !text.contains("0901234567"),
        "{text}"
    );
    assert_eq!(case["case"]["status"], "open", "the case goes on: {case}");
    assert!(
        case["events"].as_array().unwrap().iter().any(|e| e["note"]
            .as_str()
            .unwrap_or("")
            .contains("at the person's request")),
        "{case}"
    );
    let ratings = app.staff_json(&dept, "/v1/ratings?limit=10").await;
    assert_eq!(
        ratings["items"].as_array().unwrap().len(),
        1,
        "ratings stay"
    );
    for body in [
        json!({"email": "xnk@abc.com.vn"}),
        json!({"phone": "0901234567"}),
    ] {
        let held = find(body).await;
        assert!(
            held["forms"].as_array().unwrap().is_empty()
                && held["cases"].as_array().unwrap().is_empty(),
            "{held}"
        );
    }
    let again = post(
        &dept,
        "/v1/personal-data/erase",
        json!({"email": "xnk@abc.com.vn"}),
    )
    .await;
    assert_eq!(
        again.json::<Value>().await.unwrap(),
        json!({"forms_erased": 0, "cases_anonymised": 0}),
        "nothing twice"
    );

    // The audit log: who asked what, by key.
    let key = csq_core::domain::privacy::person::email_key("xnk@abc.com.vn");
    let (whats, log) = app.audited(&key).await;
    for what in [
        "personal-data-find",
        "personal-data-export",
        "personal-data-erase",
    ] {
        assert!(whats.iter().any(|w| w == what), "{what}: {whats:?}");
    }
    assert!(!log.contains("xnk@abc.com.vn"), "no address in the log");
}
