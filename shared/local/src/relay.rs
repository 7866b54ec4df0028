//! Mail that leaves the machine: the authority's SMTP relay.
//!
//! The outbox stays the record of every message (and the demo's mailbox).
//! Where a relay is configured, the outbox mailer also puts each message on
//! a durable queue (SQLite, `mail.sqlite`) *before* writing its file, and a
//! worker sends due messages through the relay:
//! - at least once: a message is marked sent only after the relay accepted it;
//!   a crash in between (milliseconds) sends it again, nothing recorded as
//!   sent is ever sent again after a restart;
//! - a relay that is down or answers 4xx is tried again with the webhooks'
//!   backoff (1 minute … 16 hours, nine attempts);
//! - a message the relay refuses for good (5xx), or that keeps failing, is a
//!   dead letter kept with the reason for an operator (`csq mail`), who can
//!   send it again.
//!
//! Once sent, a message's recipients are dropped from the queue: the outbox
//! file is the record.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use csq_core::domain::event::retry_delay;
use csq_core::ports::{Clock, PortResult};
use lettre::address::Envelope;
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use rusqlite::params;

use crate::db::{Db, Migration, StoreError, ts};

const SCHEMA: &str = r#"
CREATE TABLE relay (
    id          TEXT PRIMARY KEY,
    recipients  TEXT NOT NULL,
    state       TEXT NOT NULL,
    attempts    INTEGER NOT NULL,
    queued_at   TEXT NOT NULL,
    next_at     TEXT NOT NULL,
    last_error  TEXT,
    done_at     TEXT
);
CREATE INDEX relay_due ON relay (next_at, id) WHERE state = 'pending';
CREATE INDEX relay_dead ON relay (done_at, id) WHERE state = 'dead';
"#;

const MIGRATIONS: &[Migration] = &[Migration {
    what: "the relay queue",
    apply: |tx| tx.execute_batch(SCHEMA),
}];

/// The most messages one worker pass sends.
const PASS_LIMIT: u32 = 20;
/// A message queued this recently whose file is not there yet is being
/// written: wait for it. Older, it never will be (the process stopped
/// between queueing and writing).
const WRITE_GRACE: chrono::Duration = chrono::Duration::seconds(60);

/// Where and how to reach the authority's relay.
#[derive(Debug, Clone)]
pub struct SmtpRelayConfig {
    /// `smtps://user:pass@host:465` (implicit TLS), `smtp://…:587?tls=required`
    /// (STARTTLS), or plain `smtp://127.0.0.1:25` to a relay on this machine.
    pub url: String,
    /// Connecting and each command's answer.
    pub timeout: StdDuration,
    /// A PEM file of the certificate authority that signed the relay's
    /// certificate, when it is the authority's own (trusted besides the
    /// system's roots).
    pub ca_file: Option<PathBuf>,
}

impl SmtpRelayConfig {
    /// Refuses a URL lettre cannot use, and plain SMTP to another machine
    /// (messages hold links that open forms, and sign-in codes).
    pub fn validate(&self) -> anyhow::Result<()> {
        self.transport().map(drop)
    }

