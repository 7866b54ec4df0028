//! Service times on DynamoDB: the declaration's record (`DECL#n`, `TIMES`),
//! written conditionally on its version, and a snapshot per day it changed
//! (`DECL#n`, `TIMES#day`) in the GSI1 day partition `TIMED#day`, which the
//! nightly reads: the same transaction writes both.

use csq_core::domain::times::DeclarationTimes;
use csq_core::domain::watch::{MAX_WATCH_CASES, WatchCase};
use csq_core::ports::{TimesStore, WatchStore};

use super::*;

const TIMES_SK: &str = "TIMES";

fn timed_day(day: NaiveDate) -> String {
    format!("TIMED#{day}")
}

fn business_times_pk(office: &str, tax_code: &str) -> String {
    format!("TIMESBIZ#{office}#{tax_code}")
}

const WATCH_PK: &str = "WATCH";

fn watch_sk(id: &str) -> String {
    format!("CASE#{id}")
}

#[async_trait]
impl TimesStore for DynamoStore {
    async fn declaration_times(&self, number: &str) -> PortResult<Option<DeclarationTimes>> {
        self.get(&decl_pk(number), TIMES_SK, "declaration times")
            .await?
            .map(doc)
            .transpose()
    }

    async fn save_times(&self, times: &DeclarationTimes) -> PortResult<bool> {
        let pk = decl_pk(&times.number);
        // GSI2: the watch reads a business's declarations at an office.
        let record = item(
            times,
            &[
                (PK, pk.clone()),
                (SK, TIMES_SK.to_owned()),
                ("GSI2PK", business_times_pk(&times.office, &times.tax_code)),
                (
                    "GSI2SK",
                    format!("{}#{}", ts(times.registered_at), times.number),
                ),
            ],
        )?;
        let write = put_version(&self.table, record, times.version)?;
        let snapshot = item(
            times,
            &[
                (PK, pk),
                (SK, format!("{TIMES_SK}#{}", times.recorded_on)),
                ("GSI1PK", timed_day(times.recorded_on)),
                ("GSI1SK", times.number.clone()),
            ],
        )?;
        Ok(matches!(
            self.transact(vec![write, put_as_is(&self.table, snapshot)?], "save times")
                .await?,
            TxOutcome::Done
        ))
    }

    async fn business_times(
        &self,
        office: &str,
        tax_code: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: u32,
    ) -> PortResult<Vec<DeclarationTimes>> {
        let page = PageRequest::first(limit.clamp(1, 1000));
        Ok(self
            .query_docs(
                Some(GSI2),
                business_times_pk(office, tax_code),
                SortKey::Between(ts(from), ts(to)),
                &page,
                "business times",
            )
            .await?
            .items
            .into_iter()
            .filter(|t: &DeclarationTimes| t.registered_at < to)
            .collect())
    }

    async fn times_recorded_on(
        &self,
        day: NaiveDate,
        page: PageRequest,
    ) -> PortResult<Page<DeclarationTimes>> {
        self.query_docs(
            Some(GSI1),
            timed_day(day),
            SortKey::Any,
            &page,
            "times recorded on",
        )
        .await
    }
}

#[async_trait]
impl WatchStore for DynamoStore {
    async fn save_watch_case(&self, case: &WatchCase) -> PortResult<bool> {
        let it = item(case, &[(PK, WATCH_PK.to_owned()), (SK, watch_sk(&case.id))])?;
        let write = put_version(&self.table, it, case.version)?;
        Ok(matches!(
            self.transact(vec![write], "save watch case").await?,
            TxOutcome::Done
        ))
    }

    async fn watch_case(&self, id: &str) -> PortResult<Option<WatchCase>> {
        self.get(WATCH_PK, &watch_sk(id), "watch case")
            .await?
            .map(doc)
            .transpose()
    }

    async fn watch_cases(&self) -> PortResult<Vec<WatchCase>> {
        let page = PageRequest::first(MAX_WATCH_CASES);
        let mut cases: Vec<WatchCase> = self
            .query_docs(
                None,
                WATCH_PK.to_owned(),
                SortKey::BeginsWith("CASE#".to_owned()),
                &page,
                "watch cases",
            )
            .await?
            .items;
        cases.sort_by(|a, b| b.raised_on.cmp(&a.raised_on).then(a.id.cmp(&b.id)));
        Ok(cases)
    }
}
