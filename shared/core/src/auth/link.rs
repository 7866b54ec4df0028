//! Signed, expiring links: `{key id}.{id}.{expiry}.{HMAC-SHA256}`, for a
//! rating form or for a case's outcome. The purpose is part of the signed
//! message, so a form link never opens a case and the other way round.
//!
//! The key id lets keys rotate: new links are signed with the current key while
//! links already in mailboxes still verify with the older keys listed after it.

use std::fmt;

use chrono::{DateTime, Utc};

use super::{b64, hmac_sign, hmac_verify, unb64};

#[derive(Clone)]
pub struct LinkKeys {
    current: String,
    keys: Vec<(String, Vec<u8>)>,
}

/// Keys are secrets: never print them, even in debug output.
impl fmt::Debug for LinkKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LinkKeys")
            .field("current", &self.current)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkKeyError {
    #[error("link keys must look like `kid:secret,kid:secret` with the current key first")]
    Format,
    #[error("link key `{0}` is shorter than 32 bytes")]
    TooShort(String),
}

impl LinkKeys {
    /// Parses `k2:secret2,k1:secret1`: the first key signs, all of them verify.
    pub fn parse(spec: &str) -> Result<LinkKeys, LinkKeyError> {
        let mut keys = Vec::new();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (kid, secret) = part.split_once(':').ok_or(LinkKeyError::Format)?;
            if kid.is_empty() || !kid.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(LinkKeyError::Format);
            }
            if secret.len() < 32 {
                return Err(LinkKeyError::TooShort(kid.to_owned()));
            }
            keys.push((kid.to_owned(), secret.as_bytes().to_vec()));
        }
        let current = keys.first().ok_or(LinkKeyError::Format)?.0.clone();
        Ok(LinkKeys { current, keys })
    }

    fn key(&self, kid: &str) -> Option<&[u8]> {
        self.keys
            .iter()
            .find(|(k, _)| k == kid)
            .map(|(_, s)| s.as_slice())
    }

    fn current_key(&self) -> &[u8] {
        self.key(&self.current).expect("current key is in the list")
    }

    fn message(purpose: LinkPurpose, kid: &str, id: &str, exp: i64) -> Vec<u8> {
        let p = match purpose {
            LinkPurpose::Form => "csq-form-link",
            LinkPurpose::CaseOutcome => "csq-case-outcome-link",
            LinkPurpose::Unsubscribe => "csq-unsubscribe-link",
        };
        format!("{p}|{kid}|{id}|{exp}").into_bytes()
    }

    /// The sampling draw of a declaration (0..`survey::DRAWS`): a keyed hash
    /// of its number under the current key, so nobody without the key can
    /// tell or choose which declarations are asked, and every call for one
    /// number gives the same draw (until the key is rotated).
    pub fn sample_draw(&self, declaration_number: &str) -> u32 {
        let mac = hmac_sign(
            self.current_key(),
            format!("csq-survey-sample|{declaration_number}").as_bytes(),
        );
        let head = u64::from_be_bytes(mac[..8].try_into().expect("a MAC is 32 bytes"));
        u32::try_from(head % u64::from(crate::domain::survey::DRAWS)).unwrap_or(0)
    }

    /// Signs a link token for a form that expires at `expires_at`.
    pub fn sign(&self, form_id: &str, expires_at: DateTime<Utc>) -> String {
        self.sign_for(LinkPurpose::Form, form_id, expires_at)
    }

    /// Checks a form link's signature only; expiry is the caller's decision so
    /// that a genuine but old link gets "expired" rather than "not found".
    pub fn verify(&self, token: &str) -> Result<VerifiedLink, InvalidLink> {
        self.verify_for(LinkPurpose::Form, token)
    }

    pub fn sign_for(&self, purpose: LinkPurpose, id: &str, expires_at: DateTime<Utc>) -> String {
        let exp = expires_at.timestamp();
        let sig = hmac_sign(
            self.current_key(),
            &Self::message(purpose, &self.current, id, exp),
        );
        format!("{}.{}.{}.{}", self.current, id, exp, b64(&sig))
    }

    /// The `form_id` of the answer is the id the link was signed for.
    pub fn verify_for(
        &self,
        purpose: LinkPurpose,
        token: &str,
    ) -> Result<VerifiedLink, InvalidLink> {
        if token.len() > 256 {
            return Err(InvalidLink);
        }
        let mut parts = token.split('.');
        let (Some(kid), Some(form_id), Some(exp), Some(sig), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(InvalidLink);
        };
        let key = self.key(kid).ok_or(InvalidLink)?;
        let exp: i64 = exp.parse().map_err(|_| InvalidLink)?;
        let sig = unb64(sig).ok_or(InvalidLink)?;
        if !hmac_verify(key, &Self::message(purpose, kid, form_id, exp), &sig) {
            return Err(InvalidLink);
        }
        let expires_at = DateTime::from_timestamp(exp, 0).ok_or(InvalidLink)?;
        Ok(VerifiedLink {
            form_id: form_id.to_owned(),
            expires_at,
        })
    }

    /// Whether the token names a key id of these keys (signature unchecked).
    fn knows_key_of(&self, token: &str) -> bool {
        token
            .split_once('.')
            .is_some_and(|(kid, _)| self.key(kid).is_some())
    }

    /// A CSRF token bound to one form and one browser nonce (double-submit cookie).
    pub fn csrf_token(&self, form_id: &str, nonce: &str) -> String {
        b64(&hmac_sign(
            self.current_key(),
            format!("csq-csrf|{form_id}|{nonce}").as_bytes(),
        ))
    }

    pub fn csrf_ok(&self, form_id: &str, nonce: &str, token: &str) -> bool {
        let Some(sig) = unb64(token) else {
            return false;
        };
        let msg = format!("csq-csrf|{form_id}|{nonce}");
        !nonce.is_empty()
            && self
                .keys
                .iter()
                .any(|(_, k)| hmac_verify(k, msg.as_bytes(), &sig))
    }
}

