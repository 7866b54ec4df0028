//! TimesStore contract: a declaration's times are written conditionally on
//! their version (two writers never lose each other's stages), and each day
//! it changed keeps a snapshot the nightly reads by day, in bounded pages.

use std::sync::Arc;

use chrono::{Days, Duration, Utc};
use csq_core::domain::declaration::Stage;
use csq_core::domain::time::vn_day;
use csq_core::domain::times::{DeclarationTimes, ReportedStage, ReportedTimes};
use csq_core::ports::{PageRequest, TimesStore};

use crate::fixtures::{declaration_number, form};

fn stage(stage: Stage, officer: &str) -> ReportedTimes {
    let at = Utc::now() - Duration::hours(3);
    ReportedTimes {
        stages: vec![ReportedStage {
            stage,
            team: "03CC01".into(),
            officer: Some(officer.into()),
            started_at: Some(at),
            finished_at: Some(at + Duration::minutes(50)),
            document_requests: Some(1),
        }],
        ..ReportedTimes::default()
    }
}

pub async fn times_are_versioned_and_snapshotted_by_day(store: Arc<dyn TimesStore>) {
    let form = form(&declaration_number(), Utc::now() - Duration::days(1));
    let number = form.declaration.number.as_str().to_owned();
    let now = Utc::now();
    assert!(store.declaration_times(&number).await.unwrap().is_none());
    let mut first = DeclarationTimes::of(&form, now);
    assert!(first.merge(&stage(Stage::DocumentCheck, "HP1234"), now));
    assert!(store.save_times(&first).await.unwrap());
    assert!(
        !store.save_times(&first).await.unwrap(),
        "version 1 exists: a second writer of it is refused"
    );
    // Two writers read version 1; the second must read again.
    let read = store.declaration_times(&number).await.unwrap().unwrap();
    assert_eq!(read, first);
    let (mut a, mut b) = (read.clone(), read.clone());
    assert!(a.merge(&stage(Stage::Clearance, "HP5678"), now));
    assert!(b.merge(&stage(Stage::PhysicalInspection, "HP9999"), now));
    assert!(store.save_times(&a).await.unwrap());
    assert!(
        !store.save_times(&b).await.unwrap(),
        "b read an old version"
    );
    let mut b = store.declaration_times(&number).await.unwrap().unwrap();
    let tomorrow = now + Duration::days(1);
    assert!(b.merge(&stage(Stage::PhysicalInspection, "HP9999"), tomorrow));
    assert!(store.save_times(&b).await.unwrap());
    let stored = store.declaration_times(&number).await.unwrap().unwrap();
    assert_eq!(stored.stages.len(), 3, "no writer lost its stage");

    // Today's snapshot holds what today recorded; tomorrow's, the rest.
    let today = vn_day(now);
    let on = |day| {
        let store = store.clone();
        let number = number.clone();
        async move {
            let mut found = vec![];
            let mut page = PageRequest::first(1);
            loop {
                let p = store.times_recorded_on(day, page).await.unwrap();
                assert!(p.items.len() <= 1, "pages keep their bound");
                found.extend(p.items.into_iter().filter(|t| t.number == number));
                match p.next {
                    Some(next) => {
                        page = PageRequest {
                            after: Some(next),
                            limit: 1,
                        }
                    }
                    None => break found,
                }
            }
        }
    };
    let snapshot = on(today).await;
    assert_eq!(snapshot.len(), 1);
    assert_eq!(snapshot[0].stages.len(), 2);
    let next_day = on(today.checked_add_days(Days::new(1)).unwrap()).await;
    assert_eq!(next_day[0].stages.len(), 3);
    assert!(
        on(today.checked_sub_days(Days::new(1)).unwrap())
            .await
            .is_empty()
    );
}

/// A business's declarations at an office come back by registration, within
/// the window and the limit; another business's or office's never.
pub async fn business_times_are_read_by_office_and_business(store: Arc<dyn TimesStore>) {
    let now = Utc::now();
    let tax = format!("{:010}", uuid::Uuid::new_v4().as_u128() % 10_000_000_000);
    let mut numbers = vec![];
    for i in 0..3 {
        let mut f = form(&declaration_number(), now - Duration::days(3 - i));
        f.business.tax_code = csq_core::domain::fields::TaxCode::parse(&tax).unwrap();
        f.declaration.registered_at = now - Duration::days(10 - i);
        let mut t = DeclarationTimes::of(&f, now);
        assert!(t.merge(&stage(Stage::DocumentCheck, "HP1234"), now));
        assert!(store.save_times(&t).await.unwrap());
        numbers.push(t.number.clone());
    }
    let read = |from, to, limit| {
        let (store, tax) = (store.clone(), tax.clone());
        async move {
            store
                .business_times("03CC", &tax, from, to, limit)
                .await
                .unwrap()
                .into_iter()
                .map(|t| t.number)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        read(now - Duration::days(30), now, 100).await,
        numbers,
        "oldest first"
    );
    assert_eq!(
        read(now - Duration::days(30), now, 2).await,
        numbers[..2],
        "bounded"
    );
    assert_eq!(
        read(now - Duration::days(9) - Duration::hours(1), now, 100).await,
        numbers[1..],
        "from the window's start"
    );
    assert!(
        store
            .business_times("04CC", &tax, now - Duration::days(30), now, 100)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Watch cases are written once per id and then conditionally on version.
pub async fn watch_cases_are_versioned(store: Arc<dyn csq_core::ports::WatchStore>) {
    use csq_core::domain::watch::{Conduct, WatchCase, WatchFlag};
    let now = Utc::now();
    let flag = WatchFlag {
        tax_code: format!("{:010}", uuid::Uuid::new_v4().as_u128() % 10_000_000_000),
        office: "03CC".into(),
        since: vn_day(now),
        found: vec![],
        before: Conduct::default(),
        after: Conduct::default(),
        others_after: Conduct::default(),
    };
    let case = WatchCase::raise(flag, vn_day(now), now);
    assert!(store.save_watch_case(&case).await.unwrap());
    assert!(!store.save_watch_case(&case).await.unwrap(), "raised once");
    let mut acted = store.watch_case(&case.id).await.unwrap().unwrap();
    assert_eq!(acted, case);
    acted.act("verify", "tt", None, now).unwrap();
    let stale = acted.clone();
    assert!(store.save_watch_case(&acted).await.unwrap());
    assert!(
        !store.save_watch_case(&stale).await.unwrap(),
        "a stale writer"
    );
    let listed = store.watch_cases().await.unwrap();
    assert!(listed.iter().any(|c| c.id == case.id && c.version == 2));
}
