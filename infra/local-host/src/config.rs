//! Configuration of the local host: flags and `CSQ_*` environment variables,
//! with secrets generated on first start and kept in the data directory.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::NaiveTime;
use csq_core::app::Settings;
use csq_core::app::policy_settings::PolicySettings;
use csq_core::auth::link::LinkKeys;
use csq_core::auth::random_secret;
use csq_core::domain::privacy::PrivacyTexts;
use serde::{Deserialize, Serialize};

/// Everything the local host needs to start. `HostConfig::from_env` documents
/// each variable; the README's configuration table lists the same.
#[derive(Debug, Clone)]
pub struct HostConfig {
    pub data_dir: PathBuf,
    pub bind: SocketAddr,
    /// Listen on an address other machines can reach (plain HTTP): only behind
    /// a TLS proxy, and only when asked for (`--allow-public-bind`).
    pub allow_public_bind: bool,
    /// Requests per second each client address may make (None: no limit).
    pub client_limits: Option<crate::limits::ClientLimits>,
    /// The authority's OpenID provider staff sign in at (`CSQ_OIDC_ISSUER`,
    /// `CSQ_OIDC_CLIENT_ID`); None: the one-time code by email.
    pub identity_provider: Option<csq_core::http::IdentityProvider>,
    /// Base URL written into emailed links; defaults to `http://{bind}`.
    pub public_url: Option<String>,
    pub mail_from: String,
    /// The authority's SMTP relay (`CSQ_SMTP_URL`, `CSQ_SMTP_TIMEOUT_SECS`);
    /// None: mail stays in the outbox.
    pub smtp: Option<csq_local::SmtpRelayConfig>,
    /// A backup after each nightly run into this folder (`CSQ_BACKUP_DIR`),
    /// keeping the newest `backup_keep` (`CSQ_BACKUP_KEEP`, 7).
    pub backup_dir: Option<PathBuf>,
    pub backup_keep: usize,
    /// Who may read `/metrics` besides this machine (`CSQ_METRICS_TOKEN`).
    pub metrics_token: Option<String>,
    /// The rules' settings, read as the Lambda functions read them.
    pub policy: PolicySettings,
    /// The department's privacy texts (`CSQ_PRIVACY_FILE`, YAML or JSON);
    /// None: the defaults.
    pub privacy_file: Option<PathBuf>,
    /// Time of day (Asia/Ho_Chi_Minh) of the nightly job; `None` turns it off.
    pub nightly_at: Option<NaiveTime>,
    pub queue_visibility_secs: i64,
    pub queue_max_receives: u32,
    /// How often the complaint router looks at the queue.
    pub router_poll_ms: u64,
}

/// The secrets the local host keeps in `secrets.json` unless given by environment.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Secrets {
    pub integration_key: String,
    /// `kid:secret[,kid:secret...]`, current key first.
    pub link_keys: String,
    pub staff_jwt_secret: String,
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> anyhow::Result<T>
where
    T::Err: std::fmt::Display,
{
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v
            .trim()
            .parse()
            .map_err(|e| anyhow::anyhow!("{name}={v:?} is not valid: {e}")),
        _ => Ok(default),
    }
}

