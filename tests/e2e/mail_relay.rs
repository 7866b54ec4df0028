//! Mail that leaves the machine: the local host sends every message of its
//! outbox through the authority's SMTP relay (here aiosmtpd on loopback),
//! once, retried while the relay defers, kept for an operator when it refuses.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use chrono::Duration;
use csq_local::SmtpRelayConfig;

use crate::helpers::*;

/// An SMTP relay on loopback (`infra/emulator/smtp_sink.py`, aiosmtpd from
/// the test command's `.venv`), stopped when dropped.
struct Relay {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
}

impl Relay {
    fn start(args: &[&str]) -> Relay {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let python = root.join(".venv/bin/python");
        assert!(
            python.exists(),
            "{} is missing: `bash scripts/test.sh` installs aiosmtpd there",
            python.display()
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(python)
            .arg(root.join("infra/emulator/smtp_sink.py"))
            .arg(port.to_string())
            .arg(dir.path())
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .expect("the SMTP sink starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(line.contains("ready"), "SMTP sink: {line:?}");
        Relay { child, dir, port }
    }

    fn config(&self) -> SmtpRelayConfig {
        SmtpRelayConfig {
            url: format!("smtp://127.0.0.1:{}", self.port),
            timeout: std::time::Duration::from_secs(5),
            ca_file: None,
        }
    }

    /// The relay over TLS (`starttls` or `implicit`, as it was started),
    /// trusting the test CA that signed its certificate when `trust`.
    fn tls_config(&self, mode: &str, trust: bool) -> SmtpRelayConfig {
        let url = match mode {
            "starttls" => format!("smtp://localhost:{}?tls=required", self.port),
            _ => format!("smtps://localhost:{}", self.port),
        };
        let ca = Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/emulator/tls/ca.pem");
        SmtpRelayConfig {
            url,
            ca_file: trust.then_some(ca),
            ..self.config()
        }
    }

    /// How many times it answered 451 (`deferred`) or 550 (`rejected`).
    fn refusals(&self, kind: &str) -> usize {
        std::fs::read_dir(self.dir.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with(&format!("{kind}-"))
            })
            .count()
    }

    /// Every message it accepted: (envelope recipients, the message).
    fn received(&self) -> Vec<(Vec<String>, String)> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect();
        names.sort();
        names
            .iter()
            .map(|p| {
                let rcpt = std::fs::read_to_string(p.with_extension("rcpt")).unwrap();
                (
                    rcpt.lines().map(str::to_owned).collect(),
                    String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned(),
                )
            })
            .collect()
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn message_id(message: &str) -> String {
    message
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("message-id:"))
        .map(|l| l[11..].trim().to_owned())
        .unwrap_or_default()
}

#[tokio::test]
async fn every_message_goes_through_the_relay_once_and_the_outbox_keeps_it() {
    let relay = Relay::start(&[]);
    let app = spawn_app_with(|c| c.smtp = Some(relay.config())).await;
    assert_eq!(app.issue(&declaration(&number())).await.status(), 201);
    let got = app
        .eventually("the invitation at the relay", || {
            let got = relay.received();
            (!got.is_empty()).then_some(got)
        })
        .await;
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].0,
        ["xnk@abc.com.vn"],
        "the envelope names the business"
    );
    // The outbox keeps the same message: the record of what was sent.
    let kept = app.emails_to("xnk@abc.com.vn");
    assert_eq!(kept.len(), 1);
    let kept_raw = String::from_utf8_lossy(&kept[0].raw).into_owned();
    assert!(!message_id(&kept_raw).is_empty());
    assert_eq!(message_id(&got[0].1), message_id(&kept_raw));

    // A restart (another relay worker over the same queue) sends nothing again,
    // once the first worker has recorded the send (the sink answers before).
    let first = app.host.relay.clone().unwrap();
    for _ in 0..100 {
        if first.backlog().await.unwrap() == (0, 0) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let again = csq_local::MailRelay::open(
        &app.outbox.parent().unwrap().join("mail.sqlite"),
        &app.outbox,
        "no-reply@csq.localhost",
        &relay.config(),
        app.clock.clone(),
    )
    .unwrap();
    app.clock.advance(Duration::days(2));
    assert_eq!(again.send_due().await.unwrap(), Default::default());
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(relay.received().len(), 1, "sent once");
    assert_eq!(again.backlog().await.unwrap(), (0, 0));
}

#[tokio::test]
async fn a_relay_that_defers_gets_the_message_again_after_the_backoff() {
    let relay = Relay::start(&["--defer", "2"]);
    let app = spawn_app_with(|c| c.smtp = Some(relay.config())).await;
    assert_eq!(app.issue(&declaration(&number())).await.status(), 201);
    let mail = app.host.relay.clone().unwrap();
    // Two deferrals: after each, the message waits its backoff (1, then 5 minutes).
    for (n, wait) in [(1, 1), (2, 5)] {
        app.eventually("a deferred attempt", || {
            (relay.refusals("deferred") == n).then_some(())
        })
        .await;
        // Nothing more until the backoff has passed.
        tokio::time::sleep(std::time::Duration::from_millis(400)).await;
        assert_eq!(relay.refusals("deferred"), n, "attempt {n}, then a wait");
        assert!(relay.received().is_empty());
        assert_eq!(
            mail.backlog().await.unwrap(),
            (1, 0),
            "still waiting after attempt {n}"
        );
        app.clock.advance(Duration::minutes(wait));
    }
    let got = app
        .eventually("the invitation after two deferrals", || {
            let got = relay.received();
            (!got.is_empty()).then_some(got)
        })
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(got.len(), 1);
    assert_eq!(relay.received().len(), 1, "delivered once");
    assert_eq!(mail.backlog().await.unwrap(), (0, 0));
}

