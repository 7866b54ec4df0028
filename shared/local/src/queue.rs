//! A durable queue with SQS semantics on its own SQLite file.
//!
//! A received message is hidden for the visibility timeout and comes back if it
//! is not deleted; each receive counts, and a message received more than
//! `max_receives` times moves to the dead-letter table instead of being handed
//! out again, so one poison message cannot hold up the others.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::Duration;
use csq_core::domain::complaint::Complaint;
use csq_core::ports::{Clock, ComplaintQueue, PortError, PortResult, QueueConsumer, Received};
use rusqlite::{TransactionBehavior, params};

use crate::db::{Db, Migration, StoreError, ts};

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS messages (
    id            TEXT PRIMARY KEY,
    body          TEXT NOT NULL,
    sent_at       TEXT NOT NULL,
    visible_at    TEXT NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    receipt       TEXT
);
CREATE INDEX IF NOT EXISTS messages_visible ON messages (visible_at, sent_at);
CREATE TABLE IF NOT EXISTS dead_letters (
    id            TEXT PRIMARY KEY,
    body          TEXT NOT NULL,
    sent_at       TEXT NOT NULL,
    receive_count INTEGER NOT NULL,
    moved_at      TEXT NOT NULL
);
"#;

/// The file's schema, in order (see `Db::open_migrated`): the first is the
/// layout every release before numbered migrations wrote.
const MIGRATIONS: &[Migration] = &[Migration {
    what: "the first layout",
    apply: |tx| tx.execute_batch(SCHEMA),
}];

#[derive(Clone)]
pub struct SqliteQueue {
    db: Db,
    clock: Arc<dyn Clock>,
    visibility: Duration,
    max_receives: u32,
}

impl SqliteQueue {
    /// The schema this version writes (its numbered migrations).
    pub const SCHEMA: usize = MIGRATIONS.len();

    pub fn open(
        path: &Path,
        clock: Arc<dyn Clock>,
        visibility: Duration,
        max_receives: u32,
    ) -> anyhow::Result<SqliteQueue> {
        Ok(SqliteQueue {
            db: Db::open_migrated(path, "queue", MIGRATIONS)?,
            clock,
            visibility,
            max_receives: max_receives.max(1),
        })
    }

    /// Puts any raw body on the queue (what `enqueue` does after serializing).
    pub async fn send_raw(&self, body: &str) -> PortResult<String> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let now = ts(self.clock.now());
        let (body, mid) = (body.to_owned(), id.clone());
        self.db
            .call("send message", move |conn| {
                conn.execute(
                    "INSERT INTO messages (id, body, sent_at, visible_at) VALUES (?1, ?2, ?3, ?3)",
                    params![mid, body, now],
                )?;
                Ok(())
            })
            .await?;
        Ok(id)
    }

    /// Moves every dead letter back to the queue with a fresh receive count:
    /// what an operator does once the cause is fixed.
    pub async fn redrive_dead_letters(&self) -> PortResult<usize> {
        let now = ts(self.clock.now());
        self.db
            .call("redrive dead letters", move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let n = tx.execute(
                    "INSERT INTO messages (id, body, sent_at, visible_at) SELECT id, body, sent_at, ?1 FROM dead_letters",
                    [now],
                )?;
                tx.execute("DELETE FROM dead_letters", [])?;
                tx.commit()?;
                Ok(n)
            })
            .await
    }

    /// Complaints the router gave up on.
    pub async fn dead_count(&self) -> PortResult<u64> {
        self.db
            .call("queue dead letters", |conn| {
                Ok(
                    conn.query_row("SELECT COUNT(*) FROM dead_letters", [], |r| {
                        r.get::<_, u64>(0)
                    })?,
                )
            })
            .await
    }

    /// Messages waiting or in flight (not dead letters).
    pub async fn depth(&self) -> PortResult<u64> {
        self.db
            .call("queue depth", |conn| {
                Ok(conn.query_row("SELECT COUNT(*) FROM messages", [], |r| r.get::<_, u64>(0))?)
            })
            .await
    }
}

#[async_trait]
impl ComplaintQueue for SqliteQueue {
    async fn enqueue(&self, complaint: &Complaint) -> PortResult<()> {
        let body = serde_json::to_string(complaint)
            .map_err(|e| PortError::new("serialize complaint", e))?;
        self.send_raw(&body).await.map(|_| ())
    }
}

#[async_trait]
impl QueueConsumer for SqliteQueue {
    async fn receive(&self, max: u32) -> PortResult<Vec<Received>> {
        let now = self.clock.now();
        let hidden_until = ts(now + self.visibility);
        let now = ts(now);
        let max_receives = self.max_receives;
        self.db
            .call("receive messages", move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let candidates: Vec<(String, String, u32)> = {
                    let mut stmt = tx.prepare_cached(
                        "SELECT id, body, receive_count FROM messages WHERE visible_at <= ?1 ORDER BY sent_at, id LIMIT ?2",
                    )?;
                    stmt.query_map(params![now, max.clamp(1, 10) * 2], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                        .collect::<Result<_, _>>()?
                };
                let mut out = Vec::new();
                for (id, body, count) in candidates {
                    if count >= max_receives {
                        tx.execute(
                            "INSERT OR REPLACE INTO dead_letters (id, body, sent_at, receive_count, moved_at)
                             SELECT id, body, sent_at, receive_count, ?2 FROM messages WHERE id = ?1",
                            params![id, now],
                        )?;
                        tx.execute("DELETE FROM messages WHERE id = ?1", [&id])?;
                        tracing::warn!(message_id = %id, receives = count, "message moved to dead letters");
                        continue;
                    }
                    if out.len() as u32 >= max.clamp(1, 10) {
                        break;
                    }
                    let receipt = format!("{id}:{}", uuid::Uuid::new_v4().simple());
                    tx.execute(
                        "UPDATE messages SET receive_count = receive_count + 1, visible_at = ?2, receipt = ?3 WHERE id = ?1",
                        params![id, hidden_until, receipt],
                    )?;
                    out.push(Received { message_id: id, receipt, body, receive_count: count + 1 });
                }
                tx.commit()?;
                Ok(out)
            })
            .await
    }

    async fn delete(&self, receipt: &str) -> PortResult<()> {
        let receipt = receipt.to_owned();
        self.db
            .call("delete message", move |conn| {
                conn.execute("DELETE FROM messages WHERE receipt = ?1", [receipt])?;
                Ok(())
            })
            .await
    }

    async fn dead_letters(&self, max: u32) -> PortResult<Vec<Received>> {
        self.db
            .call("dead letters", move |conn| {
                let mut stmt = conn.prepare_cached(
                    "SELECT id, body, receive_count FROM dead_letters ORDER BY moved_at, id LIMIT ?1",
                )?;
                let rows = stmt
                    .query_map([max.max(1)], |r| {
                        Ok(Received {
                            message_id: r.get(0)?,
                            receipt: String::new(),
                            body: r.get(1)?,
                            receive_count: r.get(2)?,
                        })
                    })?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok::<_, StoreError>(rows)
            })
            .await
    }
}
