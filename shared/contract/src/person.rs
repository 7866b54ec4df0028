//! PersonIndex contract: a form or case is indexed under each person key it
//! holds in the write that stores it; a request reads a bounded list; erased
//! records leave the index; entries go with the record's personal data.

use std::sync::Arc;

use chrono::{Duration, Utc};
use csq_core::domain::fields::EmailAddress;
use csq_core::domain::privacy::person::{email_key, phone_key};
use csq_core::ports::{CaseStore, FormStore, HeldRecord, PersonIndex, SubmitOutcome};

use crate::fixtures::{case, declaration_number, form, on_test_day, submission_write};

pub trait People: FormStore + CaseStore + PersonIndex {}
impl<T: FormStore + CaseStore + PersonIndex> People for T {}

fn address() -> String {
    format!("{}@person.example.vn", uuid::Uuid::new_v4().simple())
}

pub async fn a_persons_records_are_indexed_as_they_are_written(store: Arc<dyn People>) {
    let at = Utc::now();
    let email = address();
    let mut f = form(&declaration_number(), at);
    f.business.email = EmailAddress::parse(&email).unwrap();
    store.insert_form(&f).await.unwrap();
    let key = email_key(&email);
    assert_eq!(
        store.records_of_person(&key, 10).await.unwrap(),
        [HeldRecord::Form(f.id.clone())]
    );
    // The contact given with a complaint.
    let mut write = submission_write(&f, 1, at + Duration::minutes(1));
    let phone = format!("09{:08}", uuid::Uuid::new_v4().as_u128() % 100_000_000);
    write.submission.contact = Some(csq_core::domain::form::Contact {
        name: csq_core::domain::fields::DisplayName::parse("Mai Lan").unwrap(),
        phone: phone.clone(),
    });
    assert_eq!(store.submit(&write).await.unwrap(), SubmitOutcome::Stored);
    let by_phone = phone_key(&phone);
    assert!(
        store
            .records_of_person(&by_phone, 1000)
            .await
            .unwrap()
            .contains(&HeldRecord::Form(f.id.clone()))
    );
    // A case is indexed when it is opened.
    let (mut c, opened) = case("03CC", at, Duration::days(10));
    c.complaint.business.email = EmailAddress::parse(&email).unwrap();
    store.open_case(&c, &opened, &[]).await.unwrap();
    let mut held = store.records_of_person(&key, 10).await.unwrap();
    held.sort();
    assert_eq!(
        held,
        [
            HeldRecord::Form(f.id.clone()),
            HeldRecord::Case(c.id.clone())
        ]
    );
    assert_eq!(
        store.records_of_person(&key, 1).await.unwrap().len(),
        1,
        "bounded"
    );
    assert!(
        store
            .records_of_person(&email_key(&address()), 10)
            .await
            .unwrap()
            .is_empty()
    );

    // Erasing the form's data, then its entries: gone for this key only.
    assert!(store.erase_personal_data(&f.id).await.unwrap());
    assert!(!store.erase_personal_data(&f.id).await.unwrap(), "once");
    let erased = store.form(&f.id).await.unwrap().unwrap();
    assert!(erased.person_keys().is_empty());
    assert_eq!(erased.submission.unwrap().ratings.len(), 1, "ratings stay");
    store
        .unindex_person(&key, &[HeldRecord::Form(f.id.clone())])
        .await
        .unwrap();
    assert_eq!(
        store.records_of_person(&key, 10).await.unwrap(),
        [HeldRecord::Case(c.id.clone())]
    );
}

pub async fn entries_go_with_the_records_personal_data(store: Arc<dyn People>) {
    let email = address();
    let at = on_test_day(0) - Duration::days(800);
    let mut old = form(&declaration_number(), at);
    old.business.email = EmailAddress::parse(&email).unwrap();
    old.personal_data_until = at + Duration::days(365);
    store.insert_form(&old).await.unwrap();
    let mut fresh = form(&declaration_number(), Utc::now());
    fresh.business.email = EmailAddress::parse(&email).unwrap();
    store.insert_form(&fresh).await.unwrap();
    store.drop_expired_personal_data(Utc::now()).await.unwrap();
    assert_eq!(
        store
            .records_of_person(&email_key(&email), 10)
            .await
            .unwrap(),
        [HeldRecord::Form(fresh.id.clone())],
        "the expired form's entry went with its data"
    );
}
