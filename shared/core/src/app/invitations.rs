//! Invitations: the one email each form gets (and its retries), sent once
//! under a lease, never to a suppressed address. Issuing sends the first try;
//! the sweep retries what the mail service could not take yet.

use std::sync::Arc;

use super::{Publisher, Settings, emails};
use crate::domain::case::rules::StoredCaseRules;
use crate::domain::form::{Form, InvitationResult};
use crate::domain::suppression::{SuppressionReason, address_key};
use crate::domain::survey::{InvitationCap, SurveyRules};
use crate::ports::{
    Clock, FormStore, InvitationLedger, MailError, Mailer, OrgStore, PortError, Store,
    SuppressionList,
};

/// How long one caller may hold the right to send a form's invitation before
/// another attempt may take over (a crashed sender must not block it forever).
const INVITATION_LEASE: chrono::Duration = chrono::Duration::seconds(60);

#[derive(Clone)]
pub(crate) struct Invitations {
    forms: Arc<dyn FormStore>,
    suppressions: Arc<dyn SuppressionList>,
    ledger: Arc<dyn InvitationLedger>,
    /// The department's rules document, whose survey section says whom to ask.
    rules: Arc<dyn OrgStore>,
    mailer: Arc<dyn Mailer>,
    /// The form's `form.issued` goes out with its first attempt's outcome.
    events: Publisher,
    clock: Arc<dyn Clock>,
    settings: Arc<Settings>,
}

impl Invitations {
    pub(crate) fn new(
        store: &Arc<dyn Store>,
        mailer: Arc<dyn Mailer>,
        events: Publisher,
        clock: Arc<dyn Clock>,
        settings: Arc<Settings>,
    ) -> Invitations {
        Invitations {
            forms: store.clone(),
            suppressions: store.clone(),
            ledger: store.clone(),
            rules: store.clone(),
            mailer,
            events,
            clock,
            settings,
        }
    }

    /// Sends the invitation once: a lease on the form decides who sends, so two
    /// concurrent requests for one declaration send one email. Returns what
    /// happened, or None when someone else holds the lease.
    pub(crate) async fn send_invitation(
        &self,
        form: &Form,
    ) -> Result<Option<InvitationResult>, PortError> {
        let survey = self.survey_rules().await?;
        self.send_invitation_under(form, &survey).await
    }

    /// `send_invitation` under survey rules already read (a batch reads them once).
    async fn send_invitation_under(
        &self,
        form: &Form,
        survey: &SurveyRules,
    ) -> Result<Option<InvitationResult>, PortError> {
        let now = self.clock.now();
        if !self
            .forms
            .claim_invitation(&form.id, now, now + INVITATION_LEASE)
            .await?
        {
            return Ok(None);
        }
        Ok(Some(self.invite_claimed(form, survey).await?))
    }

    /// Leases a form about to be stored to the caller that stores it: the
    /// issuing request sends its invitation without a write to claim it.
    pub(crate) fn lease_new_form(&self, form: &mut Form) -> bool {
        let now = self.clock.now();
        form.claim_invitation(now, now + INVITATION_LEASE)
    }

    /// Sends the invitation of a form this caller stored already leased
    /// (`lease_new_form`): the store's write of the outcome gives the lease back.
    pub(crate) async fn send_leased_invitation(
        &self,
        form: &Form,
    ) -> Result<InvitationResult, PortError> {
        let survey = self.survey_rules().await?;
        self.invite_claimed(form, &survey).await
    }

