//! How CSQ reaches people and systems, as the department manages it: the
//! suppression list (addresses that get no invitation) and, on one machine,
//! the webhooks that receive CSQ's events and their dead letters. The console
//! and the CLI both come here; every change, and every look-up of an address,
//! goes to the audit log with who did it.

use std::sync::Arc;

use super::Settings;
use crate::domain::audit::AuditEntry;
use crate::domain::fields::EmailAddress;
use crate::domain::kiosk::Kiosk;
use crate::domain::suppression::{Suppression, SuppressionReason, address_key};
use crate::domain::webhook::{Delivery, Webhook, WebhookUrlError};
use crate::ports::{
    AuditLog, Clock, KioskRegistry, PortError, Store, SuppressionList, WebhookRegistry,
};

/// The most dead letters one listing shows.
pub const DEAD_LETTER_PAGE: u32 = 200;

#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    #[error("{0:?} is not an email address")]
    NotAnAddress(String),
    #[error(transparent)]
    BadUrl(#[from] WebhookUrlError),
    #[error(
        "there are already {} webhooks: remove one first",
        crate::domain::webhook::MAX_WEBHOOKS
    )]
    TooManyWebhooks,
    /// This host sends no webhooks (on AWS, subscribers use the event bus).
    #[error(
        "webhooks are delivered by CSQ on one machine only; on AWS, subscribe with a rule on the stack's event bus"
    )]
    NoWebhooksHere,
    #[error("{0:?} is not a unit of the directory in force")]
    UnknownOffice(String),
    #[error(transparent)]
    KioskName(#[from] crate::domain::kiosk::KioskNameError),
    #[error(
        "there are already {} counter tablets: revoke one first",
        crate::domain::kiosk::MAX_KIOSKS
    )]
    TooManyKiosks,
    #[error(transparent)]
    Storage(#[from] PortError),
}

/// Where an address stands on the suppression list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressStanding {
    /// None: invitations and reminders go to it.
    pub suppressed: Option<Suppression>,
}

/// The suppression list and the webhooks, with their audit.
#[derive(Clone)]
pub struct Channels {
    pub(super) suppressions: Arc<dyn SuppressionList>,
    pub(super) webhooks: Option<Arc<dyn WebhookRegistry>>,
    pub(super) kiosks: Arc<dyn KioskRegistry>,
    pub(super) directory: super::Directory,
    pub(super) audit: Arc<dyn AuditLog>,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) settings: Arc<Settings>,
}

impl Channels {
    /// Without webhooks: add them with [`Channels::with_webhooks`] where the
    /// host delivers events itself.
    pub fn new(store: &Arc<dyn Store>, clock: Arc<dyn Clock>, settings: Arc<Settings>) -> Channels {
        Channels {
            suppressions: store.clone(),
            webhooks: None,
            kiosks: store.clone(),
            directory: super::Directory::new(store, clock.clone()),
            audit: store.clone(),
            clock,
            settings,
        }
    }

    pub fn with_webhooks(mut self, registry: Arc<dyn WebhookRegistry>) -> Channels {
        self.webhooks = Some(registry);
        self
    }

    /// Whether this host delivers webhooks (the console shows them only then).
    pub fn has_webhooks(&self) -> bool {
        self.webhooks.is_some()
    }

    /// Whether invitations go to `address`. The list holds only a keyed hash,
    /// so this is the one way to ask; the look-up is audited like any read of
    /// personal data.
    pub async fn standing_of(
        &self,
        by: &str,
        address: &str,
    ) -> Result<AddressStanding, ChannelError> {
        let key = key_of(address)?;
        self.record(by, "suppression-lookup", &key).await?;
        Ok(AddressStanding {
            suppressed: self.suppressions.suppressed(&key).await?,
        })
    }

    /// Sends no more invitations or reminders to `address` (forms are still
    /// issued). True when newly listed; listing it again changes nothing.
    pub async fn suppress(&self, by: &str, address: &str) -> Result<bool, ChannelError> {
        let key = key_of(address)?;
        let added = self
            .suppressions
            .suppress(&Suppression {
                key: key.clone(),
                reason: SuppressionReason::Staff,
                at: self.clock.now(),
            })
            .await?;
        if added {
            self.record(by, "suppression-added", &key).await?;
        }
        Ok(added)
    }

    /// Invitations go to `address` again (the business asked for them, or a
    /// bounce was mended). True when it was listed.
    pub async fn lift_suppression(&self, by: &str, address: &str) -> Result<bool, ChannelError> {
        let key = key_of(address)?;
        let lifted = self.suppressions.lift(&key).await?;
        if lifted {
            self.record(by, "suppression-lifted", &key).await?;
        }
        Ok(lifted)
    }

