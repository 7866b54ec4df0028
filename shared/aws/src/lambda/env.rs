//! Function configuration: which environment variables each function reads
//! (the template test checks template.yaml sets them all), and building the core
//! with AWS adapters from them, once per Lambda container.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::{Context, bail};
use async_trait::async_trait;
use aws_types::SdkConfig;
use csq_core::app::{
    CaseHandling, Channels, Directory, Figures, Housekeeping, Issuance, Pages, Rating, Records,
    Settings,
};
use csq_core::auth::link::{LinkKeyRing, LinkKeySource, LinkKeys};
use csq_core::auth::random_secret;
use csq_core::http::{IdentityProvider, IntegrationAuth, StaffAuthenticator};
use csq_core::ports::{Clock, ComplaintQueue, EventPublisher, Mailer, Store, SystemClock};

use super::staff_auth::AuthorizerClaims;
use crate::dynamo::DynamoStore;
use crate::eventbridge::EventBridgePublisher;
use crate::ses::SesMailer;
use crate::sqs::SqsQueue;

pub const TABLE_NAME: &str = "CSQ_TABLE_NAME";
/// SSM parameter holding the base URL of links (the API's or a custom domain).
pub const PUBLIC_URL_PARAMETER: &str = "CSQ_PUBLIC_URL_PARAMETER";
pub const LINK_KEYS_PARAMETER: &str = "CSQ_LINK_KEYS_PARAMETER";
pub const MAIL_FROM: &str = "CSQ_MAIL_FROM";
pub const SES_CONFIGURATION_SET: &str = "CSQ_SES_CONFIGURATION_SET";
pub const COMPLAINT_QUEUE_URL: &str = "CSQ_COMPLAINT_QUEUE_URL";
/// The EventBridge bus events for other systems go to.
pub const EVENT_BUS_NAME: &str = "CSQ_EVENT_BUS_NAME";
/// Where the console signs staff in: the OpenID issuer and the console's
/// public client id there (the stack's Cognito pool, or the authority's own).
pub const OIDC_ISSUER: &str = "CSQ_OIDC_ISSUER";
pub const OIDC_CLIENT_ID: &str = "CSQ_OIDC_CLIENT_ID";
/// Who acts as the department while no org directory exists (to import it).
pub const FIRST_ADMINISTRATOR: &str = "CSQ_FIRST_ADMINISTRATOR";
/// Where the nightly writes its metrics (`CSQ/<stack>`), read by the alarms.
pub const METRICS_NAMESPACE: &str = "CSQ_METRICS_NAMESPACE";
/// Optional: an SSM parameter holding the department's privacy texts (JSON,
/// the shape of `domain/privacy/default.json`); unset, the defaults.
pub const PRIVACY_PARAMETER: &str = "CSQ_PRIVACY_PARAMETER";
pub use csq_core::app::policy_settings::{
    AUDIT_DAYS, CONTACT_GRACE_DAYS, FORM_TTL_DAYS, INVITATION_CAP_DAYS, MIN_CELL,
    PERSONAL_DATA_DAYS, PUBLIC_LEVEL, RANK_MIN_RATINGS, REMIND_AFTER_DAYS,
};

/// Read by every function (the template sets them in Globals): the table, and
/// the rules' settings (`PolicySettings`, the same the local host reads).
/// Read by every function: the table, and where its business counters go.
const COMMON: [&str; 2] = [TABLE_NAME, METRICS_NAMESPACE];

/// One Lambda function: its binary and what it needs.
#[derive(Debug)]
pub struct FunctionSpec {
    /// The binary name (template.yaml `BuildProperties: Binary`).
    pub binary: &'static str,
    /// The template's logical id of the function.
    pub logical_id: &'static str,
    /// Environment variables it reads besides `COMMON`.
    pub env: &'static [&'static str],
    pub signs_links: bool,
    pub sends_mail: bool,
    pub enqueues: bool,
    /// Publishes events (form issued, rating submitted, complaint opened, case changes).
    pub publishes: bool,
    /// The item kinds (partition key prefixes) it may write: the template
    /// limits its DynamoDB writes to these with `dynamodb:LeadingKeys`, so the
    /// public rating function cannot touch cases or the org directory.
    pub writes: &'static [&'static str],
}

