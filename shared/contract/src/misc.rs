//! StatsStore and OrgStore contracts, and a helper to read all pages.

use std::future::Future;
use std::sync::Arc;

use chrono::NaiveDate;
use chrono::Utc;
use csq_core::domain::audit::AuditEntry;
use csq_core::domain::org::{
    Handler, LegacyOrg, OrgDirectory, OrgVersion, StoredOrg, Unit, legacy::LegacyBranch,
    legacy::LegacyTeam,
};
use csq_core::domain::stats::DailyStats;
use csq_core::ports::{
    AuditLog, FirstVersionOrgWriter, OrgStore, Page, PageRequest, PortResult, SaveOrgOutcome,
    StatsStore,
};

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
        owner: Some("03CC".into()),
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
        misconduct_level_counts: [0, 0, 0, 0, 1.min(ratings)],
        misconduct_forms_submitted: 0,
        misconduct_complaints: [0; 3],
        complaints_upheld: 1.min(ratings),
        misconduct_upheld: 0,
        suggestions_opened: 0,
        handling_level_counts: [0, 0, 0, ratings, 0],
        reason_counts: [("fast".to_owned(), [0, 0, 0, 1, ratings])].into(),
        misconduct_reason_counts: Default::default(),
        handling_hours: [(3, 1), (49, ratings)].into(),
        minutes_to_rate: [(12, ratings)].into(),
        rated_by_day: [(
            day(d),
            csq_core::domain::stats::RatedOn {
                forms: ratings,
                minutes: [(12, ratings)].into(),
            },
        )]
        .into(),
        // The store keeps every map as it was written.
        invitations: [("sent".to_owned(), ratings), ("capped".to_owned(), 1)].into(),
        channel_forms: [("kiosk".to_owned(), ratings)].into(),
        channel_level_counts: [("kiosk".to_owned(), [0, 0, 0, 0, ratings])].into(),
        stages_timed: ratings,
        stage_minutes: [(45, ratings), (190, 1)].into(),
        stages_with_limit: ratings,
        stages_within_limit: ratings.saturating_sub(1),
        stages_counting_requests: 2,
        document_requests: 3,
        declarations_counting_requests: 1,
        release_minutes: [("red".to_owned(), [(600, 1)].into())].into(),
        time_levels: [("over_limit".to_owned(), [1, 0, 0, 0, ratings])].into(),
        declarations_with_lane_facts: ratings,
        lanes_changed_by_hand: 1.min(ratings),
        kinds: [(
            "A11:red".to_owned(),
            csq_core::domain::watch::KindCounts {
                stages_with_limit: ratings,
                stages_within_limit: ratings.saturating_sub(1),
                minutes: [("document_check".to_owned(), [(45, ratings)].into())].into(),
                ..Default::default()
            },
        )]
        .into(),
        officer_ids: vec!["HP1234".into()],
    }
}

/// Both stores on one adapter, as the local host and DynamoDB have them.
pub trait StatsAndOrg:
    StatsStore + OrgStore + FirstVersionOrgWriter + AuditLog + csq_core::ports::SuppressionList
{
}
impl<T: StatsStore + OrgStore + FirstVersionOrgWriter + AuditLog + csq_core::ports::SuppressionList>
    StatsAndOrg for T
{
}

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

fn handler(n: &str) -> Handler {
    Handler {
        name: n.into(),
        email: format!("{n}@demo.example.vn"),
    }
}

fn unit(code: &str, kind: &str, parent: Option<&str>) -> Unit {
    Unit {
        code: code.into(),
        name: format!("Đơn vị nghiệp vụ Hải quan {code} thuộc Cục Hải quan"),
        name_en: Some(format!("Customs operational unit {code} of the department")),
        kind: kind.into(),
        parent: parent.map(Into::into),
        head: Some(handler(&code.to_lowercase())),
        handlers: vec![],
        officers: vec![],
        successor: None,
        retired: false,
    }
}

