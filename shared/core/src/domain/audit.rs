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
