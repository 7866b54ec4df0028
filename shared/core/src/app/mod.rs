//! Use cases: what CSQ does, written against the ports, grouped into services
//! named after the authority's jobs. Each service holds its ports privately and
//! offers use cases only; a host builds the services its routes and events
//! need (a Lambda function no more) and calls them, nothing else.
//!
//! - [`Issuance`]: forms for declarations, their invitations (`issue.rs`).
//! - [`Rating`]: the business's form, its submission and opt-out (`rate.rs`, `optout.rs`).
//! - [`CaseHandling`]: routing complaints to cases, staff actions, the outcome
//!   link (`route.rs`, `cases.rs`).
//! - [`Records`]: what staff read of forms, ratings, cases and the audit log,
//!   and its exports (`staff/`, `export.rs`).
//! - [`Figures`]: statistics, reports, rankings, the public report and the
//!   early warning's reading (`report.rs`, `staff/stats.rs`).
//! - [`Directory`]: the org directory over time (`org.rs`).
//! - [`Channels`]: the suppression list and, on one machine, webhooks and
//!   their dead letters (`channels.rs`).
//! - [`Housekeeping`]: the nightly job and the sweep: reminders, expiry,
//!   rollups, retention (`housekeeping/`).
//! - [`Pages`]: what the public pages need beside use cases: the time, the
//!   base URL, CSRF tokens and QR codes.

pub mod cases;
pub mod channels;
pub mod data_requests;
pub mod emails;
pub mod export;
pub mod housekeeping;
mod invitations;
pub mod issue;
pub mod optout;
pub mod org;
pub mod policy_settings;
pub mod qr;
pub mod rate;
pub mod report;
pub mod route;
pub mod sign_in;
pub mod staff;
pub mod times;
pub mod watch;

use std::sync::Arc;

use chrono::Duration;

use crate::auth::link::{LinkKeyRing, LinkKeys};
use crate::ports::{
    Clock, ComplaintQueue, EventPublisher, Mailer, Page, PageRequest, PortResult, Store,
};

