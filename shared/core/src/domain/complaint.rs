//! Complaints (phản ánh, kiến nghị) and the rule that decides who handles them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::declaration::Business;
use super::form::{Contact, Form, Subject, Submission};
use super::org::{DEFAULT_UNIT, INSPECTION_UNIT, OrgDirectory};
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
}

/// For complaints queued before retention was recorded: kept until removed by hand.
fn keep_until_removed() -> DateTime<Utc> {
    DateTime::<Utc>::MAX_UTC
}

impl Complaint {
    /// A complaint exists when any subject is rated 1–2 or given a negative reason.
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
        if subjects.is_empty() {
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
        })
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
    BranchHead,
    DefaultHandler,
}

/// Who must handle a complaint, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    /// `inspection`, a branch code, or `default`: the unit whose case list shows it.
    pub unit: String,
    pub role: AssigneeRole,
    pub name: String,
    pub email: String,
    pub rule: String,
}

/// Misconduct goes to the inspection unit, never to the officer's own team; other
/// complaints go to the head of the branch that handled the declaration; a branch
/// the directory does not know sends the complaint to the default handler.
pub fn assign(complaint: &Complaint, org: &OrgDirectory) -> Assignment {
    if complaint.is_misconduct() {
        return Assignment {
            unit: INSPECTION_UNIT.into(),
            role: AssigneeRole::InspectionUnit,
            name: org.inspection.name.clone(),
            email: org.inspection.email.clone(),
            rule: "misconduct reason (causing trouble, harassment, misconduct) goes to the inspection unit".into(),
        };
    }
    let unknown = complaint.unknown_units.iter().any(|u| {
        complaint.subjects.iter().any(|s| {
            s.subject.branch.as_str() == u
                || s.subject.team.as_ref().is_some_and(|t| t.as_str() == u)
        })
    });
    match org.branch(&complaint.branch) {
        Some(branch) if !unknown => Assignment {
            unit: branch.code.clone(),
            role: AssigneeRole::BranchHead,
            name: branch.head.name.clone(),
            email: branch.head.email.clone(),
            rule: format!("complaint about branch {} goes to its head", branch.code),
        },
        _ => Assignment {
            unit: DEFAULT_UNIT.into(),
            role: AssigneeRole::DefaultHandler,
            name: org.default_handler.name.clone(),
            email: org.default_handler.email.clone(),
            rule: "unit not in the org directory: default handler".into(),
        },
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
            (
                AssigneeRole::BranchHead,
                "03CC",
                "cc03@demo.customs.example"
            )
        );

        let mut unknown_branch = c.clone();
        unknown_branch.branch = "99ZZ".into();
        assert_eq!(
            assign(&unknown_branch, &org).role,
            AssigneeRole::DefaultHandler
        );

        let mut unknown_team = c.clone();
        unknown_team.unknown_units = vec!["03CC01".into()];
        assert_eq!(assign(&unknown_team, &org).unit, DEFAULT_UNIT);
    }
}
