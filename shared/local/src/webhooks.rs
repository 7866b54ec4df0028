//! Events as webhooks, for the local host: the department registers URLs
//! (`csq webhooks add`); every event becomes one delivery per URL in a SQLite
//! outbox, and a worker POSTs due deliveries with an HMAC signature, retrying
//! with backoff (`domain::event::retry_delay`) until the receiver answers 2xx
//! or the attempts run out (a dead letter, replayed by `csq webhooks redeliver`).
//!
//! A delivery is keyed by (event id, webhook): publishing an event twice
//! creates nothing new, and a receiver sees the same `CSQ-Event-Id` on a retry.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use csq_core::auth::webhook::{EVENT_ID_HEADER, EVENT_TYPE_HEADER, SIGNATURE_HEADER, sign};
use csq_core::domain::event::{Event, retry_delay};
use csq_core::domain::webhook::{Delivery, DeliveryState, MAX_WEBHOOKS, Webhook};
use csq_core::ports::{Clock, EventPublisher, PortError, PortResult, WebhookRegistry};
use rusqlite::params;

use crate::db::{Db, Migration, StoreError, ts};

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS webhooks (
    id         TEXT PRIMARY KEY,
    url        TEXT NOT NULL,
    secret     TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
    event_id   TEXT NOT NULL,
    webhook_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    body       TEXT NOT NULL,
    state      TEXT NOT NULL,
    attempts   INTEGER NOT NULL,
    next_at    TEXT NOT NULL,
    last_error TEXT,
    done_at    TEXT,
    PRIMARY KEY (event_id, webhook_id)
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (next_at, event_id, webhook_id) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS deliveries_dead ON deliveries (done_at, event_id, webhook_id) WHERE state = 'dead';
"#;

/// The file's schema, in order (see `Db::open_migrated`): the first is the
/// layout every release before numbered migrations wrote.
const MIGRATIONS: &[Migration] = &[Migration {
    what: "the first layout",
    apply: |tx| tx.execute_batch(SCHEMA),
}];

/// The most deliveries one worker pass sends.
const PASS_LIMIT: u32 = 50;
/// A receiver gets this long to answer.
const TIMEOUT: StdDuration = StdDuration::from_secs(10);

/// What one worker pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryPass {
    pub delivered: usize,
    /// Failed, with an attempt left: retried after the backoff.
    pub retrying: usize,
    /// Failed for the last time: now dead letters.
    pub dead: usize,
}

use crate::https::HttpClient;

#[derive(Clone)]
pub struct Webhooks {
    db: Db,
    http: HttpClient,
    clock: Arc<dyn Clock>,
}

impl Webhooks {
    /// The schema this version writes (its numbered migrations).
    pub const SCHEMA: usize = MIGRATIONS.len();

    pub fn open(path: &Path, clock: Arc<dyn Clock>) -> anyhow::Result<Webhooks> {
        let http = crate::https::client()?;
        Ok(Webhooks {
            db: Db::open_migrated(path, "webhooks", MIGRATIONS)?,
            http,
            clock,
        })
    }

