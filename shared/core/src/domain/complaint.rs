//! Complaints (phản ánh, kiến nghị) and the rule that decides who handles them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::declaration::Business;
use super::form::{Contact, Form, Subject, Submission};
use super::org::{DEFAULT_UNIT, INSPECTION_UNIT, OrgDirectory, UnitLabel};
use super::rating_scale::{Level, Polarity, Reason};

/// One complained-about subject with what the business said of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComplainedSubject {
    pub subject: Subject,
    pub level: Level,
    pub reasons: Vec<Reason>,
    pub comment: Option<String>,
}

/// The message put on the complaint queue when a submitted form holds a complaint.
/// Its id is the form id: one form makes at most one complaint, so a redelivered
/// message can be recognised and opens no second case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Complaint {
    pub id: String,
    pub form_id: String,
    pub declaration_number: String,
    pub branch: String,
    pub business: Business,
    pub contact: Option<Contact>,
    pub subjects: Vec<ComplainedSubject>,
    pub overall_comment: Option<String>,
    pub submitted_at: DateTime<Utc>,
    /// Units the directory did not know when the form was issued.
    #[serde(default)]
    pub unknown_units: Vec<String>,
    /// The form's retention limit: the case holding this complaint goes with it.
    #[serde(default = "keep_until_removed")]
    pub personal_data_until: DateTime<Utc>,
    /// The office and the units above it when the form was issued, root first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub office_path: Vec<UnitLabel>,
    /// Every officer the form named (id), complained about or not: a finding
    /// may concern any of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub officers: Vec<String>,
    /// A suggestion (kiến nghị) left with the rating: it opens its own case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suggestion: Option<String>,
    /// A misconduct report's name towards other systems: random, so that no
    /// event about it (its rating, its cases) can be joined with the events
    /// that name its form or declaration. None for any other complaint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidential_ref: Option<String>,
}

/// For complaints queued before retention was recorded: kept until removed by hand.
fn keep_until_removed() -> DateTime<Utc> {
    DateTime::<Utc>::MAX_UTC
}

impl Complaint {
    /// A complaint exists when any subject is rated 1–2 or given a negative
    /// reason; a suggestion travels the same way, so one message carries both.
    pub fn from_submission(
        form: &Form,
        submission: &Submission,
        at: DateTime<Utc>,
    ) -> Option<Complaint> {
        let subjects: Vec<ComplainedSubject> = submission
            .ratings
            .iter()
            .filter(|r| {
                r.level.is_low() || r.reasons.iter().any(|x| x.polarity() == Polarity::Negative)
            })
            .filter_map(|r| {
                Some(ComplainedSubject {
                    subject: form.subject(&r.subject_key)?.clone(),
                    level: r.level,
                    reasons: r.reasons.clone(),
                    comment: r.comment.clone(),
                })
            })
            .collect();
        if subjects.is_empty() && submission.suggestion.is_none() {
            return None;
        }
        Some(Complaint {
            id: form.id.clone(),
            form_id: form.id.clone(),
            declaration_number: form.declaration.number.to_string(),
            branch: form.declaration.customs_office.to_string(),
            business: form.business.clone(),
            contact: submission.contact.clone(),
            subjects,
            overall_comment: submission.overall_comment.clone(),
            submitted_at: at,
            unknown_units: form.unknown_units.clone(),
            personal_data_until: form.personal_data_until,
            office_path: form.office_path.clone(),
            officers: form
                .subjects
                .iter()
                .filter_map(|s| s.officer_id.as_ref().map(|o| o.to_string()))
                .fold(vec![], |mut acc, o| {
                    if !acc.contains(&o) {
                        acc.push(o);
                    }
                    acc
                }),
            suggestion: submission.suggestion.clone(),
            confidential_ref: submission
                .reports_misconduct()
                .then(|| uuid::Uuid::new_v4().simple().to_string()),
        })
    }