impl HostConfig {
    pub fn from_env() -> anyhow::Result<HostConfig> {
        let nightly = std::env::var("CSQ_NIGHTLY_AT").unwrap_or_else(|_| "01:00".into());
        let nightly_at = match nightly.trim() {
            "" | "off" => None,
            t => Some(
                NaiveTime::parse_from_str(t, "%H:%M")
                    .with_context(|| format!("CSQ_NIGHTLY_AT={t:?} must be HH:MM or off"))?,
            ),
        };
        Ok(HostConfig {
            data_dir: env_or("CSQ_DATA_DIR", PathBuf::from("csq-data"))?,
            bind: env_or("CSQ_BIND", "127.0.0.1:8080".parse()?)?,
            allow_public_bind: env_or("CSQ_ALLOW_PUBLIC_BIND", false)?,
            client_limits: client_limits(
                env_or("CSQ_CLIENT_READS_PER_SEC", 20.0)?,
                env_or("CSQ_CLIENT_WRITES_PER_SEC", 5.0)?,
            ),
            public_url: std::env::var("CSQ_PUBLIC_URL")
                .ok()
                .filter(|s| !s.trim().is_empty()),
            identity_provider: identity_provider(
                std::env::var("CSQ_OIDC_ISSUER").ok(),
                std::env::var("CSQ_OIDC_CLIENT_ID").ok(),
            )?,
            mail_from: env_or(
                "CSQ_MAIL_FROM",
                "CSQ Hải quan <no-reply@csq.localhost>".to_string(),
            )?,
            smtp: match std::env::var("CSQ_SMTP_URL")
                .ok()
                .filter(|u| !u.trim().is_empty())
            {
                Some(url) => {
                    let config = csq_local::SmtpRelayConfig {
                        url,
                        timeout: std::time::Duration::from_secs(env_or(
                            "CSQ_SMTP_TIMEOUT_SECS",
                            30,
                        )?),
                        ca_file: std::env::var("CSQ_SMTP_CA_FILE")
                            .ok()
                            .filter(|f| !f.trim().is_empty())
                            .map(std::path::PathBuf::from),
                    };
                    config.validate()?;
                    Some(config)
                }
                None => None,
            },
            backup_dir: std::env::var("CSQ_BACKUP_DIR")
                .ok()
                .filter(|d| !d.trim().is_empty())
                .map(PathBuf::from),
            backup_keep: env_or("CSQ_BACKUP_KEEP", 7usize)?.max(1),
            metrics_token: std::env::var("CSQ_METRICS_TOKEN")
                .ok()
                .filter(|t| !t.trim().is_empty()),
            policy: PolicySettings::from_lookup(|name| std::env::var(name).ok())?,
            privacy_file: std::env::var("CSQ_PRIVACY_FILE")
                .ok()
                .filter(|f| !f.trim().is_empty())
                .map(PathBuf::from),
            nightly_at,
            queue_visibility_secs: env_or("CSQ_QUEUE_VISIBILITY_SECS", 30)?,
            queue_max_receives: env_or("CSQ_QUEUE_MAX_RECEIVES", 5)?,
            router_poll_ms: env_or("CSQ_ROUTER_POLL_MS", 500)?,
        })
    }

    /// A configuration for tests: everything in `data_dir`, port chosen by the OS.
    pub fn for_tests(data_dir: &Path) -> HostConfig {
        HostConfig {
            data_dir: data_dir.to_owned(),
            bind: "127.0.0.1:0".parse().expect("valid address"),
            allow_public_bind: false,
            client_limits: None,
            public_url: None,
            identity_provider: None,
            mail_from: "CSQ Hải quan <no-reply@csq.localhost>".into(),
            smtp: None,
            backup_dir: None,
            backup_keep: 7,
            metrics_token: None,
            // Tests issue many forms for one business to test other things;
            // the cap's own tests turn it on.
            policy: PolicySettings {
                invitation_cap_days: 0,
                ..PolicySettings::default()
            },
            privacy_file: None,
            nightly_at: None,
            queue_visibility_secs: 1,
            queue_max_receives: 3,
            router_poll_ms: 50,
        }
    }

    pub fn outbox_dir(&self) -> PathBuf {
        self.data_dir.join("outbox")
    }

