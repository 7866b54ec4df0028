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
