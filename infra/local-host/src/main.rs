//! `csq`: run CSQ on this machine. See README.md for a tour.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use chrono::{Duration, NaiveDate};
use clap::{Parser, Subcommand};
use csq_core::app::cases::CaseRulesError;
use csq_core::app::org::OrgError;
use csq_core::auth::staff::{StaffClaims, StaffRole};
use csq_core::ports::{QueueConsumer, SystemClock};
use csq_local_host::case_rules_file;
use csq_local_host::{HostConfig, LocalHost, demo, org_import};

#[derive(Parser)]
#[command(
    name = "csq",
    version,
    about = "Customs service-quality ratings: the local host"
)]
struct Cli {
    /// Where the database, queue, outbox and secrets live [env: CSQ_DATA_DIR, default csq-data]
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run every function on one port, with the complaint router and nightly job
    Serve {
        /// Load the fictional demo department first
        #[arg(long)]
        demo: bool,
        /// Address to listen on [env: CSQ_BIND, default 127.0.0.1:8080]
        #[arg(long)]
        bind: Option<std::net::SocketAddr>,
        /// Allow an address other machines can reach (plain HTTP: only behind a TLS proxy)
        #[arg(long)]
        allow_public_bind: bool,
    },
    /// Same as `serve --demo`
    Demo {
        #[arg(long)]
        bind: Option<std::net::SocketAddr>,
        #[arg(long)]
        allow_public_bind: bool,
    },
    /// Org directory
    Org {
        #[command(subcommand)]
        command: OrgCommand,
    },
    /// Case rules: holiday calendar, deadlines in working days, measures
    CaseRules {
        #[command(subcommand)]
        command: CaseRulesCommand,
    },
    /// Compute one day's statistics (Vietnamese calendar day; default yesterday)
    Aggregate {
        #[arg(long)]
        date: Option<NaiveDate>,
    },
    /// Run the whole nightly job now: relay, reminders, expiry, escalation, statistics
    Nightly {
        #[arg(long)]
        date: Option<NaiveDate>,
    },
    /// Print a staff token (HS256 JWT) for the staff API
    StaffToken {
        /// department, unit_head (branch_head also works), inspection or officer
        #[arg(long)]
        role: String,
        /// Code of the unit a unit head heads (any level: region, office, team)
        #[arg(long)]
        unit: Option<String>,
        /// The officer id of an officer (role officer)
        #[arg(long)]
        officer: Option<String>,
        #[arg(long, default_value = "local-staff")]
        sub: String,
        #[arg(long, default_value_t = 12)]
        hours: i64,
    },
    /// Print the integration key the declaration system must send
    IntegrationKey,
    /// Complaint queue operations
    Queue {
        #[command(subcommand)]
        command: QueueCommand,
    },
    /// Send no more invitations or reminders to ADDRESS (forms are still
    /// issued); --check says whether it is listed, --lift sends to it again
    Suppress {
        address: String,
        #[arg(long, conflicts_with = "lift")]
        check: bool,
        #[arg(long)]
        lift: bool,
    },
    /// A person's request about their data, by email address or phone number:
    /// find it, export it to a file, or erase it (audited)
    PersonalData {
        #[command(subcommand)]
        command: PersonalDataCommand,
    },
    /// A consistent copy of the data directory into FILE (and FILE.sha256),
    /// while `csq serve` keeps taking submissions
    Backup { file: PathBuf },
    /// Put a backup back as the data directory (checked first; not while
    /// `csq serve` runs)
    Restore { file: PathBuf },
    /// Mail to the authority's SMTP relay (CSQ_SMTP_URL): what waits, what it
    /// refused, sending again
    Mail {
        #[command(subcommand)]
        command: MailCommand,
    },
    /// Webhooks: events (form issued, rating submitted, complaint opened, case
    /// transferred, case closed) POSTed to the department's systems
    Webhooks {
        #[command(subcommand)]
        command: WebhookCommand,
    },
}

#[derive(Subcommand)]
enum MailCommand {
    /// Messages waiting for the relay, and messages it did not take
    Status,
    /// The messages the relay refused or that kept failing, with the reason
    DeadLetters,
    /// Send a dead letter again (ID, the outbox file's name), or the oldest hundred
    Resend { id: Option<String> },
}

