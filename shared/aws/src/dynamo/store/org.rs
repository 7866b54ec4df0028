//! The org directory (packed), its versions, the case rules and the suppression list on DynamoDB.

use super::*;

#[async_trait]
impl SuppressionList for DynamoStore {
    async fn suppress(&self, entry: &Suppression) -> PortResult<bool> {
        let it = item(
            entry,
            &[
                (PK, suppression_pk(&entry.key)),
                (SK, "SUPPRESS".to_owned()),
            ],
        )?;
        let write = put(&self.table, it, "attribute_not_exists(PK)", &[])?;
        Ok(match self.transact(vec![write], "suppress").await? {
            TxOutcome::Done => true,
            TxOutcome::ConditionFailed => false,
        })
    }

    async fn suppressed(&self, key: &str) -> PortResult<Option<Suppression>> {
        self.get(&suppression_pk(key), "SUPPRESS", "suppressed")
            .await?
            .map(doc)
            .transpose()
    }

    async fn lift(&self, key: &str) -> PortResult<bool> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(PK, s(suppression_pk(key)))
            .key(SK, s("SUPPRESS"))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| err("lift suppression", e))?;
        Ok(out.attributes.is_some_and(|a| !a.is_empty()))
    }
}

#[async_trait]
impl OrgStore for DynamoStore {
    async fn save_org_version(
        &self,
        summary: &OrgVersion,
        org: &OrgDirectory,
    ) -> PortResult<SaveOrgOutcome> {
        let packed = pack_org(org)?;
        let version = summary.version;
        let current = Item::from([
            (PK.to_owned(), s(ORG_PK)),
            (SK.to_owned(), s(ORG_SK)),
            (ORG_VERSION.to_owned(), n(version)),
            (ORG_DOC.to_owned(), packed.clone()),
        ]);
        // Version 1 replaces nothing, or a document the first version wrote
        // (which has no version attribute).
        let current_put = if version <= 1 {
            put(&self.table, current, "attribute_not_exists(#version)", &[])?
        } else {
            put(
                &self.table,
                current,
                "#version = :previous",
                &[(":previous", n(versions::replaced_by(version)))],
            )?
        };
        let summary_item = item(
            summary,
            &[(PK, ORG_PK.into()), (SK, org_version_sk(version))],
        )?;
        let doc_item = Item::from([
            (PK.to_owned(), s(ORG_PK)),
            (SK.to_owned(), s(org_doc_sk(version))),
            (ORG_DOC.to_owned(), packed),
        ]);
        let absent = "attribute_not_exists(PK)";
        let items = vec![
            current_put,
            put(&self.table, summary_item, absent, &[])?,
            put(&self.table, doc_item, absent, &[])?,
        ];
        Ok(match self.transact(items, "save org version").await? {
            TxOutcome::Done => SaveOrgOutcome::Saved,
            TxOutcome::ConditionFailed => SaveOrgOutcome::Conflict,
        })
    }

    async fn current_org(&self) -> PortResult<Option<CurrentOrg>> {
        let Some(item) = self.get(ORG_PK, ORG_SK, "current org").await? else {
            return Ok(None);
        };
        match item.get(ORG_DOC) {
            Some(packed) => {
                let version = item
                    .get(ORG_VERSION)
                    .and_then(|v| v.as_n().ok())
                    .and_then(|v| v.parse().ok())
                    .ok_or_else(|| failed("current org", "no version"))?;
                Ok(Some(CurrentOrg {
                    version,
                    stored: StoredOrg::Tree(unpack(packed)?),
                }))
            }
            // Written by the first version: the document's fields are the item's.
            None => Ok(Some(CurrentOrg {
                version: 0,
                stored: StoredOrg::Legacy(doc(item)?),
            })),
        }
    }

    async fn org_version(&self, version: u32) -> PortResult<Option<OrgDirectory>> {
        match self
            .get(ORG_PK, &org_doc_sk(version), "org version")
            .await?
        {
            Some(item) => Ok(Some(unpack(
                item.get(ORG_DOC)
                    .ok_or_else(|| failed("org version", "no doc"))?,
            )?)),
            None => Ok(None),
        }
    }

    async fn org_versions(&self, page: PageRequest) -> PortResult<Page<OrgVersion>> {
        // Newest first; a cursor is the last version handed out, so the next
        // page ends at the version before it (sort keys are zero-padded).
        let newest = match page.after.as_deref() {
            None => "VERSION#~".to_owned(),
            Some(c) => match c.parse::<u32>() {
                Ok(0) => {
                    return Ok(Page {
                        items: vec![],
                        next: None,
                    });
                }
                Ok(v) => org_version_sk(v - 1),
                Err(_) => return Err(csq_core::ports::PortError::bad_cursor("org versions")),
            },
        };
        let limit = page.limit.clamp(1, 100) as usize;
        let res = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk AND #sk BETWEEN :oldest AND :newest")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#sk", SK)
            .expression_attribute_values(":pk", s(ORG_PK))
            .expression_attribute_values(":oldest", s("VERSION#"))
            .expression_attribute_values(":newest", s(newest))
            .scan_index_forward(false)
            // One more than asked tells whether a next page exists.
            .limit(limit as i32 + 1)
            .send()
            .await
            .map_err(|e| err("org versions", e))?;
        let mut items: Vec<OrgVersion> = res
            .items
            .unwrap_or_default()
            .into_iter()
            .map(doc)
            .collect::<PortResult<_>>()?;
        let next = (items.len() > limit).then(|| items[limit - 1].version.to_string());
        items.truncate(limit);
        Ok(Page { items, next })
    }

    async fn case_rules(&self) -> PortResult<Option<StoredCaseRules>> {
        self.get(ORG_PK, CASE_RULES_SK, "case rules")
            .await?
            .map(doc)
            .transpose()
    }

    async fn save_case_rules(&self, rules: &StoredCaseRules) -> PortResult<SaveOrgOutcome> {
        let it = item(rules, &[(PK, ORG_PK.into()), (SK, CASE_RULES_SK.into())])?;
        let write = put_version(&self.table, it, rules.version)?;
        Ok(match self.transact(vec![write], "save case rules").await? {
            TxOutcome::Done => SaveOrgOutcome::Saved,
            TxOutcome::ConditionFailed => SaveOrgOutcome::Conflict,
        })
    }
}

#[async_trait]
impl csq_core::ports::FirstVersionOrgWriter for DynamoStore {
    /// Writes a directory as the first version of CSQ did (its fields as the
    /// item's attributes): for migration tests.
    async fn write_first_version_org(&self, legacy: &LegacyOrg) -> PortResult<()> {
        let it = item(legacy, &[(PK, ORG_PK.into()), (SK, ORG_SK.into())])?;
        self.put_item(it, "legacy org").await
    }
}
