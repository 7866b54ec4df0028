//! The forms' nightly care: one reminder per unanswered form, closing forms
//! whose window passed, and the outbox relay of complaints.

use super::Housekeeping;
use crate::app::all_pages;
use crate::app::emails;
use crate::app::rate::dispatch_complaint;
use crate::ports::{PortError, PortResult};

impl Housekeeping {
    /// One reminder per unanswered form, `remind_after` after it was issued.
    pub async fn send_reminders(&self) -> PortResult<usize> {
        let now = self.clock.now();
        let mut sent = 0;
        let survey = self.invitations.survey_rules().await?;
        for day in Self::days_due(now, self.settings.remind_after) {
            for form in all_pages(|p| self.forms.forms_issued_on(day, p)).await? {
                if !form.reminder_due(now, self.settings.remind_after) {
                    continue;
                }
                if self
                    .invitations
                    .suppression_of(form.business.email.as_str())
                    .await?
                    .is_some()
                {
                    continue;
                }
                // One email per business per survey period, reminders included.
                let Some(taken_at) = self.invitations.take_slot(&form, &survey).await? else {
                    continue;
                };
                if !self
                    .forms
                    .mark_reminded(&form.id, now, self.settings.remind_after)
                    .await?
                {
                    self.invitations
                        .give_back_slot(&form, &survey, taken_at)
                        .await?;
                } else {
                    let link = self.settings.rating_link(&form);
                    let unsubscribe = self.settings.unsubscribe_link(&form);
                    let mail = emails::reminder(
                        &form,
                        &link,
                        &unsubscribe,
                        &emails::PrivacyLinks::of(&self.settings),
                    );
                    match self.mailer.send(&mail).await {
                        Ok(_) => sent += 1,
                        Err(e) => {
                            tracing::warn!(form_id = %form.id, error = %e, "reminder not sent");
                            self.invitations
                                .give_back_slot(&form, &survey, taken_at)
                                .await?;
                        }
                    }
                }
            }
        }
        Ok(sent)
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

    /// Sends every complaint still in the outbox. Returns how many went out.
    pub async fn relay_complaints(&self) -> Result<usize, PortError> {
        let mut sent = 0;
        for c in self.forms.pending_complaints(100).await? {
            if dispatch_complaint(self.forms.as_ref(), self.queue.as_ref(), &c).await {
                sent += 1;
            }
        }
        Ok(sent)
    }
}