#[derive(clap::Args)]
#[group(required = true, multiple = false)]
struct Person {
    /// The email address the person used
    #[arg(long)]
    email: Option<String>,
    /// The phone number the person gave as a contact
    #[arg(long)]
    phone: Option<String>,
}

#[derive(Subcommand)]
enum PersonalDataCommand {
    /// Say what is held: forms, cases, the suppression list
    Find {
        #[command(flatten)]
        person: Person,
    },
    /// Write everything held to FILE (JSON) to hand to the person
    Export {
        #[command(flatten)]
        person: Person,
        #[arg(long)]
        out: PathBuf,
    },
    /// Erase the person's contact data from every form and case (cases,
    /// findings and trails stay, anonymised)
    Erase {
        #[command(flatten)]
        person: Person,
    },
}

#[derive(Subcommand)]
enum WebhookCommand {
    /// Register URL; prints the secret its deliveries are signed with (shown once)
    Add { url: String },
    /// List the registered webhooks
    List,
    /// Stop delivering to webhook ID
    Remove { id: String },
    /// List deliveries that ran out of attempts
    DeadLetters,
    /// Deliver again: one event (--event ID), or every dead letter
    Redeliver {
        #[arg(long)]
        event: Option<String>,
    },
}

#[derive(Subcommand)]
enum OrgCommand {
    /// Replace the org directory with the one in FILE (.yaml, .yml or .csv), as a new version
    Import { file: PathBuf },
    /// Write the org directory in force to FILE (.yaml, .yml, .csv or .json)
    Export { file: PathBuf },
    /// Print the org directory in force as a tree
    Show,
    /// List the versions of the org directory: who, when, what changed
    Versions,
    /// Convert FILE (.yaml or .csv) to the JSON that `PUT /v1/org` takes (for AWS)
    ToJson { file: PathBuf },
}

#[derive(Subcommand)]
enum CaseRulesCommand {
    /// Replace the case rules with those in FILE (.yaml or .json)
    Import { file: PathBuf },
    /// Print the case rules in force as YAML
    Show,
    /// Convert FILE (.yaml) to the JSON that `PUT /v1/case-rules` takes (for AWS)
    ToJson { file: PathBuf },
}

#[derive(Subcommand)]
enum QueueCommand {
    /// Route every waiting complaint now
    Drain,
    /// List messages in the dead-letter queue
    DeadLetters,
    /// Move dead letters back to the queue (after fixing their cause)
    Redrive,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    use tracing_subscriber::prelude::*;
    let filter =
        || tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let (filter_layer, log_filter) = tracing_subscriber::reload::Layer::new(filter());
    tracing_subscriber::registry()
        .with(filter_layer)
        // Colour only on a terminal: a log file gets no escape codes.
        .with(
            tracing_subscriber::fmt::layer()
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout())),
        )
        .init();
    // Loading the demo logs hundreds of lines of back-filled history: quiet them.
    let quiet = move |on: bool| {
        let _ = log_filter.modify(|f| *f = if on { "warn".into() } else { filter() });
    };
    let cli = Cli::parse();
    let mut config = HostConfig::from_env()?;
    if let Some(dir) = cli.data_dir {
        config.data_dir = dir;
    }
    match cli.command {
        Command::Serve {
            demo,
            bind,
            allow_public_bind,
        } => {
            config.allow_public_bind |= allow_public_bind;
            serve(config, bind, demo, &quiet).await
        }
        Command::Demo {
            bind,
            allow_public_bind,
        } => {
            config.allow_public_bind |= allow_public_bind;
            serve(config, bind, true, &quiet).await
        }
        Command::Backup { file } => {
            let summary = csq_local_host::backup::backup(&config.data_dir, &file)?;
            for (part, bytes) in &summary.parts {
                println!("{part}\t{bytes} bytes");
            }
            println!(
                "{}: sha256 {} (also in {}.sha256)",
                file.display(),
                summary.sha256,
                file.display()
            );
            Ok(())
        }
        Command::Restore { file } => {
            let parts = csq_local_host::backup::restore(&config.data_dir, &file)?;
            for (part, bytes) in &parts {
                println!("restored {part}\t{bytes} bytes");
            }
            println!(
                "{} restored into {}; start csq serve.",
                file.display(),
                config.data_dir.display()
            );
            Ok(())
        }
        command => {
            let bind = config.bind;
            let host = LocalHost::open(config, Arc::new(SystemClock), bind)?;
            host.migrate().await?;
            offline(host, command).await
        }
    }
}

