//! What the business does with the outcome link: accept, rate how the case
//! was handled, or appeal once, one level up.

use super::*;

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

impl Case {
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
