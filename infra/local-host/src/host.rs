//! Wires the embedded adapters to the core and runs every CSQ function in one
//! process: the HTTP routers on one port, the complaint router on the local
//! queue, the outbox relay, and the nightly job on a timer.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use chrono::Duration;
use csq_core::app::sign_in::SignIn;
use csq_core::app::{Services, Settings};
use csq_core::auth::staff::{Hs256, StaffClaims};
use csq_core::http::{self, IntegrationApi, IntegrationAuth, PublicSite, StaffApi};
use csq_core::ports::{Clock, Mailer, QueueConsumer, Store};
use csq_local::{MailRelay, OutboxMailer, SqliteQueue, SqliteStore, Webhooks};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::{HostConfig, Secrets};
use crate::outbox_page;

/// The product on one machine.
#[derive(Clone)]
pub struct LocalHost {
    pub config: HostConfig,
    /// Every service of the core over this machine's adapters.
    pub services: Services,
    /// Staff sign-in by one-time code (no identity provider on this machine).
    pub sign_in: SignIn,
    pub store: Arc<SqliteStore>,
    pub queue: Arc<SqliteQueue>,
    pub mailer: Arc<OutboxMailer>,
    /// The authority's SMTP relay, where one is configured.
    pub relay: Option<MailRelay>,
    pub webhooks: Arc<Webhooks>,
    /// The background workers' last passes (for `/readyz`).
    pub workers: crate::health::SharedWorkers,
    pub metrics: Arc<crate::metrics::Metrics>,
    pub secrets: Secrets,
    pub staff_jwt: Hs256,
    /// The clock the host gave the core: the host's own staff tokens and
    /// outbox access read the same time.
    clock: Arc<dyn Clock>,
    settings: Arc<Settings>,
    /// The identity provider's keys, once `connect_identity_provider` read them.
    oidc: Option<Arc<crate::oidc::OidcVerifier>>,
}

/// What one pass of the complaint router did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RouterPass {
    pub routed: usize,
    pub failed: usize,
}

impl LocalHost {
    /// Opens the data directory. `public_addr` is where the HTTP server listens
    /// (links in emails point there unless CSQ_PUBLIC_URL says otherwise).
    pub fn open(
        mut config: HostConfig,
        clock: Arc<dyn Clock>,
        public_addr: SocketAddr,
    ) -> anyhow::Result<LocalHost> {
        // What the server really listens on decides who can reach it.
        config.bind = public_addr;
        let secrets = config.secrets()?;
        let settings = config.settings(public_addr, &secrets)?;
        crate::backup::before_upgrade(&config.data_dir, clock.now())?;
        let store = Arc::new(
            SqliteStore::open(&config.data_dir.join("csq.sqlite"))
                .context("opening the database")?,
        );
        let queue = Arc::new(
            SqliteQueue::open(
                &config.data_dir.join("queue.sqlite"),
                clock.clone(),
                Duration::seconds(config.queue_visibility_secs.max(1)),
                config.queue_max_receives,
            )
            .context("opening the complaint queue")?,
        );
        let relay = match &config.smtp {
            Some(smtp) => Some(
                MailRelay::open(
                    &config.data_dir.join("mail.sqlite"),
                    &config.outbox_dir(),
                    &config.mail_from,
                    smtp,
                    clock.clone(),
                )
                .context("opening the mail relay queue")?,
            ),
            None => None,
        };
        let mut outbox = OutboxMailer::new(&config.outbox_dir(), &config.mail_from)?;
        if let Some(relay) = &relay {
            outbox = outbox.with_relay(relay.clone());
        }
        let mailer = Arc::new(outbox);
        let webhooks = Arc::new(
            Webhooks::open(&config.data_dir.join("webhooks.sqlite"), clock.clone())
                .context("opening the webhook outbox")?,
        );
        let settings = Arc::new(settings);
        let metrics = Arc::new(crate::metrics::Metrics::default());
        // Mail and events counted on their way (for /metrics).
        let counted_mail: Arc<dyn Mailer> = Arc::new(crate::metrics::CountingMailer {
            inner: mailer.clone(),
            metrics: metrics.clone(),
        });
        let counted_events = Arc::new(crate::metrics::CountingPublisher {
            inner: webhooks.clone(),
            metrics: metrics.clone(),
        });
        let mut services = Services::new(
            &(store.clone() as Arc<dyn Store>),
            counted_mail.clone(),
            queue.clone(),
            counted_events,
            clock.clone(),
            settings.clone(),
        );
        // This host delivers the events itself: the department manages the receivers.
        services.channels = services.channels.with_webhooks(webhooks.clone());
        let sign_in = SignIn::new(
            &(store.clone() as Arc<dyn Store>),
            store.clone(),
            counted_mail,
            clock.clone(),
            settings.clone(),
        );
        let staff_jwt = Hs256::new(secrets.staff_jwt_secret.as_bytes());
        Ok(LocalHost {
            config,
            services,
            sign_in,
            store,
            queue,
            mailer,
            relay,
            webhooks,
            workers: Default::default(),
            metrics,
            secrets,
            staff_jwt,
            clock,
            settings,
            oidc: None,
        })
    }

