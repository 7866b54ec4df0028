//! The port implementations on DynamoDB.

mod cases;
mod events;
mod forms;
mod kiosks;
mod ledger;
mod org;
mod person;
mod stats;
mod times;

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, PutRequest, TransactWriteItem, WriteRequest};
use chrono::{DateTime, NaiveDate, Utc};
use csq_core::app::all_pages;
use csq_core::domain::audit::AuditEntry;
use csq_core::domain::case::rules::StoredCaseRules;
use csq_core::domain::case::{Case, CaseEvent, CaseStatus, HandlingRatingRecord};
use csq_core::domain::complaint::Complaint;
use csq_core::domain::event::Event;
use csq_core::domain::form::{Form, InvitationResult, LaterHandling, RatingRecord};
use csq_core::domain::org::{LegacyOrg, OrgDirectory, OrgVersion, StoredOrg};
use csq_core::domain::report::WarningReport;
use csq_core::domain::stats::DailyStats;
use csq_core::domain::suppression::Suppression;
use csq_core::domain::time::vn_day;
use csq_core::domain::versions;
use csq_core::ports::{
    AddHandlingOutcome, AuditLog, CaseStore, CurrentOrg, FormStore, HeldRecord, InsertFormOutcome,
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

/// A put of a numbered version (`domain::versions`): version 1 only where
/// nothing is, any later one only over the version it replaces.
fn put_version(table: &str, item: Item, version: u32) -> PortResult<TransactWriteItem> {
    if version <= 1 {
        put(table, item, "attribute_not_exists(PK)", &[])
    } else {
        put(
            table,
            item,
            "#version = :previous",
            &[(":previous", n(versions::replaced_by(version)))],
        )
    }
}

/// A transaction's put without a condition: for items whose key names their
/// content (an event by its id, an index entry), so putting one again is the
/// same item.
fn put_as_is(table: &str, item: Item) -> PortResult<TransactWriteItem> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .build()
        .map_err(|e| err("build put", e))?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// A condition on the sort key of a Query.
#[derive(Clone)]
enum SortKey {
    Any,
    Before(String),
    /// Keys `<timestamp>#…` whose timestamp is at or before this one.
    Through(String),
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
            SortKey::Through(v) => {
                // `~` sorts after `#`: every key of this very instant is included.
                values.push((":sk", s(format!("{v}~"))));
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
    /// The case's write, its audit event and the events it announces.
    fn case_with_event(
        &self,
        case: &Case,
        event: &CaseEvent,
        announce: &[Event],
        condition: &str,
        values: &[(&str, AttributeValue)],
    ) -> PortResult<Vec<TransactWriteItem>> {
        let mut tx = vec![
            put(&self.table, self.case_item(case)?, condition, values)?,
            put(
                &self.table,
                self.event_item(case, event)?,
                "attribute_not_exists(PK)",
                &[],
            )?,
        ];
        tx.extend(self.outbox_puts(announce)?);
        Ok(tx)
    }

    fn event_item(&self, case: &Case, event: &CaseEvent) -> PortResult<Item> {
        let keys = [
            (PK, case_pk(&event.case_id)),
            (SK, format!("EVENT#{:010}", case.version)),
        ];
        item(event, &keys)
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
