//! Housekeeping: the nightly job (relay stuck complaints, remind, expire,
//! remind and escalate cases, roll up the day's statistics, the week's early
//! warning, retention) and the frequent sweep. Every step is safe to rerun.
//! The business dates it works on ("yesterday", the days a reminder or an
//! expiry falls due) come from the domain and the clock port, never the host.

mod cases;
mod figures;
mod forms;
mod watch;

use std::sync::Arc;

use chrono::{Datelike, Days, NaiveDate};
use serde::Serialize;

use super::invitations::Invitations;
use super::{Directory, Publisher, Settings};
use crate::domain::time::vn_day;
use crate::ports::{
    AuditLog, CaseStore, Clock, ComplaintQueue, EventPublisher, FormStore, Mailer, OrgStore,
    PortResult, StatsStore, Store, SuppressionList,
};

pub use figures::{BASELINE_WEEKS, FALSE_DISCOVERY_RATE, RECENT_WEEKS};

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct NightlyReport {
    pub date: Option<NaiveDate>,
    pub complaints_relayed: usize,
    pub invitations_sent: usize,
    pub events_relayed: usize,
    pub reminders_sent: usize,
    pub forms_expired: usize,
    pub case_reminders_sent: usize,
    pub cases_escalated: usize,
    pub units_rolled_up: usize,
    /// Issue-day cohort rows recomputed (the rating window's days).
    pub cohort_rows: usize,
    /// Flags raised by the week's early warning (Sundays, first run only).
    pub early_warning_flags: Option<usize>,
    /// Watched businesses the week's retaliation watch flagged (Sundays).
    pub watch_flags: Option<usize>,
    /// Forms deleted because their personal-data limit passed.
    pub personal_data_dropped: u64,
    /// Closed cases whose personal data went (the cases stay).
    pub cases_anonymised: usize,
    /// Closed cases whose complainant contact went after the grace period.
    pub contacts_forgotten: usize,
    pub audit_entries_dropped: u64,
}

#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct SweepReport {
    pub complaints_relayed: usize,
    pub invitations_sent: usize,
    pub events_relayed: usize,
}

/// Days a missed night can be caught up: each night also looks at the two days
/// before its target, so one failed run loses no reminder or expiry.
const CATCH_UP_DAYS: u64 = 2;

/// The jobs no one asks for: run nightly and by the sweep every few minutes.
#[derive(Clone)]
pub struct Housekeeping {
    pub(super) forms: Arc<dyn FormStore>,
    pub(super) cases: Arc<dyn CaseStore>,
    pub(super) stats: Arc<dyn StatsStore>,
    pub(super) times: Arc<dyn crate::ports::TimesStore>,
    pub(super) watch: Arc<dyn crate::ports::WatchStore>,
    pub(super) audit: Arc<dyn AuditLog>,
    /// The case rules are kept beside the directory.
    pub(super) org: Arc<dyn OrgStore>,
    pub(super) suppressions: Arc<dyn SuppressionList>,
    pub(super) mailer: Arc<dyn Mailer>,
    pub(super) queue: Arc<dyn ComplaintQueue>,
    /// Escalations are announced; the sweep relays what the outbox still holds.
    pub(super) events: Publisher,
    pub(super) invitations: Invitations,
    pub(super) directory: Directory,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) settings: Arc<Settings>,
}

impl Housekeeping {
    pub fn new(
        store: &Arc<dyn Store>,
        mailer: Arc<dyn Mailer>,
        queue: Arc<dyn ComplaintQueue>,
        events: Arc<dyn EventPublisher>,
        clock: Arc<dyn Clock>,
        settings: Arc<Settings>,
    ) -> Housekeeping {
        let events = Publisher::new(store, events);
        Housekeeping {
            forms: store.clone(),
            cases: store.clone(),
            stats: store.clone(),
            times: store.clone(),
            watch: store.clone(),
            audit: store.clone(),
            org: store.clone(),
            suppressions: store.clone(),
            invitations: Invitations::new(
                store,
                mailer.clone(),
                events.clone(),
                clock.clone(),
                settings.clone(),
            ),
            events,
            mailer,
            queue,
            directory: Directory::new(store, clock.clone()),
            clock,
            settings,
        }
    }

