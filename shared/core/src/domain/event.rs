//! Events other systems of the authority can follow: a form was issued, a
//! rating submitted, a complaint opened, a case transferred, escalated,
//! closed or reopened.
//!
//! Each is published once per action, with an id made from what happened (a
//! form, a case version), so a consumer that sees an id twice knows it is a
//! redelivery. The JSON is versioned (`schema_version`) and described by
//! `shared/core/api/events-v1.schema.json`; a test checks the two agree.
//!
//! Events carry ids, unit codes, levels and states, never personal data: no
//! business name or address, contact, comment or reason. A misconduct report
//! is not tied to its declaration either: its `complaint.opened` names no form.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::case::{Case, CaseKind};
use super::complaint::Complaint;
use super::form::{Form, InvitationState, Submission};

/// The version of the events' JSON: fields may be added within a version,
/// never renamed or removed.
pub const SCHEMA_VERSION: u32 = 1;

/// Where events come from (the EventBridge `source`).
pub const SOURCE: &str = "csq";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Stable for one action: a redelivery carries the same id.
    pub id: String,
    pub schema_version: u32,
    pub occurred_at: DateTime<Utc>,
    #[serde(flatten)]
    pub body: EventBody,
}

/// The event type (`type`) and its `data`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum EventBody {
    #[serde(rename = "form.issued")]
    FormIssued(FormIssued),
    #[serde(rename = "rating.submitted")]
    RatingSubmitted(RatingSubmitted),
    #[serde(rename = "complaint.opened")]
    ComplaintOpened(ComplaintOpened),
    #[serde(rename = "case.transferred")]
    CaseTransferred(CaseTransferred),
    #[serde(rename = "case.closed")]
    CaseClosed(CaseClosed),
    #[serde(rename = "case.escalated")]
    CaseEscalated(CaseEscalated),
    #[serde(rename = "case.reopened")]
    CaseReopened(CaseReopened),
}

impl EventBody {
    /// Every event type, as the schema and the EventBridge `detail-type` name them.
    pub const TYPES: [&'static str; 7] = [
        "form.issued",
        "rating.submitted",
        "complaint.opened",
        "case.transferred",
        "case.closed",
        "case.escalated",
        "case.reopened",
    ];

