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