    /// Sends the deliveries that are due, a bounded batch per pass.
    pub async fn deliver_due(&self) -> PortResult<DeliveryPass> {
        let now = self.clock.now();
        // Taken under a lease: another pass (or process) skips them meanwhile,
        // and a crash mid-send makes them due again when the lease ends.
        let lease = ts(now + chrono::Duration::seconds(2 * TIMEOUT.as_secs() as i64));
        let due = self
            .db
            .call("due deliveries", move |conn| {
                let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                let rows = {
                    let mut stmt = tx.prepare(
                        "SELECT d.event_id, d.webhook_id, d.event_type, d.body, d.attempts, w.url, w.secret
                         FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id
                         WHERE d.state = 'pending' AND d.next_at <= ?1
                         ORDER BY d.next_at LIMIT ?2",
                    )?;
                    stmt.query_map(params![ts(now), PASS_LIMIT], |r| {
                        Ok(Due {
                            event_id: r.get(0)?,
                            webhook_id: r.get(1)?,
                            event_type: r.get(2)?,
                            body: r.get(3)?,
                            attempts: r.get(4)?,
                            url: r.get(5)?,
                            secret: r.get(6)?,
                        })
                    })?
                    .collect::<Result<Vec<_>, _>>()?
                };
                for d in &rows {
                    tx.execute(
                        "UPDATE deliveries SET next_at = ?3 WHERE event_id = ?1 AND webhook_id = ?2",
                        params![d.event_id, d.webhook_id, lease],
                    )?;
                }
                tx.commit()?;
                Ok(rows)
            })
            .await?;
        let mut pass = DeliveryPass::default();
        for d in due {
            let result = self.post(&d).await;
            let attempts = d.attempts + 1;
            let now = self.clock.now();
            let (state, next_at, error) = match &result {
                Ok(()) => (DeliveryState::Delivered, now, None),
                Err(e) => match retry_delay(attempts) {
                    Some(wait) => (DeliveryState::Pending, now + wait, Some(e.clone())),
                    None => (DeliveryState::Dead, now, Some(e.clone())),
                },
            };
            match state {
                DeliveryState::Delivered => pass.delivered += 1,
                DeliveryState::Pending => pass.retrying += 1,
                DeliveryState::Dead => {
                    tracing::warn!(event_id = %d.event_id, webhook = %d.webhook_id, attempts, "webhook delivery dead-lettered");
                    pass.dead += 1;
                }
            }
            let done = (state != DeliveryState::Pending).then(|| ts(now));
            let (event_id, webhook_id) = (d.event_id.clone(), d.webhook_id.clone());
            self.db
                .call("record delivery", move |conn| {
                    conn.execute(
                        "UPDATE deliveries SET state = ?3, attempts = ?4, next_at = ?5, last_error = ?6, done_at = ?7
                         WHERE event_id = ?1 AND webhook_id = ?2",
                        params![event_id, webhook_id, state.code(), attempts, ts(next_at), error, done],
                    )?;
                    Ok(())
                })
                .await?;
        }
        Ok(pass)
    }

    async fn post(&self, d: &Due) -> Result<(), String> {
        let signature = sign(&d.secret, self.clock.now().timestamp(), d.body.as_bytes());
        let req = hyper::Request::post(&d.url)
            .header("content-type", "application/json")
            .header("user-agent", "csq-webhooks/1")
            .header(EVENT_ID_HEADER, &d.event_id)
            .header(EVENT_TYPE_HEADER, &d.event_type)
            .header(SIGNATURE_HEADER, signature)
            .body(http_body_util::Full::new(hyper::body::Bytes::from(
                d.body.clone(),
            )))
            .map_err(|e| format!("request not built: {e}"))?;
        // Redirects are not followed: a receiver answers where it was registered.
        let res = tokio::time::timeout(TIMEOUT, self.http.request(req))
            .await
            .map_err(|_| format!("no answer within {} s", TIMEOUT.as_secs()))?
            .map_err(|e| format!("request failed: {e}"))?;
        if res.status().is_success() {
            Ok(())
        } else {
            Err(format!("receiver answered {}", res.status()))
        }
    }
}

/// The most dead letters one "send again" queues: the rest wait for the next.
const REDELIVER_LIMIT: u32 = 1000;

#[async_trait]
impl WebhookRegistry for Webhooks {
    async fn add_webhook(&self, hook: &Webhook) -> PortResult<()> {
        let h = hook.clone();
        self.db
            .call("add webhook", move |conn| {
                conn.execute(
                    "INSERT INTO webhooks (id, url, secret, created_at) VALUES (?1, ?2, ?3, ?4)",
                    params![h.id, h.url, h.secret, ts(h.created_at)],
                )?;
                Ok(())
            })
            .await
    }