    pub fn type_name(&self) -> &'static str {
        match self {
            EventBody::FormIssued(_) => Self::TYPES[0],
            EventBody::RatingSubmitted(_) => Self::TYPES[1],
            EventBody::ComplaintOpened(_) => Self::TYPES[2],
            EventBody::CaseTransferred(_) => Self::TYPES[3],
            EventBody::CaseClosed(_) => Self::TYPES[4],
            EventBody::CaseEscalated(_) => Self::TYPES[5],
            EventBody::CaseReopened(_) => Self::TYPES[6],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FormIssued {
    pub form_id: String,
    pub declaration_number: String,
    pub customs_office: String,
    /// 1 for the declaration's form, 2.. for follow-up forms of later stages.
    pub sequence: u32,
    pub follow_up_of: Option<String>,
    pub subject_keys: Vec<String>,
    pub expires_at: DateTime<Utc>,
    pub invitation: InvitationState,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RatedSubject {
    pub subject_key: String,
    pub level: u8,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RatingSubmitted {
    /// None, like the declaration and the levels, for a misconduct report.
    pub form_id: Option<String>,
    pub declaration_number: Option<String>,
    pub customs_office: String,
    pub ratings: Vec<RatedSubject>,
    /// A complaint case follows (low levels or negative reasons).
    pub complaint: bool,
    /// A misconduct report: nothing here leads back to the business.
    pub confidential: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComplaintOpened {
    pub case_id: String,
    /// None for a misconduct report: it must not lead back to the business.
    pub form_id: Option<String>,
    pub declaration_number: Option<String>,
    /// The unit (or `inspection`) that handles it.
    pub unit: String,
    pub confidential: bool,
    pub due_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseTransferred {
    pub case_id: String,
    pub kind: CaseKind,
    pub from_unit: String,
    pub to_unit: String,
    /// `transfer` by staff, or `appeal` (the business appealed; reopened above).
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseClosed {
    pub case_id: String,
    pub kind: CaseKind,
    pub unit: String,
    /// `resolved` or `dismissed`.
    pub outcome: String,
    /// Whether the complaint was upheld (None for a suggestion).
    pub upheld: Option<bool>,
}

/// An overdue case was brought to the head of a unit above: the unit codes,
/// never the head's name or address.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseEscalated {
    pub case_id: String,
    pub kind: CaseKind,
    /// The unit holding the case.
    pub unit: String,
    /// The unit whose head it was brought to.
    pub to_unit: String,
    /// 1 for the first escalation, 2 for the next level up, ...
    pub level: u32,
    pub due_at: DateTime<Utc>,
}

/// A closed case is open again: the business appealed its outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseReopened {
    pub case_id: String,
    pub kind: CaseKind,
    /// The unit that reviews it now.
    pub unit: String,
    pub reason: String,
    pub due_at: DateTime<Utc>,
}

impl Event {
    fn new(id: String, at: DateTime<Utc>, body: EventBody) -> Event {
        Event {
            id,
            schema_version: SCHEMA_VERSION,
            occurred_at: at,
            body,
        }
    }

    pub fn type_name(&self) -> &'static str {
        self.body.type_name()
    }

    pub fn form_issued(form: &Form) -> Event {
        Event::new(
            format!("form.issued:{}", form.id),
            form.issued_at,
            EventBody::FormIssued(FormIssued {
                form_id: form.id.clone(),
                declaration_number: form.declaration.number.to_string(),
                customs_office: form.declaration.customs_office.to_string(),
                sequence: form.sequence,
                follow_up_of: form.follow_up_of.clone(),
                subject_keys: form.subjects.iter().map(|s| s.key.clone()).collect(),
                expires_at: form.expires_at,
                invitation: form.invitation_state(),
            }),
        )
    }

    /// A submission's event. A misconduct report's (its complaint carries a
    /// confidential reference) goes by that reference with no form,
    /// declaration or levels: the form's own `form.issued` must not be
    /// joinable with it, or with the report's cases.
    pub fn rating_submitted(
        form: &Form,
        submission: &Submission,
        at: DateTime<Utc>,
        complaint: Option<&Complaint>,
    ) -> Event {
        let secret = complaint.and_then(|c| c.confidential_ref.as_deref());
        let reveal = |s: String| secret.is_none().then_some(s);
        Event::new(
            format!("rating.submitted:{}", secret.unwrap_or(&form.id)),
            at,
            EventBody::RatingSubmitted(RatingSubmitted {
                form_id: reveal(form.id.clone()),
                declaration_number: reveal(form.declaration.number.to_string()),
                customs_office: form.declaration.customs_office.to_string(),
                ratings: submission
                    .ratings
                    .iter()
                    .filter(|_| secret.is_none())
                    .map(|r| RatedSubject {
                        subject_key: r.subject_key.clone(),
                        level: r.level.value(),
                    })
                    .collect(),
                complaint: complaint.is_some(),
                confidential: secret.is_some(),
            }),
        )
    }

    /// The event of a newly opened case: only complaints (a suggestion is not one).
    pub fn complaint_opened(case: &Case) -> Option<Event> {
        if case.kind != CaseKind::Complaint {
            return None;
        }
        let confidential = case.is_misconduct();
        let reveal = |s: &String| (!confidential).then(|| s.clone());
        let case_id = case.event_id();
        Some(Event::new(
            format!("complaint.opened:{case_id}"),
            case.opened_at,
            EventBody::ComplaintOpened(ComplaintOpened {
                case_id,
                form_id: reveal(&case.complaint.form_id),
                declaration_number: reveal(&case.complaint.declaration_number),
                unit: case.assignment.unit.clone(),
                confidential,
                due_at: case.due_at,
            }),
        ))
    }

    /// What one stored change of a case tells other systems: it was
    /// reopened, a new unit holds it, it was escalated, and/or it was closed.
    /// Keyed by the version written.
    pub fn case_changes(before: &Case, after: &Case, at: DateTime<Utc>) -> Vec<Event> {
        let mut out = Vec::new();
        let case_id = after.event_id();
        if before.status.is_closed() && !after.status.is_closed() {
            out.push(Event::new(
                format!("case.reopened:{case_id}:{}", after.version),
                at,
                EventBody::CaseReopened(CaseReopened {
                    case_id: case_id.clone(),
                    kind: after.kind,
                    unit: after.assignment.unit.clone(),
                    reason: "appeal".into(),
                    due_at: after.due_at,
                }),
            ));
        }
        if before.assignment.unit != after.assignment.unit {
            let reason = if before.status.is_closed() && !after.status.is_closed() {
                "appeal"
            } else {
                "transfer"
            };
            out.push(Event::new(
                format!("case.transferred:{case_id}:{}", after.version),
                at,
                EventBody::CaseTransferred(CaseTransferred {
                    case_id: case_id.clone(),
                    kind: after.kind,
                    from_unit: before.assignment.unit.clone(),
                    to_unit: after.assignment.unit.clone(),
                    reason: reason.into(),
                }),
            ));
        }
        if let Some(escalation) = after.escalations.get(before.escalations.len()) {
            out.push(Event::new(
                format!("case.escalated:{case_id}:{}", after.version),
                at,
                EventBody::CaseEscalated(CaseEscalated {
                    case_id: case_id.clone(),
                    kind: after.kind,
                    unit: after.assignment.unit.clone(),
                    to_unit: escalation.unit.clone(),
                    level: after.escalations.len() as u32,
                    due_at: after.due_at,
                }),
            ));
        }
        if !before.status.is_closed() && after.status.is_closed() {
            out.push(Event::new(
                format!("case.closed:{case_id}:{}", after.version),
                at,
                EventBody::CaseClosed(CaseClosed {
                    case_id,
                    kind: after.kind,
                    unit: after.assignment.unit.clone(),
                    outcome: after.status.code().into(),
                    upheld: after.conclusion.as_ref().map(|c| c.upheld),
                }),
            ));
        }
        out
    }
}

/// Minutes a failed webhook delivery waits before each next attempt: nine
/// attempts over about a day and a half, so a receiver down overnight still
/// gets it.
const RETRY_MINUTES: [i64; 8] = [1, 5, 15, 60, 120, 240, 480, 960];

/// The most attempts of one webhook delivery.
pub const MAX_ATTEMPTS: u32 = RETRY_MINUTES.len() as u32 + 1;

/// How long a failed delivery waits after `attempts_made` attempts; None
/// after the last one (the delivery becomes a dead letter).
pub fn retry_delay(attempts_made: u32) -> Option<chrono::Duration> {
    RETRY_MINUTES
        .get(attempts_made.checked_sub(1)? as usize)
        .map(|m| chrono::Duration::minutes(*m))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every event type, made from real domain objects, against the committed
    /// schema; and the schema's types against the code's.
    #[test]
    fn the_committed_schema_describes_every_event() {
        use crate::domain::case::tests::{
            act, case_of, complaint_with, resolve, sample_case, upheld,
        };
        use crate::domain::case::{CaseStatus, StaffAction};
        use crate::domain::rating_scale::Reason;
        let schema: serde_json::Value =
            serde_json::from_str(include_str!("../../api/events-v1.schema.json")).unwrap();
        let validator = jsonschema::validator_for(&schema).expect("a valid JSON Schema");
        let form = crate::domain::submission::tests::sample_form();
        let mut follow_up = form.follow_up(
            "f2".into(),
            form.handling.clone(),
            form.issued_at,
            form.expires_at,
            form.expires_at,
        );
        let _ = follow_up.finish_invitation(&crate::domain::form::InvitationResult::Suppressed(
            crate::domain::suppression::SuppressionReason::OptedOut,
        ));
        let submission = crate::domain::submission::parse_submission(
            &form,
            &[
                ("level.0".to_owned(), "2".to_owned()),
                ("reason.0".to_owned(), "delay".to_owned()),
                ("contact_name".to_owned(), "Lan".to_owned()),
                ("contact_phone".to_owned(), "0901234567".to_owned()),
            ],
        )
        .unwrap();
        let case = sample_case();
        let misconduct = case_of(complaint_with(vec![Reason::Harassment]));
        let (transferred, _) = act(
            &case,
            StaffAction::Transfer {
                to: crate::domain::complaint::Assignment {
                    unit: "R03".into(),
                    ..case.assignment.clone()
                },
                reason: "thuộc thẩm quyền Chi cục khác".into(),
            },
        )
        .unwrap();
        let (closed, _) = act(&case, resolve(Some(upheld()))).unwrap();
        assert_eq!(closed.status, CaseStatus::Resolved);
        let events = [
            Event::form_issued(&form),
            Event::form_issued(&follow_up),
            Event::rating_submitted(
                &form,
                &submission,
                form.issued_at,
                Complaint::from_submission(&form, &submission, form.issued_at).as_ref(),
            ),
            Event::complaint_opened(&case).unwrap(),
            Event::complaint_opened(&misconduct).unwrap(),
            Event::case_changes(&case, &transferred, form.issued_at).remove(0),
            Event::case_changes(&case, &closed, form.issued_at).remove(0),
        ];
        let events: Vec<Event> = events
            .into_iter()
            .chain(escalated_and_reopened(&case))
            .collect();
        let mut seen = std::collections::BTreeSet::new();
        for e in &events {
            let json = serde_json::to_value(e).unwrap();
            let errors: Vec<String> = validator
                .iter_errors(&json)
                .map(|e| e.to_string())
                .collect();
            assert!(errors.is_empty(), "{json}: {errors:?}");
            seen.insert(e.type_name());
        }
        assert_eq!(seen.len(), EventBody::TYPES.len(), "every type checked");
        assert_eq!(
            schema["properties"]["type"]["enum"],
            serde_json::json!(EventBody::TYPES)
        );
        // The schema is strict: an unknown or a missing field fails it.
        let mut extra = serde_json::to_value(&events[0]).unwrap();
        extra["data"]["business_email"] = "xnk@abc.com.vn".into();
        assert!(!validator.is_valid(&extra));
        let mut missing = serde_json::to_value(&events[3]).unwrap();
        missing["data"].as_object_mut().unwrap().remove("unit");
        assert!(!validator.is_valid(&missing));
        // A misconduct report names no form or declaration.
        let secret = serde_json::to_value(&events[4]).unwrap();
        assert_eq!(secret["data"]["confidential"], true);
        assert!(
            secret["data"]["form_id"].is_null() && secret["data"]["declaration_number"].is_null()
        );
        // A suggestion opens no complaint event.
        let suggestion = Case {
            kind: CaseKind::Suggestion,
            ..case.clone()
        };
        assert!(Event::complaint_opened(&suggestion).is_none());
    }

    /// A case escalated once, then closed and reopened by an appeal: the
    /// `case.escalated` and `case.reopened` events of those changes.
    fn escalated_and_reopened(case: &Case) -> Vec<Event> {
        use crate::domain::case::BusinessAction;
        use crate::domain::case::tests::{act, resolve, upheld};
        let org = crate::domain::org::tests::sample_org();
        let rules = crate::domain::case::rules::CaseRules::default();
        let late = case.due_at + chrono::Duration::hours(1);
        let head = crate::domain::org::Handler {
            name: "Trưởng khu vực".into(),
            email: "r03@demo.customs.example".into(),
        };
        let (escalated, _) = case.escalate(&org.units[1], &head, late);
        let (closed, _) = act(&escalated, resolve(Some(upheld()))).unwrap();
        let reviewer = crate::domain::case::appeal_reviewer(&closed, &org);
        let (appealed, _) = closed
            .respond(
                &BusinessAction::Appeal("Chưa thỏa đáng".into()),
                late,
                &rules,
                reviewer,
            )
            .unwrap();
        let mut out = Event::case_changes(case, &escalated, late);
        out.extend(Event::case_changes(&closed, &appealed, late));
        out
    }

    #[test]
    fn escalations_and_appeals_are_announced_by_unit_code_only() {
        let case = crate::domain::case::tests::sample_case();
        let events = escalated_and_reopened(&case);
        let types: Vec<&str> = events.iter().map(Event::type_name).collect();
        assert_eq!(
            types,
            ["case.escalated", "case.reopened", "case.transferred"],
            "the appeal reopens the case with the unit above"
        );
        let EventBody::CaseEscalated(up) = &events[0].body else {
            unreachable!()
        };
        assert_eq!((up.to_unit.as_str(), up.level), ("R03", 1));
        assert_eq!(up.unit, case.assignment.unit);
        let EventBody::CaseReopened(again) = &events[1].body else {
            unreachable!()
        };
        assert_eq!(
            (again.unit.as_str(), again.reason.as_str()),
            ("CUC", "appeal")
        );
        let json = serde_json::to_string(&events).unwrap();
        for secret in [
            "Trưởng khu vực",
            "r03@demo.customs.example",
            "Chưa thỏa đáng",
        ] {
            assert!(!json.contains(secret), "{secret} leaked: {json}");
        }
        // A change that neither escalates nor reopens announces neither.
        let (noted, _) = crate::domain::case::tests::act(
            &case,
            crate::domain::case::StaffAction::Note {
                note: "đã gọi điện".into(),
            },
        )
        .unwrap();
        assert!(Event::case_changes(&case, &noted, case.opened_at).is_empty());
    }

    /// Every string a JSON value holds, keys aside.
    fn strings(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::String(s) => out.push(s.clone()),
            serde_json::Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
            serde_json::Value::Object(o) => o.values().for_each(|x| strings(x, out)),
            _ => {}
        }
    }

    #[test]
    fn a_misconduct_reports_events_share_no_id_with_its_form_issued() {
        use crate::domain::case::tests::{act, case_of, complaint_with, resolve, upheld};
        use crate::domain::rating_scale::Reason;
        let complaint = complaint_with(vec![Reason::Harassment]);
        let reference = complaint.confidential_ref.clone().expect("a reference");
        let form = crate::domain::submission::tests::sample_form();
        assert_eq!(complaint.form_id, form.id);
        let case = case_of(complaint.clone());
        let (closed, _) = act(&case, resolve(Some(upheld()))).unwrap();
        let submission = crate::domain::submission::parse_submission(
            &form,
            &[
                ("level.5".to_owned(), "1".to_owned()),
                ("reason.5".to_owned(), "harassment".to_owned()),
                ("contact_name".to_owned(), "Lan".to_owned()),
                ("contact_phone".to_owned(), "0901234567".to_owned()),
            ],
        )
        .unwrap();
        let secret = [
            Event::rating_submitted(&form, &submission, form.issued_at, Some(&complaint)),
            Event::complaint_opened(&case).unwrap(),
            Event::case_changes(&case, &closed, form.issued_at).remove(0),
        ];
        let public = serde_json::to_value(Event::form_issued(&form)).unwrap();
        let mut named = vec![];
        strings(&public["data"], &mut named);
        named.push(public["id"].as_str().unwrap().to_owned());
        for e in &secret {
            let json = serde_json::to_value(e).unwrap();
            let mut held = vec![];
            strings(&json, &mut held);
            for s in &held {
                for n in named.iter().filter(|n| n.len() > 4) {
                    assert!(
                        !s.contains(n.as_str())
                            || n == &form.declaration.customs_office.to_string(),
                        "{} carries {n}: {json}",
                        e.type_name()
                    );
                }
            }
            assert!(e.id.contains(&reference), "{}", e.id);
        }
        // Another complaint goes by its form id, as before.
        let plain = complaint_with(vec![Reason::Delay]);
        assert!(plain.confidential_ref.is_none());
        assert_eq!(case_of(plain.clone()).event_id(), plain.form_id);
    }

    #[test]
    fn retries_back_off_then_stop() {
        assert_eq!(retry_delay(0), None, "no attempt made: nothing to wait for");
        assert_eq!(retry_delay(1), Some(chrono::Duration::minutes(1)));
        assert_eq!(retry_delay(2), Some(chrono::Duration::minutes(5)));
        let waits: Vec<_> = (1..MAX_ATTEMPTS).map(|a| retry_delay(a).unwrap()).collect();
        assert!(waits.windows(2).all(|w| w[0] < w[1]), "growing");
        assert_eq!(retry_delay(MAX_ATTEMPTS), None, "dead after the last");
    }

    #[test]
    fn a_form_issued_event_names_no_business() {
        let form = crate::domain::submission::tests::sample_form();
        let e = Event::form_issued(&form);
        assert_eq!(e.id, format!("form.issued:{}", form.id));
        let json = serde_json::to_string(&e).unwrap();
        assert!(json.contains(r#""type":"form.issued""#), "{json}");
        assert!(json.contains(r#""schema_version":1"#));
        for secret in [
            form.business.email.as_str(),
            form.business.name.as_str(),
            form.business.tax_code.as_str(),
        ] {
            assert!(!json.contains(secret), "{secret} leaked: {json}");
        }
        let back: Event = serde_json::from_str(&json).unwrap();
        assert_eq!(back, e);
    }
}
