//! The embedded database: every store port on one SQLite file.
//!
//! Tables mirror the DynamoDB access patterns: each port method is one keyed
//! read, one index range read, or one transaction, so the two adapters keep the
//! same contract. Records are kept as JSON documents beside the key columns the
//! indexes need, as the DynamoDB items are.

mod cases;
mod doc;
mod events;
mod forms;
mod kiosks;
mod ledger;
mod org;
mod person;
mod sessions;
mod stats;
mod times;
use doc::StoredDoc;

use std::path::Path;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use csq_core::domain::audit::AuditEntry;
use csq_core::domain::case::rules::StoredCaseRules;
use csq_core::domain::case::{Case, CaseEvent, CaseStatus, HandlingRatingRecord};
use csq_core::domain::complaint::Complaint;
use csq_core::domain::event::Event;
use csq_core::domain::form::{Form, InvitationResult, LaterHandling, RatingRecord};
use csq_core::domain::org::{LegacyOrg, OrgDirectory, OrgVersion};
use csq_core::domain::report::WarningReport;
use csq_core::domain::stats::DailyStats;
use csq_core::domain::suppression::Suppression;
use csq_core::domain::time::vn_day;
use csq_core::domain::versions;
use csq_core::ports::{
    AddHandlingOutcome, AuditLog, CaseStore, CurrentOrg, EventOutbox, FormStore, HeldRecord,
    InsertFormOutcome, InvitationLedger, OpenCaseOutcome, OrgStore, Page, PageRequest, PersonIndex,
    PortError, PortResult, SaveOrgOutcome, StatsStore, SubmissionWrite, SubmitOutcome,
    SuppressionList, UpdateCaseOutcome,
};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::db::{Db, Migration, StoreError, cursor_parts, ts};

