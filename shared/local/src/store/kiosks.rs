//! The counter tablets on SQLite: one row per tablet, its document as JSON.

use csq_core::domain::kiosk::{Kiosk, MAX_KIOSKS};
use csq_core::ports::KioskRegistry;

use super::*;

#[async_trait]
impl KioskRegistry for SqliteStore {
    async fn save_kiosk(&self, kiosk: &Kiosk) -> PortResult<()> {
        let kiosk = kiosk.clone();
        self.db
            .call("save kiosk", move |conn| {
                let (id, doc) = (kiosk.id.clone(), to_doc(&kiosk)?);
                let registered_at = ts(kiosk.registered_at);
                conn.execute(
                    "INSERT INTO kiosks (id, registered_at, doc) VALUES (?1, ?2, ?3)
                     ON CONFLICT (id) DO UPDATE SET doc = excluded.doc",
                    params![id, registered_at, doc],
                )?;
                Ok(())
            })
            .await
    }

    async fn kiosk(&self, id: &str) -> PortResult<Option<Kiosk>> {
        let id = id.to_owned();
        self.db
            .call("kiosk", move |conn| {
                conn.query_row("SELECT doc FROM kiosks WHERE id = ?1", [id], |r| {
                    r.get::<_, StoredDoc>(0)
                })
                .optional()?
                .map(|d| from_doc(&d))
                .transpose()
            })
            .await
    }

    async fn kiosks(&self) -> PortResult<Vec<Kiosk>> {
        self.db
            .call("kiosks", |conn| {
                let mut stmt = conn
                    .prepare_cached("SELECT doc FROM kiosks ORDER BY registered_at, id LIMIT ?1")?;
                let docs = stmt
                    .query_map([MAX_KIOSKS as i64], |r| r.get::<_, StoredDoc>(0))?
                    .collect::<Result<Vec<_>, _>>()?;
                docs.iter().map(from_doc).collect()
            })
            .await
    }
}