impl FunctionSpec {
    pub fn all_env(&self) -> Vec<&'static str> {
        COMMON
            .iter()
            .chain(csq_core::app::policy_settings::NAMES.iter())
            .chain(self.env.iter())
            .copied()
            .collect()
    }
}

pub const ISSUE_FORM: FunctionSpec = FunctionSpec {
    binary: "issue-form",
    logical_id: "IssueFormFunction",
    env: &[
        EVENT_BUS_NAME,
        PUBLIC_URL_PARAMETER,
        LINK_KEYS_PARAMETER,
        MAIL_FROM,
        SES_CONFIGURATION_SET,
    ],
    signs_links: true,
    sends_mail: true,
    enqueues: false,
    publishes: true,
    // EVENT#: the event outbox, written with the change an event announces;
    // PERSON#: the person index, written with the record it points to.
    // BUSINESS#: when each business was last emailed (the cap per business).
    writes: &["FORM#", "DECL#", "EVENT#", "PERSON#", "BUSINESS#"],
};
pub const RATING_FORM: FunctionSpec = FunctionSpec {
    binary: "rating-form",
    logical_id: "RatingFormFunction",
    env: &[
        EVENT_BUS_NAME,
        PUBLIC_URL_PARAMETER,
        LINK_KEYS_PARAMETER,
        COMPLAINT_QUEUE_URL,
        PRIVACY_PARAMETER,
    ],
    signs_links: true,
    sends_mail: false,
    enqueues: true,
    publishes: true,
    // SUPPRESS#: the one-click opt-out link is served here, beside the form.
    writes: &["FORM#", "SUPPRESS#", "EVENT#", "PERSON#"],
};
pub const COMPLAINT_ROUTER: FunctionSpec = FunctionSpec {
    binary: "complaint-router",
    logical_id: "ComplaintRouterFunction",
    env: &[
        EVENT_BUS_NAME,
        PUBLIC_URL_PARAMETER,
        MAIL_FROM,
        SES_CONFIGURATION_SET,
    ],
    signs_links: false,
    sends_mail: true,
    enqueues: false,
    publishes: true,
    writes: &["CASE#", "EVENT#", "PERSON#"],
};
pub const NIGHTLY: FunctionSpec = FunctionSpec {
    binary: "nightly",
    logical_id: "NightlyFunction",
    env: &[
        EVENT_BUS_NAME,
        PUBLIC_URL_PARAMETER,
        LINK_KEYS_PARAMETER,
        MAIL_FROM,
        SES_CONFIGURATION_SET,
        COMPLAINT_QUEUE_URL,
    ],
    signs_links: true,
    sends_mail: true,
    enqueues: true,
    // Escalations are announced, and the sweep relays the event outbox.
    publishes: true,
    // SUPPRESS#: SES's bounce and complaint reports arrive here.
    // WATCH: the weekly retaliation watch raises its cases.
    writes: &[
        "FORM#",
        "CASE#",
        "STATS#",
        "ORG",
        "SUPPRESS#",
        "EVENT#",
        "BUSINESS#",
        "WATCH",
    ],
};
pub const STAFF_API: FunctionSpec = FunctionSpec {
    binary: "staff-api",
    logical_id: "StaffApiFunction",
    // Signs and checks the outcome links of the cases it closes.
    env: &[
        EVENT_BUS_NAME,
        PUBLIC_URL_PARAMETER,
        LINK_KEYS_PARAMETER,
        MAIL_FROM,
        SES_CONFIGURATION_SET,
        OIDC_ISSUER,
        OIDC_CLIENT_ID,
        FIRST_ADMINISTRATOR,
    ],
    signs_links: true,
    sends_mail: true,
    enqueues: false,
    publishes: true,
    // SUPPRESS#: the department keeps the suppression list from the console.
    // FORM# and PERSON#: the department erases a person's data on request.
    // KIOSKS: the department registers and revokes counter tablets.
    writes: &[
        "CASE#",
        "AUDIT#",
        "ORG",
        "SUPPRESS#",
        "EVENT#",
        "FORM#",
        "PERSON#",
        "KIOSKS",
        "WATCH",
    ],
};