/// Where fresh link keys come from (SSM on AWS). A function keeps its keys
/// for its life; after a rotation it meets links signed with a key it does
/// not know, and reads the keys again rather than refuse them.
#[async_trait::async_trait]
pub trait LinkKeySource: Send + Sync {
    async fn link_keys(&self) -> Result<LinkKeys, Box<dyn std::error::Error + Send + Sync>>;
}

/// The link keys a process uses, re-read from their source when a link names
/// a key id it does not know, at most once a minute (a forged key id must not
/// make every request a call to the source).
pub struct LinkKeyRing {
    keys: std::sync::RwLock<std::sync::Arc<LinkKeys>>,
    source: Option<std::sync::Arc<dyn LinkKeySource>>,
    last_reload: std::sync::Mutex<Option<std::time::Instant>>,
}

/// How often a process may re-read its keys.
pub const KEY_RELOAD_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

impl fmt::Debug for LinkKeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LinkKeyRing")
            .field("keys", &*self.current())
            .field("reloads", &self.source.is_some())
            .finish()
    }
}

impl From<LinkKeys> for LinkKeyRing {
    fn from(keys: LinkKeys) -> Self {
        LinkKeyRing {
            keys: std::sync::RwLock::new(std::sync::Arc::new(keys)),
            source: None,
            last_reload: std::sync::Mutex::new(None),
        }
    }
}

impl LinkKeyRing {
    /// Keys read at start, re-read from `source` when a rotation shows.
    pub fn reloading(keys: LinkKeys, source: std::sync::Arc<dyn LinkKeySource>) -> Self {
        LinkKeyRing {
            source: Some(source),
            ..LinkKeyRing::from(keys)
        }
    }

