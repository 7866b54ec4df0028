//! Cases: a complaint or a suggestion being acknowledged, verified, handled
//! and answered, with its audit trail. Discipline records outlive contact
//! data: when personal data expires a case is anonymised, never deleted.

mod business;
mod deadlines;
mod retention;
pub mod rules;
mod staff_actions;

pub use business::{BusinessAction, ResponseError, appeal_reviewer};
pub use retention::REMOVED_EMAIL;
pub use staff_actions::{
    CaseRuleError, STAFF_ACTIONS, StaffAction, apply_staff_action, transfer_target,
};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use self::rules::CaseRules;
use super::complaint::{AssigneeRole, Assignment, Complaint};
use super::fields::{EmailAddress, clean_free_text};
use super::org::{Handler, INSPECTION_UNIT, OrgDirectory, Unit};
use super::rating_scale::Level;
use super::time::vn_day;

/// What the business raised.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum CaseKind {
    /// Phản ánh: a low rating or a negative reason about the units or officers.
    #[default]
    Complaint,
    /// Kiến nghị: a proposal to the unit; answered, never counted as a complaint.
    Suggestion,
}

impl CaseKind {
    pub const ALL: [CaseKind; 2] = [CaseKind::Complaint, CaseKind::Suggestion];

    pub fn code(self) -> &'static str {
        match self {
            CaseKind::Complaint => "complaint",
            CaseKind::Suggestion => "suggestion",
        }
    }

    pub fn from_code(s: &str) -> Option<CaseKind> {
        CaseKind::ALL.into_iter().find(|k| k.code() == s)
    }

    /// The case id of this kind for a submitted form: one of each per form.
    pub fn case_id(self, form_id: &str) -> String {
        match self {
            CaseKind::Complaint => form_id.to_owned(),
            CaseKind::Suggestion => format!("{form_id}-kn"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    /// Opened by the router (or reopened by an appeal), waiting for the assignee.
    Open,
    /// The assignee acknowledged it and is checking what happened.
    Verifying,
    /// Handled; the outcome was sent to the business.
    Resolved,
    /// Found groundless; the outcome was sent to the business.
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

    /// The statuses of cases still being handled: what a store's open-case
    /// index holds.
    pub fn open_statuses() -> impl Iterator<Item = CaseStatus> {
        CaseStatus::ALL.into_iter().filter(|s| !s.is_closed())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    /// The complaint id (the form id) for a complaint; `{form id}-kn` for a suggestion.
    pub id: String,
    #[serde(default)]
    pub kind: CaseKind,
    pub complaint: Complaint,
    pub assignment: Assignment,
    pub status: CaseStatus,
    pub opened_at: DateTime<Utc>,
    /// By when the assignee must acknowledge it (absent on cases of the first version).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledge_due_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged_at: Option<DateTime<Utc>>,
    /// By when it must be closed; escalation starts after it.
    pub due_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    /// What the business is told: the finding or the answer.
    pub finding: Option<String>,
    /// The structured finding of a complaint, for discipline and statistics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conclusion: Option<Conclusion>,
    /// Set once the assignee has been emailed, so a redelivery does not mail again.
    pub assignee_notified_at: Option<DateTime<Utc>>,
    /// Set when the one reminder before the due date went out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reminded_at: Option<DateTime<Utc>>,
    /// When the current assignee took it (opened, transferred, reopened):
    /// escalation counts levels from here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned_at: Option<DateTime<Utc>>,
    /// When the case first escalated.
    pub escalated_at: Option<DateTime<Utc>>,
    /// Each level the overdue case climbed to, lowest first (once per level).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub escalations: Vec<Escalation>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transfers: Vec<Transfer>,
    /// What the business did with the outcome link.
    #[serde(default, skip_serializing_if = "BusinessResponse::is_empty")]
    pub response: BusinessResponse,
    /// When its personal data expired and went; the case itself stays.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anonymised_at: Option<DateTime<Utc>>,
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

/// A case handed to another case list, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transfer {
    pub from: String,
    pub to: String,
    pub reason: String,
    pub by: String,
    pub at: DateTime<Utc>,
}

/// The structured finding of a complaint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conclusion {
    pub upheld: bool,
    /// Officer ids from the form's handling that the finding concerns.
    #[serde(default)]
    pub officers: Vec<String>,
    /// A code of the rules' violation categories (upheld findings).
    pub violation_category: Option<String>,
    /// A code of the rules' measures (upheld findings).
    pub measure: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandlingRating {
    pub level: Level,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Appeal {
    pub reason: String,
    pub at: DateTime<Utc>,
    /// The case list that had the case when it was appealed.
    pub from: String,
}

/// The business's answer to an outcome, through the signed outcome link.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BusinessResponse {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handling_rating: Option<HandlingRating>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appeal: Option<Appeal>,
}

impl BusinessResponse {
    fn is_empty(&self) -> bool {
        self == &BusinessResponse::default()
    }
}

/// A business's rating of how its case was handled, kept apart from the case
/// so the nightly job can find a day's ratings with one Query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandlingRatingRecord {
    pub case_id: String,
    pub level: Level,
    pub at: DateTime<Utc>,
    /// The statistics units of the unit that handled the case and those above it.
    pub units: Vec<String>,
}

impl HandlingRatingRecord {
    /// The record of the rating `case` was just given (`respond` with `Rate`),
    /// counted for the unit that answered it and every unit above.
    pub fn of(case: &Case, org: Option<&OrgDirectory>) -> Option<HandlingRatingRecord> {
        let rating = case.response.handling_rating.as_ref()?;
        let units = match org {
            Some(org) => {
                let code = case.assignment.unit_code(org);
                org.path(code)
                    .into_iter()
                    .map(|u| super::form::units::unit(&u.code))
                    .collect()
            }
            None => vec![],
        };
        Some(HandlingRatingRecord {
            case_id: case.id.clone(),
            level: rating.level,
            at: rating.at,
            units,
        })
    }
}

impl Case {
    pub fn open(
        kind: CaseKind,
        complaint: Complaint,
        assignment: Assignment,
        now: DateTime<Utc>,
        rules: &CaseRules,
    ) -> Case {
        let deadlines = rules.deadlines_for(kind);
        let calendar = rules.calendar();
        Case {
            id: kind.case_id(&complaint.id),
            kind,
            complaint,
            assignment,
            status: CaseStatus::Open,
            opened_at: now,
            acknowledge_due_at: Some(calendar.deadline(now, deadlines.acknowledge)),
            acknowledged_at: None,
            due_at: calendar.deadline(now, deadlines.resolve),
            closed_at: None,
            finding: None,
            conclusion: None,
            assignee_notified_at: None,
            reminded_at: None,
            assigned_at: None,
            escalated_at: None,
            escalations: vec![],
            transfers: vec![],
            response: BusinessResponse::default(),
            anonymised_at: None,
            version: 1,
        }
    }

    pub fn is_overdue_at(&self, now: DateTime<Utc>) -> bool {
        !self.status.is_closed() && now > self.due_at
    }

    /// Not yet acknowledged although its acknowledge deadline passed.
    pub fn is_acknowledge_overdue_at(&self, now: DateTime<Utc>) -> bool {
        !self.status.is_closed()
            && self.acknowledged_at.is_none()
            && self.acknowledge_due_at.is_some_and(|d| now > d)
    }

    /// A complaint (not a suggestion) for the statistics' complaint counts.
    pub fn counts_as_complaint(&self) -> bool {
        self.kind == CaseKind::Complaint
    }

    /// The case names a misconduct reason: it belongs to the inspection unit.
    pub fn is_misconduct(&self) -> bool {
        self.complaint.is_misconduct()
    }

    /// The case's id in events: a misconduct report's cases go by its
    /// confidential reference, never by anything derived from the form id.
    pub fn event_id(&self) -> String {
        match &self.complaint.confidential_ref {
            Some(r) => self.kind.case_id(r),
            None => self.id.clone(),
        }
    }

    pub(super) fn event(
        &self,
        at: DateTime<Utc>,
        actor: &str,
        action: CaseAction,
        note: Option<String>,
        status_after: CaseStatus,
    ) -> CaseEvent {
        CaseEvent {
            case_id: self.id.clone(),
            at,
            actor: actor.to_owned(),
            action,
            note,
            status_after,
        }
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
    Transfer,
    Reminded,
    Accepted,
    HandlingRated,
    Appealed,
    Anonymised,
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
            CaseAction::Transfer => "transfer",
            CaseAction::Reminded => "reminded",
            CaseAction::Accepted => "accepted",
            CaseAction::HandlingRated => "handling_rated",
            CaseAction::Appealed => "appealed",
            CaseAction::Anonymised => "anonymised",
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

pub(super) fn list(actions: &[&str]) -> String {
    if actions.is_empty() {
        "nothing (the case is closed)".into()
    } else {
        actions.join(", ")
    }
}

#[cfg(test)]
pub(crate) mod tests;
