//! Service times from the declaration system: recorded with the form, with
//! later stages or on their own, whatever the form's state; they never open a
//! form or send an email.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::issue::Issuance;
use crate::domain::fields::FieldError;
use crate::domain::form::{Form, declaration_key};
use crate::domain::times::{DeclarationTimes, ReportedTimes};
use crate::ports::PortError;

#[derive(Debug, thiserror::Error)]
pub enum TimesError {
    #[error("no form was issued for this declaration")]
    NoForm,
    #[error("the times have invalid fields")]
    Invalid(Vec<FieldError>),
    #[error(transparent)]
    Storage(#[from] PortError),
}

/// What a times request changed.
#[derive(Debug, Clone, Serialize)]
pub struct TimesRecorded {
    /// False: everything reported was known already (a repeated delivery).
    pub changed: bool,
    /// Stages with times now on record for the declaration.
    pub stages_with_times: usize,
    pub released_at: Option<DateTime<Utc>>,
}

/// How many times a write may find the record changed under it and try again.
const SAVE_ATTEMPTS: usize = 5;

impl Issuance {
    /// Records the times of the declaration `number`, whose first form must
    /// exist: checked against its registration and the core's clock (every
    /// bad field named, nothing stored), then merged once per stage.
    #[tracing::instrument(name = "record_times", skip_all)]
    pub async fn record_times(
        &self,
        number: &str,
        reported: &ReportedTimes,
    ) -> Result<TimesRecorded, TimesError> {
        let first = self
            .forms
            .form_of_declaration(&declaration_key(number, 1))
            .await?
            .ok_or(TimesError::NoForm)?;
        let problems = reported.check(first.declaration.registered_at, self.clock.now());
        if !problems.is_empty() {
            return Err(TimesError::Invalid(problems));
        }
        Ok(self.store_times(&first, reported).await?)
    }

    /// Merges checked times into the declaration's record, conditionally on
    /// the version read (two requests at once both land).
    pub(crate) async fn store_times(
        &self,
        first: &Form,
        reported: &ReportedTimes,
    ) -> Result<TimesRecorded, PortError> {
        let number = first.declaration.number.as_str();
        for _ in 0..SAVE_ATTEMPTS {
            let now = self.clock.now();
            let mut times = match self.times.declaration_times(number).await? {
                Some(t) => t,
                None => DeclarationTimes::of(first, now),
            };
            let changed = times.merge(reported, now);
            if !changed || self.times.save_times(&times).await? {
                tracing::info!(declaration = number, changed, "service times recorded");
                return Ok(TimesRecorded {
                    changed,
                    stages_with_times: times.stages.len(),
                    released_at: times.released_at,
                });
            }
        }
        Err(PortError::new(
            "record times",
            std::io::Error::other("the record kept changing"),
        ))
    }
}
