//! Staff sign-in on one machine without an identity provider: a one-time code
//! mailed to an address the directory names, then a session. An address the
//! directory does not name gets the same answer (and the same limits), so the
//! form tells no one who works here. Sign-ins, failed attempts and sign-outs
//! go to the audit log.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Directory, Settings, emails};
use crate::auth::random_secret;
use crate::domain::audit::AuditEntry;
use crate::domain::fields::EmailAddress;
use crate::domain::sign_in::{CodeCheck, SignInCode, StaffSession, new_code, secret_hash};
use crate::policy::{RoleView, grants};
use crate::ports::{AuditLog, Clock, Mailer, PortError, StaffSessions, Store};

#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("the email address is not valid: {0}")]
    BadAddress(String),
    #[error("too many codes for this address: wait a quarter of an hour")]
    TooMany,
    #[error("the code is wrong, used or expired: ask for a new one")]
    WrongCode,
    #[error(transparent)]
    Storage(#[from] PortError),
}

/// What the console learns of its own session: no token (the cookie holds
/// it, out of the page's reach), the CSRF token every write sends back.
#[derive(Debug, Clone, Serialize)]
pub struct SessionView {
    pub email: String,
    pub name: Option<String>,
    /// Each role the directory in force gives, the widest first.
    pub roles: Vec<RoleView>,
    pub ends_at: DateTime<Utc>,
    pub csrf: String,
}

/// A session just started: its token goes into the cookie only.
pub struct Started {
    pub token: String,
    pub view: SessionView,
}

#[derive(Clone)]
pub struct SignIn {
    sessions: Arc<dyn StaffSessions>,
    audit: Arc<dyn AuditLog>,
    mailer: Arc<dyn Mailer>,
    directory: Directory,
    clock: Arc<dyn Clock>,
    settings: Arc<Settings>,
}

/// The CSRF token of a session is bound to it (the page of `id` in the link keys' terms).
const CSRF_PAGE: &str = "staff-session";

impl SignIn {
    pub fn new(
        store: &Arc<dyn Store>,
        sessions: Arc<dyn StaffSessions>,
        mailer: Arc<dyn Mailer>,
        clock: Arc<dyn Clock>,
        settings: Arc<Settings>,
    ) -> SignIn {
        SignIn {
            sessions,
            audit: store.clone(),
            mailer,
            directory: Directory::new(store, clock.clone()),
            clock,
            settings,
        }
    }

    /// Sends a code to `email` if the directory names it. Ok whether it does
    /// or not; refused only for a malformed address or too many codes.
    #[tracing::instrument(name = "send_sign_in_code", skip_all)]
    pub async fn send_code(&self, email: &str) -> Result<(), SignInError> {
        let email = EmailAddress::parse(email).map_err(SignInError::BadAddress)?;
        let now = self.clock.now();
        let key = secret_hash("address", &email.as_str().to_lowercase());
        let code = new_code();
        let previous = self.sessions.sign_in_code(&key).await?;
        let issued =
            SignInCode::issue(&key, &code, previous.as_ref(), now).ok_or(SignInError::TooMany)?;
        if !self.sessions.put_sign_in_code(&issued).await? {
            // Another request for the same address won the race: one code.
            return Err(SignInError::TooMany);
        }
        let org = self.directory.current_org().await?.map(|(_, o)| o);
        let named = org.as_ref().and_then(|o| name_of(o, email.as_str()));
        if let Some(name) = named {
            let mail = emails::sign_in_code(
                &name,
                email.as_str(),
                &code,
                &format!("{}/dashboard", self.settings.staff_url),
            );
            // Sent apart from the answer, so its time tells nothing either.
            let mailer = self.mailer.clone();
            tokio::spawn(async move {
                if let Err(e) = mailer.send(&mail).await {
                    tracing::warn!(error = %e, "sign-in code not sent");
                }
            });
        }
        Ok(())
    }

