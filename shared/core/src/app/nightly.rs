//! The nightly job: relay stuck complaints, remind, expire, remind and escalate
//! cases, roll up the day's statistics, anonymise expired cases. Every step is
//! safe to rerun.

use std::future::Future;

use chrono::{Datelike, Days, NaiveDate};
use serde::Serialize;

use super::Csq;
use super::emails;
use crate::domain::stats::{DailyStats, DayInputs, roll_up};
use crate::domain::time::{vn_day, vn_day_start};
use crate::ports::{Page, PageRequest, PortResult};

/// Reads every page of a Query.
pub async fn all_pages<T, F, Fut>(mut query: F) -> PortResult<Vec<T>>
where
    F: FnMut(PageRequest) -> Fut,
    Fut: Future<Output = PortResult<Page<T>>>,
{
    let mut out = Vec::new();
    let mut page = PageRequest::first(500);
    loop {
        let batch = query(page.clone()).await?;
        out.extend(batch.items);
        match batch.next {
            Some(next) => page.after = Some(next),
            None => return Ok(out),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct NightlyReport {
    pub date: Option<NaiveDate>,
    pub complaints_relayed: usize,
    pub invitations_sent: usize,
    pub reminders_sent: usize,
    pub forms_expired: usize,
    pub case_reminders_sent: usize,
    pub cases_escalated: usize,
    pub units_rolled_up: usize,
    /// Issue-day cohort rows recomputed (the rating window's days).
    pub cohort_rows: usize,
    /// Flags raised by the week's early warning (Sundays, first run only).
    pub early_warning_flags: Option<usize>,
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
}

/// Days a missed night can be caught up: each night also looks at the two days
/// before its target, so one failed run loses no reminder or expiry.
const CATCH_UP_DAYS: u64 = 2;

impl Csq {
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
        match self.migrate_first_version().await {
            Ok(_) => {}
            Err(super::org::OrgError::Storage(e)) => return Err(e),
            Err(e) => tracing::error!(error = %e, "org directory migration failed"),
        }
        let SweepReport {
            complaints_relayed,
            invitations_sent,
        } = self.sweep().await?;
        let reminders_sent = self.send_reminders().await?;
        let forms_expired = self.expire_forms().await?;
        let case_reminders_sent = self.remind_due_cases().await?;
        let cases_escalated = self.escalate_overdue().await?;
        let units_rolled_up = self.aggregate_day(date).await?.len();
        let cohort_rows = self.aggregate_cohorts(date).await?;
        // A week ends on Sunday: its early warning (saved once; reruns send nothing).
        let early_warning_flags = if date.weekday() == chrono::Weekday::Sun {
            self.run_early_warning(date).await?.map(|r| r.flags.len())
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
            reminders_sent,
            forms_expired,
            case_reminders_sent,
            cases_escalated,
            units_rolled_up,
            cohort_rows,
            early_warning_flags,
            personal_data_dropped,
            cases_anonymised,
            contacts_forgotten,
            audit_entries_dropped,
        };
        tracing::info!(?report, "nightly run finished");
        Ok(report)
    }

    /// The frequent catch-up (every few minutes): complaints stuck in the outbox
    /// go to the queue, invitations the mail service could not take are retried.
    #[tracing::instrument(name = "sweep", skip_all)]
    pub async fn sweep(&self) -> PortResult<SweepReport> {
        let report = SweepReport {
            complaints_relayed: self.relay_complaints().await?,
            invitations_sent: self.send_pending_invitations().await?,
        };
        if report != SweepReport::default() {
            tracing::info!(?report, "sweep caught up");
        }
        Ok(report)
    }

    /// Computes and stores the rollups of one day; rerunning gives the same figures.
    #[tracing::instrument(name = "aggregate_day", skip_all)]
    pub async fn aggregate_day(&self, date: NaiveDate) -> PortResult<Vec<DailyStats>> {
        let forms = all_pages(|p| self.forms.forms_issued_on(date, p)).await?;
        let ratings = all_pages(|p| self.forms.ratings_on(date, p)).await?;
        let opened = all_pages(|p| self.cases.cases_opened_on(date, p)).await?;
        let closed = all_pages(|p| self.cases.cases_closed_on(date, p)).await?;
        let end_of_day = vn_day_start(date + Days::new(1));
        let overdue: Vec<_> = all_pages(|p| self.cases.open_cases_due_before(end_of_day, p))
            .await?
            .into_iter()
            .filter(|c| c.opened_at < end_of_day)
            .collect();
        let handling = all_pages(|p| self.cases.handling_ratings_on(date, p)).await?;
        let org = self.current_org().await?.map(|(_, o)| o);
        // The day's submitted forms, one read each (bounded by the day's
        // ratings): a form counts as submitted for every unit it was issued
        // for, not only those whose subjects it rated.
        let mut rated_ids: Vec<&str> = ratings.iter().map(|r| r.form_id.as_str()).collect();
        rated_ids.sort_unstable();
        rated_ids.dedup();
        let mut submitted = Vec::with_capacity(rated_ids.len());
        for id in rated_ids {
            if let Some(form) = self.forms.form(id).await? {
                submitted.push(form);
            }
        }
        let stats = roll_up(&DayInputs {
            date,
            forms_issued: &forms,
            forms_submitted: &submitted,
            ratings: &ratings,
            cases_opened: &opened,
            cases_closed: &closed,
            cases_overdue: &overdue,
            handling_ratings: &handling,
            org: org.as_ref(),
        });
        self.stats.put_daily(&stats).await?;
        tracing::info!(%date, units = stats.len(), forms = forms.len(), ratings = ratings.len(), "day rolled up");
        Ok(stats)
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

    /// One reminder per unanswered form, `remind_after` after it was issued.
    pub async fn send_reminders(&self) -> PortResult<usize> {
        let now = self.clock.now();
        let mut sent = 0;
        for day in Self::days_due(now, self.settings.remind_after) {
            for form in all_pages(|p| self.forms.forms_issued_on(day, p)).await? {
                if !form.reminder_due(now, self.settings.remind_after) {
                    continue;
                }
                if self
                    .suppression_of(form.business.email.as_str())
                    .await?
                    .is_some()
                {
                    continue;
                }
                if self
                    .forms
                    .mark_reminded(&form.id, now, self.settings.remind_after)
                    .await?
                {
                    let link = self.settings.rating_link(&form);
                    let unsubscribe = self.settings.unsubscribe_link(&form);
                    let mail = emails::reminder(&form, &link, &unsubscribe);
                    match self.mailer.send(&mail).await {
                        Ok(_) => sent += 1,
                        Err(e) => {
                            tracing::warn!(form_id = %form.id, error = %e, "reminder not sent")
                        }
                    }
                }
            }
        }
        Ok(sent)
    }

    /// Removes the complainant's contact from cases closed `contact_grace` ago
    /// (and from their forms), looking back a few days to catch up a missed
    /// night. Bounded by the cases closed on those days.
    pub async fn forget_closed_case_contacts(&self) -> PortResult<usize> {
        let now = self.clock.now();
        let grace = self.settings.contact_grace;
        let mut forgotten = 0;
        for day in Self::days_due(now, grace) {
            for case in all_pages(|p| self.cases.cases_closed_on(day, p)).await? {
                let Some((next, event)) = case.forget_contact(now, grace) else {
                    continue;
                };
                if self.cases.update_case(&next, case.version, &event).await?
                    == crate::ports::UpdateCaseOutcome::Updated
                {
                    self.forms.forget_contact(&case.complaint.form_id).await?;
                    forgotten += 1;
                }
            }
        }
        Ok(forgotten)
    }

    /// Closes forms whose rating window has passed.
    pub async fn expire_forms(&self) -> PortResult<usize> {
        let now = self.clock.now();
        let mut expired = 0;
        for day in Self::days_due(now, self.settings.form_ttl) {
            for form in all_pages(|p| self.forms.forms_issued_on(day, p)).await? {
                if form.expiry_due(now) && self.forms.mark_expired(&form.id, now).await? {
                    expired += 1;
                }
            }
        }
        Ok(expired)
    }
}