#[tokio::test]
async fn a_message_the_relay_refuses_is_kept_for_an_operator_with_the_reason() {
    let relay = Relay::start(&["--reject", "xnk@abc.com.vn"]);
    let app = spawn_app_with(|c| c.smtp = Some(relay.config())).await;
    assert_eq!(app.issue(&declaration(&number())).await.status(), 201);
    let mail = app.host.relay.clone().unwrap();
    app.eventually("the refusal", || {
        (relay.refusals("rejected") == 1).then_some(())
    })
    .await;
    let dead = dead_letters(&mail).await;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].attempts, 1, "refused for good: not tried again");
    assert!(dead[0].reason.contains("550"), "{}", dead[0].reason);
    assert!(relay.received().is_empty());
    // Other businesses' mail still goes.
    let mut other = declaration(&number());
    other["business"]["email"] = "other@xyz.vn".into();
    assert_eq!(app.issue(&other).await.status(), 201);
    app.eventually("the other invitation", || {
        (relay.received().len() == 1).then_some(())
    })
    .await;
    // The operator sends it again (after mending the address, say): it is
    // queued once more, and refused once more.
    assert_eq!(mail.resend(Some(&dead[0].id)).await.unwrap(), 1);
    assert_eq!(
        mail.resend(Some(&dead[0].id)).await.unwrap(),
        0,
        "already queued"
    );
    app.eventually("refused again", || {
        (relay.refusals("rejected") == 2).then_some(())
    })
    .await;
    let again = dead_letters(&mail).await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].id, dead[0].id);
}

/// The dead letters once the worker has recorded one (it does so right after
/// the relay's answer).
async fn dead_letters(mail: &csq_local::MailRelay) -> Vec<csq_local::relay::DeadMail> {
    for _ in 0..100 {
        let dead = mail.dead_letters(10).await.unwrap();
        if !dead.is_empty() && mail.backlog().await.unwrap().0 == 0 {
            return dead;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no dead letter recorded");
}

/// The authority's relay over STARTTLS (587) and over implicit TLS (465), its
/// certificate signed by the authority's own CA (`CSQ_SMTP_CA_FILE`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_relay_is_reached_over_starttls_and_implicit_tls() {
    for mode in ["starttls", "implicit"] {
        let relay = Relay::start(&["--tls", mode]);
        let app = spawn_app_with(|c| c.smtp = Some(relay.tls_config(mode, true))).await;
        assert_eq!(app.issue(&declaration(&number())).await.status(), 201);
        let got = app
            .eventually(mode, || {
                let got = relay.received();
                (!got.is_empty()).then_some(got)
            })
            .await;
        assert_eq!(got[0].0, ["xnk@abc.com.vn"], "{mode}");
    }
}

/// A relay whose certificate the host cannot verify gets nothing: the
/// message waits in the queue, never sent in the clear.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_with_an_unverified_certificate_gets_nothing() {
    let relay = Relay::start(&["--tls", "implicit"]);
    let app = spawn_app_with(|c| c.smtp = Some(relay.tls_config("implicit", false))).await;
    assert_eq!(app.issue(&declaration(&number())).await.status(), 201);
    let queue = csq_local::MailRelay::open(
        &app.outbox.parent().unwrap().join("mail.sqlite"),
        &app.outbox,
        "no-reply@csq.localhost",
        &relay.tls_config("implicit", false),
        app.clock.clone(),
    )
    .unwrap();
    app.eventually("an attempt", || {
        (app.emails_to("xnk@abc.com.vn").len() == 1).then_some(())
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    assert!(relay.received().is_empty(), "nothing went to that relay");
    assert_eq!(
        queue.backlog().await.unwrap(),
        (1, 0),
        "it waits for a retry"
    );
}

/// A message queued before its outbox file is written is sent as soon as
/// the file is there, without waiting on the core's clock (a stopped test
/// clock used to hold it forever: the cause of a flaky relay test).
#[tokio::test]
async fn a_message_queued_before_its_file_is_written_goes_once_the_file_is_there() {
    let relay = Relay::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let outbox = dir.path().join("outbox");
    std::fs::create_dir_all(&outbox).unwrap();
    let clock = std::sync::Arc::new(csq_core::ports::ManualClock::new(chrono::Utc::now()));
    let mail = csq_local::MailRelay::open(
        &dir.path().join("mail.sqlite"),
        &outbox,
        "no-reply@csq.localhost",
        &relay.config(),
        clock,
    )
    .unwrap();
    mail.enqueue("m1", &["xnk@abc.com.vn".to_owned()])
        .await
        .unwrap();
    assert_eq!(mail.send_due().await.unwrap(), Default::default());
    assert_eq!(mail.backlog().await.unwrap(), (1, 0), "waits for its file");
    std::fs::write(
        outbox.join("m1.eml"),
        "From: no-reply@csq.localhost\r\nTo: xnk@abc.com.vn\r\nSubject: test\r\nMessage-ID: <m1@csq>\r\n\r\nhello\r\n",
    )
    .unwrap();
    assert_eq!(mail.send_due().await.unwrap().sent, 1, "the same instant");
    assert_eq!(relay.received().len(), 1);
}
