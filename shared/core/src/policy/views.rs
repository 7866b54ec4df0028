//! What each reader gets: the views built here name every field they carry,
//! so a field added to a domain record later stays private until a view names it.

use super::*;

#[derive(Debug, Serialize)]
pub struct BusinessView {
    pub tax_code: String,
    pub name: String,
}

#[derive(Debug, Serialize)]
pub struct ContactView {
    pub name: String,
    pub phone: String,
}

/// A subject as staff and the declaration system read it.
#[derive(Debug, Clone, Serialize)]
pub struct SubjectView {
    pub key: String,
    pub kind: SubjectKind,
    pub branch: String,
    pub team: Option<String>,
    pub stage: Option<Stage>,
    pub officer_id: Option<String>,
    pub officer_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit_name_en: Option<String>,
    /// How the subject reads in Vietnamese ("Công chức Nguyễn Văn An (Kiểm tra hồ sơ)").
    pub label: String,
}

impl From<&Subject> for SubjectView {
    fn from(s: &Subject) -> Self {
        SubjectView {
            key: s.key.clone(),
            kind: s.kind,
            branch: s.branch.to_string(),
            team: s.team.as_ref().map(ToString::to_string),
            stage: s.stage,
            officer_id: s.officer_id.as_ref().map(ToString::to_string),
            officer_name: s.officer_name.as_ref().map(ToString::to_string),
            unit_name: s.unit_name.clone(),
            unit_name_en: s.unit_name_en.clone(),
            label: s.label(crate::domain::declaration::Language::Vi),
        }
    }
}

/// An entry of the audit log as the department reads it: who read or changed
/// what, when (record ids and keys, never contents). The entry's own expiry
/// stays with the store.
#[derive(Debug, Serialize)]
pub struct AuditView {
    pub id: String,
    pub at: DateTime<Utc>,
    pub who: String,
    pub role: String,
    pub unit: Option<String>,
    pub what: String,
    pub records: Vec<String>,
}

