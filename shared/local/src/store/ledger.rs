//! The cap per business on SQLite: one row per tax code, taken by one
//! conditional upsert (SQLite runs it atomically), so two forms issued at
//! the same moment send one email.

use csq_core::domain::survey::InvitationCap;

use super::*;

#[async_trait]
impl InvitationLedger for SqliteStore {
    async fn take_invitation_slot(
        &self,
        tax_code: &str,
        now: DateTime<Utc>,
        cap: &InvitationCap,
    ) -> PortResult<bool> {
        let (tax_code, now, cutoff) = (tax_code.to_owned(), ts(now), ts(cap.cutoff(now)));
        self.db
            .call("take invitation slot", move |conn| {
                let n = conn.execute(
                    "INSERT INTO invitation_slots (tax_code, last_at) VALUES (?1, ?2)
                     ON CONFLICT (tax_code) DO UPDATE SET last_at = excluded.last_at
                     WHERE invitation_slots.last_at <= ?3",
                    params![tax_code, now, cutoff],
                )?;
                Ok(n == 1)
            })
            .await
    }

    async fn give_back_invitation_slot(
        &self,
        tax_code: &str,
        taken_at: DateTime<Utc>,
    ) -> PortResult<()> {
        let (tax_code, taken_at) = (tax_code.to_owned(), ts(taken_at));
        self.db
            .call("give back invitation slot", move |conn| {
                conn.execute(
                    "DELETE FROM invitation_slots WHERE tax_code = ?1 AND last_at = ?2",
                    params![tax_code, taken_at],
                )?;
                Ok(())
            })
            .await
    }
}