fn tree(offices: usize) -> OrgDirectory {
    let mut units = vec![
        unit("CUC", "department", None),
        unit("TT", "inspection", Some("CUC")),
    ];
    for r in 0..offices.div_ceil(10) {
        units.push(unit(&format!("R{r:02}"), "region", Some("CUC")));
    }
    for o in 0..offices {
        let code = format!("{o:04}CC");
        units.push(unit(&code, "office", Some(&format!("R{:02}", o / 10))));
        for t in 1..=9 {
            units.push(unit(&format!("{code}{t}"), "team", Some(&code)));
        }
    }
    OrgDirectory::new("TT", "CUC", units)
}

fn summary(version: u32, units: usize) -> OrgVersion {
    OrgVersion {
        version,
        saved_at: Utc::now(),
        saved_by: format!("staff-{version}"),
        changes: vec![],
        units,
    }
}

pub async fn org_versions_are_kept(store: Arc<dyn StatsAndOrg>) {
    assert_eq!(store.current_org().await.unwrap(), None);
    assert_eq!(
        store
            .org_versions(PageRequest::first(10))
            .await
            .unwrap()
            .items,
        vec![]
    );
    let first = tree(2);
    let save = |v: u32, org: OrgDirectory| {
        let store = store.clone();
        async move {
            store
                .save_org_version(&summary(v, org.units.len()), &org)
                .await
                .unwrap()
        }
    };
    assert_eq!(
        save(2, first.clone()).await,
        SaveOrgOutcome::Conflict,
        "no version 1 yet"
    );
    assert_eq!(save(1, first.clone()).await, SaveOrgOutcome::Saved);
    assert_eq!(
        save(1, first.clone()).await,
        SaveOrgOutcome::Conflict,
        "version 1 is taken"
    );
    for v in 2..=5 {
        assert_eq!(save(v, tree(v as usize)).await, SaveOrgOutcome::Saved);
    }
    let current = store.current_org().await.unwrap().unwrap();
    assert_eq!(current.version, 5);
    assert_eq!(current.stored, StoredOrg::Tree(tree(5)));
    assert_eq!(store.org_version(1).await.unwrap(), Some(first));
    assert_eq!(store.org_version(9).await.unwrap(), None);

    let versions: Vec<u32> = all(|p| {
        let store = store.clone();
        async move { store.org_versions(PageRequest { limit: 2, ..p }).await }
    })
    .await
    .iter()
    .map(|v| v.version)
    .collect();
    assert_eq!(versions, [5, 4, 3, 2, 1], "newest first, every page");
    let page = store.org_versions(PageRequest::first(1)).await.unwrap();
    assert_eq!(page.items[0].saved_by, "staff-5");
    assert!(page.next.is_some());
}

/// Two replacements racing for the same version: one wins, the other is told.
pub async fn org_version_is_taken_once(store: Arc<dyn StatsAndOrg>) {
    let org = tree(3);
    let tries = (0..4).map(|_| {
        let (store, org) = (store.clone(), org.clone());
        tokio::spawn(async move { store.save_org_version(&summary(1, 0), &org).await.unwrap() })
    });
    let mut saved = 0;
    for t in tries {
        if t.await.unwrap() == SaveOrgOutcome::Saved {
            saved += 1;
        }
    }
    assert_eq!(saved, 1);
    assert_eq!(store.current_org().await.unwrap().unwrap().version, 1);
}

/// One deployment for a whole authority: 1 department, 20 regions, 200 offices,
/// 1,800 teams, each named in both languages — larger than one DynamoDB item
/// as plain JSON.
pub async fn national_directory_fits(store: Arc<dyn StatsAndOrg>) {
    let org = tree(200);
    assert!(org.units.len() > 2_000);
    assert!(serde_json::to_vec(&org).unwrap().len() > 400_000);
    assert_eq!(
        store
            .save_org_version(&summary(1, org.units.len()), &org)
            .await
            .unwrap(),
        SaveOrgOutcome::Saved
    );
    let back = store.current_org().await.unwrap().unwrap();
    assert_eq!(back.stored.into_tree(), org);
}

