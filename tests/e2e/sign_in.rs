//! Staff sign in as themselves on one machine: a one-time code from the
//! outbox, a session cookie the page cannot read, roles from the directory
//! in force at every request.

use chrono::Duration;
use csq_core::auth::staff::StaffRole;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, org, spawn_app};

const HEAD: &str = "head03cc@customs.test";

impl TestApp {
    async fn ask_code(&self, email: &str) -> reqwest::Response {
        self.http
            .post(format!("{}/auth/code", self.base))
            .json(&json!({ "email": email }))
            .send()
            .await
            .expect("request")
    }

    /// The newest code mailed to `email`.
    async fn code_for(&self, email: &str, nth: usize) -> String {
        let mail = self
            .eventually("the sign-in code email", || {
                self.emails_to(email)
                    .into_iter()
                    .filter(|m| m.subject.contains("sign-in code"))
                    .nth(nth)
            })
            .await;
        let code = mail.subject.rsplit(' ').next().unwrap().to_owned();
        assert!(code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()));
        assert!(mail.text.contains(&code));
        code
    }

    async fn start_session(&self, email: &str, code: &str) -> reqwest::Response {
        self.http
            .post(format!("{}/auth/session", self.base))
            .json(&json!({ "email": email, "code": code }))
            .send()
            .await
            .expect("request")
    }

    async fn with_cookie(
        &self,
        method: reqwest::Method,
        path: &str,
        cookie: &str,
        csrf: Option<&str>,
    ) -> reqwest::Response {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("cookie", cookie);
        if let Some(t) = csrf {
            req = req.header("x-csrf-token", t);
        }
        req.send().await.expect("request")
    }
}

