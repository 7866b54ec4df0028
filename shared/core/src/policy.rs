//! Who sees what: the one visibility policy, applied by every staff route, CSV
//! export, the dashboard (which only reads these routes) and every email sent
//! to staff. Everything staff read goes out through a view built here for its
//! reader, never as a domain record serialized whole: a field added to a record
//! later stays private until a view names it.
//!
//! | reader | sees |
//! |---|---|
//! | department | everything |
//! | inspection unit | misconduct reports and their reporters, in every unit; its cases |
//! | unit head | its subtree's ratings, forms and cases with the business identity, never a misconduct report; misconduct counts in statistics only in cells of at least k ratings |
//! | case assignee | the complainant's contact, while the case is open |
//! | officer | own figures per month (months of at least k ratings) and comments, no business identity, never misconduct reports |

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::auth::scope::Scope;
use crate::auth::staff::StaffRole;
use crate::domain::case::{Case, CaseEvent, CaseKind, CaseStatus, Conclusion, Escalation};
use crate::domain::complaint::{AssigneeRole, Complaint};
use crate::domain::declaration::{Lane, Stage};
use crate::domain::form::{Form, FormStatus, InvitationState, RatingRecord, Subject, SubjectKind};
use crate::domain::org::UnitLabel;
use crate::domain::rating_scale::Reason;
use crate::domain::stats::DailyStats;

/// The smallest number of ratings a figure may rest on before a reader who may
/// not see misconduct reports (or an officer) sees it: fewer would let them
/// work out who said what. Configurable per host; 5 by default.
pub const DEFAULT_MIN_CELL: u64 = 5;

/// A figure resting on `ratings` ratings may be shown to a reader who may not
/// see misconduct reports, an officer or the public: the one small-cell rule.
/// Nothing (0) is no cell to protect.
pub fn enough_ratings(ratings: u64, k: u64) -> bool {
    ratings >= k
}

/// A rating record that is, or belongs to a form that is, a misconduct report
/// (phiền hà, sách nhiễu, tiêu cực): the whole report is withheld, not only the
/// line that names the reason.
pub fn is_misconduct_report(r: &RatingRecord) -> bool {
    r.is_part_of_misconduct_report()
}

impl Scope {
    /// Department and inspection unit: the readers misconduct reports are for.
    pub fn sees_misconduct(&self) -> bool {
        matches!(self.role(), StaffRole::Department | StaffRole::Inspection)
    }

    /// The person the case is assigned to: its unit's head, or the inspection unit.
    pub fn is_assignee(&self, case: &Case) -> bool {
        match self.role() {
            StaffRole::Inspection => case.assignment.role == AssigneeRole::InspectionUnit,
            StaffRole::UnitHead => {
                case.assignment.role != AssigneeRole::InspectionUnit
                    && self.who.unit.as_deref() == Some(self.case_list_unit(&case.assignment.unit))
            }
            StaffRole::Department | StaffRole::Officer => false,
        }
    }

    /// The complainant's contact: the department, and the assignee while the case is open.
    fn sees_contact(&self, case: &Case) -> bool {
        self.role() == StaffRole::Department || (self.is_assignee(case) && !case.status.is_closed())
    }
}

/// What a staff route serves: the role check every route makes first,
/// before it reads its parameters, so that a reader who may not use a route
/// is told so whatever they sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaffRoute {
    /// The org directory and its versions (names and emails of heads and handlers).
    Directory,
    Forms,
    Ratings,
    Cases,
    Exports,
    Stats,
    Reports,
    Rankings,
    Warnings,
    /// An officer's own figures and comments.
    OwnPage,
    AuditLog,
    /// Saving a new version of the org directory.
    DirectoryChange,
    /// Saving a new version of the case rules (holidays, deadlines, measures).
    CaseRulesChange,
}

impl StaffRoute {
    fn what(self) -> &'static str {
        match self {
            StaffRoute::Directory => "the org directory",
            StaffRoute::Forms => "the forms listing",
            StaffRoute::Ratings => "the ratings listing",
            StaffRoute::Cases => "the case listing",
            StaffRoute::Exports => "the exports",
            StaffRoute::Stats => "unit statistics",
            StaffRoute::Reports => "unit reports",
            StaffRoute::Rankings => "rankings",
            StaffRoute::Warnings => "early warnings",
            StaffRoute::OwnPage => "an officer's own page",
            StaffRoute::AuditLog => "the audit log",
            StaffRoute::DirectoryChange => "a new org directory",
            StaffRoute::CaseRulesChange => "new case rules",
        }
    }
}

