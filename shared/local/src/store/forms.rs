//! Forms and ratings on SQLite: issue once per declaration, submit once, page by day.

use super::*;

#[async_trait]
impl FormStore for SqliteStore {
    async fn insert_form(&self, form: &Form) -> PortResult<InsertFormOutcome> {
        let form = form.clone();
        self.db
            .call("insert form", move |conn| {
                let tx = crate::db::write_tx(conn)?;
                let existing: Option<StoredDoc> = tx
                    .query_row("SELECT doc FROM forms WHERE declaration = ?1", [form.declaration_key()], |r| r.get(0))
                    .optional()?;
                if let Some(doc) = existing {
                    return Ok(InsertFormOutcome::Exists(Box::new(from_doc(&doc)?)));
                }
                tx.execute(
                    "INSERT INTO forms (id, declaration, issued_day, issued_at, status, doc, awaits_invitation, pii_until) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    params![
                        form.id,
                        form.declaration_key(),
                        vn_day(form.issued_at).to_string(),
                        ts(form.issued_at),
                        form.status.code(),
                        to_doc(&form)?,
                        form.awaits_invitation(),
                        ts(form.personal_data_until)
                    ],
                )?;
                index_person_rows(&tx, "form", &form.id, &form.person_keys(), form.personal_data_until)?;
                tx.commit()?;
                Ok(InsertFormOutcome::Created)
            })
            .await
    }

    async fn form(&self, form_id: &str) -> PortResult<Option<Form>> {
        let id = form_id.to_owned();
        self.db
            .call("get form", move |conn| load_form(conn, &id))
            .await
    }

    async fn form_of_declaration(&self, key: &str) -> PortResult<Option<Form>> {
        let key = key.to_owned();
        self.db
            .call("form of declaration", move |conn| {
                conn.query_row("SELECT doc FROM forms WHERE declaration = ?1", [key], |r| {
                    r.get::<_, StoredDoc>(0)
                })
                .optional()?
                .map(|d| from_doc(&d))
                .transpose()
            })
            .await
    }

    async fn add_handling(
        &self,
        form_id: &str,
        later: &LaterHandling,
        now: DateTime<Utc>,
    ) -> PortResult<AddHandlingOutcome> {
        let (id, later) = (form_id.to_owned(), later.clone());
        self.db
            .call("add handling", move |conn| {
                let mut outcome = AddHandlingOutcome::NotFound;
                update_form(conn, &id, |f| {
                    let (result, write) = AddHandlingOutcome::apply(f, &later, now);
                    outcome = result;
                    write.then_some(())
                })?;
                Ok(outcome)
            })
            .await
    }

    async fn claim_invitation(
        &self,
        form_id: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> PortResult<bool> {
        let id = form_id.to_owned();
        self.db
            .call("claim invitation", move |conn| {
                Ok(
                    update_form(conn, &id, |f| f.claim_invitation(now, until).then_some(()))?
                        .is_some(),
                )
            })
            .await
    }

    async fn pending_invitations(&self, limit: u32) -> PortResult<Vec<Form>> {
        self.db
            .call("pending invitations", move |conn| {
                // `awaits_invitation` is `Form::awaits_invitation`, written with
                // every form; the partial index holds just those rows.
                let mut stmt = conn.prepare_cached(
                    "SELECT doc FROM forms WHERE awaits_invitation = 1
                     ORDER BY issued_at, id LIMIT ?1",
                )?;
                let docs = stmt
                    .query_map([limit.max(1)], |r| r.get::<_, StoredDoc>(0))?
                    .collect::<Result<Vec<_>, _>>()?;
                docs.iter().map(from_doc).collect()
            })
            .await
    }

    async fn finish_invitation(
        &self,
        form_id: &str,
        result: InvitationResult,
    ) -> PortResult<Option<Event>> {
        let id = form_id.to_owned();
        self.db
            .call("finish invitation", move |conn| {
                let tx = crate::db::write_tx(conn)?;
                let Some(mut form) = load_form(&tx, &id)? else {
                    return Ok(None);
                };
                let announced = form.finish_invitation(&result);
                save_form(&tx, &form)?;
                put_events(&tx, announced.as_slice())?;
                tx.commit()?;
                Ok(announced)
            })
            .await
    }

    async fn submit(&self, write: &SubmissionWrite) -> PortResult<SubmitOutcome> {
        let write = write.clone();
        self.db
            .call("submit form", move |conn| {
                let tx = crate::db::write_tx(conn)?;
                let Some(mut form) = load_form(&tx, &write.form_id)? else {
                    return Ok(SubmitOutcome::NotFound);
                };
                if let Err(refused) = form.accept_submission(&write.submission, write.submitted_at) {
                    return Ok(refused.into());
                }
                save_form(&tx, &form)?;
                // The contact given with the submission is a person's data too.
                index_person_rows(&tx, "form", &form.id, &form.person_keys(), form.personal_data_until)?;
                let day = vn_day(write.submitted_at).to_string();
                for r in &write.ratings {
                    tx.execute(
                        "INSERT INTO ratings (form_id, subject_key, day, submitted_at, doc) VALUES (?1, ?2, ?3, ?4, ?5)",
                        params![r.form_id, r.subject.key, day, ts(r.submitted_at), to_doc(r)?],
                    )?;
                }
                if let Some(c) = &write.complaint {
                    tx.execute(
                        "INSERT INTO complaint_outbox (id, created_at, doc) VALUES (?1, ?2, ?3)",
                        params![c.id, ts(write.submitted_at), to_doc(c)?],
                    )?;
                }
                put_events(&tx, &write.events)?;
                tx.commit()?;
                Ok(SubmitOutcome::Stored)
            })
            .await
    }

    async fn forms_issued_on(&self, day: NaiveDate, page: PageRequest) -> PortResult<Page<Form>> {
        self.db
            .call("forms issued on day", move |conn| {
                let day = day.to_string();
                keyset_page(
                    conn,
                    "forms",
                    "issued_day = ?1",
                    &[&day],
                    &["issued_at", "id"],
                    &page,
                )
            })
            .await
    }

    async fn ratings_on(
        &self,
        day: NaiveDate,
        page: PageRequest,
    ) -> PortResult<Page<RatingRecord>> {
        self.db
            .call("ratings on day", move |conn| {
                let day = day.to_string();
                let key = ["submitted_at", "form_id", "subject_key"];
                keyset_page(conn, "ratings", "day = ?1", &[&day], &key, &page)
            })
            .await
    }

    async fn erase_personal_data(&self, form_id: &str) -> PortResult<bool> {
        let id = form_id.to_owned();
        self.db
            .call("erase form personal data", move |conn| {
                Ok(update_form(conn, &id, |f| f.erase_personal_data().then_some(()))?.is_some())
            })
            .await
    }

    async fn forget_contact(&self, form_id: &str) -> PortResult<bool> {
        let id = form_id.to_owned();
        self.db
            .call("forget contact", move |conn| {
                Ok(update_form(conn, &id, |f| f.forget_contact().then_some(()))?.is_some())
            })
            .await
    }

    async fn mark_reminded(
        &self,
        form_id: &str,
        now: DateTime<Utc>,
        remind_after: chrono::Duration,
    ) -> PortResult<bool> {
        let id = form_id.to_owned();
        self.db
            .call("mark reminded", move |conn| {
                Ok(update_form(conn, &id, |f| {
                    f.record_reminder(now, remind_after).then_some(())
                })?
                .is_some())
            })
            .await
    }

    async fn mark_expired(&self, form_id: &str, now: DateTime<Utc>) -> PortResult<bool> {
        let id = form_id.to_owned();
        self.db
            .call("mark expired", move |conn| {
                Ok(update_form(conn, &id, |f| f.expire(now).then_some(()))?.is_some())
            })
            .await
    }

    async fn pending_complaints(&self, limit: u32) -> PortResult<Vec<Complaint>> {
        self.db
            .call("pending complaints", move |conn| {
                let mut stmt = conn.prepare_cached(
                    "SELECT doc FROM complaint_outbox ORDER BY created_at, id LIMIT ?1",
                )?;
                let docs = stmt
                    .query_map([limit.max(1)], |r| r.get::<_, StoredDoc>(0))?
                    .collect::<Result<Vec<_>, _>>()?;
                docs.iter().map(from_doc).collect()
            })
            .await
    }

    async fn drop_expired_personal_data(&self, now: DateTime<Utc>) -> PortResult<u64> {
        let now = ts(now);
        self.db
            .call("drop expired forms", move |conn| {
                let tx = crate::db::write_tx(conn)?;
                tx.execute(
                    &format!("DELETE FROM ratings WHERE form_id IN ({EXPIRED})"),
                    [&now],
                )?;
                tx.execute(
                    &format!("DELETE FROM complaint_outbox WHERE id IN ({EXPIRED})"),
                    [&now],
                )?;
                // Index rows carry their record's limit: cases anonymised at
                // the same limit go with their forms.
                tx.execute("DELETE FROM person_index WHERE until <= ?1", [&now])?;
                let n = tx.execute(
                    &format!("DELETE FROM forms WHERE id IN ({EXPIRED})"),
                    [&now],
                )?;
                tx.commit()?;
                Ok(n as u64)
            })
            .await
    }

    async fn complaint_dispatched(&self, complaint_id: &str) -> PortResult<()> {
        let id = complaint_id.to_owned();
        self.db
            .call("complaint dispatched", move |conn| {
                conn.execute("DELETE FROM complaint_outbox WHERE id = ?1", [id])?;
                Ok(())
            })
            .await
    }
}
