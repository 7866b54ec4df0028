//! The embedded database: every store port on one SQLite file.
//!
//! Tables mirror the DynamoDB access patterns: each port method is one keyed
//! read, one index range read, or one transaction, so the two adapters keep the
//! same contract. Records are kept as JSON documents beside the key columns the
//! indexes need, as the DynamoDB items are.

use std::path::Path;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use csq_core::domain::audit::AuditEntry;
use csq_core::domain::case::rules::StoredCaseRules;
use csq_core::domain::case::{Case, CaseEvent, CaseStatus, HandlingRatingRecord};
use csq_core::domain::complaint::Complaint;
use csq_core::domain::form::{Form, InvitationResult, LaterHandling, RatingRecord};
use csq_core::domain::org::{LegacyOrg, OrgDirectory, OrgVersion};
use csq_core::domain::report::WarningReport;
use csq_core::domain::stats::DailyStats;
use csq_core::domain::suppression::Suppression;
use csq_core::domain::time::vn_day;
use csq_core::domain::versions;
use csq_core::ports::{
    AddHandlingOutcome, AuditLog, CaseStore, CurrentOrg, FormStore, InsertFormOutcome,
    OpenCaseOutcome, OrgStore, Page, PageRequest, PortError, PortResult, SaveOrgOutcome,
    StatsStore, SubmissionWrite, SubmitOutcome, SuppressionList, UpdateCaseOutcome,
};
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::db::{Db, Migration, StoreError, cursor_parts, ts};

