//! What staff do to a case: the action machine (verify, note, transfer,
//! resolve, dismiss) with the checks each action makes.

use super::*;

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

/// Every staff action's code, for error messages and the API document.
pub const STAFF_ACTIONS: [&str; 5] = ["verify", "transfer", "resolve", "dismiss", "note"];

impl Case {
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
