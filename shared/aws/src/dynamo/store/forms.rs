//! Forms and ratings on DynamoDB: issue once per declaration, submit in one transaction, query by day.

use super::*;

#[async_trait]
impl FormStore for DynamoStore {
    async fn insert_form(&self, form: &Form) -> PortResult<InsertFormOutcome> {
        let key = form.declaration_key();
        let number = key.as_str();
        let mut lock = HashMap::new();
        lock.insert(PK.to_owned(), s(decl_pk(number)));
        lock.insert(SK.to_owned(), s("DECL"));
        lock.insert("form_id".to_owned(), s(&form.id));
        lock.insert(TTL.to_owned(), n(form.personal_data_until.timestamp()));
        let mut tx = vec![
            put(&self.table, lock, "attribute_not_exists(PK)", &[])?,
            put(
                &self.table,
                self.form_item(form, 1)?,
                "attribute_not_exists(PK)",
                &[],
            )?,
        ];
        let held = HeldRecord::Form(form.id.clone());
        tx.extend(self.person_puts(&held, &form.person_keys(), form.personal_data_until)?);
        match self.transact(tx, "insert form").await? {
            TxOutcome::Done => Ok(InsertFormOutcome::Created),
            TxOutcome::ConditionFailed => {
                let existing = self
                    .form_of_declaration(number)
                    .await?
                    .ok_or_else(|| failed("insert form", "declaration points to no form"))?;
                Ok(InsertFormOutcome::Exists(Box::new(existing)))
            }
        }
    }

    async fn form_of_declaration(&self, key: &str) -> PortResult<Option<Form>> {
        let Some(lock) = self.get(&decl_pk(key), "DECL", "get declaration").await? else {
            return Ok(None);
        };
        match lock.get("form_id").and_then(|v| v.as_s().ok()) {
            Some(id) => self.form(id).await,
            None => Err(failed(
                "form of declaration",
                "declaration lock without a form",
            )),
        }
    }

    async fn add_handling(
        &self,
        form_id: &str,
        later: &LaterHandling,
        now: DateTime<Utc>,
    ) -> PortResult<AddHandlingOutcome> {
        let outcome = std::sync::Mutex::new(AddHandlingOutcome::NotFound);
        self.update_form(form_id, |f| {
            let (result, write) = AddHandlingOutcome::apply(f, later, now);
            *outcome.lock().expect("outcome lock") = result;
            write.then_some(())
        })
        .await?;
        Ok(outcome.into_inner().expect("outcome lock"))
    }

    async fn form(&self, form_id: &str) -> PortResult<Option<Form>> {
        Ok(self.form_with_rev(form_id).await?.map(|(f, _)| f))
    }