/// Why a staff request was refused, as the sentence its reader gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// A unit (or a statistics key) outside the reader's part of the tree.
    Unit(String),
    /// Officers read their own page and nothing else.
    OfficerOwnPageOnly(StaffRoute),
    /// `/v1/me` belongs to officers.
    OfficersOnly,
    DepartmentOnly(StaffRoute),
    /// A unit's case list the reader does not handle.
    CasesOf(String),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Unit(unit) => write!(
                f,
                "{unit} is outside your scope: you may read your own unit and the units under it."
            ),
            Refusal::OfficerOwnPageOnly(route) => write!(
                f,
                "Officers may not read {}: an officer reads only their own figures and comments, at /v1/me.",
                route.what()
            ),
            Refusal::OfficersOnly => write!(
                f,
                "/v1/me is an officer's own page and you are not signed in as an officer: read /v1/stats or /v1/report instead."
            ),
            Refusal::DepartmentOnly(
                route @ (StaffRoute::DirectoryChange | StaffRoute::CaseRulesChange),
            ) => {
                write!(f, "Only department staff may save {}.", route.what())
            }
            Refusal::DepartmentOnly(route) => {
                write!(f, "Only department staff may read {}.", route.what())
            }
            Refusal::CasesOf(unit) => write!(
                f,
                "The cases of {unit} are outside your scope: you list the cases your own unit handles."
            ),
        }
    }
}

impl Scope {
    /// Whether this reader may use `route` at all (the first check of every
    /// staff route). Officers read only their own page; the audit log is the
    /// department's; the rest is for unit heads, inspection and department.
    pub fn may_use(&self, route: StaffRoute) -> Result<(), Refusal> {
        let role = self.role();
        match route {
            StaffRoute::OwnPage if role != StaffRole::Officer => Err(Refusal::OfficersOnly),
            StaffRoute::OwnPage => Ok(()),
            StaffRoute::AuditLog | StaffRoute::DirectoryChange | StaffRoute::CaseRulesChange
                if role != StaffRole::Department =>
            {
                Err(Refusal::DepartmentOnly(route))
            }
            _ if role == StaffRole::Officer => Err(Refusal::OfficerOwnPageOnly(route)),
            _ => Ok(()),
        }
    }
}

impl Scope {
    /// Whether this reader may list the cases `unit` handles (`inspection`:
    /// the inspection unit's). A unit head lists those of its part of the
    /// tree, never the inspection unit's.
    pub fn may_list_cases_of(&self, unit: &str) -> Result<(), Refusal> {
        let allowed = match self.role() {
            StaffRole::Department => true,
            StaffRole::Officer => false,
            StaffRole::Inspection => unit == crate::domain::org::INSPECTION_UNIT,
            StaffRole::UnitHead => {
                unit != crate::domain::org::INSPECTION_UNIT
                    && self.sees_unit(self.case_list_unit(unit))
            }
        };
        if allowed {
            Ok(())
        } else {
            Err(Refusal::CasesOf(unit.to_owned()))
        }
    }
}

/// Whether a form appears in this reader's listing at all.
pub fn sees_form(who: &Scope, form: &Form) -> bool {
    match who.role() {
        StaffRole::Department => true,
        StaffRole::Inspection => form.is_misconduct_report(),
        StaffRole::UnitHead => who.form_in_scope(form) && !form.is_misconduct_report(),
        StaffRole::Officer => false,
    }
}

pub fn sees_rating(who: &Scope, r: &RatingRecord) -> bool {
    match who.role() {
        StaffRole::Department => true,
        StaffRole::Inspection => is_misconduct_report(r),
        StaffRole::UnitHead => who.rating_in_scope(r) && !is_misconduct_report(r),
        StaffRole::Officer => false,
    }
}

/// Unit heads see the cases of their subtree, escalations to them included,
/// but never a misconduct case: it belongs to the inspection unit, whose
/// independence is the point of the rule.
pub fn sees_case(who: &Scope, case: &Case) -> bool {
    match who.role() {
        StaffRole::Department => true,
        StaffRole::Officer => false,
        StaffRole::Inspection => case.assignment.role == AssigneeRole::InspectionUnit,
        StaffRole::UnitHead => {
            case.assignment.role != AssigneeRole::InspectionUnit
                && (who.sees_unit(who.case_list_unit(&case.assignment.unit))
                    || case.escalations.iter().any(|e| who.sees_unit(&e.unit)))
        }
    }
}

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

/// A rollup as this reader may see it: misconduct reports count in a cell of at
/// least `k` ratings; in a smaller one they are taken out for anyone who may
/// not see them, so a single report cannot be traced through the figures.
pub fn stats_for_reader(who: &Scope, row: &DailyStats, k: u64) -> DailyStats {
    if who.sees_misconduct() || enough_ratings(row.ratings, k) {
        row.clone()
    } else {
        row.without_misconduct()
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
