//! CaseStore contract.

use std::sync::Arc;

use chrono::{Duration, Utc};
use csq_core::domain::case::rules::CaseRules;
use csq_core::domain::case::{
    CaseAction, CaseEvent, CaseStatus, HandlingRating, HandlingRatingRecord, REMOVED_EMAIL,
    StaffAction, apply_staff_action,
};
use csq_core::domain::rating_scale::Level;
use csq_core::domain::time::vn_day;
use csq_core::ports::{CaseStore, OpenCaseOutcome, PageRequest, UpdateCaseOutcome};

use crate::fixtures::{case, on_test_day};
use crate::misc::all;

pub async fn open_case_is_once_per_complaint(store: Arc<dyn CaseStore>) {
    let (c, opened) = case("03CC", Utc::now(), Duration::days(10));
    assert_eq!(
        store.open_case(&c, &opened, &[]).await.unwrap(),
        OpenCaseOutcome::Opened
    );
    match store.open_case(&c, &opened, &[]).await.unwrap() {
        OpenCaseOutcome::Exists(existing) => assert_eq!(existing.id, c.id),
        other => panic!("expected Exists, got {other:?}"),
    }
    let events = store.case_events(&c.id).await.unwrap();
    assert_eq!(events.len(), 1, "the duplicate open wrote no second event");
    assert_eq!(events[0].action, CaseAction::Opened);
    assert_eq!(
        store.case(&c.id).await.unwrap().unwrap().complaint,
        c.complaint
    );
    assert!(store.case("missing").await.unwrap().is_none());
}

pub async fn updates_are_conditional_on_version(store: Arc<dyn CaseStore>) {
    let (c, opened) = case("03CC", Utc::now(), Duration::days(10));
    store.open_case(&c, &opened, &[]).await.unwrap();
    let mut next = c.clone();
    next.status = CaseStatus::Verifying;
    next.version += 1;
    let mut ev = opened.clone();
    ev.action = CaseAction::Verify;
    ev.at = opened.at + Duration::seconds(1);
    ev.status_after = CaseStatus::Verifying;
    assert_eq!(
        store.update_case(&next, c.version, &ev, &[]).await.unwrap(),
        UpdateCaseOutcome::Updated
    );
    // The same stale version again loses and writes nothing.
    assert_eq!(
        store.update_case(&next, c.version, &ev, &[]).await.unwrap(),
        UpdateCaseOutcome::Conflict
    );
    let events = store.case_events(&c.id).await.unwrap();
    assert_eq!(
        events.iter().map(|e| e.action).collect::<Vec<_>>(),
        [CaseAction::Opened, CaseAction::Verify]
    );
    let stored = store.case(&c.id).await.unwrap().unwrap();
    assert_eq!((stored.status, stored.version), (CaseStatus::Verifying, 2));

    // Two events in the same instant are both kept, in order.
    let mut a = next.clone();
    a.version += 1;
    let mut note = ev.clone();
    note.action = CaseAction::Note;
    note.note = Some("first".into());
    store
        .update_case(&a, next.version, &note, &[])
        .await
        .unwrap();
    let mut b = a.clone();
    b.version += 1;
    note.note = Some("second".into());
    store.update_case(&b, a.version, &note, &[]).await.unwrap();
    let notes: Vec<_> = store
        .case_events(&c.id)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|e| e.note)
        .collect();
    assert_eq!(notes, ["first", "second"]);
}

