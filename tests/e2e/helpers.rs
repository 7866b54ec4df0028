//! `spawn_app`: the local host on a free port with fresh storage, plus the
//! moves a user makes (read the outbox, follow a link, post a form).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use csq_core::auth::staff::{StaffClaims, StaffRole};
use csq_core::domain::org::{Handler, OrgDirectory, Unit};
use csq_core::ports::ManualClock;
use csq_local_host::{HostConfig, LocalHost};
use serde_json::{Value, json};

pub struct TestApp {
    pub base: String,
    pub host: LocalHost,
    pub clock: Arc<ManualClock>,
    pub http: reqwest::Client,
    pub outbox: PathBuf,
    stop: tokio::sync::watch::Sender<bool>,
    _dir: tempfile::TempDir,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// The test authority: CUC › region R03 › offices 03CC and 04CC › teams,
/// with the inspection unit TT and the department office VP under CUC.
pub fn org() -> OrgDirectory {
    let unit =
        |code: &str, name: &str, kind: &str, parent: Option<&str>, head: Option<(&str, &str)>| {
            Unit {
                code: code.into(),
                name: name.into(),
                name_en: None,
                kind: kind.into(),
                parent: parent.map(Into::into),
                head: head.map(|(name, email)| Handler {
                    name: name.into(),
                    email: email.into(),
                }),
                handlers: vec![],
                officers: vec![],
                successor: None,
                retired: false,
            }
        };
    let mut office03 = unit(
        "03CC",
        "Chi cục 03CC",
        "office",
        Some("R03"),
        Some(("Chi cục trưởng 03CC", "head03cc@customs.test")),
    );
    office03.name_en = Some("Branch 03CC".into());
    OrgDirectory::new(
        "TT",
        "VP",
        vec![
            unit(
                "CUC",
                "Cục Hải quan Thử nghiệm",
                "department",
                None,
                Some(("Cục trưởng", "cuctruong@customs.test")),
            ),
            unit(
                "TT",
                "Phòng Thanh tra",
                "inspection",
                Some("CUC"),
                Some(("Phòng Thanh tra", "thanhtra@customs.test")),
            ),
            unit(
                "VP",
                "Văn phòng Cục",
                "office",
                Some("CUC"),
                Some(("Văn phòng Cục", "vanphong@customs.test")),
            ),
            unit(
                "R03",
                "Chi cục Khu vực 03",
                "region",
                Some("CUC"),
                Some(("Trưởng khu vực 03", "head-r03@customs.test")),
            ),
            office03,
            unit("03CC01", "Đội 1", "team", Some("03CC"), None),
            unit("03CC02", "Đội 2", "team", Some("03CC"), None),
            unit(
                "04CC",
                "Chi cục 04CC",
                "office",
                Some("R03"),
                Some(("Chi cục trưởng 04CC", "head04cc@customs.test")),
            ),
            unit("04CC01", "Đội 1", "team", Some("04CC"), None),
        ],
    )
}

/// Starts the local host with the test org directory imported.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(tweak: impl FnOnce(&mut HostConfig)) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = HostConfig::for_tests(dir.path());
    tweak(&mut config);
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let running = csq_local_host::host::spawn(config.clone(), clock.clone())
        .await
        .expect("start host");
    running
        .host
        .services
        .directory
        .replace_org(org(), "test")
        .await
        .expect("org");
    let (host, addr, stop) = (running.host, running.addr, running.stop);
    TestApp {
        base: format!("http://{addr}"),
        host,
        clock,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client"),
        outbox: config.outbox_dir(),
        stop,
        _dir: dir,
    }
}

pub fn declaration(number: &str) -> Value {
    json!({
        "declaration": {
            "number": number,
            "type_code": "A11",
            "registered_at": "2026-11-27T09:30:00+07:00",
            "customs_office": "03CC",
            "lane": "yellow"
        },
        "business": {
            "tax_code": "0200123456",
            "name": "Công ty TNHH Thương mại ABC",
            "email": "xnk@abc.com.vn",
            "language": "vi"
        },
        "handling": [
            {"stage": "document_check", "team": "03CC01", "officer": {"id": "HP1234", "name": "Nguyễn Văn An"}},
            {"stage": "clearance", "team": "03CC02", "officer": {"id": "HP5678", "name": "Trần Thị Bình"}}
        ]
    })
}

