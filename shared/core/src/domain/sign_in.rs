//! Signing staff in on one machine without an identity provider: a one-time
//! code mailed to an address, then a session. The rules (how long a code
//! lives, how many tries, how often one may be sent, how long a session
//! lasts) are here; the store keeps the records and the hosts the cookie.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::time::has_passed;

/// A code can be used for ten minutes.
pub const CODE_LIFETIME: Duration = Duration::minutes(10);
/// Wrong codes before the code is dead and a new one must be asked for.
pub const CODE_TRIES: u32 = 5;
/// Codes one address may be sent in `CODE_WINDOW`: enough to retry, too few
/// to flood a mailbox.
pub const CODES_PER_WINDOW: usize = 3;
pub const CODE_WINDOW: Duration = Duration::minutes(15);
/// A session lasts a working day at most, and ends after half an hour idle.
pub const SESSION_LIFETIME: Duration = Duration::hours(10);
pub const SESSION_IDLE: Duration = Duration::minutes(30);

/// The stored form of a secret (a code, a session token): a hash, so the
/// database gives no one a way in.
pub fn secret_hash(purpose: &str, secret: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"csq-sign-in-v1:");
    h.update(purpose.as_bytes());
    h.update(b":");
    h.update(secret.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Six random digits.
pub fn new_code() -> String {
    use rand::Rng;
    format!("{:06}", rand::rng().random_range(0..1_000_000u32))
}

/// The one-time code of an address (kept by the address's keyed hash), with
/// the times codes were sent to it lately.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInCode {
    pub address_key: String,
    pub code_hash: String,
    pub expires_at: DateTime<Utc>,
    pub tries_left: u32,
    /// When codes were sent in the last window (the newest last).
    pub sent: Vec<DateTime<Utc>>,
    /// Bumped on every change: writes are conditional on it.
    pub version: u32,
}

/// What a code entered meets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeCheck {
    Accepted,
    Wrong,
    /// Past its ten minutes, or out of tries: ask for a new one.
    Dead,
}

impl SignInCode {
    /// A new code for an address, after `previous` (its send times carry over).
    /// None: the address had its codes for this window.
    pub fn issue(
        address_key: &str,
        code: &str,
        previous: Option<&SignInCode>,
        now: DateTime<Utc>,
    ) -> Option<SignInCode> {
        let mut sent: Vec<DateTime<Utc>> = previous
            .map(|p| p.sent.clone())
            .unwrap_or_default()
            .into_iter()
            .filter(|t| !has_passed(*t + CODE_WINDOW, now))
            .collect();
        if sent.len() >= CODES_PER_WINDOW {
            return None;
        }
        sent.push(now);
        Some(SignInCode {
            address_key: address_key.to_owned(),
            code_hash: secret_hash(address_key, code),
            expires_at: now + CODE_LIFETIME,
            tries_left: CODE_TRIES,
            sent,
            version: previous.map_or(0, |p| p.version + 1),
        })
    }

    /// Until when the record matters (the code's life, the send window).
    pub fn keep_until(&self) -> DateTime<Utc> {
        let window_ends = self.sent.last().map(|t| *t + CODE_WINDOW);
        window_ends.map_or(self.expires_at, |w| w.max(self.expires_at))
    }

    /// Checks an entered code; the caller stores `after` (one try fewer, or
    /// the code spent) before it acts on the answer.
    pub fn check(&self, code: &str, now: DateTime<Utc>) -> (CodeCheck, SignInCode) {
        let mut after = self.clone();
        after.version += 1;
        if self.tries_left == 0 || has_passed(self.expires_at, now) {
            return (CodeCheck::Dead, after);
        }
        if secret_hash(&self.address_key, code.trim()) == self.code_hash {
            // Spent: a code signs in once.
            after.tries_left = 0;
            return (CodeCheck::Accepted, after);
        }
        after.tries_left -= 1;
        (CodeCheck::Wrong, after)
    }
}

/// A signed-in person's session (kept by its token's hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffSession {
    pub token_hash: String,
    /// The address the code went to: who the person is.
    pub email: String,
    pub started_at: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
}

impl StaffSession {
    pub fn start(token: &str, email: &str, now: DateTime<Utc>) -> StaffSession {
        StaffSession {
            token_hash: secret_hash("session", token),
            email: email.trim().to_lowercase(),
            started_at: now,
            last_seen: now,
        }
    }

    /// When it ends if nothing happens: idle time or the day's limit.
    pub fn ends_at(&self) -> DateTime<Utc> {
        (self.last_seen + SESSION_IDLE).min(self.started_at + SESSION_LIFETIME)
    }

    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        !has_passed(self.ends_at(), now)
    }

    /// Worth writing `last_seen` again (not on every request of a burst).
    pub fn needs_touch(&self, now: DateTime<Utc>) -> bool {
        now - self.last_seen >= Duration::minutes(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(min: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap() + Duration::minutes(min)
    }

    #[test]
    fn a_code_signs_in_once_within_ten_minutes_and_five_tries() {
        let code = SignInCode::issue("k", "123456", None, t(0)).unwrap();
        assert_eq!(code.check("123456", t(9)).0, CodeCheck::Accepted);
        let (_, spent) = code.check("123456", t(1));
        assert_eq!(spent.check("123456", t(2)).0, CodeCheck::Dead, "once");
        assert_eq!(
            code.check("123456", t(10)).0,
            CodeCheck::Dead,
            "ten minutes"
        );
        let mut c = code.clone();
        for _ in 0..CODE_TRIES {
            let (answer, after) = c.check("000000", t(1));
            assert_eq!(answer, CodeCheck::Wrong);
            c = after;
        }
        assert_eq!(c.check("123456", t(1)).0, CodeCheck::Dead, "out of tries");
        assert!(c.version > code.version, "every try is a conditional write");
    }

    #[test]
    fn an_address_gets_three_codes_a_quarter_hour() {
        let mut previous = None;
        for m in 0..3 {
            previous = SignInCode::issue("k", "1", previous.as_ref(), t(m));
            assert!(previous.is_some());
        }
        assert!(SignInCode::issue("k", "1", previous.as_ref(), t(5)).is_none());
        assert!(SignInCode::issue("k", "1", previous.as_ref(), t(15)).is_some());
    }

    #[test]
    fn a_session_ends_after_idle_time_or_a_working_day() {
        let mut s = StaffSession::start("tok", "Head@Customs.test", t(0));
        assert_eq!(s.email, "head@customs.test");
        assert!(s.is_live(t(29)) && !s.is_live(t(30)));
        for m in (25..600).step_by(25) {
            s.last_seen = t(m);
            assert!(s.is_live(t(m + 1)));
        }
        s.last_seen = t(599);
        assert!(!s.is_live(t(600)), "ten hours at most");
        assert_ne!(s.token_hash, "tok");
    }
}