pub async fn unit_query_filters_status_and_pages(store: Arc<dyn CaseStore>) {
    let now = Utc::now();
    let mut ids = Vec::new();
    for i in 0..5 {
        let (c, e) = case("07CC", now, Duration::days(i + 1));
        store.open_case(&c, &e, &[]).await.unwrap();
        ids.push(c);
    }
    let (other, e) = case("08CC", now, Duration::days(1));
    store.open_case(&other, &e, &[]).await.unwrap();
    // Close one.
    let mut closed = ids[0].clone();
    closed.status = CaseStatus::Resolved;
    closed.closed_at = Some(now);
    closed.version += 1;
    let mut ev = e.clone();
    ev.case_id = closed.id.clone();
    ev.action = CaseAction::Resolve;
    store.update_case(&closed, 1, &ev, &[]).await.unwrap();

    let everything =
        all(|p| store.cases_of_unit("07CC", None, PageRequest { limit: 2, ..p })).await;
    assert_eq!(everything.len(), 5);
    assert!(!everything.iter().any(|c| c.id == other.id));
    let open = all(|p| {
        store.cases_of_unit(
            "07CC",
            Some(CaseStatus::Open),
            PageRequest { limit: 2, ..p },
        )
    })
    .await;
    assert_eq!(open.len(), 4);
    let dues: Vec<_> = open.iter().map(|c| c.due_at).collect();
    let mut sorted = dues.clone();
    sorted.sort();
    assert_eq!(dues, sorted, "open cases come by due date");
    let resolved = all(|p| store.cases_of_unit("07CC", Some(CaseStatus::Resolved), p)).await;
    assert_eq!(
        resolved.iter().map(|c| c.id.clone()).collect::<Vec<_>>(),
        [closed.id.clone()]
    );
}

pub async fn day_and_due_queries(store: Arc<dyn CaseStore>) {
    let at = on_test_day(0);
    let (soon, e1) = case("03CC", at, Duration::days(1));
    let (later, e2) = case("03CC", at + Duration::minutes(1), Duration::days(20));
    let (next_day, e3) = case("03CC", at + Duration::hours(13), Duration::days(1));
    for (c, e) in [(&soon, &e1), (&later, &e2), (&next_day, &e3)] {
        store.open_case(c, e, &[]).await.unwrap();
    }
    let day = vn_day(at);
    let opened: Vec<String> = all(|p| store.cases_opened_on(day, PageRequest { limit: 1, ..p }))
        .await
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert!(
        opened.contains(&soon.id) && opened.contains(&later.id) && !opened.contains(&next_day.id)
    );

    let cutoff = at + Duration::days(5);
    let due: Vec<String> = all(|p| store.open_cases_due_before(cutoff, p))
        .await
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert!(due.contains(&soon.id) && due.contains(&next_day.id) && !due.contains(&later.id));

    let mut done = soon.clone();
    done.status = CaseStatus::Dismissed;
    done.closed_at = Some(at + Duration::hours(1));
    done.version += 1;
    store.update_case(&done, 1, &e1, &[]).await.unwrap();
    let due: Vec<String> = all(|p| store.open_cases_due_before(cutoff, p))
        .await
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert!(!due.contains(&soon.id), "closed cases leave the open index");
    let closed: Vec<String> = all(|p| store.cases_closed_on(day, p))
        .await
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(closed, std::slice::from_ref(&soon.id));
}