async fn offline(host: LocalHost, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Org {
            command: OrgCommand::Import { file },
        } => {
            let org = org_import::read_org_file(&file)?;
            let saved = match host
                .services
                .directory
                .replace_org(org, "csq org import")
                .await
            {
                Ok(saved) => saved,
                Err(OrgError::Invalid(errors)) => {
                    anyhow::bail!("{}", org_import::describe_problems(&errors))
                }
                Err(e) => return Err(e.into()),
            };
            let v = &saved.version;
            if saved.created {
                println!(
                    "Imported as version {}: {} units, {} change(s).",
                    v.version,
                    v.units,
                    v.changes.len()
                );
                for c in &v.changes {
                    println!("  {} {:?}: {}", c.code, c.change, c.detail);
                }
            } else {
                println!("Unchanged: version {} is already in force.", v.version);
            }
        }
        Command::Org {
            command: OrgCommand::Export { file },
        } => match host.services.directory.current_org().await? {
            Some((version, org)) => {
                org_import::write_org_file(&file, &org)?;
                println!("Wrote version {version} to {}.", file.display());
            }
            None => anyhow::bail!("no org directory yet: csq org import FILE"),
        },
        Command::Org {
            command: OrgCommand::ToJson { file },
        } => println!(
            "{}",
            serde_json::to_string_pretty(&org_import::read_org_file(&file)?)?
        ),
        Command::Org {
            command: OrgCommand::Show,
        } => match host.services.directory.current_org().await? {
            Some((version, org)) => print!("{}", org_import::render_tree(&org, version)),
            None => println!("No org directory yet: csq org import FILE"),
        },
        Command::Org {
            command: OrgCommand::Versions,
        } => {
            for v in host.services.directory.all_org_versions().await? {
                println!(
                    "version {}\t{}\tby {}\t{} units\t{} change(s)",
                    v.version,
                    v.saved_at.to_rfc3339(),
                    v.saved_by,
                    v.units,
                    v.changes.len()
                );
            }
        }
        Command::CaseRules {
            command: CaseRulesCommand::Import { file },
        } => {
            let rules = case_rules_file::read(&file)?;
            match host
                .services
                .case_handling
                .replace_case_rules("csq case-rules import", rules, None)
                .await
            {
                Ok(saved) => println!(
                    "Case rules version {} in force ({} holidays).",
                    saved.version,
                    saved.rules.holidays.len()
                ),
                Err(CaseRulesError::Invalid(errors)) => {
                    anyhow::bail!("{}", org_import::describe_problems(&errors))
                }
                Err(e) => return Err(e.into()),
            }
        }
        Command::CaseRules {
            command: CaseRulesCommand::Show,
        } => {
            let stored = host.services.case_handling.case_rules().await?;
            println!(
                "# version {} (saved by {})",
                stored.version, stored.saved_by
            );
            print!("{}", serde_norway::to_string(&stored.rules)?);
        }
        Command::CaseRules {
            command: CaseRulesCommand::ToJson { file },
        } => println!(
            "{}",
            serde_json::to_string_pretty(&case_rules_file::read(&file)?)?
        ),
        Command::Aggregate { date } => {
            let date = date.unwrap_or_else(|| host.services.housekeeping.yesterday());
            let stats = host.services.housekeeping.aggregate_day(date).await?;
            println!("Rolled up {date}: {} units.", stats.len());
        }
        Command::Nightly { date } => {
            let report = host
                .run_nightly(date.unwrap_or_else(|| host.services.housekeeping.yesterday()))
                .await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
        }
        Command::StaffToken {
            role,
            unit,
            officer,
            sub,
            hours,
        } => {
            let role = StaffRole::from_code(&role)
                .context("role must be department, unit_head, inspection or officer")?;
            let claims = StaffClaims {
                sub,
                role,
                unit,
                officer,
            };
            if role == StaffRole::UnitHead && claims.unit.is_none() {
                anyhow::bail!("a unit head needs --unit UNIT_CODE");
            }
            if role == StaffRole::Officer && claims.officer.is_none() {
                anyhow::bail!("an officer needs --officer OFFICER_ID");
            }
            println!(
                "{}",
                host.mint_staff_token(&claims, Duration::hours(hours.clamp(1, 24 * 30)))
            );
        }
        Command::IntegrationKey => println!("{}", host.secrets.integration_key),
        Command::Queue {
            command: QueueCommand::Drain,
        } => {
            let pass = host.drain_queue().await?;
            println!(
                "Routed {}, failed {} (failed ones are retried, then dead-lettered).",
                pass.routed, pass.failed
            );
        }
        Command::Queue {
            command: QueueCommand::DeadLetters,
        } => {
            for m in host.queue.dead_letters(100).await? {
                println!(
                    "{}\treceived {} times\t{}",
                    m.message_id,
                    m.receive_count,
                    m.body.chars().take(120).collect::<String>()
                );
            }
        }
        Command::Queue {
            command: QueueCommand::Redrive,
        } => {
            println!(
                "Moved {} dead letters back to the queue.",
                host.queue.redrive_dead_letters().await?
            );
        }
        Command::Suppress {
            address,
            check,
            lift,
        } => suppress(&host, &address, check, lift).await?,
        Command::Webhooks { command } => webhooks(&host, command).await?,
        Command::PersonalData { command } => personal_data(&host, command).await?,
        Command::Mail { command } => mail(&host, command).await?,
        Command::Serve { .. }
        | Command::Demo { .. }
        | Command::Backup { .. }
        | Command::Restore { .. } => unreachable!("handled by main"),
    }
    Ok(())
}