pub use cases::CaseHandling;
pub use channels::Channels;
pub use data_requests::DataRequests;
pub use housekeeping::Housekeeping;
pub use issue::Issuance;
pub use org::Directory;
pub use rate::Rating;
pub use report::Figures;
pub use staff::Records;

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
    /// At most one email per business per period (0 days: no cap).
    pub invitation_cap: crate::domain::survey::InvitationCap,
    /// What a person is told about their data (the department's wording).
    pub privacy: std::sync::Arc<crate::domain::privacy::PrivacyTexts>,
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
            invitation_cap: crate::domain::survey::InvitationCap::days(7),
            privacy: Default::default(),
        }
    }

    /// The periods in force, for the privacy texts' placeholders.
    pub fn privacy_facts(&self, controller: String) -> crate::domain::privacy::PrivacyFacts {
        crate::domain::privacy::PrivacyFacts {
            personal_data_days: self.personal_data_retention.num_days(),
            contact_grace_days: self.contact_grace.num_days(),
            audit_days: self.audit_retention.num_days(),
            form_days: self.form_ttl.num_days(),
            controller,
        }
    }

    /// The full privacy notice's address, in the reader's language.
    pub fn privacy_link(&self, lang: crate::domain::declaration::Language) -> String {
        format!("{}/privacy?lang={}", self.public_url, lang.code())
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

/// Every service over one host's adapters: the local host, the demo and the
/// tests use them all; a Lambda function builds only its own.
#[derive(Clone)]
pub struct Services {
    pub issuance: Issuance,
    pub rating: Rating,
    pub case_handling: CaseHandling,
    pub records: Records,
    pub figures: Figures,
    pub directory: Directory,
    pub channels: Channels,
    pub data_requests: DataRequests,
    pub watch: watch::WatchCases,
    pub housekeeping: Housekeeping,
    pub pages: Pages,
}

impl Services {
    pub fn new(
        store: &Arc<dyn Store>,
        mailer: Arc<dyn Mailer>,
        queue: Arc<dyn ComplaintQueue>,
        events: Arc<dyn EventPublisher>,
        clock: Arc<dyn Clock>,
        settings: Arc<Settings>,
    ) -> Services {
        Services {
            issuance: Issuance::new(
                store,
                mailer.clone(),
                events.clone(),
                clock.clone(),
                settings.clone(),
            ),
            rating: Rating::new(
                store,
                queue.clone(),
                events.clone(),
                clock.clone(),
                settings.clone(),
            ),
            case_handling: CaseHandling::new(
                store,
                mailer.clone(),
                events.clone(),
                clock.clone(),
                settings.clone(),
            ),
            records: Records::new(store, clock.clone(), settings.clone()),
            figures: Figures::new(store, clock.clone(), settings.clone()),
            directory: Directory::new(store, clock.clone()),
            channels: Channels::new(store, clock.clone(), settings.clone()),
            data_requests: DataRequests::new(store, clock.clone(), settings.clone()),
            watch: watch::WatchCases::new(store, clock.clone(), settings.clone()),
            housekeeping: Housekeeping::new(
                store,
                mailer,
                queue,
                events,
                clock.clone(),
                settings.clone(),
            ),
            pages: Pages::new(store, clock, settings),
        }
    }
}

/// What the public pages need beside the use cases: the core's time (what a
/// page shows as still possible is decided against it), the base URL, CSRF
/// tokens, QR codes of genuine form links, and the privacy notice (which
/// names the department from the directory).
#[derive(Clone)]
pub struct Pages {
    clock: Arc<dyn Clock>,
    settings: Arc<Settings>,
    directory: Directory,
}

impl Pages {
    pub fn new(store: &Arc<dyn Store>, clock: Arc<dyn Clock>, settings: Arc<Settings>) -> Pages {
        Pages {
            directory: Directory::new(store, clock.clone()),
            clock,
            settings,
        }
    }

    /// The full privacy notice in `lang`: the department's wording with the
    /// periods in force and the directory's root unit as the controller.
    pub async fn privacy_page(
        &self,
        lang: crate::domain::declaration::Language,
    ) -> PortResult<crate::domain::privacy::PrivacyText> {
        let controller = match self.directory.current_org().await? {
            Some((_, org)) => org.root().map(|u| u.name_in(lang).to_owned()),
            None => None,
        }
        .unwrap_or_else(|| match lang {
            crate::domain::declaration::Language::Vi => "Cơ quan hải quan".into(),
            crate::domain::declaration::Language::En => "The customs authority".into(),
        });
        let facts = self.settings.privacy_facts(controller);
        Ok(self.settings.privacy.in_lang(lang).filled(&facts))
    }

    /// The base URL of the public pages (cookies are `Secure` when it is https).
    pub fn public_url(&self) -> &str {
        &self.settings.public_url
    }

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

    /// The privacy notices in `lang`, with the periods in force (the short
    /// notices never name the controller: no directory read per page).
    pub fn privacy_notice(
        &self,
        lang: crate::domain::declaration::Language,
    ) -> crate::domain::privacy::PrivacyText {
        let facts = self.settings.privacy_facts(String::new());
        let mut text = self.settings.privacy.in_lang(lang).filled(&facts);
        text.sections.clear();
        text
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
}

/// Publishes events that were stored in the event outbox with their change,
/// and relays those a crash or a failing bus left there. An event leaves the
/// outbox only once the bus accepted it: at least once, by its stable id.
#[derive(Clone)]
pub(crate) struct Publisher {
    outbox: Arc<dyn crate::ports::EventOutbox>,
    bus: Arc<dyn EventPublisher>,
}

/// Events the relay takes per read of the outbox, and the most reads per
/// call: a backlog is worked off over several sweeps, never in one request.
const RELAY_BATCH: u32 = 100;
const RELAY_BATCHES: usize = 20;

impl Publisher {
    pub(crate) fn new(store: &Arc<dyn Store>, bus: Arc<dyn EventPublisher>) -> Publisher {
        Publisher {
            outbox: store.clone(),
            bus,
        }
    }

    /// Hands events already in the outbox to the bus now. The action stands
    /// whatever happens here: events the bus does not take stay in the
    /// outbox for the relay.
    pub(crate) async fn publish(&self, events: Vec<crate::domain::event::Event>) {
        if events.is_empty() {
            return;
        }
        if let Err(e) = self.hand_over(&events).await {
            tracing::warn!(count = events.len(), error = %e, "events left in the outbox for the relay");
        }
    }

    async fn hand_over(&self, events: &[crate::domain::event::Event]) -> PortResult<()> {
        self.bus.publish(events).await?;
        let ids: Vec<String> = events.iter().map(|e| e.id.clone()).collect();
        self.outbox.events_relayed(&ids).await
    }

    /// Publishes what is still in the outbox, oldest first, in bounded
    /// batches. Returns how many events went out.
    pub(crate) async fn relay_pending(&self) -> PortResult<usize> {
        let mut relayed = 0;
        for _ in 0..RELAY_BATCHES {
            let batch = self.outbox.pending_events(RELAY_BATCH).await?;
            if batch.is_empty() {
                break;
            }
            self.hand_over(&batch).await?;
            relayed += batch.len();
            if batch.len() < RELAY_BATCH as usize {
                break;
            }
        }
        Ok(relayed)
    }
}

/// A declaration's forms, its first and each follow-up in order (at most
/// `issue::MAX_FORMS_PER_DECLARATION` reads).
pub(crate) async fn forms_of_declaration(
    forms: &dyn crate::ports::FormStore,
    number: &str,
) -> PortResult<Vec<crate::domain::form::Form>> {
    let mut out = vec![];
    for sequence in 1..=issue::MAX_FORMS_PER_DECLARATION {
        let key = crate::domain::form::declaration_key(number, sequence);
        match forms.form_of_declaration(&key).await? {
            Some(form) => out.push(form),
            None => break,
        }
    }
    Ok(out)
}

/// Reads every page of a Query (for reads bounded by a day's or a window's records).
pub async fn all_pages<T, F, Fut>(mut query: F) -> PortResult<Vec<T>>
where
    F: FnMut(PageRequest) -> Fut,
    Fut: std::future::Future<Output = PortResult<Page<T>>>,
{
    let mut out = Vec::new();
    let mut page = PageRequest::first(500);
    loop {
        let batch = query(page.clone()).await?;
        out.extend(batch.items);
        match batch.next {
            Some(next) => page.after = Some(next),
            None => return Ok(out),
        }
    }
}