pub const SPECS: [&FunctionSpec; 5] = [
    &ISSUE_FORM,
    &RATING_FORM,
    &COMPLAINT_ROUTER,
    &NIGHTLY,
    &STAFF_API,
];

/// A function's adapters, built once per container from its environment. The
/// services it runs are built from them: only those its main names, and a
/// service that needs a port the function's spec does not grant (mail, the
/// queue, the event bus) fails at init with the reason, never at a request.
#[derive(Clone)]
pub struct FunctionEnv {
    spec: &'static FunctionSpec,
    store: DynamoStore,
    identity_provider: Option<IdentityProvider>,
    first_administrator: Option<String>,
    clock: Arc<dyn Clock>,
    settings: Arc<Settings>,
    mailer: Option<Arc<dyn Mailer>>,
    queue: Option<Arc<dyn ComplaintQueue>>,
    events: Option<Arc<dyn EventPublisher>>,
}

/// Reads the function's SSM parameters in one `GetParameters` call: init makes at most
/// this one network round trip (cold starts are paid by the business waiting for
/// its form). SecureStrings are decrypted; plain Strings come back as they are.
async fn parameters(ssm: &aws_sdk_ssm::Client, names: &[String]) -> anyhow::Result<Vec<String>> {
    let out = ssm
        .get_parameters()
        .set_names(Some(names.to_vec()))
        .with_decryption(true)
        .send()
        .await
        .with_context(|| format!("reading SSM parameters {}", names.join(", ")))?;
    if let Some(missing) = out.invalid_parameters.filter(|m| !m.is_empty()) {
        bail!("SSM parameters not found: {}", missing.join(", "));
    }
    let found = out.parameters.unwrap_or_default();
    names
        .iter()
        .map(|name| {
            found
                .iter()
                .find(|p| p.name.as_deref() == Some(name.as_str()))
                .and_then(|p| p.value.clone())
                .with_context(|| format!("SSM parameter {name} has no value"))
        })
        .collect()
}

/// The link keys' SecureString, read again when a rotation shows.
struct SsmLinkKeys {
    ssm: aws_sdk_ssm::Client,
    name: String,
}

#[async_trait]
impl LinkKeySource for SsmLinkKeys {
    async fn link_keys(&self) -> Result<LinkKeys, Box<dyn std::error::Error + Send + Sync>> {
        let value = parameters(&self.ssm, std::slice::from_ref(&self.name))
            .await?
            .pop()
            .unwrap_or_default();
        Ok(LinkKeys::parse(&value)?)
    }
}

impl FunctionEnv {
    pub async fn from_process_env(spec: &'static FunctionSpec) -> anyhow::Result<FunctionEnv> {
        let vars: HashMap<String, String> = std::env::vars().collect();
        let sdk = super::sdk::from_lambda_env()?;
        Self::from_vars(spec, &vars, &sdk).await
    }

