//! The business side: opening a form from its link and submitting it once.

use std::sync::Arc;

use super::{Publisher, Settings};
use crate::domain::complaint::Complaint;
use crate::domain::fields::FieldError;
use crate::domain::form::{Channel, Form, FormStatus, Submission};
use crate::domain::kiosk::Kiosk;
use crate::domain::submission::parse_submission;
use crate::ports::{
    Clock, ComplaintQueue, EventPublisher, FormStore, KioskRegistry, PortError, Store,
    SubmissionWrite, SubmitOutcome, SuppressionList,
};

/// Why a link cannot be used; each has its own page (404 / 410 / 409).
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("the link is not valid")]
    NotFound,
    #[error("the form has expired")]
    Expired(Box<Form>),
    #[error("the form was already submitted")]
    AlreadySubmitted(Box<Form>),
    #[error(transparent)]
    Storage(#[from] PortError),
}

#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error(transparent)]
    Link(#[from] LinkError),
    #[error("the submission has invalid fields")]
    Invalid {
        form: Box<Form>,
        errors: Vec<FieldError>,
    },
}

/// Why a counter tablet did not open a declaration's form. Each but the
/// first names the tablet, whose start screen says what went wrong.
#[derive(Debug, thiserror::Error)]
pub enum KioskOpenError {
    #[error("the tablet is not registered, or was revoked")]
    NotRegistered,
    #[error("a declaration number has 12 digits")]
    BadNumber(Box<Kiosk>),
    #[error("the declaration has no form open for rating")]
    NoOpenForm(Box<Kiosk>),
    #[error("the declaration is not of the tablet's office")]
    OtherOffice(Box<Kiosk>),
    #[error(transparent)]
    Storage(#[from] PortError),
}

impl From<PortError> for SubmitError {
    fn from(e: PortError) -> Self {
        SubmitError::Link(LinkError::Storage(e))
    }
}

/// The business's side: the form from its link, the review, the submission
/// (stored once, its complaint handed to the queue) and the opt-out link.
#[derive(Clone)]
pub struct Rating {
    pub(super) forms: Arc<dyn FormStore>,
    pub(super) suppressions: Arc<dyn SuppressionList>,
    pub(super) kiosks: Arc<dyn KioskRegistry>,
    pub(super) queue: Arc<dyn ComplaintQueue>,
    pub(super) events: Publisher,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) settings: Arc<Settings>,
}

impl Rating {
    pub fn new(
        store: &Arc<dyn Store>,
        queue: Arc<dyn ComplaintQueue>,
        events: Arc<dyn EventPublisher>,
        clock: Arc<dyn Clock>,
        settings: Arc<Settings>,
    ) -> Rating {
        Rating {
            forms: store.clone(),
            suppressions: store.clone(),
            kiosks: store.clone(),
            queue,
            events: Publisher::new(store, events),
            clock,
            settings,
        }
    }

    /// The signed token of a form's rating link (what `/f/{token}` takes).
    pub fn rating_token(&self, form: &Form) -> String {
        self.settings.link_keys.sign(&form.id, form.expires_at)
    }

    /// A form's rating link, as its invitation carries it.
    pub fn rating_link(&self, form: &Form) -> String {
        self.settings.rating_link(form)
    }

    /// Resolves a link to a form that can still be rated. Records nothing: mail
    /// scanners open links too.
    #[tracing::instrument(name = "open_form", skip_all)]
    pub async fn open_form(&self, token: &str) -> Result<Form, LinkError> {
        let link = self
            .settings
            .link_keys
            .verify(token)
            .await
            .map_err(|_| LinkError::NotFound)?;
        let form = self
            .forms
            .form(&link.form_id)
            .await?
            .ok_or(LinkError::NotFound)?;
        match form.status {
            FormStatus::Submitted => Err(LinkError::AlreadySubmitted(Box::new(form))),
            _ if form.is_expired_at(self.clock.now()) || self.clock.now() >= link.expires_at => {
                Err(LinkError::Expired(Box::new(form)))
            }
            _ => Ok(form),
        }
    }

    /// Checks what the business entered without storing it (the review step).
    pub async fn review_submission(
        &self,
        token: &str,
        fields: &[(String, String)],
    ) -> Result<(Form, Submission), SubmitError> {
        let form = self.open_form(token).await?;
        match parse_submission(&form, fields) {
            Ok(s) => Ok((form, s)),
            Err(errors) => Err(SubmitError::Invalid {
                form: Box::new(form),
                errors,
            }),
        }
    }

