//! One SQLite connection per file, used from async code through spawn_blocking.

use std::path::Path;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, SecondsFormat, Utc};
use csq_core::ports::{PortError, PortResult};
use rusqlite::Connection;

#[derive(Clone)]
pub(crate) struct Db {
    conn: Arc<Mutex<Connection>>,
    name: &'static str,
}

impl Db {
    /// Opens (creating if needed) a database file and applies `schema`.
    /// WAL with `synchronous=FULL`: a committed write survives a crash of the
    /// process and of the machine, which is what "never lose accepted data" needs.
    pub(crate) fn open(path: &Path, name: &'static str, schema: &str) -> anyhow::Result<Db> {
        Db::open_with(path, name, schema, |_| Ok(()))
    }

    /// As `open`, then `upgrade` brings a file an older version wrote up to `schema`.
    pub(crate) fn open_with(
        path: &Path,
        name: &'static str,
        schema: &str,
        upgrade: fn(&Connection) -> rusqlite::Result<()>,
    ) -> anyhow::Result<Db> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(schema)?;
        upgrade(&conn)?;
        Ok(Db {
            conn: Arc::new(Mutex::new(conn)),
            name,
        })
    }

    /// Runs `f` with the connection on a blocking thread.
    pub(crate) async fn call<T, F>(&self, what: &'static str, f: F) -> PortResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let conn = self.conn.clone();
        let name = self.name;
        tokio::task::spawn_blocking(move || {
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
