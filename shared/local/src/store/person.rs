//! The person index on SQLite: rows written with the forms and cases they
//! point to, read by key, dropped with the record's personal data.

use super::*;

/// The `kind` and `id` columns of a record.
fn kind_of(record: &HeldRecord) -> (&'static str, &str) {
    match record {
        HeldRecord::Form(id) => ("form", id),
        HeldRecord::Case(id) => ("case", id),
    }
}

#[async_trait]
impl PersonIndex for SqliteStore {
    async fn records_of_person(&self, key: &str, limit: u32) -> PortResult<Vec<HeldRecord>> {
        let key = key.to_owned();
        self.db
            .call("records of person", move |conn| {
                let mut stmt = conn.prepare_cached(
                    "SELECT kind, id FROM person_index WHERE key = ?1 ORDER BY kind, id LIMIT ?2",
                )?;
                let rows = stmt
                    .query_map(params![key, limit.max(1)], |r| {
                        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                    })?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(rows
                    .into_iter()
                    .map(|(kind, id)| match kind.as_str() {
                        "case" => HeldRecord::Case(id),
                        _ => HeldRecord::Form(id),
                    })
                    .collect())
            })
            .await
    }

    async fn unindex_person(&self, key: &str, records: &[HeldRecord]) -> PortResult<()> {
        let key = key.to_owned();
        let records = records.to_vec();
        self.db
            .call("unindex person", move |conn| {
                let tx = crate::db::write_tx(conn)?;
                {
                    let mut delete = tx.prepare_cached(
                        "DELETE FROM person_index WHERE key = ?1 AND kind = ?2 AND id = ?3",
                    )?;
                    for r in &records {
                        let (kind, id) = kind_of(r);
                        delete.execute(params![key, kind, id])?;
                    }
                }
                tx.commit()?;
                Ok(())
            })
            .await
    }
}