pub async fn first_version_directory_reads_and_upgrades(store: Arc<dyn StatsAndOrg>) {
    let legacy = LegacyOrg {
        department: "Cục Hải quan Demo".into(),
        inspection: handler("thanhtra"),
        default_handler: handler("vanphong"),
        branches: vec![LegacyBranch {
            code: "03CC".into(),
            name: "Chi cục Demo".into(),
            head: handler("cc03"),
            teams: vec![LegacyTeam {
                code: "03CC01".into(),
                name: "Đội 1".into(),
            }],
        }],
    };
    store.write_first_version_org(&legacy).await.unwrap();
    let current = store.current_org().await.unwrap().unwrap();
    assert_eq!(current.version, 0);
    assert_eq!(current.stored, StoredOrg::Legacy(legacy.clone()));
    let tree = legacy.into_tree();
    assert_eq!(
        store.save_org_version(&summary(2, 0), &tree).await.unwrap(),
        SaveOrgOutcome::Conflict
    );
    assert_eq!(
        store
            .save_org_version(&summary(1, tree.units.len()), &tree)
            .await
            .unwrap(),
        SaveOrgOutcome::Saved,
        "version 1 replaces the first version's document"
    );
    let current = store.current_org().await.unwrap().unwrap();
    assert_eq!(
        (current.version, current.stored),
        (1, StoredOrg::Tree(tree))
    );
}

fn audit_entry(id: &str, at: chrono::DateTime<Utc>, keep: chrono::Duration) -> AuditEntry {
    AuditEntry {
        id: id.into(),
        at,
        who: "head-03cc".into(),
        role: "unit_head".into(),
        unit: Some("03CC".into()),
        what: "ratings".into(),
        records: vec![format!("form-{id}:branch:03CC")],
        keep_until: at + keep,
    }
}

