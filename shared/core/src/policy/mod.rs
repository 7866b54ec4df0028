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

mod access;
mod views;

pub use access::{Caller, Home, OPERATOR_MARK, RoleView, grant_code, grants, scope_of};
pub use views::*;

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
    /// The suppression list and the webhooks (an address looked up is
    /// personal data; a webhook receives every event).
    Channels,
    /// A person's request: find, export or erase what is held about them.
    PersonalData,
    /// The retaliation watch's cases: the inspection unit and the department.
    Watch,
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
            StaffRoute::Channels => "the suppression list, webhooks and counter tablets",
            StaffRoute::PersonalData => "a person's requests for their data",
            StaffRoute::Watch => "the retaliation watch",
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
    /// The inspection unit's and the department's alone.
    InspectionOnly(StaffRoute),
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
            Refusal::DepartmentOnly(route @ (StaffRoute::Channels | StaffRoute::PersonalData)) => {
                write!(f, "Only department staff may manage {}.", route.what())
            }
            Refusal::DepartmentOnly(route) => {
                write!(f, "Only department staff may read {}.", route.what())
            }
            Refusal::InspectionOnly(route) => write!(
                f,
                "Only the inspection unit and the department may read {}.",
                route.what()
            ),
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
            StaffRoute::AuditLog
            | StaffRoute::DirectoryChange
            | StaffRoute::CaseRulesChange
            | StaffRoute::Channels
            | StaffRoute::PersonalData
                if role != StaffRole::Department =>
            {
                Err(Refusal::DepartmentOnly(route))
            }
            StaffRoute::Watch if !matches!(role, StaffRole::Department | StaffRole::Inspection) => {
                Err(Refusal::InspectionOnly(route))
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