    /// Builds the function's core from explicit variables and SDK configuration
    /// (tests point these at the emulator).
    pub async fn from_vars(
        spec: &'static FunctionSpec,
        vars: &HashMap<String, String>,
        sdk: &SdkConfig,
    ) -> anyhow::Result<FunctionEnv> {
        let get = |name: &str| {
            vars.get(name)
                .map(|v| v.trim().to_owned())
                .unwrap_or_default()
        };
        let missing: Vec<&str> = spec
            .all_env()
            .into_iter()
            .filter(|n| {
                // Optional: these have defaults (no identity provider: the
                // console takes a token as before).
                *n != SES_CONFIGURATION_SET
                    && *n != OIDC_ISSUER
                    && *n != OIDC_CLIENT_ID
                    && *n != FIRST_ADMINISTRATOR
                    && *n != PRIVACY_PARAMETER
                    && !csq_core::app::policy_settings::NAMES.contains(n)
                    && get(n).is_empty()
            })
            .collect();
        if !missing.is_empty() {
            bail!(
                "the {} function needs these environment variables: {}",
                spec.binary,
                missing.join(", ")
            );
        }
        let ssm = aws_sdk_ssm::Client::new(sdk);
        // One HTTP API serves the public pages and the staff API: one base URL.
        let mut names = vec![get(PUBLIC_URL_PARAMETER)];
        if spec.signs_links {
            names.push(get(LINK_KEYS_PARAMETER));
        }
        // In the same call: init makes one round trip.
        let privacy_name = Some(get(PRIVACY_PARAMETER)).filter(|n| !n.is_empty());
        if let Some(name) = &privacy_name {
            names.push(name.clone());
        }
        let mut values = parameters(&ssm, &names).await?.into_iter();
        let public_url = values.next().unwrap_or_default();
        let privacy = match &privacy_name {
            Some(name) => Some(
                csq_core::domain::privacy::PrivacyTexts::from_json(
                    &values.next_back().unwrap_or_default(),
                )
                .with_context(|| format!("SSM parameter {name}"))?,
            ),
            None => None,
        };
        let link_keys = match values.next() {
            Some(value) => LinkKeys::parse(&value)
                .with_context(|| format!("SSM parameter {}", get(LINK_KEYS_PARAMETER)))?,
            // This function never signs or checks a link: a throwaway key keeps the
            // real one out of its memory and its IAM policy.
            None => LinkKeys::parse(&format!("none:{}", random_secret(32)))?,
        };
        let mut settings = Settings::new(&public_url, link_keys.clone());
        if spec.signs_links {
            // After a rotation this warm container meets links signed with the
            // new key: it re-reads the parameter instead of refusing them.
            let source = SsmLinkKeys {
                ssm: ssm.clone(),
                name: get(LINK_KEYS_PARAMETER),
            };
            settings.link_keys = Arc::new(LinkKeyRing::reloading(link_keys, Arc::new(source)));
        }
        csq_core::app::policy_settings::PolicySettings::from_lookup(|n| vars.get(n).cloned())?
            .apply(&mut settings);
        if let Some(texts) = privacy {
            settings.privacy = Arc::new(texts);
        }

        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(sdk), get(TABLE_NAME))
            .with_clock(clock.clone());
        let mailer = spec.sends_mail.then(|| {
            let set = Some(get(SES_CONFIGURATION_SET)).filter(|s| !s.is_empty());
            Arc::new(SesMailer::new(
                aws_sdk_sesv2::Client::new(sdk),
                &get(MAIL_FROM),
                set,
            )) as Arc<dyn Mailer>
        });
        let queue = spec.enqueues.then(|| {
            Arc::new(SqsQueue::new(
                aws_sdk_sqs::Client::new(sdk),
                get(COMPLAINT_QUEUE_URL),
                None,
            )) as Arc<dyn ComplaintQueue>
        });
        let events = spec.publishes.then(|| {
            Arc::new(super::emf::CountingPublisher {
                inner: Arc::new(EventBridgePublisher::new(
                    aws_sdk_eventbridge::Client::new(sdk),
                    get(EVENT_BUS_NAME),
                )),
                namespace: get(METRICS_NAMESPACE),
            }) as Arc<dyn EventPublisher>
        });
        let identity_provider = Some(get(OIDC_ISSUER))
            .filter(|i| i.starts_with("https://"))
            .map(|issuer| IdentityProvider {
                issuer,
                client_id: get(OIDC_CLIENT_ID),
            });
        let first_administrator = Some(get(FIRST_ADMINISTRATOR)).filter(|a| a.contains('@'));
        Ok(FunctionEnv {
            spec,
            store,
            identity_provider,
            first_administrator,
            clock,
            settings: Arc::new(settings),
            mailer,
            queue,
            events,
        })
    }

    /// The same function on another clock (tests: a year later).
    pub fn with_clock(self, clock: Arc<dyn Clock>) -> FunctionEnv {
        FunctionEnv {
            store: self.store.clone().with_clock(clock.clone()),
            clock,
            ..self
        }
    }

    /// The same function with another mailer (tests: a stand-in SES). Only
    /// a function whose spec sends mail has one.
    pub fn with_mailer(self, mailer: Arc<dyn Mailer>) -> FunctionEnv {
        FunctionEnv {
            mailer: self.spec.sends_mail.then_some(mailer),
            ..self
        }
    }

    fn store(&self) -> Arc<dyn Store> {
        Arc::new(self.store.clone())
    }

    fn mailer(&self) -> anyhow::Result<Arc<dyn Mailer>> {
        self.mailer
            .clone()
            .with_context(|| format!("the {} function sends no email", self.spec.binary))
    }

    fn queue(&self) -> anyhow::Result<Arc<dyn ComplaintQueue>> {
        self.queue
            .clone()
            .with_context(|| format!("the {} function queues no complaint", self.spec.binary))
    }

    fn events(&self) -> anyhow::Result<Arc<dyn EventPublisher>> {
        self.events
            .clone()
            .with_context(|| format!("the {} function publishes no event", self.spec.binary))
    }

    pub fn issuance(&self) -> anyhow::Result<Issuance> {
        Ok(Issuance::new(
            &self.store(),
            self.mailer()?,
            self.events()?,
            self.clock.clone(),
            self.settings.clone(),
        ))
    }

    pub fn rating(&self) -> anyhow::Result<Rating> {
        Ok(Rating::new(
            &self.store(),
            self.queue()?,
            self.events()?,
            self.clock.clone(),
            self.settings.clone(),
        ))
    }

    pub fn case_handling(&self) -> anyhow::Result<CaseHandling> {
        Ok(CaseHandling::new(
            &self.store(),
            self.mailer()?,
            self.events()?,
            self.clock.clone(),
            self.settings.clone(),
        ))
    }

    pub fn housekeeping(&self) -> anyhow::Result<Housekeeping> {
        Ok(Housekeeping::new(
            &self.store(),
            self.mailer()?,
            self.queue()?,
            self.events()?,
            self.clock.clone(),
            self.settings.clone(),
        ))
    }

    pub fn records(&self) -> Records {
        Records::new(&self.store(), self.clock.clone(), self.settings.clone())
    }

    pub fn figures(&self) -> Figures {
        Figures::new(&self.store(), self.clock.clone(), self.settings.clone())
    }

    pub fn directory(&self) -> Directory {
        Directory::new(&self.store(), self.clock.clone())
    }

    /// The suppression list; no webhooks (subscribers use the event bus).
    pub fn channels(&self) -> Channels {
        Channels::new(&self.store(), self.clock.clone(), self.settings.clone())
    }

    /// A person's requests about their data (find, export, erase).
    pub fn data_requests(&self) -> csq_core::app::DataRequests {
        csq_core::app::DataRequests::new(&self.store(), self.clock.clone(), self.settings.clone())
    }

    pub fn watch(&self) -> csq_core::app::watch::WatchCases {
        csq_core::app::watch::WatchCases::new(
            &self.store(),
            self.clock.clone(),
            self.settings.clone(),
        )
    }

    pub fn pages(&self) -> Pages {
        Pages::new(&self.store(), self.clock.clone(), self.settings.clone())
    }

    /// On AWS the gateway authenticates: IAM on the integration route, the JWT
    /// authorizer on staff routes.
    pub fn integration_auth(&self) -> IntegrationAuth {
        IntegrationAuth::Gateway(Arc::new(super::staff_auth::IamCaller))
    }

    /// Where the console signs staff in (None: not configured).
    pub fn identity_provider(&self) -> Option<IdentityProvider> {
        self.identity_provider.clone()
    }

    /// Who acts as the department while no directory exists.
    pub fn first_administrator(&self) -> Option<String> {
        self.first_administrator.clone()
    }

    pub fn staff_auth(&self) -> Arc<dyn StaffAuthenticator> {
        Arc::new(AuthorizerClaims)
    }
}