    /// The relay's host name as the URL gives it (what its certificate must name).
    fn host(&self) -> anyhow::Result<(&str, &str)> {
        let (scheme, rest) = self
            .url
            .split_once("://")
            .ok_or_else(|| anyhow::anyhow!("CSQ_SMTP_URL must start with smtp:// or smtps://"))?;
        let host = rest
            .rsplit_once('@')
            .map_or(rest, |(_, h)| h)
            .split(['/', '?'])
            .next()
            .unwrap_or("");
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.split_once(']'))
            .map_or_else(
                || host.rsplit_once(':').map_or(host, |(h, _)| h),
                |(h, _)| h,
            );
        Ok((scheme, host))
    }

    /// The SMTP client of this relay: its TLS mode from the URL, the extra
    /// certificate authority if one is configured.
    fn transport(&self) -> anyhow::Result<AsyncSmtpTransport<Tokio1Executor>> {
        let (scheme, host) = self.host()?;
        let loopback = host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        let tls = scheme == "smtps" || self.url.contains("tls=required");
        match scheme {
            "smtp" | "smtps" if tls || loopback => {}
            "smtp" | "smtps" => anyhow::bail!(
                "CSQ_SMTP_URL: plain SMTP only to a relay on this machine; use smtps:// or ?tls=required for {host}"
            ),
            _ => anyhow::bail!("CSQ_SMTP_URL must start with smtp:// or smtps://"),
        }
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(&self.url)
            .map_err(|e| anyhow::anyhow!("CSQ_SMTP_URL: {e}"))?
            .timeout(Some(self.timeout));
        if let Some(file) = &self.ca_file {
            use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
            if !tls {
                anyhow::bail!("CSQ_SMTP_CA_FILE is for a relay reached over TLS");
            }
            let pem = std::fs::read(file)
                .map_err(|e| anyhow::anyhow!("CSQ_SMTP_CA_FILE {}: {e}", file.display()))?;
            let ca = Certificate::from_pem(&pem)
                .map_err(|e| anyhow::anyhow!("CSQ_SMTP_CA_FILE {}: {e}", file.display()))?;
            let parameters = TlsParameters::builder(host.to_owned())
                .add_root_certificate(ca)
                .build_rustls()
                .map_err(|e| anyhow::anyhow!("CSQ_SMTP_CA_FILE: {e}"))?;
            builder = builder.tls(if scheme == "smtps" {
                Tls::Wrapper(parameters)
            } else {
                Tls::Required(parameters)
            });
        }
        Ok(builder.build())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelayState {
    Pending,
    Sent,
    Dead,
}

impl RelayState {
    fn code(self) -> &'static str {
        match self {
            RelayState::Pending => "pending",
            RelayState::Sent => "sent",
            RelayState::Dead => "dead",
        }
    }
}

/// A message the relay did not take, as an operator reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadMail {
    /// The outbox file's name without `.eml`.
    pub id: String,
    pub attempts: u32,
    pub reason: String,
    pub at: DateTime<Utc>,
}

/// What one worker pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RelayPass {
    pub sent: usize,
    pub retrying: usize,
    pub dead: usize,
}

/// The queue of messages for the relay, and the worker that sends them.
#[derive(Clone)]
pub struct MailRelay {
    db: Db,
    outbox: PathBuf,
    sender: Address,
    transport: Arc<AsyncSmtpTransport<Tokio1Executor>>,
    clock: Arc<dyn Clock>,
}

struct Due {
    id: String,
    recipients: String,
    attempts: u32,
    queued_at: String,
}

impl MailRelay {
    /// The schema this version writes (its numbered migrations).
    pub const SCHEMA: usize = MIGRATIONS.len();

