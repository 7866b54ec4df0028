//! One SQLite connection per file, used from async code through spawn_blocking.

use std::path::Path;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, SecondsFormat, Utc};
use csq_core::ports::{PortError, PortResult};
use rusqlite::{Connection, Savepoint, Transaction, TransactionBehavior};

#[derive(Clone)]
pub(crate) struct Db {
    conn: Arc<Mutex<Connection>>,
    name: &'static str,
}

impl Db {
    /// Opens (creating if needed) a database file whose schema is a numbered
    /// list of migrations. WAL with `synchronous=FULL`: a committed write
    /// survives a crash of the process and of the machine, which is what
    /// "never lose accepted data" needs.
    ///
    /// The migrations:
    /// those the file has not had yet are applied in order, each in its own
    /// transaction with the number it reached (`PRAGMA user_version`), so an
    /// interrupted upgrade resumes where it stopped. A file a newer version
    /// wrote (a number past the list) is refused before anything is written.
    pub(crate) fn open_migrated(
        path: &Path,
        name: &'static str,
        migrations: &[Migration],
    ) -> anyhow::Result<Db> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        // Read the schema number before anything can write (switching to WAL
        // writes the file header).
        let mut conn = Connection::open(path)?;
        let reached: usize = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if reached > migrations.len() {
            anyhow::bail!(
                "{} was written by a newer version of CSQ (schema {reached}; this version \
                 knows schemas up to {}). Nothing was changed: run that newer version, or \
                 restore a backup this version wrote.",
                path.display(),
                migrations.len()
            );
        }
        Db::configure(&conn)?;
        for (n, m) in migrations.iter().enumerate().skip(reached) {
            let tx = conn.transaction()?;
            (m.apply)(&tx).map_err(|e| {
                anyhow::anyhow!("{}: migration {} ({}): {e}", path.display(), n + 1, m.what)
            })?;
            tx.pragma_update(None, "user_version", n + 1)?;
            tx.commit()?;
            tracing::info!(file = %path.display(), migration = n + 1, what = m.what, "schema migrated");
        }
        Ok(Db {
            conn: Arc::new(Mutex::new(conn)),
            name,
        })
    }

    fn configure(conn: &Connection) -> rusqlite::Result<()> {
        // First: a command run beside `csq serve` (which may be writing) waits
        // for the lock instead of failing at once with "database is locked",
        // the journal-mode switch included.
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")
    }

    /// Opens one transaction that every store write joins (each as a savepoint)
    /// until `commit_bulk`: a bulk load commits once per batch, not once per
    /// record. Reads on this connection see the load's writes; other processes
    /// see them at the commit. Nothing else should share the store meanwhile.
    pub(crate) async fn begin_bulk(&self) -> PortResult<()> {
        self.call("begin bulk load", |conn| {
            conn.execute_batch("BEGIN IMMEDIATE")?;
            Ok(())
        })
        .await
    }

    /// Commits the bulk load's transaction (`begin_bulk`).
    pub(crate) async fn commit_bulk(&self) -> PortResult<()> {
        self.call("commit bulk load", |conn| {
            conn.execute_batch("COMMIT")?;
            Ok(())
        })
        .await
    }

    /// Runs `f` with the connection on a blocking thread.
    pub(crate) async fn call<T, F>(&self, what: &'static str, f: F) -> PortResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let conn = self.conn.clone();
        let name = self.name;
        // The store call under the use case's span (spawn_blocking loses it).
        let span = tracing::debug_span!("store", db = name, call = what);
        tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            let mut guard = conn
                .lock()
                .map_err(|_| StoreError::Other("connection lock poisoned".into()))?;
            f(&mut guard)
        })
        .await
        .map_err(|e| PortError::new(format!("{name}: {what}"), e))?
        .map_err(|e| match e {
            StoreError::BadCursor => PortError::bad_cursor(format!("{name}: {what}")),
            e => PortError::new(format!("{name}: {what}"), e),
        })
    }
}

/// The transaction of one store write: its own `BEGIN IMMEDIATE` (the check and the
/// write cannot interleave with another process's writer), or, inside a bulk load's
/// transaction (`Db::begin_bulk`), a savepoint of it, so the same write path commits
/// into the load and still undoes just its own work when it fails.
pub(crate) enum WriteTx<'c> {
    Own(Transaction<'c>),
    InBulk(Savepoint<'c>),
}

impl WriteTx<'_> {
    pub(crate) fn commit(self) -> rusqlite::Result<()> {
        match self {
            WriteTx::Own(tx) => tx.commit(),
            WriteTx::InBulk(sp) => sp.commit(),
        }
    }
}

impl std::ops::Deref for WriteTx<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        match self {
            WriteTx::Own(tx) => tx,
            WriteTx::InBulk(sp) => sp,
        }
    }
}

/// Begins a store write (see `WriteTx`).
pub(crate) fn write_tx(conn: &mut Connection) -> rusqlite::Result<WriteTx<'_>> {
    if conn.is_autocommit() {
        Ok(WriteTx::Own(conn.transaction_with_behavior(
            TransactionBehavior::Immediate,
        )?))
    } else {
        Ok(WriteTx::InBulk(conn.savepoint()?))
    }
}

/// One step of a database's schema, applied once, in order.
/// The schema number a database file carries (None: no file yet), read
/// without writing anything.
pub fn schema_of(path: &Path) -> anyhow::Result<Option<usize>> {
    if !path.exists() {
        return Ok(None);
    }
    let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    Ok(Some(conn.pragma_query_value(
        None,
        "user_version",
        |r| r.get(0),
    )?))
}

pub(crate) struct Migration {
    /// What it does, for the log and for errors.
    pub(crate) what: &'static str,
    pub(crate) apply: fn(&rusqlite::Transaction) -> rusqlite::Result<()>,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum StoreError {
    #[error(transparent)]
    Sql(#[from] rusqlite::Error),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    #[error("{0}")]
    Other(String),
    #[error("malformed cursor")]
    BadCursor,
}

/// Timestamps as fixed-width RFC 3339 UTC strings, so text order is time order.
pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Splits a cursor made of `|`-separated parts.
pub(crate) fn cursor_parts(
    cursor: &Option<String>,
    n: usize,
) -> Result<Option<Vec<String>>, StoreError> {
    match cursor {
        None => Ok(None),
        Some(c) => {
            let parts: Vec<String> = c.split('|').map(str::to_owned).collect();
            if parts.len() == n {
                Ok(Some(parts))
            } else {
                Err(StoreError::BadCursor)
            }
        }
    }
}
