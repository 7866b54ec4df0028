//! Cases: a complaint being verified, handled and answered, with its audit trail.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::complaint::{Assignment, Complaint};
use super::fields::clean_free_text;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    /// Opened by the router, waiting for the assignee.
    Open,
    /// The assignee is checking what happened.
    Verifying,
    /// Handled; the finding was sent to the business.
    Resolved,
    /// Found groundless; the finding was sent to the business.
    Dismissed,
}

impl CaseStatus {
    pub const ALL: [CaseStatus; 4] = [
        CaseStatus::Open,
        CaseStatus::Verifying,
        CaseStatus::Resolved,
        CaseStatus::Dismissed,
    ];

    pub fn code(self) -> &'static str {
        match self {
            CaseStatus::Open => "open",
            CaseStatus::Verifying => "verifying",
            CaseStatus::Resolved => "resolved",
            CaseStatus::Dismissed => "dismissed",
        }
    }

    pub fn from_code(s: &str) -> Option<CaseStatus> {
        CaseStatus::ALL.into_iter().find(|c| c.code() == s)
    }

    pub fn is_closed(self) -> bool {
        matches!(self, CaseStatus::Resolved | CaseStatus::Dismissed)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    /// Same as the complaint id (the form id): one case per complaint.
    pub id: String,
    pub complaint: Complaint,
    pub assignment: Assignment,
    pub status: CaseStatus,
    pub opened_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub finding: Option<String>,
    /// Set once the assignee has been emailed, so a redelivery does not mail again.
    pub assignee_notified_at: Option<DateTime<Utc>>,
    pub escalated_at: Option<DateTime<Utc>>,
    /// Bumped on every change; updates are conditional on it (optimistic locking).
    pub version: u32,
}

impl Case {
    pub fn open(
        complaint: Complaint,
        assignment: Assignment,
        now: DateTime<Utc>,
        due_in: chrono::Duration,
    ) -> Case {
        Case {
            id: complaint.id.clone(),
            complaint,
            assignment,
            status: CaseStatus::Open,
            opened_at: now,
            due_at: now + due_in,
            closed_at: None,
            finding: None,
            assignee_notified_at: None,
            escalated_at: None,
            version: 1,
        }
    }