/// Signs `email` in with the `nth` code mailed to it; returns the cookie and the session.
async fn sign_in(app: &TestApp, email: &str, nth: usize) -> (String, Value) {
    assert_eq!(app.ask_code(email).await.status(), StatusCode::ACCEPTED);
    let code = app.code_for(email, nth).await;
    let res = app.start_session(email, &code).await;
    assert_eq!(res.status(), StatusCode::OK);
    let set = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=36000"] {
        assert!(set.contains(attribute), "{set}");
    }
    let cookie = set.split(';').next().unwrap().to_owned();
    let body: Value = res.json().await.unwrap();
    let token = cookie.split_once('=').unwrap().1;
    assert!(
        !body.to_string().contains(token),
        "the session token stays in the cookie, out of the page's reach"
    );
    (cookie, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_signs_in_with_a_code_and_the_directory_decides_what_they_see() {
    let app = spawn_app().await;

    // An address the directory does not name: the same answer, and no email.
    let unknown = app.ask_code("stranger@customs.test").await;
    assert_eq!(unknown.status(), StatusCode::ACCEPTED);
    let known = app.ask_code(HEAD).await;
    assert_eq!(known.status(), StatusCode::ACCEPTED);
    assert_eq!(
        unknown.text().await.unwrap(),
        known.text().await.unwrap(),
        "the form tells no one who works here"
    );
    let code = app.code_for(HEAD, 0).await;
    assert!(app.emails_to("stranger@customs.test").is_empty());

    // A wrong code is refused; the right one starts a session.
    let wrong = if code == "000000" { "111111" } else { "000000" };
    assert_eq!(
        app.start_session(HEAD, wrong).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let res = app.start_session(HEAD, &code).await;
    assert_eq!(res.status(), StatusCode::OK);
    let cookie = res.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let session: Value = res.json().await.unwrap();
    assert_eq!(session["email"], HEAD);
    assert_eq!(session["roles"][0]["code"], "unit_head:03CC");
    let csrf = session["csrf"].as_str().unwrap().to_owned();
    assert_eq!(
        app.start_session(HEAD, &code).await.status(),
        StatusCode::UNAUTHORIZED,
        "a code signs in once"
    );

    // The office's queue, nothing outside it.
    let own = app
        .with_cookie(reqwest::Method::GET, "/v1/cases", &cookie, None)
        .await;
    assert_eq!(own.status(), StatusCode::OK);
    let other = app
        .with_cookie(
            reqwest::Method::GET,
            "/v1/ratings?branch=04CC",
            &cookie,
            None,
        )
        .await;
    assert_eq!(other.status(), StatusCode::FORBIDDEN);

    // Every write carries the session's CSRF token.
    let put = |csrf: Option<String>| {
        let (app, cookie) = (&app, cookie.clone());
        async move {
            let mut req = app
                .http
                .put(format!("{}/v1/case-rules", app.base))
                .header("cookie", cookie)
                .json(&json!({"holidays": []}));
            if let Some(t) = csrf {
                req = req.header("x-csrf-token", t);
            }
            let res = req.send().await.unwrap();
            let status = res.status();
            (status, res.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = put(None).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("csrf"))
    );
    let (status, body) = put(Some(csrf.clone())).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "past the CSRF check, a head may not"
    );
    assert_ne!(body["error"]["code"], "csrf");

    // The directory changes: the old head loses the office at the next request.
    let dept = app.staff_token(StaffRole::Department, None);
    let mut next = org();
    next.units
        .iter_mut()
        .find(|u| u.code == "03CC")
        .unwrap()
        .head = Some(csq_core::domain::org::Handler {
        name: "Chi cục trưởng mới".into(),
        email: "new-head03cc@customs.test".into(),
    });
    let replaced = app
        .http
        .put(format!("{}/v1/org", app.base))
        .bearer_auth(&dept)
        .json(&next)
        .send()
        .await
        .unwrap();
    assert!(replaced.status().is_success(), "{}", replaced.status());
    let after = app
        .with_cookie(reqwest::Method::GET, "/v1/cases", &cookie, None)
        .await;
    assert_eq!(after.status(), StatusCode::FORBIDDEN);

    // Sign-ins and failed attempts are in the audit log.
    let today = csq_core::domain::time::vn_day(app.clock_now());
    let audit = app
        .staff_json(&dept, &format!("/v1/audit?from={today}&to={today}"))
        .await
        .to_string();
    assert!(
        audit.contains("\"sign-in\"") && audit.contains("\"sign-in-failed\""),
        "{audit}"
    );

    // Signing out needs the CSRF token, and ends the session.
    assert_eq!(
        app.with_cookie(reqwest::Method::DELETE, "/auth/session", &cookie, None)
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.with_cookie(
            reqwest::Method::DELETE,
            "/auth/session",
            &cookie,
            Some(&csrf)
        )
        .await
        .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.with_cookie(reqwest::Method::GET, "/auth/session", &cookie, None)
            .await
            .status(),
        StatusCode::NO_CONTENT,
        "signed out"
    );
    assert_eq!(
        app.with_cookie(reqwest::Method::GET, "/v1/cases", &cookie, None)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codes_are_few_and_guesses_fewer_and_sessions_end() {
    let app = spawn_app().await;
    // Three codes a quarter hour per address, known or not: the same answers.
    for address in [HEAD, "stranger@customs.test"] {
        for _ in 0..3 {
            assert_eq!(app.ask_code(address).await.status(), StatusCode::ACCEPTED);
        }
        assert_eq!(
            app.ask_code(address).await.status(),
            StatusCode::TOO_MANY_REQUESTS
        );
    }
    // Five wrong guesses kill the code.
    let code = app.code_for(HEAD, 2).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        assert_eq!(
            app.start_session(HEAD, wrong).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        app.start_session(HEAD, &code).await.status(),
        StatusCode::UNAUTHORIZED,
        "out of tries"
    );

    // A quarter hour later a new code works; the session ends after idle time.
    app.clock.advance(Duration::minutes(16));
    let (cookie, session) = sign_in(&app, HEAD, 3).await;
    assert_eq!(session["roles"][0]["role"], "unit_head");
    let alive = app
        .with_cookie(reqwest::Method::GET, "/auth/session", &cookie, None)
        .await;
    assert_eq!(alive.status(), StatusCode::OK);
    // In use, it outlives the first idle deadline; idle, it ends.
    app.clock.advance(Duration::minutes(20));
    assert_eq!(
        app.with_cookie(reqwest::Method::GET, "/v1/cases", &cookie, None)
            .await
            .status(),
        StatusCode::OK
    );
    app.clock.advance(Duration::minutes(20));
    assert_eq!(
        app.with_cookie(reqwest::Method::GET, "/v1/cases", &cookie, None)
            .await
            .status(),
        StatusCode::OK,
        "40 minutes after sign-in, 20 after the last request"
    );
    app.clock.advance(Duration::minutes(31));
    assert_eq!(
        app.with_cookie(reqwest::Method::GET, "/v1/cases", &cookie, None)
            .await
            .status(),
        StatusCode::UNAUTHORIZED,
        "idle too long"
    );
}

/// The directory names people; the department, which keeps it, reads them
/// all (to edit), a unit head reads the units without officers or administrators.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_department_reads_the_directorys_people_a_head_does_not() {
    let app = spawn_app().await;
    let dept = app.staff_token(StaffRole::Department, None);
    let mut next = org();
    next.administrators = vec![csq_core::domain::org::Handler {
        name: "Quản trị".into(),
        email: "admin@customs.test".into(),
    }];
    next.units
        .iter_mut()
        .find(|u| u.code == "03CC")
        .unwrap()
        .officers = vec![csq_core::domain::org::Officer {
        id: "HP1234".into(),
        name: "Nguyễn Văn An".into(),
        email: "hp1234@customs.test".into(),
    }];
    let saved = app
        .http
        .put(format!("{}/v1/org", app.base))
        .bearer_auth(&dept)
        .json(&next)
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), StatusCode::CREATED);
    let full = app.staff_json(&dept, "/v1/org").await.to_string();
    assert!(full.contains("admin@customs.test") && full.contains("hp1234@customs.test"));
    let head = app.staff_token(StaffRole::UnitHead, Some("03CC"));
    let seen = app.staff_json(&head, "/v1/org").await.to_string();
    assert!(
        !seen.contains("admin@customs.test") && !seen.contains("hp1234@customs.test"),
        "{seen}"
    );

    // The officer signs in with a code and reads their own page only.
    let (cookie, session) = sign_in(&app, "hp1234@customs.test", 0).await;
    assert_eq!(session["roles"][0]["code"], "officer:HP1234");
    let me = app
        .with_cookie(reqwest::Method::GET, "/v1/me", &cookie, None)
        .await;
    assert_eq!(me.status(), StatusCode::OK);
    let cases = app
        .with_cookie(reqwest::Method::GET, "/v1/cases", &cookie, None)
        .await;
    assert_eq!(cases.status(), StatusCode::FORBIDDEN);
}
