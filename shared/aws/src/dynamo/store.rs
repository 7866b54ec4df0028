//! The port implementations on DynamoDB.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, PutRequest, TransactWriteItem, WriteRequest};
use chrono::{DateTime, NaiveDate, Utc};
use csq_core::app::nightly::all_pages;
use csq_core::domain::audit::AuditEntry;
use csq_core::domain::case::rules::StoredCaseRules;
use csq_core::domain::case::{Case, CaseEvent, CaseStatus, HandlingRatingRecord};
use csq_core::domain::complaint::Complaint;
use csq_core::domain::form::{Form, InvitationResult, LaterHandling, RatingRecord};
use csq_core::domain::org::{LegacyOrg, OrgDirectory, OrgVersion, StoredOrg};
use csq_core::domain::report::WarningReport;
use csq_core::domain::stats::DailyStats;
use csq_core::domain::suppression::Suppression;
use csq_core::domain::time::vn_day;
use csq_core::domain::versions;
use csq_core::ports::{
    AddHandlingOutcome, AuditLog, CaseStore, CurrentOrg, FormStore, InsertFormOutcome,
    OpenCaseOutcome, OrgStore, Page, PageRequest, PortResult, SaveOrgOutcome, StatsStore,
    SubmissionWrite, SubmitOutcome, SuppressionList, UpdateCaseOutcome,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::keys::*;
use super::{DynamoStore, Item, decode_cursor, encode_cursor, err};

/// A state the table should never be in, or a retry budget spent.
fn failed(context: &str, what: &'static str) -> csq_core::ports::PortError {
    err(context, std::io::Error::other(what))
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// A document with its key attributes.
fn item<T: Serialize>(doc: &T, keys: &[(&str, String)]) -> PortResult<Item> {
    let mut item: Item = serde_dynamo::to_item(doc).map_err(|e| err("serialize", e))?;
    for (k, v) in keys {
        item.insert((*k).to_owned(), s(v.clone()));
    }
    Ok(item)
}

fn doc<T: DeserializeOwned>(item: Item) -> PortResult<T> {
    serde_dynamo::from_item(item).map_err(|e| err("deserialize", e))
}

/// DynamoDB deletes expired items lazily (and emulators never do): an item past
/// its TTL is treated as gone.
fn live(item: &Item, now: DateTime<Utc>) -> bool {
    match item
        .get(TTL)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse::<i64>().ok())
    {
        // The item's personal-data limit, by the one boundary rule.
        Some(ttl) => DateTime::from_timestamp(ttl, 0)
            .is_none_or(|limit| !csq_core::domain::time::has_passed(limit, now)),
        None => true,
    }
}

/// Far enough (year 2514) for "keep"; DynamoDB ignores TTLs more than five years past anyway.
const MAX_TTL: i64 = 17_179_869_180;

/// Marks an item for deletion by the table's TTL when its personal data expires.
fn with_ttl(mut item: Item, until: DateTime<Utc>) -> Item {
    item.insert(TTL.into(), n(until.timestamp().min(MAX_TTL)));
    item
}

fn rev_of(item: &Item) -> u64 {
    item.get(REV)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn put(
    table: &str,
    item: Item,
    condition: &str,
    values: &[(&str, AttributeValue)],
) -> PortResult<TransactWriteItem> {
    let mut b = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression(condition);
    for (k, v) in values {
        b = b.expression_attribute_values(*k, v.clone());
    }
    if condition.contains("#rev") {
        b = b.expression_attribute_names("#rev", REV);
    }
    if condition.contains("#version") {
        b = b.expression_attribute_names("#version", "version");
    }
    Ok(TransactWriteItem::builder()
        .put(b.build().map_err(|e| err("build put", e))?)
        .build())
}

/// A condition on the sort key of a Query.
#[derive(Clone)]
enum SortKey {
    Any,
    Before(String),
    BeginsWith(String),
    Between(String, String),
}

enum TxOutcome {
    Done,
    /// A condition did not hold.
    ConditionFailed,
}

impl DynamoStore {
    async fn transact(&self, items: Vec<TransactWriteItem>, what: &str) -> PortResult<TxOutcome> {
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(TxOutcome::Done),
            Err(SdkError::ServiceError(e)) => match e.into_err() {
                TransactWriteItemsError::TransactionCanceledException(c) => {
                    let condition_failed = c
                        .cancellation_reasons()
                        .iter()
                        .any(|r| r.code() == Some("ConditionalCheckFailed"));
                    if condition_failed {
                        Ok(TxOutcome::ConditionFailed)
                    } else {
                        // Cancelled for another reason (a conflicting transaction).
                        Err(err(what, c))
                    }
                }
                other => Err(err(what, other)),
            },
            Err(e) => Err(err(what, e)),
        }
    }

    /// An unconditional PutItem.
    async fn put_item(&self, item: Item, what: &str) -> PortResult<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| err(what, e))?;
        Ok(())
    }

    async fn get(&self, pk: &str, sk: &str, what: &str) -> PortResult<Option<Item>> {
        let res = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, s(pk))
            .key(SK, s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| err(what, e))?;
        Ok(res.item.filter(|i| live(i, self.clock.now())))
    }

    /// One Query page on an index (or the table when `index` is None).
    async fn query(
        &self,
        index: Option<&str>,
        key_condition: &str,
        names: &[(&str, &str)],
        values: &[(&str, AttributeValue)],
        page: &PageRequest,
        what: &str,
    ) -> PortResult<(Vec<Item>, Option<String>)> {
        let start = decode_cursor(page.after.as_deref())?;
        if let Some(key) = &start {
            // A cursor must come from this very partition: anything else would
            // be a ValidationException (an outage to the caller) or a jump.
            let pk_attr = names.iter().find(|(n, _)| *n == "#pk").map(|(_, a)| *a);
            let pk_value = values.iter().find(|(n, _)| *n == ":pk").map(|(_, v)| v);
            let index_sk = index.map(|i| format!("{i}SK"));
            let complete = key.contains_key(PK)
                && key.contains_key(SK)
                && index_sk.is_none_or(|sk| key.contains_key(&sk))
                && pk_attr.is_some_and(|a| key.get(a) == pk_value);
            if !complete {
                return Err(csq_core::ports::PortError::bad_cursor(what.to_owned()));
            }
        }
        let mut q = self
            .client
            .query()
            .table_name(&self.table)
            .set_index_name(index.map(str::to_owned))
            .key_condition_expression(key_condition)
            .limit(page.limit.clamp(1, 1000) as i32)
            .set_exclusive_start_key(start);
        for (k, v) in names {
            q = q.expression_attribute_names(*k, *v);
        }
        for (k, v) in values {
            q = q.expression_attribute_values(*k, v.clone());
        }
        let res = q.send().await.map_err(|e| err(what, e))?;
        let next = encode_cursor(res.last_evaluated_key.as_ref());
        let now = self.clock.now();
        Ok((
            res.items
                .unwrap_or_default()
                .into_iter()
                .filter(|i| live(i, now))
                .collect(),
            next,
        ))
    }

    /// One Query page of documents: the partition `pk` of the table (`index`
    /// None) or of a GSI, whose key attributes are named `<index>PK`/`<index>SK`.
    async fn query_docs<T: DeserializeOwned>(
        &self,
        index: Option<&str>,
        pk: String,
        sort: SortKey,
        page: &PageRequest,
        what: &str,
    ) -> PortResult<Page<T>> {
        let (pk_attr, sk_attr) = match index {
            Some(i) => (format!("{i}PK"), format!("{i}SK")),
            None => (PK.to_owned(), SK.to_owned()),
        };
        let mut names = vec![("#pk", pk_attr.as_str())];
        let mut values = vec![(":pk", s(pk))];
        let condition = match sort {
            SortKey::Any => "#pk = :pk",
            SortKey::Before(v) => {
                values.push((":sk", s(v)));
                "#pk = :pk AND #sk < :sk"
            }
            SortKey::BeginsWith(v) => {
                values.push((":sk", s(v)));
                "#pk = :pk AND begins_with(#sk, :sk)"
            }
            SortKey::Between(from, to) => {
                values.push((":from", s(from)));
                values.push((":to", s(to)));
                "#pk = :pk AND #sk BETWEEN :from AND :to"
            }
        };
        if condition.contains("#sk") {
            names.push(("#sk", sk_attr.as_str()));
        }
        let (items, next) = self
            .query(index, condition, &names, &values, page, what)
            .await?;
        Ok(Page {
            items: items.into_iter().map(doc).collect::<PortResult<_>>()?,
            next,
        })
    }

    /// Every page of `query_docs`, for the few partitions that are read whole.
    async fn query_all_docs<T: DeserializeOwned>(
        &self,
        index: Option<&str>,
        pk: String,
        sort: SortKey,
        what: &str,
    ) -> PortResult<Vec<T>> {
        all_pages(|p| {
            let (pk, sort) = (pk.clone(), sort.clone());
            async move { self.query_docs(index, pk, sort, &p, what).await }
        })
        .await
    }

    fn form_item(&self, form: &Form, rev: u64) -> PortResult<Item> {
        let mut keys = vec![
            (PK, form_pk(&form.id)),
            (SK, "FORM".to_owned()),
            ("GSI1PK", issued_day(vn_day(form.issued_at))),
            ("GSI1SK", format!("{}#{}", ts(form.issued_at), form.id)),
        ];
        // Sparse: the key disappears when the invitation is sent or refused.
        if form.awaits_invitation() {
            keys.push(("GSI3PK", AWAITING_INVITATION.to_owned()));
            keys.push(("GSI3SK", format!("{}#{}", ts(form.issued_at), form.id)));
        }
        let mut it = with_ttl(item(form, &keys)?, form.personal_data_until);
        it.insert(REV.into(), n(rev));
        Ok(it)
    }

    async fn form_with_rev(&self, id: &str) -> PortResult<Option<(Form, u64)>> {
        match self.get(&form_pk(id), "FORM", "get form").await? {
            Some(it) => {
                let rev = rev_of(&it);
                Ok(Some((doc(it)?, rev)))
            }
            None => Ok(None),
        }
    }

    /// Read-modify-write of a form, conditional on its revision; retried when
    /// another writer got there first. `change` returning None writes nothing.
    async fn update_form<R>(
        &self,
        id: &str,
        change: impl Fn(&mut Form) -> Option<R>,
    ) -> PortResult<Option<R>> {
        for _ in 0..8 {
            let Some((mut form, rev)) = self.form_with_rev(id).await? else {
                return Ok(None);
            };
            let Some(out) = change(&mut form) else {
                return Ok(None);
            };
            let res = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(self.form_item(&form, rev + 1)?))
                .condition_expression("#rev = :rev")
                .expression_attribute_names("#rev", REV)
                .expression_attribute_values(":rev", n(rev))
                .send()
                .await;
            match res {
                Ok(_) => return Ok(Some(out)),
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
                {
                    continue;
                }
                Err(e) => return Err(err("update form", e)),
            }
        }
        Err(failed("update form", "too many concurrent updates"))
    }

    fn case_item(&self, case: &Case) -> PortResult<Item> {
        let mut keys = vec![
            (PK, case_pk(&case.id)),
            (SK, "CASE".to_owned()),
            ("GSI1PK", opened_day(vn_day(case.opened_at))),
            ("GSI1SK", format!("{}#{}", ts(case.opened_at), case.id)),
            ("GSI2PK", unit_pk(&case.assignment.unit)),
            (
                "GSI2SK",
                format!("{}#{}#{}", case.status.code(), ts(case.due_at), case.id),
            ),
        ];
        // One sparse work list or the other: an open case by due time, a
        // closed one still holding personal data by its limit.
        if !case.status.is_closed() {
            keys.push(("GSI3PK", OPEN_CASES.to_owned()));
            keys.push(("GSI3SK", format!("{}#{}", ts(case.due_at), case.id)));
        } else if let Some(until) = case.personal_data_expiry() {
            keys.push(("GSI3PK", CASES_HOLDING_PERSONAL_DATA.to_owned()));
            keys.push(("GSI3SK", format!("{}#{}", ts(until), case.id)));
        }
        if let Some(closed) = case.closed_at {
            keys.push(("GSI4PK", closed_day(vn_day(closed))));
            keys.push(("GSI4SK", format!("{}#{}", ts(closed), case.id)));
        }
        // No TTL: a case outlives its personal data (it is anonymised instead).
        item(case, &keys)
    }

    /// A case write under `condition`, with its audit event: one transaction,
    /// so the trail never misses or duplicates a change.
    fn case_with_event(
        &self,
        case: &Case,
        event: &CaseEvent,
        condition: &str,
        values: &[(&str, AttributeValue)],
    ) -> PortResult<Vec<TransactWriteItem>> {
        Ok(vec![
            put(&self.table, self.case_item(case)?, condition, values)?,
            put(
                &self.table,
                self.event_item(case, event)?,
                "attribute_not_exists(PK)",
                &[],
            )?,
        ])
    }

    fn event_item(&self, case: &Case, event: &CaseEvent) -> PortResult<Item> {
        let keys = [
            (PK, case_pk(&event.case_id)),
            (SK, format!("EVENT#{:010}", case.version)),
        ];
        item(event, &keys)
    }
}

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
        let tx = vec![
            put(&self.table, lock, "attribute_not_exists(PK)", &[])?,
            put(
                &self.table,
                self.form_item(form, 1)?,
                "attribute_not_exists(PK)",
                &[],
            )?,
        ];
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

    async fn finish_invitation(&self, form_id: &str, result: InvitationResult) -> PortResult<()> {
        self.update_form(form_id, |f| {
            f.finish_invitation(&result);
            Some(())
        })
        .await?;
        Ok(())
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

#[async_trait]
impl CaseStore for DynamoStore {
    async fn open_case(&self, case: &Case, event: &CaseEvent) -> PortResult<OpenCaseOutcome> {
        let tx = self.case_with_event(case, event, "attribute_not_exists(PK)", &[])?;
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
    ) -> PortResult<UpdateCaseOutcome> {
        let tx =
            self.case_with_event(case, event, "#version = :v", &[(":v", n(expected_version))])?;
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
            SortKey::Before(ts(t)),
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
    ) -> PortResult<UpdateCaseOutcome> {
        let mut tx =
            self.case_with_event(case, event, "#version = :v", &[(":v", n(expected_version))])?;
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

/// The directory as gzip-compressed JSON: a national tree (a couple of thousand
/// units with heads and names) is larger than one item may be, and a fraction
/// of it compressed, which also cuts the read units of every form issued.
fn pack_org(org: &OrgDirectory) -> PortResult<AttributeValue> {
    use std::io::Write;
    let json = serde_json::to_vec(org).map_err(|e| err("serialize org", e))?;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&json).map_err(|e| err("compress org", e))?;
    let bytes = gz.finish().map_err(|e| err("compress org", e))?;
    // Three such items go in one transaction; each must stay under 400 KB.
    if bytes.len() > 350_000 {
        return Err(failed(
            "save org version",
            "the compressed directory exceeds 350 KB",
        ));
    }
    Ok(AttributeValue::B(aws_sdk_dynamodb::primitives::Blob::new(
        bytes,
    )))
}

fn unpack<T: DeserializeOwned>(v: &AttributeValue) -> PortResult<T> {
    use std::io::Read;
    let bytes = v
        .as_b()
        .map_err(|_| failed("read org", "doc is not binary"))?;
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(bytes.as_ref())
        .read_to_end(&mut json)
        .map_err(|e| err("decompress org", e))?;
    serde_json::from_slice(&json).map_err(|e| err("deserialize org", e))
}

const ORG_DOC: &str = "doc";
const ORG_VERSION: &str = "version";

fn org_version_sk(version: u32) -> String {
    format!("VERSION#{version:010}")
}
fn org_doc_sk(version: u32) -> String {
    format!("DOC#{version:010}")
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
        let write = if rules.version <= 1 {
            put(&self.table, it, "attribute_not_exists(PK)", &[])?
        } else {
            put(
                &self.table,
                it,
                "#version = :previous",
                &[(":previous", n(versions::replaced_by(rules.version)))],
            )?
        };
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
