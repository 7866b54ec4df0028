//! Opting out of invitations: the one-click link of every invitation and
//! reminder (RFC 8058), the mail service's bounce and complaint reports, and
//! the IT unit's own entries. All put the address on one suppression list.

use super::{Housekeeping, Rating};
use crate::auth::link::LinkPurpose;
use crate::domain::suppression::{Suppression, SuppressionReason};
use crate::ports::PortError;

#[derive(Debug, thiserror::Error)]
pub enum OptOutError {
    /// A link CSQ did not sign, an expired one, or one whose form is gone.
    #[error("the link is not valid")]
    NotFound,
    #[error(transparent)]
    Storage(#[from] PortError),
}

/// What the mail service reported about a message it could not deliver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailFeedback {
    /// The address does not exist or refuses mail for good.
    PermanentBounce,
    /// A full mailbox, a greylist: the next message may arrive.
    TransientBounce,
    /// The recipient marked the message as spam.
    Complaint,
}

impl MailFeedback {
    /// Which reports end invitations to an address: a transient bounce does not.
    pub fn suppression_reason(self) -> Option<SuppressionReason> {
        match self {
            MailFeedback::PermanentBounce => Some(SuppressionReason::Bounced),
            MailFeedback::Complaint => Some(SuppressionReason::Complained),
            MailFeedback::TransientBounce => None,
        }
    }
}

impl Rating {
    /// The form an opt-out link was signed for (the page shows its declaration).
    pub async fn opt_out_form(
        &self,
        token: &str,
    ) -> Result<crate::domain::form::Form, OptOutError> {
        let link = self
            .settings
            .link_keys
            .verify_for(LinkPurpose::Unsubscribe, token)
            .await
            .map_err(|_| OptOutError::NotFound)?;
        if self.clock.now() >= link.expires_at {
            return Err(OptOutError::NotFound);
        }
        self.forms
            .form(&link.form_id)
            .await?
            .ok_or(OptOutError::NotFound)
    }

    /// Puts the address of the link's form on the suppression list. Repeating
    /// it changes nothing. Returns true when the address was newly listed.
    #[tracing::instrument(name = "opt_out", skip_all)]
    pub async fn opt_out(&self, token: &str) -> Result<bool, OptOutError> {
        let form = self.opt_out_form(token).await?;
        let added = self
            .suppressions
            .suppress(&Suppression::new(
                form.business.email.as_str(),
                SuppressionReason::OptedOut,
                self.clock.now(),
            ))
            .await?;
        tracing::info!(form_id = %form.id, added, "business opted out of invitations");
        Ok(added)
    }
}

impl Housekeeping {
    /// Lists an address (kept as a keyed hash only): the IT unit's own
    /// entries and the mail service's reports. True when newly listed.
    pub async fn suppress_address(
        &self,
        address: &str,
        reason: SuppressionReason,
    ) -> Result<bool, PortError> {
        self.suppressions
            .suppress(&Suppression::new(address, reason, self.clock.now()))
            .await
    }

    /// Applies the mail service's report about `addresses`; returns how many
    /// were newly listed.
    #[tracing::instrument(name = "mail_feedback", skip_all)]
    pub async fn mail_feedback(
        &self,
        feedback: MailFeedback,
        addresses: &[String],
    ) -> Result<usize, PortError> {
        let Some(reason) = feedback.suppression_reason() else {
            return Ok(0);
        };
        let mut added = 0;
        for a in addresses {
            if self.suppress_address(a, reason).await? {
                added += 1;
            }
        }
        Ok(added)
    }
}
