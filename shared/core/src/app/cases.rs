//! Case handling: staff actions (verify, transfer, resolve with a finding,
//! dismiss, note), the business's answer through the outcome link (accept,
//! rate the handling, appeal), and the nightly reminders, escalations and
//! anonymisation. Deadlines count working days from the department's rules.

use serde::Deserialize;

use std::sync::Arc;

use super::{Directory, Publisher, Settings, all_pages, emails};
use crate::auth::link::LinkPurpose;
use crate::auth::scope::Scope;
use crate::domain::case::rules::{CaseRules, StoredCaseRules};
use crate::domain::case::{
    BusinessAction, Case, CaseAction, CaseEvent, CaseRuleError, Conclusion, HandlingRatingRecord,
    ResponseError, StaffAction, appeal_reviewer, apply_staff_action, transfer_target,
};
use crate::domain::event::Event;
use crate::domain::fields::FieldError;
use crate::ports::{
    CaseStore, Clock, EventPublisher, Mailer, OrgStore, PortError, SaveOrgOutcome, Store,
    UpdateCaseOutcome,
};

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

/// Complaints and suggestions as cases: opened from the queue (`route.rs`),
/// acted on by staff, answered by the business through its outcome link.
#[derive(Clone)]
pub struct CaseHandling {
    pub(super) cases: Arc<dyn CaseStore>,
    /// The case rules are kept beside the directory.
    pub(super) org: Arc<dyn OrgStore>,
    pub(super) mailer: Arc<dyn Mailer>,
    pub(super) events: Publisher,
    pub(super) directory: Directory,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) settings: Arc<Settings>,
}

impl CaseHandling {
    pub fn new(
        store: &Arc<dyn Store>,
        mailer: Arc<dyn Mailer>,
        events: Arc<dyn EventPublisher>,
        clock: Arc<dyn Clock>,
        settings: Arc<Settings>,
    ) -> CaseHandling {
        CaseHandling {
            cases: store.clone(),
            org: store.clone(),
            mailer,
            events: Publisher::new(store, events),
            directory: Directory::new(store, clock.clone()),
            clock,
            settings,
        }
    }

    /// The case rules in force: the department's, or the defaults (no holidays).
    pub async fn case_rules(&self) -> Result<StoredCaseRules, PortError> {
        Ok(StoredCaseRules::in_force(self.org.case_rules().await?))
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
                let (_, org) = self.directory.current_org().await?.ok_or_else(|| {
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
        let announce = Event::case_changes(&case, &next, now);
        if self
            .cases
            .update_case(&next, case.version, &event, &announce)
            .await?
            == UpdateCaseOutcome::Conflict
        {
            let current = self
                .cases
                .case(case_id)
                .await?
                .ok_or(CaseActionError::NotFound)?;
            return Err(CaseActionError::Conflict(Box::new(current)));
        }
        tracing::info!(case_id, action = action.code(), "case action");
        self.events.publish(announce).await;
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
        all_pages(|p| self.cases.cases_opened_on(day, p)).await
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
        let email = emails::case_outcome(
            &case,
            link.as_deref(),
            &emails::PrivacyLinks::of(&self.settings),
        );
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
            match self
                .cases
                .update_case(&after, case.version, &ev, &[])
                .await?
            {
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
        let org = self.directory.current_org().await?.map(|(_, o)| o);
        let reviewer = match (action, &org) {
            (BusinessAction::Appeal(_), Some(org)) => appeal_reviewer(&case, org),
            _ => None,
        };
        let (next, event) = case.respond(action, now, &rules, reviewer)?;
        let announce = Event::case_changes(&case, &next, now);
        let outcome = match HandlingRatingRecord::of(&next, org.as_ref())
            .filter(|_| matches!(action, BusinessAction::Rate(_)))
        {
            Some(record) => {
                self.cases
                    .record_handling_rating(&next, case.version, &event, &record, &announce)
                    .await?
            }
            None => {
                self.cases
                    .update_case(&next, case.version, &event, &announce)
                    .await?
            }
        };
        if outcome == UpdateCaseOutcome::Conflict {
            return Err(OutcomeLinkError::Conflict);
        }
        tracing::info!(case_id = %case.id, action = action.code(), "business answered an outcome");
        self.events.publish(announce).await;
        if matches!(action, BusinessAction::Appeal(_)) {
            if let Err(e) = self.notify_assignee(next.clone()).await {
                tracing::warn!(case_id = %case.id, error = %e, "appeal reviewer not emailed");
            }
            return Ok(self.cases.case(&case.id).await?.unwrap_or(next));
        }
        Ok(next)
    }
}
