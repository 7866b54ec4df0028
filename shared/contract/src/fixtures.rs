//! Sample domain objects for the suites.

use chrono::{DateTime, Duration, Utc};
use csq_core::domain::case::rules::CaseRules;
use csq_core::domain::case::{Case, CaseAction, CaseEvent, CaseKind};
use csq_core::domain::complaint::{AssigneeRole, Assignment, Complaint};
use csq_core::domain::declaration::FormRequest;
use csq_core::domain::form::{Form, RatingRecord, SubjectRating, Submission};
use csq_core::domain::rating_scale::{Level, Reason};
use csq_core::ports::SubmissionWrite;
use serde_json::json;

/// A form for declaration `number`, issued at `at`, valid 7 days.
pub fn form(number: &str, at: DateTime<Utc>) -> Form {
    let req = FormRequest::parse(&json!({
        "declaration": {
            "number": number, "type_code": "A11",
            "registered_at": "2026-11-27T09:30:00+07:00",
            "customs_office": "03CC", "lane": "yellow"
        },
        "business": {"tax_code": "0200123456", "name": "Công ty Demo", "email": "xnk@demo.example.vn"},
        "handling": [
            {"stage": "document_check", "team": "03CC01", "officer": {"id": "HP1234", "name": "Nguyễn Văn An"}}
        ]
    }))
    .expect("fixture is valid");
    Form::new(
        uuid::Uuid::new_v4().simple().to_string(),
        req,
        at,
        at + Duration::days(7),
        at + Duration::days(365),
        vec![],
    )
}

/// A unique 12-digit declaration number.
pub fn declaration_number() -> String {
    let n = uuid::Uuid::new_v4().as_u128() % 1_000_000_000_000;
    format!("{n:012}")
}

/// A submission rating the branch `level`, and the write the core would make.
pub fn submission_write(form: &Form, level: u8, at: DateTime<Utc>) -> SubmissionWrite {
    let submission = Submission {
        ratings: vec![SubjectRating {
            subject_key: form.subjects[0].key.clone(),
            level: Level::new(level).expect("level 1-5"),
            reasons: if level <= 2 {
                vec![Reason::Delay]
            } else {
                vec![]
            },
            comment: Some("Góp ý <b>thử</b>".into()),
        }],
        overall_comment: None,
        contact: None,
        suggestion: None,
        channel: None,
    };
    let complaint = Complaint::from_submission(form, &submission, at);
    SubmissionWrite {
        form_id: form.id.clone(),
        submitted_at: at,
        ratings: RatingRecord::from_submission(form, &submission, at),
        submission,
        complaint,
        events: vec![],
    }
}

pub fn complaint(form: &Form, at: DateTime<Utc>) -> Complaint {
    submission_write(form, 1, at)
        .complaint
        .expect("level 1 complains")
}

/// An open case for a new complaint, assigned to `unit`, due `due_in` after `at`.
pub fn case(unit: &str, at: DateTime<Utc>, due_in: Duration) -> (Case, CaseEvent) {
    let f = form(&declaration_number(), at);
    let assignment = Assignment {
        unit: unit.into(),
        role: AssigneeRole::UnitHead,
        name: "Chi cục trưởng".into(),
        email: "head@demo.example.vn".into(),
        rule: "test".into(),
    };
    let mut case = Case::open(
        CaseKind::Complaint,
        complaint(&f, at),
        assignment,
        at,
        &CaseRules::default(),
    );
    // The store contracts place due dates themselves; working days are the domain's.
    case.due_at = at + due_in;
    let event = CaseEvent {
        case_id: case.id.clone(),
        at,
        actor: "router".into(),
        action: CaseAction::Opened,
        note: None,
        status_after: case.status,
    };
    (case, event)
}

/// Noon in Vietnam on 2026-11-20 plus `minutes`: a fixed day for day-index checks.
pub fn on_test_day(minutes: i64) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-20T05:00:00Z")
        .expect("valid")
        .to_utc()
        + Duration::minutes(minutes)
}