/// Forms whose personal-data limit has passed (`time::has_passed`: at the
/// limit itself, as every store compares), through `forms_by_personal_data_limit`.
/// The column holds the limit as `ts` writes every instant, so the text
/// comparison is the instants' (the document's own spelling drops zero
/// fractions, and "…00Z" would sort after "…00.000000Z").
const EXPIRED: &str = "SELECT id FROM forms WHERE pii_until <= ?1";

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
            backfill(tx, "forms", "awaits_invitation", |doc| {
                serde_json::from_str::<Form>(doc).is_ok_and(|f| f.awaits_invitation())
            })?;
            tx.execute_batch(
                "CREATE INDEX forms_awaiting_invitation ON forms (issued_at, id) WHERE awaits_invitation = 1;",
            )
        },
    },
    Migration {
        what: "forms' personal-data limit as a column of one spelling",
        apply: |tx| {
            tx.execute_batch(
                "ALTER TABLE forms ADD COLUMN pii_until TEXT;
                 DROP INDEX IF EXISTS forms_by_personal_data_limit;",
            )?;
            backfill(tx, "forms", "pii_until", |doc| {
                serde_json::from_str::<Form>(doc)
                    .ok()
                    .map(|f| ts(f.personal_data_until))
            })?;
            tx.execute_batch("CREATE INDEX forms_by_personal_data_limit ON forms (pii_until);")
        },
    },
    Migration {
        what: "staff sign-in codes and sessions",
        apply: |tx| {
            tx.execute_batch(
                "CREATE TABLE sign_in_codes (
                     address_key TEXT PRIMARY KEY,
                     version     INTEGER NOT NULL,
                     keep_until  TEXT NOT NULL,
                     doc         TEXT NOT NULL
                 );
                 CREATE INDEX sign_in_codes_by_keep ON sign_in_codes (keep_until);
                 CREATE TABLE staff_sessions (
                     token_hash TEXT PRIMARY KEY,
                     ends_at    TEXT NOT NULL,
                     doc        TEXT NOT NULL
                 );
                 CREATE INDEX staff_sessions_by_end ON staff_sessions (ends_at);",
            )
        },
    },
    Migration {
        what: "the host's own status: the readiness check's write, the last nightly run",
        apply: |tx| {
            tx.execute_batch(
                "CREATE TABLE host_status (
                     name TEXT PRIMARY KEY,
                     at   TEXT NOT NULL,
                     doc  TEXT NOT NULL
                 );",
            )
        },
    },
    Migration {
        what: "the event outbox: events written with the change they announce",
        apply: |tx| {
            // Relayed in the order written (the rowid).
            tx.execute_batch(
                "CREATE TABLE event_outbox (
                     id  TEXT PRIMARY KEY,
                     at  TEXT NOT NULL,
                     doc TEXT NOT NULL
                 );",
            )
        },
    },
    Migration {
        what: "the person index: where a person's data is, by a keyed hash of their address or number",
        apply: |tx| {
            tx.execute_batch(
                "CREATE TABLE person_index (
                     key   TEXT NOT NULL,
                     kind  TEXT NOT NULL,
                     id    TEXT NOT NULL,
                     until TEXT NOT NULL,
                     PRIMARY KEY (key, kind, id)
                 );
                 CREATE INDEX person_index_until ON person_index (until);",
            )?;
            // Every record written before holds the keys the domain gives
            // it: one pass over forms and cases, once.
            let forms: Vec<String> = tx
                .prepare("SELECT doc FROM forms")?
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            for doc in forms {
                if let Ok(f) = serde_json::from_str::<Form>(&doc) {
                    index_person_rows(tx, "form", &f.id, &f.person_keys(), f.personal_data_until)?;
                }
            }
            let cases: Vec<String> = tx
                .prepare("SELECT doc FROM cases")?
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            for doc in cases {
                if let Ok(c) = serde_json::from_str::<Case>(&doc) {
                    let until = c.complaint.personal_data_until;
                    index_person_rows(tx, "case", &c.id, &c.person_keys(), until)?;
                }
            }
            Ok(())
        },
    },
    Migration {
        what: "when each business was last emailed: the cap per business",
        apply: |tx| {
            tx.execute_batch(
                "CREATE TABLE invitation_slots (
                     tax_code  TEXT PRIMARY KEY,
                     last_at   TEXT NOT NULL
                 );",
            )
        },
    },
    Migration {
        what: "the counter tablets the department registered (kiosk mode)",
        apply: |tx| {
            tx.execute_batch(
                "CREATE TABLE kiosks (
                     id            TEXT PRIMARY KEY,
                     registered_at TEXT NOT NULL,
                     doc           TEXT NOT NULL
                 );",
            )
        },
    },
    Migration {
        what: "service times: a record per declaration, a snapshot per day it changed",
        apply: |tx| {
            tx.execute_batch(
                "CREATE TABLE declaration_times (
                     number  TEXT PRIMARY KEY,
                     version INTEGER NOT NULL,
                     doc     TEXT NOT NULL
                 );
                 CREATE TABLE times_by_day (
                     day    TEXT NOT NULL,
                     number TEXT NOT NULL,
                     doc    TEXT NOT NULL,
                     PRIMARY KEY (day, number)
                 );",
            )
        },
    },
    Migration {
        what: "the retaliation watch: times by office and business, and its cases",
        apply: |tx| {
            tx.execute_batch(
                "CREATE TABLE times_by_business (
                     office        TEXT NOT NULL,
                     tax_code      TEXT NOT NULL,
                     registered_at TEXT NOT NULL,
                     number        TEXT NOT NULL,
                     PRIMARY KEY (office, tax_code, registered_at, number)
                 );
                 CREATE TABLE watch_cases (
                     id        TEXT PRIMARY KEY,
                     raised_on TEXT NOT NULL,
                     version   INTEGER NOT NULL,
                     doc       TEXT NOT NULL
                 );
                 CREATE INDEX watch_cases_newest ON watch_cases (raised_on, id);",
            )?;
            // Times recorded before this release, indexed once from their documents.
            let docs: Vec<StoredDoc> = tx
                .prepare("SELECT doc FROM declaration_times")?
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            for doc in docs {
                if let Ok(times) = serde_json::from_slice(&doc.0) {
                    times::index_business(tx, &times)?;
                }
            }
            Ok(())
        },
    },
    Migration {
        what: "tables keyed by their own columns kept in key order (WITHOUT ROWID): one copy of each key, not a row and an index",
        apply: |tx| {
            // Each table is copied into its new layout and renamed: one pass
            // over it, once, in the migration's transaction. Rebuilding a table
            // already in this layout gives the same table.
            for (table, columns, key, indexes) in [
                (
                    "ratings",
                    "form_id TEXT NOT NULL, subject_key TEXT NOT NULL, day TEXT NOT NULL, submitted_at TEXT NOT NULL, doc TEXT NOT NULL",
                    "form_id, subject_key",
                    "CREATE INDEX ratings_by_day ON ratings (day, submitted_at, form_id, subject_key);",
                ),
                (
                    "person_index",
                    "key TEXT NOT NULL, kind TEXT NOT NULL, id TEXT NOT NULL, until TEXT NOT NULL",
                    "key, kind, id",
                    "CREATE INDEX person_index_until ON person_index (until);",
                ),
                (
                    "declaration_times",
                    "number TEXT NOT NULL, version INTEGER NOT NULL, doc TEXT NOT NULL",
                    "number",
                    "",
                ),
                (
                    "times_by_day",
                    "day TEXT NOT NULL, number TEXT NOT NULL, doc TEXT NOT NULL",
                    "day, number",
                    "",
                ),
                (
                    "times_by_business",
                    "office TEXT NOT NULL, tax_code TEXT NOT NULL, registered_at TEXT NOT NULL, number TEXT NOT NULL",
                    "office, tax_code, registered_at, number",
                    "",
                ),
            ] {
                let names: Vec<&str> = columns
                    .split(", ")
                    .filter_map(|c| c.split(' ').next())
                    .collect();
                let names = names.join(", ");
                tx.execute_batch(&format!(
                    "CREATE TABLE {table}_keyed ({columns}, PRIMARY KEY ({key})) WITHOUT ROWID;
                     INSERT INTO {table}_keyed ({names}) SELECT {names} FROM {table};
                     DROP TABLE {table};
                     ALTER TABLE {table}_keyed RENAME TO {table};
                     {indexes}"
                ))?;
            }
            Ok(())
        },
    },
];

