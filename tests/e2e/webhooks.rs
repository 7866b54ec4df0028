//! Events for other systems on the local host: signed webhooks, once per
//! action, retried with backoff, dead letters and replay.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use chrono::Duration;
use csq_core::auth::staff::StaffRole;
use csq_core::auth::webhook;
use serde_json::{Value, json};

use crate::case_handling::{low, submit};
use crate::helpers::*;

/// One POST a receiver got.
#[derive(Debug, Clone)]
struct Received {
    id: String,
    kind: String,
    signature: String,
    body: Vec<u8>,
}

/// A receiving system: records every POST, and fails the first `fail` of them.
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Received>>>,
    fail: Arc<AtomicU32>,
}

impl Receiver {
    async fn start(fail: u32) -> (Receiver, String) {
        let r = Receiver::default();
        r.fail.store(fail, Ordering::SeqCst);
        let app = axum::Router::new()
            .route("/hooks/csq", post(receive))
            .with_state(r.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        (r, format!("http://{addr}/hooks/csq"))
    }

    fn got(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    fn of_type(&self, kind: &str) -> Vec<Received> {
        self.got().into_iter().filter(|r| r.kind == kind).collect()
    }
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let h = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    r.got.lock().unwrap().push(Received {
        id: h(webhook::EVENT_ID_HEADER),
        kind: h(webhook::EVENT_TYPE_HEADER),
        signature: h(webhook::SIGNATURE_HEADER),
        body: body.to_vec(),
    });
    let left = r.fail.load(Ordering::SeqCst);
    if left > 0 {
        r.fail.store(left - 1, Ordering::SeqCst);
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::NO_CONTENT
    }
}

#[tokio::test]
async fn every_action_reaches_the_webhook_once_signed_and_versioned() {
    let app = spawn_app().await;
    let (receiver, url) = Receiver::start(0).await;
    let hook = app
        .host
        .services
        .channels
        .add_webhook("e2e", &url)
        .await
        .unwrap();
    let other = app
        .host
        .services
        .channels
        .add_webhook("e2e", &url.replace("/hooks/csq", "/hooks/none"))
        .await
        .unwrap();
    assert!(
        app.host
            .services
            .channels
            .remove_webhook("e2e", &other.id)
            .await
            .unwrap()
    );

    // A complaint: form issued, rating submitted, complaint opened.
    let id = submit(&app, &low()).await;
    let dept = app.staff_token(StaffRole::Department, None);
    let res = app
        .case_action_json(
            &dept,
            &id,
            &json!({"action": "transfer", "to": "04CC", "note": "Tờ khai do 04CC xử lý"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let head04 = app.staff_token(StaffRole::UnitHead, Some("04CC"));
    assert_eq!(
        app.case_action(&head04, &id, "resolve", "Đã xử lý")
            .await
            .status(),
        200
    );

    for kind in [
        "form.issued",
        "rating.submitted",
        "complaint.opened",
        "case.transferred",
        "case.closed",
    ] {
        app.eventually(kind, || receiver.of_type(kind).first().cloned())
            .await;
    }
    // Duplicate deliveries of the same actions (a repeated POST, a router
    // redelivery, a re-published event) add nothing.
    let number = receiver.of_type("form.issued")[0].body.clone();
    let issued: Value = serde_json::from_slice(&number).unwrap();
    let mut again = declaration(issued["data"]["declaration_number"].as_str().unwrap());
    again["business"]["email"] = "xnk@abc.com.vn".into();
    assert_eq!(app.issue(&again).await.status(), 200);
    let event: csq_core::domain::event::Event = serde_json::from_value(issued.clone()).unwrap();
    use csq_core::ports::EventPublisher;
    app.host.webhooks.publish(&[event]).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    let got = receiver.got();
    assert_eq!(
        got.len(),
        5,
        "one POST per action: {:?}",
        got.iter().map(|r| &r.kind).collect::<Vec<_>>()
    );
    let now = app.clock_now().timestamp();
    for r in &got {
        // The receiver checks the signature with its secret, and the id.
        assert!(
            webhook::verify(&hook.secret, &r.signature, &r.body, now, 300),
            "{r:?}"
        );
        assert!(!webhook::verify(
            "another secret",
            &r.signature,
            &r.body,
            now,
            300
        ));
        let body: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(body["id"], r.id.as_str());
        assert_eq!(body["type"], r.kind.as_str());
        assert_eq!(body["schema_version"], 1);
        let text = String::from_utf8_lossy(&r.body);
        for personal in ["xnk@abc.com.vn", "Mai Lan", "0901234567", "Công ty"] {
            assert!(!text.contains(personal), "{personal} in {text}");
        }
    }
    let transferred: Value =
        serde_json::from_slice(&receiver.of_type("case.transferred")[0].body).unwrap();
    assert_eq!(transferred["data"]["to_unit"], "04CC");
    let closed: Value = serde_json::from_slice(&receiver.of_type("case.closed")[0].body).unwrap();
    assert_eq!(
        (
            closed["data"]["outcome"].as_str(),
            closed["data"]["upheld"].as_bool()
        ),
        (Some("resolved"), Some(true))
    );
}

/// Waits (bounded) until the worker has recorded `n` attempts of the event's
/// delivery: it does so after the POST returns, and a clock moved before that
/// would schedule the retry from the moved time.
async fn recorded(app: &TestApp, event_id: &str, n: usize) {
    for _ in 0..200 {
        let deliveries = app.host.webhooks.deliveries_of(event_id).await.unwrap();
        if deliveries.first().is_some_and(|d| d.attempts as usize >= n) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("attempt {n} of {event_id} was never recorded");
}

#[tokio::test]
async fn a_failing_receiver_gets_retries_with_backoff_then_a_dead_letter_and_a_replay() {
    let app = spawn_app().await;
    // Two failures, then it answers: three POSTs of one event, the same id.
    let (flaky, url) = Receiver::start(2).await;
    app.host
        .services
        .channels
        .add_webhook("e2e", &url)
        .await
        .unwrap();
    assert_eq!(app.issue(&declaration(&number())).await.status(), 201);
    let first = app
        .eventually("the first attempt", || flaky.got().first().cloned())
        .await;
    recorded(&app, &first.id, 1).await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(flaky.got().len(), 1, "no retry before the backoff");
    app.clock
        .advance(Duration::minutes(1) + Duration::seconds(1));
    app.eventually("the second attempt", || flaky.got().get(1).cloned())
        .await;
    recorded(&app, &first.id, 2).await;
    app.clock.advance(Duration::minutes(2));
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(flaky.got().len(), 2, "the second wait is longer");
    app.clock
        .advance(Duration::minutes(3) + Duration::seconds(1));
    app.eventually("the third attempt", || flaky.got().get(2).cloned())
        .await;
    let got = flaky.got();
    assert!(
        got.iter()
            .all(|r| r.id == got[0].id && r.body == got[0].body),
        "a retry is recognisable by its id"
    );
    let state = app.host.webhooks.deliveries_of(&got[0].id).await.unwrap();
    assert_eq!(
        state[0].state,
        csq_core::domain::webhook::DeliveryState::Delivered
    );
    assert_eq!(state[0].attempts, 3);

    // A receiver that never answers well: every attempt, then a dead letter.
    let app = spawn_app().await;
    let (down, url) = Receiver::start(u32::MAX).await;
    app.host
        .services
        .channels
        .add_webhook("e2e", &url)
        .await
        .unwrap();
    assert_eq!(app.issue(&declaration(&number())).await.status(), 201);
    let max = csq_core::domain::event::MAX_ATTEMPTS as usize;
    for n in 1..=max {
        let attempt = app
            .eventually("an attempt", || down.got().get(n - 1).cloned())
            .await;
        recorded(&app, &attempt.id, n).await;
        app.clock.advance(Duration::hours(17));
    }
    // The department reads the dead letters in the console (the staff API).
    let dept = app.staff_token(StaffRole::Department, None);
    let mut dead = Value::Null;
    for _ in 0..100 {
        dead = app.staff_json(&dept, "/v1/webhooks/dead-letters").await;
        if !dead["items"].as_array().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let dead = dead["items"].as_array().unwrap().clone();
    assert_eq!(dead.len(), 1, "a dead letter");
    assert_eq!(dead[0]["attempts"].as_u64().unwrap() as usize, max);
    assert_eq!(dead[0]["state"], "dead");
    assert!(dead[0]["last_error"].as_str().unwrap_or("").contains("503"));
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(down.got().len(), max, "nothing after the last attempt");

    // The receiver is mended; the department replays the dead letters.
    down.fail.store(0, Ordering::SeqCst);
    let res = app
        .staff_post(&dept, "/v1/webhooks/redeliver", &json!({}))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["queued"], 1);
    app.eventually("the replay", || down.got().get(max).cloned())
        .await;
    let replay = &down.got()[max];
    assert_eq!(replay.id, dead[0]["event_id"].as_str().unwrap());
    assert!(
        app.host
            .services
            .channels
            .dead_letters()
            .await
            .unwrap()
            .is_empty()
    );
}

/// The department registers and removes receivers from the console: the
/// secret is shown once, never listed; bad URLs name the field; only the
/// department may; every change is audited.
#[tokio::test]
async fn the_department_manages_webhooks_through_the_staff_api() {
    let app = spawn_app().await;
    let dept = app.staff_token(StaffRole::Department, None);
    let res = app
        .staff_post(
            &dept,
            "/v1/webhooks",
            &json!({"url": "https://erp.example.vn/csq"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let added: Value = res.json().await.unwrap();
    let id = added["id"].as_str().unwrap().to_owned();
    let secret = added["secret"].as_str().unwrap().to_owned();
    assert!(secret.len() >= 32);
    // A body that is an array is no request (serde would read `[null]` as an
    // object with its first field absent): 422 on every body route.
    for (path, body) in [
        ("/v1/webhooks/redeliver", json!([null])),
        ("/v1/webhooks", json!(["https://erp.example.vn/other"])),
        ("/v1/suppressions", json!(["xnk@abc.com.vn"])),
        ("/v1/suppressions/lookup", json!(["xnk@abc.com.vn"])),
        ("/v1/cases/nothing/actions", json!(["note", "x"])),
    ] {
        let res = app.staff_post(&dept, path, &body).await;
        assert_eq!(res.status(), 422, "{path}");
    }
    let listed = app
        .staff_get(&dept, "/v1/webhooks")
        .await
        .text()
        .await
        .unwrap();
    assert!(listed.contains(&id) && listed.contains("https://erp.example.vn/csq"));
    assert!(
        !listed.contains(&secret) && !listed.contains("secret"),
        "{listed}"
    );

    let res = app
        .staff_post(
            &dept,
            "/v1/webhooks",
            &json!({"url": "ftp://erp.example.vn"}),
        )
        .await;
    assert_eq!(res.status(), 422);
    assert_eq!(
        res.json::<Value>().await.unwrap()["errors"][0]["field"],
        "url"
    );
    let head = app.staff_token(StaffRole::UnitHead, Some("03CC"));
    assert_eq!(app.staff_get(&head, "/v1/webhooks").await.status(), 403);
    assert_eq!(
        app.staff_get(&head, "/v1/webhooks/dead-letters")
            .await
            .status(),
        403
    );

    let delete = |token: String| {
        app.http
            .delete(format!("{}/v1/webhooks/{id}", app.base))
            .bearer_auth(token)
            .send()
    };
    assert_eq!(delete(head.clone()).await.unwrap().status(), 403);
    assert_eq!(delete(dept.clone()).await.unwrap().status(), 204);
    assert_eq!(delete(dept.clone()).await.unwrap().status(), 404, "gone");
    let listed = app.staff_json(&dept, "/v1/webhooks").await;
    assert_eq!(listed["items"], json!([]));

    // (The test clock stands still: both entries carry the same instant.)
    let (mut changes, _) = app.audited(&id).await;
    changes.sort();
    assert_eq!(changes, ["webhook-added", "webhook-removed"]);
}

/// Issue 23, item 3: the events of a misconduct report (its rating, its
/// complaint and suggestion cases, their closing) carry nothing that joins
/// them with the `form.issued` naming its declaration.
#[tokio::test]
async fn a_misconduct_reports_events_cannot_be_joined_to_its_declaration() {
    let app = spawn_app().await;
    let (receiver, url) = Receiver::start(0).await;
    app.host
        .services
        .channels
        .add_webhook("e2e", &url)
        .await
        .unwrap();
    let fields = [
        ("level.0", "3"),
        ("level.5", "1"),
        ("reason.5", "harassment"),
        ("contact_name", "Mai Lan"),
        ("contact_phone", "0901234567"),
        ("suggestion", "Nên có thêm chỗ đỗ xe cho xe container"),
    ];
    let form_id = submit(&app, &fields).await;
    let inspection = app.staff_token(StaffRole::Inspection, None);
    let res = app
        .case_action_json(
            &inspection,
            &form_id,
            &json!({"action": "resolve", "note": "Đã xác minh", "upheld": true,
                "officers": ["HP1234"], "violation_category": "harassment",
                "measure": "discipline_referral"}),
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let dept = app.staff_token(StaffRole::Department, None);
    assert_eq!(
        app.case_action(&dept, &format!("{form_id}-kn"), "resolve", "Đã tiếp thu")
            .await
            .status(),
        200
    );
    for kind in [
        "form.issued",
        "rating.submitted",
        "complaint.opened",
        "case.closed",
    ] {
        app.eventually(kind, || receiver.of_type(kind).first().cloned())
            .await;
    }
    app.eventually("both cases closed", || {
        (receiver.of_type("case.closed").len() == 2).then_some(())
    })
    .await;

    let issued: Value = serde_json::from_slice(&receiver.of_type("form.issued")[0].body).unwrap();
    let number = issued["data"]["declaration_number"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(issued["data"]["form_id"], form_id.as_str());
    let mut others = 0;
    for r in receiver.got().iter().filter(|r| r.kind != "form.issued") {
        others += 1;
        let text = String::from_utf8_lossy(&r.body);
        for secret in [form_id.as_str(), number.as_str()] {
            assert!(
                !text.contains(secret) && !r.id.contains(secret),
                "{secret} in {}: {text}",
                r.kind
            );
        }
        let body: Value = serde_json::from_slice(&r.body).unwrap();
        if r.kind == "rating.submitted" {
            assert_eq!(body["data"]["confidential"], true);
            assert_eq!(body["data"]["ratings"], json!([]), "no levels: {body}");
        }
    }
    assert_eq!(others, 4, "rating, complaint opened, two cases closed");
}

/// A bus that refuses everything while it is down, and records what it took.
#[derive(Default)]
pub(crate) struct Bus {
    pub(crate) down: std::sync::atomic::AtomicBool,
    pub(crate) took: Mutex<Vec<String>>,
}

#[async_trait::async_trait]
impl csq_core::ports::EventPublisher for Bus {
    async fn publish(
        &self,
        events: &[csq_core::domain::event::Event],
    ) -> csq_core::ports::PortResult<()> {
        if self.down.load(Ordering::SeqCst) {
            return Err(csq_core::ports::PortError::new(
                "publish",
                std::io::Error::other("bus down"),
            ));
        }
        let mut took = self.took.lock().unwrap();
        took.extend(events.iter().map(|e| e.id.clone()));
        Ok(())
    }
}

/// The bus is down while a form is issued and rated: the actions stand, their
/// events wait in the store's outbox (written with the form), and the sweep
/// hands them over once the bus is back, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_wait_in_the_outbox_while_the_bus_is_down_then_go_out_once() {
    use csq_core::ports::EventOutbox;
    let app = spawn_app().await;
    let bus = Arc::new(Bus::default());
    bus.down.store(true, Ordering::SeqCst);
    let services =
        app.host
            .services_publishing_to(app.clock.clone(), app.host.mailer.clone(), bus.clone());
    let request = serde_json::from_value(declaration(&number())).unwrap();
    let form = services.issuance.issue_form(request).await.unwrap().form;
    let token = services.rating.rating_token(&form);
    let fields: Vec<(String, String)> = [("level.0", "5")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    services
        .rating
        .submit_form(&token, &fields, None)
        .await
        .unwrap();
    assert!(bus.took.lock().unwrap().is_empty());
    let waiting: Vec<String> = app
        .host
        .store
        .pending_events(100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    let expected = [
        format!("form.issued:{}", form.id),
        format!("rating.submitted:{}", form.id),
    ];
    assert_eq!(waiting, expected, "kept in the order written");

    assert!(
        services.housekeeping.sweep().await.is_err(),
        "a bus still down fails the sweep (the operator sees it)"
    );
    assert_eq!(app.host.store.pending_events(100).await.unwrap().len(), 2);

    bus.down.store(false, Ordering::SeqCst);
    let report = services.housekeeping.sweep().await.unwrap();
    assert_eq!(report.events_relayed, 2);
    assert_eq!(*bus.took.lock().unwrap(), expected);
    assert!(app.host.store.pending_events(100).await.unwrap().is_empty());
    assert_eq!(
        services.housekeeping.sweep().await.unwrap().events_relayed,
        0
    );
    assert_eq!(bus.took.lock().unwrap().len(), 2, "nothing twice");
}
