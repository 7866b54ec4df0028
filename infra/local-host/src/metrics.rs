//! `GET /metrics` in the Prometheus text format, for the IT unit's
//! monitoring: answered to loopback, or to `CSQ_METRICS_TOKEN` as a bearer
//! token. Counts and durations only, nothing about anyone.
//!
//! - requests by route template, method and status, with latency histograms;
//! - what happened, counted as the core announces it (its events: forms
//!   issued, ratings submitted, complaints opened, cases transferred and closed)
//!   and emails written;
//! - read at each scrape: the complaint queue's depth and dead letters, the
//!   webhooks' and the mail relay's backlog and dead letters, overdue cases,
//!   the last nightly run, the database's size on disk.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use csq_core::domain::event::{Event, EventBody};
use csq_core::ports::{
    CaseStore, EventPublisher, MailError, Mailer, OutgoingEmail, PageRequest, PortResult,
};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::host::LocalHost;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EventLabels {
    r#type: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: String,
}

/// The host's metrics; the gauges are set at each scrape.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    events: Family<EventLabels, Counter>,
    invitations: Family<OutcomeLabels, Counter>,
    emails: Counter,
    queue_depth: Gauge,
    queue_dead: Gauge,
    webhooks: Family<StateLabels, Gauge>,
    mail_relay: Family<StateLabels, Gauge>,
    cases_overdue: Gauge,
    nightly_success: Gauge,
    nightly_seconds: Gauge<f64, std::sync::atomic::AtomicU64>,
    database_bytes: Gauge,
}

/// Overdue cases are counted up to this many (a bounded read per scrape).
const OVERDUE_COUNT_LIMIT: u32 = 10_000;

impl Default for Metrics {
    fn default() -> Metrics {
        let mut registry = Registry::with_prefix("csq");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by route template, method and status",
            requests.clone(),
        );
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0])
        });
        registry.register(
            "http_request_duration_seconds",
            "Time to answer, by route template",
            latency.clone(),
        );
        let events = Family::<EventLabels, Counter>::default();
        registry.register(
            "events",
            "What happened, as the core announced it (form.issued, rating.submitted, complaint.opened, case.transferred, case.escalated, case.closed, case.reopened)",
            events.clone(),
        );
        let invitations = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "invitations",
            "Forms by how their invitation's first attempt went: sent, pending (the mail service was busy; the sweep retries), rejected, suppressed, capped, sampled_out",
            invitations.clone(),
        );
        let emails = Counter::default();
        registry.register(
            "emails",
            "Emails written to the outbox (and queued for the relay, if any)",
            emails.clone(),
        );
        let queue_depth = Gauge::default();
        registry.register(
            "complaint_queue_depth",
            "Complaints waiting for the router",
            queue_depth.clone(),
        );
        let queue_dead = Gauge::default();
        registry.register(
            "complaint_queue_dead_letters",
            "Complaints the router gave up on",
            queue_dead.clone(),
        );
        let webhooks = Family::<StateLabels, Gauge>::default();
        registry.register(
            "webhook_deliveries",
            "Webhook deliveries pending or dead",
            webhooks.clone(),
        );
        let mail_relay = Family::<StateLabels, Gauge>::default();
        registry.register(
            "mail_relay_messages",
            "Messages waiting for the SMTP relay, or refused",
            mail_relay.clone(),
        );
        let cases_overdue = Gauge::default();
        registry.register(
            "cases_overdue",
            "Open cases past their deadline (counted up to 10,000)",
            cases_overdue.clone(),
        );
        let nightly_success = Gauge::default();
        registry.register(
            "nightly_last_success_timestamp_seconds",
            "When the last successful nightly run ended (Unix time; 0: none recorded)",
            nightly_success.clone(),
        );
        let nightly_seconds = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
        registry.register(
            "nightly_last_duration_seconds",
            "How long the last nightly run took",
            nightly_seconds.clone(),
        );
        let database_bytes = Gauge::default();
        registry.register(
            "database_bytes",
            "The data directory's databases on disk (with their WAL)",
            database_bytes.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            events,
            invitations,
            emails,
            queue_depth,
            queue_dead,
            webhooks,
            mail_relay,
            cases_overdue,
            nightly_success,
            nightly_seconds,
            database_bytes,
        }
    }
}

/// The core's events, counted on their way to the webhooks.
pub struct CountingPublisher {
    pub inner: Arc<dyn EventPublisher>,
    pub metrics: Arc<Metrics>,
}

#[async_trait]
impl EventPublisher for CountingPublisher {
    async fn publish(&self, events: &[Event]) -> PortResult<()> {
        self.inner.publish(events).await?;
        for e in events {
            self.metrics
                .events
                .get_or_create(&EventLabels {
                    r#type: e.type_name().to_owned(),
                })
                .inc();
            // A form is announced with its invitation's first attempt.
            if let EventBody::FormIssued(issued) = &e.body {
                let outcome = serde_json::to_value(issued.invitation)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                self.metrics
                    .invitations
                    .get_or_create(&OutcomeLabels { outcome })
                    .inc();
            }
        }
        Ok(())
    }
}

