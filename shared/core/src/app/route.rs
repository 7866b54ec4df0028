//! The complaint router: consumes the complaint queue, opens one case per
//! complaint and one per suggestion, and emails each assignee once.

use super::CaseHandling;
use super::emails;
use crate::domain::case::rules::CaseRules;
use crate::domain::case::{Case, CaseAction, CaseEvent, CaseKind};
use crate::domain::complaint::{Assignment, Complaint, assign};
use crate::domain::org::{Handler, OrgDirectory, Unit};
use crate::ports::{MailError, OpenCaseOutcome, PortError, UpdateCaseOutcome};

#[derive(Debug, thiserror::Error)]
pub enum RouteError {
    /// The message can never be handled; it will reach the dead-letter queue.
    #[error("message is not a complaint: {0}")]
    Poison(String),
    #[error(transparent)]
    Storage(#[from] PortError),
    #[error("assignee email not sent: {0}")]
    Mail(#[from] MailError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteOutcome {
    Opened,
    /// A redelivery: the case exists and its assignee was already emailed.
    Duplicate,
}

/// Used when no directory was imported yet: nobody may be left without a handler.
fn fallback_org() -> OrgDirectory {
    OrgDirectory::new(
        "CUC",
        "CUC",
        vec![Unit {
            code: "CUC".into(),
            name: "Văn phòng Cục / Department office".into(),
            name_en: None,
            kind: "department".into(),
            parent: None,
            head: Some(Handler {
                name: "Văn phòng Cục / Department office".into(),
                email: "csq-default@localhost.localdomain".into(),
            }),
            handlers: vec![],
            officers: vec![],
            successor: None,
            retired: false,
        }],
    )
}

impl CaseHandling {
    /// Opens the message's complaint case and its suggestion case (each once:
    /// the case id is fixed by the form and the kind) and emails each assignee.
    #[tracing::instrument(name = "route_complaint", skip_all)]
    pub async fn route_complaint(&self, body: &str) -> Result<RouteOutcome, RouteError> {
        let complaint: Complaint =
            serde_json::from_str(body).map_err(|e| RouteError::Poison(e.to_string()))?;
        if complaint.id.is_empty() || (!complaint.has_complaint() && complaint.suggestion.is_none())
        {
            return Err(RouteError::Poison(
                "complaint without id, subjects or suggestion".into(),
            ));
        }
        let org = self
            .directory
            .current_org()
            .await?
            .map(|(_, o)| o)
            .unwrap_or_else(fallback_org);
        let rules = self.case_rules().await?.rules;
        let mut outcome = RouteOutcome::Duplicate;
        for kind in CaseKind::ALL {
            let opened = match kind {
                CaseKind::Complaint if complaint.has_complaint() => {
                    let assignment = assign(&complaint, &org);
                    let mut c = complaint.clone();
                    c.suggestion = None;
                    self.open_one(kind, c, assignment, &rules).await?
                }
                CaseKind::Suggestion if complaint.suggestion.is_some() => {
                    // Assigned as the submission's complaint would be: a business
                    // that reported misconduct is known to the inspection unit
                    // only, even through its suggestion. The suggestion case
                    // carries no complaint subjects.
                    let mut assignment = assign(&complaint, &org);
                    assignment.rule = format!("suggestion: {}", assignment.rule);
                    let mut c = complaint.clone();
                    c.subjects.clear();
                    self.open_one(kind, c, assignment, &rules).await?
                }
                _ => continue,
            };
            if opened == RouteOutcome::Opened {
                outcome = RouteOutcome::Opened;
            }
        }
        Ok(outcome)
    }

    async fn open_one(
        &self,
        kind: CaseKind,
        complaint: Complaint,
        assignment: Assignment,
        rules: &CaseRules,
    ) -> Result<RouteOutcome, RouteError> {
        let now = self.clock.now();
        let case = Case::open(kind, complaint, assignment, now, rules);
        let opened = CaseEvent {
            case_id: case.id.clone(),
            at: now,
            actor: "router".into(),
            action: CaseAction::Opened,
            note: Some(case.assignment.rule.clone()),
            status_after: case.status,
        };
        let announce: Vec<_> = crate::domain::event::Event::complaint_opened(&case)
            .into_iter()
            .collect();
        let (case, outcome) = match self.cases.open_case(&case, &opened, &announce).await? {
            OpenCaseOutcome::Opened => {
                tracing::info!(case_id = %case.id, kind = kind.code(), unit = %case.assignment.unit, "case opened");
                self.events.publish(announce).await;
                (case, RouteOutcome::Opened)
            }
            OpenCaseOutcome::Exists(existing) => (*existing, RouteOutcome::Duplicate),
        };
        if case.assignee_notified_at.is_none() {
            self.notify_assignee(case).await?;
            return Ok(RouteOutcome::Opened);
        }
        Ok(outcome)
    }

    /// Claims the notification by a versioned update before sending, so two
    /// deliveries racing each other send one email; a failed send gives it back.
    pub(crate) async fn notify_assignee(&self, case: Case) -> Result<(), RouteError> {
        let now = self.clock.now();
        let mut claimed = case.clone();
        claimed.assignee_notified_at = Some(now);
        claimed.version += 1;
        let event = CaseEvent {
            case_id: case.id.clone(),
            at: now,
            actor: "router".into(),
            action: CaseAction::AssigneeNotified,
            note: Some(case.assignment.email.clone()),
            status_after: case.status,
        };
        if self
            .cases
            .update_case(&claimed, case.version, &event, &[])
            .await?
            == UpdateCaseOutcome::Conflict
        {
            return Ok(());
        }
        let email = emails::case_assigned(&claimed, &self.settings.staff_url);
        if let Err(e) = self.mailer.send(&email).await {
            let mut released = claimed.clone();
            released.assignee_notified_at = None;
            released.version += 1;
            let undo = CaseEvent {
                action: CaseAction::Note,
                note: Some(format!("assignee email failed: {e}")),
                ..event
            };
            self.cases
                .update_case(&released, claimed.version, &undo, &[])
                .await?;
            return Err(e.into());
        }
        Ok(())
    }
}
