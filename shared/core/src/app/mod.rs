//! Use cases: what CSQ does, written against the ports. Both hosts (the local
//! `csq` command and the Lambda functions) call these and nothing else.

pub mod cases;
pub mod emails;
pub mod export;
pub mod issue;
pub mod nightly;
pub mod optout;
pub mod org;
pub mod policy_settings;
pub mod qr;
pub mod rate;
pub mod report;
pub mod route;
pub mod staff;

use std::sync::Arc;

use chrono::Duration;

use crate::auth::link::{LinkKeyRing, LinkKeys};
use crate::ports::{
    AuditLog, CaseStore, Clock, ComplaintQueue, EventPublisher, FormStore, Mailer, OrgStore,
    StatsStore, SuppressionList,
};

/// Settings every host supplies (from flags, environment or the SAM template).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Base URL of the public rating pages, used in emailed links.
    pub public_url: String,
    /// Base URL of the staff API, used in emails to case assignees.
    pub staff_url: String,
    pub link_keys: std::sync::Arc<LinkKeyRing>,
    /// How long a form can be rated after it is issued.
    pub form_ttl: Duration,
    /// When an unanswered form gets its one reminder.
    pub remind_after: Duration,
    /// How long business contact data is kept.
    pub personal_data_retention: Duration,
    /// The fewest ratings a figure may rest on for a reader who may not see
    /// misconduct reports, or for an officer (k of the visibility policy).
    pub min_cell: u64,
    /// How long the audit log of personal-data reads is kept.
    pub audit_retention: Duration,
    /// How long after a case closes the complainant's contact is kept.
    pub contact_grace: Duration,
    /// Fewest ratings a unit or officer needs to be ranked.
    pub rank_min_ratings: u64,
    /// The kind of unit the public report lists (`office` by default).
    pub public_level: String,
    /// Fewest ratings in each window for the early warning to test a unit.
    pub warning_min_ratings: u64,
}

impl Settings {
    /// Defaults for everything but the URLs and keys.
    pub fn new(public_url: &str, link_keys: LinkKeys) -> Settings {
        let public_url = public_url.trim_end_matches('/').to_owned();
        Settings {
            staff_url: public_url.clone(),
            public_url,
            link_keys: std::sync::Arc::new(link_keys.into()),
            form_ttl: Duration::days(30),
            remind_after: Duration::days(3),
            personal_data_retention: Duration::days(365),
            min_cell: crate::policy::DEFAULT_MIN_CELL,
            audit_retention: Duration::days(365),
            contact_grace: Duration::days(30),
            rank_min_ratings: 30,
            public_level: "office".into(),
            warning_min_ratings: 20,
        }
    }

    pub fn form_link(&self, token: &str) -> String {
        format!("{}/f/{}", self.public_url, token)
    }

    /// The one-click opt-out link of a form's invitation (`/u/{token}`): signed
    /// for the form, valid while the form's business data is kept.
    pub fn unsubscribe_link(&self, form: &crate::domain::form::Form) -> String {
        let token = self.link_keys.sign_for(
            crate::auth::link::LinkPurpose::Unsubscribe,
            &form.id,
            form.personal_data_until,
        );
        format!("{}/u/{}", self.public_url, token)
    }

    /// A form's signed rating link: in its invitation, its reminder and the
    /// answer to the declaration system (the same link every time).
    pub fn rating_link(&self, form: &crate::domain::form::Form) -> String {
        self.form_link(&self.link_keys.sign(&form.id, form.expires_at))
    }

    /// The QR code of a rating link (`/f/{token}/qr.svg`).
    pub fn qr_link(rating_link: &str) -> String {
        format!("{rating_link}/qr.svg")
    }
}

/// The core with its ports plugged in. Cheap to clone (all `Arc`s).
#[derive(Clone)]
pub struct Csq {
    pub forms: Arc<dyn FormStore>,
    pub cases: Arc<dyn CaseStore>,
    pub stats: Arc<dyn StatsStore>,
    pub org: Arc<dyn OrgStore>,
    pub audit: Arc<dyn AuditLog>,
    pub suppressions: Arc<dyn SuppressionList>,
    pub mailer: Arc<dyn Mailer>,
    pub queue: Arc<dyn ComplaintQueue>,
    pub events: Arc<dyn EventPublisher>,
    pub clock: Arc<dyn Clock>,
    pub settings: Arc<Settings>,
}

impl Csq {
    /// The same core on another clock: a demo's back-dated history.
    pub fn with_clock(self, clock: Arc<dyn Clock>) -> Csq {
        Csq { clock, ..self }
    }

    /// The same core with another mailer: back-filled history or a benchmark
    /// whose mail is counted, not sent.
    pub fn with_mailer(self, mailer: Arc<dyn Mailer>) -> Csq {
        Csq { mailer, ..self }
    }

    /// The signed token of a form's rating link (what `/f/{token}` takes).
    pub fn rating_token(&self, form: &crate::domain::form::Form) -> String {
        self.settings.link_keys.sign(&form.id, form.expires_at)
    }

    /// A form's rating link, as its invitation carries it.
    pub fn rating_link(&self, form: &crate::domain::form::Form) -> String {
        self.settings.rating_link(form)
    }

    /// The base URL of the public pages (cookies are `Secure` when it is https).
    pub fn public_url(&self) -> &str {
        &self.settings.public_url
    }

    /// The time the core reads (its clock port): what a page shows as still
    /// possible is decided against it, as the use cases decide.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// A CSRF token for a page of `id` (a form or a case), bound to the
    /// browser's nonce cookie.
    pub fn csrf_token(&self, id: &str, nonce: &str) -> String {
        self.settings.link_keys.csrf_token(id, nonce)
    }

    /// Whether a posted CSRF token is this page's (made by this process or,
    /// after a key rotation, by another that reads the new keys).
    pub async fn csrf_ok(&self, id: &str, nonce: &str, token: &str) -> bool {
        self.settings.link_keys.csrf_ok(id, nonce, token).await
    }

    /// The SVG QR code of a genuine form link (the signature alone is checked:
    /// the code holds nothing but the link). None: not a link of ours, or too
    /// long for a QR code.
    pub async fn form_qr(
        &self,
        token: &str,
    ) -> Result<Option<String>, crate::auth::link::InvalidLink> {
        self.settings.link_keys.verify(token).await?;
        Ok(qr::svg(&self.settings.form_link(token)))
    }

    /// Publishes what was just stored. The action stands whatever happens
    /// here: a bus that fails is retried briefly, then the events are logged
    /// whole (no personal data is in them) so they can be replayed by id.
    pub(crate) async fn publish(&self, events: Vec<crate::domain::event::Event>) {
        if events.is_empty() {
            return;
        }
        let mut last = None;
        for attempt in 0..3u64 {
            match self.events.publish(&events).await {
                Ok(()) => return,
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(std::time::Duration::from_millis(50 << attempt)).await;
        }
        for e in &events {
            tracing::error!(
                event_id = %e.id,
                event = %serde_json::to_string(e).unwrap_or_default(),
                error = %last.as_ref().map(|e| e.to_string()).unwrap_or_default(),
                "event not published"
            );
        }
    }
}