/// Each read is kept once, by the Vietnamese day it happened, in time order;
/// entries past their retention are gone.
pub async fn audit_is_kept_by_day_until_it_expires(store: Arc<dyn StatsAndOrg>) {
    let base = Utc::now() - chrono::Duration::hours(1);
    let day = csq_core::domain::time::vn_day(base);
    let keep = chrono::Duration::days(30);
    let entries: Vec<AuditEntry> = (0..5)
        .map(|i| audit_entry(&format!("a{i}"), base + chrono::Duration::seconds(i), keep))
        .collect();
    for e in entries.iter().rev() {
        store.record(e).await.unwrap();
    }
    store.record(&entries[0]).await.unwrap();
    let expired = audit_entry("old", base, -chrono::Duration::minutes(5));
    store.record(&expired).await.unwrap();
    store.drop_expired_audit(Utc::now()).await.unwrap();
    let read = all(|p| {
        let store = store.clone();
        async move { store.audit_on(day, PageRequest { limit: 2, ..p }).await }
    })
    .await;
    assert_eq!(
        read, entries,
        "once each, oldest first, the expired one gone"
    );
    let other_day = day.succ_opt().unwrap();
    assert!(
        store
            .audit_on(other_day, PageRequest::first(10))
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

/// The case rules: version 1 is taken once, a replacement must follow the
/// version in force, and what was saved reads back whole.
pub async fn case_rules_are_replaced_by_version(store: Arc<dyn StatsAndOrg>) {
    use csq_core::domain::case::rules::{CaseRules, Holiday, StoredCaseRules};
    assert!(store.case_rules().await.unwrap().is_none());
    let mut rules = CaseRules::default();
    rules.holidays.push(Holiday {
        date: NaiveDate::from_ymd_opt(2026, 9, 2).expect("valid"),
        name: "Quốc khánh".into(),
    });
    let v1 = StoredCaseRules {
        version: 1,
        saved_by: "dept".into(),
        saved_at: chrono::Utc::now(),
        rules: rules.clone(),
    };
    assert_eq!(
        store.save_case_rules(&v1).await.unwrap(),
        SaveOrgOutcome::Saved
    );
    assert_eq!(
        store.save_case_rules(&v1).await.unwrap(),
        SaveOrgOutcome::Conflict,
        "version 1 is taken once"
    );
    let skip = StoredCaseRules {
        version: 3,
        ..v1.clone()
    };
    assert_eq!(
        store.save_case_rules(&skip).await.unwrap(),
        SaveOrgOutcome::Conflict
    );
    let mut v2 = v1.clone();
    v2.version = 2;
    v2.rules.appeal_days = 20;
    assert_eq!(
        store.save_case_rules(&v2).await.unwrap(),
        SaveOrgOutcome::Saved
    );
    assert_eq!(store.case_rules().await.unwrap(), Some(v2));
}

/// Early-warning reports: a week's is saved once; the newest is found.
pub async fn early_warnings_are_saved_once_per_week(store: Arc<dyn StatsAndOrg>) {
    use csq_core::domain::report::{Flag, WarningReport};
    assert!(store.latest_warnings().await.unwrap().is_none());
    let report = |week: u32, flags: usize| WarningReport {
        week_end: day(week),
        recent_from: day(week) - chrono::Days::new(27),
        baseline_from: day(week) - chrono::Days::new(111),
        baseline_to: day(week) - chrono::Days::new(28),
        min_ratings: 20,
        false_discovery_rate: 0.05,
        tested: 3,
        flags: (0..flags)
            .map(|i| Flag {
                key: format!("unit:0{i}CC"),
                owner: format!("0{i}CC"),
                recent_ratings: 40,
                recent_satisfied: 20,
                baseline_ratings: 120,
                baseline_satisfied: 110,
                p_value: 0.0001,
            })
            .collect(),
    };
    assert!(store.put_warnings(&report(15, 1)).await.unwrap());
    assert!(
        !store.put_warnings(&report(15, 2)).await.unwrap(),
        "once per week"
    );
    assert!(store.put_warnings(&report(22, 0)).await.unwrap());
    assert!(store.put_warnings(&report(8, 2)).await.unwrap());
    assert_eq!(store.latest_warnings().await.unwrap(), Some(report(22, 0)));
    // The week's report is a statistics row of no unit: unit queries never see it.
    assert!(
        store
            .daily("!warnings", day(1), day(30))
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn suppression_keeps_the_first_reason_and_no_address(store: Arc<dyn StatsAndOrg>) {
    use csq_core::domain::suppression::{Suppression, SuppressionReason, address_key};
    let at = chrono::Utc::now();
    let address = format!("{}@abc.com.vn", uuid::Uuid::new_v4().simple());
    let key = address_key(&address);
    assert_eq!(store.suppressed(&key).await.unwrap(), None);
    let first = Suppression::new(&address, SuppressionReason::OptedOut, at);
    assert!(store.suppress(&first).await.unwrap());
    // A later bounce of the same address (other case) changes nothing.
    let again = Suppression::new(&address.to_uppercase(), SuppressionReason::Bounced, at);
    assert!(!store.suppress(&again).await.unwrap(), "listed once");
    assert_eq!(store.suppressed(&key).await.unwrap(), Some(first));
    assert_eq!(
        store
            .suppressed(&address_key("other@abc.com.vn"))
            .await
            .unwrap(),
        None
    );
    // Lifted (the business asked for invitations again): gone, once.
    assert!(store.lift(&key).await.unwrap());
    assert_eq!(store.suppressed(&key).await.unwrap(), None);
    assert!(
        !store.lift(&key).await.unwrap(),
        "a second lift finds nothing"
    );
    // Listed again afterwards with the new reason.
    assert!(store.suppress(&again).await.unwrap());
    assert_eq!(store.suppressed(&key).await.unwrap(), Some(again));
}