    /// The invitation of a form whose lease the caller holds: suppressed,
    /// sampled out, capped or mailed, and the outcome written once.
    async fn invite_claimed(
        &self,
        form: &Form,
        survey: &SurveyRules,
    ) -> Result<InvitationResult, PortError> {
        let result = match self.suppression_of(form.business.email.as_str()).await? {
            Some(reason) => {
                tracing::info!(form_id = %form.id, reason = reason.code(), "invitation not sent: address suppressed");
                InvitationResult::Suppressed(reason)
            }
            // Drawn before the cap, so a declaration left out does not use
            // up its business's one email of the period.
            None if !survey.invites(
                form,
                self.settings
                    .link_keys
                    .sample_draw(form.declaration.number.as_str()),
            ) =>
            {
                tracing::info!(form_id = %form.id, "invitation not sent: not drawn by the survey rules' sampling");
                InvitationResult::SampledOut
            }
            None => match self.take_slot(form, survey).await? {
                None => {
                    tracing::info!(form_id = %form.id, "invitation not sent: the business was emailed within the survey period");
                    InvitationResult::Capped
                }
                Some(taken_at) => {
                    let result = self.mail_invitation(form).await;
                    if result == InvitationResult::Retry {
                        // Nothing went: the retry needs the slot again.
                        self.give_back_slot(form, survey, taken_at).await?;
                    }
                    result
                }
            },
        };
        let announced = self
            .forms
            .finish_invitation(&form.id, result.clone())
            .await?;
        self.events.publish(announced.into_iter().collect()).await;
        Ok(result)
    }

    /// The survey section of the department's rules in force.
    pub(crate) async fn survey_rules(&self) -> Result<SurveyRules, PortError> {
        Ok(StoredCaseRules::in_force(self.rules.case_rules().await?)
            .rules
            .survey)
    }

    /// The cap in force: the survey rules' period, else the host's setting.
    fn cap(&self, survey: &SurveyRules) -> InvitationCap {
        survey.cap(self.settings.invitation_cap)
    }

    /// Takes the business's one email of the survey period (the cap), for an
    /// invitation or a reminder of `form`. The instant taken, or None when
    /// the business was emailed within the period.
    pub(crate) async fn take_slot(
        &self,
        form: &Form,
        survey: &SurveyRules,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>, PortError> {
        let cap = self.cap(survey);
        let now = self.clock.now();
        if cap.is_off() {
            return Ok(Some(now));
        }
        let tax_code = form.business.tax_code.as_str();
        Ok(self
            .ledger
            .take_invitation_slot(tax_code, now, &cap)
            .await?
            .then_some(now))
    }

    /// An email that did not go gives its slot back.
    pub(crate) async fn give_back_slot(
        &self,
        form: &Form,
        survey: &SurveyRules,
        taken_at: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), PortError> {
        if self.cap(survey).is_off() {
            return Ok(());
        }
        self.ledger
            .give_back_invitation_slot(form.business.tax_code.as_str(), taken_at)
            .await
    }

    /// Why invitations and reminders to `address` are not sent, if they are not.
    pub(crate) async fn suppression_of(
        &self,
        address: &str,
    ) -> Result<Option<SuppressionReason>, PortError> {
        Ok(self
            .suppressions
            .suppressed(&address_key(address))
            .await?
            .map(|s| s.reason))
    }

    async fn mail_invitation(&self, form: &Form) -> InvitationResult {
        let link = self.settings.rating_link(form);
        let unsubscribe = self.settings.unsubscribe_link(form);
        match self
            .mailer
            .send(&emails::invitation(
                form,
                &link,
                &unsubscribe,
                &emails::PrivacyLinks::of(&self.settings),
            ))
            .await
        {
            Ok(message_id) => {
                tracing::info!(form_id = %form.id, %message_id, "invitation sent");
                InvitationResult::Sent(self.clock.now())
            }
            Err(MailError::Transient(e)) => {
                tracing::warn!(form_id = %form.id, error = %e, "invitation not sent yet; the sweep retries it");
                InvitationResult::Retry
            }
            Err(MailError::Rejected(e)) => {
                tracing::warn!(form_id = %form.id, error = %e, "invitation refused by the mail service");
                InvitationResult::Rejected(e)
            }
        }
    }

    /// Retries invitations the mail service could not take yet, oldest first,
    /// a bounded batch per call. Returns how many went out.
    pub(crate) async fn send_pending_invitations(&self) -> Result<usize, PortError> {
        let mut sent = 0;
        let pending = self.forms.pending_invitations(100).await?;
        if pending.is_empty() {
            return Ok(0);
        }
        let survey = self.survey_rules().await?;
        for form in pending {
            if let Some(InvitationResult::Sent(_)) =
                self.send_invitation_under(&form, &survey).await?
            {
                sent += 1;
            }
        }
        Ok(sent)
    }
}