    async fn claim_invitation(
        &self,
        form_id: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> PortResult<bool> {
        Ok(self
            .update_form(form_id, |f| f.claim_invitation(now, until).then_some(()))
            .await?
            .is_some())
    }

    async fn pending_invitations(&self, limit: u32) -> PortResult<Vec<Form>> {
        let page = PageRequest::first(limit);
        let pk = AWAITING_INVITATION.to_owned();
        Ok(self
            .query_docs(Some(GSI3), pk, SortKey::Any, &page, "pending invitations")
            .await?
            .items)
    }

    async fn finish_invitation(
        &self,
        form_id: &str,
        result: InvitationResult,
    ) -> PortResult<Option<Event>> {
        for _ in 0..8 {
            let Some((mut form, rev)) = self.form_with_rev(form_id).await? else {
                return Ok(None);
            };
            let announced = form.finish_invitation(&result);
            let mut tx = vec![put(
                &self.table,
                self.form_item(&form, rev + 1)?,
                "#rev = :rev",
                &[(":rev", n(rev))],
            )?];
            tx.extend(self.outbox_puts(announced.as_slice())?);
            match self.transact(tx, "finish invitation").await? {
                TxOutcome::Done => return Ok(announced),
                TxOutcome::ConditionFailed => continue,
            }
        }
        Err(failed("finish invitation", "too many concurrent updates"))
    }

    async fn submit(&self, write: &SubmissionWrite) -> PortResult<SubmitOutcome> {
        for _ in 0..8 {
            let Some((mut form, rev)) = self.form_with_rev(&write.form_id).await? else {
                return Ok(SubmitOutcome::NotFound);
            };
            if let Err(refused) = form.accept_submission(&write.submission, write.submitted_at) {
                return Ok(refused.into());
            }
            let mut tx = vec![put(
                &self.table,
                self.form_item(&form, rev + 1)?,
                "#rev = :rev",
                &[(":rev", n(rev))],
            )?];
            let day = vn_day(write.submitted_at);
            for r in &write.ratings {
                let it = item(
                    r,
                    &[
                        (PK, form_pk(&r.form_id)),
                        (SK, format!("RATING#{}", r.subject.key)),
                        ("GSI1PK", rated_day(day)),
                        (
                            "GSI1SK",
                            format!("{}#{}#{}", ts(r.submitted_at), r.form_id, r.subject.key),
                        ),
                    ],
                )?;
                tx.push(put(
                    &self.table,
                    with_ttl(it, form.personal_data_until),
                    "attribute_not_exists(PK)",
                    &[],
                )?);
            }
            if let Some(c) = &write.complaint {
                let it = item(
                    c,
                    &[
                        (PK, form_pk(&c.id)),
                        (SK, "OUTBOX".into()),
                        ("GSI3PK", OUTBOX.into()),
                        ("GSI3SK", format!("{}#{}", ts(write.submitted_at), c.id)),
                    ],
                )?;
                tx.push(put(
                    &self.table,
                    with_ttl(it, form.personal_data_until),
                    "attribute_not_exists(PK)",
                    &[],
                )?);
            }
            tx.extend(self.outbox_puts(&write.events)?);
            // The contact given with the submission is a person's data too.
            let held = HeldRecord::Form(form.id.clone());
            tx.extend(self.person_puts(&held, &form.person_keys(), form.personal_data_until)?);
            match self.transact(tx, "submit form").await? {
                TxOutcome::Done => return Ok(SubmitOutcome::Stored),
                // The form changed under us: look again (it may now be submitted).
                TxOutcome::ConditionFailed => continue,
            }
        }
        Err(failed("submit form", "too many concurrent updates"))
    }

    async fn forms_issued_on(&self, day: NaiveDate, page: PageRequest) -> PortResult<Page<Form>> {
        self.query_docs(
            Some(GSI1),
            issued_day(day),
            SortKey::Any,
            &page,
            "forms issued on day",
        )
        .await
    }

    async fn ratings_on(
        &self,
        day: NaiveDate,
        page: PageRequest,
    ) -> PortResult<Page<RatingRecord>> {
        self.query_docs(
            Some(GSI1),
            rated_day(day),
            SortKey::Any,
            &page,
            "ratings on day",
        )
        .await
    }

    async fn erase_personal_data(&self, form_id: &str) -> PortResult<bool> {
        Ok(self
            .update_form(form_id, |f| f.erase_personal_data().then_some(()))
            .await?
            .is_some())
    }

    async fn forget_contact(&self, form_id: &str) -> PortResult<bool> {
        Ok(self
            .update_form(form_id, |f| f.forget_contact().then_some(()))
            .await?
            .is_some())
    }

    async fn mark_reminded(
        &self,
        form_id: &str,
        now: DateTime<Utc>,
        remind_after: chrono::Duration,
    ) -> PortResult<bool> {
        Ok(self
            .update_form(form_id, |f| {
                f.record_reminder(now, remind_after).then_some(())
            })
            .await?
            .is_some())
    }

    async fn mark_expired(&self, form_id: &str, now: DateTime<Utc>) -> PortResult<bool> {
        Ok(self
            .update_form(form_id, |f| f.expire(now).then_some(()))
            .await?
            .is_some())
    }

    async fn pending_complaints(&self, limit: u32) -> PortResult<Vec<Complaint>> {
        let page = PageRequest::first(limit);
        Ok(self
            .query_docs(
                Some(GSI3),
                OUTBOX.into(),
                SortKey::Any,
                &page,
                "pending complaints",
            )
            .await?
            .items)
    }

    /// The table's TTL deletes expired items (and reads skip them until it does).
    async fn drop_expired_personal_data(&self, _now: DateTime<Utc>) -> PortResult<u64> {
        Ok(0)
    }

    async fn complaint_dispatched(&self, complaint_id: &str) -> PortResult<()> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(PK, s(form_pk(complaint_id)))
            .key(SK, s("OUTBOX"))
            .send()
            .await
            .map_err(|e| err("complaint dispatched", e))?;
        Ok(())
    }
}