async fn serve(
    mut config: HostConfig,
    bind: Option<std::net::SocketAddr>,
    demo: bool,
    quiet_logs: &dyn Fn(bool),
) -> anyhow::Result<()> {
    if let Some(b) = bind {
        config.bind = b;
    }
    csq_local_host::config::check_bind(config.bind, config.allow_public_bind)?;
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .with_context(|| format!("cannot listen on {} (set CSQ_BIND or --bind)", config.bind))?;
    let addr = listener.local_addr()?;
    let mut host = LocalHost::open(config, Arc::new(SystemClock), addr)?;
    host.migrate().await?;
    host.connect_identity_provider().await?;
    let url = host.services.pages.public_url().to_owned();
    if demo {
        println!("Loading the demo department (fictional)...");
        quiet_logs(true);
        let d = demo::load_demo(&host).await;
        quiet_logs(false);
        let d = d?;
        println!(
            "Demo loaded: {} declarations, {} rated, {} complaints routed to cases.\n\n\
             Rate a form:   {}\nOutbox:        {url}/outbox\n\
             Dashboard:     {url}/dashboard\n\
             \x20              sign in as the head of office 91AA: 91aa@demo-customs.invalid\n\
             \x20              (or the department: cuctruong@, a case handler: xuly.91aa@, inspection: thanhtra@,\n\
             \x20              an officer: hp0001@, all @demo-customs.invalid); the code arrives in the outbox\n\
             Staff token:   {}\n\
             \x20              (an operator token, for scripts: curl -H \"Authorization: Bearer $TOKEN\" '{url}/v1/stats?unit=department&children=true')\n\
             Counter:       {url}/kiosk, registered with {} (office 91AE's tablet;\n\
             \x20              then type a declaration number, e.g. 990000000003)\n\
             Watch:         {} case(s) for the inspection unit (thanhtra@): GET {url}/v1/watch\n",
            d.declarations,
            d.submitted,
            d.cases_opened,
            d.unrated_link,
            d.staff_token,
            d.counter_credential,
            d.watch_flags
        );
    }
    println!("CSQ is running at {url} (Ctrl-C to stop). Integration key: csq integration-key");
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        let _ = stop_tx.send(true);
    });
    host.serve(listener, stop_rx).await
}

async fn mail(host: &LocalHost, command: MailCommand) -> anyhow::Result<()> {
    let Some(relay) = &host.relay else {
        anyhow::bail!("no SMTP relay is configured (CSQ_SMTP_URL): mail stays in the outbox");
    };
    match command {
        MailCommand::Status => {
            let (waiting, dead) = relay.backlog().await?;
            println!("{waiting} message(s) waiting for the relay, {dead} it did not take.");
        }
        MailCommand::DeadLetters => {
            for d in relay.dead_letters(100).await? {
                println!(
                    "{}\t{}\t{} attempt(s)\t{}",
                    d.id, d.at, d.attempts, d.reason
                );
            }
        }
        MailCommand::Resend { id } => {
            let n = relay.resend(id.as_deref()).await?;
            println!("{n} message(s) queued again; `csq serve` sends them.");
        }
    }
    Ok(())
}

