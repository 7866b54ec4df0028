//! Daily statistics, early warnings and the audit log on DynamoDB.

use super::*;

#[async_trait]
impl StatsStore for DynamoStore {
    async fn put_daily(&self, stats: &[DailyStats]) -> PortResult<()> {
        for chunk in stats.chunks(25) {
            let mut requests = Vec::with_capacity(chunk.len());
            for st in chunk {
                let it = item(
                    st,
                    &[(PK, stats_pk(&st.unit)), (SK, format!("DAY#{}", st.date))],
                )?;
                let put = PutRequest::builder()
                    .set_item(Some(it))
                    .build()
                    .map_err(|e| err("build put", e))?;
                requests.push(WriteRequest::builder().put_request(put).build());
            }
            // BatchWriteItem may leave some items unprocessed under load: resend them.
            let mut pending = Some(HashMap::from([(self.table.clone(), requests)]));
            for attempt in 0..8u32 {
                let Some(req) = pending.take().filter(|m| m.values().any(|v| !v.is_empty())) else {
                    break;
                };
                let res = self
                    .client
                    .batch_write_item()
                    .set_request_items(Some(req))
                    .send()
                    .await
                    .map_err(|e| err("put daily stats", e))?;
                pending = res.unprocessed_items;
                if pending
                    .as_ref()
                    .is_some_and(|m| m.values().any(|v| !v.is_empty()))
                {
                    tokio::time::sleep(std::time::Duration::from_millis(50 << attempt)).await;
                }
            }
            if pending.is_some_and(|m| m.values().any(|v| !v.is_empty())) {
                return Err(failed("put daily stats", "items left unprocessed"));
            }
        }
        Ok(())
    }

    async fn daily(
        &self,
        unit: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> PortResult<Vec<DailyStats>> {
        let days = SortKey::Between(format!("DAY#{from}"), format!("DAY#{to}"));
        self.query_all_docs(None, stats_pk(unit), days, "daily stats")
            .await
    }

    async fn put_warnings(&self, report: &WarningReport) -> PortResult<bool> {
        let it = item(
            report,
            &[
                (PK, stats_pk(WARNINGS_UNIT)),
                (SK, format!("WEEK#{}", report.week_end)),
            ],
        )?;
        let write = put(&self.table, it, "attribute_not_exists(PK)", &[])?;
        Ok(match self.transact(vec![write], "put warnings").await? {
            TxOutcome::Done => true,
            TxOutcome::ConditionFailed => false,
        })
    }

    async fn latest_warnings(&self) -> PortResult<Option<WarningReport>> {
        let res = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :week)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#sk", SK)
            .expression_attribute_values(":pk", s(stats_pk(WARNINGS_UNIT)))
            .expression_attribute_values(":week", s("WEEK#"))
            .scan_index_forward(false)
            .limit(1)
            .send()
            .await
            .map_err(|e| err("latest warnings", e))?;
        res.items
            .unwrap_or_default()
            .into_iter()
            .next()
            .map(doc)
            .transpose()
    }
}

#[async_trait]
impl AuditLog for DynamoStore {
    async fn record(&self, entry: &AuditEntry) -> PortResult<()> {
        let it = with_ttl(
            item(
                entry,
                &[
                    (PK, audit_pk(vn_day(entry.at))),
                    (SK, format!("{}#{}", ts(entry.at), entry.id)),
                ],
            )?,
            entry.keep_until,
        );
        self.put_item(it, "record audit").await
    }

    async fn audit_on(&self, day: NaiveDate, page: PageRequest) -> PortResult<Page<AuditEntry>> {
        self.query_docs(None, audit_pk(day), SortKey::Any, &page, "audit of a day")
            .await
    }

    /// The table's TTL deletes entries; reads already skip expired ones.
    async fn drop_expired_audit(&self, _now: DateTime<Utc>) -> PortResult<u64> {
        Ok(0)
    }
}
