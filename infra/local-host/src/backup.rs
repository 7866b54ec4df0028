//! `csq backup FILE` and `csq restore FILE`: a consistent copy of a data
//! directory while `csq serve` keeps taking submissions, and its return.
//!
//! Each database (the store, the complaint queue, the webhook outbox, the mail
//! relay's queue) is copied with SQLite's online backup API in one step, so
//! the copy is the database as one read transaction saw it: every write
//! committed before that moment, nothing half-written, while writers go on (WAL).
//! The store is copied first. `secrets.json` (the link keys) goes too; the
//! outbox's `.eml` files do not (the record of sent mail, kept where it is).
//!
//! The backup FILE is itself a SQLite database: each part in chunks of 16 MB
//! (memory stays bounded whatever the size) with its SHA-256, and `FILE.sha256`
//! beside it holds the whole file's. A restore checks all of it, and each
//! database's integrity, before it replaces anything, and refuses while a
//! `csq serve` holds the data directory.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use rusqlite::{Connection, OpenFlags, params};
use sha2::{Digest, Sha256};

/// The databases of a data directory, in the order they are copied.
pub const DATABASES: &[&str] = &[
    "csq.sqlite",
    "queue.sqlite",
    "webhooks.sqlite",
    "mail.sqlite",
];
const SECRETS: &str = "secrets.json";
const CHUNK: usize = 16 * 1024 * 1024;
/// Held by `csq serve` for as long as it runs.
const LOCK: &str = ".serve.lock";

/// What a backup holds.
#[derive(Debug)]
pub struct BackupSummary {
    pub parts: Vec<(String, u64)>,
    pub sha256: String,
}