/// Indexes a record under each person key it holds (already there: kept).
fn index_person_rows(
    tx: &rusqlite::Connection,
    kind: &str,
    id: &str,
    keys: &[String],
    until: DateTime<Utc>,
) -> rusqlite::Result<()> {
    let mut insert = tx.prepare_cached(
        "INSERT OR IGNORE INTO person_index (key, kind, id, until) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for key in keys {
        insert.execute(params![key, kind, id, ts(until)])?;
    }
    Ok(())
}

/// Fills a column added to `table` with what the domain says of each row's
/// document: one pass over the table, once, in the migration's transaction.
fn backfill<V: rusqlite::ToSql>(
    conn: &rusqlite::Connection,
    table: &str,
    column: &str,
    value_of: impl Fn(&str) -> V,
) -> rusqlite::Result<()> {
    let docs: Vec<(String, StoredDoc)> = conn
        .prepare(&format!("SELECT id, doc FROM {table}"))?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let mut update = conn.prepare(&format!("UPDATE {table} SET {column} = ?2 WHERE id = ?1"))?;
    for (id, doc) in docs {
        update.execute(params![
            id,
            value_of(std::str::from_utf8(&doc.0).unwrap_or_default())
        ])?;
    }
    Ok(())
}

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
        backfill(conn, "cases", "pii_until", |doc| {
            serde_json::from_str::<Case>(doc)
                .ok()
                .and_then(|c| c.personal_data_expiry())
                .map(ts)
        })?;
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
    /// The schema this version writes (its numbered migrations).
    pub const SCHEMA: usize = MIGRATIONS.len();

    pub fn open(path: &Path) -> anyhow::Result<SqliteStore> {
        Ok(SqliteStore {
            db: Db::open_migrated(path, "store", MIGRATIONS)?,
        })
    }

    /// Starts a bulk load: every write until `commit_bulk_load` goes through its
    /// usual path into one transaction (a generator writing a year of records
    /// commits once a day, not several times a record). Only for a store no
    /// one else is writing to.
    pub async fn begin_bulk_load(&self) -> PortResult<()> {
        self.db.begin_bulk().await
    }

    /// Commits what was written since `begin_bulk_load`.
    pub async fn commit_bulk_load(&self) -> PortResult<()> {
        self.db.commit_bulk().await
    }

    /// Records one of the host's own facts (`name`: `readiness`, `nightly`):
    /// a write of one small row, cheap enough for a load balancer's checks.
    pub async fn record_status(
        &self,
        name: &'static str,
        at: DateTime<Utc>,
        doc: serde_json::Value,
    ) -> PortResult<()> {
        let (at, doc) = (crate::db::ts(at), doc.to_string());
        self.db
            .call("host status", move |conn| {
                conn.execute(
                    "INSERT INTO host_status (name, at, doc) VALUES (?1, ?2, ?3)
                     ON CONFLICT (name) DO UPDATE SET at = excluded.at, doc = excluded.doc",
                    params![name, at, doc],
                )?;
                Ok(())
            })
            .await
    }

    /// One of the host's own facts, as last recorded.
    pub async fn status(&self, name: &'static str) -> PortResult<Option<serde_json::Value>> {
        self.db
            .call("host status", move |conn| {
                conn.query_row("SELECT doc FROM host_status WHERE name = ?1", [name], |r| {
                    r.get::<_, StoredDoc>(0)
                })
                .optional()?
                .map(|d| from_doc(&d))
                .transpose()
            })
            .await
    }
}

/// A record's document as stored (`doc.rs`: deflated JSON).
fn to_doc<T: Serialize>(t: &T) -> Result<Vec<u8>, StoreError> {
    doc::encode(&serde_json::to_vec(t)?)
}

fn from_doc<T: DeserializeOwned>(d: &StoredDoc) -> Result<T, StoreError> {
    Ok(serde_json::from_slice(&d.0)?)
}