/// The audit log's name for what an operator does from this machine's CLI.
const CLI: &str = "operator-token:csq (command line)";

async fn personal_data(host: &LocalHost, command: PersonalDataCommand) -> anyhow::Result<()> {
    use csq_core::domain::privacy::person::PersonQuery;
    let requests = &host.services.data_requests;
    let query = |p: &Person| PersonQuery::parse(p.email.as_deref(), p.phone.as_deref());
    match command {
        PersonalDataCommand::Find { person } => {
            let held = requests
                .find(CLI, &query(&person)?, "personal-data-find")
                .await?;
            println!(
                "{} form(s), {} case(s){}{}",
                held.forms.len(),
                held.cases.len(),
                match &held.suppression {
                    Some(s) =>
                        format!(", on the suppression list ({}) since {}", s.reason, s.since),
                    None => String::new(),
                },
                if held.truncated {
                    " (more than listed)"
                } else {
                    ""
                }
            );
            for f in &held.forms {
                println!(
                    "form {}\tdeclaration {}\t{}",
                    f.form_id, f.declaration_number, f.status
                );
            }
            for c in &held.cases {
                println!(
                    "case {}\tdeclaration {}\t{}",
                    c.case_id, c.declaration_number, c.status
                );
            }
        }
        PersonalDataCommand::Export { person, out } => {
            let held = requests
                .find(CLI, &query(&person)?, "personal-data-export")
                .await?;
            std::fs::write(&out, serde_json::to_vec_pretty(&held)?)?;
            println!(
                "{} form(s) and {} case(s) written to {}.",
                held.forms.len(),
                held.cases.len(),
                out.display()
            );
        }
        PersonalDataCommand::Erase { person } => {
            let done = requests.erase(CLI, &query(&person)?).await?;
            println!(
                "Erased from {} form(s); {} case(s) anonymised (their findings and trails kept).",
                done.forms_erased, done.cases_anonymised
            );
        }
    }
    Ok(())
}

async fn suppress(host: &LocalHost, address: &str, check: bool, lift: bool) -> anyhow::Result<()> {
    let channels = &host.services.channels;
    if check {
        match channels.standing_of(CLI, address).await?.suppressed {
            Some(s) => println!(
                "{address} is suppressed ({}) since {}: no invitation or reminder goes to it.",
                s.reason.code(),
                s.at
            ),
            None => println!("{address} is not suppressed: invitations go to it."),
        }
    } else if lift {
        if channels.lift_suppression(CLI, address).await? {
            println!("{address} lifted: invitations and reminders go to it again.");
        } else {
            println!("{address} was not suppressed.");
        }
    } else {
        let added = channels.suppress(CLI, address).await?;
        println!(
            "{address} {}: no invitation or reminder will be sent to it.",
            if added {
                "suppressed"
            } else {
                "was already suppressed"
            }
        );
    }
    Ok(())
}

async fn webhooks(host: &LocalHost, command: WebhookCommand) -> anyhow::Result<()> {
    let channels = &host.services.channels;
    match command {
        WebhookCommand::Add { url } => {
            let hook = channels.add_webhook(CLI, &url).await?;
            println!("Added {} for {}.", hook.id, hook.url);
            println!("Secret (verify the CSQ-Signature header with it; shown only now):");
            println!("{}", hook.secret);
        }
        WebhookCommand::List => {
            for h in channels.webhooks().await? {
                println!("{}\t{}\tadded {}", h.id, h.url, h.created_at);
            }
        }
        WebhookCommand::Remove { id } => {
            if channels.remove_webhook(CLI, &id).await? {
                println!("Removed {id}.");
            } else {
                anyhow::bail!("no webhook {id}");
            }
        }
        WebhookCommand::DeadLetters => {
            for d in channels.dead_letters().await? {
                println!(
                    "{}\t{}\t{}\t{} attempts\t{}",
                    d.event_id,
                    d.event_type,
                    d.webhook_id,
                    d.attempts,
                    d.last_error.unwrap_or_default()
                );
            }
        }
        WebhookCommand::Redeliver { event } => {
            let n = channels.redeliver(CLI, event.as_deref()).await?;
            println!("{n} deliveries queued again; `csq serve` sends them.");
        }
    }
    Ok(())
}