    async fn webhooks(&self) -> PortResult<Vec<Webhook>> {
        self.db
            .call("list webhooks", |conn| {
                let mut stmt = conn.prepare(
                    "SELECT id, url, secret, created_at FROM webhooks ORDER BY created_at LIMIT ?1",
                )?;
                let rows = stmt
                    .query_map([MAX_WEBHOOKS], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get::<_, String>(3)?))
                    })?
                    .collect::<Result<Vec<(String, String, String, String)>, _>>()?;
                rows.into_iter()
                    .map(|(id, url, secret, at)| {
                        Ok(Webhook {
                            id,
                            url,
                            secret,
                            created_at: parse_ts(&at)?,
                        })
                    })
                    .collect()
            })
            .await
    }

    async fn remove_webhook(&self, id: &str) -> PortResult<bool> {
        let id = id.to_owned();
        self.db
            .call("remove webhook", move |conn| {
                let tx = conn.transaction()?;
                tx.execute(
                    "DELETE FROM deliveries WHERE webhook_id = ?1 AND state = 'pending'",
                    [&id],
                )?;
                let n = tx.execute("DELETE FROM webhooks WHERE id = ?1", [&id])?;
                tx.commit()?;
                Ok(n == 1)
            })
            .await
    }

    async fn dead_letters(&self, limit: u32) -> PortResult<Vec<Delivery>> {
        self.db
            .call("dead letters", move |conn| {
                read_deliveries(
                    conn,
                    "WHERE state = 'dead' ORDER BY done_at DESC LIMIT ?1",
                    limit,
                )
            })
            .await
    }

    /// One event's deliveries start over whatever their state; otherwise the
    /// oldest dead letters, a bounded batch.
    async fn redeliver(&self, event_id: Option<&str>) -> PortResult<usize> {
        let now = ts(self.clock.now());
        let id = event_id.map(str::to_owned);
        self.db
            .call("redeliver", move |conn| {
                let n = match id {
                    Some(id) => conn.execute(
                        "UPDATE deliveries SET state = 'pending', attempts = 0, next_at = ?2, done_at = NULL
                         WHERE event_id = ?1",
                        params![id, now],
                    )?,
                    None => conn.execute(
                        "UPDATE deliveries SET state = 'pending', attempts = 0, next_at = ?1, done_at = NULL
                         WHERE (event_id, webhook_id) IN (SELECT event_id, webhook_id FROM deliveries
                               WHERE state = 'dead' ORDER BY done_at LIMIT ?2)",
                        params![now, REDELIVER_LIMIT],
                    )?,
                };
                Ok(n)
            })
            .await
    }
}

impl Webhooks {
    /// Deliveries waiting (or retrying) and dead letters.
    pub async fn backlog(&self) -> PortResult<(u64, u64)> {
        self.db
            .call("webhook backlog", |conn| {
                Ok(conn.query_row(
                    "SELECT (SELECT COUNT(*) FROM deliveries WHERE state = 'pending'),
                            (SELECT COUNT(*) FROM deliveries WHERE state = 'dead')",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?)
            })
            .await
    }

    /// One event's deliveries (to every webhook).
    pub async fn deliveries_of(&self, event_id: &str) -> PortResult<Vec<Delivery>> {
        let id = event_id.to_owned();
        self.db
            .call("deliveries of event", move |conn| {
                read_deliveries(
                    conn,
                    "WHERE event_id = ?1 ORDER BY webhook_id LIMIT 100",
                    id,
                )
            })
            .await
    }
}

struct Due {
    event_id: String,
    webhook_id: String,
    event_type: String,
    body: String,
    attempts: u32,
    url: String,
    secret: String,
}

/// Deliveries matching `filter` (a WHERE … ORDER BY … LIMIT with one parameter).
fn read_deliveries(
    conn: &rusqlite::Connection,
    filter: &str,
    param: impl rusqlite::ToSql,
) -> Result<Vec<Delivery>, StoreError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT event_id, webhook_id, event_type, state, attempts, last_error FROM deliveries {filter}"
    ))?;
    let rows = stmt
        .query_map([param], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get::<_, String>(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter()
        .map(
            |(event_id, webhook_id, event_type, state, attempts, last_error)| {
                Ok(Delivery {
                    event_id,
                    webhook_id,
                    event_type,
                    state: DeliveryState::parse(&state).ok_or_else(|| {
                        StoreError::Other(format!("unknown delivery state {state}"))
                    })?,
                    attempts,
                    last_error,
                })
            },
        )
        .collect()
}

fn parse_ts(s: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Other(format!("timestamp {s}: {e}")))
}

#[async_trait]
impl EventPublisher for Webhooks {
    /// One pending delivery per event and webhook; an event already recorded
    /// is left as it is (a duplicate publish changes nothing).
    async fn publish(&self, events: &[Event]) -> PortResult<()> {
        let now = ts(self.clock.now());
        let rows = events
            .iter()
            .map(|e| {
                serde_json::to_string(e)
                    .map(|body| (e.id.clone(), e.type_name().to_owned(), body))
                    .map_err(|err| PortError::new("event json", err))
            })
            .collect::<PortResult<Vec<_>>>()?;
        self.db
            .call("publish events", move |conn| {
                let tx = conn.transaction()?;
                {
                    let mut insert = tx.prepare(
                        "INSERT OR IGNORE INTO deliveries (event_id, webhook_id, event_type, body, state, attempts, next_at)
                         SELECT ?1, id, ?2, ?3, 'pending', 0, ?4 FROM webhooks",
                    )?;
                    for (id, kind, body) in &rows {
                        insert.execute(params![id, kind, body, now])?;
                    }
                }
                tx.commit()?;
                Ok(())
            })
            .await
    }
}
