//! Channels beyond the emailed link: the rating link and its QR code in the
//! declaration software, later stages and follow-up forms, events for other
//! systems, and the one-click opt-out.

use chrono::Duration;
use csq_core::app::qr::read_back;
use mail_parser::MimeHeaders;
use serde_json::Value;

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
    assert_eq!(qr_in_email(&mail.raw).as_deref(), Some(rating_url.as_str()));

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
    app.host.csq.send_pending_invitations().await.unwrap();

    // The forms mailed before get no reminder.
    app.clock.advance(Duration::days(3) + Duration::hours(1));
    let yesterday = csq_core::domain::time::vn_day(app.clock_now()) - chrono::Days::new(1);
    let report = app.host.csq.run_nightly(yesterday).await.unwrap();
    assert_eq!(report.reminders_sent, 0);
    assert_eq!(
        app.emails_to("xnk@abc.com.vn").len(),
        before,
        "nothing more sent"
    );
    let _ = link;
}

#[tokio::test]
async fn an_address_the_it_unit_suppresses_gets_no_invitation() {
    let app = spawn_app().await;
    assert!(
        app.host
            .csq
            .suppress_address(
                "xnk@abc.com.vn",
                csq_core::domain::suppression::SuppressionReason::Staff
            )
            .await
            .unwrap()
    );
    let res = app.issue(&declaration(&number())).await;
    let issued: Value = res.json().await.unwrap();
    assert_eq!(issued["invitation"], "suppressed");
    // Other businesses are not affected.
    let mut other = declaration(&number());
    other["business"]["email"] = "other@xyz.vn".into();
    let issued: Value = app.issue(&other).await.json().await.unwrap();
    assert_ne!(issued["invitation"], "suppressed");
    assert!(app.emails_to("xnk@abc.com.vn").is_empty());
}