    /// Reads the configured identity provider's keys (discovery, JWKS): staff
    /// then sign in there instead of by a code by email.
    pub async fn connect_identity_provider(&mut self) -> anyhow::Result<()> {
        if let Some(provider) = self.config.identity_provider.clone() {
            let issuer = provider.issuer.clone();
            let verifier = crate::oidc::OidcVerifier::discover(provider)
                .await
                .with_context(|| format!("connecting to the identity provider {issuer}"))?;
            self.oidc = Some(Arc::new(verifier));
            tracing::info!(%issuer, "staff sign in at the identity provider");
        }
        Ok(())
    }

    /// The same core on another clock and mailer: the demo's back-dated
    /// history, or a benchmark whose mail is counted, not sent.
    pub fn services_with(&self, clock: Arc<dyn Clock>, mailer: Arc<dyn Mailer>) -> Services {
        self.services_publishing_to(clock, mailer, self.webhooks.clone())
    }

    /// The same core publishing its events somewhere else than the webhooks
    /// (a test's bus that is down, then back).
    pub fn services_publishing_to(
        &self,
        clock: Arc<dyn Clock>,
        mailer: Arc<dyn Mailer>,
        events: Arc<dyn csq_core::ports::EventPublisher>,
    ) -> Services {
        Services::new(
            &(self.store.clone() as Arc<dyn Store>),
            mailer,
            self.queue.clone(),
            events,
            clock,
            self.settings.clone(),
        )
    }

    /// Brings a data directory the first version wrote up to date (once; a no-op after).
    pub async fn migrate(&self) -> anyhow::Result<()> {
        if self.services.directory.migrate_first_version().await? {
            tracing::info!("org directory migrated to a tree (version 1)");
        }
        Ok(())
    }

    /// Every function's router on one port, plus the local-only pages.
    pub fn router(&self) -> Router {
        let s = &self.services;
        let integration = IntegrationApi {
            issuance: s.issuance.clone(),
            auth: IntegrationAuth::BearerKey(self.secrets.integration_key.as_str().into()),
        };
        let public = PublicSite {
            rating: s.rating.clone(),
            figures: s.figures.clone(),
            pages: s.pages.clone(),
        };
        let staff = StaffApi {
            records: s.records.clone(),
            figures: s.figures.clone(),
            directory: s.directory.clone(),
            case_handling: s.case_handling.clone(),
            channels: s.channels.clone(),
            data_requests: s.data_requests.clone(),
            watch: s.watch.clone(),
            pages: s.pages.clone(),
            auth: Arc::new(crate::oidc::LocalStaffAuth {
                operator: self.staff_jwt.clone(),
                oidc: self.oidc.clone(),
            }),
            // The one-time code by email, unless staff sign in at a provider.
            sessions: self.oidc.is_none().then(|| self.sign_in.clone()),
            identity_provider: self.oidc.as_ref().map(|o| o.provider().clone()),
            // Operator tokens import the first directory on this machine.
            first_administrator: None,
        };
        let sign_in = http::sign_in::router(http::sign_in::SignInPages {
            sign_in: self.sign_in.clone(),
            pages: s.pages.clone(),
        });
        // Per-client limits guard the public rating pages; the declaration
        // system and staff are authenticated and come from few addresses.
        let rating_pages = http::rating_form::router(public);
        let rating_pages = match self.config.client_limits {
            Some(limits) => rating_pages.layer(axum::middleware::from_fn_with_state(
                crate::limits::Limiter::new(limits),
                crate::limits::limit,
            )),
            None => rating_pages,
        };
        // Codes are guessable only by many tries, and mail is not free: the
        // sign-in routes are limited per client whatever the host's settings.
        let sign_in = sign_in.layer(axum::middleware::from_fn_with_state(
            crate::limits::Limiter::new(crate::limits::SIGN_IN),
            crate::limits::limit,
        ));
        Router::new()
            .route(
                "/metrics",
                axum::routing::get(crate::metrics::scrape).with_state(self.clone()),
            )
            .merge(crate::health::router(self.clone()))
            .merge(sign_in)
            .merge(http::integration::router(integration))
            .merge(rating_pages)
            .merge(http::staff::router(staff))
            .merge(outbox_page::router(
                self.config.outbox_dir(),
                self.services.pages.public_url().to_owned(),
                outbox_page::OutboxAccess {
                    loopback_bind: self.config.bind.ip().is_loopback(),
                    staff: Arc::new(self.staff_jwt.clone()),
                    clock: self.clock.clone(),
                },
            ))
            // Every routed request counted, by its route template.
            .route_layer(axum::middleware::from_fn_with_state(
                self.metrics.clone(),
                crate::metrics::count_requests,
            ))
    }

