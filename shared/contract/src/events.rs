//! EventOutbox contract: an event is stored in the same write as the change
//! it announces (or not at all), read back whole in the order written, and
//! kept until the publisher took it.

use std::sync::Arc;

use chrono::Duration;
use csq_core::domain::case::{CaseAction, CaseEvent};
use csq_core::domain::event::{Event, EventBody};
use csq_core::domain::form::{InvitationResult, InvitationState};
use csq_core::ports::{
    CaseStore, EventOutbox, FormStore, OpenCaseOutcome, SubmitOutcome, UpdateCaseOutcome,
};

use crate::fixtures::{case, declaration_number, form, on_test_day, submission_write};

pub trait Outbox: FormStore + CaseStore + EventOutbox {}
impl<T: FormStore + CaseStore + EventOutbox> Outbox for T {}

fn ids(events: &[Event]) -> Vec<String> {
    events.iter().map(|e| e.id.clone()).collect()
}

pub async fn events_are_stored_with_their_change_or_not_at_all(store: Arc<dyn Outbox>) {
    let at = on_test_day(0);
    assert!(store.pending_events(10).await.unwrap().is_empty());

    // A form is announced with its first invitation attempt, once.
    let f = form(&declaration_number(), at);
    store.insert_form(&f).await.unwrap();
    assert!(
        store.pending_events(10).await.unwrap().is_empty(),
        "not before the invitation's first attempt"
    );
    let first = store
        .finish_invitation(&f.id, InvitationResult::Retry)
        .await
        .unwrap()
        .expect("the first attempt announces the form");
    assert_eq!(first.id, format!("form.issued:{}", f.id));
    let EventBody::FormIssued(issued) = &first.body else {
        panic!("{first:?}")
    };
    assert_eq!(issued.invitation, InvitationState::Pending);
    assert_eq!(
        store
            .finish_invitation(&f.id, InvitationResult::Sent(at))
            .await
            .unwrap(),
        None,
        "a later attempt announces nothing"
    );
    assert_eq!(store.pending_events(10).await.unwrap(), vec![first.clone()]);
    assert_eq!(
        store
            .finish_invitation("no-such-form", InvitationResult::Retry)
            .await
            .unwrap(),
        None
    );

    // A submission's events go with it; a refused second one adds nothing.
    let mut write = submission_write(&f, 5, at + Duration::minutes(5));
    let submitted = Event {
        id: format!("rating.submitted:{}", f.id),
        ..first.clone()
    };
    write.events = vec![submitted.clone()];
    assert_eq!(store.submit(&write).await.unwrap(), SubmitOutcome::Stored);
    assert_eq!(
        store.submit(&write).await.unwrap(),
        SubmitOutcome::AlreadySubmitted
    );

    // A case opened once announces once; an update that loses its version
    // race writes neither the case nor its events.
    let (c, opened) = case("03CC", at, Duration::days(10));
    let complaint_opened = Event::complaint_opened(&c).expect("a complaint");
    let announce = [complaint_opened.clone()];
    assert_eq!(
        store.open_case(&c, &opened, &announce).await.unwrap(),
        OpenCaseOutcome::Opened
    );
    assert!(matches!(
        store.open_case(&c, &opened, &announce).await.unwrap(),
        OpenCaseOutcome::Exists(_)
    ));
    let mut next = c.clone();
    next.version += 1;
    let note = CaseEvent {
        action: CaseAction::Note,
        ..opened.clone()
    };
    let lost = Event {
        id: format!("case.closed:{}:stale", c.id),
        ..complaint_opened.clone()
    };
    assert_eq!(
        store
            .update_case(&next, c.version + 5, &note, std::slice::from_ref(&lost))
            .await
            .unwrap(),
        UpdateCaseOutcome::Conflict
    );
    let kept = Event {
        id: format!("case.closed:{}:{}", c.id, next.version),
        ..complaint_opened.clone()
    };
    assert_eq!(
        store
            .update_case(&next, c.version, &note, std::slice::from_ref(&kept))
            .await
            .unwrap(),
        UpdateCaseOutcome::Updated
    );

    let pending = store.pending_events(100).await.unwrap();
    let mut got = ids(&pending);
    got.sort();
    let mut want = ids(&[first, submitted, complaint_opened, kept]);
    want.sort();
    assert_eq!(got, want, "each event once, none of the refused writes");
    // Read back whole, not only by id.
    let back = pending
        .iter()
        .find(|e| e.id == format!("complaint.opened:{}", c.event_id()))
        .expect("complaint.opened");
    assert_eq!(back, &announce[0]);
}

pub async fn relayed_events_leave_the_outbox_in_bounded_reads(store: Arc<dyn Outbox>) {
    let at = on_test_day(0);
    let mut announced = vec![];
    for k in 0..5 {
        let f = form(&declaration_number(), at + Duration::minutes(k));
        store.insert_form(&f).await.unwrap();
        announced.push(
            store
                .finish_invitation(&f.id, InvitationResult::Sent(at))
                .await
                .unwrap()
                .expect("announced"),
        );
    }
    let first = store.pending_events(2).await.unwrap();
    assert_eq!(first.len(), 2, "a read is bounded");
    store
        .events_relayed(&[first[0].id.clone(), "form.issued:unknown".into()])
        .await
        .unwrap();
    let left = ids(&store.pending_events(100).await.unwrap());
    assert_eq!(left.len(), 4);
    assert!(!left.contains(&first[0].id), "a relayed event is gone");
    // Relaying the same ids again changes nothing.
    store.events_relayed(&left).await.unwrap();
    store.events_relayed(&left).await.unwrap();
    assert!(store.pending_events(100).await.unwrap().is_empty());
}