/// Emails, counted as the outbox takes them.
pub struct CountingMailer {
    pub inner: Arc<dyn Mailer>,
    pub metrics: Arc<Metrics>,
}

#[async_trait]
impl Mailer for CountingMailer {
    async fn send(&self, email: &OutgoingEmail) -> Result<String, MailError> {
        let id = self.inner.send(email).await?;
        self.metrics.emails.inc();
        Ok(id)
    }
}

/// Counts every routed request (a route layer: the template is known).
pub async fn count_requests(
    State(metrics): State<Arc<Metrics>>,
    req: Request,
    next: Next,
) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().as_str().to_owned();
    let started = Instant::now();
    let res = next.run(req).await;
    metrics
        .latency
        .get_or_create(&RouteLabels {
            route: route.clone(),
        })
        .observe(started.elapsed().as_secs_f64());
    metrics
        .requests
        .get_or_create(&RequestLabels {
            route,
            method,
            status: res.status().as_u16(),
        })
        .inc();
    res
}

/// Loopback may always scrape; elsewhere only with the configured token.
pub fn may_scrape(peer: Option<SocketAddr>, headers: &HeaderMap, token: Option<&str>) -> bool {
    if peer.is_some_and(|p| p.ip().is_loopback()) {
        return true;
    }
    let given = csq_core::http::bearer_from_headers(headers);
    match (token, given) {
        (Some(t), Some(g)) => csq_core::auth::secrets_match(t, g),
        _ => false,
    }
}

pub async fn scrape(State(host): State<LocalHost>, req: Request) -> Response {
    // The peer, where the server records it (it does for every connection).
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    if !may_scrape(peer, req.headers(), host.config.metrics_token.as_deref()) {
        return (
            StatusCode::FORBIDDEN,
            "metrics: from this machine, or with CSQ_METRICS_TOKEN\n",
        )
            .into_response();
    }
    let m = &host.metrics;
    if let Ok(n) = host.queue.depth().await {
        m.queue_depth.set(n as i64);
    }
    if let Ok(n) = host.queue.dead_count().await {
        m.queue_dead.set(n as i64);
    }
    if let Ok((pending, dead)) = host.webhooks.backlog().await {
        m.webhooks
            .get_or_create(&state("pending"))
            .set(pending as i64);
        m.webhooks.get_or_create(&state("dead")).set(dead as i64);
    }
    if let Some(relay) = &host.relay
        && let Ok((waiting, dead)) = relay.backlog().await
    {
        m.mail_relay
            .get_or_create(&state("waiting"))
            .set(waiting as i64);
        m.mail_relay.get_or_create(&state("dead")).set(dead as i64);
    }
    let now = host.clock().now();
    if let Ok(page) = host
        .store
        .open_cases_due_before(
            now,
            PageRequest {
                limit: OVERDUE_COUNT_LIMIT,
                after: None,
            },
        )
        .await
    {
        m.cases_overdue.set(page.items.len() as i64);
    }
    if let Ok(Some(nightly)) = host.store.status("nightly").await {
        if nightly["result"] == "ok"
            && let Some(at) = nightly["finished_at"]
                .as_str()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        {
            m.nightly_success.set(at.timestamp());
        }
        if let Some(s) = nightly["seconds"].as_f64() {
            m.nightly_seconds.set(s);
        }
    }
    m.database_bytes
        .set(database_bytes(&host.config.data_dir) as i64);
    let mut body = String::new();
    if prometheus_client::encoding::text::encode(&mut body, &m.registry).is_err() {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

fn state(s: &str) -> StateLabels {
    StateLabels {
        state: s.to_owned(),
    }
}

fn database_bytes(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().contains(".sqlite"))
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_this_machine_or_the_token_may_scrape() {
        let remote: SocketAddr = "10.1.2.3:5555".parse().unwrap();
        let local: SocketAddr = "127.0.0.1:5555".parse().unwrap();
        let with = |token: &str| {
            let mut h = HeaderMap::new();
            h.insert(
                header::AUTHORIZATION,
                format!("Bearer {token}").parse().unwrap(),
            );
            h
        };
        assert!(may_scrape(Some(local), &HeaderMap::new(), None));
        assert!(!may_scrape(Some(remote), &HeaderMap::new(), None));
        assert!(
            !may_scrape(Some(remote), &with("guess"), None),
            "no token configured"
        );
        assert!(!may_scrape(
            Some(remote),
            &with("guess"),
            Some("s3cret-metrics")
        ));
        assert!(may_scrape(
            Some(remote),
            &with("s3cret-metrics"),
            Some("s3cret-metrics")
        ));
        assert!(!may_scrape(None, &HeaderMap::new(), Some("s3cret-metrics")));
    }
}