    fn current(&self) -> std::sync::Arc<LinkKeys> {
        self.keys
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    pub fn sign(&self, form_id: &str, expires_at: DateTime<Utc>) -> String {
        self.current().sign(form_id, expires_at)
    }

    pub fn sample_draw(&self, declaration_number: &str) -> u32 {
        self.current().sample_draw(declaration_number)
    }

    pub fn sign_for(&self, purpose: LinkPurpose, id: &str, expires_at: DateTime<Utc>) -> String {
        self.current().sign_for(purpose, id, expires_at)
    }

    pub fn csrf_token(&self, form_id: &str, nonce: &str) -> String {
        self.current().csrf_token(form_id, nonce)
    }

    /// A CSRF token made by this process or, after a rotation, by another
    /// that already reads the new keys.
    pub async fn csrf_ok(&self, form_id: &str, nonce: &str, token: &str) -> bool {
        self.current().csrf_ok(form_id, nonce, token)
            || (self.reload_if_due().await && self.current().csrf_ok(form_id, nonce, token))
    }

    /// Checks a link; one signed with a key id this process does not know
    /// yet makes it re-read the keys (at most once a minute) and check again.
    pub async fn verify_for(
        &self,
        purpose: LinkPurpose,
        token: &str,
    ) -> Result<VerifiedLink, InvalidLink> {
        let keys = self.current();
        match keys.verify_for(purpose, token) {
            Err(InvalidLink) if !keys.knows_key_of(token) && self.reload_if_due().await => {
                self.current().verify_for(purpose, token)
            }
            answer => answer,
        }
    }

    pub async fn verify(&self, token: &str) -> Result<VerifiedLink, InvalidLink> {
        self.verify_for(LinkPurpose::Form, token).await
    }

    /// Re-reads the keys if there is a source and the last read is a minute
    /// old. True if new keys are in place.
    async fn reload_if_due(&self) -> bool {
        let Some(source) = &self.source else {
            return false;
        };
        {
            let mut last = self
                .last_reload
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if last.is_some_and(|t| t.elapsed() < KEY_RELOAD_INTERVAL) {
                return false;
            }
            *last = Some(std::time::Instant::now());
        }
        match source.link_keys().await {
            Ok(keys) => {
                tracing::info!(current = %keys.current, "link keys re-read after an unknown key id");
                *self
                    .keys
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = std::sync::Arc::new(keys);
                true
            }
            Err(e) => {
                tracing::warn!(error = %e, "link keys could not be re-read");
                false
            }
        }
    }
}

/// What a link opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    Form,
    CaseOutcome,
    /// The one-click opt-out of a form's invitations (signed for the form).
    Unsubscribe,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedLink {
    pub form_id: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the link is not valid")]
pub struct InvalidLink;

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    const K1: &str = "k1:0123456789abcdef0123456789abcdef";
    const K2: &str = "k2:fedcba9876543210fedcba9876543210";

    #[test]
    fn sign_and_verify() {
        let keys = LinkKeys::parse(K1).unwrap();
        let exp = DateTime::from_timestamp(Utc::now().timestamp() + 3600, 0).unwrap();
        let token = keys.sign("form123", exp);
        assert!(token.starts_with("k1.form123."));
        let v = keys.verify(&token).unwrap();
        assert_eq!(v.form_id, "form123");
        assert_eq!(v.expires_at, exp);
    }

    #[test]
    fn tampering_is_rejected() {
        let keys = LinkKeys::parse(K1).unwrap();
        let exp = Utc::now() + Duration::days(7);
        let token = keys.sign("form123", exp);
        let parts: Vec<&str> = token.split('.').collect();
        let later = (exp + Duration::days(30)).timestamp().to_string();
        let forged = [
            format!("{}.{}.{}.{}", parts[0], "form124", parts[2], parts[3]),
            format!("{}.{}.{}.{}", parts[0], parts[1], later, parts[3]),
            format!("{}.{}.{}.{}", "k9", parts[1], parts[2], parts[3]),
            format!("{}.{}.{}.{}x", parts[0], parts[1], parts[2], parts[3]),
            format!("{token}.extra"),
            String::new(),
            "garbage".into(),
        ];
        for f in forged {
            assert_eq!(keys.verify(&f), Err(InvalidLink), "{f}");
        }
        let other = LinkKeys::parse(K2).unwrap();
        assert_eq!(other.verify(&token), Err(InvalidLink));
    }

    #[test]
    fn a_form_link_never_opens_a_case_outcome() {
        let keys = LinkKeys::parse(K1).unwrap();
        let exp = Utc::now() + Duration::days(7);
        let form = keys.sign("abc", exp);
        assert_eq!(
            keys.verify_for(LinkPurpose::CaseOutcome, &form),
            Err(InvalidLink)
        );
        let case = keys.sign_for(LinkPurpose::CaseOutcome, "abc", exp);
        assert_eq!(keys.verify(&case), Err(InvalidLink));
        assert_eq!(
            keys.verify_for(LinkPurpose::CaseOutcome, &case)
                .unwrap()
                .form_id,
            "abc"
        );
    }

    #[test]
    fn rotation_keeps_old_links_valid() {
        let old = LinkKeys::parse(K1).unwrap();
        let token = old.sign("f", Utc::now());
        let rotated = LinkKeys::parse(&format!("{K2},{K1}")).unwrap();
        assert!(rotated.verify(&token).is_ok());
        assert!(rotated.sign("f", Utc::now()).starts_with("k2."));
    }

    #[test]
    fn keys_must_be_long_and_well_formed() {
        assert_eq!(
            LinkKeys::parse("k1:short").unwrap_err(),
            LinkKeyError::TooShort("k1".into())
        );
        assert_eq!(LinkKeys::parse("").unwrap_err(), LinkKeyError::Format);
        assert_eq!(
            LinkKeys::parse("nocolon").unwrap_err(),
            LinkKeyError::Format
        );
        assert!(!format!("{:?}", LinkKeys::parse(K1).unwrap()).contains("0123456789"));
    }

    #[test]
    fn csrf_is_bound_to_form_and_nonce() {
        let keys = LinkKeys::parse(K1).unwrap();
        let t = keys.csrf_token("f1", "nonce");
        assert!(keys.csrf_ok("f1", "nonce", &t));
        assert!(!keys.csrf_ok("f2", "nonce", &t));
        assert!(!keys.csrf_ok("f1", "other", &t));
        assert!(!keys.csrf_ok("f1", "", &keys.csrf_token("f1", "")));
        assert!(!keys.csrf_ok("f1", "nonce", "!!"));
    }
}