    /// Loads the secrets: environment first, else `secrets.json`, else new
    /// random ones written there (readable by the owner only).
    pub fn secrets(&self) -> anyhow::Result<Secrets> {
        let path = self.data_dir.join("secrets.json");
        let stored: Option<Secrets> = match std::fs::read_to_string(&path) {
            Ok(s) => Some(
                serde_json::from_str(&s)
                    .with_context(|| format!("{} is not valid", path.display()))?,
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        let stored = match stored {
            Some(s) => s,
            None => {
                let fresh = Secrets {
                    integration_key: random_secret(32),
                    link_keys: format!("k1:{}", random_secret(32)),
                    staff_jwt_secret: random_secret(32),
                };
                std::fs::create_dir_all(&self.data_dir)?;
                write_private(&path, &serde_json::to_string_pretty(&fresh)?)?;
                fresh
            }
        };
        let var = |n: &str| std::env::var(n).ok().filter(|v| !v.trim().is_empty());
        let strong = |n: &str, what: &str| -> anyhow::Result<Option<String>> {
            var(n).map(|v| strong_secret(n, what, v)).transpose()
        };
        Ok(Secrets {
            integration_key: strong("CSQ_INTEGRATION_KEY", "lets its holder issue forms")?
                .unwrap_or(stored.integration_key),
            link_keys: var("CSQ_LINK_KEYS").unwrap_or(stored.link_keys),
            staff_jwt_secret: strong(
                "CSQ_STAFF_JWT_SECRET",
                "signs staff tokens, which open complaints and personal data",
            )?
            .unwrap_or(stored.staff_jwt_secret),
        })
    }

    pub fn settings(&self, bound: SocketAddr, secrets: &Secrets) -> anyhow::Result<Settings> {
        let link_keys = LinkKeys::parse(&secrets.link_keys).context("CSQ_LINK_KEYS")?;
        let url = self
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{bound}"));
        let mut s = Settings::new(&url, link_keys);
        self.policy.apply(&mut s);
        if let Some(file) = &self.privacy_file {
            s.privacy = std::sync::Arc::new(read_privacy_texts(file)?);
        }
        Ok(s)
    }
}

/// The department's privacy texts from a YAML or JSON file, checked.
pub fn read_privacy_texts(file: &Path) -> anyhow::Result<PrivacyTexts> {
    let raw = std::fs::read_to_string(file)
        .with_context(|| format!("CSQ_PRIVACY_FILE {}", file.display()))?;
    let json = if file.extension().is_some_and(|e| e == "yaml" || e == "yml") {
        let value: serde_json::Value = serde_norway::from_str(&raw)
            .with_context(|| format!("CSQ_PRIVACY_FILE {}", file.display()))?;
        value.to_string()
    } else {
        raw
    };
    PrivacyTexts::from_json(&json).with_context(|| format!("CSQ_PRIVACY_FILE {}", file.display()))
}

fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)?;
        f.write_all(contents.as_bytes())?;
        Ok(())
    }
    #[cfg(not(unix))]
    {
        std::fs::write(path, contents)?;
        Ok(())
    }
}

/// The identity provider, when both its issuer and the console's client id are given.
fn identity_provider(
    issuer: Option<String>,
    client_id: Option<String>,
) -> anyhow::Result<Option<csq_core::http::IdentityProvider>> {
    let given = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    match (given(issuer), given(client_id)) {
        (None, None) => Ok(None),
        (Some(issuer), Some(client_id))
            if issuer.starts_with("https://")
                || issuer.starts_with("http://127.0.0.1")
                || issuer.starts_with("http://localhost") =>
        {
            Ok(Some(csq_core::http::IdentityProvider { issuer, client_id }))
        }
        (Some(issuer), Some(_)) => anyhow::bail!(
            "CSQ_OIDC_ISSUER={issuer:?} must be an https:// URL (http only on loopback)"
        ),
        _ => anyhow::bail!("CSQ_OIDC_ISSUER and CSQ_OIDC_CLIENT_ID go together"),
    }
}

/// Per-client limits with a burst of twice the rate; 0 turns a limit off.
fn client_limits(reads: f64, writes: f64) -> Option<crate::limits::ClientLimits> {
    use crate::limits::{ClientLimits, Rate};
    let rate = |r: f64| Rate {
        per_second: if r > 0.0 { r } else { f64::MAX },
        burst: if r > 0.0 {
            (2.0 * r).max(1.0)
        } else {
            f64::MAX
        },
    };
    (reads > 0.0 || writes > 0.0).then(|| ClientLimits {
        reads: rate(reads),
        writes: rate(writes),
    })
}

