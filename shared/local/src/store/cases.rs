//! Cases on SQLite: conditional on their version, listed by unit, day and deadline.

use super::*;

#[async_trait]
impl CaseStore for SqliteStore {
    async fn open_case(
        &self,
        case: &Case,
        event: &CaseEvent,
        announce: &[Event],
    ) -> PortResult<OpenCaseOutcome> {
        let (case, event, announce) = (case.clone(), event.clone(), announce.to_vec());
        self.db
            .call("open case", move |conn| {
                let tx = crate::db::write_tx(conn)?;
                if let Some(existing) = load_case(&tx, &case.id)? {
                    return Ok(OpenCaseOutcome::Exists(Box::new(existing)));
                }
                let (due, closed_day, closed_at, pii) = case_columns(&case);
                tx.execute(
                    "INSERT INTO cases (id, unit, status, due_at, opened_day, opened_at, closed_day, closed_at, version, doc, pii_until)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                    params![
                        case.id,
                        case.assignment.unit,
                        case.status.code(),
                        due,
                        vn_day(case.opened_at).to_string(),
                        ts(case.opened_at),
                        closed_day,
                        closed_at,
                        case.version,
                        to_doc(&case)?,
                        pii
                    ],
                )?;
                append_event(&tx, &event)?;
                put_events(&tx, &announce)?;
                let until = case.complaint.personal_data_until;
                index_person_rows(&tx, "case", &case.id, &case.person_keys(), until)?;
                tx.commit()?;
                Ok(OpenCaseOutcome::Opened)
            })
            .await
    }

    async fn case(&self, case_id: &str) -> PortResult<Option<Case>> {
        let id = case_id.to_owned();
        self.db
            .call("get case", move |conn| load_case(conn, &id))
            .await
    }

    async fn update_case(
        &self,
        case: &Case,
        expected_version: u32,
        event: &CaseEvent,
        announce: &[Event],
    ) -> PortResult<UpdateCaseOutcome> {
        let (case, event, announce) = (case.clone(), event.clone(), announce.to_vec());
        self.db
            .call("update case", move |conn| {
                let tx = crate::db::write_tx(conn)?;
                let outcome = update_case_tx(&tx, &case, expected_version, &event, &announce)?;
                tx.commit()?;
                Ok(outcome)
            })
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
        let (case, event, rating, announce) = (
            case.clone(),
            event.clone(),
            rating.clone(),
            announce.to_vec(),
        );
        self.db
            .call("record handling rating", move |conn| {
                let tx = crate::db::write_tx(conn)?;
                let outcome = update_case_tx(&tx, &case, expected_version, &event, &announce)?;
                if outcome == UpdateCaseOutcome::Updated {
                    tx.execute(
                        "INSERT INTO handling_ratings (case_id, day, at, doc) VALUES (?1, ?2, ?3, ?4)",
                        params![
                            rating.case_id,
                            vn_day(rating.at).to_string(),
                            ts(rating.at),
                            to_doc(&rating)?
                        ],
                    )?;
                    tx.commit()?;
                }
                Ok(outcome)
            })
            .await
    }

    async fn handling_ratings_on(
        &self,
        day: NaiveDate,
        page: PageRequest,
    ) -> PortResult<Page<HandlingRatingRecord>> {
        self.db
            .call("handling ratings on day", move |conn| {
                let day = day.to_string();
                keyset_page(
                    conn,
                    "handling_ratings",
                    "day = ?1",
                    &[&day],
                    &["at", "case_id"],
                    &page,
                )
            })
            .await
    }

    async fn case_events(&self, case_id: &str) -> PortResult<Vec<CaseEvent>> {
        let id = case_id.to_owned();
        self.db
            .call("case events", move |conn| {
                let mut stmt = conn.prepare_cached(
                    "SELECT doc FROM case_events WHERE case_id = ?1 ORDER BY seq",
                )?;
                let docs = stmt
                    .query_map([id], |r| r.get::<_, StoredDoc>(0))?
                    .collect::<Result<Vec<_>, _>>()?;
                docs.iter().map(from_doc).collect()
            })
            .await
    }

    async fn cases_of_unit(
        &self,
        unit: &str,
        status: Option<CaseStatus>,
        page: PageRequest,
    ) -> PortResult<Page<Case>> {
        let unit = unit.to_owned();
        self.db
            .call("cases of unit", move |conn| {
                let status = status.map(|s| s.code().to_owned());
                keyset_page(
                    conn,
                    "cases",
                    "unit = ?1 AND (?2 IS NULL OR status = ?2)",
                    &[&unit, &status],
                    &["status", "due_at", "id"],
                    &page,
                )
            })
            .await
    }

    async fn cases_opened_on(&self, day: NaiveDate, page: PageRequest) -> PortResult<Page<Case>> {
        self.db
            .call("cases opened on day", move |conn| {
                let day = day.to_string();
                keyset_page(
                    conn,
                    "cases",
                    "opened_day = ?1",
                    &[&day],
                    &["opened_at", "id"],
                    &page,
                )
            })
            .await
    }

    async fn cases_closed_on(&self, day: NaiveDate, page: PageRequest) -> PortResult<Page<Case>> {
        self.db
            .call("cases closed on day", move |conn| {
                let day = day.to_string();
                keyset_page(
                    conn,
                    "cases",
                    "closed_day = ?1",
                    &[&day],
                    &["closed_at", "id"],
                    &page,
                )
            })
            .await
    }

    async fn cases_with_personal_data_before(
        &self,
        t: DateTime<Utc>,
        page: PageRequest,
    ) -> PortResult<Page<Case>> {
        self.db
            .call("cases holding personal data", move |conn| {
                let t = ts(t);
                keyset_page(
                    conn,
                    "cases",
                    "pii_until IS NOT NULL AND pii_until <= ?1",
                    &[&t],
                    &["pii_until", "id"],
                    &page,
                )
            })
            .await
    }

    async fn open_cases_due_before(
        &self,
        t: DateTime<Utc>,
        page: PageRequest,
    ) -> PortResult<Page<Case>> {
        self.db
            .call("open cases due before", move |conn| {
                let t = ts(t);
                let filter = format!("status IN ({}) AND due_at < ?1", open_statuses_sql());
                keyset_page(conn, "cases", &filter, &[&t], &["due_at", "id"], &page)
            })
            .await
    }
}
