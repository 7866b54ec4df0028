//! Staff handling of cases: verify, resolve, dismiss, note; overdue escalation.

use super::Csq;
use super::emails;
use crate::auth::scope::Scope;
use crate::domain::case::{Case, CaseAction, CaseEvent, CaseRuleError, apply_staff_action};
use crate::ports::{PageRequest, PortError, UpdateCaseOutcome};

#[derive(Debug, thiserror::Error)]
pub enum CaseActionError {
    #[error("no such case")]
    NotFound,
    #[error("unknown action; use verify, resolve, dismiss or note")]
    UnknownAction,
    #[error(transparent)]
    Rule(#[from] CaseRuleError),
    #[error("the case was changed by someone else; reload it and try again")]
    Conflict,
    #[error(transparent)]
    Storage(#[from] PortError),
}

impl Csq {
    /// Applies a staff action. Resolving or dismissing emails the business the
    /// finding; a mail failure is recorded in the trail, not hidden.
    pub async fn act_on_case(
        &self,
        who: &Scope,
        case_id: &str,
        action: &str,
        note: &str,
    ) -> Result<(Case, Vec<CaseEvent>), CaseActionError> {
        let action = CaseAction::from_staff_code(action).ok_or(CaseActionError::UnknownAction)?;
        let case = self
            .cases
            .case(case_id)
            .await?
            .ok_or(CaseActionError::NotFound)?;
        // Someone outside the case's scope learns nothing about it, not even that it exists.
        if !crate::policy::sees_case(who, &case) {
            return Err(CaseActionError::NotFound);
        }
        let now = self.clock.now();
        let (next, event) = apply_staff_action(&case, action, note, &who.who.sub, now)?;
        if self.cases.update_case(&next, case.version, &event).await? == UpdateCaseOutcome::Conflict
        {
            return Err(CaseActionError::Conflict);
        }
        tracing::info!(case_id, action = action.code(), "case action");
        let mut current = next;
        if current.status.is_closed() {
            let email = emails::case_outcome(&current);
            let note = match self.mailer.send(&email).await {
                Ok(id) => format!(
                    "outcome emailed to {} ({id})",
                    current.complaint.business.email
                ),
                Err(e) => format!("outcome email failed: {e}"),
            };
            let mut after = current.clone();
            after.version += 1;
            let ev = CaseEvent {
                case_id: current.id.clone(),
                at: self.clock.now(),
                actor: "csq".into(),
                action: CaseAction::BusinessNotified,
                note: Some(note),
                status_after: current.status,
            };
            if self.cases.update_case(&after, current.version, &ev).await?
                == UpdateCaseOutcome::Updated
            {
                current = after;
            }
        }
        let events = self.cases.case_events(case_id).await?;
        Ok((current, events))
    }

    /// Brings each overdue case to the head of the unit above the one holding
    /// it, one level per `case_due` past the due date, up to the authority: a
    /// versioned update claims each level, so a rerun sends nothing twice.
    /// Returns how many escalations were made.
    pub async fn escalate_overdue(&self) -> Result<usize, PortError> {
        let now = self.clock.now();
        let Some((_, org)) = self.current_org().await? else {
            return Ok(0);
        };
        let every = self.settings.case_due;
        let mut escalated = 0;
        let mut page = PageRequest::first(100);
        loop {
            let batch = self.cases.open_cases_due_before(now, page.clone()).await?;
            for case in &batch.items {
                let Some((unit, head)) = case.next_escalation(&org, now, every) else {
                    continue;
                };
                let (next, event) = case.escalate(unit, head, now);
                if self.cases.update_case(&next, case.version, &event).await?
                    == UpdateCaseOutcome::Updated
                {
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
}
