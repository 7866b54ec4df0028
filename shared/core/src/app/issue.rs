//! Issuing a form: the integration API's use case.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use super::Csq;
use super::emails;
use crate::domain::declaration::FormRequest;
use crate::domain::fields::FieldError;
use crate::domain::form::{Form, FormStatus, Subject};
use crate::ports::{InsertFormOutcome, MailError, PortError};

#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    #[error("the request has {} invalid field(s)", .0.len())]
    Invalid(Vec<FieldError>),
    #[error(transparent)]
    Storage(#[from] PortError),
    /// The form is stored; the email is not sent yet. A retry of the same request
    /// sends it (and creates nothing new).
    #[error("the form was stored but its email could not be sent: {0}")]
    Mail(#[source] MailError),
}

/// The response body of `POST /v1/forms`, the same on 201 and on 200.
#[derive(Debug, Clone, Serialize)]
pub struct IssuedForm {
    pub form_id: String,
    pub expires_at: DateTime<Utc>,
    pub status: FormStatus,
    pub subjects: Vec<Subject>,
    /// Codes the org directory does not know: accepted, flagged for the directory's keepers.
    pub unknown_units: Vec<String>,
}

impl From<&Form> for IssuedForm {
    fn from(f: &Form) -> Self {
        IssuedForm {
            form_id: f.id.clone(),
            expires_at: f.expires_at,
            status: f.status,
            subjects: f.subjects.clone(),
            unknown_units: f.unknown_units.clone(),
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
    pub async fn issue_form(&self, body: &Value) -> Result<IssueOutcome, IssueError> {
        let request = FormRequest::parse(body).map_err(IssueError::Invalid)?;
        let now = self.clock.now();
        let unknown_units = self.unknown_units(&request).await?;
        // Whole seconds: the expiry travels in the signed link as a Unix timestamp.
        let expires_at =
            DateTime::from_timestamp((now + self.settings.form_ttl).timestamp(), 0).unwrap_or(now);
        let form = Form::new(
            uuid::Uuid::new_v4().simple().to_string(),
            request,
            now,
            expires_at,
            now + self.settings.personal_data_retention,
            unknown_units,
        );
        let (created, form) = match self.forms.insert_form(&form).await? {
            InsertFormOutcome::Created => (true, form),
            InsertFormOutcome::Exists(existing) => (false, *existing),
        };
        if form.email_sent_at.is_none() && form.status == FormStatus::Issued {
            self.send_invitation(&form).await?;
        }
        tracing::info!(form_id = %form.id, created, "form issued");
        Ok(IssueOutcome { created, form })
    }

    async fn unknown_units(&self, request: &FormRequest) -> Result<Vec<String>, PortError> {
        let Some(org) = self.org.org().await? else {
            return Ok(Vec::new());
        };
        let branch = request.declaration.customs_office.as_str();
        let mut unknown = Vec::new();
        if org.branch(branch).is_none() {
            unknown.push(branch.to_owned());
        }
        for h in &request.handling {
            let team = h.team.as_str();
            if !org.has_team(branch, team) && !unknown.iter().any(|u| u == team) {
                unknown.push(team.to_owned());
            }
        }
        if !unknown.is_empty() {
            tracing::warn!(?unknown, "declaration names units not in the org directory");
        }
        Ok(unknown)
    }

    /// Sends the invitation once: a lease on the form decides who sends, so two
    /// concurrent requests for one declaration send one email.
    async fn send_invitation(&self, form: &Form) -> Result<(), IssueError> {
        let now = self.clock.now();
        if !self
            .forms
            .claim_invitation(&form.id, now, now + INVITATION_LEASE)
            .await?
        {
            return Ok(());
        }
        let link = self
            .settings
            .form_link(&self.settings.link_keys.sign(&form.id, form.expires_at));
        let email = emails::invitation(form, &link);
        match self.mailer.send(&email).await {
            Ok(message_id) => {
                self.forms
                    .finish_invitation(&form.id, Some(self.clock.now()))
                    .await?;
                tracing::info!(form_id = %form.id, %message_id, "invitation sent");
                Ok(())
            }
            Err(e) => {
                self.forms.finish_invitation(&form.id, None).await?;
                Err(IssueError::Mail(e))
            }
        }
    }
}
