//! What the IT unit watches on one machine: `/healthz` and `/readyz`.

use serde_json::Value;

use crate::helpers::*;

#[tokio::test]
async fn readiness_names_the_store_the_workers_and_the_last_nightly_run() {
    let app = spawn_app().await;
    let health: Value = serde_json::from_str(&app.get_text("/healthz").await).unwrap();
    assert_eq!(health["status"], "ok");

    let ready = app
        .http
        .get(format!("{}/readyz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    let ready: Value = ready.json().await.unwrap();
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["store"], "writable");
    for worker in ["complaint_router", "sweep", "webhooks"] {
        assert_eq!(ready["workers"][worker]["alive"], true, "{worker}: {ready}");
    }
    assert_eq!(ready["nightly"], Value::Null, "no nightly run yet");
    assert_eq!(ready["mail_relay"], Value::Null, "no relay configured");

    // A nightly run (the worker's or `csq nightly`'s) is reported with its day.
    app.issue(&declaration(&number())).await;
    let day = app.host.services.housekeeping.yesterday();
    app.host.run_nightly(day).await.unwrap();
    let text = app.get_text("/readyz").await;
    let ready: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(ready["nightly"]["result"], "ok");
    assert_eq!(ready["nightly"]["day"], day.to_string());
    // Nothing about anyone: no address, no declaration.
    assert!(!text.contains('@'), "{text}");
}

/// `csq backup` while the declaration system keeps issuing forms: the copy
/// holds every form accepted before it began, nothing half-written (each
/// form's declaration index and document together), nothing never accepted;
/// a restore refuses a running host's directory and a damaged copy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_under_concurrent_issuance_restores_what_was_accepted() {
    use csq_core::ports::{FormStore, PageRequest};
    use std::sync::{Arc, Mutex};

    let app = spawn_app().await;
    let data_dir = app.outbox.parent().unwrap().to_owned();
    let accepted = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (http, base, key) = (
            app.http.clone(),
            app.base.clone(),
            app.host.secrets.integration_key.clone(),
        );
        let (accepted, stop) = (accepted.clone(), stop.clone());
        tokio::spawn(async move {
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let n = number();
                let res = http
                    .post(format!("{base}/v1/forms"))
                    .bearer_auth(&key)
                    .json(&declaration(&n))
                    .send()
                    .await
                    .unwrap();
                if res.status() == 201 {
                    accepted.lock().unwrap().push(n);
                }
            }
        })
    };
    while accepted.lock().unwrap().len() < 20 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let before: Vec<String> = accepted.lock().unwrap().clone();
    let copies = tempfile::tempdir().unwrap();
    let file = copies.path().join("csq.backup");
    let (dir, f) = (data_dir.clone(), file.clone());
    let summary =
        tokio::task::spawn_blocking(move || csq_local_host::backup::backup(&dir, &f).unwrap())
            .await
            .unwrap();
    // The writer went on during the copy, and some more after it.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    writer.await.unwrap();
    let all: Vec<String> = accepted.lock().unwrap().clone();
    assert!(
        all.len() > before.len(),
        "issuance went on during the backup"
    );
    assert!(summary.parts.iter().any(|(p, _)| p == "csq.sqlite"));
    assert_eq!(summary.sha256.len(), 64);

    // Not over a running host's data.
    let refused = csq_local_host::backup::restore(&data_dir, &file).unwrap_err();
    assert!(format!("{refused:#}").contains("in use"), "{refused:#}");

    // Into another directory: exactly a moment of the original.
    let restored = tempfile::tempdir().unwrap();
    csq_local_host::backup::restore(restored.path(), &file).unwrap();
    let store = csq_local::SqliteStore::open(&restored.path().join("csq.sqlite")).unwrap();
    let day = csq_core::domain::time::vn_day(app.clock_now());
    let mut numbers = Vec::new();
    let mut page = PageRequest {
        limit: 100,
        after: None,
    };
    loop {
        let got = store.forms_issued_on(day, page.clone()).await.unwrap();
        for form in &got.items {
            // Its declaration's index leads to it: the issuing transaction whole.
            let by_key = store
                .form_of_declaration(&form.declaration_key())
                .await
                .unwrap()
                .expect("the declaration index of a restored form");
            assert_eq!(by_key.id, form.id);
            numbers.push(form.declaration.number.as_str().to_owned());
        }
        match got.next {
            Some(c) => page.after = Some(c),
            None => break,
        }
    }
    for n in &before {
        assert!(
            numbers.contains(n),
            "{n}, accepted before the backup, is in it"
        );
    }
    for n in &numbers {
        assert!(all.contains(n), "{n} was accepted");
    }
    assert!(std::fs::read(restored.path().join("secrets.json")).is_ok());

    // A damaged copy is refused, and nothing is replaced.
    let mut bytes = std::fs::read(&file).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&file, bytes).unwrap();
    let other = tempfile::tempdir().unwrap();
    let damaged = csq_local_host::backup::restore(other.path(), &file).unwrap_err();
    assert!(format!("{damaged:#}").contains("checksum"), "{damaged:#}");
    assert!(!other.path().join("csq.sqlite").exists());
}

