//! Cases on DynamoDB: conditional on their version, queried by unit, day and deadline.

use super::*;

#[async_trait]
impl CaseStore for DynamoStore {
    async fn open_case(
        &self,
        case: &Case,
        event: &CaseEvent,
        announce: &[Event],
    ) -> PortResult<OpenCaseOutcome> {
        let mut tx =
            self.case_with_event(case, event, announce, "attribute_not_exists(PK)", &[])?;
        let held = HeldRecord::Case(case.id.clone());
        let until = case.complaint.personal_data_until;
        tx.extend(self.person_puts(&held, &case.person_keys(), until)?);
        match self.transact(tx, "open case").await? {
            TxOutcome::Done => Ok(OpenCaseOutcome::Opened),
            TxOutcome::ConditionFailed => {
                let existing = self
                    .case(&case.id)
                    .await?
                    .ok_or_else(|| failed("open case", "case lost between writes"))?;
                Ok(OpenCaseOutcome::Exists(Box::new(existing)))
            }
        }
    }

    async fn case(&self, case_id: &str) -> PortResult<Option<Case>> {
        self.get(&case_pk(case_id), "CASE", "get case")
            .await?
            .map(doc)
            .transpose()
    }

    async fn update_case(
        &self,
        case: &Case,
        expected_version: u32,
        event: &CaseEvent,
        announce: &[Event],
    ) -> PortResult<UpdateCaseOutcome> {
        let version = [(":v", n(expected_version))];
        let tx = self.case_with_event(case, event, announce, "#version = :v", &version)?;
        match self.transact(tx, "update case").await? {
            TxOutcome::Done => Ok(UpdateCaseOutcome::Updated),
            TxOutcome::ConditionFailed => Ok(UpdateCaseOutcome::Conflict),
        }
    }

    async fn case_events(&self, case_id: &str) -> PortResult<Vec<CaseEvent>> {
        let events = SortKey::BeginsWith("EVENT#".into());
        self.query_all_docs(None, case_pk(case_id), events, "case events")
            .await
    }

    async fn cases_of_unit(
        &self,
        unit: &str,
        status: Option<CaseStatus>,
        page: PageRequest,
    ) -> PortResult<Page<Case>> {
        let sort = match status {
            Some(st) => SortKey::BeginsWith(format!("{}#", st.code())),
            None => SortKey::Any,
        };
        self.query_docs(Some(GSI2), unit_pk(unit), sort, &page, "cases of unit")
            .await
    }

    async fn cases_opened_on(&self, day: NaiveDate, page: PageRequest) -> PortResult<Page<Case>> {
        self.query_docs(
            Some(GSI1),
            opened_day(day),
            SortKey::Any,
            &page,
            "cases opened on day",
        )
        .await
    }

    async fn cases_closed_on(&self, day: NaiveDate, page: PageRequest) -> PortResult<Page<Case>> {
        self.query_docs(
            Some(GSI4),
            closed_day(day),
            SortKey::Any,
            &page,
            "cases closed on day",
        )
        .await
    }

    async fn cases_with_personal_data_before(
        &self,
        t: DateTime<Utc>,
        page: PageRequest,
    ) -> PortResult<Page<Case>> {
        self.query_docs(
            Some(GSI3),
            CASES_HOLDING_PERSONAL_DATA.into(),
            SortKey::Through(ts(t)),
            &page,
            "cases holding personal data",
        )
        .await
    }

    async fn record_handling_rating(
        &self,
        case: &Case,
        expected_version: u32,
        event: &CaseEvent,
        rating: &HandlingRatingRecord,
        announce: &[Event],
    ) -> PortResult<UpdateCaseOutcome> {
        let version = [(":v", n(expected_version))];
        let mut tx = self.case_with_event(case, event, announce, "#version = :v", &version)?;
        let record = item(
            rating,
            &[
                (PK, case_pk(&rating.case_id)),
                (SK, "HANDLING".to_owned()),
                ("GSI1PK", handling_rated_day(vn_day(rating.at))),
                ("GSI1SK", format!("{}#{}", ts(rating.at), rating.case_id)),
            ],
        )?;
        tx.push(put(&self.table, record, "attribute_not_exists(PK)", &[])?);
        match self.transact(tx, "record handling rating").await? {
            TxOutcome::Done => Ok(UpdateCaseOutcome::Updated),
            TxOutcome::ConditionFailed => Ok(UpdateCaseOutcome::Conflict),
        }
    }

    async fn handling_ratings_on(
        &self,
        day: NaiveDate,
        page: PageRequest,
    ) -> PortResult<Page<HandlingRatingRecord>> {
        self.query_docs(
            Some(GSI1),
            handling_rated_day(day),
            SortKey::Any,
            &page,
            "handling ratings on day",
        )
        .await
    }

    async fn open_cases_due_before(
        &self,
        t: DateTime<Utc>,
        page: PageRequest,
    ) -> PortResult<Page<Case>> {
        self.query_docs(
            Some(GSI3),
            OPEN_CASES.into(),
            SortKey::Before(ts(t)),
            &page,
            "open cases due",
        )
        .await
    }
}
