//! Crash safety: the `csq` process is killed (SIGKILL) in the middle of
//! concurrent rating submissions and started again on the same data. Every
//! submission that was answered as accepted is stored, every accepted complaint
//! becomes a case, no form is half-submitted, and every stored change's event
//! reaches the department's webhook after the restart.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_csq");

fn csq(data: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.arg("--data-dir")
        .arg(data)
        .env("CSQ_NIGHTLY_AT", "off")
        // Every form's invitation carries the link the test rates from; the
        // eighty forms are one business's.
        .env("CSQ_INVITATION_CAP_DAYS", "0")
        .env("CSQ_CLIENT_READS_PER_SEC", "0")
        .env("CSQ_CLIENT_WRITES_PER_SEC", "0")
        // A complaint the killed router had received comes back after this.
        .env("CSQ_QUEUE_VISIBILITY_SECS", "2")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
}

fn output(data: &Path, args: &[&str]) -> String {
    let out = csq(data)
        .args(args)
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    assert!(out.status.success(), "csq {args:?} failed");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

async fn start(data: &Path, port: u16) -> Child {
    let mut child = csq(data)
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .spawn()
        .unwrap();
    for _ in 0..400 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return child;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("csq did not start");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The department's webhook receiver: the ids of the events it was sent.
async fn receiver() -> (Arc<Mutex<HashSet<String>>>, String) {
    let got = Arc::new(Mutex::new(HashSet::new()));
    let record = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: axum::body::Bytes| {
            let record = record.clone();
            async move {
                let event: Value = serde_json::from_slice(&body).unwrap_or_default();
                if let Some(id) = event["id"].as_str() {
                    record.lock().unwrap().insert(id.to_owned());
                }
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (got, url)
}

fn hidden(page: &str, name: &str) -> Option<String> {
    let marker = format!(r#"name="{name}" value=""#);
    let start = page.find(&marker)? + marker.len();
    Some(page[start..start + page[start..].find('"')?].to_owned())
}

/// Rating links from the invitations in the outbox, by form id.
fn links(data: &Path, base: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let prefix = format!("{base}/f/");
    for entry in std::fs::read_dir(data.join("outbox")).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap_or_default();
        // Quoted-printable soft line breaks may cut a long link.
        let flat = text.replace("=\r\n", "").replace("=\n", "");
        if let Some(at) = flat.find(&prefix) {
            let token: String = flat[at + prefix.len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || "._-".contains(*c))
                .collect();
            let form_id = token.split('.').nth(1).unwrap().to_owned();
            out.insert(form_id, format!("{prefix}{token}"));
        }
    }
    out
}

/// Opens the page and submits it; true when the submission was accepted.
async fn rate(http: &reqwest::Client, link: &str, complain: bool) -> Option<()> {
    let page = http.get(link).send().await.ok()?;
    let cookie = page
        .headers()
        .get("set-cookie")?
        .to_str()
        .ok()?
        .split(';')
        .next()?
        .to_owned();
    let body = page.text().await.ok()?;
    let csrf = hidden(&body, "csrf")?;
    let mut fields = vec![
        ("csrf", csrf.as_str()),
        ("level.0", if complain { "1" } else { "5" }),
    ];
    if complain {
        fields.extend([
            ("reason.0", "delay"),
            ("contact_name", "Mai Lan"),
            ("contact_phone", "0901234567"),
        ]);
    }
    let res = http
        .post(format!("{link}/submit"))
        .header("cookie", cookie)
        .form(&fields)
        .send()
        .await
        .ok()?;
    (res.status() == 200).then_some(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_host_loses_no_accepted_submission() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut host = start(&data, port).await;
    let key = output(&data, &["integration-key"]);
    let (events, hook) = receiver().await;
    output(&data, &["webhooks", "add", &hook]);
    let http = reqwest::Client::new();
    const FORMS: usize = 80;
    for i in 0..FORMS {
        let body = serde_json::json!({
            "declaration": {"number": format!("10{i:010}"), "type_code": "A11",
                "registered_at": "2026-11-27T09:30:00+07:00", "customs_office": "03CC", "lane": "green"},
            "business": {"tax_code": "0200123456", "name": "Công ty ABC", "email": format!("xnk{i}@abc.com.vn")},
            "handling": [{"stage": "clearance", "team": "03CC01"}]
        });
        let res = http
            .post(format!("{base}/v1/forms"))
            .bearer_auth(&key)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
    }
    let links = links(&data, &base);
    assert_eq!(links.len(), FORMS);

    // Businesses rate all at once; the host is killed once a third have been answered.
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel();
    let mut tasks = Vec::new();
    for (n, (form_id, link)) in links.iter().enumerate() {
        let (http, link, form_id, done) =
            (http.clone(), link.clone(), form_id.clone(), done_tx.clone());
        let complain = n % 2 == 0;
        tasks.push(tokio::spawn(async move {
            let accepted = rate(&http, &link, complain).await.is_some();
            let _ = done.send(());
            (form_id, complain, accepted)
        }));
    }
    for _ in 0..FORMS / 3 {
        done_rx.recv().await;
    }
    host.kill().unwrap(); // SIGKILL: no shutdown, no flush
    host.wait().unwrap();
    let mut accepted = HashSet::new();
    let mut complaints = HashSet::new();
    for t in tasks {
        let (form_id, complain, ok) = t.await.unwrap();
        if ok {
            accepted.insert(form_id.clone());
            if complain {
                complaints.insert(form_id);
            }
        }
    }
    assert!(
        accepted.len() >= FORMS / 3,
        "{} accepted before the kill",
        accepted.len()
    );
    assert!(
        accepted.len() < FORMS,
        "the kill came in the middle ({} of {FORMS} accepted)",
        accepted.len()
    );
    eprintln!(
        "{} of {FORMS} submissions accepted before the kill",
        accepted.len()
    );

    // Started again on the same data.
    let mut host = start(&data, port).await;
    let token = output(&data, &["staff-token", "--role", "department"]);
    let get = |path: &str| {
        let req = http.get(format!("{base}{path}")).bearer_auth(token.clone());
        async move {
            let v: Value = req.send().await.unwrap().json().await.unwrap();
            v
        }
    };
    let forms = get("/v1/forms?limit=200").await;
    let mut submitted = HashSet::new();
    for f in forms["items"].as_array().unwrap() {
        let id = f["id"].as_str().unwrap().to_owned();
        let has_submission = f["submission"].is_object();
        assert_eq!(
            f["status"] == "submitted",
            has_submission,
            "form {id} is whole"
        );
        if has_submission {
            submitted.insert(id);
        }
    }
    assert!(
        accepted.is_subset(&submitted),
        "every accepted submission is stored"
    );
    let ratings = get("/v1/ratings?limit=200").await;
    let rated: HashSet<String> = ratings["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["form_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        rated, submitted,
        "ratings exist exactly for the submitted forms"
    );

    // Every accepted complaint becomes a case: the outbox relay and the router
    // pick up whatever the killed process had not finished.
    let mut cases = HashSet::new();
    for _ in 0..300 {
        let v = get("/v1/cases?subtree=true&limit=200").await;
        cases = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_owned())
            .collect();
        if complaints.is_subset(&cases) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        complaints.is_subset(&cases),
        "every accepted complaint has its case"
    );

    // Every stored change's event reaches the webhook: the form issued, each
    // stored submission, each complaint opened, whether the killed process
    // had published it or only written it to the outbox.
    let mut expected: HashSet<String> =
        links.keys().map(|id| format!("form.issued:{id}")).collect();
    expected.extend(submitted.iter().map(|id| format!("rating.submitted:{id}")));
    expected.extend(cases.iter().map(|id| format!("complaint.opened:{id}")));
    let mut missing = expected.clone();
    for _ in 0..300 {
        missing = expected
            .difference(&events.lock().unwrap())
            .cloned()
            .collect();
        if missing.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(missing.is_empty(), "events never delivered: {missing:?}");
    host.kill().unwrap();
    host.wait().unwrap();
}
