//! Service times on SQLite: one row per declaration (its current record,
//! written conditionally on its version) and one snapshot per day it changed,
//! which the nightly reads.

use csq_core::domain::times::DeclarationTimes;
use csq_core::domain::watch::{MAX_WATCH_CASES, WatchCase};
use csq_core::ports::{TimesStore, WatchStore};

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
                    |r| r.get::<_, StoredDoc>(0),
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
                let tx = crate::db::write_tx(conn)?;
                let stored = stored_version(&tx, "SELECT version FROM declaration_times WHERE number = ?1", &times.number)?;
                if !versions::follows(times.version, stored) {
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
                index_business(&tx, &times)?;
                tx.commit()?;
                Ok(true)
            })
            .await
    }

    async fn business_times(
        &self,
        office: &str,
        tax_code: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: u32,
    ) -> PortResult<Vec<DeclarationTimes>> {
        let (office, tax_code, from, to) =
            (office.to_owned(), tax_code.to_owned(), ts(from), ts(to));
        self.db
            .call("business times", move |conn| {
                let mut stmt = conn.prepare_cached(
                    "SELECT d.doc FROM times_by_business b JOIN declaration_times d ON d.number = b.number
                     WHERE b.office = ?1 AND b.tax_code = ?2 AND b.registered_at >= ?3 AND b.registered_at < ?4
                     ORDER BY b.registered_at, b.number LIMIT ?5",
                )?;
                let docs = stmt
                    .query_map(params![office, tax_code, from, to, limit.max(1)], |r| {
                        r.get::<_, StoredDoc>(0)
                    })?
                    .collect::<Result<Vec<_>, _>>()?;
                docs.iter().map(from_doc).collect()
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
                        Ok((r.get::<_, String>(0)?, r.get::<_, StoredDoc>(1)?))
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

/// The version a row holds (0: no row), read inside the writing transaction.
fn stored_version(tx: &rusqlite::Connection, sql: &str, key: &str) -> rusqlite::Result<u32> {
    Ok(tx
        .query_row(sql, [key], |r| r.get(0))
        .optional()?
        .unwrap_or(0))
}

/// The watch's index of a declaration's times: by office and business.
pub(super) fn index_business(
    tx: &rusqlite::Connection,
    times: &DeclarationTimes,
) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT OR IGNORE INTO times_by_business (office, tax_code, registered_at, number)
         VALUES (?1, ?2, ?3, ?4)",
        params![
            times.office,
            times.tax_code,
            ts(times.registered_at),
            times.number
        ],
    )?;
    Ok(())
}

#[async_trait]
impl WatchStore for SqliteStore {
    async fn save_watch_case(&self, case: &WatchCase) -> PortResult<bool> {
        let case = case.clone();
        self.db
            .call("save watch case", move |conn| {
                let doc = to_doc(&case)?;
                let tx = crate::db::write_tx(conn)?;
                let stored = stored_version(
                    &tx,
                    "SELECT version FROM watch_cases WHERE id = ?1",
                    &case.id,
                )?;
                if !versions::follows(case.version, stored) {
                    return Ok(false);
                }
                tx.execute(
                    "INSERT INTO watch_cases (id, raised_on, version, doc) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (id) DO UPDATE SET version = excluded.version, doc = excluded.doc",
                    params![case.id, case.raised_on.to_string(), case.version, doc],
                )?;
                tx.commit()?;
                Ok(true)
            })
            .await
    }

    async fn watch_case(&self, id: &str) -> PortResult<Option<WatchCase>> {
        let id = id.to_owned();
        self.db
            .call("watch case", move |conn| {
                conn.query_row("SELECT doc FROM watch_cases WHERE id = ?1", [id], |r| {
                    r.get::<_, StoredDoc>(0)
                })
                .optional()?
                .map(|d| from_doc(&d))
                .transpose()
            })
            .await
    }

    async fn watch_cases(&self) -> PortResult<Vec<WatchCase>> {
        self.db
            .call("watch cases", |conn| {
                let mut stmt = conn.prepare_cached(
                    "SELECT doc FROM watch_cases ORDER BY raised_on DESC, id LIMIT ?1",
                )?;
                let docs = stmt
                    .query_map([MAX_WATCH_CASES], |r| r.get::<_, StoredDoc>(0))?
                    .collect::<Result<Vec<_>, _>>()?;
                docs.iter().map(from_doc).collect()
            })
            .await
    }
}
