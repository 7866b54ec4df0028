//! The local mailer: every email becomes an `.eml` file in an outbox folder,
//! readable by any mail program and by the local host's outbox page. Where
//! the authority's SMTP relay is configured, each is also queued for it
//! (`relay.rs`), before its file is written, so none is lost between the two.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use csq_core::app::emails::{check_sender, to_mime};
use csq_core::ports::{MailError, Mailer, OutgoingEmail};

#[derive(Clone)]
pub struct OutboxMailer {
    dir: PathBuf,
    from: String,
    relay: Option<crate::relay::MailRelay>,
}

impl OutboxMailer {
    /// `from` is a mailbox such as `CSQ Hải quan <no-reply@csq.example>`.
    pub fn new(dir: &Path, from: &str) -> anyhow::Result<OutboxMailer> {
        std::fs::create_dir_all(dir)?;
        check_sender(from)
            .map_err(|e| anyhow::anyhow!("sender address {from:?} is not valid: {e}"))?;
        Ok(OutboxMailer {
            dir: dir.to_owned(),
            from: from.to_owned(),
            relay: None,
        })
    }

    /// Every message also goes out through the relay.
    pub fn with_relay(mut self, relay: crate::relay::MailRelay) -> OutboxMailer {
        self.relay = Some(relay);
        self
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

#[async_trait]
impl Mailer for OutboxMailer {
    async fn send(&self, email: &OutgoingEmail) -> Result<String, MailError> {
        let bytes = to_mime(email, &self.from)?;
        // Sortable by time, unique by the random part.
        let id = format!(
            "{}-{}",
            chrono::Utc::now().format("%Y%m%dT%H%M%S%6fZ"),
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        if let Some(relay) = &self.relay {
            relay
                .enqueue(&id, std::slice::from_ref(&email.to))
                .await
                .map_err(|e| MailError::Transient(format!("relay queue: {e}")))?;
        }
        let final_path = self.dir.join(format!("{id}.eml"));
        let tmp_path = self.dir.join(format!(".{id}.eml.tmp"));
        // Write then rename: a reader never sees half an email.
        tokio::fs::write(&tmp_path, &bytes)
            .await
            .map_err(|e| MailError::Transient(format!("outbox write: {e}")))?;
        tokio::fs::rename(&tmp_path, &final_path)
            .await
            .map_err(|e| MailError::Transient(format!("outbox rename: {e}")))?;
        tracing::info!(file = %final_path.display(), "email written to outbox");
        Ok(id)
    }
}
