//! Issuing a form: the integration API's use case.

use chrono::{DateTime, Utc};
use serde::Serialize;

use std::sync::Arc;

use super::invitations::Invitations;
use super::{Directory, Publisher, Settings};
use crate::domain::declaration::{Declaration, FormRequest, Handling};
use crate::domain::form::{
    AddHandlingRefused, Form, FormStatus, InvitationState, LaterHandling, derive_subjects,
};
use crate::domain::org::OrgDirectory;
use crate::policy::SubjectView;
use crate::ports::{
    AddHandlingOutcome, Clock, EventPublisher, FormStore, InsertFormOutcome, Mailer, PortError,
    Store, TimesStore,
};

#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// Service times sent with the form are wrong (each field named): nothing is stored.
    #[error("the service times have invalid fields")]
    InvalidTimes(Vec<crate::domain::fields::FieldError>),
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

/// Forms for declarations: issued once per declaration (and a follow-up per
/// later stage after submission), each invited once by email.
#[derive(Clone)]
pub struct Issuance {
    pub(super) forms: Arc<dyn FormStore>,
    pub(super) times: Arc<dyn TimesStore>,
    pub(super) invitations: Invitations,
    pub(super) directory: Directory,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) settings: Arc<Settings>,
}

impl Issuance {
    pub fn new(
        store: &Arc<dyn Store>,
        mailer: Arc<dyn Mailer>,
        events: Arc<dyn EventPublisher>,
        clock: Arc<dyn Clock>,
        settings: Arc<Settings>,
    ) -> Issuance {
        Issuance {
            forms: store.clone(),
            times: store.clone(),
            invitations: Invitations::new(
                store,
                mailer,
                Publisher::new(store, events),
                clock.clone(),
                settings.clone(),
            ),
            directory: Directory::new(store, clock.clone()),
            clock,
            settings,
        }
    }

    /// The answer the declaration system gets for a form: its state and links.
    pub fn issued_form(&self, form: &Form) -> IssuedForm {
        IssuedForm::new(form, &self.settings)
    }
}

impl IssuedForm {
    fn new(f: &Form, settings: &super::Settings) -> Self {
        let rating_url = settings.rating_link(f);
        IssuedForm {
            form_id: f.id.clone(),
            expires_at: f.expires_at,
            status: f.status,
            invitation: f.invitation_state(),
            subjects: f.subjects.iter().map(SubjectView::from).collect(),
            unknown_units: f.unknown_units.clone(),
            qr_url: super::Settings::qr_link(&rating_url),
            rating_url,
        }
    }
}

#[derive(Debug)]
pub struct IssueOutcome {
    /// False when this declaration already had a form.
    pub created: bool,
    pub form: Form,
}

impl Issuance {
    /// Stores the form once per declaration and sends its invitation once. A mail
    /// service that is busy or refuses does not fail the call: the declaration
    /// system's job is done once the form is stored, and CSQ retries by itself.
    #[tracing::instrument(name = "issue_form", skip_all)]
    pub async fn issue_form(&self, request: FormRequest) -> Result<IssueOutcome, IssueError> {
        let now = self.clock.now();
        let times = request.times.clone();
        let current = self.directory.current_org().await?;
        let form = self.new_form(request, now, current.as_ref())?;
        let (created, form) = self.store_and_invite(form).await?;
        if !times.is_empty() {
            self.store_times(&form, &times).await?;
        }
        Ok(IssueOutcome { created, form })
    }

    /// The form a request makes at `now` under the directory in force (its
    /// version and tree), not yet stored: its times checked, its units placed
    /// in the tree, its limits set. A bulk load of test records writes what
    /// this returns through the store.
    pub fn new_form(
        &self,
        request: FormRequest,
        now: DateTime<Utc>,
        current: Option<&(u32, OrgDirectory)>,
    ) -> Result<Form, IssueError> {
        let problems = request.times.check(request.declaration.registered_at, now);
        if !problems.is_empty() {
            return Err(IssueError::InvalidTimes(problems));
        }
        let unknown_units = current
            .as_ref()
            .map(|(_, o)| unknown_units(o, &request.declaration, &request.handling))
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
        if let Some((version, org)) = current {
            form.place_in_org(org, (*version > 0).then_some(*version));
        }
        Ok(form)
    }

    /// Stores a form once per declaration key and sends its invitation once
    /// (which tells other systems about the new form). True if this call
    /// created it. A new form is stored already leased to this call, so its invitation
    /// costs two writes of the form (stored, then the outcome), not three.
    async fn store_and_invite(&self, mut form: Form) -> Result<(bool, Form), PortError> {
        let leased = self.invitations.lease_new_form(&mut form);
        let (created, mut form) = match self.forms.insert_form(&form).await? {
            InsertFormOutcome::Created => (true, form),
            InsertFormOutcome::Exists(existing) => (false, *existing),
        };
        let result = if created && leased {
            Some(self.invitations.send_leased_invitation(&form).await?)
        } else if form.awaits_invitation() {
            self.invitations.send_invitation(&form).await?
        } else {
            None
        };
        if let Some(result) = result {
            // This copy answers the caller; the stored form and its event
            // were written by the store.
            let _ = form.finish_invitation(&result);
        }
        tracing::info!(form_id = %form.id, created, sequence = form.sequence, invitation = ?form.invitation_state(), "form issued");
        Ok((created, form))
    }
}

/// The most forms one declaration may have (its first and follow-ups): the
/// walk over them is bounded, and a real declaration has few stages.
pub const MAX_FORMS_PER_DECLARATION: u32 = 10;

