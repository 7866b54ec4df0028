//! Cases: a complaint being verified, handled and answered, with its audit trail.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::complaint::{Assignment, Complaint};
use super::fields::clean_free_text;
use super::org::{Handler, OrgDirectory, Unit};

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
    /// When the case first escalated.
    pub escalated_at: Option<DateTime<Utc>>,
    /// Each level the overdue case climbed to, lowest first (once per level).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub escalations: Vec<Escalation>,
    /// Bumped on every change; updates are conditional on it (optimistic locking).
    pub version: u32,
}

/// An overdue case brought to the head of a unit above its assignee.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Escalation {
    pub unit: String,
    pub name: String,
    pub email: String,
    pub at: DateTime<Utc>,
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
            escalations: vec![],
            version: 1,
        }
    }

    pub fn is_overdue_at(&self, now: DateTime<Utc>) -> bool {
        !self.status.is_closed() && now > self.due_at
    }

    /// Where an overdue case goes next: the head of the unit above the last one
    /// that held it, one level each `every` past the due date, up to the
    /// authority. None when it is not yet time, or there is no level left.
    pub fn next_escalation<'o>(
        &self,
        org: &'o OrgDirectory,
        now: DateTime<Utc>,
        every: chrono::Duration,
    ) -> Option<(&'o Unit, &'o Handler)> {
        // A case the first version escalated went to the department office: done.
        if self.status.is_closed() || (self.escalations.is_empty() && self.escalated_at.is_some()) {
            return None;
        }
        let levels_done = i32::try_from(self.escalations.len()).ok()?;
        if now <= self.due_at + every * levels_done {
            return None;
        }
        let holder = match self.escalations.last() {
            Some(e) => e.unit.as_str(),
            None => self.assignment.unit_code(org),
        };
        let parent = org.current_unit(holder)?.parent.as_deref()?;
        let (unit, head) = org.head_for(parent)?;
        let already = self.escalations.iter().any(|e| e.unit == unit.code);
        (!already).then_some((unit, head))
    }

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
        let event = CaseEvent {
            case_id: self.id.clone(),
            at: now,
            actor: "nightly".into(),
            action: CaseAction::Note,
            note: Some(
                "complainant contact removed: the case closed and its grace period passed".into(),
            ),
            status_after: self.status,
        };
        Some((next, event))
    }

    /// Records an escalation to `unit`; the caller stores it with a versioned update.
    pub fn escalate(&self, unit: &Unit, head: &Handler, now: DateTime<Utc>) -> (Case, CaseEvent) {
        let mut next = self.clone();
        next.escalated_at.get_or_insert(now);
        next.escalations.push(Escalation {
            unit: unit.code.clone(),
            name: head.name.clone(),
            email: head.email.clone(),
            at: now,
        });
        next.version += 1;
        let event = CaseEvent {
            case_id: self.id.clone(),
            at: now,
            actor: "nightly".into(),
            action: CaseAction::Escalated,
            note: Some(format!(
                "escalated to the head of {} ({})",
                unit.code, head.email
            )),
            status_after: self.status,
        };
        (next, event)
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
    fn overdue_cases_climb_one_level_at_a_time_to_the_authority() {
        let org = sample_org();
        let every = chrono::Duration::days(10);
        let mut case = sample_case();
        assert_eq!(case.assignment.unit, "03CC");
        assert!(
            case.next_escalation(&org, case.due_at, every).is_none(),
            "not overdue yet"
        );
        let mut now = case.due_at + chrono::Duration::hours(1);
        let mut climbed = vec![];
        while let Some((unit, head)) = case.next_escalation(&org, now, every) {
            let (next, event) = case.escalate(unit, head, now);
            assert_eq!(event.action, CaseAction::Escalated);
            climbed.push(unit.code.clone());
            assert!(
                next.next_escalation(&org, now, every).is_none(),
                "once per level"
            );
            case = next;
            now += every;
        }
        // 03CC › R03 (no head: its nearest head is the authority's) › CUC: one step.
        assert_eq!(climbed, ["CUC"]);
        assert_eq!(case.escalated_at, Some(case.escalations[0].at));

        let mut org2 = sample_org();
        org2.units[1].head = Some(crate::domain::org::Handler {
            name: "Trưởng khu vực".into(),
            email: "r03@demo.customs.example".into(),
        });
        let mut case = sample_case();
        let mut now = case.due_at + chrono::Duration::hours(1);
        let mut climbed = vec![];
        while let Some((unit, head)) = case.next_escalation(&org2, now, every) {
            climbed.push(unit.code.clone());
            case = case.escalate(unit, head, now).0;
            now += every;
        }
        assert_eq!(climbed, ["R03", "CUC"]);
    }

    #[test]
    fn the_contact_goes_a_grace_period_after_closing() {
        let mut case = sample_case();
        case.complaint.contact = Some(crate::domain::form::Contact {
            name: crate::domain::fields::DisplayName::parse("Lan").unwrap(),
            phone: "0901234567".into(),
        });
        let grace = chrono::Duration::days(30);
        assert!(
            case.forget_contact(Utc::now() + grace * 2, grace).is_none(),
            "open"
        );
        let (closed, _) =
            apply_staff_action(&case, CaseAction::Resolve, "done", "s", Utc::now()).unwrap();
        let at = closed.closed_at.unwrap();
        assert!(
            closed
                .forget_contact(at + grace - chrono::Duration::seconds(1), grace)
                .is_none()
        );
        let (gone, event) = closed.forget_contact(at + grace, grace).unwrap();
        assert!(gone.complaint.contact.is_none());
        assert_eq!(gone.finding, closed.finding, "the finding stays");
        assert_eq!(gone.version, closed.version + 1);
        assert_eq!(event.action, CaseAction::Note);
        assert!(gone.forget_contact(at + grace * 2, grace).is_none(), "once");
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