impl AuditView {
    pub fn of(e: &crate::domain::audit::AuditEntry) -> AuditView {
        AuditView {
            id: e.id.clone(),
            at: e.at,
            who: e.who.clone(),
            role: e.role.clone(),
            unit: e.unit.clone(),
            what: e.what.clone(),
            records: e.records.clone(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct RatingView {
    pub form_id: String,
    pub declaration_number: String,
    pub branch: String,
    pub subject: SubjectView,
    pub level: u8,
    pub reasons: Vec<Reason>,
    pub comment: Option<String>,
    pub submitted_at: DateTime<Utc>,
}

impl RatingView {
    pub fn of(r: &RatingRecord) -> RatingView {
        RatingView {
            form_id: r.form_id.clone(),
            declaration_number: r.declaration_number.clone(),
            branch: r.branch.to_string(),
            subject: SubjectView::from(&r.subject),
            level: r.level.value(),
            reasons: r.reasons.clone(),
            comment: r.comment.clone(),
            submitted_at: r.submitted_at,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct DeclarationView {
    pub number: String,
    pub type_code: String,
    pub registered_at: DateTime<Utc>,
    pub customs_office: String,
    pub lane: Lane,
}

#[derive(Debug, Serialize)]
pub struct SubmittedRatingView {
    pub subject_key: String,
    pub level: u8,
    pub reasons: Vec<Reason>,
    pub comment: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct SubmissionView {
    pub ratings: Vec<SubmittedRatingView>,
    pub overall_comment: Option<String>,
    /// Only the department reads a complainant's contact from a form; an
    /// assignee reads it on the case.
    pub contact: Option<ContactView>,
}

#[derive(Debug, Serialize)]
pub struct FormView {
    pub id: String,
    pub declaration: DeclarationView,
    pub business: BusinessView,
    pub office_path: Vec<UnitLabel>,
    pub subjects: Vec<SubjectView>,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub status: FormStatus,
    pub invitation: InvitationState,
    pub reminded_at: Option<DateTime<Utc>>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub org_version: Option<u32>,
    pub submission: Option<SubmissionView>,
}

impl FormView {
    pub fn for_reader(who: &Scope, f: &Form) -> FormView {
        let d = &f.declaration;
        FormView {
            id: f.id.clone(),
            declaration: DeclarationView {
                number: d.number.to_string(),
                type_code: d.type_code.to_string(),
                registered_at: d.registered_at,
                customs_office: d.customs_office.to_string(),
                lane: d.lane,
            },
            business: BusinessView {
                tax_code: f.business.tax_code.to_string(),
                name: f.business.name.to_string(),
            },
            office_path: f.office_path.clone(),
            subjects: f.subjects.iter().map(SubjectView::from).collect(),
            issued_at: f.issued_at,
            expires_at: f.expires_at,
            status: f.status,
            invitation: f.invitation_state(),
            reminded_at: f.reminded_at,
            submitted_at: f.submitted_at,
            org_version: f.org_version,
            submission: f.submission.as_ref().map(|s| SubmissionView {
                ratings: s
                    .ratings
                    .iter()
                    .map(|r| SubmittedRatingView {
                        subject_key: r.subject_key.clone(),
                        level: r.level.value(),
                        reasons: r.reasons.clone(),
                        comment: r.comment.clone(),
                    })
                    .collect(),
                overall_comment: s.overall_comment.clone(),
                contact: s
                    .contact
                    .as_ref()
                    .filter(|_| who.role() == StaffRole::Department)
                    .map(|c| ContactView {
                        name: c.name.to_string(),
                        phone: c.phone.clone(),
                    }),
            }),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ComplainedSubjectView {
    pub subject: SubjectView,
    pub level: u8,
    pub reasons: Vec<Reason>,
    pub comment: Option<String>,
}

impl ComplaintView {
    /// The office's Vietnamese name as it was named when the form was issued.
    pub fn office_name(&self) -> &str {
        self.office_path
            .last()
            .filter(|u| u.code == self.branch)
            .map(|u| u.name.as_str())
            .unwrap_or(&self.branch)
    }
}

#[derive(Debug, Serialize)]
pub struct ComplaintView {
    pub declaration_number: String,
    pub branch: String,
    pub office_path: Vec<UnitLabel>,
    /// Withheld from a reader who is shown a misconduct case without being
    /// entitled to its reporter (a head above the inspection unit, by email).
    pub business: Option<BusinessView>,
    pub contact: Option<ContactView>,
    pub subjects: Vec<ComplainedSubjectView>,
    pub overall_comment: Option<String>,
    /// The suggestion (kiến nghị), on a suggestion case.
    pub suggestion: Option<String>,
    /// Officer ids named on the form: those a finding may concern.
    pub handling_officers: Vec<String>,
    pub submitted_at: DateTime<Utc>,
}

#[derive(Debug, Serialize)]
pub struct AssignmentView {
    pub unit: String,
    pub role: AssigneeRole,
    pub name: String,
    pub rule: String,
}

#[derive(Debug, Serialize)]
pub struct CaseView {
    pub id: String,
    pub kind: CaseKind,
    pub status: CaseStatus,
    /// Send it back with an action: a stale version gets 409.
    pub version: u32,
    pub opened_at: DateTime<Utc>,
    pub acknowledge_due_at: Option<DateTime<Utc>>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub due_at: DateTime<Utc>,
    /// The deadlines in words ("by the end of 21/12/2026"), so every client
    /// shows them as the emails do.
    pub due_by: DeadlineView,
    pub acknowledge_by: Option<DeadlineView>,
    pub closed_at: Option<DateTime<Utc>>,
    /// What the business was told.
    pub finding: Option<String>,
    /// The structured finding of a complaint.
    pub conclusion: Option<Conclusion>,
    pub escalations: Vec<EscalationView>,
    pub transfers: Vec<TransferView>,
    pub response: ResponseView,
    pub anonymised: bool,
    /// The staff actions the case allows now.
    pub allowed_actions: Vec<&'static str>,
    pub assignment: AssignmentView,
    pub complaint: ComplaintView,
}

#[derive(Debug, Serialize)]
pub struct DeadlineView {
    pub vi: String,
    pub en: String,
}

impl From<DateTime<Utc>> for DeadlineView {
    fn from(t: DateTime<Utc>) -> Self {
        let text = crate::domain::time::vn_deadline(t);
        DeadlineView {
            vi: text.vi,
            en: text.en,
        }
    }
}

/// A transfer as staff read it: which lists, why, when.
#[derive(Debug, Serialize)]
pub struct TransferView {
    pub from: String,
    pub to: String,
    pub reason: String,
    pub at: DateTime<Utc>,
}

/// What the business did with the outcome (no personal data).
#[derive(Debug, Serialize)]
pub struct ResponseView {
    pub accepted_at: Option<DateTime<Utc>>,
    pub handling_rating: Option<u8>,
    pub appealed_at: Option<DateTime<Utc>>,
    pub appeal_reason: Option<String>,
    pub appealed_from: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct EscalationView {
    pub unit: String,
    pub name: String,
    pub at: DateTime<Utc>,
}

impl From<&Escalation> for EscalationView {
    fn from(e: &Escalation) -> Self {
        EscalationView {
            unit: e.unit.clone(),
            name: e.name.clone(),
            at: e.at,
        }
    }
}

/// Who a case view is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseReader {
    /// A member of staff allowed to see the case, with their rights.
    Contact(bool),
    /// A head the case was escalated to by email: the complaint, not the person.
    EscalationRecipient,
}

impl CaseView {
    pub fn for_reader(who: &Scope, case: &Case) -> CaseView {
        CaseView::build(case, CaseReader::Contact(who.sees_contact(case)))
    }

    /// The view an email to the case's assignee carries: they handle it, so they
    /// may call the business back.
    pub fn for_assignee_email(case: &Case) -> CaseView {
        CaseView::build(case, CaseReader::Contact(!case.status.is_closed()))
    }

    /// The view an escalation email carries: no contact; for a misconduct case,
    /// not even who reported it (the recipient heads a unit, not the inspection).
    pub fn for_escalation_email(case: &Case) -> CaseView {
        CaseView::build(case, CaseReader::EscalationRecipient)
    }

    fn build(case: &Case, reader: CaseReader) -> CaseView {
        let c: &Complaint = &case.complaint;
        let show_contact = reader == CaseReader::Contact(true);
        let hide_business = reader == CaseReader::EscalationRecipient && c.is_misconduct();
        let r = &case.response;
        CaseView {
            id: case.id.clone(),
            kind: case.kind,
            status: case.status,
            version: case.version,
            opened_at: case.opened_at,
            acknowledge_due_at: case.acknowledge_due_at,
            acknowledged_at: case.acknowledged_at,
            due_at: case.due_at,
            due_by: case.due_at.into(),
            acknowledge_by: case.acknowledge_due_at.map(Into::into),
            closed_at: case.closed_at,
            finding: case.finding.clone(),
            conclusion: case.conclusion.clone(),
            escalations: case.escalations.iter().map(EscalationView::from).collect(),
            transfers: case
                .transfers
                .iter()
                .map(|t| TransferView {
                    from: t.from.clone(),
                    to: t.to.clone(),
                    reason: t.reason.clone(),
                    at: t.at,
                })
                .collect(),
            response: ResponseView {
                accepted_at: r.accepted_at,
                handling_rating: r.handling_rating.as_ref().map(|h| h.level.value()),
                appealed_at: r.appeal.as_ref().map(|a| a.at),
                appeal_reason: r.appeal.as_ref().map(|a| a.reason.clone()),
                appealed_from: r.appeal.as_ref().map(|a| a.from.clone()),
            },
            anonymised: case.anonymised_at.is_some(),
            allowed_actions: case.allowed_staff_actions(),
            assignment: AssignmentView {
                unit: case.assignment.unit.clone(),
                role: case.assignment.role,
                name: case.assignment.name.clone(),
                rule: case.assignment.rule.clone(),
            },
            complaint: ComplaintView {
                declaration_number: c.declaration_number.clone(),
                branch: c.branch.clone(),
                office_path: c.office_path.clone(),
                business: (!hide_business).then(|| BusinessView {
                    tax_code: c.business.tax_code.to_string(),
                    name: c.business.name.to_string(),
                }),
                contact: c
                    .contact
                    .as_ref()
                    .filter(|_| show_contact)
                    .map(|x| ContactView {
                        name: x.name.to_string(),
                        phone: x.phone.clone(),
                    }),
                subjects: c
                    .subjects
                    .iter()
                    .map(|s| ComplainedSubjectView {
                        subject: SubjectView::from(&s.subject),
                        level: s.level.value(),
                        reasons: s.reasons.clone(),
                        comment: s.comment.clone(),
                    })
                    .collect(),
                overall_comment: c.overall_comment.clone(),
                suggestion: c.suggestion.clone(),
                handling_officers: c.handling_officers(),
                submitted_at: c.submitted_at,
            },
        }
    }
}

#[derive(Debug, Serialize)]
pub struct CaseEventView {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: crate::domain::case::CaseAction,
    pub note: Option<String>,
    pub status_after: CaseStatus,
}

impl From<&CaseEvent> for CaseEventView {
    fn from(e: &CaseEvent) -> Self {
        CaseEventView {
            at: e.at,
            actor: e.actor.clone(),
            action: e.action,
            note: e.note.clone(),
            status_after: e.status_after,
        }
    }
}

/// One day's figures of one statistics unit, as a reader may see them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatsRowView {
    pub unit: String,
    pub owner: Option<String>,
    pub date: NaiveDate,
    pub level_counts: [u64; 5],
    pub ratings: u64,
    pub average: Option<f64>,
    pub satisfied_share: Option<f64>,
    pub forms_issued: u64,
    pub forms_submitted: u64,
    pub response_rate: Option<f64>,
    pub complaints_opened: u64,
    pub complaints_closed: u64,
    pub complaints_overdue: u64,
    /// Upheld complaints: for the department and the inspection unit only
    /// (discipline records), absent for everyone else.
    pub complaints_upheld: Option<u64>,
    pub suggestions_opened: u64,
    /// How businesses rated the handling of their cases (index 0 is level 1).
    pub handling_level_counts: [u64; 5],
    /// Forms issued by their invitation's state (`sent`, `capped`,
    /// `sampled_out`, `suppressed`, `rejected`, `pending`).
    pub invitations: std::collections::BTreeMap<String, u64>,
    /// Forms submitted by channel. A day's levels by channel are not here:
    /// only the period report gives them, with its small-cell rule.
    pub channel_forms: std::collections::BTreeMap<String, u64>,
}

impl StatsRowView {
    /// The row as `who` may read it (after `stats_for_reader`).
    pub fn for_reader(who: &Scope, r: &DailyStats) -> StatsRowView {
        let mut view = StatsRowView::from(r);
        if !who.sees_misconduct() {
            view.complaints_upheld = None;
        }
        view
    }
}

impl From<&DailyStats> for StatsRowView {
    fn from(r: &DailyStats) -> Self {
        StatsRowView {
            unit: r.unit.clone(),
            owner: r.owner.clone(),
            date: r.date,
            level_counts: r.level_counts,
            ratings: r.ratings,
            average: r.average,
            satisfied_share: r.satisfied_share,
            forms_issued: r.forms_issued,
            forms_submitted: r.forms_submitted,
            response_rate: r.response_rate,
            complaints_opened: r.complaints_opened,
            complaints_closed: r.complaints_closed,
            complaints_overdue: r.complaints_overdue,
            complaints_upheld: Some(r.complaints_upheld),
            suggestions_opened: r.suggestions_opened,
            handling_level_counts: r.handling_level_counts,
            invitations: r.invitations.clone(),
            channel_forms: r.channel_forms.clone(),
        }
    }
}

/// A comment about an officer as the officer reads it: no business, no
/// declaration, no day (only the month).
#[derive(Debug, Serialize)]
pub struct OfficerCommentView {
    pub month: String,
    pub stage: Option<Stage>,
    pub level: u8,
    pub reasons: Vec<Reason>,
    pub comment: String,
}

pub fn officer_comment(r: &RatingRecord) -> Option<OfficerCommentView> {
    if is_misconduct_report(r) {
        return None;
    }
    Some(OfficerCommentView {
        month: crate::domain::time::vn_day(r.submitted_at)
            .format("%Y-%m")
            .to_string(),
        stage: r.subject.stage,
        level: r.level.value(),
        reasons: r.reasons.clone(),
        comment: r.comment.clone()?,
    })
}
