//! Port contract suites. Each suite is a set of async checks taking a fresh
//! adapter; the `*_contract!` macros turn them into `#[tokio::test]`s for one
//! adapter. The embedded adapters and the AWS adapters run the same suites, so
//! they cannot drift apart in what they promise the core.

pub mod cases;
pub mod events;
pub mod fixtures;
pub mod forms;
pub mod kiosks;
pub mod ledger;
pub mod misc;
pub mod numbers;
pub mod person;
pub mod queue;
pub mod times;

/// Generates one test per check for an adapter. `$make` is an async expression
/// giving a fresh `Arc` of the adapter for each test.
#[macro_export]
macro_rules! contract_tests {
    ($suite:ident, $make:expr, [$($check:ident),* $(,)?]) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let adapter = $make.await;
                $crate::$suite::$check(adapter).await;
            }
        )*
    };
}

/// Every form-store check.
#[macro_export]
macro_rules! form_store_contract {
    ($make:expr) => {
        $crate::contract_tests!(
            forms,
            $make,
            [
                insert_is_once_per_declaration,
                concurrent_inserts_create_one_form,
                invitation_claim_is_exclusive,
                submit_is_once_and_writes_everything,
                concurrent_submits_store_one,
                submit_refuses_expired_and_unknown_forms,
                issue_day_query_pages_without_gaps,
                reminders_and_expiry_happen_once,
                a_forgotten_contact_is_gone_from_the_form,
                foreign_and_damaged_cursors_are_refused,
                expired_personal_data_is_gone,
                later_stages_and_follow_ups,
            ]
        );
    };
}

#[macro_export]
macro_rules! case_store_contract {
    ($make:expr) => {
        $crate::contract_tests!(
            cases,
            $make,
            [
                open_case_is_once_per_complaint,
                updates_are_conditional_on_version,
                unit_query_filters_status_and_pages,
                day_and_due_queries,
                expired_cases_are_anonymised_not_deleted,
                handling_ratings_are_kept_by_day,
            ]
        );
    };
}

#[macro_export]
macro_rules! stats_and_org_contract {
    ($make:expr) => {
        $crate::contract_tests!(
            misc,
            $make,
            [
                daily_stats_overwrite_and_range,
                org_versions_are_kept,
                org_version_is_taken_once,
                national_directory_fits,
                first_version_directory_reads_and_upgrades,
                audit_is_kept_by_day_until_it_expires,
                case_rules_are_replaced_by_version,
                early_warnings_are_saved_once_per_week,
                suppression_keeps_the_first_reason_and_no_address,
            ]
        );
    };
}

/// Every event-outbox check (each needs a store of its own: it reads the
/// whole outbox).
#[macro_export]
macro_rules! event_outbox_contract {
    ($make:expr) => {
        $crate::contract_tests!(
            events,
            $make,
            [
                events_are_stored_with_their_change_or_not_at_all,
                relayed_events_leave_the_outbox_in_bounded_reads,
            ]
        );
    };
}

/// Every invitation-ledger check.
#[macro_export]
macro_rules! invitation_ledger_contract {
    ($make:expr) => {
        $crate::contract_tests!(
            ledger,
            $make,
            [
                one_slot_per_business_per_period,
                concurrent_issuance_takes_one_slot,
            ]
        );
    };
}

/// Every kiosk-registry check.
#[macro_export]
macro_rules! kiosk_registry_contract {
    ($make:expr) => {
        $crate::contract_tests!(kiosks, $make, [tablets_are_kept_listed_and_revoked]);
    };
}

/// Every times-store check.
#[macro_export]
macro_rules! times_store_contract {
    ($make:expr) => {
        $crate::contract_tests!(
            times,
            $make,
            [
                times_are_versioned_and_snapshotted_by_day,
                business_times_are_read_by_office_and_business,
            ]
        );
    };
}

/// Every watch-store check.
#[macro_export]
macro_rules! watch_store_contract {
    ($make:expr) => {
        $crate::contract_tests!(times, $make, [watch_cases_are_versioned]);
    };
}

/// Every person-index check.
#[macro_export]
macro_rules! person_index_contract {
    ($make:expr) => {
        $crate::contract_tests!(
            person,
            $make,
            [
                a_persons_records_are_indexed_as_they_are_written,
                entries_go_with_the_records_personal_data,
            ]
        );
    };
}

/// The adapter under test must use a visibility timeout of `queue::VISIBILITY`
/// and move a message to dead letters after `queue::MAX_RECEIVES` receives.
#[macro_export]
macro_rules! queue_contract {
    ($make:expr) => {
        $crate::contract_tests!(
            queue,
            $make,
            [
                received_messages_hide_until_deleted,
                undeleted_messages_come_back,
                poison_message_goes_to_dead_letters_without_blocking,
            ]
        );
    };
}
