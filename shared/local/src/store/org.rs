//! The org directory, its versions, the case rules and the suppression list on SQLite.

use super::*;

#[async_trait]
impl OrgStore for SqliteStore {
    async fn save_org_version(
        &self,
        summary: &OrgVersion,
        org: &OrgDirectory,
    ) -> PortResult<SaveOrgOutcome> {
        let summary_doc =
            serde_json::to_string(summary).map_err(|e| PortError::new("save org version", e))?;
        let doc = serde_json::to_string(org).map_err(|e| PortError::new("save org version", e))?;
        let version = summary.version;
        self.db
            .call("save org version", move |conn| {
                let tx = crate::db::write_tx(conn)?;
                let current: u32 = tx
                    .query_row("SELECT version FROM org_directory WHERE id = 1", [], |r| {
                        r.get(0)
                    })
                    .optional()?
                    .unwrap_or(0);
                let taken = tx
                    .prepare_cached("SELECT 1 FROM org_versions WHERE version = ?1")?
                    .exists([version])?;
                if taken || !versions::follows(version, current) {
                    return Ok(SaveOrgOutcome::Conflict);
                }
                tx.execute(
                    "INSERT INTO org_versions (version, summary, doc) VALUES (?1, ?2, ?3)",
                    params![version, summary_doc, doc],
                )?;
                tx.execute(
                    "INSERT OR REPLACE INTO org_directory (id, doc, version) VALUES (1, ?1, ?2)",
                    params![doc, version],
                )?;
                tx.commit()?;
                Ok(SaveOrgOutcome::Saved)
            })
            .await
    }

    async fn current_org(&self) -> PortResult<Option<CurrentOrg>> {
        self.db
            .call("current org", |conn| {
                let row = conn
                    .query_row(
                        "SELECT doc, version FROM org_directory WHERE id = 1",
                        [],
                        |r| Ok((r.get::<_, StoredDoc>(0)?, r.get::<_, u32>(1)?)),
                    )
                    .optional()?;
                row.map(|(doc, version)| {
                    Ok(CurrentOrg {
                        version,
                        stored: from_doc(&doc)?,
                    })
                })
                .transpose()
            })
            .await
    }

    async fn org_version(&self, version: u32) -> PortResult<Option<OrgDirectory>> {
        self.db
            .call("org version", move |conn| {
                conn.query_row(
                    "SELECT doc FROM org_versions WHERE version = ?1",
                    [version],
                    |r| r.get::<_, StoredDoc>(0),
                )
                .optional()?
                .map(|d| from_doc(&d))
                .transpose()
            })
            .await
    }

    async fn org_versions(&self, page: PageRequest) -> PortResult<Page<OrgVersion>> {
        self.db
            .call("org versions", move |conn| {
                let before: u32 = match &page.after {
                    None => u32::MAX,
                    Some(c) => c.parse().map_err(|_| StoreError::BadCursor)?,
                };
                let rows = conn
                    .prepare_cached(
                        "SELECT version, summary FROM org_versions WHERE version < ?1
                         ORDER BY version DESC LIMIT ?2",
                    )?
                    .query_map(params![before, page.limit.max(1) + 1], |r| {
                        Ok((r.get::<_, u32>(0)?.to_string(), r.get::<_, StoredDoc>(1)?))
                    })?
                    .collect::<Result<Vec<_>, _>>()?;
                page_of(rows, page.limit)
            })
            .await
    }

    async fn case_rules(&self) -> PortResult<Option<StoredCaseRules>> {
        self.db
            .call("case rules", |conn| {
                conn.query_row("SELECT doc FROM case_rules WHERE id = 1", [], |r| {
                    r.get::<_, StoredDoc>(0)
                })
                .optional()?
                .map(|d| from_doc(&d))
                .transpose()
            })
            .await
    }

    async fn save_case_rules(&self, rules: &StoredCaseRules) -> PortResult<SaveOrgOutcome> {
        let doc = serde_json::to_string(rules).map_err(|e| PortError::new("save case rules", e))?;
        let version = rules.version;
        self.db
            .call("save case rules", move |conn| {
                let tx = crate::db::write_tx(conn)?;
                let current: u32 = tx
                    .query_row("SELECT version FROM case_rules WHERE id = 1", [], |r| {
                        r.get(0)
                    })
                    .optional()?
                    .unwrap_or(0);
                if !versions::follows(version, current) {
                    return Ok(SaveOrgOutcome::Conflict);
                }
                tx.execute(
                    "INSERT OR REPLACE INTO case_rules (id, version, doc) VALUES (1, ?1, ?2)",
                    params![version, doc],
                )?;
                tx.commit()?;
                Ok(SaveOrgOutcome::Saved)
            })
            .await
    }
}

#[async_trait]
impl SuppressionList for SqliteStore {
    async fn suppress(&self, entry: &Suppression) -> PortResult<bool> {
        let (key, doc) = (
            entry.key.clone(),
            to_doc(entry).map_err(|e| PortError::new("suppress", e))?,
        );
        self.db
            .call("suppress", move |conn| {
                Ok(conn.execute(
                    "INSERT OR IGNORE INTO suppressions (key, doc) VALUES (?1, ?2)",
                    params![key, doc],
                )? == 1)
            })
            .await
    }

    async fn suppressed(&self, key: &str) -> PortResult<Option<Suppression>> {
        let key = key.to_owned();
        self.db
            .call("suppressed", move |conn| {
                conn.query_row("SELECT doc FROM suppressions WHERE key = ?1", [key], |r| {
                    r.get::<_, StoredDoc>(0)
                })
                .optional()?
                .map(|d| from_doc(&d))
                .transpose()
            })
            .await
    }

    async fn lift(&self, key: &str) -> PortResult<bool> {
        let key = key.to_owned();
        self.db
            .call("lift suppression", move |conn| {
                Ok(conn.execute("DELETE FROM suppressions WHERE key = ?1", [key])? == 1)
            })
            .await
    }
}

#[async_trait]
impl csq_core::ports::FirstVersionOrgWriter for SqliteStore {
    /// Writes a directory as the first version of CSQ did (no version column
    /// value, the department › branch › team shape): for migration tests.
    async fn write_first_version_org(&self, legacy: &LegacyOrg) -> PortResult<()> {
        let doc = serde_json::to_string(legacy).map_err(|e| PortError::new("legacy org", e))?;
        self.db
            .call("legacy org", move |conn| {
                conn.execute(
                    "INSERT OR REPLACE INTO org_directory (id, doc, version) VALUES (1, ?1, 0)",
                    [doc],
                )?;
                Ok(())
            })
            .await
    }
}