    /// Checks a code; a right one for a person the directory names starts a session.
    #[tracing::instrument(name = "verify_sign_in_code", skip_all)]
    pub async fn verify_code(&self, email: &str, code: &str) -> Result<Started, SignInError> {
        let email = EmailAddress::parse(email).map_err(SignInError::BadAddress)?;
        let email = email.as_str().to_lowercase();
        let now = self.clock.now();
        let key = secret_hash("address", &email);
        let answer = match self.sessions.sign_in_code(&key).await? {
            Some(stored) => {
                let (answer, after) = stored.check(code, now);
                // The try counts before it is answered: concurrent guesses
                // each spend one.
                if self.sessions.put_sign_in_code(&after).await? {
                    answer
                } else {
                    CodeCheck::Dead
                }
            }
            None => CodeCheck::Dead,
        };
        let org = self.directory.current_org().await?.map(|(_, o)| o);
        let named = org.as_ref().is_some_and(|o| !grants(o, &email).is_empty());
        if answer != CodeCheck::Accepted || !named {
            self.record(&email, "sign-in-failed", now).await?;
            return Err(SignInError::WrongCode);
        }
        let token = random_secret(32);
        let session = StaffSession::start(&token, &email, now);
        self.sessions.put_session(&session).await?;
        self.record(&email, "sign-in", now).await?;
        tracing::info!("staff signed in");
        let view = self.view(&token, &session).await?;
        Ok(Started { token, view })
    }

    /// The person a session token stands for, while the session lives (its
    /// idle clock restarts). None: no such session, or it ended.
    pub async fn person(&self, token: &str) -> Result<Option<StaffSession>, PortError> {
        let hash = secret_hash("session", token);
        let Some(mut session) = self.sessions.session(&hash).await? else {
            return Ok(None);
        };
        let now = self.clock.now();
        if !session.is_live(now) {
            self.sessions.end_session(&hash).await?;
            return Ok(None);
        }
        if session.needs_touch(now) {
            session.last_seen = now;
            self.sessions.put_session(&session).await?;
        }
        Ok(Some(session))
    }

    /// What the console shows of its session.
    pub async fn session_view(&self, token: &str) -> Result<Option<SessionView>, PortError> {
        match self.person(token).await? {
            Some(session) => Ok(Some(self.view(token, &session).await?)),
            None => Ok(None),
        }
    }

    /// Whether a write carries its session's CSRF token.
    pub async fn csrf_ok(&self, token: &str, given: &str) -> bool {
        self.settings
            .link_keys
            .csrf_ok(CSRF_PAGE, token, given)
            .await
    }

    #[tracing::instrument(name = "sign_out", skip_all)]
    pub async fn sign_out(&self, token: &str) -> Result<(), PortError> {
        let hash = secret_hash("session", token);
        if let Some(session) = self.sessions.session(&hash).await? {
            self.sessions.end_session(&hash).await?;
            self.record(&session.email, "sign-out", self.clock.now())
                .await?;
        }
        Ok(())
    }

    /// Drops ended sessions and spent codes (the local host's nightly run).
    pub async fn drop_ended(&self) -> Result<u64, PortError> {
        self.sessions.drop_ended_sign_ins(self.clock.now()).await
    }

    async fn view(&self, token: &str, session: &StaffSession) -> Result<SessionView, PortError> {
        let org = self.directory.current_org().await?.map(|(_, o)| o);
        let roles = org
            .as_ref()
            .map(|o| {
                grants(o, &session.email)
                    .iter()
                    .map(|g| RoleView::for_person(o, &session.email, g))
                    .collect()
            })
            .unwrap_or_default();
        Ok(SessionView {
            email: session.email.clone(),
            name: org.as_ref().and_then(|o| name_of(o, &session.email)),
            roles,
            ends_at: session.ends_at(),
            csrf: self.settings.link_keys.csrf_token(CSRF_PAGE, token),
        })
    }

    async fn record(&self, email: &str, what: &str, now: DateTime<Utc>) -> Result<(), PortError> {
        self.audit
            .record(&AuditEntry::step(
                email,
                what,
                vec![],
                now,
                self.settings.audit_retention,
            ))
            .await
    }
}

/// The name the directory gives the person at `email`, if it names them.
pub fn name_of(org: &crate::domain::org::OrgDirectory, email: &str) -> Option<String> {
    if grants(org, email).is_empty() {
        return None;
    }
    let is = |e: &str| e.trim().eq_ignore_ascii_case(email.trim());
    org.administrators
        .iter()
        .chain(
            org.units
                .iter()
                .flat_map(|u| u.head.iter().chain(&u.handlers)),
        )
        .find(|h| is(&h.email))
        .map(|h| h.name.clone())
        .or_else(|| {
            org.units
                .iter()
                .flat_map(|u| &u.officers)
                .find(|o| is(&o.email))
                .map(|o| o.name.clone())
        })
}
