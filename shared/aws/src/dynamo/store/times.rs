//! Service times on DynamoDB: the declaration's record (`DECL#n`, `TIMES`),
//! written conditionally on its version, and a snapshot per day it changed
//! (`DECL#n`, `TIMES#day`) in the GSI1 day partition `TIMED#day`, which the
//! nightly reads: the same transaction writes both.

use csq_core::domain::times::DeclarationTimes;
use csq_core::ports::TimesStore;

use super::*;

const TIMES_SK: &str = "TIMES";

fn timed_day(day: NaiveDate) -> String {
    format!("TIMED#{day}")
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
        let record = item(times, &[(PK, pk.clone()), (SK, TIMES_SK.to_owned())])?;
        let write = if times.version <= 1 {
            put(&self.table, record, "attribute_not_exists(PK)", &[])?
        } else {
            put(
                &self.table,
                record,
                "#version = :previous",
                &[(":previous", n(times.version - 1))],
            )?
        };
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