/// A case outlives its personal data: the closed case holding it is listed
/// once its limit passed, and after anonymising it leaves the list while the
/// case and its trail stay.
pub async fn expired_cases_are_anonymised_not_deleted(store: Arc<dyn CaseStore>) {
    let now = Utc::now();
    let (mut old, ev) = case("03CC", now - Duration::days(400), Duration::days(10));
    old.complaint.personal_data_until = now - Duration::seconds(5);
    let (mut open_old, ev_open) = case("03CC", now - Duration::days(400), Duration::days(10));
    open_old.complaint.personal_data_until = now - Duration::seconds(5);
    let (fresh, ev2) = case("03CC", now, Duration::days(10));
    for (c, e) in [(&old, &ev), (&open_old, &ev_open), (&fresh, &ev2)] {
        store.open_case(c, e, &[]).await.unwrap();
    }
    let holding = |t| {
        let store = store.clone();
        async move {
            all(|p| store.cases_with_personal_data_before(t, p))
                .await
                .into_iter()
                .map(|c| c.id)
                .collect::<Vec<_>>()
        }
    };
    assert!(
        !holding(now).await.contains(&old.id),
        "an open case keeps its contact until answered"
    );
    let (closed, close_ev) = apply_staff_action(
        &old,
        &StaffAction::Dismiss {
            text: "không có cơ sở".into(),
        },
        "staff",
        now - Duration::days(1),
        &CaseRules::default(),
    )
    .unwrap();
    store.update_case(&closed, 1, &close_ev, &[]).await.unwrap();
    // At its limit exactly, the limit has passed (`time::has_passed`).
    let limit = closed
        .personal_data_expiry()
        .expect("a closed case's limit");
    assert!(
        holding(limit).await.contains(&closed.id),
        "listed at the very instant of its limit"
    );
    assert!(
        !holding(limit - Duration::microseconds(1))
            .await
            .contains(&closed.id),
        "not a moment before"
    );
    let listed = holding(now).await;
    assert!(
        listed.contains(&closed.id)
            && !listed.contains(&open_old.id)
            && !listed.contains(&fresh.id)
    );
    assert!(
        !holding(now - Duration::minutes(1))
            .await
            .contains(&closed.id),
        "listed only once its limit passed"
    );

    let (anon, anon_ev) = closed.anonymise(now).expect("due");
    assert_eq!(
        store
            .update_case(&anon, closed.version, &anon_ev, &[])
            .await
            .unwrap(),
        UpdateCaseOutcome::Updated
    );
    assert!(!holding(now).await.contains(&closed.id), "anonymised once");
    let kept = store
        .case(&closed.id)
        .await
        .unwrap()
        .expect("the case stays");
    assert!(kept.complaint.contact.is_none());
    assert_eq!(kept.complaint.business.email.as_str(), REMOVED_EMAIL);
    assert_eq!(kept.conclusion, closed.conclusion, "the finding stays");
    assert_eq!(
        store.case_events(&closed.id).await.unwrap().len(),
        3,
        "the trail stays"
    );
}

/// The handling rating is written with the case update or not at all, and is
/// found by the day it was given.
pub async fn handling_ratings_are_kept_by_day(store: Arc<dyn CaseStore>) {
    let at = on_test_day(0);
    let (c, ev) = case("03CC", at, Duration::days(10));
    store.open_case(&c, &ev, &[]).await.unwrap();
    let mut rated = c.clone();
    rated.version = 2;
    rated.response.handling_rating = Some(HandlingRating {
        level: Level::new(4).unwrap(),
        at,
    });
    let record = HandlingRatingRecord {
        case_id: c.id.clone(),
        level: Level::new(4).unwrap(),
        at,
        units: vec!["unit:03CC".into(), "unit:CUC".into()],
    };
    let event = CaseEvent {
        action: CaseAction::HandlingRated,
        ..ev.clone()
    };
    assert_eq!(
        store
            .record_handling_rating(&rated, 7, &event, &record, &[])
            .await
            .unwrap(),
        UpdateCaseOutcome::Conflict,
        "a stale version writes nothing"
    );
    assert!(
        all(|p| store.handling_ratings_on(vn_day(at), p))
            .await
            .iter()
            .all(|r| r.case_id != c.id)
    );
    assert_eq!(
        store
            .record_handling_rating(&rated, 1, &event, &record, &[])
            .await
            .unwrap(),
        UpdateCaseOutcome::Updated
    );
    let on_day = all(|p| store.handling_ratings_on(vn_day(at), p)).await;
    assert!(on_day.contains(&record));
    assert!(
        all(|p| store.handling_ratings_on(vn_day(at) + Duration::days(1), p))
            .await
            .iter()
            .all(|r| r.case_id != c.id)
    );
    assert_eq!(store.case(&c.id).await.unwrap().unwrap(), rated);
}