    pub fn is_overdue_at(&self, now: DateTime<Utc>) -> bool {
        !self.status.is_closed() && now > self.due_at
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseAction {
    Opened,
    AssigneeNotified,
    Verify,
    Resolve,
    Dismiss,
    Note,
    Escalated,
    BusinessNotified,
}

impl CaseAction {
    pub fn code(self) -> &'static str {
        match self {
            CaseAction::Opened => "opened",
            CaseAction::AssigneeNotified => "assignee_notified",
            CaseAction::Verify => "verify",
            CaseAction::Resolve => "resolve",
            CaseAction::Dismiss => "dismiss",
            CaseAction::Note => "note",
            CaseAction::Escalated => "escalated",
            CaseAction::BusinessNotified => "business_notified",
        }
    }

    /// The actions a member of staff may take through the API.
    pub fn from_staff_code(s: &str) -> Option<CaseAction> {
        match s {
            "verify" => Some(CaseAction::Verify),
            "resolve" => Some(CaseAction::Resolve),
            "dismiss" => Some(CaseAction::Dismiss),
            "note" => Some(CaseAction::Note),
            _ => None,
        }
    }
}

/// One entry of a case's audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseEvent {
    pub case_id: String,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: CaseAction,
    pub note: Option<String>,
    pub status_after: CaseStatus,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaseRuleError {
    #[error("the case is already {0}; closed cases cannot change")]
    Closed(&'static str),
    #[error("a finding is required to resolve or dismiss a case")]
    FindingRequired,
    #[error("a note is required")]
    NoteRequired,
    #[error("the note is too long (at most 4000 characters)")]
    NoteTooLong,
    #[error("the case is already being verified")]
    AlreadyVerifying,
}

/// Applies a staff action to a case: returns the changed case and its audit entry.
pub fn apply_staff_action(
    case: &Case,
    action: CaseAction,
    note: &str,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<(Case, CaseEvent), CaseRuleError> {
    if case.status.is_closed() {
        return Err(CaseRuleError::Closed(case.status.code()));
    }
    let note = clean_free_text(note, 4000).map_err(|_| CaseRuleError::NoteTooLong)?;
    let mut next = case.clone();
    match action {
        CaseAction::Verify => {
            if case.status == CaseStatus::Verifying {
                return Err(CaseRuleError::AlreadyVerifying);
            }
            next.status = CaseStatus::Verifying;
        }
        CaseAction::Resolve | CaseAction::Dismiss => {
            let finding = note.clone().ok_or(CaseRuleError::FindingRequired)?;
            next.status = if action == CaseAction::Resolve {
                CaseStatus::Resolved
            } else {
                CaseStatus::Dismissed
            };
            next.finding = Some(finding);
            next.closed_at = Some(now);
        }
        CaseAction::Note => {
            if note.is_none() {
                return Err(CaseRuleError::NoteRequired);
            }
        }
        _ => return Err(CaseRuleError::NoteRequired),
    }
    next.version += 1;
    let event = CaseEvent {
        case_id: case.id.clone(),
        at: now,
        actor: actor.to_owned(),
        action,
        note,
        status_after: next.status,
    };
    Ok((next, event))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::complaint::assign;
    use crate::domain::form::SubjectRating;
    use crate::domain::form::Submission;
    use crate::domain::org::tests::sample_org;
    use crate::domain::rating_scale::Level;
    use crate::domain::submission::tests::sample_form;

    fn sample_case() -> Case {
        let form = sample_form();
        let sub = Submission {
            ratings: vec![SubjectRating {
                subject_key: "branch:03CC".into(),
                level: Level::new(1).unwrap(),
                reasons: vec![],
                comment: None,
            }],
            overall_comment: None,
            contact: None,
        };
        let complaint = Complaint::from_submission(&form, &sub, Utc::now()).unwrap();
        let a = assign(&complaint, &sample_org());
        Case::open(complaint, a, Utc::now(), chrono::Duration::days(10))
    }

    #[test]
    fn verify_then_resolve_with_finding() {
        let case = sample_case();
        let (c1, e1) =
            apply_staff_action(&case, CaseAction::Verify, "", "staff-1", Utc::now()).unwrap();
        assert_eq!(c1.status, CaseStatus::Verifying);
        assert_eq!(e1.status_after, CaseStatus::Verifying);
        assert_eq!(c1.version, 2);
        assert_eq!(
            apply_staff_action(&c1, CaseAction::Resolve, "  ", "staff-1", Utc::now()).unwrap_err(),
            CaseRuleError::FindingRequired
        );
        let (c2, e2) = apply_staff_action(
            &c1,
            CaseAction::Resolve,
            "Officer reminded",
            "staff-1",
            Utc::now(),
        )
        .unwrap();
        assert_eq!(c2.status, CaseStatus::Resolved);
        assert_eq!(c2.finding.as_deref(), Some("Officer reminded"));
        assert!(c2.closed_at.is_some());
        assert_eq!(e2.note.as_deref(), Some("Officer reminded"));
        assert_eq!(
            apply_staff_action(&c2, CaseAction::Note, "late", "s", Utc::now()).unwrap_err(),
            CaseRuleError::Closed("resolved")
        );
    }

    #[test]
    fn dismiss_directly_and_overdue() {
        let case = sample_case();
        assert!(!case.is_overdue_at(Utc::now()));
        assert!(case.is_overdue_at(case.due_at + chrono::Duration::seconds(1)));
        let (c, _) =
            apply_staff_action(&case, CaseAction::Dismiss, "no evidence", "s", Utc::now()).unwrap();
        assert!(!c.is_overdue_at(case.due_at + chrono::Duration::days(1)));
        assert!(apply_staff_action(&case, CaseAction::Escalated, "x", "s", Utc::now()).is_err());
    }
}
