//! Issuing a form: the integration API's use case.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use super::Csq;
use super::emails;
use crate::domain::declaration::FormRequest;
use crate::domain::fields::FieldError;
use crate::domain::form::{Form, FormStatus, InvitationResult, InvitationState};
use crate::domain::org::OrgDirectory;
use crate::domain::suppression::{SuppressionReason, address_key};
use crate::policy::SubjectView;
use crate::ports::{InsertFormOutcome, MailError, PortError};

#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    #[error("the request has {} invalid field(s)", .0.len())]
    Invalid(Vec<FieldError>),
    #[error(transparent)]
    Storage(#[from] PortError),
}

/// The response body of `POST /v1/forms`, the same on 201 and on 200.
#[derive(Debug, Clone, Serialize)]
pub struct IssuedForm {
    pub form_id: String,
    pub expires_at: DateTime<Utc>,
    pub status: FormStatus,
    /// `sent`, `pending` (the mail service is busy: CSQ retries by itself) or
    /// `rejected` (the address was refused for good).
    pub invitation: InvitationState,
    pub subjects: Vec<SubjectView>,
    /// Codes the org directory does not know: accepted, flagged for the directory's keepers.
    pub unknown_units: Vec<String>,
    /// The form's signed rating link, for the declaration software to open or show
    /// in its own screen (the same link the invitation carries).
    pub rating_url: String,
    /// An SVG QR code of `rating_url`, for a screen or a printed slip.
    pub qr_url: String,
}

impl IssuedForm {
    pub fn new(f: &Form, settings: &super::Settings) -> Self {
        let token = settings.link_keys.sign(&f.id, f.expires_at);
        IssuedForm {
            form_id: f.id.clone(),
            expires_at: f.expires_at,
            status: f.status,
            invitation: f.invitation_state(),
            subjects: f.subjects.iter().map(SubjectView::from).collect(),
            unknown_units: f.unknown_units.clone(),
            rating_url: settings.form_link(&token),
            qr_url: settings.qr_link(&token),
        }
    }
}

#[derive(Debug)]
pub struct IssueOutcome {
    /// False when this declaration already had a form.
    pub created: bool,
    pub form: Form,
}

/// How long one caller may hold the right to send a form's invitation before
/// another attempt may take over (a crashed sender must not block it forever).
const INVITATION_LEASE: chrono::Duration = chrono::Duration::seconds(60);

impl Csq {
    /// Stores the form once per declaration and sends its invitation once. A mail
    /// service that is busy or refuses does not fail the call: the declaration
    /// system's job is done once the form is stored, and CSQ retries by itself.
    pub async fn issue_form(&self, body: &Value) -> Result<IssueOutcome, IssueError> {
        let request = FormRequest::parse(body).map_err(IssueError::Invalid)?;
        let now = self.clock.now();
        let current = self.current_org().await?;
        let unknown_units = current
            .as_ref()
            .map(|(_, o)| unknown_units(o, &request))
            .unwrap_or_default();
        // Whole seconds: the expiry travels in the signed link as a Unix timestamp.
        let expires_at =
            DateTime::from_timestamp((now + self.settings.form_ttl).timestamp(), 0).unwrap_or(now);
        let mut form = Form::new(
            uuid::Uuid::new_v4().simple().to_string(),
            request,
            now,
            expires_at,
            now + self.settings.personal_data_retention,
            unknown_units,
        );
        if let Some((version, org)) = &current {
            form.place_in_org(org, (*version > 0).then_some(*version));
        }
        let (created, mut form) = match self.forms.insert_form(&form).await? {
            InsertFormOutcome::Created => (true, form),
            InsertFormOutcome::Exists(existing) => (false, *existing),
        };
        if form.awaits_invitation()
            && let Some(result) = self.send_invitation(&form).await?
        {
            form.finish_invitation(&result);
        }
        tracing::info!(form_id = %form.id, created, invitation = ?form.invitation_state(), "form issued");
        Ok(IssueOutcome { created, form })
    }

    /// Sends the invitation once: a lease on the form decides who sends, so two
    /// concurrent requests for one declaration send one email. Returns what
    /// happened, or None when someone else holds the lease.
    async fn send_invitation(&self, form: &Form) -> Result<Option<InvitationResult>, PortError> {
        let now = self.clock.now();
        if !self
            .forms
            .claim_invitation(&form.id, now, now + INVITATION_LEASE)
            .await?
        {
            return Ok(None);
        }
        let result = match self.suppression_of(form.business.email.as_str()).await? {
            Some(reason) => {
                tracing::info!(form_id = %form.id, reason = reason.code(), "invitation not sent: address suppressed");
                InvitationResult::Suppressed(reason)
            }
            None => self.mail_invitation(form).await,
        };
        self.forms
            .finish_invitation(&form.id, result.clone())
            .await?;
        Ok(Some(result))
    }

    /// Why invitations and reminders to `address` are not sent, if they are not.
    pub async fn suppression_of(
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
        let link = self
            .settings
            .form_link(&self.settings.link_keys.sign(&form.id, form.expires_at));
        let unsubscribe = self.settings.unsubscribe_link(form);
        match self
            .mailer
            .send(&emails::invitation(form, &link, &unsubscribe))
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
    pub async fn send_pending_invitations(&self) -> Result<usize, PortError> {
        let mut sent = 0;
        for form in self.forms.pending_invitations(100).await? {
            if let Some(InvitationResult::Sent(_)) = self.send_invitation(&form).await? {
                sent += 1;
            }
        }
        Ok(sent)
    }
}

/// Office and team codes of a request that the directory does not know. A
/// retired unit counts as known: a merged office's complaints follow its successor.
fn unknown_units(org: &OrgDirectory, request: &FormRequest) -> Vec<String> {
    let office = request.declaration.customs_office.as_str();
    let mut unknown = Vec::new();
    if org.unit(office).is_none() {
        unknown.push(office.to_owned());
    }
    for h in &request.handling {
        let team = h.team.as_str();
        if org.unit(team).is_none() && !unknown.iter().any(|u| u == team) {
            unknown.push(team.to_owned());
        }
    }
    if !unknown.is_empty() {
        tracing::warn!(?unknown, "declaration names units not in the org directory");
    }
    unknown
}