/// Forms past their personal-data limit (`forms_by_personal_data_limit`).
const EXPIRED: &str = "SELECT id FROM forms WHERE json_extract(doc, '$.personal_data_until') < ?1";

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS forms (
    id          TEXT PRIMARY KEY,
    declaration TEXT NOT NULL UNIQUE,
    issued_day  TEXT NOT NULL,
    issued_at   TEXT NOT NULL,
    status      TEXT NOT NULL,
    doc         TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS forms_by_issue_day ON forms (issued_day, issued_at, id);
-- The nightly drop of expired personal data finds its forms here, not by reading every
-- form's document (a year of an office is millions of rows).
CREATE INDEX IF NOT EXISTS forms_by_personal_data_limit
    ON forms (json_extract(doc, '$.personal_data_until'));
CREATE TABLE IF NOT EXISTS ratings (
    form_id      TEXT NOT NULL,
    subject_key  TEXT NOT NULL,
    day          TEXT NOT NULL,
    submitted_at TEXT NOT NULL,
    doc          TEXT NOT NULL,
    PRIMARY KEY (form_id, subject_key)
);
CREATE INDEX IF NOT EXISTS ratings_by_day ON ratings (day, submitted_at, form_id, subject_key);
CREATE TABLE IF NOT EXISTS complaint_outbox (
    id         TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    doc        TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS cases (
    id         TEXT PRIMARY KEY,
    unit       TEXT NOT NULL,
    status     TEXT NOT NULL,
    due_at     TEXT NOT NULL,
    opened_day TEXT NOT NULL,
    opened_at  TEXT NOT NULL,
    closed_day TEXT,
    closed_at  TEXT,
    version    INTEGER NOT NULL,
    doc        TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS cases_by_unit ON cases (unit, status, due_at, id);
CREATE INDEX IF NOT EXISTS cases_by_open_day ON cases (opened_day, opened_at, id);
CREATE INDEX IF NOT EXISTS cases_by_close_day ON cases (closed_day, closed_at, id) WHERE closed_day IS NOT NULL;
CREATE TABLE IF NOT EXISTS case_events (
    case_id TEXT NOT NULL,
    seq     INTEGER NOT NULL,
    doc     TEXT NOT NULL,
    PRIMARY KEY (case_id, seq)
);
CREATE TABLE IF NOT EXISTS daily_stats (
    unit TEXT NOT NULL,
    date TEXT NOT NULL,
    doc  TEXT NOT NULL,
    PRIMARY KEY (unit, date)
);
CREATE TABLE IF NOT EXISTS org_directory (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
    day        TEXT NOT NULL,
    at         TEXT NOT NULL,
    id         TEXT NOT NULL,
    keep_until TEXT NOT NULL,
    doc        TEXT NOT NULL,
    PRIMARY KEY (day, at, id)
);
CREATE INDEX IF NOT EXISTS audit_by_expiry ON audit (keep_until);
CREATE TABLE IF NOT EXISTS handling_ratings (
    case_id TEXT PRIMARY KEY,
    day     TEXT NOT NULL,
    at      TEXT NOT NULL,
    doc     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS handling_ratings_by_day ON handling_ratings (day, at, case_id);
CREATE TABLE IF NOT EXISTS early_warnings (
    week_end TEXT PRIMARY KEY,
    doc      TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS case_rules (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL,
    doc     TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS suppressions (
    key TEXT PRIMARY KEY,
    doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS org_versions (
    version INTEGER PRIMARY KEY,
    summary TEXT NOT NULL,
    doc     TEXT NOT NULL
);
"#;

/// The store's schema, one step at a time. Never change a step once released:
/// add one. Step 1 is every layout the releases before numbered migrations
/// wrote (they all read as 0), brought to one.
const MIGRATIONS: &[Migration] = &[
    Migration {
        what: "tables and indexes of the releases before numbered migrations",
        apply: |tx| {
            tx.execute_batch(SCHEMA)?;
            tx.execute_batch(
                "CREATE INDEX IF NOT EXISTS forms_awaiting_invitation ON forms (issued_at, id)
                     WHERE status = 'issued'
                       AND json_extract(doc, '$.email_sent_at') IS NULL
                       AND json_extract(doc, '$.invitation_rejected') IS NULL;",
            )?;
            upgrade(tx)
        },
    },
    Migration {
        what: "forms awaiting their invitation: a column the domain's rule writes",
        apply: |tx| {
            tx.execute_batch(
                "ALTER TABLE forms ADD COLUMN awaits_invitation INTEGER NOT NULL DEFAULT 0;
                 DROP INDEX IF EXISTS forms_awaiting_invitation;",
            )?;
            // One pass over the forms, once: the domain says which await one.
            let docs: Vec<(String, String)> = tx
                .prepare("SELECT id, doc FROM forms")?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            for (id, doc) in docs {
                let awaits =
                    serde_json::from_str::<Form>(&doc).is_ok_and(|f| f.awaits_invitation());
                tx.execute(
                    "UPDATE forms SET awaits_invitation = ?2 WHERE id = ?1",
                    params![id, awaits],
                )?;
            }
            tx.execute_batch(
                "CREATE INDEX forms_awaiting_invitation ON forms (issued_at, id) WHERE awaits_invitation = 1;",
            )
        },
    },
];

/// Columns added after the first version: a data directory that version wrote
/// gets them on open, with the value its rows mean (version 0: before versions).
fn upgrade(conn: &rusqlite::Connection) -> rusqlite::Result<()> {
    let has_version: bool = conn
        .prepare("SELECT 1 FROM pragma_table_info('org_directory') WHERE name = 'version'")?
        .exists([])?;
    if !has_version {
        conn.execute_batch(
            "ALTER TABLE org_directory ADD COLUMN version INTEGER NOT NULL DEFAULT 0",
        )?;
    }
    // Which statuses are open is the domain's rule; the partial index follows it.
    conn.execute_batch(&format!(
        "CREATE INDEX IF NOT EXISTS open_cases_by_due ON cases (due_at, id) WHERE status IN ({});",
        open_statuses_sql()
    ))?;
    let has_pii: bool = conn
        .prepare("SELECT 1 FROM pragma_table_info('cases') WHERE name = 'pii_until'")?
        .exists([])?;
    if !has_pii {
        // Cases used to be deleted with their personal data; now they are
        // anonymised. Every case written before gets the column the domain
        // gives it (one pass over the cases table, once).
        conn.execute_batch("ALTER TABLE cases ADD COLUMN pii_until TEXT")?;
        let docs: Vec<(String, String)> = conn
            .prepare("SELECT id, doc FROM cases")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        for (id, doc) in docs {
            let until = serde_json::from_str::<Case>(&doc)
                .ok()
                .and_then(|c| c.personal_data_expiry())
                .map(ts);
            conn.execute(
                "UPDATE cases SET pii_until = ?2 WHERE id = ?1",
                params![id, until],
            )?;
        }
    }
    conn.execute_batch(
        "CREATE INDEX IF NOT EXISTS cases_holding_personal_data ON cases (pii_until, id) WHERE pii_until IS NOT NULL;",
    )?;
    Ok(())
}

/// `'open', 'verifying'`: the statuses the domain calls open, as SQL literals.
fn open_statuses_sql() -> String {
    CaseStatus::open_statuses()
        .map(|s| format!("'{}'", s.code()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// All store ports on one embedded database file.
#[derive(Clone)]
pub struct SqliteStore {
    db: Db,
}

impl SqliteStore {
    pub fn open(path: &Path) -> anyhow::Result<SqliteStore> {
        Ok(SqliteStore {
            db: Db::open_migrated(path, "store", MIGRATIONS)?,
        })
    }
}

fn to_doc<T: Serialize>(t: &T) -> Result<String, StoreError> {
    Ok(serde_json::to_string(t)?)
}

fn from_doc<T: DeserializeOwned>(s: &str) -> Result<T, StoreError> {
    Ok(serde_json::from_str(s)?)
}

/// Reads one page of (cursor key..., doc) rows: the query selects one more row
/// than asked, which tells whether a next page exists.
fn page_of<T: DeserializeOwned>(
    rows: Vec<(String, String)>,
    limit: u32,
) -> Result<Page<T>, StoreError> {
    let limit = limit.max(1) as usize;
    let has_more = rows.len() > limit;
    let mut items = Vec::with_capacity(rows.len().min(limit));
    let mut last_key = None;
    for (key, doc) in rows.into_iter().take(limit) {
        items.push(from_doc(&doc)?);
        last_key = Some(key);
    }
    Ok(Page {
        items,
        next: if has_more { last_key } else { None },
    })
}

/// One page of a keyset listing, as the DynamoDB store's `query_docs`: rows of
/// `table` matching `filter` (its parameters are ?1, ?2…), ordered by the `key`
/// columns and after the cursor, which is those columns joined by `|`.
fn keyset_page<T: DeserializeOwned>(
    conn: &rusqlite::Connection,
    table: &str,
    filter: &str,
    filter_args: &[&dyn rusqlite::ToSql],
    key: &[&str],
    page: &PageRequest,
) -> Result<Page<T>, StoreError> {
    let after =
        cursor_parts(&page.after, key.len())?.unwrap_or_else(|| vec![String::new(); key.len()]);
    let n = filter_args.len();
    let cursor = key.join(" || '|' || ");
    let columns = key.join(", ");
    let marks: Vec<String> = (0..key.len()).map(|i| format!("?{}", n + 1 + i)).collect();
    let sql = format!(
        "SELECT {cursor}, doc FROM {table} WHERE {filter} AND ({columns}) > ({}) ORDER BY {columns} LIMIT ?{}",
        marks.join(", "),
        n + key.len() + 1
    );
    let limit = page.limit.max(1) + 1;
    let mut args: Vec<&dyn rusqlite::ToSql> = filter_args.to_vec();
    args.extend(after.iter().map(|a| a as &dyn rusqlite::ToSql));
    args.push(&limit);
    let rows = conn
        .prepare_cached(&sql)?
        .query_map(args.as_slice(), |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    page_of(rows, page.limit)
}

fn load_form(conn: &rusqlite::Connection, id: &str) -> Result<Option<Form>, StoreError> {
    conn.query_row("SELECT doc FROM forms WHERE id = ?1", [id], |r| {
        r.get::<_, String>(0)
    })
    .optional()?
    .map(|d| from_doc(&d))
    .transpose()
}

fn save_form(conn: &rusqlite::Connection, form: &Form) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE forms SET status = ?2, doc = ?3, awaits_invitation = ?4 WHERE id = ?1",
        params![
            form.id,
            form.status.code(),
            to_doc(form)?,
            form.awaits_invitation()
        ],
    )?;
    Ok(())
}

/// Read-modify-write of one form inside an immediate transaction: the check and
/// the write cannot interleave with another writer, like a conditional update.
fn update_form<R>(
    conn: &mut rusqlite::Connection,
    id: &str,
    f: impl FnOnce(&mut Form) -> Option<R>,
) -> Result<Option<R>, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let Some(mut form) = load_form(&tx, id)? else {
        return Ok(None);
    };
    let out = f(&mut form);
    if out.is_some() {
        save_form(&tx, &form)?;
        tx.commit()?;
    }
    Ok(out)
}

#[async_trait]
impl FormStore for SqliteStore {
    async fn insert_form(&self, form: &Form) -> PortResult<InsertFormOutcome> {
        let form = form.clone();
        self.db
            .call("insert form", move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let existing: Option<String> = tx
                    .query_row("SELECT doc FROM forms WHERE declaration = ?1", [form.declaration_key()], |r| r.get(0))
                    .optional()?;
                if let Some(doc) = existing {
                    return Ok(InsertFormOutcome::Exists(Box::new(from_doc(&doc)?)));
                }
                tx.execute(
                    "INSERT INTO forms (id, declaration, issued_day, issued_at, status, doc, awaits_invitation) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![
                        form.id,
                        form.declaration_key(),
                        vn_day(form.issued_at).to_string(),
                        ts(form.issued_at),
                        form.status.code(),
                        to_doc(&form)?,
                        form.awaits_invitation()
                    ],
                )?;
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
                    r.get::<_, String>(0)
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
                    .query_map([limit.max(1)], |r| r.get::<_, String>(0))?
                    .collect::<Result<Vec<_>, _>>()?;
                docs.iter().map(|d| from_doc(d)).collect()
            })
            .await
    }

    async fn finish_invitation(&self, form_id: &str, result: InvitationResult) -> PortResult<()> {
        let id = form_id.to_owned();
        self.db
            .call("finish invitation", move |conn| {
                update_form(conn, &id, |f| {
                    f.finish_invitation(&result);
                    Some(())
                })?;
                Ok(())
            })
            .await
    }

    async fn submit(&self, write: &SubmissionWrite) -> PortResult<SubmitOutcome> {
        let write = write.clone();
        self.db
            .call("submit form", move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let Some(mut form) = load_form(&tx, &write.form_id)? else {
                    return Ok(SubmitOutcome::NotFound);
                };
                if let Err(refused) = form.accept_submission(&write.submission, write.submitted_at) {
                    return Ok(refused.into());
                }
                save_form(&tx, &form)?;
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
                    .query_map([limit.max(1)], |r| r.get::<_, String>(0))?
                    .collect::<Result<Vec<_>, _>>()?;
                docs.iter().map(|d| from_doc(d)).collect()
            })
            .await
    }

    async fn drop_expired_personal_data(&self, now: DateTime<Utc>) -> PortResult<u64> {
        let now = ts(now);
        self.db
            .call("drop expired forms", move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                tx.execute(
                    &format!("DELETE FROM ratings WHERE form_id IN ({EXPIRED})"),
                    [&now],
                )?;
                tx.execute(
                    &format!("DELETE FROM complaint_outbox WHERE id IN ({EXPIRED})"),
                    [&now],
                )?;
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

fn load_case(conn: &rusqlite::Connection, id: &str) -> Result<Option<Case>, StoreError> {
    conn.query_row("SELECT doc FROM cases WHERE id = ?1", [id], |r| {
        r.get::<_, String>(0)
    })
    .optional()?
    .map(|d| from_doc(&d))
    .transpose()
}

fn append_event(tx: &rusqlite::Transaction<'_>, event: &CaseEvent) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO case_events (case_id, seq, doc)
         VALUES (?1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM case_events WHERE case_id = ?1), ?2)",
        params![event.case_id, to_doc(event)?],
    )?;
    Ok(())
}

/// The indexed columns of a case: due, close day, close time, personal-data limit.
fn case_columns(case: &Case) -> (String, Option<String>, Option<String>, Option<String>) {
    (
        ts(case.due_at),
        case.closed_at.map(|t| vn_day(t).to_string()),
        case.closed_at.map(ts),
        case.personal_data_expiry().map(ts),
    )
}

/// The case update conditional on its version, with its audit event.
fn update_case_tx(
    tx: &rusqlite::Transaction<'_>,
    case: &Case,
    expected_version: u32,
    event: &CaseEvent,
) -> Result<UpdateCaseOutcome, StoreError> {
    let (due, closed_day, closed_at, pii) = case_columns(case);
    let n = tx.execute(
        "UPDATE cases SET unit = ?2, status = ?3, due_at = ?4, closed_day = ?5, closed_at = ?6, version = ?7, doc = ?8, pii_until = ?10
         WHERE id = ?1 AND version = ?9",
        params![
            case.id,
            case.assignment.unit,
            case.status.code(),
            due,
            closed_day,
            closed_at,
            case.version,
            to_doc(case)?,
            expected_version,
            pii,
        ],
    )?;
    if n == 0 {
        return Ok(UpdateCaseOutcome::Conflict);
    }
    append_event(tx, event)?;
    Ok(UpdateCaseOutcome::Updated)
}

#[async_trait]
impl CaseStore for SqliteStore {
    async fn open_case(&self, case: &Case, event: &CaseEvent) -> PortResult<OpenCaseOutcome> {
        let (case, event) = (case.clone(), event.clone());
        self.db
            .call("open case", move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
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
    ) -> PortResult<UpdateCaseOutcome> {
        let (case, event) = (case.clone(), event.clone());
        self.db
            .call("update case", move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let outcome = update_case_tx(&tx, &case, expected_version, &event)?;
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
    ) -> PortResult<UpdateCaseOutcome> {
        let (case, event, rating) = (case.clone(), event.clone(), rating.clone());
        self.db
            .call("record handling rating", move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let outcome = update_case_tx(&tx, &case, expected_version, &event)?;
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
                    .query_map([id], |r| r.get::<_, String>(0))?
                    .collect::<Result<Vec<_>, _>>()?;
                docs.iter().map(|d| from_doc(d)).collect()
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
                    "pii_until IS NOT NULL AND pii_until < ?1",
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

#[async_trait]
impl StatsStore for SqliteStore {
    async fn put_daily(&self, stats: &[DailyStats]) -> PortResult<()> {
        let stats = stats.to_vec();
        self.db
            .call("put daily stats", move |conn| {
                let tx = conn.transaction()?;
                {
                    let mut stmt = tx.prepare_cached(
                        "INSERT OR REPLACE INTO daily_stats (unit, date, doc) VALUES (?1, ?2, ?3)",
                    )?;
                    for s in &stats {
                        stmt.execute(params![s.unit, s.date.to_string(), to_doc(s)?])?;
                    }
                }
                tx.commit()?;
                Ok(())
            })
            .await
    }

    async fn daily(
        &self,
        unit: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> PortResult<Vec<DailyStats>> {
        let unit = unit.to_owned();
        self.db
            .call("daily stats", move |conn| {
                let mut stmt = conn
                    .prepare_cached("SELECT doc FROM daily_stats WHERE unit = ?1 AND date BETWEEN ?2 AND ?3 ORDER BY date")?;
                let docs = stmt
                    .query_map(params![unit, from.to_string(), to.to_string()], |r| r.get::<_, String>(0))?
                    .collect::<Result<Vec<_>, _>>()?;
                docs.iter().map(|d| from_doc(d)).collect()
            })
            .await
    }

    async fn put_warnings(&self, report: &WarningReport) -> PortResult<bool> {
        let doc = serde_json::to_string(report).map_err(|e| PortError::new("put warnings", e))?;
        let week = report.week_end.to_string();
        self.db
            .call("put warnings", move |conn| {
                let n = conn.execute(
                    "INSERT OR IGNORE INTO early_warnings (week_end, doc) VALUES (?1, ?2)",
                    params![week, doc],
                )?;
                Ok(n == 1)
            })
            .await
    }

    async fn latest_warnings(&self) -> PortResult<Option<WarningReport>> {
        self.db
            .call("latest warnings", |conn| {
                conn.query_row(
                    "SELECT doc FROM early_warnings ORDER BY week_end DESC LIMIT 1",
                    [],
                    |r| r.get::<_, String>(0),
                )
                .optional()?
                .map(|d| from_doc(&d))
                .transpose()
            })
            .await
    }
}

#[async_trait]
impl AuditLog for SqliteStore {
    async fn record(&self, entry: &AuditEntry) -> PortResult<()> {
        let doc = serde_json::to_string(entry).map_err(|e| PortError::new("audit", e))?;
        let (day, at, id, keep) = (
            vn_day(entry.at).to_string(),
            ts(entry.at),
            entry.id.clone(),
            ts(entry.keep_until),
        );
        self.db
            .call("record audit", move |conn| {
                conn.execute(
                    "INSERT OR IGNORE INTO audit (day, at, id, keep_until, doc) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![day, at, id, keep, doc],
                )?;
                Ok(())
            })
            .await
    }

    async fn audit_on(&self, day: NaiveDate, page: PageRequest) -> PortResult<Page<AuditEntry>> {
        self.db
            .call("audit of a day", move |conn| {
                let day = day.to_string();
                keyset_page(conn, "audit", "day = ?1", &[&day], &["at", "id"], &page)
            })
            .await
    }

    async fn drop_expired_audit(&self, now: DateTime<Utc>) -> PortResult<u64> {
        self.db
            .call("drop expired audit", move |conn| {
                Ok(conn.execute("DELETE FROM audit WHERE keep_until <= ?1", [ts(now)])? as u64)
            })
            .await
    }
}

#[async_trait]
impl OrgStore for SqliteStore {
    async fn save_org_version(
        &self,
        summary: &OrgVersion,
        org: &OrgDirectory,
    ) -> PortResult<SaveOrgOutcome> {
        let summary_doc =
            serde_json::to_string(summary).map_err(|e| PortError::new("save org version", e))?;
        let doc = serde_json::to_string(org).map_err(|e| PortError::new("save org version", e))?;
        let version = summary.version;
        self.db
            .call("save org version", move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let current: u32 = tx
                    .query_row("SELECT version FROM org_directory WHERE id = 1", [], |r| {
                        r.get(0)
                    })
                    .optional()?
                    .unwrap_or(0);
                let taken = tx
                    .prepare_cached("SELECT 1 FROM org_versions WHERE version = ?1")?
                    .exists([version])?;
                if taken || !versions::follows(version, current) {
                    return Ok(SaveOrgOutcome::Conflict);
                }
                tx.execute(
                    "INSERT INTO org_versions (version, summary, doc) VALUES (?1, ?2, ?3)",
                    params![version, summary_doc, doc],
                )?;
                tx.execute(
                    "INSERT OR REPLACE INTO org_directory (id, doc, version) VALUES (1, ?1, ?2)",
                    params![doc, version],
                )?;
                tx.commit()?;
                Ok(SaveOrgOutcome::Saved)
            })
            .await
    }

    async fn current_org(&self) -> PortResult<Option<CurrentOrg>> {
        self.db
            .call("current org", |conn| {
                let row = conn
                    .query_row(
                        "SELECT doc, version FROM org_directory WHERE id = 1",
                        [],
                        |r| Ok((r.get::<_, String>(0)?, r.get::<_, u32>(1)?)),
                    )
                    .optional()?;
                row.map(|(doc, version)| {
                    Ok(CurrentOrg {
                        version,
                        stored: from_doc(&doc)?,
                    })
                })
                .transpose()
            })
            .await
    }

    async fn org_version(&self, version: u32) -> PortResult<Option<OrgDirectory>> {
        self.db
            .call("org version", move |conn| {
                conn.query_row(
                    "SELECT doc FROM org_versions WHERE version = ?1",
                    [version],
                    |r| r.get::<_, String>(0),
                )
                .optional()?
                .map(|d| from_doc(&d))
                .transpose()
            })
            .await
    }

    async fn org_versions(&self, page: PageRequest) -> PortResult<Page<OrgVersion>> {
        self.db
            .call("org versions", move |conn| {
                let before: u32 = match &page.after {
                    None => u32::MAX,
                    Some(c) => c.parse().map_err(|_| StoreError::BadCursor)?,
                };
                let rows = conn
                    .prepare_cached(
                        "SELECT version, summary FROM org_versions WHERE version < ?1
                         ORDER BY version DESC LIMIT ?2",
                    )?
                    .query_map(params![before, page.limit.max(1) + 1], |r| {
                        Ok((r.get::<_, u32>(0)?.to_string(), r.get::<_, String>(1)?))
                    })?
                    .collect::<Result<Vec<_>, _>>()?;
                page_of(rows, page.limit)
            })
            .await
    }

    async fn case_rules(&self) -> PortResult<Option<StoredCaseRules>> {
        self.db
            .call("case rules", |conn| {
                conn.query_row("SELECT doc FROM case_rules WHERE id = 1", [], |r| {
                    r.get::<_, String>(0)
                })
                .optional()?
                .map(|d| from_doc(&d))
                .transpose()
            })
            .await
    }

    async fn save_case_rules(&self, rules: &StoredCaseRules) -> PortResult<SaveOrgOutcome> {
        let doc = serde_json::to_string(rules).map_err(|e| PortError::new("save case rules", e))?;
        let version = rules.version;
        self.db
            .call("save case rules", move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let current: u32 = tx
                    .query_row("SELECT version FROM case_rules WHERE id = 1", [], |r| {
                        r.get(0)
                    })
                    .optional()?
                    .unwrap_or(0);
                if !versions::follows(version, current) {
                    return Ok(SaveOrgOutcome::Conflict);
                }
                tx.execute(
                    "INSERT OR REPLACE INTO case_rules (id, version, doc) VALUES (1, ?1, ?2)",
                    params![version, doc],
                )?;
                tx.commit()?;
                Ok(SaveOrgOutcome::Saved)
            })
            .await
    }
}

#[async_trait]
impl SuppressionList for SqliteStore {
    async fn suppress(&self, entry: &Suppression) -> PortResult<bool> {
        let (key, doc) = (
            entry.key.clone(),
            to_doc(entry).map_err(|e| PortError::new("suppress", e))?,
        );
        self.db
            .call("suppress", move |conn| {
                Ok(conn.execute(
                    "INSERT OR IGNORE INTO suppressions (key, doc) VALUES (?1, ?2)",
                    params![key, doc],
                )? == 1)
            })
            .await
    }

    async fn suppressed(&self, key: &str) -> PortResult<Option<Suppression>> {
        let key = key.to_owned();
        self.db
            .call("suppressed", move |conn| {
                conn.query_row("SELECT doc FROM suppressions WHERE key = ?1", [key], |r| {
                    r.get::<_, String>(0)
                })
                .optional()?
                .map(|d| from_doc(&d))
                .transpose()
            })
            .await
    }
}

#[async_trait]
impl csq_core::ports::FirstVersionOrgWriter for SqliteStore {
    /// Writes a directory as the first version of CSQ did (no version column
    /// value, the department › branch › team shape): for migration tests.
    async fn write_first_version_org(&self, legacy: &LegacyOrg) -> PortResult<()> {
        let doc = serde_json::to_string(legacy).map_err(|e| PortError::new("legacy org", e))?;
        self.db
            .call("legacy org", move |conn| {
                conn.execute(
                    "INSERT OR REPLACE INTO org_directory (id, doc, version) VALUES (1, ?1, 0)",
                    [doc],
                )?;
                Ok(())
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database with every migration applied.
    fn migrated() -> rusqlite::Connection {
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        for m in MIGRATIONS {
            let tx = conn.transaction().unwrap();
            (m.apply)(&tx).unwrap();
            tx.commit().unwrap();
        }
        conn
    }

    /// The steps SQLite plans for `statement`.
    fn plan(
        conn: &rusqlite::Connection,
        statement: &str,
        args: impl rusqlite::Params,
    ) -> Vec<String> {
        conn.prepare(&format!("EXPLAIN QUERY PLAN {statement}"))
            .unwrap()
            .query_map(args, |r| r.get::<_, String>(3))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    /// The sweep's query reads the partial index of forms awaiting their invitation.
    #[test]
    fn pending_invitations_are_found_through_an_index() {
        let steps = plan(
            &migrated(),
            "SELECT doc FROM forms WHERE awaits_invitation = 1 ORDER BY issued_at, id LIMIT 10",
            [],
        );
        assert!(
            steps
                .iter()
                .any(|s| s.contains("USING INDEX forms_awaiting_invitation")),
            "{steps:?}"
        );
    }

    /// A data directory written by the release before numbered migrations
    /// (kept in tests/fixtures) opens, is migrated once, and reads the same.
    #[tokio::test]
    async fn a_data_directory_of_an_earlier_release_opens_and_reads_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("csq.sqlite");
        std::fs::copy(
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/store-01f6c53.sqlite"
            ),
            &path,
        )
        .unwrap();
        let before: Vec<(String, String)> = {
            let conn = rusqlite::Connection::open(&path).unwrap();
            let version: i64 = conn
                .pragma_query_value(None, "user_version", |r| r.get(0))
                .unwrap();
            assert_eq!(version, 0, "written before numbered migrations");
            conn.prepare("SELECT id, doc FROM forms ORDER BY id")
                .unwrap()
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
                .map(Result::unwrap)
                .collect()
        };
        assert_eq!(before.len(), 3);
        for _ in 0..2 {
            let store = SqliteStore::open(&path).unwrap();
            for (id, doc) in &before {
                let form = store.form(id).await.unwrap().expect("the form");
                assert_eq!(&serde_json::to_string(&form).unwrap(), doc);
            }
            let day = vn_day(from_doc::<Form>(&before[0].1).unwrap().issued_at);
            let ratings = store.ratings_on(day, PageRequest::first(10)).await.unwrap();
            assert_eq!(ratings.items.len(), 1);
            let case = store.case(&ratings.items[0].form_id).await.unwrap();
            assert!(case.is_some(), "its complaint case");
            assert!(store.current_org().await.unwrap().is_some());
            assert!(store.pending_invitations(10).await.unwrap().is_empty());
        }
        let conn = rusqlite::Connection::open(&path).unwrap();
        let version: usize = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, MIGRATIONS.len());
    }

    /// A file a newer version wrote is refused with the reason, untouched.
    #[test]
    fn a_data_directory_of_a_newer_version_is_refused_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("csq.sqlite");
        {
            let conn = rusqlite::Connection::open(&path).unwrap();
            conn.pragma_update(None, "user_version", MIGRATIONS.len() + 1)
                .unwrap();
        }
        let bytes = std::fs::read(&path).unwrap();
        let err = SqliteStore::open(&path).err().expect("refused");
        assert!(err.to_string().contains("newer version of CSQ"), "{err}");
        assert!(std::fs::read(&path).unwrap() == bytes, "nothing written");
    }

    /// Every statement of the nightly drop reads indexes, never a whole table.
    #[test]
    fn expired_personal_data_is_found_through_an_index() {
        let conn = migrated();
        for statement in [
            format!("DELETE FROM ratings WHERE form_id IN ({})", super::EXPIRED),
            format!("DELETE FROM forms WHERE id IN ({})", super::EXPIRED),
        ] {
            let steps = plan(&conn, &statement, ["2026-01-01"]);
            assert!(
                steps
                    .iter()
                    .any(|s| s.contains("USING INDEX forms_by_personal_data_limit")),
                "{statement}: {steps:?}"
            );
            assert!(
                !steps.iter().any(|s| s.starts_with("SCAN ")),
                "{statement}: {steps:?}"
            );
        }
    }
}
