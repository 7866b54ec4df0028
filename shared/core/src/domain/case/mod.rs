//! Cases: a complaint or a suggestion being acknowledged, verified, handled
//! and answered, with its audit trail. Discipline records outlive contact
//! data: when personal data expires a case is anonymised, never deleted.

pub mod rules;

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

/// The address a case keeps for its business once its personal data went
/// (`.invalid` is reserved: nothing can ever be delivered there).
pub const REMOVED_EMAIL: &str = "removed@anonymised.invalid";

/// What a member of staff does to a case, with what the action needs.
#[derive(Debug, Clone, PartialEq)]
pub enum StaffAction {
    /// Acknowledge the case and start verifying it.
    Verify {
        note: String,
    },
    Note {
        note: String,
    },
    /// Hand the case to another case list (resolved from the directory by the caller).
    Transfer {
        to: Assignment,
        reason: String,
    },
    /// Close with an outcome for the business; a complaint needs its finding.
    Resolve {
        text: String,
        conclusion: Option<Conclusion>,
    },
    /// Close a complaint as groundless (not upheld).
    Dismiss {
        text: String,
    },
}

impl StaffAction {
    pub fn code(&self) -> &'static str {
        match self {
            StaffAction::Verify { .. } => "verify",
            StaffAction::Note { .. } => "note",
            StaffAction::Transfer { .. } => "transfer",
            StaffAction::Resolve { .. } => "resolve",
            StaffAction::Dismiss { .. } => "dismiss",
        }
    }

    fn audit_action(&self) -> CaseAction {
        match self {
            StaffAction::Verify { .. } => CaseAction::Verify,
            StaffAction::Note { .. } => CaseAction::Note,
            StaffAction::Transfer { .. } => CaseAction::Transfer,
            StaffAction::Resolve { .. } => CaseAction::Resolve,
            StaffAction::Dismiss { .. } => CaseAction::Dismiss,
        }
    }
}

/// What the business does through the signed outcome link.
#[derive(Debug, Clone, PartialEq)]
pub enum BusinessAction {
    Accept,
    Rate(Level),
    Appeal(String),
}

impl BusinessAction {
    pub fn code(&self) -> &'static str {
        match self {
            BusinessAction::Accept => "accept",
            BusinessAction::Rate(_) => "rate",
            BusinessAction::Appeal(_) => "appeal",
        }
    }
}