/// With a backup folder configured, each nightly run leaves that day's
/// backup, and only the newest ones are kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_nightly_run_leaves_a_backup_and_old_ones_go() {
    let backups = tempfile::tempdir().unwrap();
    let folder = backups.path().to_owned();
    let app = spawn_app_with(|c| {
        c.backup_dir = Some(folder.clone());
        c.backup_keep = 2;
    })
    .await;
    let yesterday = app.host.services.housekeeping.yesterday();
    let day = |back: i64| yesterday - chrono::Duration::days(back);
    for back in [2, 1, 0] {
        app.host.run_nightly(day(back)).await.unwrap();
    }
    let mut names: Vec<String> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            format!("csq-{}.backup", day(1)),
            format!("csq-{}.backup.sha256", day(1)),
            format!("csq-{}.backup", day(0)),
            format!("csq-{}.backup.sha256", day(0)),
        ]
    );
}

/// `/metrics` as Prometheus scrapes it from this machine: requests by route
/// template and status, what happened, the queues, the database; nothing
/// about anyone.
#[tokio::test]
async fn metrics_count_requests_events_and_queues_in_the_prometheus_format() {
    let app = spawn_app().await;
    assert_eq!(app.issue(&declaration(&number())).await.status(), 201);
    assert_eq!(app.issue(&declaration(&number())).await.status(), 201);
    let res = app
        .http
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()[reqwest::header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let body = res.text().await.unwrap();
    let value = |line_start: &str| -> f64 {
        body.lines()
            .find(|l| l.starts_with(line_start))
            .unwrap_or_else(|| panic!("no {line_start} in\n{body}"))
            .rsplit(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert_eq!(value("csq_events_total{type=\"form.issued\"}"), 2.0);
    assert_eq!(
        value("csq_invitations_total{outcome=\"sent\"}"),
        2.0,
        "both invitations went out at the first attempt"
    );
    assert!(value("csq_emails_total") >= 2.0, "the invitations");
    assert_eq!(
        value("csq_http_requests_total{route=\"/v1/forms\",method=\"POST\",status=\"201\"}"),
        2.0
    );
    assert!(value("csq_http_request_duration_seconds_count{route=\"/v1/forms\"}") >= 2.0);
    assert_eq!(value("csq_complaint_queue_depth"), 0.0);
    assert_eq!(value("csq_cases_overdue"), 0.0);
    assert!(value("csq_database_bytes") > 0.0);
    assert!(body.trim_end().ends_with("# EOF"));
    assert!(!body.contains('@'), "nothing about anyone");
}

/// A newer `csq` opening an older data directory backs it up before it
/// migrates it: the way back with the previous binary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upgrade_backs_the_data_directory_up_before_migrating_it() {
    let app = spawn_app().await;
    assert_eq!(app.issue(&declaration(&number())).await.status(), 201);
    let data_dir = app.outbox.parent().unwrap().to_owned();
    let store = data_dir.join("csq.sqlite");
    let current = csq_local::SqliteStore::SCHEMA;
    assert_eq!(csq_local::schema_of(&store).unwrap(), Some(current));
    // Opening a current directory backs nothing up.
    let config = csq_local_host::config::HostConfig::for_tests(&data_dir);
    let clock: std::sync::Arc<dyn csq_core::ports::Clock> = app.clock.clone();
    csq_local_host::host::LocalHost::open(
        config.clone(),
        clock.clone(),
        "127.0.0.1:9".parse().unwrap(),
    )
    .unwrap();
    assert!(!data_dir.join("backups").exists());

    // The directory as the previous release left it: numbered one schema back
    // (the last migration rebuilds tables in a layout, which it may do again).
    {
        let conn = rusqlite::Connection::open(&store).unwrap();
        conn.pragma_update(None, "user_version", current - 1)
            .unwrap();
    }
    csq_local_host::host::LocalHost::open(config, clock, "127.0.0.1:9".parse().unwrap()).unwrap();
    let backups: Vec<_> = std::fs::read_dir(data_dir.join("backups"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let file = backups
        .iter()
        .find(|n| n.starts_with("pre-upgrade-") && n.ends_with(".backup"))
        .expect("a backup before the upgrade");
    assert!(backups.contains(&format!("{file}.sha256")));
    assert_eq!(
        csq_local::schema_of(&store).unwrap(),
        Some(current),
        "then migrated"
    );
    // The backup holds the directory as it was (the older schema).
    let restored = tempfile::tempdir().unwrap();
    csq_local_host::backup::restore(restored.path(), &data_dir.join("backups").join(file)).unwrap();
    assert_eq!(
        csq_local::schema_of(&restored.path().join("csq.sqlite")).unwrap(),
        Some(current - 1)
    );
}