    fn registry(&self) -> Result<&Arc<dyn WebhookRegistry>, ChannelError> {
        self.webhooks.as_ref().ok_or(ChannelError::NoWebhooksHere)
    }

    /// Every receiver, oldest first.
    pub async fn webhooks(&self) -> Result<Vec<Webhook>, ChannelError> {
        Ok(self.registry()?.webhooks().await?)
    }

    /// Registers a receiver; the reply holds its secret, shown this once.
    pub async fn add_webhook(&self, by: &str, url: &str) -> Result<Webhook, ChannelError> {
        let registry = self.registry()?;
        let hook = Webhook::new(url, self.clock.now())?;
        if registry.webhooks().await?.len() >= crate::domain::webhook::MAX_WEBHOOKS {
            return Err(ChannelError::TooManyWebhooks);
        }
        registry.add_webhook(&hook).await?;
        self.record(by, "webhook-added", &hook.id).await?;
        Ok(hook)
    }

    /// Stops deliveries to a receiver. True if it existed.
    pub async fn remove_webhook(&self, by: &str, id: &str) -> Result<bool, ChannelError> {
        let removed = self.registry()?.remove_webhook(id).await?;
        if removed {
            self.record(by, "webhook-removed", id).await?;
        }
        Ok(removed)
    }

    /// Deliveries every attempt failed for, newest first.
    pub async fn dead_letters(&self) -> Result<Vec<Delivery>, ChannelError> {
        Ok(self.registry()?.dead_letters(DEAD_LETTER_PAGE).await?)
    }

    /// Sends one event again to every receiver, or every dead letter (a
    /// bounded batch). Returns how many deliveries were queued.
    pub async fn redeliver(&self, by: &str, event_id: Option<&str>) -> Result<usize, ChannelError> {
        let n = self.registry()?.redeliver(event_id).await?;
        if n > 0 {
            self.record(
                by,
                "webhooks-redelivered",
                event_id.unwrap_or("dead letters"),
            )
            .await?;
        }
        Ok(n)
    }

    /// Where a tablet starts: its credential is entered there once.
    pub fn kiosk_start_url(&self) -> String {
        format!("{}/kiosk", self.settings.public_url)
    }

    /// Every counter tablet, oldest first (revoked ones too, marked).
    pub async fn kiosks(&self) -> Result<Vec<Kiosk>, ChannelError> {
        Ok(self.kiosks.kiosks().await?)
    }

    /// Registers a counter tablet to `office` (a unit of the directory in
    /// force); the reply holds its credential, shown this once.
    pub async fn register_kiosk(
        &self,
        by: &str,
        office: &str,
        name: &str,
    ) -> Result<(Kiosk, String), ChannelError> {
        let office = office.trim();
        let known = self
            .directory
            .current_org()
            .await?
            .is_some_and(|(_, org)| org.unit(office).is_some());
        if !known {
            return Err(ChannelError::UnknownOffice(
                office.chars().take(40).collect(),
            ));
        }
        let (kiosk, credential) = Kiosk::register(office, name, by, self.clock.now())?;
        if self.kiosks.kiosks().await?.len() >= crate::domain::kiosk::MAX_KIOSKS {
            return Err(ChannelError::TooManyKiosks);
        }
        self.kiosks.save_kiosk(&kiosk).await?;
        self.record(by, "kiosk-registered", &kiosk.id).await?;
        Ok((kiosk, credential))
    }

    /// Revokes a tablet: it opens nothing from its next request on. True if
    /// this call revoked it (false: unknown, or revoked already).
    pub async fn revoke_kiosk(&self, by: &str, id: &str) -> Result<bool, ChannelError> {
        let Some(mut kiosk) = self.kiosks.kiosk(id).await? else {
            return Ok(false);
        };
        if !kiosk.revoke(self.clock.now()) {
            return Ok(false);
        }
        self.kiosks.save_kiosk(&kiosk).await?;
        self.record(by, "kiosk-revoked", id).await?;
        Ok(true)
    }

    async fn record(&self, by: &str, what: &str, record: &str) -> Result<(), PortError> {
        let now = self.clock.now();
        self.audit
            .record(&AuditEntry::step(
                by,
                what,
                vec![record.to_owned()],
                now,
                self.settings.audit_retention,
            ))
            .await
    }
}

/// The list's key of a well-formed address; the audit names the key, never
/// the address.
fn key_of(address: &str) -> Result<String, ChannelError> {
    let parsed = EmailAddress::parse(address)
        .map_err(|_| ChannelError::NotAnAddress(address.trim().chars().take(100).collect()))?;
    Ok(address_key(parsed.as_str()))
}
