//! Case handling: staff actions (verify, transfer, resolve with a finding,
//! dismiss, note), the business's answer through the outcome link (accept,
//! rate the handling, appeal), and the nightly reminders, escalations and
//! anonymisation. Deadlines count working days from the department's rules.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::Csq;
use super::emails;
use super::nightly::all_pages;
use crate::auth::link::LinkPurpose;
use crate::auth::scope::Scope;
use crate::domain::case::rules::{CaseRules, StoredCaseRules};
use crate::domain::case::{
    BusinessAction, Case, CaseAction, CaseEvent, CaseRuleError, Conclusion, HandlingRatingRecord,
    ResponseError, StaffAction, appeal_reviewer, apply_staff_action, transfer_target,
};
use crate::domain::event::Event;
use crate::domain::fields::FieldError;
use crate::ports::{PageRequest, PortError, SaveOrgOutcome, UpdateCaseOutcome};

/// A staff action as the API and the dashboard send it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseActionRequest {
    pub action: String,
    /// The note, the outcome text for the business, or the transfer reason.
    #[serde(default)]
    pub note: String,
    /// Transfer target: a unit code, or `inspection`.
    pub to: Option<String>,
    /// The finding of a resolved complaint.
    pub upheld: Option<bool>,
    #[serde(default)]
    pub officers: Vec<String>,
    pub violation_category: Option<String>,
    pub measure: Option<String>,
    /// The case version the caller saw: a stale one gets 409 with the current case.
    pub version: Option<u32>,
}

