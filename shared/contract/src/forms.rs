//! FormStore contract.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{Duration, Timelike, Utc};
use csq_core::domain::form::{FormStatus, InvitationResult, InvitationState};
use csq_core::domain::time::vn_day;
use csq_core::ports::{FormStore, InsertFormOutcome, PageRequest, SubmitOutcome};

use crate::fixtures::{declaration_number, form, on_test_day, submission_write};

pub async fn insert_is_once_per_declaration(store: Arc<dyn FormStore>) {
    let number = declaration_number();
    let first = form(&number, Utc::now());
    assert_eq!(
        store.insert_form(&first).await.unwrap(),
        InsertFormOutcome::Created
    );
    let again = form(&number, Utc::now());
    match store.insert_form(&again).await.unwrap() {
        InsertFormOutcome::Exists(existing) => assert_eq!(existing.id, first.id),
        other => panic!("second insert must return the existing form, got {other:?}"),
    }
    let stored = store.form(&first.id).await.unwrap().expect("stored");
    assert_eq!(stored.declaration.number, first.declaration.number);
    assert_eq!(stored.subjects, first.subjects);
    assert!(
        store.form(&again.id).await.unwrap().is_none(),
        "the duplicate was not stored"
    );
    assert!(store.form("no-such-form").await.unwrap().is_none());
}

pub async fn concurrent_inserts_create_one_form(store: Arc<dyn FormStore>) {
    let number = declaration_number();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (store, f) = (store.clone(), form(&number, Utc::now()));
        tasks.push(tokio::spawn(
            async move { store.insert_form(&f).await.unwrap() },
        ));
    }
    let mut created = 0;
    let mut ids = HashSet::new();
    for t in tasks {
        match t.await.unwrap() {
            InsertFormOutcome::Created => created += 1,
            InsertFormOutcome::Exists(f) => {
                ids.insert(f.id.clone());
            }
        }
    }
    assert_eq!(created, 1, "exactly one insert creates the form");
    assert!(ids.len() <= 1, "every loser sees the same form");
}

pub async fn invitation_claim_is_exclusive(store: Arc<dyn FormStore>) {
    let now = Utc::now();
    let f = form(&declaration_number(), now);
    store.insert_form(&f).await.unwrap();
    assert!(
        store
            .claim_invitation(&f.id, now, now + Duration::seconds(60))
            .await
            .unwrap()
    );
    assert!(
        !store
            .claim_invitation(&f.id, now, now + Duration::seconds(60))
            .await
            .unwrap(),
        "claim held"
    );
    assert!(
        store
            .claim_invitation(
                &f.id,
                now + Duration::seconds(61),
                now + Duration::seconds(120)
            )
            .await
            .unwrap(),
        "an expired claim can be taken over"
    );
    store
        .finish_invitation(&f.id, InvitationResult::Retry)
        .await
        .unwrap();
    assert!(
        store
            .claim_invitation(&f.id, now, now + Duration::seconds(60))
            .await
            .unwrap(),
        "released claim"
    );
    store
        .finish_invitation(&f.id, InvitationResult::Sent(now))
        .await
        .unwrap();
    assert!(
        !store
            .claim_invitation(&f.id, now + Duration::days(1), now + Duration::days(2))
            .await
            .unwrap(),
        "sent once"
    );
    let stored = store.form(&f.id).await.unwrap().unwrap();
    assert_eq!(
        stored.email_sent_at.map(|t| t.timestamp()),
        Some(now.timestamp())
    );

    assert_eq!(stored.invitation_state(), InvitationState::Sent);

    // A refused invitation is never claimed again.
    let g = form(&declaration_number(), now);
    store.insert_form(&g).await.unwrap();
    assert!(
        store
            .claim_invitation(&g.id, now, now + Duration::seconds(60))
            .await
            .unwrap()
    );
    store
        .finish_invitation(&g.id, InvitationResult::Rejected("MessageRejected".into()))
        .await
        .unwrap();
    assert!(
        !store
            .claim_invitation(&g.id, now + Duration::days(1), now + Duration::days(2))
            .await
            .unwrap()
    );
    let stored = store.form(&g.id).await.unwrap().unwrap();
    assert_eq!(stored.invitation_state(), InvitationState::Rejected);
    assert_eq!(
        stored.invitation_rejected.as_deref(),
        Some("MessageRejected")
    );

    // Only forms still awaiting their invitation are on the sweep's list.
    let h = form(&declaration_number(), now);
    store.insert_form(&h).await.unwrap();
    let pending: Vec<String> = store
        .pending_invitations(1000)
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.id)
        .collect();
    assert!(pending.contains(&h.id), "a new form awaits its invitation");
    assert!(!pending.contains(&f.id), "a sent one does not");
    assert!(!pending.contains(&g.id), "a refused one does not");
}

