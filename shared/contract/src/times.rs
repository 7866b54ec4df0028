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
