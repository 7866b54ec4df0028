//! InvitationLedger contract: one email per business per period, taken by a
//! conditional write, so concurrent issuance sends one; a slot given back
//! (the mail service could not take the message) is free again.

use std::sync::Arc;

use chrono::{Duration, Utc};
use csq_core::domain::survey::InvitationCap;
use csq_core::ports::InvitationLedger;

fn tax_code() -> String {
    format!("{:010}", uuid::Uuid::new_v4().as_u128() % 10_000_000_000)
}

pub async fn one_slot_per_business_per_period(store: Arc<dyn InvitationLedger>) {
    let cap = InvitationCap::days(7);
    let (business, other) = (tax_code(), tax_code());
    let now = Utc::now();
    assert!(
        store
            .take_invitation_slot(&business, now, &cap)
            .await
            .unwrap()
    );
    assert!(
        !store
            .take_invitation_slot(&business, now + Duration::days(6), &cap)
            .await
            .unwrap(),
        "within the period"
    );
    assert!(
        store.take_invitation_slot(&other, now, &cap).await.unwrap(),
        "per business"
    );
    let later = now + Duration::days(7);
    assert!(
        store
            .take_invitation_slot(&business, later, &cap)
            .await
            .unwrap(),
        "after it"
    );

    // Given back (the send failed): free again, for the same instant.
    store
        .give_back_invitation_slot(&business, later)
        .await
        .unwrap();
    assert!(
        store
            .take_invitation_slot(&business, later, &cap)
            .await
            .unwrap()
    );
    // Giving back a slot someone else took since changes nothing.
    store
        .give_back_invitation_slot(&business, now)
        .await
        .unwrap();
    assert!(
        !store
            .take_invitation_slot(&business, later, &cap)
            .await
            .unwrap()
    );
}

pub async fn concurrent_issuance_takes_one_slot(store: Arc<dyn InvitationLedger>) {
    let cap = InvitationCap::days(7);
    let business = tax_code();
    let now = Utc::now();
    let mut tasks = tokio::task::JoinSet::new();
    for k in 0..8 {
        let (store, business) = (store.clone(), business.clone());
        tasks.spawn(async move {
            store
                .take_invitation_slot(&business, now + Duration::milliseconds(k), &cap)
                .await
                .unwrap()
        });
    }
    let mut taken = 0;
    while let Some(t) = tasks.join_next().await {
        taken += usize::from(t.unwrap());
    }
    assert_eq!(taken, 1, "one email for eight forms at the same moment");
}
