//! Sign-in codes and staff sessions on SQLite: kept by hashes only, each with
//! the instant the domain says it may go, so the nightly drop reads an index.

use super::*;
use csq_core::domain::sign_in::{SignInCode, StaffSession};
use csq_core::ports::StaffSessions;

#[async_trait]
impl StaffSessions for SqliteStore {
    async fn sign_in_code(&self, address_key: &str) -> PortResult<Option<SignInCode>> {
        let key = address_key.to_owned();
        self.db
            .call("sign-in code", move |conn| {
                let doc: Option<StoredDoc> = conn
                    .prepare_cached("SELECT doc FROM sign_in_codes WHERE address_key = ?1")?
                    .query_row([key], |r| r.get(0))
                    .optional()?;
                doc.map(|d| from_doc(&d)).transpose()
            })
            .await
    }

    async fn put_sign_in_code(&self, code: &SignInCode) -> PortResult<bool> {
        let code = code.clone();
        self.db
            .call("put sign-in code", move |conn| {
                let doc = to_doc(&code)?;
                let keep = ts(code.keep_until());
                let changed = if code.version == 0 {
                    conn.prepare_cached(
                        "INSERT INTO sign_in_codes (address_key, version, keep_until, doc)
                         VALUES (?1, 0, ?2, ?3) ON CONFLICT (address_key) DO NOTHING",
                    )?
                    .execute(params![code.address_key, keep, doc])?
                } else {
                    conn.prepare_cached(
                        "UPDATE sign_in_codes SET version = ?2, keep_until = ?3, doc = ?4
                         WHERE address_key = ?1 AND version = ?2 - 1",
                    )?
                    .execute(params![
                        code.address_key,
                        code.version,
                        keep,
                        doc
                    ])?
                };
                Ok(changed == 1)
            })
            .await
    }

    async fn session(&self, token_hash: &str) -> PortResult<Option<StaffSession>> {
        let key = token_hash.to_owned();
        self.db
            .call("staff session", move |conn| {
                let doc: Option<StoredDoc> = conn
                    .prepare_cached("SELECT doc FROM staff_sessions WHERE token_hash = ?1")?
                    .query_row([key], |r| r.get(0))
                    .optional()?;
                doc.map(|d| from_doc(&d)).transpose()
            })
            .await
    }

    async fn put_session(&self, session: &StaffSession) -> PortResult<()> {
        let session = session.clone();
        self.db
            .call("put staff session", move |conn| {
                conn.prepare_cached(
                    "INSERT OR REPLACE INTO staff_sessions (token_hash, ends_at, doc) VALUES (?1, ?2, ?3)",
                )?
                .execute(params![
                    session.token_hash,
                    ts(session.ends_at()),
                    to_doc(&session)?
                ])?;
                Ok(())
            })
            .await
    }

    async fn end_session(&self, token_hash: &str) -> PortResult<()> {
        let key = token_hash.to_owned();
        self.db
            .call("end staff session", move |conn| {
                conn.prepare_cached("DELETE FROM staff_sessions WHERE token_hash = ?1")?
                    .execute([key])?;
                Ok(())
            })
            .await
    }

    async fn drop_ended_sign_ins(&self, now: DateTime<Utc>) -> PortResult<u64> {
        let now = ts(now);
        self.db
            .call("drop ended sign-ins", move |conn| {
                let tx = crate::db::write_tx(conn)?;
                // The one boundary rule: ended at the instant named.
                let sessions =
                    tx.execute("DELETE FROM staff_sessions WHERE ends_at <= ?1", [&now])?;
                let codes =
                    tx.execute("DELETE FROM sign_in_codes WHERE keep_until <= ?1", [&now])?;
                tx.commit()?;
                Ok((sessions + codes) as u64)
            })
            .await
    }
}