/// Reads one page of (cursor key..., doc) rows: the query selects one more row
/// than asked, which tells whether a next page exists.
fn page_of<T: DeserializeOwned>(
    rows: Vec<(String, StoredDoc)>,
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
            Ok((r.get::<_, String>(0)?, r.get::<_, StoredDoc>(1)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    page_of(rows, page.limit)
}

fn load_form(conn: &rusqlite::Connection, id: &str) -> Result<Option<Form>, StoreError> {
    conn.query_row("SELECT doc FROM forms WHERE id = ?1", [id], |r| {
        r.get::<_, StoredDoc>(0)
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
    let tx = crate::db::write_tx(conn)?;
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

/// Puts events in the outbox within the caller's transaction; one already
/// there (same id) is kept as it is.
fn put_events(tx: &rusqlite::Connection, events: &[Event]) -> Result<(), StoreError> {
    let mut insert =
        tx.prepare_cached("INSERT OR IGNORE INTO event_outbox (id, at, doc) VALUES (?1, ?2, ?3)")?;
    for e in events {
        insert.execute(params![e.id, ts(e.occurred_at), to_doc(e)?])?;
    }
    Ok(())
}

fn load_case(conn: &rusqlite::Connection, id: &str) -> Result<Option<Case>, StoreError> {
    conn.query_row("SELECT doc FROM cases WHERE id = ?1", [id], |r| {
        r.get::<_, StoredDoc>(0)
    })
    .optional()?
    .map(|d| from_doc(&d))
    .transpose()
}

fn append_event(tx: &rusqlite::Connection, event: &CaseEvent) -> Result<(), StoreError> {
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

/// The case update conditional on its version, with its audit event and the
/// events it announces.
fn update_case_tx(
    tx: &rusqlite::Connection,
    case: &Case,
    expected_version: u32,
    event: &CaseEvent,
    announce: &[Event],
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
    put_events(tx, announce)?;
    Ok(UpdateCaseOutcome::Updated)
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

    /// The last migration keeps each keyed table's rows and stores them once,
    /// in key order: no rowid, no second copy of the key in an index.
    #[test]
    fn keyed_tables_keep_their_rows_without_a_rowid() {
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        let (last, before) = MIGRATIONS.split_last().unwrap();
        for m in before {
            let tx = conn.transaction().unwrap();
            (m.apply)(&tx).unwrap();
            tx.commit().unwrap();
        }
        conn.execute_batch(
            "INSERT INTO ratings (form_id, subject_key, day, submitted_at, doc) VALUES ('f1', 'office', '2026-12-07', 't', 'd');
             INSERT INTO person_index (key, kind, id, until) VALUES ('k', 'form', 'f1', 'u');
             INSERT INTO declaration_times (number, version, doc) VALUES ('101', 1, 'd');
             INSERT INTO times_by_day (day, number, doc) VALUES ('2026-12-07', '101', 'd');
             INSERT INTO times_by_business (office, tax_code, registered_at, number) VALUES ('91AA', '0100', 't', '101');",
        )
        .unwrap();
        let tx = conn.transaction().unwrap();
        (last.apply)(&tx).unwrap();
        tx.commit().unwrap();
        for table in [
            "ratings",
            "person_index",
            "declaration_times",
            "times_by_day",
            "times_by_business",
        ] {
            let rows: i64 = conn
                .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
                .unwrap();
            assert_eq!(rows, 1, "{table}");
            assert!(
                conn.prepare(&format!("SELECT rowid FROM {table}")).is_err(),
                "{table} has no rowid"
            );
        }
        let indexes: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name IN ('ratings_by_day', 'person_index_until')",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(indexes, 2);
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
            let day = vn_day(
                serde_json::from_str::<Form>(&before[0].1)
                    .unwrap()
                    .issued_at,
            );
            let ratings = store.ratings_on(day, PageRequest::first(10)).await.unwrap();
            assert_eq!(ratings.items.len(), 1);
            let case = store.case(&ratings.items[0].form_id).await.unwrap();
            assert!(case.is_some(), "its complaint case");
            assert!(store.current_org().await.unwrap().is_some());
            assert!(store.pending_invitations(10).await.unwrap().is_empty());
            // The person index was filled from the records written before it:
            // a person's request finds the old forms and the case.
            let form = serde_json::from_str::<Form>(&before[0].1).unwrap();
            let key = csq_core::domain::privacy::person::email_key(form.business.email.as_str());
            let held = store.records_of_person(&key, 100).await.unwrap();
            let forms = held
                .iter()
                .filter(|r| matches!(r, HeldRecord::Form(_)))
                .count();
            let cases = held
                .iter()
                .filter(|r| matches!(r, HeldRecord::Case(_)))
                .count();
            assert!(forms >= 1 && cases == 1, "{held:?}");
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
