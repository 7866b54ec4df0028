//! The suppression list: business addresses that get no invitation or
//! reminder (they opted out, or the mail service reported a hard bounce or a
//! spam complaint). Forms are still issued and can be rated in-app.
//!
//! The list keeps a keyed hash of each address, not the address: it outlives
//! every form and must not become a store of business email addresses.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SuppressionReason {
    /// The business used the one-click opt-out of an invitation or reminder.
    OptedOut,
    /// The mail service reported a permanent bounce.
    Bounced,
    /// The recipient marked a message as spam.
    Complained,
    /// Entered by the IT unit (`csq suppress`).
    Staff,
}

impl SuppressionReason {
    pub fn code(self) -> &'static str {
        match self {
            SuppressionReason::OptedOut => "opted_out",
            SuppressionReason::Bounced => "bounced",
            SuppressionReason::Complained => "complained",
            SuppressionReason::Staff => "staff",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suppression {
    /// `address_key` of the address.
    pub key: String,
    pub reason: SuppressionReason,
    pub at: DateTime<Utc>,
}

impl Suppression {
    pub fn new(address: &str, reason: SuppressionReason, at: DateTime<Utc>) -> Suppression {
        Suppression {
            key: address_key(address),
            reason,
            at,
        }
    }
}

/// The list's key for an address: SHA-256 of the trimmed, lower-cased address
/// under a fixed label. Case differences in what the declaration system sends
/// must not defeat an opt-out.
pub fn address_key(address: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"csq-suppression-v1:");
    h.update(address.trim().to_lowercase().as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_ignores_case_and_spaces_and_hides_the_address() {
        let k = address_key("XNK@abc.com.vn ");
        assert_eq!(k, address_key("xnk@ABC.com.vn"));
        assert_ne!(k, address_key("other@abc.com.vn"));
        assert_eq!(k.len(), 64);
        assert!(!k.contains("abc"));
    }
}