    /// `sender` is the envelope's sender (the address of `CSQ_MAIL_FROM`).
    pub fn open(
        path: &Path,
        outbox: &Path,
        sender: &str,
        config: &SmtpRelayConfig,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<MailRelay> {
        let transport = config.transport()?;
        let sender: Address = sender
            .parse::<lettre::message::Mailbox>()
            .map_err(|e| anyhow::anyhow!("sender address {sender:?}: {e}"))?
            .email;
        Ok(MailRelay {
            db: Db::open_migrated(path, "mail relay", MIGRATIONS)?,
            outbox: outbox.to_owned(),
            sender,
            transport: Arc::new(transport),
            clock,
        })
    }

    /// Queues the outbox message `id` for `recipients`; queueing it again
    /// changes nothing.
    pub async fn enqueue(&self, id: &str, recipients: &[String]) -> PortResult<()> {
        let now = ts(self.clock.now());
        let (id, to) = (id.to_owned(), recipients.join("\n"));
        self.db
            .call("queue mail", move |conn| {
                conn.execute(
                    "INSERT OR IGNORE INTO relay (id, recipients, state, attempts, queued_at, next_at)
                     VALUES (?1, ?2, 'pending', 0, ?3, ?3)",
                    params![id, to, now],
                )?;
                Ok(())
            })
            .await
    }

    /// Sends the messages that are due, a bounded batch per pass.
    pub async fn send_due(&self) -> PortResult<RelayPass> {
        let now = self.clock.now();
        // Taken under a lease: a crash mid-send makes them due again after it.
        let lease = ts(now + chrono::Duration::minutes(5));
        let due = self
            .db
            .call("due mail", move |conn| {
                let tx =
                    conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                let rows = {
                    let mut stmt = tx.prepare(
                        "SELECT id, recipients, attempts, queued_at FROM relay
                         WHERE state = 'pending' AND next_at <= ?1 ORDER BY next_at LIMIT ?2",
                    )?;
                    stmt.query_map(params![ts(now), PASS_LIMIT], |r| {
                        Ok(Due {
                            id: r.get(0)?,
                            recipients: r.get(1)?,
                            attempts: r.get(2)?,
                            queued_at: r.get(3)?,
                        })
                    })?
                    .collect::<Result<Vec<_>, _>>()?
                };
                for d in &rows {
                    tx.execute(
                        "UPDATE relay SET next_at = ?2 WHERE id = ?1",
                        params![d.id, lease],
                    )?;
                }
                tx.commit()?;
                Ok(rows)
            })
            .await?;
        let mut pass = RelayPass::default();
        for d in due {
            let file = self.outbox.join(format!("{}.eml", d.id));
            let outcome = match tokio::fs::read(&file).await {
                Ok(bytes) => self.send(&d, &bytes).await,
                Err(_) if young(&d.queued_at, now) => Outcome::NotWrittenYet,
                Err(e) => {
                    Outcome::Refused(format!("the message was never written to the outbox: {e}"))
                }
            };
            let attempts = d.attempts + u32::from(!matches!(outcome, Outcome::NotWrittenYet));
            let now = self.clock.now();
            let (state, next_at, error) = match outcome {
                Outcome::Sent => (RelayState::Sent, now, None),
                // Due again at once: the worker's own pause (it did nothing
                // this pass) lets the writer finish. A wait counted on the
                // core's clock would never end under a test's stopped clock.
                Outcome::NotWrittenYet => (RelayState::Pending, now, None),
                Outcome::Refused(e) => (RelayState::Dead, now, Some(e)),
                Outcome::Failed(e) => match retry_delay(attempts) {
                    Some(wait) => (RelayState::Pending, now + wait, Some(e)),
                    None => (RelayState::Dead, now, Some(e)),
                },
            };
            match state {
                RelayState::Sent => pass.sent += 1,
                RelayState::Pending if error.is_none() => {}
                RelayState::Pending => pass.retrying += 1,
                RelayState::Dead => {
                    pass.dead += 1;
                    tracing::error!(id = %d.id, error = ?error, "mail relay: message kept for an operator (csq mail dead-letters)");
                }
            }
            let done = (state != RelayState::Pending).then(|| ts(now));
            let id = d.id.clone();
            self.db
                .call("mail outcome", move |conn| {
                    conn.execute(
                        // Sent: the recipients are dropped (the outbox file is the record).
                        "UPDATE relay SET state = ?2, attempts = ?3, next_at = ?4, last_error = ?5, done_at = ?6,
                             recipients = CASE WHEN ?2 = 'sent' THEN '' ELSE recipients END
                         WHERE id = ?1",
                        params![id, state.code(), attempts, ts(next_at), error, done],
                    )?;
                    Ok(())
                })
                .await?;
        }
        Ok(pass)
    }

    async fn send(&self, d: &Due, bytes: &[u8]) -> Outcome {
        let to: Result<Vec<Address>, _> = d.recipients.lines().map(str::parse).collect();
        let envelope = match to.map(|to| Envelope::new(Some(self.sender.clone()), to)) {
            Ok(Ok(envelope)) => envelope,
            Ok(Err(e)) => return Outcome::Refused(format!("no envelope: {e}")),
            Err(e) => return Outcome::Refused(format!("a recipient is not an address: {e}")),
        };
        match self.transport.send_raw(&envelope, bytes).await {
            Ok(_) => {
                tracing::info!(id = %d.id, "mail relay: sent");
                Outcome::Sent
            }
            Err(e) if e.is_permanent() => Outcome::Refused(format!("the relay refused it: {e}")),
            Err(e) => Outcome::Failed(format!("not sent: {e}")),
        }
    }

    /// Messages the relay did not take, newest first (bounded).
    pub async fn dead_letters(&self, limit: u32) -> PortResult<Vec<DeadMail>> {
        self.db
            .call("dead mail", move |conn| {
                let mut stmt = conn.prepare(
                    "SELECT id, attempts, COALESCE(last_error, ''), done_at FROM relay
                     WHERE state = 'dead' ORDER BY done_at DESC LIMIT ?1",
                )?;
                let rows = stmt
                    .query_map([limit], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get::<_, String>(3)?))
                    })?
                    .collect::<Result<Vec<(String, u32, String, String)>, _>>()?;
                rows.into_iter()
                    .map(|(id, attempts, reason, at)| {
                        Ok(DeadMail {
                            id,
                            attempts,
                            reason,
                            at: DateTime::parse_from_rfc3339(&at)
                                .map_err(|e| StoreError::Other(format!("{at}: {e}")))?
                                .with_timezone(&Utc),
                        })
                    })
                    .collect()
            })
            .await
    }

    /// Sends dead letters again with a full set of attempts: one (`id`), or
    /// the oldest hundred. Returns how many were queued.
    pub async fn resend(&self, id: Option<&str>) -> PortResult<usize> {
        let now = ts(self.clock.now());
        let id = id.map(str::to_owned);
        self.db
            .call("resend mail", move |conn| {
                Ok(match id {
                    Some(id) => conn.execute(
                        "UPDATE relay SET state = 'pending', attempts = 0, next_at = ?2, done_at = NULL
                         WHERE id = ?1 AND state = 'dead'",
                        params![id, now],
                    )?,
                    None => conn.execute(
                        "UPDATE relay SET state = 'pending', attempts = 0, next_at = ?1, done_at = NULL
                         WHERE id IN (SELECT id FROM relay WHERE state = 'dead' ORDER BY done_at LIMIT 100)",
                        params![now],
                    )?,
                })
            })
            .await
    }

    /// How many messages wait for the relay (for an operator, and health).
    pub async fn backlog(&self) -> PortResult<(u64, u64)> {
        self.db
            .call("mail backlog", |conn| {
                Ok(conn.query_row(
                    "SELECT (SELECT COUNT(*) FROM relay WHERE state = 'pending'),
                            (SELECT COUNT(*) FROM relay WHERE state = 'dead')",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?)
            })
            .await
    }
}

enum Outcome {
    Sent,
    /// The file is still being written (queued moments ago).
    NotWrittenYet,
    /// For good: kept for an operator at once.
    Refused(String),
    /// Worth another attempt after the backoff.
    Failed(String),
}

fn young(queued_at: &str, now: DateTime<Utc>) -> bool {
    DateTime::parse_from_rfc3339(queued_at).is_ok_and(|t| now - t.with_timezone(&Utc) < WRITE_GRACE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(url: &str) -> SmtpRelayConfig {
        SmtpRelayConfig {
            url: url.into(),
            timeout: StdDuration::from_secs(5),
            ca_file: None,
        }
    }

    #[test]
    fn plain_smtp_only_to_this_machine() {
        assert!(config("smtp://127.0.0.1:2525").validate().is_ok());
        assert!(config("smtp://localhost:25").validate().is_ok());
        assert!(
            config("smtps://csq:secret@relay.customs.example:465")
                .validate()
                .is_ok()
        );
        assert!(
            config("smtp://relay.customs.example:587?tls=required")
                .validate()
                .is_ok()
        );
        let plain = config("smtp://relay.customs.example:25")
            .validate()
            .unwrap_err();
        assert!(plain.to_string().contains("plain SMTP"), "{plain}");
        assert!(config("http://relay.customs.example").validate().is_err());
        assert!(config("relay.customs.example").validate().is_err());
    }

    #[test]
    fn an_authority_ca_is_read_for_a_tls_relay_only() {
        let ca = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../infra/emulator/tls/ca.pem");
        let with_ca = |url: &str, file: &std::path::Path| SmtpRelayConfig {
            ca_file: Some(file.to_owned()),
            ..config(url)
        };
        assert!(
            with_ca("smtps://relay.customs.example:465", &ca)
                .validate()
                .is_ok()
        );
        assert!(
            with_ca("smtp://relay.customs.example:587?tls=required", &ca)
                .validate()
                .is_ok()
        );
        let plain = with_ca("smtp://127.0.0.1:25", &ca).validate().unwrap_err();
        assert!(plain.to_string().contains("over TLS"), "{plain}");
        let missing = with_ca(
            "smtps://relay.customs.example:465",
            &ca.with_file_name("none.pem"),
        )
        .validate()
        .unwrap_err();
        assert!(missing.to_string().contains("none.pem"), "{missing}");
    }
}