/// A parsed email from the outbox.
#[derive(Debug, Clone)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// The whole message as written to the outbox (headers, every part).
    pub raw: Vec<u8>,
}

impl TestApp {
    pub fn clock_now(&self) -> chrono::DateTime<Utc> {
        use csq_core::ports::Clock;
        self.clock.now()
    }

    /// A public GET that must succeed, as text.
    /// The day's rollups, as the nightly job computes them.
    pub async fn roll_up(
        &self,
        day: chrono::NaiveDate,
    ) -> Vec<csq_core::domain::stats::DailyStats> {
        self.host
            .services
            .housekeeping
            .aggregate_day(day)
            .await
            .unwrap()
    }

    /// The whole nightly job for `day`.
    pub async fn nightly(
        &self,
        day: chrono::NaiveDate,
    ) -> csq_core::app::housekeeping::NightlyReport {
        self.host
            .services
            .housekeeping
            .run_nightly(day)
            .await
            .unwrap()
    }

    pub async fn get_text(&self, path: &str) -> String {
        let url = format!("{}{path}", self.base);
        let res = self.http.get(url).send().await.expect("request");
        assert!(res.status().is_success(), "GET {path}: {}", res.status());
        res.text().await.expect("text")
    }

    pub async fn issue(&self, body: &Value) -> reqwest::Response {
        self.integration_post("/v1/forms", body).await
    }

