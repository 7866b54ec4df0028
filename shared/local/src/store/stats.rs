//! Daily statistics, early warnings and the audit log on SQLite.

use super::*;

#[async_trait]
impl StatsStore for SqliteStore {
    async fn put_daily(&self, stats: &[DailyStats]) -> PortResult<()> {
        let stats = stats.to_vec();
        self.db
            .call("put daily stats", move |conn| {
                let tx = crate::db::write_tx(conn)?;
                {
                    let mut stmt = tx.prepare_cached(
                        "INSERT OR REPLACE INTO daily_stats (unit, date, doc) VALUES (?1, ?2, ?3)",
                    )?;
                    for s in &stats {
                        stmt.execute(params![s.unit, s.date.to_string(), to_doc(s)?])?;
                    }
                }
                tx.commit()?;
                Ok(())
            })
            .await
    }

    async fn daily(
        &self,
        unit: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> PortResult<Vec<DailyStats>> {
        let unit = unit.to_owned();
        self.db
            .call("daily stats", move |conn| {
                let mut stmt = conn
                    .prepare_cached("SELECT doc FROM daily_stats WHERE unit = ?1 AND date BETWEEN ?2 AND ?3 ORDER BY date")?;
                let docs = stmt
                    .query_map(params![unit, from.to_string(), to.to_string()], |r| r.get::<_, StoredDoc>(0))?
                    .collect::<Result<Vec<_>, _>>()?;
                docs.iter().map(from_doc).collect()
            })
            .await
    }

    async fn put_warnings(&self, report: &WarningReport) -> PortResult<bool> {
        let doc = serde_json::to_string(report).map_err(|e| PortError::new("put warnings", e))?;
        let week = report.week_end.to_string();
        self.db
            .call("put warnings", move |conn| {
                let n = conn.execute(
                    "INSERT OR IGNORE INTO early_warnings (week_end, doc) VALUES (?1, ?2)",
                    params![week, doc],
                )?;
                Ok(n == 1)
            })
            .await
    }

    async fn latest_warnings(&self) -> PortResult<Option<WarningReport>> {
        self.db
            .call("latest warnings", |conn| {
                conn.query_row(
                    "SELECT doc FROM early_warnings ORDER BY week_end DESC LIMIT 1",
                    [],
                    |r| r.get::<_, StoredDoc>(0),
                )
                .optional()?
                .map(|d| from_doc(&d))
                .transpose()
            })
            .await
    }
}

#[async_trait]
impl AuditLog for SqliteStore {
    async fn record(&self, entry: &AuditEntry) -> PortResult<()> {
        // Deflated like every other document: an entry lists the ids a reader was
        // shown, and a year's export writes thousands of them.
        let doc = to_doc(entry).map_err(|e| PortError::new("audit", e))?;
        let (day, at, id, keep) = (
            vn_day(entry.at).to_string(),
            ts(entry.at),
            entry.id.clone(),
            ts(entry.keep_until),
        );
        self.db
            .call("record audit", move |conn| {
                conn.execute(
                    "INSERT OR IGNORE INTO audit (day, at, id, keep_until, doc) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![day, at, id, keep, doc],
                )?;
                Ok(())
            })
            .await
    }

    async fn audit_on(&self, day: NaiveDate, page: PageRequest) -> PortResult<Page<AuditEntry>> {
        self.db
            .call("audit of a day", move |conn| {
                let day = day.to_string();
                keyset_page(conn, "audit", "day = ?1", &[&day], &["at", "id"], &page)
            })
            .await
    }

    async fn drop_expired_audit(&self, now: DateTime<Utc>) -> PortResult<u64> {
        self.db
            .call("drop expired audit", move |conn| {
                Ok(conn.execute("DELETE FROM audit WHERE keep_until <= ?1", [ts(now)])? as u64)
            })
            .await
    }
}
