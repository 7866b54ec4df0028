//! The retaliation watch's cases as the inspection unit handles them: listed
//! and read (each read audited), verified, resolved or dismissed with a note.
//! The department may read them too; nobody else may, and nothing about them
//! goes to a unit, an email, an event or a figure.

use std::sync::Arc;

use super::Settings;
use crate::auth::scope::Scope;
use crate::domain::audit::AuditEntry;
use crate::domain::watch::{WatchActionError, WatchCase};
use crate::policy::{Refusal, StaffRoute};
use crate::ports::{AuditLog, Clock, PortError, Store, WatchStore};

#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error("{0}")]
    Refused(Refusal),
    #[error("no such watch case")]
    NotFound,
    #[error(transparent)]
    Action(#[from] WatchActionError),
    #[error("the case changed meanwhile: read it again")]
    Conflict,
    #[error(transparent)]
    Storage(#[from] PortError),
}

impl From<Refusal> for WatchError {
    fn from(r: Refusal) -> Self {
        WatchError::Refused(r)
    }
}

#[derive(Clone)]
pub struct WatchCases {
    store: Arc<dyn WatchStore>,
    audit: Arc<dyn AuditLog>,
    clock: Arc<dyn Clock>,
    settings: Arc<Settings>,
}

impl WatchCases {
    pub fn new(store: &Arc<dyn Store>, clock: Arc<dyn Clock>, settings: Arc<Settings>) -> Self {
        WatchCases {
            store: store.clone(),
            audit: store.clone(),
            clock,
            settings,
        }
    }

    async fn audited(&self, who: &Scope, what: &str, ids: Vec<String>) -> Result<(), PortError> {
        self.audit
            .record(&AuditEntry::step(
                &who.who.sub,
                what,
                ids,
                self.clock.now(),
                self.settings.audit_retention,
            ))
            .await
    }

    /// The newest cases first; the read is audited.
    pub async fn list(&self, who: &Scope) -> Result<Vec<WatchCase>, WatchError> {
        who.may_use(StaffRoute::Watch)?;
        let cases = self.store.watch_cases().await?;
        self.audited(
            who,
            "watch-list",
            cases.iter().map(|c| c.id.clone()).collect(),
        )
        .await?;
        Ok(cases)
    }

    pub async fn read(&self, who: &Scope, id: &str) -> Result<WatchCase, WatchError> {
        who.may_use(StaffRoute::Watch)?;
        let case = self
            .store
            .watch_case(id)
            .await?
            .ok_or(WatchError::NotFound)?;
        self.audited(who, "watch-read", vec![case.id.clone()])
            .await?;
        Ok(case)
    }

    /// Verify, resolve or dismiss (a note with the last two), conditionally
    /// on the version read.
    pub async fn act(
        &self,
        who: &Scope,
        id: &str,
        action: &str,
        note: Option<&str>,
    ) -> Result<WatchCase, WatchError> {
        who.may_use(StaffRoute::Watch)?;
        let mut case = self
            .store
            .watch_case(id)
            .await?
            .ok_or(WatchError::NotFound)?;
        case.act(action, &who.who.sub, note, self.clock.now())?;
        if !self.store.save_watch_case(&case).await? {
            return Err(WatchError::Conflict);
        }
        self.audited(who, &format!("watch-{action}"), vec![case.id.clone()])
            .await?;
        Ok(case)
    }
}