/// A bind other machines can reach serves plain HTTP to them: staff tokens,
/// rating links and case details in clear text. Refused unless asked for.
pub fn check_bind(bind: SocketAddr, allow_public: bool) -> anyhow::Result<()> {
    if bind.ip().is_loopback() || allow_public {
        return Ok(());
    }
    anyhow::bail!(
        "refusing to listen on {bind}: CSQ serves plain HTTP, so staff tokens, rating links and \
         case details would cross the network unencrypted. Bind 127.0.0.1 (the default), or put \
         a TLS proxy in front and pass --allow-public-bind (CSQ_ALLOW_PUBLIC_BIND=true); the \
         outbox then answers only a department token."
    )
}

/// Bits of entropy a secret given by environment must carry: 32 random bytes.
const SECRET_BITS: f64 = 256.0;

/// Estimates a secret's entropy from its length and the character classes it
/// uses, and refuses one that is too short or too repetitive to be random: a
/// guessable staff secret would let anyone mint a department token.
pub fn strong_secret(name: &str, what: &str, value: String) -> anyhow::Result<String> {
    let v = value.trim();
    let classes = [
        (v.bytes().any(|b| b.is_ascii_lowercase()), 26.0),
        (v.bytes().any(|b| b.is_ascii_uppercase()), 26.0),
        (v.bytes().any(|b| b.is_ascii_digit()), 10.0),
        (v.bytes().any(|b| !b.is_ascii_alphanumeric()), 32.0),
    ];
    let alphabet: f64 = classes
        .iter()
        .filter(|(used, _)| *used)
        .map(|(_, n)| n)
        .sum();
    let bits = v.chars().count() as f64 * alphabet.max(2.0).log2();
    let distinct = v.chars().collect::<std::collections::HashSet<_>>().len();
    if bits < SECRET_BITS || distinct < 16 {
        anyhow::bail!(
            "{name} is too weak (about {bits:.0} bits, {distinct} distinct characters): it {what}. \
             Use 32 random bytes, for example `openssl rand -base64 32` (44 characters), \
             or leave it unset and CSQ generates one in the data directory."
        );
    }
    Ok(v.to_owned())
}

#[cfg(test)]
mod secret_tests {
    use super::strong_secret;

    #[test]
    fn a_public_bind_needs_the_flag() {
        let public: std::net::SocketAddr = "0.0.0.0:8080".parse().unwrap();
        let err = super::check_bind(public, false).unwrap_err().to_string();
        assert!(
            err.contains("plain HTTP") && err.contains("--allow-public-bind"),
            "{err}"
        );
        assert!(super::check_bind(public, true).is_ok());
        assert!(super::check_bind("127.0.0.1:8080".parse().unwrap(), false).is_ok());
        assert!(super::check_bind("[::1]:8080".parse().unwrap(), false).is_ok());
    }

    #[test]
    fn weak_secrets_are_refused_with_the_reason() {
        for weak in [
            "secret",
            "changeme-changeme-changeme-changeme",
            &"a".repeat(100),
            "0123456789abcdef0123456789abcdef", // 32 hex characters: 128 bits
        ] {
            let err = strong_secret("CSQ_STAFF_JWT_SECRET", "signs staff tokens", weak.into())
                .unwrap_err()
                .to_string();
            assert!(err.contains("CSQ_STAFF_JWT_SECRET is too weak"), "{err}");
            assert!(err.contains("openssl rand -base64 32"));
        }
        for strong in [
            "Zx9Qm2Lr7Tc4Vb8Nw1Ys6Hd3Kf5Jg0Pa+Eu/Ri2Oo4Ww=", // base64 of 32 bytes
            "3f9a0c1b7e2d4a6f8b0c2e4d6f8a0b1c3e5d7f9a1b3c5e7d9f0a2b4c6e8d0f1a", // 64 hex
        ] {
            assert!(strong_secret("X", "y", strong.into()).is_ok(), "{strong}");
        }
    }
}
