//! The business's view of the rating page: links that cannot be used, the
//! review step, submit-once, CSRF, and the headers every page carries.

use chrono::Duration;
use csq_core::ports::FormStore;

use crate::helpers::{Browser, TestApp, declaration, number, spawn_app};

async fn form_status(app: &TestApp, link: &str) -> String {
    let token = link.rsplit('/').next().unwrap();
    let form_id = token.split('.').nth(1).unwrap();
    let form = app.host.store.form(form_id).await.unwrap().unwrap();
    form.status.code().to_owned()
}

#[tokio::test]
async fn opening_a_link_records_nothing() {
    let app = spawn_app().await;
    let link = app.issue_and_get_link(&number()).await;
    for _ in 0..3 {
        assert_eq!(app.http.get(&link).send().await.unwrap().status(), 200);
    }
    assert_eq!(form_status(&app, &link).await, "issued");
    let en = app
        .http
        .get(format!("{link}?lang=en"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(en.contains("Very satisfied") && en.contains("Officer Nguyễn Văn An"));
}

#[tokio::test]
async fn forged_expired_and_used_links_get_their_own_pages() {
    let app = spawn_app().await;
    let link = app.issue_and_get_link(&number()).await;

    let (head, sig) = link.rsplit_once('.').unwrap();
    let forged = format!("{head}.{}", sig.chars().rev().collect::<String>());
    let res = app.http.get(&forged).send().await.unwrap();
    assert_eq!(res.status(), 404);
    let page = res.text().await.unwrap();
    assert!(
        page.contains("Không tìm thấy") && page.contains("not found"),
        "both languages"
    );
    assert_eq!(
        app.http
            .get(format!("{}/f/garbage", app.base))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    let browser = app.open(&link).await;
    assert_eq!(
        browser.post(&app, true, &[("level.0", "5")]).await.status(),
        200
    );
    let used = app.http.get(&link).send().await.unwrap();
    assert_eq!(used.status(), 409);
    assert!(used.text().await.unwrap().contains("already submitted"));

    let other = app.issue_and_get_link(&number()).await;
    let late = app.open(&other).await;
    app.clock.advance(Duration::days(31));
    let res = app.http.get(&other).send().await.unwrap();
    assert_eq!(res.status(), 410);
    let page = res.text().await.unwrap();
    assert!(page.contains("hết hạn") && page.contains("expired"));
    assert_eq!(
        late.post(&app, true, &[("level.0", "5")]).await.status(),
        410,
        "a form open in a tab expires too"
    );
    assert_eq!(
        form_status(&app, &other).await,
        "issued",
        "nothing stored after expiry"
    );
}

#[tokio::test]
async fn double_submit_stores_once() {
    let app = std::sync::Arc::new(spawn_app().await);
    let link = app.issue_and_get_link(&number()).await;
    let browser = std::sync::Arc::new(app.open(&link).await);
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let (app, browser) = (app.clone(), browser.clone());
        tasks.push(tokio::spawn(async move {
            browser
                .post(
                    &app,
                    true,
                    &[
                        ("level.0", "2"),
                        ("contact_name", "Võ An"),
                        ("contact_phone", "0900000001"),
                    ],
                )
                .await
                .status()
                .as_u16()
        }));
    }
    let mut codes = Vec::new();
    for t in tasks {
        codes.push(t.await.unwrap());
    }
    assert_eq!(codes.iter().filter(|c| **c == 200).count(), 1, "{codes:?}");
    assert_eq!(codes.iter().filter(|c| **c == 409).count(), 5, "{codes:?}");
    // One complaint, so one case and one email to the branch head.
    app.eventually("the case email", || {
        app.emails_to("head03cc@customs.test").into_iter().next()
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(app.emails_to("head03cc@customs.test").len(), 1);
}

#[tokio::test]
async fn low_levels_need_a_contact_and_the_page_keeps_what_was_typed() {
    let app = spawn_app().await;
    let link = app.issue_and_get_link(&number()).await;
    let browser = app.open(&link).await;
    let res = browser
        .post(
            &app,
            false,
            &[
                ("level.2", "1"),
                ("comment.2", "Chờ 3 ngày \"không\" rõ lý do"),
                ("action", "review"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let page = res.text().await.unwrap();
    assert!(page.contains("Bắt buộc khi có mức 1 hoặc 2"));
    assert!(
        page.contains("Chờ 3 ngày &quot;không&quot; rõ lý do")
            || page.contains("Chờ 3 ngày \"không\" rõ lý do")
    );
    assert!(
        page.contains(r#"name="level.2" value="1" checked"#),
        "the chosen level stays chosen"
    );

    let res = browser
        .post(&app, true, &[("level.1", "5"), ("reason.1", "harassment")])
        .await;
    assert_eq!(res.status(), 422, "a reason must fit its level");
    assert!(res.text().await.unwrap().contains("không phù hợp"));
    assert_eq!(form_status(&app, &link).await, "issued");
}

#[tokio::test]
async fn edit_from_the_review_keeps_the_answers() {
    let app = spawn_app().await;
    let link = app.issue_and_get_link(&number()).await;
    let browser = app.open(&link).await;
    let review = browser
        .post(
            &app,
            false,
            &[
                ("level.0", "4"),
                ("overall_comment", "Tốt"),
                ("action", "review"),
            ],
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(
        review.contains(r#"formaction="/f/"#),
        "the review offers Sửa"
    );
    let edit = browser
        .post(
            &app,
            false,
            &[
                ("level.0", "4"),
                ("overall_comment", "Tốt"),
                ("action", "edit"),
            ],
        )
        .await;
    assert_eq!(edit.status(), 200);
    let page = edit.text().await.unwrap();
    assert!(page.contains(r#"name="level.0" value="4" checked"#));
    assert!(page.contains(">Tốt</textarea>"));
    assert_eq!(
        form_status(&app, &link).await,
        "issued",
        "review and edit store nothing"
    );
}

#[tokio::test]
async fn posts_without_the_csrf_pair_are_refused() {
    let app = spawn_app().await;
    let link = app.issue_and_get_link(&number()).await;
    let real = app.open(&link).await;
    let no_cookie = Browser {
        cookie: "csq_csrf=someone-else".into(),
        ..real
    };
    assert_eq!(
        no_cookie
            .post(&app, true, &[("level.0", "5")])
            .await
            .status(),
        403
    );
    let res = app
        .http
        .post(format!("{link}/submit"))
        .form(&[("level.0", "5")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(form_status(&app, &link).await, "issued");
}

#[tokio::test]
async fn pages_carry_security_headers_and_size_limits() {
    let app = spawn_app().await;
    let link = app.issue_and_get_link(&number()).await;
    let res = app.http.get(&link).send().await.unwrap();
    let h = res.headers();
    assert!(
        h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert!(
        h["strict-transport-security"]
            .to_str()
            .unwrap()
            .starts_with("max-age=")
    );
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["cache-control"], "no-store");
    let cookie = h["set-cookie"].to_str().unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));

    let browser = app.open(&link).await;
    let big = "x".repeat(70 * 1024);
    let res = browser
        .post(&app, true, &[("level.0", "5"), ("overall_comment", &big)])
        .await;
    assert_eq!(res.status(), 413);
    assert_eq!(form_status(&app, &link).await, "issued");
}

/// One client hammering the rating pages is slowed down alone: another client
/// (another address) still gets through.
#[tokio::test]
async fn one_noisy_client_does_not_lock_out_the_others() {
    use csq_local_host::limits::{ClientLimits, Rate};
    let app = crate::helpers::spawn_app_with(|c| {
        c.client_limits = Some(ClientLimits {
            reads: Rate {
                per_second: 2.0,
                burst: 3.0,
            },
            writes: Rate {
                per_second: 1.0,
                burst: 2.0,
            },
        })
    })
    .await;
    let link = app.issue_and_get_link(&crate::helpers::number()).await;
    let mut limited = 0;
    for _ in 0..10 {
        let res = app.http.get(&link).send().await.unwrap();
        if res.status() == 429 {
            assert!(res.headers().contains_key("retry-after"));
            limited += 1;
        }
    }
    assert!(
        limited >= 5,
        "the noisy client is limited ({limited} of 10)"
    );
    // Another business, from another address (all of 127/8 is this machine).
    let other = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()
        .unwrap();
    assert_eq!(other.get(&link).send().await.unwrap().status(), 200);
    // The declaration system, authenticated, is not held to the public limits.
    for _ in 0..10 {
        let res = app
            .issue(&crate::helpers::declaration(&crate::helpers::number()))
            .await;
        assert_eq!(res.status(), 201);
    }
}

/// The page a business opens on a phone: a six-subject form fits the budget
/// (≤ 20 KB of HTML and CSS, or ≤ 6 KB gzipped when the client accepts it), and
/// says which reason groups each level shows.
#[tokio::test]
async fn the_rating_page_is_small_and_compressed_on_request() {
    let app = spawn_app().await;
    let number = number();
    let mut six = crate::helpers::declaration(&number);
    six["handling"][1]["team"] = "03CC01".into();
    let issued: serde_json::Value = app.issue(&six).await.json().await.unwrap();
    let link = issued["rating_url"].as_str().unwrap().to_owned();

    let plain = app.http.get(&link).send().await.unwrap();
    assert!(plain.headers().get("content-encoding").is_none());
    let html = plain.text().await.unwrap();
    assert_eq!(html.matches("section class=\"card subject\"").count(), 6);
    let css = app.get_text("/static/csq.css").await;

    let res = app
        .http
        .get(&link)
        .header("accept-encoding", "br;q=1, gzip;q=0.8")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-encoding"], "gzip");
    assert_eq!(res.headers()["vary"], "accept-encoding");
    let gzipped = res.bytes().await.unwrap();
    let mut unzipped = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::GzDecoder::new(&gzipped[..]),
        &mut unzipped,
    )
    .unwrap();
    // Same page but for the per-request CSRF token.
    let strip = |page: &str| {
        let token = csq_tests::hidden_value(page, "csrf").unwrap();
        page.replace(&token, "")
    };
    assert_eq!(strip(&unzipped), strip(&html));
    println!(
        "six-subject rating page: {} B HTML + {} B CSS; {} B gzipped",
        html.len(),
        css.len(),
        gzipped.len()
    );
    assert!(
        html.len() + css.len() <= 20 * 1024 || gzipped.len() <= 6 * 1024,
        "page over budget: {} B HTML + {} B CSS, {} B gzipped",
        html.len(),
        css.len(),
        gzipped.len()
    );
    // Levels 1–2 take only the dissatisfied reasons, 4–5 only the satisfied,
    // 3 both (Reason::fits); the stylesheet shows groups by these classes.
    for (level, groups) in [("1", "bad"), ("3", "good bad"), ("5", "good")] {
        assert!(
            html.contains(&format!(
                r#"class="{groups}" name="level.0" value="{level}""#
            )),
            "level {level}"
        );
    }
    assert!(css.contains(".subject:has(input.good:checked) .reasons > .good"));
    // A client that refuses gzip gets the page as it is.
    let refused = app
        .http
        .get(&link)
        .header("accept-encoding", "gzip;q=0")
        .send()
        .await
        .unwrap();
    assert!(refused.headers().get("content-encoding").is_none());
}

/// Issue 19, "overall first": the office's level comes first and the teams,
/// stages and officers wait in a `<details>` section, closed for a satisfied
/// business, open when the office got 3 or lower or a detail holds an answer;
/// the office alone is a whole rating.
#[tokio::test]
async fn the_office_comes_first_and_the_details_open_when_they_matter() {
    let app = spawn_app().await;
    let link = app.issue_and_get_link(&number()).await;
    let browser = app.open(&link).await;
    let page = &browser.page;
    let office = page
        .find(r#"data-kind="branch""#)
        .expect("the office's card");
    let details = page
        .find(r#"<details class="more">"#)
        .expect("a closed details section");
    assert!(office < details, "the office first");
    assert!(
        page[details..].contains(r#"data-kind="detail""#),
        "the rest inside"
    );
    assert!(!page[..details].contains(r#"data-kind="detail""#));
    assert!(page.contains(r#"<script src="/static/rating.js">"#));
    let office_level = {
        let at = page[office..].find(r#"name="level."#).unwrap() + office + 12;
        page[at..at + page[at..].find('"').unwrap()].to_owned()
    };

    // A satisfied business: the office alone, reviewed and sent.
    let res = browser
        .post(
            &app,
            false,
            &[
                (&format!("level.{office_level}"), "5"),
                ("action", "review"),
            ],
        )
        .await;
    assert_eq!(res.status(), 200, "the office alone is a rating");
    // A low level without a contact comes back with the details open.
    let res = browser
        .post(
            &app,
            false,
            &[
                (&format!("level.{office_level}"), "2"),
                ("action", "review"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("<details class=\"more\" open>")
    );
    // So does a page with an answer inside the details.
    let detail_level = {
        let d = page.find(r#"data-kind="detail""#).unwrap();
        let at = page[d..].find(r#"name="level."#).unwrap() + d + 12;
        page[at..at + page[at..].find('"').unwrap()].to_owned()
    };
    let res = browser
        .post(
            &app,
            false,
            &[(&format!("level.{detail_level}"), "4"), ("action", "edit")],
        )
        .await;
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("<details class=\"more\" open>")
    );

    let script = app
        .http
        .get(format!("{}/static/rating.js", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(script.status(), 200);
    assert!(
        script.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    let csp = app.http.get(&link).send().await.unwrap().headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("default-src 'none'"),
        "{csp}"
    );
}

/// Issue 19, rate from the email: the invitation's five level buttons open
/// the form with the office's level chosen (the GET records nothing, as mail
/// scanners open links), and one press sends it: a satisfied business is
/// done in two requests after the email, with the CSRF check of any form.
#[tokio::test]
async fn a_satisfied_business_rates_from_the_email_in_two_requests() {
    let app = spawn_app().await;
    assert_eq!(app.issue(&declaration(&number())).await.status(), 201);
    let mail = &app.emails_to("xnk@abc.com.vn")[0];
    let buttons: Vec<String> = mail
        .html
        .split("href=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .filter(|h| h.contains("/f/") && h.contains("level="))
        // As a mail program reads the attribute.
        .map(|h| h.replace("&amp;", "&"))
        .collect();
    assert_eq!(buttons.len(), 5, "{buttons:?}");
    let five = buttons.iter().find(|b| b.ends_with("level=5")).unwrap();
    let link = five.split('?').next().unwrap().to_owned();

    let opened = app.open(five).await;
    assert_eq!(
        form_status(&app, &link).await,
        "issued",
        "opening records nothing"
    );
    let office = opened.page.find(r#"data-kind="branch""#).unwrap();
    let card = &opened.page[office..opened.page[office..].find("</section>").unwrap() + office];
    assert!(
        card.contains(r#"value="5" checked"#),
        "level 5 chosen: {card}"
    );
    assert!(opened.page.contains(&format!(
        r#"formaction="/f/{}/submit""#,
        link.rsplit('/').next().unwrap()
    )));
    assert!(
        !opened.page.contains("<details class=\"more\" open>"),
        "satisfied: details closed"
    );

    // A level that is not one opens the form with nothing chosen.
    let odd = app.open(&format!("{link}?level=9")).await;
    assert!(!odd.page.contains("checked") && !odd.page.contains("formaction"));

    // The one press: the fields the page holds, to /submit.
    let office_level = {
        let at = card.find(r#"name="level."#).unwrap() + 12;
        card[at..at + card[at..].find('"').unwrap()].to_owned()
    };
    let browser = Browser {
        link: link.clone(),
        ..opened
    };
    let res = browser
        .post(
            &app,
            true,
            &[(&format!("level.{office_level}"), "5"), ("action", "send")],
        )
        .await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("Cảm ơn"));
    assert_eq!(form_status(&app, &link).await, "submitted");
}