    pub fn mint_staff_token(&self, claims: &StaffClaims, valid_for: Duration) -> String {
        self.staff_jwt.mint(claims, self.clock.now() + valid_for)
    }

    /// One pass of the complaint router over the local queue. A message whose
    /// handling fails stays on the queue and comes back after the visibility
    /// timeout; after too many tries it goes to the dead letters.
    pub async fn route_pending(&self) -> anyhow::Result<RouterPass> {
        let mut pass = RouterPass::default();
        for message in self.queue.receive(10).await? {
            match self
                .services
                .case_handling
                .route_complaint(&message.body)
                .await
            {
                Ok(_) => {
                    self.queue.delete(&message.receipt).await?;
                    pass.routed += 1;
                }
                Err(e) => {
                    tracing::warn!(message_id = %message.message_id, receives = message.receive_count, error = %e, "complaint not routed; will retry");
                    pass.failed += 1;
                }
            }
        }
        Ok(pass)
    }

    /// Routes until the queue has nothing visible (for the CLI, the demo and tests).
    pub async fn drain_queue(&self) -> anyhow::Result<RouterPass> {
        let mut total = RouterPass::default();
        loop {
            let pass = self.route_pending().await?;
            total.routed += pass.routed;
            total.failed += pass.failed;
            if pass.routed + pass.failed == 0 {
                return Ok(total);
            }
        }
    }

