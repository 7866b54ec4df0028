//! The record of staff reading personal data: who, in which role, when, what
//! (record ids, never contents).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: String,
    pub at: DateTime<Utc>,
    /// The staff member's subject (their login).
    pub who: String,
    pub role: String,
    pub unit: Option<String>,
    /// What was read: `forms`, `ratings`, `cases`, `case`.
    pub what: String,
    /// The ids of the records returned (form ids, `form:subject` keys, case ids).
    pub records: Vec<String>,
    /// Deleted after this (TTL on DynamoDB).
    pub keep_until: DateTime<Utc>,
}

impl AuditEntry {
    /// A step taken by `who` outside a role's reading of records (a sign-in,
    /// a change to the suppression list, a person's data request), kept for
    /// `retention`.
    pub fn step(
        who: &str,
        what: &str,
        records: Vec<String>,
        now: DateTime<Utc>,
        retention: chrono::Duration,
    ) -> AuditEntry {
        AuditEntry {
            id: uuid::Uuid::new_v4().simple().to_string(),
            at: now,
            who: who.to_owned(),
            role: String::new(),
            unit: None,
            what: what.to_owned(),
            records,
            keep_until: now + retention,
        }
    }
}