pub async fn submit_is_once_and_writes_everything(store: Arc<dyn FormStore>) {
    let at = on_test_day(0);
    let f = form(&declaration_number(), at);
    store.insert_form(&f).await.unwrap();
    let write = submission_write(&f, 1, at + Duration::minutes(5));
    assert_eq!(store.submit(&write).await.unwrap(), SubmitOutcome::Stored);
    assert_eq!(
        store.submit(&write).await.unwrap(),
        SubmitOutcome::AlreadySubmitted
    );

    let stored = store.form(&f.id).await.unwrap().unwrap();
    assert_eq!(stored.status, FormStatus::Submitted);
    assert_eq!(stored.submission.as_ref(), Some(&write.submission));

    let day = vn_day(write.submitted_at);
    let ratings = crate::misc::all(|p| store.ratings_on(day, p)).await;
    let mine: Vec<_> = ratings.iter().filter(|r| r.form_id == f.id).collect();
    assert_eq!(mine.len(), 1, "one rating record, written once");
    assert_eq!(mine[0].comment.as_deref(), Some("Góp ý <b>thử</b>"));

    let pending = store.pending_complaints(1000).await.unwrap();
    assert_eq!(
        pending.iter().filter(|c| c.id == f.id).count(),
        1,
        "complaint in the outbox once"
    );
    store.complaint_dispatched(&f.id).await.unwrap();
    store.complaint_dispatched(&f.id).await.unwrap();
    assert!(
        !store
            .pending_complaints(1000)
            .await
            .unwrap()
            .iter()
            .any(|c| c.id == f.id)
    );

    // A happy submission leaves nothing in the outbox.
    let g = form(&declaration_number(), at);
    store.insert_form(&g).await.unwrap();
    assert_eq!(
        store.submit(&submission_write(&g, 5, at)).await.unwrap(),
        SubmitOutcome::Stored
    );
    assert!(
        !store
            .pending_complaints(1000)
            .await
            .unwrap()
            .iter()
            .any(|c| c.id == g.id)
    );
}

pub async fn concurrent_submits_store_one(store: Arc<dyn FormStore>) {
    let at = Utc::now();
    let f = form(&declaration_number(), at);
    store.insert_form(&f).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..8 {
        let (store, w) = (store.clone(), submission_write(&f, 1 + (i % 5) as u8, at));
        tasks.push(tokio::spawn(async move { store.submit(&w).await.unwrap() }));
    }
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.unwrap());
    }
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == SubmitOutcome::Stored)
            .count(),
        1,
        "{outcomes:?}"
    );
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, SubmitOutcome::Stored | SubmitOutcome::AlreadySubmitted))
    );
    let ratings = crate::misc::all(|p| store.ratings_on(vn_day(at), p)).await;
    assert_eq!(ratings.iter().filter(|r| r.form_id == f.id).count(), 1);
}

pub async fn submit_refuses_expired_and_unknown_forms(store: Arc<dyn FormStore>) {
    let at = Utc::now() - Duration::days(30);
    let f = form(&declaration_number(), at);
    store.insert_form(&f).await.unwrap();
    let late = submission_write(&f, 4, f.expires_at + Duration::seconds(1));
    assert_eq!(store.submit(&late).await.unwrap(), SubmitOutcome::Expired);
    assert_eq!(
        store.form(&f.id).await.unwrap().unwrap().status,
        FormStatus::Issued,
        "nothing changed"
    );
    let mut ghost = submission_write(&f, 4, at);
    ghost.form_id = "no-such-form".into();
    assert_eq!(store.submit(&ghost).await.unwrap(), SubmitOutcome::NotFound);
}

pub async fn issue_day_query_pages_without_gaps(store: Arc<dyn FormStore>) {
    // Two forms on the next Vietnamese day (17:00 UTC is midnight in Vietnam).
    let base = on_test_day(0);
    let mut ids = HashSet::new();
    for i in 0..5 {
        let f = form(&declaration_number(), base + Duration::minutes(i));
        ids.insert(f.id.clone());
        store.insert_form(&f).await.unwrap();
    }
    let next_day = form(&declaration_number(), base + Duration::hours(12));
    store.insert_form(&next_day).await.unwrap();

    let day = vn_day(base);
    let mut seen = Vec::new();
    let mut page = PageRequest::first(2);
    loop {
        let p = store.forms_issued_on(day, page.clone()).await.unwrap();
        assert!(p.items.len() <= 2);
        seen.extend(p.items.into_iter().map(|f| f.id));
        match p.next {
            Some(n) => page.after = Some(n),
            None => break,
        }
    }
    let mine: Vec<&String> = seen.iter().filter(|id| ids.contains(*id)).collect();
    assert_eq!(mine.len(), 5, "every form of the day, once");
    assert_eq!(
        seen.iter().collect::<HashSet<_>>().len(),
        seen.len(),
        "no duplicates across pages"
    );
    assert!(
        !seen.contains(&next_day.id),
        "another day's form is not listed"
    );
    let other = store
        .forms_issued_on(vn_day(next_day.issued_at), PageRequest::first(100))
        .await
        .unwrap();
    assert!(other.items.iter().any(|f| f.id == next_day.id));
}

