//! StatsStore and OrgStore contracts, and a helper to read all pages.

use std::future::Future;
use std::sync::Arc;

use chrono::NaiveDate;
use csq_core::domain::org::{Branch, Handler, OrgDirectory, Team};
use csq_core::domain::stats::DailyStats;
use csq_core::ports::{OrgStore, Page, PageRequest, PortResult, StatsStore};

/// Reads every page, checking the page size is respected.
pub async fn all<T, F, Fut>(mut query: F) -> Vec<T>
where
    F: FnMut(PageRequest) -> Fut,
    Fut: Future<Output = PortResult<Page<T>>>,
{
    let mut out = Vec::new();
    let mut after = None;
    for _ in 0..10_000 {
        let page = query(PageRequest {
            after: after.clone(),
            limit: 100,
        })
        .await
        .expect("query");
        out.extend(page.items);
        match page.next {
            Some(n) => after = Some(n),
            None => return out,
        }
    }
    panic!("pagination did not end");
}

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, d).expect("valid day")
}

fn stats(unit: &str, d: u32, ratings: u64) -> DailyStats {
    DailyStats {
        unit: unit.into(),
        branch: Some("03CC".into()),
        date: day(d),
        level_counts: [0, 0, 0, 0, ratings],
        ratings,
        average: Some(5.0),
        satisfied_share: Some(1.0),
        forms_issued: ratings,
        forms_submitted: ratings,
        response_rate: Some(1.0),
        complaints_opened: 0,
        complaints_closed: 0,
        complaints_overdue: 0,
    }
}

/// Both stores on one adapter, as the local host and DynamoDB have them.
pub trait StatsAndOrg: StatsStore + OrgStore {}
impl<T: StatsStore + OrgStore> StatsAndOrg for T {}

pub async fn daily_stats_overwrite_and_range(store: Arc<dyn StatsAndOrg>) {
    store
        .put_daily(&[
            stats("branch:03CC", 1, 3),
            stats("branch:03CC", 2, 4),
            stats("team:03CC01", 2, 9),
        ])
        .await
        .unwrap();
    store
        .put_daily(&[stats("branch:03CC", 2, 7), stats("branch:03CC", 3, 1)])
        .await
        .unwrap();
    let rows = store.daily("branch:03CC", day(2), day(3)).await.unwrap();
    assert_eq!(
        rows.iter().map(|r| (r.date, r.ratings)).collect::<Vec<_>>(),
        [(day(2), 7), (day(3), 1)]
    );
    let all_days = store.daily("branch:03CC", day(1), day(30)).await.unwrap();
    assert_eq!(all_days.len(), 3, "rerunning a day replaced it");
    assert_eq!(
        store.daily("team:03CC01", day(1), day(1)).await.unwrap(),
        vec![]
    );
    assert_eq!(
        store.daily("branch:03C", day(1), day(30)).await.unwrap(),
        vec![],
        "no prefix matches"
    );
}

pub async fn org_directory_round_trip(store: Arc<dyn StatsAndOrg>) {
    assert_eq!(store.org().await.unwrap(), None);
    let h = |n: &str| Handler {
        name: n.into(),
        email: format!("{n}@demo.example.vn"),
    };
    let mut org = OrgDirectory {
        department: "Cục Hải quan Demo".into(),
        inspection: h("thanhtra"),
        default_handler: h("vanphong"),
        branches: vec![Branch {
            code: "03CC".into(),
            name: "Chi cục Demo".into(),
            head: h("cc03"),
            teams: vec![Team {
                code: "03CC01".into(),
                name: "Đội 1".into(),
            }],
        }],
    };
    store.save_org(&org).await.unwrap();
    assert_eq!(store.org().await.unwrap().as_ref(), Some(&org));
    org.branches.clear();
    store.save_org(&org).await.unwrap();
    assert_eq!(
        store.org().await.unwrap().unwrap().branches.len(),
        0,
        "import replaces the directory"
    );
}
