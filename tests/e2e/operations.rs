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