    /// The registered, unrevoked tablet a credential belongs to.
    pub async fn kiosk_by_credential(&self, credential: &str) -> Result<Option<Kiosk>, PortError> {
        let Some(id) = Kiosk::id_of(credential) else {
            return Ok(None);
        };
        Ok(self
            .kiosks
            .kiosk(id)
            .await?
            .filter(|k| k.accepts(credential)))
    }

    /// The rating link of the declaration's form open for rating (its latest
    /// follow-up first), for the tablet holding `credential`; only a
    /// declaration of the tablet's office opens. Records nothing.
    #[tracing::instrument(name = "open_at_kiosk", skip_all)]
    pub async fn open_at_kiosk(
        &self,
        credential: &str,
        number: &str,
    ) -> Result<String, KioskOpenError> {
        let kiosk = self
            .kiosk_by_credential(credential)
            .await?
            .ok_or(KioskOpenError::NotRegistered)?;
        let Ok(number) = crate::domain::fields::DeclarationNumber::parse(number.trim()) else {
            return Err(KioskOpenError::BadNumber(Box::new(kiosk)));
        };
        let forms = super::forms_of_declaration(self.forms.as_ref(), number.as_str()).await?;
        // Another office's declaration is refused before anything of its
        // forms (open or not) is told.
        if !forms.iter().all(|f| kiosk.may_open(f)) {
            return Err(KioskOpenError::OtherOffice(Box::new(kiosk)));
        }
        let now = self.clock.now();
        let open = forms
            .into_iter()
            .rfind(|f| f.status == FormStatus::Issued && !f.is_expired_at(now));
        let form = open.ok_or_else(|| KioskOpenError::NoOpenForm(Box::new(kiosk.clone())))?;
        tracing::info!(form_id = %form.id, kiosk = %kiosk.id, "form opened at a counter tablet");
        Ok(self.rating_token(&form))
    }

    /// Stores a submission exactly once. The complaint, if any, is written to the
    /// outbox in the same transaction, then handed to the queue; if the queue is
    /// unreachable, the outbox relay hands it over later.
    /// Returns the form and whether the submission made a complaint.
    #[tracing::instrument(name = "submit_form", skip_all)]
    /// `kiosk_credential`: what the browser holds as a counter tablet; the
    /// submission counts as the kiosk's only if it opens this form.
    pub async fn submit_form(
        &self,
        token: &str,
        fields: &[(String, String)],
        kiosk_credential: Option<&str>,
    ) -> Result<(Form, bool), SubmitError> {
        let (form, mut submission) = self.review_submission(token, fields).await?;
        let via = fields
            .iter()
            .find(|(k, _)| k == "via")
            .map(|(_, v)| v.as_str());
        if via == Some(Channel::Kiosk.code())
            && let Some(credential) = kiosk_credential
            && self
                .kiosk_by_credential(credential)
                .await?
                .is_some_and(|k| k.may_open(&form))
        {
            submission.channel = Some(Channel::recorded(via, true));
        }
        let write = SubmissionWrite::new(&form, submission, self.clock.now());
        let (complaint, submitted) = (write.complaint.clone(), write.events.clone());
        match self.forms.submit(&write).await? {
            SubmitOutcome::Stored => {}
            SubmitOutcome::AlreadySubmitted => {
                return Err(LinkError::AlreadySubmitted(Box::new(form)).into());
            }
            SubmitOutcome::Expired => return Err(LinkError::Expired(Box::new(form)).into()),
            SubmitOutcome::NotFound => return Err(LinkError::NotFound.into()),
        }
        tracing::info!(form_id = %form.id, complaint = complaint.is_some(), "form submitted");
        self.events.publish(submitted).await;
        if let Some(c) = &complaint {
            dispatch_complaint(self.forms.as_ref(), self.queue.as_ref(), c).await;
        }
        Ok((form, complaint.is_some()))
    }
}

/// Hands a complaint from the outbox to the queue. Failure is not the
/// business's problem: the relay retries, and the router ignores duplicates.
pub(crate) async fn dispatch_complaint(
    forms: &dyn FormStore,
    queue: &dyn ComplaintQueue,
    complaint: &Complaint,
) -> bool {
    match queue.enqueue(complaint).await {
        Ok(()) => {
            if let Err(e) = forms.complaint_dispatched(&complaint.id).await {
                tracing::warn!(complaint_id = %complaint.id, error = %e, "complaint queued but still in outbox; the relay will resend it");
            }
            true
        }
        Err(e) => {
            tracing::warn!(complaint_id = %complaint.id, error = %e, "complaint left in outbox for the relay");
            false
        }
    }
}
