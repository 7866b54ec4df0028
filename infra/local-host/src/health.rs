//! Health for the IT unit's load balancer and monitoring, without personal
//! data and cheap enough to call every few seconds:
//! - `GET /healthz`: the process answers;
//! - `GET /readyz`: the store takes a write, every background worker has
//!   made a pass lately, and (reported, not judged) the last nightly run and
//!   the mail relay's backlog. 503 when something is wrong, naming it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::NaiveDate;
use serde_json::json;

use crate::host::LocalHost;

/// A worker is alive when it made a pass within this many of its periods
/// (plus a margin for a slow pass).
const MISSED_PASSES: u32 = 3;
const MARGIN: Duration = Duration::from_secs(10);

/// The background workers' last passes.
#[derive(Default)]
pub struct Workers {
    passes: Mutex<BTreeMap<&'static str, (Instant, Duration)>>,
}

impl Workers {
    /// `worker` made a pass; it makes one every `period` when healthy.
    pub fn pass(&self, worker: &'static str, period: Duration) {
        self.pass_at(worker, Instant::now(), period);
    }

    fn pass_at(&self, worker: &'static str, at: Instant, period: Duration) {
        self.passes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(worker, (at, period));
    }

    /// Each worker, and whether it passed lately (seconds since its last pass).
    fn report(&self) -> BTreeMap<&'static str, (bool, u64)> {
        self.passes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(name, (at, period))| {
                let since = at.elapsed();
                (
                    *name,
                    (since <= *period * MISSED_PASSES + MARGIN, since.as_secs()),
                )
            })
            .collect()
    }
}

pub type SharedWorkers = Arc<Workers>;

pub fn router(host: LocalHost) -> axum::Router {
    axum::Router::new()
        .route("/healthz", get(|| async { Json(json!({"status": "ok"})) }))
        .route("/readyz", get(readyz))
        .with_state(host)
}

async fn readyz(State(host): State<LocalHost>) -> Response {
    let now = host.clock().now();
    let store = host
        .store
        .record_status("readiness", now, json!({}))
        .await
        .map_err(|e| tracing::error!(error = %e, "readiness: the store takes no write"));
    let workers = host.workers.report();
    let nightly = host.store.status("nightly").await.ok().flatten();
    let mail = match &host.relay {
        Some(relay) => match relay.backlog().await {
            Ok((waiting, dead)) => json!({"waiting": waiting, "dead": dead}),
            Err(_) => json!(null),
        },
        None => json!(null),
    };
    let ready = store.is_ok() && workers.values().all(|(alive, _)| *alive);
    let body = json!({
        "status": if ready { "ready" } else { "not_ready" },
        "store": if store.is_ok() { "writable" } else { "not writable" },
        "workers": workers
            .iter()
            .map(|(name, (alive, since))| {
                ((*name).to_owned(), json!({"alive": alive, "seconds_since_pass": since}))
            })
            .collect::<serde_json::Map<_, _>>(),
        "nightly": nightly,
        "mail_relay": mail,
    });
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

/// What `/readyz` says of a nightly run (the day, when it ended, how).
pub fn nightly_status(
    day: NaiveDate,
    finished_at: chrono::DateTime<chrono::Utc>,
    ok: bool,
    seconds: f64,
) -> serde_json::Value {
    json!({
        "day": day,
        "finished_at": finished_at,
        "result": if ok { "ok" } else { "failed" },
        "seconds": (seconds * 10.0).round() / 10.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_worker_that_stopped_passing_is_reported_dead() {
        let workers = Workers::default();
        let second = Duration::from_secs(1);
        workers.pass("complaint_router", second);
        workers.pass_at(
            "sweep",
            Instant::now() - Duration::from_secs(200),
            Duration::from_secs(30),
        );
        workers.pass_at("webhooks", Instant::now() - Duration::from_secs(20), second);
        let report = workers.report();
        assert!(report["complaint_router"].0);
        assert!(!report["sweep"].0, "three missed passes and the margin");
        assert!(!report["webhooks"].0);
        assert!(report["sweep"].1 >= 200);
    }
}