/// Holds the data directory for a running host; a restore cannot take it.
pub struct ServeLock(#[allow(dead_code)] File);

pub fn lock_for_serving(data_dir: &Path) -> anyhow::Result<ServeLock> {
    std::fs::create_dir_all(data_dir)?;
    let file = File::create(data_dir.join(LOCK))?;
    match file.try_lock() {
        Ok(()) => Ok(ServeLock(file)),
        Err(_) => bail!(
            "another csq serve is running on {}: one host per data directory",
            data_dir.display()
        ),
    }
}

/// Copies the data directory into `file` (which must not exist yet).
pub fn backup(data_dir: &Path, file: &Path) -> anyhow::Result<BackupSummary> {
    if file.exists() {
        bail!(
            "{} exists: a backup never overwrites a file",
            file.display()
        );
    }
    let partial = file.with_extension("partial");
    let _ = std::fs::remove_file(&partial);
    let archive = Connection::open(&partial)?;
    archive.execute_batch(
        "PRAGMA journal_mode = OFF;
         CREATE TABLE parts (name TEXT PRIMARY KEY, bytes INTEGER NOT NULL, sha256 TEXT NOT NULL);
         CREATE TABLE chunks (name TEXT NOT NULL, seq INTEGER NOT NULL, data BLOB NOT NULL,
                              PRIMARY KEY (name, seq));",
    )?;
    let mut parts = Vec::new();
    let scratch = tempfile::tempdir_in(file.parent().unwrap_or(Path::new(".")))?;
    for name in DATABASES {
        let source = data_dir.join(name);
        if !source.exists() {
            continue;
        }
        let copy = scratch.path().join(name);
        snapshot(&source, &copy).with_context(|| format!("copying {name}"))?;
        parts.push((name.to_string(), store_part(&archive, name, &copy)?));
    }
    let secrets = data_dir.join(SECRETS);
    if secrets.exists() {
        parts.push((SECRETS.to_owned(), store_part(&archive, SECRETS, &secrets)?));
    }
    drop(archive);
    let sha256 = sha256_of(&partial)?;
    std::fs::rename(&partial, file)?;
    std::fs::write(
        sidecar(file),
        format!(
            "{sha256}  {}\n",
            file.file_name().unwrap_or_default().to_string_lossy()
        ),
    )?;
    Ok(BackupSummary { parts, sha256 })
}

/// One read transaction's view of `source`, written to `copy`.
fn snapshot(source: &Path, copy: &Path) -> anyhow::Result<()> {
    let src = Connection::open_with_flags(source, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let mut dst = Connection::open(copy)?;
    let backup = rusqlite::backup::Backup::new(&src, &mut dst)?;
    // Every page in one step: one read transaction, so one moment.
    backup.step(-1)?;
    Ok(())
}

/// Stores `path` as `name`'s chunks; returns its size.
fn store_part(archive: &Connection, name: &str, path: &Path) -> anyhow::Result<u64> {
    let mut input = File::open(path)?;
    let mut hash = Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    let (mut seq, mut total) = (0i64, 0u64);
    loop {
        let n = read_full(&mut input, &mut buf)?;
        if n == 0 {
            break;
        }
        hash.update(&buf[..n]);
        archive.execute(
            "INSERT INTO chunks (name, seq, data) VALUES (?1, ?2, ?3)",
            params![name, seq, &buf[..n]],
        )?;
        seq += 1;
        total += n as u64;
    }
    archive.execute(
        "INSERT INTO parts (name, bytes, sha256) VALUES (?1, ?2, ?3)",
        params![name, total as i64, hex(&hash.finalize())],
    )?;
    Ok(total)
}

fn read_full(input: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match input.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Puts the backup `file` back as the data directory's content, after
/// checking it whole; refuses while a host serves the directory.
pub fn restore(data_dir: &Path, file: &Path) -> anyhow::Result<Vec<(String, u64)>> {
    let _lock = lock_for_serving(data_dir)
        .context("the data directory is in use: stop csq serve before restoring")?;
    let expected = std::fs::read_to_string(sidecar(file))
        .with_context(|| format!("{} has no checksum file beside it", file.display()))?;
    let expected = expected.split_whitespace().next().unwrap_or_default();
    let actual = sha256_of(file)?;
    if expected != actual {
        bail!(
            "{} does not match its checksum: damaged or changed",
            file.display()
        );
    }
    let archive = Connection::open_with_flags(file, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let parts: Vec<(String, i64, String)> = archive
        .prepare("SELECT name, bytes, sha256 FROM parts ORDER BY rowid")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    if !parts.iter().any(|(n, _, _)| n == DATABASES[0]) {
        bail!("{} holds no store", file.display());
    }
    // Everything is written beside its place and checked before any moves in.
    let mut staged: Vec<(PathBuf, PathBuf)> = Vec::new();
    for (name, bytes, sha256) in &parts {
        if !(DATABASES.contains(&name.as_str()) || name == SECRETS) {
            bail!("{} holds an unknown part {name:?}", file.display());
        }
        let target = data_dir.join(name);
        let staging = data_dir.join(format!(".{name}.restoring"));
        let mut out = File::create(&staging)?;
        let mut hash = Sha256::new();
        let mut written = 0i64;
        let mut stmt = archive.prepare("SELECT data FROM chunks WHERE name = ?1 ORDER BY seq")?;
        let mut rows = stmt.query([name])?;
        while let Some(row) = rows.next()? {
            let data: Vec<u8> = row.get(0)?;
            hash.update(&data);
            out.write_all(&data)?;
            written += data.len() as i64;
        }
        out.sync_all()?;
        if written != *bytes || hex(&hash.finalize()) != *sha256 {
            bail!(
                "{name} in {} is damaged: nothing was restored",
                file.display()
            );
        }
        if name.ends_with(".sqlite") {
            let check: String =
                Connection::open(&staging)?
                    .query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
            if check != "ok" {
                bail!("{name} fails SQLite's integrity check ({check}): nothing was restored");
            }
        }
        staged.push((staging, target));
    }
    for name in DATABASES {
        for suffix in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(data_dir.join(format!("{name}{suffix}")));
        }
    }
    for (staging, target) in &staged {
        std::fs::rename(staging, target)?;
    }
    Ok(parts.into_iter().map(|(n, b, _)| (n, b as u64)).collect())
}

/// Before a newer `csq` migrates a data directory at start, a backup of it
/// as it was: `backups/pre-upgrade-<time>.backup` in the data directory (the
/// way back, with the previous binary). Nothing when every database is
/// current or none exists yet. Returns the backup written, if any.
pub fn before_upgrade(
    data_dir: &Path,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<Option<PathBuf>> {
    let current = [
        (DATABASES[0], csq_local::SqliteStore::SCHEMA),
        (DATABASES[1], csq_local::SqliteQueue::SCHEMA),
        (DATABASES[2], csq_local::Webhooks::SCHEMA),
        (DATABASES[3], csq_local::MailRelay::SCHEMA),
    ];
    let mut behind = false;
    for (name, schema) in current {
        if let Some(found) = csq_local::schema_of(&data_dir.join(name))? {
            behind |= found < schema;
        }
    }
    if !behind {
        return Ok(None);
    }
    let file = data_dir.join("backups").join(format!(
        "pre-upgrade-{}.backup",
        now.format("%Y%m%dT%H%M%SZ")
    ));
    std::fs::create_dir_all(file.parent().unwrap_or(data_dir))?;
    backup(data_dir, &file).context("the backup before upgrading the data directory")?;
    tracing::info!(file = %file.display(), "data directory backed up before its upgrade");
    Ok(Some(file))
}

/// The daily backup: `csq-YYYY-MM-DD.backup` (the day the nightly run
/// rolled up) in `dir`, then only the newest `keep` of them are kept.
pub fn daily(
    data_dir: &Path,
    dir: &Path,
    day: chrono::NaiveDate,
    keep: usize,
) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let file = dir.join(format!("csq-{day}.backup"));
    if !file.exists() {
        backup(data_dir, &file)?;
    }
    let mut ours: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("csq-") && n.ends_with(".backup"))
        })
        .collect();
    // The names sort by day.
    ours.sort();
    let excess = ours.len().saturating_sub(keep);
    for old in &ours[..excess] {
        std::fs::remove_file(old)?;
        let _ = std::fs::remove_file(sidecar(old));
    }
    Ok(file)
}

fn sidecar(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".sha256");
    PathBuf::from(name)
}

fn sha256_of(path: &Path) -> anyhow::Result<String> {
    let mut input = File::open(path)?;
    let mut hash = Sha256::new();
    let mut buf = vec![0u8; 1024 * 1024];
    loop {
        let n = input.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hash.update(&buf[..n]);
    }
    Ok(hex(&hash.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
