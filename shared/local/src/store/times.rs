//! Service times on SQLite: one row per declaration (its current record,
//! written conditionally on its version) and one snapshot per day it changed,
//! which the nightly reads.

use csq_core::domain::times::DeclarationTimes;
use csq_core::ports::TimesStore;

use super::*;

#[async_trait]
impl TimesStore for SqliteStore {
    async fn declaration_times(&self, number: &str) -> PortResult<Option<DeclarationTimes>> {
        let number = number.to_owned();
        self.db
            .call("declaration times", move |conn| {
                conn.query_row(
                    "SELECT doc FROM declaration_times WHERE number = ?1",
                    [number],
                    |r| r.get::<_, String>(0),
                )
                .optional()?
                .map(|d| from_doc(&d))
                .transpose()
            })
            .await
    }

    async fn save_times(&self, times: &DeclarationTimes) -> PortResult<bool> {
        let times = times.clone();
        self.db
            .call("save times", move |conn| {
                let doc = to_doc(&times)?;
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let stored: Option<u32> = tx
                    .query_row(
                        "SELECT version FROM declaration_times WHERE number = ?1",
                        [&times.number],
                        |r| r.get(0),
                    )
                    .optional()?;
                if stored.unwrap_or(0) + 1 != times.version {
                    return Ok(false);
                }
                tx.execute(
                    "INSERT INTO declaration_times (number, version, doc) VALUES (?1, ?2, ?3)
                     ON CONFLICT (number) DO UPDATE SET version = excluded.version, doc = excluded.doc",
                    params![times.number, times.version, doc],
                )?;
                tx.execute(
                    "INSERT INTO times_by_day (day, number, doc) VALUES (?1, ?2, ?3)
                     ON CONFLICT (day, number) DO UPDATE SET doc = excluded.doc",
                    params![times.recorded_on.to_string(), times.number, doc],
                )?;
                tx.commit()?;
                Ok(true)
            })
            .await
    }

    async fn times_recorded_on(
        &self,
        day: NaiveDate,
        page: PageRequest,
    ) -> PortResult<Page<DeclarationTimes>> {
        let day = day.to_string();
        let after = page.after.clone().unwrap_or_default();
        let limit = page.limit.clamp(1, 1000);
        self.db
            .call("times recorded on", move |conn| {
                let mut stmt = conn.prepare_cached(
                    "SELECT number, doc FROM times_by_day WHERE day = ?1 AND number > ?2
                     ORDER BY number LIMIT ?3",
                )?;
                let rows = stmt
                    .query_map(params![day, after, limit + 1], |r| {
                        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                    })?
                    .collect::<Result<Vec<_>, _>>()?;
                let more = rows.len() > limit as usize;
                let rows = &rows[..rows.len().min(limit as usize)];
                let next = more.then(|| rows.last().map(|(n, _)| n.clone())).flatten();
                let items = rows
                    .iter()
                    .map(|(_, d)| from_doc(d))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Page { items, next })
            })
            .await
    }
}
