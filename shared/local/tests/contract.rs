//! The port contract suites against the embedded adapters.

use std::sync::Arc;

use csq_core::ports::SystemClock;
use csq_local::{SqliteQueue, SqliteStore};

/// A store on a fresh database file; the directory lives as long as the test.
async fn store() -> Arc<SqliteStore> {
    let dir = tempfile::tempdir().unwrap().keep();
    Arc::new(SqliteStore::open(&dir.join("csq.sqlite")).unwrap())
}

async fn queue() -> Arc<SqliteQueue> {
    let dir = tempfile::tempdir().unwrap().keep();
    let visibility = chrono::Duration::from_std(csq_contract::queue::VISIBILITY).unwrap();
    Arc::new(
        SqliteQueue::open(
            &dir.join("queue.sqlite"),
            Arc::new(SystemClock),
            visibility,
            csq_contract::queue::MAX_RECEIVES,
        )
        .unwrap(),
    )
}

mod form_store {
    use super::*;
    csq_contract::form_store_contract!(async {
        store().await as Arc<dyn csq_core::ports::FormStore>
    });
}

mod case_store {
    use super::*;
    csq_contract::case_store_contract!(async {
        store().await as Arc<dyn csq_core::ports::CaseStore>
    });
}

mod event_outbox {
    use super::*;
    csq_contract::event_outbox_contract!(async {
        store().await as Arc<dyn csq_contract::events::Outbox>
    });
}

mod person_index {
    use super::*;
    csq_contract::person_index_contract!(async {
        store().await as Arc<dyn csq_contract::person::People>
    });
}

mod invitation_ledger {
    use super::*;
    csq_contract::invitation_ledger_contract!(async {
        store().await as Arc<dyn csq_core::ports::InvitationLedger>
    });
}

mod kiosk_registry {
    use super::*;
    csq_contract::kiosk_registry_contract!(async {
        store().await as Arc<dyn csq_core::ports::KioskRegistry>
    });
}

mod times_store {
    use super::*;
    csq_contract::times_store_contract!(async {
        store().await as Arc<dyn csq_core::ports::TimesStore>
    });
}

mod watch_store {
    use super::*;
    csq_contract::watch_store_contract!(async {
        store().await as Arc<dyn csq_core::ports::WatchStore>
    });
}

mod stats_and_org {
    use super::*;
    csq_contract::stats_and_org_contract!(async {
        store().await as Arc<dyn csq_contract::misc::StatsAndOrg>
    });
}

/// The same suites with every write inside a bulk load's transaction: each write
/// path, joined to the load as a savepoint, still stores, refuses and undoes its own
/// work as on its own.
mod in_bulk_load {
    use super::*;

    async fn loading() -> Arc<SqliteStore> {
        let store = store().await;
        store.begin_bulk_load().await.unwrap();
        store
    }

    mod form_store {
        use super::*;
        csq_contract::form_store_contract!(async {
            loading().await as Arc<dyn csq_core::ports::FormStore>
        });
    }

    mod case_store {
        use super::*;
        csq_contract::case_store_contract!(async {
            loading().await as Arc<dyn csq_core::ports::CaseStore>
        });
    }

    mod times_store {
        use super::*;
        csq_contract::times_store_contract!(async {
            loading().await as Arc<dyn csq_core::ports::TimesStore>
        });
    }

    mod stats_and_org {
        use super::*;
        csq_contract::stats_and_org_contract!(async {
            loading().await as Arc<dyn csq_contract::misc::StatsAndOrg>
        });
    }
}

/// A bulk load's writes reach the file at its commit, not before; a write that
/// refuses inside it (an existing declaration) leaves the load as it was.
#[tokio::test]
async fn a_bulk_load_commits_its_writes_once() {
    use csq_core::ports::{FormStore, InsertFormOutcome};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("csq.sqlite");
    let store = SqliteStore::open(&path).unwrap();
    let at = csq_contract::fixtures::on_test_day(0);
    let first = csq_contract::fixtures::form(&csq_contract::fixtures::declaration_number(), at);
    let second = csq_contract::fixtures::form(&csq_contract::fixtures::declaration_number(), at);
    store.begin_bulk_load().await.unwrap();
    assert!(matches!(
        store.insert_form(&first).await.unwrap(),
        InsertFormOutcome::Created
    ));
    let mut again = first.clone();
    again.id = "another-id".into();
    assert!(matches!(
        store.insert_form(&again).await.unwrap(),
        InsertFormOutcome::Exists(_)
    ));
    assert!(matches!(
        store.insert_form(&second).await.unwrap(),
        InsertFormOutcome::Created
    ));
    // Another connection (another process) sees nothing yet.
    let outside = rusqlite::Connection::open(&path).unwrap();
    let count = |c: &rusqlite::Connection| -> i64 {
        c.query_row("SELECT count(*) FROM forms", [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(count(&outside), 0);
    store.commit_bulk_load().await.unwrap();
    assert_eq!(count(&outside), 2);
    assert!(store.form("another-id").await.unwrap().is_none());
    // Writes after the commit are on their own again.
    let third = csq_contract::fixtures::form(&csq_contract::fixtures::declaration_number(), at);
    store.insert_form(&third).await.unwrap();
    assert_eq!(count(&outside), 3);
}

mod complaint_queue {
    use super::*;
    csq_contract::queue_contract!(async { queue().await as Arc<dyn csq_contract::queue::Queue> });
}

/// The queue and the webhook outbox keep numbered schemas like the store: a
/// file a newer version wrote is refused with the reason, and left as it was.
#[test]
fn queue_and_webhook_files_from_a_newer_version_are_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let clock: Arc<dyn csq_core::ports::Clock> = Arc::new(SystemClock);
    let queue_path = dir.path().join("queue.sqlite");
    let webhooks_path = dir.path().join("webhooks.sqlite");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _guard = rt.enter();
    drop(SqliteQueue::open(&queue_path, clock.clone(), chrono::Duration::seconds(30), 5).unwrap());
    drop(csq_local::Webhooks::open(&webhooks_path, clock.clone()).unwrap());
    for path in [&queue_path, &webhooks_path] {
        let conn = rusqlite::Connection::open(path).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        drop(conn);
    }
    let before = [
        std::fs::read(&queue_path).unwrap(),
        std::fs::read(&webhooks_path).unwrap(),
    ];
    let queue = SqliteQueue::open(&queue_path, clock.clone(), chrono::Duration::seconds(30), 5);
    let webhooks = csq_local::Webhooks::open(&webhooks_path, clock);
    for err in [
        queue.err().expect("refused"),
        webhooks.err().expect("refused"),
    ] {
        assert!(err.to_string().contains("newer version of CSQ"), "{err}");
    }
    assert_eq!(std::fs::read(&queue_path).unwrap(), before[0]);
    assert_eq!(std::fs::read(&webhooks_path).unwrap(), before[1]);
}