#[derive(Debug, thiserror::Error)]
pub enum LaterHandlingError {
    #[error("no form was issued for this declaration")]
    NoForm,
    #[error("the declaration has too many forms or handling records")]
    TooMany,
    #[error(transparent)]
    Storage(#[from] PortError),
}

/// Where later stages went.
#[derive(Debug)]
pub enum LaterHandlingOutcome {
    /// Onto the declaration's first form, which the business has not submitted.
    Added { form: Form, added: usize },
    /// The first form was submitted (or closed): the stages are on a follow-up
    /// form, emailed once (None: every stage was on the forms already).
    FollowUp {
        first: Box<Form>,
        follow_up: Option<Form>,
    },
}

impl Issuance {
    /// Adds stages handled after the form was issued. On a form the business
    /// has not submitted they join it (the page shows them at once); once it is
    /// submitted or closed they go to a follow-up form with its own invitation.
    /// Idempotent per stage and officer across all the declaration's forms.
    #[tracing::instrument(name = "add_later_handling", skip_all)]
    pub async fn add_later_handling(
        &self,
        number: &str,
        handling: Vec<Handling>,
    ) -> Result<LaterHandlingOutcome, LaterHandlingError> {
        let now = self.clock.now();
        let current = self.directory.current_org().await?;
        let org = current.as_ref().map(|(_, o)| o);
        let version = current.as_ref().map(|(v, _)| *v).filter(|v| *v > 0);
        let mut remaining = handling;
        let mut first: Option<Form> = None;
        let mut last_follow_up: Option<Form> = None;
        for sequence in 1..=MAX_FORMS_PER_DECLARATION {
            let key = crate::domain::form::declaration_key(number, sequence);
            let Some(form) = self.forms.form_of_declaration(&key).await? else {
                let Some(previous) = last_follow_up.as_ref().or(first.as_ref()) else {
                    return Err(LaterHandlingError::NoForm);
                };
                if remaining.is_empty() {
                    break;
                }
                let follow_up = self
                    .issue_follow_up(previous, remaining.clone(), org.map(|o| (o, version)))
                    .await?;
                let first = first.expect("a first form before any follow-up");
                return Ok(LaterHandlingOutcome::FollowUp {
                    first: Box::new(first),
                    follow_up: Some(follow_up),
                });
            };
            remaining = form.handling_not_on(&remaining);
            if form.is_open_at(now) && !remaining.is_empty() {
                let later = later_handling(&form, &remaining, org);
                match self.forms.add_handling(&form.id, &later, now).await? {
                    AddHandlingOutcome::Added { added, form } => {
                        return Ok(match first {
                            None => LaterHandlingOutcome::Added { form: *form, added },
                            Some(first) => LaterHandlingOutcome::FollowUp {
                                first: Box::new(first),
                                follow_up: Some(*form),
                            },
                        });
                    }
                    AddHandlingOutcome::Refused(AddHandlingRefused::TooMany) => {
                        return Err(LaterHandlingError::TooMany);
                    }
                    // Submitted or closed meanwhile: the stages go further on.
                    AddHandlingOutcome::Refused(_) | AddHandlingOutcome::NotFound => {}
                }
            }
            if sequence == 1 {
                first = Some(form);
            } else {
                last_follow_up = Some(form);
            }
        }
        match first {
            // Every stage is on the forms already: a repeated call.
            Some(first) if remaining.is_empty() => Ok(if first.is_open_at(now) {
                LaterHandlingOutcome::Added {
                    form: first,
                    added: 0,
                }
            } else {
                LaterHandlingOutcome::FollowUp {
                    first: Box::new(first),
                    follow_up: last_follow_up,
                }
            }),
            Some(_) => Err(LaterHandlingError::TooMany),
            None => Err(LaterHandlingError::NoForm),
        }
    }

    /// Stores the follow-up form after `previous` (once: a concurrent call gets
    /// the same form) and sends its invitation once.
    async fn issue_follow_up(
        &self,
        previous: &Form,
        handling: Vec<Handling>,
        org: Option<(&OrgDirectory, Option<u32>)>,
    ) -> Result<Form, PortError> {
        let now = self.clock.now();
        let expires_at =
            DateTime::from_timestamp((now + self.settings.form_ttl).timestamp(), 0).unwrap_or(now);
        let mut form = previous.follow_up(
            uuid::Uuid::new_v4().simple().to_string(),
            handling,
            now,
            expires_at,
            now + self.settings.personal_data_retention,
        );
        if let Some((org, version)) = org {
            form.unknown_units = unknown_units(org, &form.declaration, &form.handling);
            form.place_in_org(org, version);
        }
        Ok(self.store_and_invite(form).await?.1)
    }
}

/// The later stages' records with their subjects, placed in the directory.
fn later_handling(form: &Form, handling: &[Handling], org: Option<&OrgDirectory>) -> LaterHandling {
    let mut subjects = derive_subjects(&form.declaration, handling);
    subjects.retain(|s| form.subject(&s.key).is_none());
    if let Some(org) = org {
        for s in &mut subjects {
            s.place_in_org(org);
        }
    }
    LaterHandling {
        handling: handling.to_vec(),
        subjects,
        unknown_units: org
            .map(|o| unknown_units(o, &form.declaration, handling))
            .unwrap_or_default(),
    }
}

/// Office and team codes of a request that the directory does not know. A
/// retired unit counts as known: a merged office's complaints follow its successor.
fn unknown_units(
    org: &OrgDirectory,
    declaration: &Declaration,
    handling: &[Handling],
) -> Vec<String> {
    let office = declaration.customs_office.as_str();
    let mut unknown = Vec::new();
    if org.unit(office).is_none() {
        unknown.push(office.to_owned());
    }
    for h in handling {
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