    /// The officers a finding may name: the form's, or for a complaint queued
    /// before they were recorded, the complained-about ones.
    pub fn handling_officers(&self) -> Vec<String> {
        if !self.officers.is_empty() {
            return self.officers.clone();
        }
        let mut out: Vec<String> = vec![];
        for s in &self.subjects {
            if let Some(o) = &s.subject.officer_id
                && !out.iter().any(|x| x == o.as_str())
            {
                out.push(o.to_string());
            }
        }
        out
    }

    /// Whether this message carries a complaint (a suggestion alone does not).
    pub fn has_complaint(&self) -> bool {
        !self.subjects.is_empty()
    }

    /// The statistics units of the office and everything above it.
    pub fn office_stats_units(&self, org: Option<&OrgDirectory>) -> Vec<String> {
        let codes: Vec<String> = if self.office_path.is_empty() {
            match org {
                Some(org) if org.unit(&self.branch).is_some() => org
                    .path(&self.branch)
                    .into_iter()
                    .map(|u| u.code.clone())
                    .collect(),
                _ => vec![self.branch.clone()],
            }
        } else {
            self.office_path.iter().map(|u| u.code.clone()).collect()
        };
        codes.iter().map(|c| super::form::units::unit(c)).collect()
    }

    pub fn is_misconduct(&self) -> bool {
        self.subjects
            .iter()
            .any(|s| s.reasons.iter().any(|r| r.is_misconduct()))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssigneeRole {
    InspectionUnit,
    /// The head of the office that handled the declaration, or of the nearest
    /// unit above it that has a head.
    #[serde(alias = "branch_head")]
    UnitHead,
    DefaultHandler,
}

/// Who must handle a complaint, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    /// `inspection`, `default`, or the code of the unit whose head handles it:
    /// the case list that shows it.
    pub unit: String,
    pub role: AssigneeRole,
    pub name: String,
    pub email: String,
    pub rule: String,
}

impl Assignment {
    /// The tree unit behind the case list (`inspection` and `default` name roles).
    pub fn unit_code<'a>(&'a self, org: &'a OrgDirectory) -> &'a str {
        org.case_list_unit(&self.unit)
    }
}

/// Misconduct goes to the inspection unit, never to the officer's own unit;
/// other complaints go to the head of the office that handled the declaration
/// (climbing to the nearest unit with a head, following merges); an office or
/// team the directory does not know sends the complaint to the default unit.
pub fn assign(complaint: &Complaint, org: &OrgDirectory) -> Assignment {
    if complaint.is_misconduct()
        && let Some((unit, head)) = org.inspection()
    {
        return Assignment {
            unit: INSPECTION_UNIT.into(),
            role: AssigneeRole::InspectionUnit,
            name: head.name.clone(),
            email: head.email.clone(),
            rule: format!(
                "misconduct reason (causing trouble, harassment, misconduct) goes to the inspection unit {}",
                unit.code
            ),
        };
    }
    let unknown = complaint.unknown_units.iter().any(|u| {
        complaint.subjects.iter().any(|s| {
            s.subject.branch.as_str() == u
                || s.subject.team.as_ref().is_some_and(|t| t.as_str() == u)
        })
    });
    let office_head = (!unknown)
        .then(|| org.head_for(&complaint.branch))
        .flatten();
    match office_head {
        Some((unit, head)) => Assignment {
            unit: unit.code.clone(),
            role: AssigneeRole::UnitHead,
            name: head.name.clone(),
            email: head.email.clone(),
            rule: if unit.code == complaint.branch {
                format!("complaint about office {} goes to its head", unit.code)
            } else {
                format!(
                    "complaint about office {} goes to the head of {}, the nearest unit with a head",
                    complaint.branch, unit.code
                )
            },
        },
        None => {
            let (name, email) = org
                .default_handler()
                .map(|(_, h)| (h.name.clone(), h.email.clone()))
                .unwrap_or_default();
            Assignment {
                unit: DEFAULT_UNIT.into(),
                role: AssigneeRole::DefaultHandler,
                name,
                email,
                rule: "unit not in the org directory: default handler".into(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::form::SubjectRating;
    use crate::domain::org::tests::sample_org;
    use crate::domain::submission::tests::sample_form;

    fn submission(level: u8, reasons: &[Reason]) -> Submission {
        Submission {
            ratings: vec![
                SubjectRating {
                    subject_key: "branch:03CC".into(),
                    level: Level::new(5).unwrap(),
                    reasons: vec![],
                    comment: None,
                },
                SubjectRating {
                    subject_key: "officer:document_check:HP1234".into(),
                    level: Level::new(level).unwrap(),
                    reasons: reasons.to_vec(),
                    comment: Some("x".into()),
                },
            ],
            overall_comment: None,
            contact: None,
            suggestion: None,
            channel: None,
        }
    }

    #[test]
    fn complaint_only_when_low_or_negative() {
        let form = sample_form();
        assert!(
            Complaint::from_submission(&form, &submission(4, &[Reason::Fast]), Utc::now())
                .is_none()
        );
        assert!(Complaint::from_submission(&form, &submission(3, &[]), Utc::now()).is_none());
        let c = Complaint::from_submission(&form, &submission(3, &[Reason::Delay]), Utc::now())
            .unwrap();
        assert_eq!(c.subjects.len(), 1);
        assert_eq!(c.id, form.id);
        let c = Complaint::from_submission(&form, &submission(2, &[]), Utc::now()).unwrap();
        assert_eq!(c.subjects[0].subject.key, "officer:document_check:HP1234");
    }

    #[test]
    fn misconduct_goes_to_inspection_never_the_team() {
        let form = sample_form();
        let org = sample_org();
        for r in [
            Reason::CausingTrouble,
            Reason::Harassment,
            Reason::Misconduct,
        ] {
            let c =
                Complaint::from_submission(&form, &submission(1, &[r, Reason::Delay]), Utc::now())
                    .unwrap();
            let a = assign(&c, &org);
            assert_eq!(a.role, AssigneeRole::InspectionUnit);
            assert_eq!(a.email, "thanhtra@demo.customs.example");
            assert_ne!(a.unit, "03CC01");
        }
    }

    #[test]
    fn other_complaints_go_to_branch_head_or_default() {
        let form = sample_form();
        let org = sample_org();
        let c = Complaint::from_submission(&form, &submission(2, &[Reason::Delay]), Utc::now())
            .unwrap();
        let a = assign(&c, &org);
        assert_eq!(
            (a.role, a.unit.as_str(), a.email.as_str()),
            (AssigneeRole::UnitHead, "03CC", "cc03@demo.customs.example")
        );

        // An office without a head: the nearest head above it takes the case.
        let mut headless = org.clone();
        headless.units[2].head = None;
        let a = assign(&c, &headless);
        assert_eq!(
            (a.unit.as_str(), a.email.as_str()),
            ("CUC", "cuc@demo.customs.example")
        );

        // An office merged into another: the successor's head takes it.
        let mut merged = org.clone();
        merged.units[2].successor = Some("VP".into());
        merged.units[2].retired = true;
        let merged = OrgDirectory::new("TT", "VP", merged.units);
        assert_eq!(assign(&c, &merged).unit, "VP");

        let mut unknown_branch = c.clone();
        unknown_branch.branch = "99ZZ".into();
        assert_eq!(
            assign(&unknown_branch, &org).role,
            AssigneeRole::DefaultHandler
        );

        let mut unknown_team = c.clone();
        unknown_team.unknown_units = vec!["03CC01".into()];
        let a = assign(&unknown_team, &org);
        assert_eq!(a.unit, DEFAULT_UNIT);
        assert_eq!(a.email, "vanphong@demo.customs.example");
        assert_eq!(a.unit_code(&org), "VP");
    }
}