    /// Serves HTTP and runs the background workers until `shutdown` turns true.
    pub async fn serve(
        self,
        listener: TcpListener,
        mut shutdown: watch::Receiver<bool>,
    ) -> anyhow::Result<()> {
        // One host per data directory; a restore waits until it stops.
        let _lock = crate::backup::lock_for_serving(&self.config.data_dir)?;
        let workers = self.spawn_workers(shutdown.clone());
        let app = self.router();
        // The peer address feeds the per-client limits.
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            let _ = shutdown.wait_for(|stop| *stop).await;
        })
        .await?;
        for w in workers {
            w.abort();
        }
        Ok(())
    }

    /// The nightly job for `day`, its outcome recorded for `/readyz`.
    pub async fn run_nightly(
        &self,
        day: chrono::NaiveDate,
    ) -> anyhow::Result<csq_core::app::housekeeping::NightlyReport> {
        let started = std::time::Instant::now();
        let result = self.services.housekeeping.run_nightly(day).await;
        let status = crate::health::nightly_status(
            day,
            self.clock.now(),
            result.is_ok(),
            started.elapsed().as_secs_f64(),
        );
        if let Err(e) = self
            .store
            .record_status("nightly", self.clock.now(), status)
            .await
        {
            tracing::error!(error = %e, "the nightly run's outcome was not recorded");
        }
        let report = result?;
        if let Some(dir) = self.config.backup_dir.clone() {
            let (data, keep) = (self.config.data_dir.clone(), self.config.backup_keep);
            let written =
                tokio::task::spawn_blocking(move || crate::backup::daily(&data, &dir, day, keep))
                    .await?;
            match written {
                Ok(file) => tracing::info!(file = %file.display(), "daily backup written"),
                Err(e) => tracing::error!(error = %e, "daily backup failed"),
            }
        }
        Ok(report)
    }

    /// The host's time (the core's clock).
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    fn spawn_workers(&self, shutdown: watch::Receiver<bool>) -> Vec<tokio::task::JoinHandle<()>> {
        let mut handles = Vec::new();

        // The identity provider's keys, kept current across its rotations.
        if let Some(oidc) = self.oidc.clone() {
            handles.push(tokio::spawn(async move {
                oidc.keep_keys_current(crate::oidc::KEY_REFRESH).await;
            }));
        }

        let host = self.clone();
        let poll = std::time::Duration::from_millis(self.config.router_poll_ms.max(10));
        let stop = shutdown.clone();
        handles.push(tokio::spawn(async move {
            while !*stop.borrow() {
                host.workers.pass("complaint_router", poll);
                tokio::time::sleep(poll).await;
                if let Err(e) = host.route_pending().await {
                    tracing::error!(error = %e, "complaint router pass failed");
                }
            }
        }));

        // The sweep: complaints stored but not yet queued, invitations the mail
        // service could not take yet. It runs at start too: after a crash, what
        // the dead process had accepted but not queued goes on at once.
        let host = self.clone();
        let stop = shutdown.clone();
        handles.push(tokio::spawn(async move {
            while !*stop.borrow() {
                host.workers
                    .pass("sweep", std::time::Duration::from_secs(30));
                if let Err(e) = host.services.housekeeping.sweep().await {
                    tracing::error!(error = %e, "sweep failed");
                }
                tokio::time::sleep(std::time::Duration::from_secs(30)).await;
            }
        }));

        // Events to the department's webhooks: due deliveries and retries.
        let host = self.clone();
        let stop = shutdown.clone();
        let poll = std::time::Duration::from_millis(self.config.router_poll_ms.max(10));
        handles.push(tokio::spawn(async move {
            while !*stop.borrow() {
                host.workers.pass("webhooks", poll);
                match host.webhooks.deliver_due().await {
                    Ok(pass) if pass.delivered + pass.retrying + pass.dead > 0 => {
                        tracing::info!(?pass, "webhook deliveries");
                    }
                    Ok(_) => tokio::time::sleep(poll).await,
                    Err(e) => {
                        tracing::error!(error = %e, "webhook delivery pass failed");
                        tokio::time::sleep(poll).await;
                    }
                }
            }
        }));

        // Mail to the authority's relay: due messages and retries.
        if let Some(relay) = self.relay.clone() {
            let stop = shutdown.clone();
            let workers = self.workers.clone();
            handles.push(tokio::spawn(async move {
                while !*stop.borrow() {
                    workers.pass("mail_relay", poll);
                    match relay.send_due().await {
                        Ok(pass) if pass.sent + pass.retrying + pass.dead > 0 => {
                            tracing::info!(?pass, "mail relay pass");
                        }
                        Ok(_) => tokio::time::sleep(poll).await,
                        Err(e) => {
                            tracing::error!(error = %e, "mail relay pass failed");
                            tokio::time::sleep(poll).await;
                        }
                    }
                }
            }));
        }

        if let Some(at) = self.config.nightly_at {
            let host = self.clone();
            handles.push(tokio::spawn(async move {
                loop {
                    let wait = host.services.housekeeping.until_nightly(at);
                    tracing::info!(in_seconds = wait.num_seconds(), "nightly job scheduled");
                    tokio::time::sleep(wait.to_std().unwrap_or_default()).await;
                    if let Err(e) = host
                        .run_nightly(host.services.housekeeping.yesterday()).await {
                        tracing::error!(error = %e, "nightly job failed; it runs again tomorrow and catches up");
                    }
                    // Ended sessions and spent codes go (they name a person).
                    if let Err(e) = host.sign_in.drop_ended().await {
                        tracing::error!(error = %e, "ended sign-ins not dropped");
                    }
                    // Never run twice in the same minute.
                    tokio::time::sleep(std::time::Duration::from_secs(61)).await;
                }
            }));
        }
        handles
    }
}

/// A host serving on a free loopback port (tests and benchmarks).
pub struct RunningHost {
    pub host: LocalHost,
    pub addr: SocketAddr,
    pub stop: watch::Sender<bool>,
    /// Ends once the server has stopped after `stop` and let go of the data
    /// directory (another host may then serve it).
    pub stopped: tokio::task::JoinHandle<()>,
}

/// Opens the host on `config` (its `bind` may use port 0) and serves it in the
/// background until `stop` is sent.
pub async fn spawn(config: HostConfig, clock: Arc<dyn Clock>) -> anyhow::Result<RunningHost> {
    let listener = TcpListener::bind(config.bind).await?;
    let addr = listener.local_addr()?;
    let mut host = LocalHost::open(config, clock, addr)?;
    host.migrate().await?;
    host.connect_identity_provider().await?;
    let (stop, stop_rx) = watch::channel(false);
    let serving = host.clone();
    let stopped = tokio::spawn(async move {
        if let Err(e) = serving.serve(listener, stop_rx).await {
            tracing::error!(error = %e, "local host stopped");
        }
    });
    Ok(RunningHost {
        host,
        addr,
        stop,
        stopped,
    })
}
