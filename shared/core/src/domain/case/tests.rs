//! The case rules' tests: transitions, deadlines, appeals, retention.

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
        channel: None,
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

pub(crate) fn act(case: &Case, action: StaffAction) -> Result<(Case, CaseEvent), CaseRuleError> {
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