/// The stores apply the domain's rules (`Form::record_reminder`,
/// `Form::expire`) inside their conditional writes: not before it is due, once.
pub async fn reminders_and_expiry_happen_once(store: Arc<dyn FormStore>) {
    let at = Utc::now();
    let after = chrono::Duration::days(3);
    let f = form(&declaration_number(), at);
    store.insert_form(&f).await.unwrap();
    let due = f.issued_at + after;
    assert!(
        !store
            .mark_reminded(&f.id, due - chrono::Duration::seconds(1), after)
            .await
            .unwrap(),
        "not before it is due"
    );
    assert!(store.mark_reminded(&f.id, due, after).await.unwrap());
    assert!(!store.mark_reminded(&f.id, due, after).await.unwrap());
    assert!(
        !store
            .mark_expired(&f.id, f.expires_at - chrono::Duration::seconds(1))
            .await
            .unwrap(),
        "its window is still open"
    );
    assert!(store.mark_expired(&f.id, f.expires_at).await.unwrap());
    assert!(!store.mark_expired(&f.id, f.expires_at).await.unwrap());
    assert_eq!(
        store.form(&f.id).await.unwrap().unwrap().status,
        FormStatus::Expired
    );

    let g = form(&declaration_number(), at);
    store.insert_form(&g).await.unwrap();
    store.submit(&submission_write(&g, 5, at)).await.unwrap();
    assert!(
        !store.mark_expired(&g.id, g.expires_at).await.unwrap(),
        "a submitted form is never expired"
    );
    assert!(
        !store
            .mark_reminded(&g.id, g.issued_at + after, after)
            .await
            .unwrap(),
        "a submitted form is never reminded"
    );
}

/// A closed case's contact is forgotten on its form too, once; the rest of the
/// submission stays.
pub async fn a_forgotten_contact_is_gone_from_the_form(store: Arc<dyn FormStore>) {
    let at = Utc::now();
    let f = form(&declaration_number(), at);
    store.insert_form(&f).await.unwrap();
    let mut write = submission_write(&f, 2, at);
    write.submission.contact = Some(csq_core::domain::form::Contact {
        name: csq_core::domain::fields::DisplayName::parse("Ngô Lan").unwrap(),
        phone: "0933444555".into(),
    });
    store.submit(&write).await.unwrap();
    assert!(store.forget_contact(&f.id).await.unwrap());
    assert!(!store.forget_contact(&f.id).await.unwrap(), "once");
    let stored = store
        .form(&f.id)
        .await
        .unwrap()
        .unwrap()
        .submission
        .unwrap();
    assert_eq!(stored.contact, None);
    assert_eq!(stored.ratings, write.submission.ratings);
    assert!(!store.forget_contact("no-such-form").await.unwrap());
}

pub async fn expired_personal_data_is_gone(store: Arc<dyn FormStore>) {
    let now = Utc::now();
    let mut old = form(&declaration_number(), now - Duration::days(400));
    old.personal_data_until = now - Duration::seconds(5);
    store.insert_form(&old).await.unwrap();
    let fresh = form(&declaration_number(), now);
    store.insert_form(&fresh).await.unwrap();
    // At its limit exactly, the limit has passed (`time::has_passed`); a whole
    // second, as a document spells it without a fraction.
    let mut at_limit = form(&declaration_number(), now - Duration::days(400));
    at_limit.personal_data_until = now.with_nanosecond(0).unwrap() - Duration::seconds(1);
    store.insert_form(&at_limit).await.unwrap();
    store
        .drop_expired_personal_data(at_limit.personal_data_until)
        .await
        .unwrap();
    assert!(
        store.form(&at_limit.id).await.unwrap().is_none(),
        "at its limit: gone"
    );
    store.drop_expired_personal_data(now).await.unwrap();
    assert!(
        store.form(&old.id).await.unwrap().is_none(),
        "past its limit: gone"
    );
    assert!(
        store.form(&fresh.id).await.unwrap().is_some(),
        "within its limit: kept"
    );
    let listed = crate::misc::all(|p| store.forms_issued_on(vn_day(old.issued_at), p)).await;
    assert!(!listed.iter().any(|f| f.id == old.id), "not listed either");
}

