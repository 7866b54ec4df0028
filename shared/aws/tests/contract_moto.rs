//! The port contract suites against the AWS adapters on the emulator: the very
//! same checks the embedded adapters pass.

mod support;

use std::sync::Arc;

mod form_store {
    use super::*;
    csq_contract::form_store_contract!(async {
        support::store().await as Arc<dyn csq_core::ports::FormStore>
    });
}

mod case_store {
    use super::*;
    csq_contract::case_store_contract!(async {
        support::store().await as Arc<dyn csq_core::ports::CaseStore>
    });
}

mod event_outbox {
    use super::*;
    csq_contract::event_outbox_contract!(async {
        support::store().await as Arc<dyn csq_contract::events::Outbox>
    });
}

mod person_index {
    use super::*;
    csq_contract::person_index_contract!(async {
        support::store().await as Arc<dyn csq_contract::person::People>
    });
}

mod invitation_ledger {
    use super::*;
    csq_contract::invitation_ledger_contract!(async {
        support::store().await as Arc<dyn csq_core::ports::InvitationLedger>
    });
}

mod kiosk_registry {
    use super::*;
    csq_contract::kiosk_registry_contract!(async {
        support::store().await as Arc<dyn csq_core::ports::KioskRegistry>
    });
}

mod times_store {
    use super::*;
    csq_contract::times_store_contract!(async {
        support::store().await as Arc<dyn csq_core::ports::TimesStore>
    });
}

mod watch_store {
    use super::*;
    csq_contract::watch_store_contract!(async {
        support::store().await as Arc<dyn csq_core::ports::WatchStore>
    });
}

mod stats_and_org {
    use super::*;
    csq_contract::stats_and_org_contract!(async {
        support::store().await as Arc<dyn csq_contract::misc::StatsAndOrg>
    });
}

mod complaint_queue {
    use super::*;
    csq_contract::queue_contract!(async {
        support::queue().await as Arc<dyn csq_contract::queue::Queue>
    });
}
