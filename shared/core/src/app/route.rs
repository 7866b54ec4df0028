//! The complaint router: consumes the complaint queue, opens one case per
//! complaint and emails the assignee once.

use super::Csq;
use super::emails;
use crate::domain::case::{Case, CaseAction, CaseEvent};
use crate::domain::complaint::{Complaint, assign};
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
            successor: None,
            retired: false,
        }],
    )
}

impl Csq {
    pub async fn route_complaint(&self, body: &str) -> Result<RouteOutcome, RouteError> {
        let complaint: Complaint =
            serde_json::from_str(body).map_err(|e| RouteError::Poison(e.to_string()))?;
        if complaint.id.is_empty() || complaint.subjects.is_empty() {
            return Err(RouteError::Poison(
                "complaint without id or subjects".into(),
            ));
        }
        let now = self.clock.now();
        let org = self
            .current_org()
            .await?
            .map(|(_, o)| o)
            .unwrap_or_else(fallback_org);
        let assignment = assign(&complaint, &org);
        let case = Case::open(complaint, assignment, now, self.settings.case_due);
        let opened = CaseEvent {
            case_id: case.id.clone(),
            at: now,
            actor: "router".into(),
            action: CaseAction::Opened,
            note: Some(case.assignment.rule.clone()),
            status_after: case.status,
        };
        let (case, outcome) = match self.cases.open_case(&case, &opened).await? {
            OpenCaseOutcome::Opened => {
                tracing::info!(case_id = %case.id, unit = %case.assignment.unit, "case opened");
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
    async fn notify_assignee(&self, case: Case) -> Result<(), RouteError> {
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
            .update_case(&claimed, case.version, &event)
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
                .update_case(&released, claimed.version, &undo)
                .await?;
            return Err(e.into());
        }
        Ok(())
    }
}
