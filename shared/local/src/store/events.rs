//! The event outbox on SQLite: events put by the writes they announce, read
//! in the order written, removed once published.

use super::*;

#[async_trait]
impl EventOutbox for SqliteStore {
    async fn pending_events(&self, limit: u32) -> PortResult<Vec<Event>> {
        self.db
            .call("pending events", move |conn| {
                let mut stmt =
                    conn.prepare_cached("SELECT doc FROM event_outbox ORDER BY rowid LIMIT ?1")?;
                let docs = stmt
                    .query_map([limit.max(1)], |r| r.get::<_, StoredDoc>(0))?
                    .collect::<Result<Vec<_>, _>>()?;
                docs.iter().map(from_doc).collect()
            })
            .await
    }

    async fn events_relayed(&self, event_ids: &[String]) -> PortResult<()> {
        let ids = event_ids.to_vec();
        self.db
            .call("events relayed", move |conn| {
                let tx = crate::db::write_tx(conn)?;
                {
                    let mut delete = tx.prepare_cached("DELETE FROM event_outbox WHERE id = ?1")?;
                    for id in &ids {
                        delete.execute([id])?;
                    }
                }
                tx.commit()?;
                Ok(())
            })
            .await
    }
}