    /// A POST of the declaration system, with its integration key.
    pub async fn integration_post(&self, path: &str, body: &Value) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.host.secrets.integration_key)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub fn staff_token(&self, role: StaffRole, unit: Option<&str>) -> String {
        let claims = StaffClaims {
            sub: "tester".into(),
            role,
            unit: unit.map(str::to_owned),
            officer: None,
        };
        self.host
            .mint_staff_token(&claims, chrono::Duration::hours(1))
    }

    pub fn officer_token(&self, officer: &str) -> String {
        let claims = StaffClaims {
            sub: format!("officer-{officer}"),
            role: StaffRole::Officer,
            unit: None,
            officer: Some(officer.to_owned()),
        };
        self.host
            .mint_staff_token(&claims, chrono::Duration::hours(1))
    }

    /// A staff GET that must succeed, as JSON.
    pub async fn staff_json(&self, token: &str, path: &str) -> Value {
        let res = self.staff_get(token, path).await;
        assert!(res.status().is_success(), "GET {path}: {}", res.status());
        res.json().await.expect("JSON")
    }

    /// `POST /v1/cases/{id}/actions` as the holder of `token`. Resolving a
    /// complaint records an upheld finding (attitude, a reminder) concerning
    /// no officer in particular.
    pub async fn case_action(
        &self,
        token: &str,
        case_id: &str,
        action: &str,
        note: &str,
    ) -> reqwest::Response {
        let mut body = json!({"action": action, "note": note});
        if action == "resolve" && !case_id.ends_with("-kn") {
            body["upheld"] = json!(true);
            body["violation_category"] = json!("attitude");
            body["measure"] = json!("reminder");
        }
        self.case_action_json(token, case_id, &body).await
    }

    pub async fn case_action_json(
        &self,
        token: &str,
        case_id: &str,
        body: &Value,
    ) -> reqwest::Response {
        self.http
            .post(format!("{}/v1/cases/{case_id}/actions", self.base))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    /// Today's audit log (Vietnamese day) as the department reads it: what
    /// was done with `record`, and the whole log's text.
    pub async fn audited(&self, record: &str) -> (Vec<String>, String) {
        let dept = self.staff_token(StaffRole::Department, None);
        let today = (self.clock_now() + chrono::Duration::hours(7)).date_naive();
        let text = self
            .staff_get(&dept, &format!("/v1/audit?from={today}&to={today}"))
            .await
            .text()
            .await
            .expect("text");
        let log: Value = serde_json::from_str(&text).expect("JSON");
        let whats = log["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter(|e| e["records"][0] == record)
            .map(|e| e["what"].as_str().unwrap_or_default().to_owned())
            .collect();
        (whats, text)
    }

    /// A staff POST of a JSON body.
    pub async fn staff_post(&self, token: &str, path: &str, body: &Value) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn staff_get(&self, token: &str, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
    }

    /// Every email in the outbox, oldest first.
    pub fn emails(&self) -> Vec<Email> {
        let mut names: Vec<String> = std::fs::read_dir(&self.outbox)
            .map(|rd| {
                rd.filter_map(|e| e.ok()?.file_name().into_string().ok())
                    .filter(|n| n.ends_with(".eml"))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
            .into_iter()
            .map(|file| {
                let bytes = std::fs::read(self.outbox.join(file)).expect("read eml");
                let msg = mail_parser::MessageParser::default()
                    .parse(&bytes)
                    .expect("parsable eml");
                Email {
                    to: msg
                        .to()
                        .and_then(|a| a.first())
                        .and_then(|a| a.address())
                        .unwrap_or("")
                        .to_owned(),
                    subject: msg.subject().unwrap_or("").to_owned(),
                    text: msg.body_text(0).map(|t| t.into_owned()).unwrap_or_default(),
                    html: msg.body_html(0).map(|t| t.into_owned()).unwrap_or_default(),
                    raw: bytes.clone(),
                }
            })
            .collect()
    }

    pub fn emails_to(&self, address: &str) -> Vec<Email> {
        self.emails()
            .into_iter()
            .filter(|e| e.to == address)
            .collect()
    }

    /// Waits (bounded) until `check` holds; the router works in the background.
    pub async fn eventually<T>(&self, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
        for _ in 0..100 {
            if let Some(t) = check() {
                return t;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("timed out waiting for {what}");
    }

    /// Issues a form and returns the rating link from the business's email.
    pub async fn issue_and_get_link(&self, number: &str) -> String {
        let res = self.issue(&declaration(number)).await;
        assert_eq!(
            res.status(),
            201,
            "{}",
            res.text().await.unwrap_or_default()
        );
        // The background sweep may be the one that sends it: wait for it.
        let mail = self
            .eventually("the invitation email", || {
                self.emails_to("xnk@abc.com.vn")
                    .into_iter()
                    .rev()
                    .find(|e| e.subject.contains(number))
            })
            .await;
        link_in(&mail.text)
    }

    /// Opens the link as a browser would: the page and the CSRF cookie + token.
    pub async fn open(&self, link: &str) -> Browser {
        let res = self.http.get(link).send().await.expect("GET link");
        assert_eq!(res.status(), 200);
        let cookie = res
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .expect("csrf cookie")
            .to_owned();
        let page = res.text().await.expect("page");
        let csrf = csq_tests::hidden_value(&page, "csrf").expect("csrf field");
        Browser {
            cookie,
            csrf,
            link: link.to_owned(),
            page,
        }
    }
}

/// A business's browser on one form.
pub struct Browser {
    pub cookie: String,
    pub csrf: String,
    pub link: String,
    pub page: String,
}

impl Browser {
    /// Posts fields with the CSRF pair, to the form (`Ghi`) or to `/submit` (`Gửi`).
    pub async fn post(
        &self,
        app: &TestApp,
        submit: bool,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut body: Vec<(String, String)> = vec![("csrf".into(), self.csrf.clone())];
        // The page's channel rides along, as a browser posts its hidden fields.
        if let Some(via) = csq_tests::hidden_value(&self.page, "via")
            && !fields.iter().any(|(k, _)| *k == "via")
        {
            body.push(("via".into(), via));
        }
        body.extend(fields.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let url = if submit {
            format!("{}/submit", self.link)
        } else {
            self.link.clone()
        };
        app.http
            .post(url)
            .header("cookie", &self.cookie)
            .form(&body)
            .send()
            .await
            .expect("POST")
    }
}

/// The fields a 422's `errors` name, in order.
pub fn error_fields(reply: &Value) -> Vec<&str> {
    reply["errors"]
        .as_array()
        .expect("an errors list")
        .iter()
        .map(|e| e["field"].as_str().expect("a field"))
        .collect()
}

/// The email's rating link, without its `via` (the channel hint).
pub fn link_in(text: &str) -> String {
    let link = text
        .split_whitespace()
        .find(|w| w.contains("/f/"))
        .expect("a rating link in the email");
    link.split('?').next().unwrap_or(link).to_owned()
}

/// A unique 12-digit declaration number.
pub fn number() -> String {
    format!("{:012}", uuid_like() % 1_000_000_000_000)
}

fn uuid_like() -> u128 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(1);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_nanos();
    t.wrapping_mul(6364136223846793005)
        .wrapping_add(u128::from(N.fetch_add(1, Ordering::Relaxed)))
}
