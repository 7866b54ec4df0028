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