/// A cursor the store did not give out for this listing is refused as such
/// (the API answers 400), never as a storage failure or a jump elsewhere.
pub async fn foreign_and_damaged_cursors_are_refused(store: Arc<dyn FormStore>) {
    let at = Utc::now();
    let day = csq_core::domain::time::vn_day(at);
    for _ in 0..3 {
        let f = form(&declaration_number(), at);
        store.insert_form(&f).await.unwrap();
        store.submit(&submission_write(&f, 5, at)).await.unwrap();
    }
    let page = store
        .forms_issued_on(day, PageRequest::first(1))
        .await
        .unwrap();
    let forms_cursor = page.next.expect("more than one page");
    for bad in ["@@@", "e30", "not|a|cursor|at|all", forms_cursor.as_str()] {
        let err = store
            .ratings_on(
                day,
                PageRequest {
                    after: Some(bad.into()),
                    limit: 5,
                },
            )
            .await
            .expect_err(bad);
        assert!(err.is_bad_cursor(), "{bad}: {err}");
    }
    let other_day = day.pred_opt().unwrap();
    let err = store
        .forms_issued_on(
            other_day,
            PageRequest {
                after: Some(forms_cursor.clone()),
                limit: 5,
            },
        )
        .await;
    // A cursor of another day: refused (DynamoDB) or a position past every
    // form of that day (SQLite); never an error of another kind.
    match err {
        Err(e) => assert!(e.is_bad_cursor(), "{e}"),
        Ok(p) => assert!(p.items.is_empty()),
    }
}

/// Later stages join a form conditionally (once, never a submitted one), and a
/// follow-up form is kept under its own declaration key beside the first.
pub async fn later_stages_and_follow_ups(store: Arc<dyn FormStore>) {
    use csq_core::domain::form::{AddHandlingRefused, LaterHandling, derive_subjects};
    use csq_core::ports::AddHandlingOutcome;
    let number = declaration_number();
    let at = Utc::now();
    let first = form(&number, at);
    store.insert_form(&first).await.unwrap();
    assert_eq!(
        store
            .form_of_declaration(&number)
            .await
            .unwrap()
            .map(|f| f.id),
        Some(first.id.clone())
    );
    assert!(
        store
            .form_of_declaration(&format!("{number}-2"))
            .await
            .unwrap()
            .is_none()
    );
    let other = form(&declaration_number(), at);
    let mut later_records = other.handling.clone();
    later_records[0].stage = csq_core::domain::declaration::Stage::Valuation;
    let mut subjects = derive_subjects(&first.declaration, &later_records);
    subjects.retain(|s| first.subject(&s.key).is_none());
    let later = LaterHandling {
        handling: later_records.clone(),
        subjects,
        unknown_units: vec![],
    };
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let (store, id, later) = (store.clone(), first.id.clone(), later.clone());
        tasks.push(tokio::spawn(async move {
            store.add_handling(&id, &later, at).await.unwrap()
        }));
    }
    let mut added = 0;
    for t in tasks {
        match t.await.unwrap() {
            AddHandlingOutcome::Added { added: n, form } => {
                added += n;
                assert_eq!(form.handling.len(), 2);
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(added, 1, "concurrent calls add the stage once");
    let stored = store.form(&first.id).await.unwrap().unwrap();
    assert_eq!(stored.handling.len(), 2);
    assert!(stored.subject("stage:valuation").is_some());
    assert_eq!(
        store
            .add_handling("no-such-form", &later, at)
            .await
            .unwrap(),
        AddHandlingOutcome::NotFound
    );
    // Once submitted, nothing joins; the follow-up has its own key.
    let write = submission_write(&stored, 5, at);
    assert_eq!(store.submit(&write).await.unwrap(), SubmitOutcome::Stored);
    let mut more = later.clone();
    more.handling[0].stage = csq_core::domain::declaration::Stage::Clearance;
    assert_eq!(
        store.add_handling(&first.id, &more, at).await.unwrap(),
        AddHandlingOutcome::Refused(AddHandlingRefused::Submitted)
    );
    let follow_up = stored.follow_up(
        "f-".to_owned() + &first.id,
        more.handling.clone(),
        at,
        at + Duration::days(7),
        at + Duration::days(365),
    );
    assert_eq!(
        store.insert_form(&follow_up).await.unwrap(),
        InsertFormOutcome::Created
    );
    match store
        .insert_form(&stored.follow_up("other".into(), more.handling.clone(), at, at, at))
        .await
        .unwrap()
    {
        InsertFormOutcome::Exists(f) => assert_eq!(f.id, follow_up.id),
        other => panic!("one follow-up per key: {other:?}"),
    }
    assert_eq!(
        store
            .form_of_declaration(&format!("{number}-2"))
            .await
            .unwrap()
            .map(|f| f.id),
        Some(follow_up.id)
    );
    assert_eq!(
        store
            .form_of_declaration(&number)
            .await
            .unwrap()
            .map(|f| f.id),
        Some(first.id)
    );
}