#[derive(Debug, thiserror::Error)]
pub enum CaseActionError {
    #[error("no such case")]
    NotFound,
    #[error("unknown action; use verify, transfer, resolve, dismiss or note")]
    UnknownAction,
    #[error(transparent)]
    Rule(#[from] CaseRuleError),
    /// Someone changed the case first: here it is as it stands now.
    #[error("the case was changed by someone else (now version {}); reload it and try again", .0.version)]
    Conflict(Box<Case>),
    #[error(transparent)]
    Storage(#[from] PortError),
}

#[derive(Debug, thiserror::Error)]
pub enum CaseRulesError {
    #[error("the case rules have problems")]
    Invalid(Vec<FieldError>),
    #[error("the case rules were changed by someone else (now version {0}); reload and try again")]
    Conflict(u32),
    #[error(transparent)]
    Storage(#[from] PortError),
}

/// What the outcome link can do.
#[derive(Debug, thiserror::Error)]
pub enum OutcomeLinkError {
    #[error("the link is not valid")]
    Invalid,
    #[error(transparent)]
    Response(#[from] ResponseError),
    #[error("the case changed meanwhile; open the link again")]
    Conflict,
    #[error(transparent)]
    Storage(#[from] PortError),
}

impl Csq {
    /// The case rules in force: the department's, or the defaults (no holidays).
    pub async fn case_rules(&self) -> Result<StoredCaseRules, PortError> {
        Ok(self
            .org
            .case_rules()
            .await?
            .unwrap_or_else(|| StoredCaseRules {
                version: 0,
                saved_by: "default".into(),
                saved_at: DateTime::<Utc>::UNIX_EPOCH,
                rules: CaseRules::default(),
            }))
    }

    /// Replaces the case rules: validated, and conditional on the version the
    /// editor read (`expected`; None: whatever is in force).
    #[tracing::instrument(name = "replace_case_rules", skip_all)]
    pub async fn replace_case_rules(
        &self,
        who: &str,
        rules: CaseRules,
        expected: Option<u32>,
    ) -> Result<StoredCaseRules, CaseRulesError> {
        rules.validate().map_err(CaseRulesError::Invalid)?;
        let current = self.case_rules().await?;
        if expected.is_some_and(|v| v != current.version) {
            return Err(CaseRulesError::Conflict(current.version));
        }
        if current.rules == rules {
            return Ok(current);
        }
        let stored = StoredCaseRules {
            version: crate::domain::versions::next(current.version),
            saved_by: who.to_owned(),
            saved_at: self.clock.now(),
            rules,
        };
        match self.org.save_case_rules(&stored).await? {
            SaveOrgOutcome::Saved => Ok(stored),
            SaveOrgOutcome::Conflict => {
                Err(CaseRulesError::Conflict(self.case_rules().await?.version))
            }
        }
    }

    /// Turns a request into the domain's action; a transfer target is looked
    /// up in the directory in force.
    async fn staff_action(
        &self,
        who: &Scope,
        req: &CaseActionRequest,
    ) -> Result<StaffAction, CaseActionError> {
        let note = req.note.clone();
        Ok(match req.action.as_str() {
            "verify" => StaffAction::Verify { note },
            "note" => StaffAction::Note { note },
            "dismiss" => StaffAction::Dismiss { text: note },
            "resolve" => StaffAction::Resolve {
                text: note,
                conclusion: req.upheld.map(|upheld| Conclusion {
                    upheld,
                    officers: req.officers.clone(),
                    violation_category: req.violation_category.clone(),
                    measure: req.measure.clone(),
                }),
            },
            "transfer" => {
                let target = req.to.as_deref().ok_or_else(|| {
                    CaseRuleError::Invalid(
                        "a transfer names `to`: a unit code, or \"inspection\"".into(),
                    )
                })?;
                let (_, org) = self.current_org().await?.ok_or_else(|| {
                    CaseRuleError::Invalid("no org directory imported yet".into())
                })?;
                StaffAction::Transfer {
                    to: transfer_target(&org, target, &who.who.sub)?,
                    reason: note,
                }
            }
            _ => return Err(CaseActionError::UnknownAction),
        })
    }

    /// Applies a staff action. A transfer emails the new assignee; closing
    /// emails the business its outcome with the signed outcome link. A mail
    /// failure is recorded in the trail, not hidden.
    #[tracing::instrument(name = "act_on_case", skip_all)]
    pub async fn act_on_case(
        &self,
        who: &Scope,
        case_id: &str,
        req: &CaseActionRequest,
    ) -> Result<(Case, Vec<CaseEvent>), CaseActionError> {
        let case = self
            .cases
            .case(case_id)
            .await?
            .ok_or(CaseActionError::NotFound)?;
        // Someone outside the case's scope learns nothing about it, not even that it exists.
        if !crate::policy::sees_case(who, &case) {
            return Err(CaseActionError::NotFound);
        }
        if req.version.is_some_and(|v| v != case.version) {
            return Err(CaseActionError::Conflict(Box::new(case)));
        }
        let action = self.staff_action(who, req).await?;
        let rules = self.case_rules().await?.rules;
        let now = self.clock.now();
        let (next, event) = apply_staff_action(&case, &action, &who.who.sub, now, &rules)?;
        if self.cases.update_case(&next, case.version, &event).await? == UpdateCaseOutcome::Conflict
        {
            let current = self
                .cases
                .case(case_id)
                .await?
                .ok_or(CaseActionError::NotFound)?;
            return Err(CaseActionError::Conflict(Box::new(current)));
        }
        tracing::info!(case_id, action = action.code(), "case action");
        self.publish(Event::case_changes(&case, &next, now)).await;
        let mut current = next;
        if matches!(action, StaffAction::Transfer { .. }) {
            if let Err(e) = self.notify_assignee(current.clone()).await {
                tracing::warn!(case_id, error = %e, "new assignee not emailed");
            }
            current = self.cases.case(case_id).await?.unwrap_or(current);
        }
        if current.status.is_closed() {
            current = self.send_outcome(current, &rules).await?;
        }
        let events = self.cases.case_events(case_id).await?;
        Ok((current, events))
    }

    /// The cases opened on a Vietnamese calendar day, every page (bounded by
    /// the day's cases).
    pub async fn cases_opened_on(&self, day: chrono::NaiveDate) -> Result<Vec<Case>, PortError> {
        super::nightly::all_pages(|p| self.cases.cases_opened_on(day, p)).await
    }

    /// The signed token of a closed case's outcome link (what `/c/{token}` takes).
    pub fn outcome_token(&self, case: &Case, rules: &CaseRules) -> Option<String> {
        let until = case.outcome_link_expiry(rules)?;
        Some(
            self.settings
                .link_keys
                .sign_for(LinkPurpose::CaseOutcome, &case.id, until),
        )
    }

    /// The signed link the business answers an outcome with.
    pub fn outcome_link(&self, case: &Case, rules: &CaseRules) -> Option<String> {
        let token = self.outcome_token(case, rules)?;
        Some(format!("{}/c/{}", self.settings.public_url, token))
    }

    async fn send_outcome(&self, case: Case, rules: &CaseRules) -> Result<Case, PortError> {
        let link = self.outcome_link(&case, rules);
        let email = emails::case_outcome(&case, link.as_deref());
        let note = match self.mailer.send(&email).await {
            Ok(id) => format!("outcome emailed to the business ({id})"),
            Err(e) => format!("outcome email failed: {e}"),
        };
        let mut after = case.clone();
        after.version += 1;
        let ev = CaseEvent {
            case_id: case.id.clone(),
            at: self.clock.now(),
            actor: "csq".into(),
            action: CaseAction::BusinessNotified,
            note: Some(note),
            status_after: case.status,
        };
        Ok(
            match self.cases.update_case(&after, case.version, &ev).await? {
                UpdateCaseOutcome::Updated => after,
                UpdateCaseOutcome::Conflict => case,
            },
        )
    }

    /// The case an outcome link opens, with the rules that say what it allows.
    pub async fn case_for_outcome_link(
        &self,
        token: &str,
    ) -> Result<(Case, CaseRules), OutcomeLinkError> {
        let link = self
            .settings
            .link_keys
            .verify_for(LinkPurpose::CaseOutcome, token)
            .await
            .map_err(|_| OutcomeLinkError::Invalid)?;
        let case = self
            .cases
            .case(&link.form_id)
            .await?
            .ok_or(OutcomeLinkError::Invalid)?;
        let rules = self.case_rules().await?.rules;
        // A link from before an appeal's re-close carries the old expiry: the
        // case's own outcome decides, not the date in the link.
        if case.outcome_link_expiry(&rules) != Some(link.expires_at)
            && self.clock.now() > link.expires_at
        {
            return Err(ResponseError::Expired.into());
        }
        Ok((case, rules))
    }

    /// The business accepts the outcome, rates its handling, or appeals: an
    /// appeal reopens the case one level up and emails its new assignee.
    #[tracing::instrument(name = "respond_to_outcome", skip_all)]
    pub async fn respond_to_outcome(
        &self,
        token: &str,
        action: &BusinessAction,
    ) -> Result<Case, OutcomeLinkError> {
        let (case, rules) = self.case_for_outcome_link(token).await?;
        let now = self.clock.now();
        let org = self.current_org().await?.map(|(_, o)| o);
        let reviewer = match (action, &org) {
            (BusinessAction::Appeal(_), Some(org)) => appeal_reviewer(&case, org),
            _ => None,
        };
        let (next, event) = case.respond(action, now, &rules, reviewer)?;
        let outcome = match HandlingRatingRecord::of(&next, org.as_ref())
            .filter(|_| matches!(action, BusinessAction::Rate(_)))
        {
            Some(record) => {
                self.cases
                    .record_handling_rating(&next, case.version, &event, &record)
                    .await?
            }
            None => self.cases.update_case(&next, case.version, &event).await?,
        };
        if outcome == UpdateCaseOutcome::Conflict {
            return Err(OutcomeLinkError::Conflict);
        }
        tracing::info!(case_id = %case.id, action = action.code(), "business answered an outcome");
        self.publish(Event::case_changes(&case, &next, now)).await;
        if matches!(action, BusinessAction::Appeal(_)) {
            if let Err(e) = self.notify_assignee(next.clone()).await {
                tracing::warn!(case_id = %case.id, error = %e, "appeal reviewer not emailed");
            }
            return Ok(self.cases.case(&case.id).await?.unwrap_or(next));
        }
        Ok(next)
    }

    /// One reminder per case and cycle, `remind_before` working days before
    /// its due day: claimed by a versioned update, so a rerun sends nothing twice.
    pub async fn remind_due_cases(&self) -> Result<usize, PortError> {
        let now = self.clock.now();
        let rules = self.case_rules().await?.rules;
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
            if self.cases.update_case(&next, case.version, &event).await?
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
        let Some((_, org)) = self.current_org().await? else {
            return Ok(0);
        };
        let rules = self.case_rules().await?.rules;
        let mut escalated = 0;
        let mut page = PageRequest::first(100);
        loop {
            let batch = self.cases.open_cases_due_before(now, page.clone()).await?;
            for case in &batch.items {
                let Some((unit, head)) = case.next_escalation(&org, now, &rules) else {
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
            if self.cases.update_case(&next, case.version, &event).await?
                == UpdateCaseOutcome::Updated
            {
                done += 1;
            }
        }
        Ok(done)
    }
}