/// Every staff action's code, for error messages and the API document.
pub const STAFF_ACTIONS: [&str; 5] = ["verify", "transfer", "resolve", "dismiss", "note"];

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

    /// The staff actions this case allows now.
    pub fn allowed_staff_actions(&self) -> Vec<&'static str> {
        if self.status.is_closed() {
            return vec![];
        }
        STAFF_ACTIONS
            .into_iter()
            .filter(|a| match *a {
                "verify" => self.status == CaseStatus::Open,
                "dismiss" => self.kind == CaseKind::Complaint,
                _ => true,
            })
            .collect()
    }

    /// When the current assignee took the case.
    fn cycle_start(&self) -> DateTime<Utc> {
        self.assigned_at.unwrap_or(self.opened_at)
    }

    /// The one reminder to the assignee is due: `remind_before` working days
    /// before the due day, not yet sent in this cycle, the case still open.
    pub fn reminder_due(&self, now: DateTime<Utc>, rules: &CaseRules) -> bool {
        if self.status.is_closed() || self.reminded_at.is_some() || now > self.due_at {
            return false;
        }
        let calendar = rules.calendar();
        let due_day = vn_day(self.due_at - chrono::Duration::seconds(1));
        let remind_day = calendar.sub_working_days(due_day, rules.remind_before);
        vn_day(now) >= remind_day
    }

    /// Records the reminder; the caller stores it with a versioned update
    /// before mailing, so a rerun sends nothing twice.
    pub fn remind(&self, now: DateTime<Utc>) -> (Case, CaseEvent) {
        let mut next = self.clone();
        next.reminded_at = Some(now);
        next.version += 1;
        let event = self.event(
            now,
            "nightly",
            CaseAction::Reminded,
            Some(format!(
                "reminder to the assignee ({}): due {}",
                self.assignment.unit,
                crate::domain::time::vn_display(self.due_at)
            )),
            self.status,
        );
        (next, event)
    }

    /// Where an overdue case goes next: the head of the unit above the last one
    /// that held it, one level each `escalate_every` working days past the due
    /// date, up to the authority. None when it is not yet time, or there is no
    /// level left.
    pub fn next_escalation<'o>(
        &self,
        org: &'o OrgDirectory,
        now: DateTime<Utc>,
        rules: &CaseRules,
    ) -> Option<(&'o Unit, &'o Handler)> {
        // A case the first version escalated went to the department office: done.
        if self.status.is_closed() || (self.escalations.is_empty() && self.escalated_at.is_some()) {
            return None;
        }
        let start = self.cycle_start();
        let this_cycle: Vec<&Escalation> =
            self.escalations.iter().filter(|e| e.at >= start).collect();
        let levels_done = u32::try_from(this_cycle.len()).ok()?;
        let threshold = if levels_done == 0 {
            self.due_at
        } else {
            rules.calendar().deadline(
                self.due_at - chrono::Duration::seconds(1),
                rules.escalate_every.saturating_mul(levels_done),
            )
        };
        if now < threshold || now <= self.due_at {
            return None;
        }
        let holder = match this_cycle.last() {
            Some(e) => e.unit.as_str(),
            None => self.assignment.unit_code(org),
        };
        let parent = org.current_unit(holder)?.parent.as_deref()?;
        let (unit, head) = org.head_for(parent)?;
        let already = this_cycle.iter().any(|e| e.unit == unit.code);
        (!already).then_some((unit, head))
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
        let event = self.event(
            now,
            "nightly",
            CaseAction::Escalated,
            Some(format!(
                "escalated to the head of {} ({})",
                unit.code, head.email
            )),
            self.status,
        );
        (next, event)
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
        if self.personal_data_expiry()? > now {
            return None;
        }
        let mut next = self.clone();
        next.complaint.contact = None;
        next.complaint.business.email =
            EmailAddress::parse(REMOVED_EMAIL).expect("the removed-address marker parses");
        next.anonymised_at = Some(now);
        next.version += 1;
        let event = self.event(
            now,
            "nightly",
            CaseAction::Anonymised,
            Some(
                "personal data expired: contact details removed, the case and its finding kept"
                    .into(),
            ),
            self.status,
        );
        Some((next, event))
    }

    /// Until when the outcome link works: `appeal_days` after the case closed.
    pub fn outcome_link_expiry(&self, rules: &CaseRules) -> Option<DateTime<Utc>> {
        let closed = self.closed_at.filter(|_| self.status.is_closed())?;
        Some(closed + chrono::Duration::days(i64::from(rules.appeal_days)))
    }

    /// What the business may still do with the outcome link.
    pub fn allowed_business_actions(
        &self,
        now: DateTime<Utc>,
        rules: &CaseRules,
    ) -> Vec<&'static str> {
        let open_link = self.anonymised_at.is_none()
            && self
                .outcome_link_expiry(rules)
                .is_some_and(|until| now <= until);
        if !open_link {
            return vec![];
        }
        let r = &self.response;
        let mut out = vec![];
        if r.accepted_at.is_none() {
            out.push("accept");
        }
        if r.handling_rating.is_none() {
            out.push("rate");
        }
        if r.accepted_at.is_none() && r.appeal.is_none() && self.kind == CaseKind::Complaint {
            out.push("appeal");
        }
        out
    }

    /// Applies the business's response. An appeal reopens the case one level
    /// up (`reviewer`, which the caller finds with `appeal_reviewer`), with
    /// fresh deadlines.
    pub fn respond(
        &self,
        action: &BusinessAction,
        now: DateTime<Utc>,
        rules: &CaseRules,
        reviewer: Option<Assignment>,
    ) -> Result<(Case, CaseEvent), ResponseError> {
        // A case reopened by the appeal has no outcome to answer until it closes again.
        let past_window = self
            .outcome_link_expiry(rules)
            .is_some_and(|until| now > until);
        if past_window || self.anonymised_at.is_some() {
            return Err(ResponseError::Expired);
        }
        let allowed = self.allowed_business_actions(now, rules);
        if !allowed.contains(&action.code()) {
            return Err(ResponseError::NotAllowed { allowed });
        }
        let mut next = self.clone();
        next.version += 1;
        let (audit, note) = match action {
            BusinessAction::Accept => {
                next.response.accepted_at = Some(now);
                (CaseAction::Accepted, None)
            }
            BusinessAction::Rate(level) => {
                next.response.handling_rating = Some(HandlingRating {
                    level: *level,
                    at: now,
                });
                (
                    CaseAction::HandlingRated,
                    Some(format!("handling rated {}/5", level.value())),
                )
            }
            BusinessAction::Appeal(reason) => {
                let reason = clean_free_text(reason, 4000)
                    .map_err(|_| ResponseError::ReasonTooLong)?
                    .ok_or(ResponseError::ReasonRequired)?;
                let to = reviewer.unwrap_or_else(|| self.assignment.clone());
                let deadlines = rules.deadlines_for(self.kind);
                let calendar = rules.calendar();
                next.response.appeal = Some(Appeal {
                    reason: reason.clone(),
                    at: now,
                    from: self.assignment.unit.clone(),
                });
                next.status = CaseStatus::Open;
                next.closed_at = None;
                next.acknowledged_at = None;
                next.acknowledge_due_at = Some(calendar.deadline(now, deadlines.acknowledge));
                next.due_at = calendar.deadline(now, deadlines.resolve);
                next.reminded_at = None;
                next.assignee_notified_at = None;
                next.assigned_at = Some(now);
                next.assignment = to;
                (
                    CaseAction::Appealed,
                    Some(format!(
                        "appeal: reopened for {} — {reason}",
                        next.assignment.unit
                    )),
                )
            }
        };
        let status = next.status;
        Ok((next, self.event(now, "business", audit, note, status)))
    }

    fn event(
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

/// Who reviews an appeal: the head of the unit above the one that answered
/// (the nearest with a head). A misconduct case stays with the inspection
/// unit, so no unit head ever learns who reported it; the top of the tree
/// reviews its own.
pub fn appeal_reviewer(case: &Case, org: &OrgDirectory) -> Option<Assignment> {
    if case.assignment.role == AssigneeRole::InspectionUnit || case.is_misconduct() {
        let mut a = case.assignment.clone();
        a.rule = "appeal of a misconduct case: reviewed again by the inspection unit".into();
        return Some(a);
    }
    let holder = case.assignment.unit_code(org);
    let parent = org.current_unit(holder)?.parent.as_deref()?;
    let (unit, head) = org.head_for(parent)?;
    Some(Assignment {
        unit: unit.code.clone(),
        role: AssigneeRole::UnitHead,
        name: head.name.clone(),
        email: head.email.clone(),
        rule: format!("appeal: reviewed one level up by the head of {}", unit.code),
    })
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

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaseRuleError {
    /// The action does not fit the case's state: 409, naming what does.
    #[error("{action} is not possible on a {status} {kind}; allowed now: {}", list(.allowed))]
    NotAllowed {
        action: &'static str,
        status: &'static str,
        kind: &'static str,
        allowed: Vec<&'static str>,
    },
    /// The request is incomplete or names something unknown: 422.
    #[error("{0}")]
    Invalid(String),
}

fn list(actions: &[&str]) -> String {
    if actions.is_empty() {
        "nothing (the case is closed)".into()
    } else {
        actions.join(", ")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResponseError {
    #[error("this outcome link has expired")]
    Expired,
    #[error("already done; still possible: {}", list(.allowed))]
    NotAllowed { allowed: Vec<&'static str> },
    #[error("an appeal needs a reason")]
    ReasonRequired,
    #[error("the reason is too long (at most 4000 characters)")]
    ReasonTooLong,
}

fn invalid(msg: impl Into<String>) -> CaseRuleError {
    CaseRuleError::Invalid(msg.into())
}

/// Checks a finding against the rules and the form's handling.
fn check_conclusion(
    case: &Case,
    c: &Conclusion,
    rules: &CaseRules,
) -> Result<Conclusion, CaseRuleError> {
    if c.upheld && (c.violation_category.is_none() || c.measure.is_none()) {
        return Err(invalid(
            "an upheld finding names its violation_category and its measure",
        ));
    }
    if let Some(v) = &c.violation_category
        && rules.violation_category(v).is_none()
    {
        return Err(invalid(format!("unknown violation_category {v:?}")));
    }
    if let Some(m) = &c.measure
        && rules.measure(m).is_none()
    {
        return Err(invalid(format!("unknown measure {m:?}")));
    }
    let handled_by = case.complaint.handling_officers();
    let mut officers = vec![];
    for o in &c.officers {
        if !handled_by.iter().any(|h| h == o) {
            return Err(invalid(format!(
                "officer {o:?} did not handle this declaration (handled by: {})",
                handled_by.join(", ")
            )));
        }
        if !officers.contains(o) {
            officers.push(o.clone());
        }
    }
    Ok(Conclusion {
        officers,
        ..c.clone()
    })
}

/// Applies a staff action to a case: returns the changed case and its audit entry.
pub fn apply_staff_action(
    case: &Case,
    action: &StaffAction,
    actor: &str,
    now: DateTime<Utc>,
    rules: &CaseRules,
) -> Result<(Case, CaseEvent), CaseRuleError> {
    let allowed = case.allowed_staff_actions();
    if !allowed.contains(&action.code()) {
        return Err(CaseRuleError::NotAllowed {
            action: action.code(),
            status: case.status.code(),
            kind: case.kind.code(),
            allowed,
        });
    }
    let text = |s: &str| {
        clean_free_text(s, 4000)
            .map_err(|_| invalid("the text is too long (at most 4000 characters)"))
    };
    let mut next = case.clone();
    let note = match action {
        StaffAction::Verify { note } => {
            next.status = CaseStatus::Verifying;
            next.acknowledged_at = Some(now);
            text(note)?
        }
        StaffAction::Note { note } => {
            Some(text(note)?.ok_or_else(|| invalid("a note is required"))?)
        }
        StaffAction::Transfer { to, reason } => {
            let reason = text(reason)?.ok_or_else(|| invalid("a transfer needs a reason"))?;
            if to.unit == case.assignment.unit && to.role == case.assignment.role {
                return Err(invalid(format!("the case is already with {}", to.unit)));
            }
            if case.is_misconduct() && to.role != AssigneeRole::InspectionUnit {
                return Err(invalid(
                    "a misconduct case stays with the inspection unit: its reporter must stay unknown to unit heads",
                ));
            }
            next.transfers.push(Transfer {
                from: case.assignment.unit.clone(),
                to: to.unit.clone(),
                reason: reason.clone(),
                by: actor.to_owned(),
                at: now,
            });
            next.assignment = to.clone();
            next.assignee_notified_at = None;
            next.assigned_at = Some(now);
            Some(format!(
                "transferred from {} to {}: {reason}",
                case.assignment.unit, to.unit
            ))
        }
        StaffAction::Resolve {
            text: t,
            conclusion,
        } => {
            let t =
                text(t)?.ok_or_else(|| invalid("an outcome text for the business is required"))?;
            next.conclusion = match (case.kind, conclusion) {
                (CaseKind::Suggestion, None) => None,
                (CaseKind::Suggestion, Some(_)) => {
                    return Err(invalid("a suggestion is answered, not judged: no finding"));
                }
                (CaseKind::Complaint, None) => {
                    return Err(invalid(
                        "resolving a complaint records a finding: upheld, officers, violation_category, measure",
                    ));
                }
                (CaseKind::Complaint, Some(c)) => Some(check_conclusion(case, c, rules)?),
            };
            next.status = CaseStatus::Resolved;
            next.finding = Some(t.clone());
            next.closed_at = Some(now);
            Some(t)
        }
        StaffAction::Dismiss { text: t } => {
            let t =
                text(t)?.ok_or_else(|| invalid("an outcome text for the business is required"))?;
            next.conclusion = Some(Conclusion {
                upheld: false,
                officers: vec![],
                violation_category: None,
                measure: None,
            });
            next.status = CaseStatus::Dismissed;
            next.finding = Some(t.clone());
            next.closed_at = Some(now);
            Some(t)
        }
    };
    next.version += 1;
    let status = next.status;
    Ok((
        next,
        case.event(now, actor, action.audit_action(), note, status),
    ))
}

/// The assignment a transfer to `target` (a unit code, or `inspection`) makes:
/// the unit's head, or the nearest head above it, following merges.
pub fn transfer_target(
    org: &OrgDirectory,
    target: &str,
    actor: &str,
) -> Result<Assignment, CaseRuleError> {
    if target == INSPECTION_UNIT {
        let (unit, head) = org
            .inspection()
            .ok_or_else(|| invalid("the directory names no inspection unit with a head"))?;
        return Ok(Assignment {
            unit: INSPECTION_UNIT.into(),
            role: AssigneeRole::InspectionUnit,
            name: head.name.clone(),
            email: head.email.clone(),
            rule: format!(
                "transferred by {actor} to the inspection unit {}",
                unit.code
            ),
        });
    }
    let known = org.unit(target).is_some_and(|u| !u.retired);
    if !known {
        return Err(invalid(format!(
            "no active unit {target:?} in the directory (or use \"inspection\")"
        )));
    }
    let (unit, head) = org
        .head_for(target)
        .ok_or_else(|| invalid(format!("no head for {target} or any unit above it")))?;
    Ok(Assignment {
        unit: unit.code.clone(),
        role: AssigneeRole::UnitHead,
        name: head.name.clone(),
        email: head.email.clone(),
        rule: format!("transferred by {actor} to the head of {}", unit.code),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::complaint::assign;
    use crate::domain::form::{SubjectRating, Submission};
    use crate::domain::org::tests::sample_org;
    use crate::domain::rating_scale::Reason;
    use crate::domain::submission::tests::sample_form;

    /// Friday 27 November 2026, 10:00 in Vietnam.
    fn friday() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-27T10:00:00+07:00")
            .unwrap()
            .to_utc()
    }

    pub(crate) fn complaint_with(reasons: Vec<Reason>) -> Complaint {
        let form = sample_form();
        let sub = Submission {
            ratings: vec![SubjectRating {
                subject_key: "officer:document_check:HP1234".into(),
                level: Level::new(1).unwrap(),
                reasons,
                comment: None,
            }],
            overall_comment: None,
            contact: Some(crate::domain::form::Contact {
                name: crate::domain::fields::DisplayName::parse("Lan").unwrap(),
                phone: "0901234567".into(),
            }),
            suggestion: None,
        };
        Complaint::from_submission(&form, &sub, friday()).unwrap()
    }

    pub(crate) fn case_of(complaint: Complaint) -> Case {
        let a = assign(&complaint, &sample_org());
        Case::open(
            CaseKind::Complaint,
            complaint,
            a,
            friday(),
            &CaseRules::default(),
        )
    }

    pub(crate) fn sample_case() -> Case {
        case_of(complaint_with(vec![Reason::Delay]))
    }

    pub(crate) fn act(
        case: &Case,
        action: StaffAction,
    ) -> Result<(Case, CaseEvent), CaseRuleError> {
        apply_staff_action(case, &action, "staff-1", friday(), &CaseRules::default())
    }

    pub(crate) fn upheld() -> Conclusion {
        Conclusion {
            upheld: true,
            officers: vec!["HP1234".into()],
            violation_category: Some("delay".into()),
            measure: Some("reminder".into()),
        }
    }

    pub(crate) fn resolve(conclusion: Option<Conclusion>) -> StaffAction {
        StaffAction::Resolve {
            text: "Đã nhắc nhở công chức".into(),
            conclusion,
        }
    }

    #[test]
    fn deadlines_count_working_days_from_opening() {
        let case = sample_case();
        // Friday: acknowledge by the end of Monday, resolve by the end of the 10th working day.
        assert_eq!(
            case.acknowledge_due_at.unwrap().to_rfc3339(),
            "2026-11-30T17:00:00+00:00"
        );
        assert_eq!(case.due_at.to_rfc3339(), "2026-12-11T17:00:00+00:00");
        assert!(!case.is_acknowledge_overdue_at(case.acknowledge_due_at.unwrap()));
        assert!(case.is_acknowledge_overdue_at(
            case.acknowledge_due_at.unwrap() + chrono::Duration::seconds(1)
        ));
        let (verified, _) = act(
            &case,
            StaffAction::Verify {
                note: String::new(),
            },
        )
        .unwrap();
        assert!(!verified.is_acknowledge_overdue_at(case.due_at));
    }

    #[test]
    fn every_transition_and_the_illegal_ones_name_what_is_allowed() {
        let case = sample_case();
        assert_eq!(case.allowed_staff_actions(), STAFF_ACTIONS);
        let (c1, e1) = act(
            &case,
            StaffAction::Verify {
                note: String::new(),
            },
        )
        .unwrap();
        assert_eq!(
            (c1.status, e1.action, c1.version),
            (CaseStatus::Verifying, CaseAction::Verify, 2)
        );
        assert_eq!(
            act(
                &c1,
                StaffAction::Verify {
                    note: String::new()
                }
            )
            .unwrap_err(),
            CaseRuleError::NotAllowed {
                action: "verify",
                status: "verifying",
                kind: "complaint",
                allowed: vec!["transfer", "resolve", "dismiss", "note"],
            }
        );
        let (noted, _) = act(
            &c1,
            StaffAction::Note {
                note: "gọi lại DN".into(),
            },
        )
        .unwrap();
        assert_eq!(noted.status, CaseStatus::Verifying);
        assert!(act(&c1, StaffAction::Note { note: " ".into() }).is_err());
        // Resolving a complaint needs the whole finding.
        assert!(matches!(
            act(&c1, resolve(None)),
            Err(CaseRuleError::Invalid(_))
        ));
        let mut partial = upheld();
        partial.measure = None;
        assert!(matches!(
            act(&c1, resolve(Some(partial))),
            Err(CaseRuleError::Invalid(_))
        ));
        let mut unknown = upheld();
        unknown.measure = Some("firing_squad".into());
        assert!(
            matches!(act(&c1, resolve(Some(unknown))), Err(CaseRuleError::Invalid(m)) if m.contains("firing_squad"))
        );
        let mut stranger = upheld();
        stranger.officers = vec!["XX9999".into()];
        assert!(
            matches!(act(&c1, resolve(Some(stranger))), Err(CaseRuleError::Invalid(m)) if m.contains("HP1234"))
        );
        let (c2, e2) = act(&c1, resolve(Some(upheld()))).unwrap();
        assert_eq!(c2.status, CaseStatus::Resolved);
        assert_eq!(c2.conclusion, Some(upheld()));
        assert_eq!(c2.finding.as_deref(), Some("Đã nhắc nhở công chức"));
        assert_eq!(e2.action, CaseAction::Resolve);
        for action in [
            StaffAction::Note {
                note: "late".into(),
            },
            StaffAction::Dismiss { text: "x".into() },
            resolve(Some(upheld())),
        ] {
            match act(&c2, action).unwrap_err() {
                CaseRuleError::NotAllowed {
                    allowed, status, ..
                } => {
                    assert!(allowed.is_empty());
                    assert_eq!(status, "resolved");
                }
                e => panic!("{e}"),
            }
        }
        let msg = act(&c2, StaffAction::Note { note: "x".into() })
            .unwrap_err()
            .to_string();
        assert!(msg.contains("nothing (the case is closed)"), "{msg}");
        // Dismissing records a finding that is not upheld.
        let (d, _) = act(
            &case,
            StaffAction::Dismiss {
                text: "không có cơ sở".into(),
            },
        )
        .unwrap();
        assert_eq!(
            (d.status, d.conclusion.unwrap().upheld),
            (CaseStatus::Dismissed, false)
        );
    }

    #[test]
    fn transfers_move_the_case_and_misconduct_stays_with_inspection() {
        let org = sample_org();
        let case = sample_case();
        assert_eq!(case.assignment.unit, "03CC");
        let to_vp = transfer_target(&org, "VP", "staff-1").unwrap();
        assert!(matches!(
            act(
                &case,
                StaffAction::Transfer {
                    to: to_vp.clone(),
                    reason: " ".into()
                }
            ),
            Err(CaseRuleError::Invalid(_))
        ));
        let (moved, ev) = act(
            &case,
            StaffAction::Transfer {
                to: to_vp,
                reason: "thuộc thẩm quyền Văn phòng".into(),
            },
        )
        .unwrap();
        assert_eq!(moved.assignment.unit, "VP");
        assert_eq!(moved.assignment.email, "vanphong@demo.customs.example");
        assert_eq!(moved.transfers.len(), 1);
        assert_eq!(moved.transfers[0].from, "03CC");
        assert!(
            moved.assignee_notified_at.is_none(),
            "the new assignee gets mail"
        );
        assert_eq!(moved.assigned_at, Some(friday()));
        assert_eq!(ev.action, CaseAction::Transfer);
        let again = transfer_target(&org, "VP", "s").unwrap();
        assert!(matches!(
            act(
                &moved,
                StaffAction::Transfer {
                    to: again,
                    reason: "x".into()
                }
            ),
            Err(CaseRuleError::Invalid(_))
        ));
        // A team without a head: its office's head takes it.
        assert_eq!(transfer_target(&org, "03CC01", "s").unwrap().unit, "03CC");
        assert!(transfer_target(&org, "NOPE", "s").is_err());
        let to_inspection = transfer_target(&org, INSPECTION_UNIT, "s").unwrap();
        assert_eq!(to_inspection.role, AssigneeRole::InspectionUnit);
        let (up, _) = act(
            &moved,
            StaffAction::Transfer {
                to: to_inspection,
                reason: "có dấu hiệu tiêu cực".into(),
            },
        )
        .unwrap();
        assert_eq!(up.assignment.unit, INSPECTION_UNIT);

        let misconduct = case_of(complaint_with(vec![Reason::Harassment]));
        assert_eq!(misconduct.assignment.role, AssigneeRole::InspectionUnit);
        let back = transfer_target(&org, "03CC", "s").unwrap();
        match act(
            &misconduct,
            StaffAction::Transfer {
                to: back,
                reason: "x".into(),
            },
        ) {
            Err(CaseRuleError::Invalid(m)) => assert!(m.contains("inspection")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn one_reminder_two_working_days_before_the_due_day() {
        let rules = CaseRules::default();
        let case = sample_case();
        // Due end of Friday 11 December: remind from Wednesday 9 December.
        let tuesday = DateTime::parse_from_rfc3339("2026-12-08T20:00:00+07:00")
            .unwrap()
            .to_utc();
        let wednesday = DateTime::parse_from_rfc3339("2026-12-09T01:00:00+07:00")
            .unwrap()
            .to_utc();
        assert!(!case.reminder_due(tuesday, &rules));
        assert!(case.reminder_due(wednesday, &rules));
        let (reminded, ev) = case.remind(wednesday);
        assert_eq!(ev.action, CaseAction::Reminded);
        assert!(
            !reminded.reminder_due(wednesday + chrono::Duration::days(1), &rules),
            "once"
        );
        let (closed, _) = act(&case, StaffAction::Dismiss { text: "x".into() }).unwrap();
        assert!(!closed.reminder_due(wednesday, &rules));
    }

    #[test]
    fn overdue_cases_climb_one_level_per_step_once_per_level() {
        let mut org = sample_org();
        org.units[1].head = Some(crate::domain::org::Handler {
            name: "Trưởng khu vực".into(),
            email: "r03@demo.customs.example".into(),
        });
        let rules = CaseRules::default();
        let mut case = sample_case();
        assert!(
            case.next_escalation(&org, case.due_at, &rules).is_none(),
            "not overdue yet"
        );
        let mut now = case.due_at + chrono::Duration::hours(1);
        let (unit, head) = case.next_escalation(&org, now, &rules).unwrap();
        assert_eq!(unit.code, "R03");
        let (next, event) = case.escalate(unit, head, now);
        assert_eq!(event.action, CaseAction::Escalated);
        case = next;
        assert!(
            case.next_escalation(&org, now, &rules).is_none(),
            "a rerun sends nothing"
        );
        // The next level after `escalate_every` (5) working days past the due day.
        now = DateTime::parse_from_rfc3339("2026-12-18T12:00:00+07:00")
            .unwrap()
            .to_utc();
        assert!(
            case.next_escalation(&org, now, &rules).is_none(),
            "4 working days later"
        );
        now = DateTime::parse_from_rfc3339("2026-12-19T00:00:01+07:00")
            .unwrap()
            .to_utc();
        let (unit, head) = case.next_escalation(&org, now, &rules).unwrap();
        assert_eq!(unit.code, "CUC");
        case = case.escalate(unit, head, now).0;
        assert!(
            case.next_escalation(&org, now + chrono::Duration::days(60), &rules)
                .is_none(),
            "top reached"
        );
        assert_eq!(case.escalated_at, Some(case.escalations[0].at));
    }

    fn closed_upheld() -> Case {
        let case = sample_case();
        act(&case, resolve(Some(upheld()))).unwrap().0
    }

    #[test]
    fn the_business_accepts_rates_once_or_appeals_once_within_the_window() {
        let rules = CaseRules::default();
        let org = sample_org();
        let closed = closed_upheld();
        // The Monday after: a fresh count of working days from the appeal.
        let at = friday() + chrono::Duration::days(3);
        assert_eq!(
            closed.allowed_business_actions(at, &rules),
            ["accept", "rate", "appeal"]
        );
        let (rated, ev) = closed
            .respond(
                &BusinessAction::Rate(Level::new(4).unwrap()),
                at,
                &rules,
                None,
            )
            .unwrap();
        assert_eq!(ev.action, CaseAction::HandlingRated);
        assert_eq!(
            rated
                .response
                .handling_rating
                .as_ref()
                .unwrap()
                .level
                .value(),
            4
        );
        assert_eq!(
            rated
                .respond(
                    &BusinessAction::Rate(Level::new(1).unwrap()),
                    at,
                    &rules,
                    None
                )
                .unwrap_err(),
            ResponseError::NotAllowed {
                allowed: vec!["accept", "appeal"]
            },
            "rated once"
        );
        let (accepted, _) = rated
            .respond(&BusinessAction::Accept, at, &rules, None)
            .unwrap();
        assert_eq!(
            accepted.allowed_business_actions(at, &rules),
            Vec::<&str>::new()
        );
        assert!(
            accepted
                .respond(&BusinessAction::Appeal("x".into()), at, &rules, None)
                .is_err(),
            "no appeal after accepting"
        );

        // Appeal: one level up, fresh deadlines, once.
        let reviewer = appeal_reviewer(&closed, &org).unwrap();
        assert_eq!(
            (reviewer.unit.as_str(), reviewer.role),
            ("CUC", AssigneeRole::UnitHead)
        );
        assert_eq!(
            closed
                .respond(
                    &BusinessAction::Appeal("  ".into()),
                    at,
                    &rules,
                    Some(reviewer.clone())
                )
                .unwrap_err(),
            ResponseError::ReasonRequired
        );
        let (appealed, ev) = closed
            .respond(
                &BusinessAction::Appeal("Chưa thỏa đáng".into()),
                at,
                &rules,
                Some(reviewer),
            )
            .unwrap();
        assert_eq!(ev.action, CaseAction::Appealed);
        assert_eq!(appealed.status, CaseStatus::Open);
        assert_eq!(appealed.assignment.unit, "CUC");
        assert!(appealed.closed_at.is_none() && appealed.assignee_notified_at.is_none());
        assert!(appealed.due_at > closed.due_at);
        assert_eq!(appealed.response.appeal.as_ref().unwrap().from, "03CC");
        assert_eq!(
            appealed.allowed_business_actions(at, &rules),
            Vec::<&str>::new(),
            "open again: nothing until answered"
        );
        let (reclosed, _) = act(&appealed, resolve(Some(upheld()))).unwrap();
        assert_eq!(
            reclosed.allowed_business_actions(at, &rules),
            ["accept", "rate"],
            "one appeal only"
        );

        // Expired: the window is `appeal_days` after the outcome.
        let late =
            closed.closed_at.unwrap() + chrono::Duration::days(15) + chrono::Duration::seconds(1);
        assert_eq!(
            closed
                .respond(&BusinessAction::Accept, late, &rules, None)
                .unwrap_err(),
            ResponseError::Expired
        );
    }

    #[test]
    fn a_misconduct_appeal_stays_with_the_inspection_unit() {
        let org = sample_org();
        let case = case_of(complaint_with(vec![Reason::Misconduct]));
        let (closed, _) = act(&case, StaffAction::Dismiss { text: "x".into() }).unwrap();
        let reviewer = appeal_reviewer(&closed, &org).unwrap();
        assert_eq!(reviewer.role, AssigneeRole::InspectionUnit);
    }

    #[test]
    fn suggestions_are_answered_not_judged_and_not_appealed() {
        let mut complaint = complaint_with(vec![]);
        complaint.subjects.clear();
        complaint.suggestion = Some("Nên mở thêm quầy".into());
        let a = assign(&complaint, &sample_org());
        let case = Case::open(
            CaseKind::Suggestion,
            complaint,
            a,
            friday(),
            &CaseRules::default(),
        );
        assert_eq!(case.id, "f1-kn");
        assert!(!case.counts_as_complaint());
        assert_eq!(
            case.due_at.to_rfc3339(),
            "2026-12-18T17:00:00+00:00",
            "15 working days"
        );
        assert!(!case.allowed_staff_actions().contains(&"dismiss"));
        assert!(act(&case, resolve(Some(upheld()))).is_err());
        let (answered, _) = act(&case, resolve(None)).unwrap();
        assert_eq!(answered.status, CaseStatus::Resolved);
        assert_eq!(
            answered.allowed_business_actions(friday(), &CaseRules::default()),
            ["accept", "rate"]
        );
    }

    #[test]
    fn expired_personal_data_goes_and_the_case_stays() {
        let mut case = sample_case();
        case.complaint.personal_data_until = friday() + chrono::Duration::days(2);
        assert!(
            case.personal_data_expiry().is_none(),
            "open: kept until answered"
        );
        let (closed, _) = act(&case, resolve(Some(upheld()))).unwrap();
        assert!(
            closed
                .anonymise(friday() + chrono::Duration::days(1))
                .is_none(),
            "not yet"
        );
        let (anon, ev) = closed
            .anonymise(friday() + chrono::Duration::days(3))
            .unwrap();
        assert_eq!(ev.action, CaseAction::Anonymised);
        assert!(anon.complaint.contact.is_none());
        assert_eq!(anon.complaint.business.email.as_str(), REMOVED_EMAIL);
        assert_eq!(anon.conclusion, closed.conclusion);
        assert_eq!(anon.complaint.subjects, closed.complaint.subjects);
        assert!(
            anon.personal_data_expiry().is_none()
                && anon
                    .anonymise(friday() + chrono::Duration::days(9))
                    .is_none(),
            "once"
        );
        assert!(
            anon.allowed_business_actions(friday(), &CaseRules::default())
                .is_empty()
        );
    }

    #[test]
    fn the_contact_goes_a_grace_period_after_closing() {
        let case = sample_case();
        let grace = chrono::Duration::days(30);
        assert!(
            case.forget_contact(friday() + grace * 2, grace).is_none(),
            "open"
        );
        let (closed, _) = act(&case, StaffAction::Dismiss { text: "x".into() }).unwrap();
        let at = closed.closed_at.unwrap();
        assert!(
            closed
                .forget_contact(at + grace - chrono::Duration::seconds(1), grace)
                .is_none()
        );
        let (gone, event) = closed.forget_contact(at + grace, grace).unwrap();
        assert!(gone.complaint.contact.is_none());
        assert_eq!(gone.finding, closed.finding, "the finding stays");
        assert_eq!(event.action, CaseAction::Note);
        assert!(gone.forget_contact(at + grace * 2, grace).is_none(), "once");
    }

    #[test]
    fn a_first_version_case_still_reads() {
        let case = sample_case();
        let mut v = serde_json::to_value(&case).unwrap();
        let o = v.as_object_mut().unwrap();
        for k in [
            "kind",
            "acknowledge_due_at",
            "conclusion",
            "transfers",
            "response",
        ] {
            o.remove(k);
        }
        let old: Case = serde_json::from_value(v).unwrap();
        assert_eq!(old.kind, CaseKind::Complaint);
        assert!(old.acknowledge_due_at.is_none() && !old.is_acknowledge_overdue_at(old.due_at));
    }
}