    /// The day a nightly run rolls up when none is named: yesterday in Vietnam.
    pub fn yesterday(&self) -> NaiveDate {
        crate::domain::time::vn_yesterday(self.clock.now())
    }

    /// How long until the nightly run at `at` o'clock (Vietnamese time).
    pub fn until_nightly(&self, at: chrono::NaiveTime) -> chrono::Duration {
        crate::domain::time::until_next_vn_time(self.clock.now(), at)
    }

    /// Runs every nightly step for `date` (a Vietnamese calendar day, normally yesterday).
    #[tracing::instrument(name = "run_nightly", skip_all)]
    pub async fn run_nightly(&self, date: NaiveDate) -> PortResult<NightlyReport> {
        match self.directory.migrate_first_version().await {
            Ok(_) => {}
            Err(super::org::OrgError::Storage(e)) => return Err(e),
            Err(e) => tracing::error!(error = %e, "org directory migration failed"),
        }
        let SweepReport {
            complaints_relayed,
            invitations_sent,
            events_relayed,
        } = self.sweep().await?;
        let reminders_sent = self.send_reminders().await?;
        let forms_expired = self.expire_forms().await?;
        let case_reminders_sent = self.remind_due_cases().await?;
        let cases_escalated = self.escalate_overdue().await?;
        let (rows, cohort_rows) = self.roll_up_day(date).await?;
        let units_rolled_up = rows.len();
        // A week ends on Sunday: its early warning (saved once; reruns send nothing).
        let sunday = date.weekday() == chrono::Weekday::Sun;
        let early_warning_flags = if sunday {
            self.run_early_warning(date).await?.map(|r| r.flags.len())
        } else {
            None
        };
        let watch_flags = if sunday {
            Some(self.run_retaliation_watch(date).await?.flags.len())
        } else {
            None
        };
        let contacts_forgotten = self.forget_closed_case_contacts().await?;
        let now = self.clock.now();
        let personal_data_dropped = self.forms.drop_expired_personal_data(now).await?;
        let cases_anonymised = self.anonymise_expired_cases().await?;
        let audit_entries_dropped = self.audit.drop_expired_audit(now).await?;
        let report = NightlyReport {
            date: Some(date),
            complaints_relayed,
            invitations_sent,
            events_relayed,
            reminders_sent,
            forms_expired,
            case_reminders_sent,
            cases_escalated,
            units_rolled_up,
            cohort_rows,
            early_warning_flags,
            watch_flags,
            personal_data_dropped,
            cases_anonymised,
            contacts_forgotten,
            audit_entries_dropped,
        };
        tracing::info!(?report, "nightly run finished");
        Ok(report)
    }

    /// The frequent catch-up (every few minutes): complaints stuck in the outbox
    /// go to the queue, events to the bus or the webhooks, invitations the mail
    /// service could not take are retried.
    #[tracing::instrument(name = "sweep", skip_all)]
    pub async fn sweep(&self) -> PortResult<SweepReport> {
        // Each step runs whatever the others do: a bus that is down must not
        // hold up the invitations.
        let complaints = self.relay_complaints().await;
        let invitations = self.invitations.send_pending_invitations().await;
        let events = self.events.relay_pending().await;
        let report = SweepReport {
            complaints_relayed: complaints?,
            invitations_sent: invitations?,
            events_relayed: events?,
        };
        if report != SweepReport::default() {
            tracing::info!(?report, "sweep caught up");
        }
        Ok(report)
    }

    /// The days whose records (forms by issue day, cases by close day) may have
    /// come due `after` ago: the day of `now - after` and, to catch up a missed
    /// night, the days before it.
    fn days_due(
        now: chrono::DateTime<chrono::Utc>,
        after: chrono::Duration,
    ) -> impl Iterator<Item = NaiveDate> {
        let newest = vn_day(now - after);
        (0..=CATCH_UP_DAYS).filter_map(move |k| newest.checked_sub_days(Days::new(k)))
    }
}
