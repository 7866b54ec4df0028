//! What a case keeps and for how long: the contact goes a grace period after
//! closing, personal data at its limit; the case and its finding stay.

use super::*;

/// The address a case keeps for its business once its personal data went
/// (`.invalid` is reserved: nothing can ever be delivered there).
pub const REMOVED_EMAIL: &str = "removed@anonymised.invalid";

impl Case {
    /// The complainant's contact goes once the case has been closed for `grace`:
    /// the case, its finding and its audit trail stay. None when not yet due.
    pub fn forget_contact(
        &self,
        now: DateTime<Utc>,
        grace: chrono::Duration,
    ) -> Option<(Case, CaseEvent)> {
        let closed_at = self.closed_at.filter(|_| self.status.is_closed())?;
        if now < closed_at + grace || self.complaint.contact.is_none() {
            return None;
        }
        let mut next = self.clone();
        next.complaint.contact = None;
        next.version += 1;
        let event = self.event(
            now,
            "nightly",
            CaseAction::Note,
            Some("complainant contact removed: the case closed and its grace period passed".into()),
            self.status,
        );
        Some((next, event))
    }

    /// When this case's personal data must go, while it still holds some: a
    /// closed case not yet anonymised. An open case keeps its contact until it
    /// is answered (the business is owed the answer), then goes the night after.
    pub fn personal_data_expiry(&self) -> Option<DateTime<Utc>> {
        (self.status.is_closed() && self.anonymised_at.is_none())
            .then_some(self.complaint.personal_data_until)
    }

    /// Strips what identifies a person (the contact, the business's email);
    /// the case, its finding, its officers and its trail stay for discipline
    /// records. None when not yet due.
    pub fn anonymise(&self, now: DateTime<Utc>) -> Option<(Case, CaseEvent)> {
        if !crate::domain::time::has_passed(self.personal_data_expiry()?, now) {
            return None;
        }
        Some(self.stripped(
            now,
            "nightly",
            "personal data expired: contact details removed, the case and its finding kept",
        ))
    }

    /// A person asked for their data to be erased: the same as retention
    /// does at its limit, now, whatever the case's state. None when the case
    /// holds none of it any more.
    pub fn erase_personal_data(&self, now: DateTime<Utc>, by: &str) -> Option<(Case, CaseEvent)> {
        if self.person_keys().is_empty() {
            return None;
        }
        Some(self.stripped(
            now,
            by,
            "personal data erased at the person's request: contact details removed, the case and its finding kept",
        ))
    }

    fn stripped(&self, now: DateTime<Utc>, actor: &str, note: &str) -> (Case, CaseEvent) {
        let mut next = self.clone();
        next.complaint.contact = None;
        next.complaint.business.email =
            EmailAddress::parse(REMOVED_EMAIL).expect("the removed-address marker parses");
        next.anonymised_at = Some(now);
        next.version += 1;
        let event = self.event(
            now,
            actor,
            CaseAction::Anonymised,
            Some(note.into()),
            self.status,
        );
        (next, event)
    }
}
