//! The cases' nightly care: reminders before a due day, escalation of overdue
//! cases, and retention (contacts forgotten after the grace period, personal
//! data anonymised at its limit).

use super::Housekeeping;
use crate::app::{all_pages, emails};
use crate::domain::case::rules::StoredCaseRules;
use crate::domain::event::Event;
use crate::ports::{PageRequest, PortError, PortResult, UpdateCaseOutcome};

impl Housekeeping {
    /// Removes the complainant's contact from cases closed `contact_grace` ago
    /// (and from their forms), looking back a few days to catch up a missed
    /// night. Bounded by the cases closed on those days.
    pub async fn forget_closed_case_contacts(&self) -> PortResult<usize> {
        let now = self.clock.now();
        let grace = self.settings.contact_grace;
        let mut forgotten = 0;
        for day in Self::days_due(now, grace) {
            for case in all_pages(|p| self.cases.cases_closed_on(day, p)).await? {
                let Some((next, event)) = case.forget_contact(now, grace) else {
                    continue;
                };
                if self
                    .cases
                    .update_case(&next, case.version, &event, &[])
                    .await?
                    == UpdateCaseOutcome::Updated
                {
                    self.forms.forget_contact(&case.complaint.form_id).await?;
                    forgotten += 1;
                }
            }
        }
        Ok(forgotten)
    }

    /// One reminder per case and cycle, `remind_before` working days before
    /// its due day: claimed by a versioned update, so a rerun sends nothing twice.
    pub async fn remind_due_cases(&self) -> Result<usize, PortError> {
        let now = self.clock.now();
        let rules = StoredCaseRules::in_force(self.org.case_rules().await?).rules;
        // Cases due by the end of the working day `remind_before` from today
        // (the store's bound is exclusive, the deadline itself included).
        let horizon =
            rules.calendar().deadline(now, rules.remind_before) + chrono::Duration::seconds(1);
        let mut sent = 0;
        for case in all_pages(|p| self.cases.open_cases_due_before(horizon, p)).await? {
            if !case.reminder_due(now, &rules) {
                continue;
            }
            let (next, event) = case.remind(now);
            if self
                .cases
                .update_case(&next, case.version, &event, &[])
                .await?
                == UpdateCaseOutcome::Updated
            {
                let mail = emails::case_reminder(&next, &self.settings.staff_url);
                match self.mailer.send(&mail).await {
                    Ok(_) => sent += 1,
                    Err(e) => {
                        tracing::warn!(case_id = %case.id, error = %e, "case reminder failed")
                    }
                }
            }
        }
        Ok(sent)
    }

    /// Brings each overdue case to the head of the unit above the one holding
    /// it, one level per `escalate_every` working days past the due date, up
    /// to the authority: a versioned update claims each level, so a rerun
    /// sends nothing twice. Returns how many escalations were made.
    pub async fn escalate_overdue(&self) -> Result<usize, PortError> {
        let now = self.clock.now();
        let Some((_, org)) = self.directory.current_org().await? else {
            return Ok(0);
        };
        let rules = StoredCaseRules::in_force(self.org.case_rules().await?).rules;
        let mut escalated = 0;
        let mut page = PageRequest::first(100);
        loop {
            let batch = self.cases.open_cases_due_before(now, page.clone()).await?;
            for case in &batch.items {
                let Some((unit, head)) = case.next_escalation(&org, now, &rules) else {
                    continue;
                };
                let (next, event) = case.escalate(unit, head, now);
                let announce = Event::case_changes(case, &next, now);
                if self
                    .cases
                    .update_case(&next, case.version, &event, &announce)
                    .await?
                    == UpdateCaseOutcome::Updated
                {
                    self.events.publish(announce).await;
                    let mail = emails::case_escalated(
                        case,
                        &head.name,
                        &head.email,
                        &self.settings.staff_url,
                    );
                    if let Err(e) = self.mailer.send(&mail).await {
                        tracing::warn!(case_id = %case.id, error = %e, "escalation email failed");
                    }
                    escalated += 1;
                }
            }
            match batch.next {
                Some(next) => page.after = Some(next),
                None => break,
            }
        }
        Ok(escalated)
    }

    /// Anonymises closed cases whose personal data expired (and the
    /// complainant's form contact with them): the case, its finding and its
    /// trail stay. Bounded by the cases that still hold personal data.
    pub async fn anonymise_expired_cases(&self) -> Result<usize, PortError> {
        let now = self.clock.now();
        let mut done = 0;
        for case in all_pages(|p| self.cases.cases_with_personal_data_before(now, p)).await? {
            let Some((next, event)) = case.anonymise(now) else {
                continue;
            };
            if self
                .cases
                .update_case(&next, case.version, &event, &[])
                .await?
                == UpdateCaseOutcome::Updated
            {
                done += 1;
            }
        }
        Ok(done)
    }
}
