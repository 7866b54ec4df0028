//! The single table's key schema. The SAM template declares the same names; a
//! test reads template.yaml and checks they agree.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};

pub const PK: &str = "PK";
pub const SK: &str = "SK";
/// Overloaded day index: forms by issue day, ratings by submission day, cases
/// by open day, handling ratings by the day given.
pub const GSI1: &str = "GSI1";
/// Cases of a unit, sorted by status then due date.
pub const GSI2: &str = "GSI2";
/// Sparse work lists: open cases by due date, closed cases holding personal
/// data by its limit, complaints waiting in the outbox.
pub const GSI3: &str = "GSI3";
/// Cases by close day.
pub const GSI4: &str = "GSI4";
/// Every index, with its partition and sort key attribute names.
pub const INDEXES: [(&str, &str, &str); 4] = [
    (GSI1, "GSI1PK", "GSI1SK"),
    (GSI2, "GSI2PK", "GSI2SK"),
    (GSI3, "GSI3PK", "GSI3SK"),
    (GSI4, "GSI4PK", "GSI4SK"),
];
/// Epoch seconds after which DynamoDB deletes the item (personal data retention).
pub const TTL: &str = "ttl";
/// Optimistic-locking revision of form items.
pub const REV: &str = "rev";

pub fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub fn form_pk(id: &str) -> String {
    format!("FORM#{id}")
}
pub fn decl_pk(number: &str) -> String {
    format!("DECL#{number}")
}
/// When a business (by tax code) was last emailed (SK `INVITED`).
pub fn business_pk(tax_code: &str) -> String {
    format!("BUSINESS#{tax_code}")
}
/// A person's index entries (SK `FORM#id` or `CASE#id`), by a keyed hash.
pub fn person_pk(key: &str) -> String {
    format!("PERSON#{key}")
}
/// An event waiting in the event outbox (SK `OUTBOX`).
pub fn event_pk(id: &str) -> String {
    format!("EVENT#{id}")
}
pub fn case_pk(id: &str) -> String {
    format!("CASE#{id}")
}
pub fn issued_day(day: NaiveDate) -> String {
    format!("ISSUED#{day}")
}
pub fn rated_day(day: NaiveDate) -> String {
    format!("RATED#{day}")
}
pub fn opened_day(day: NaiveDate) -> String {
    format!("OPENED#{day}")
}
/// Handling ratings by the day the business gave them.
pub fn handling_rated_day(day: NaiveDate) -> String {
    format!("HANDLED#{day}")
}
pub fn closed_day(day: NaiveDate) -> String {
    format!("CLOSED#{day}")
}
/// One item per suppressed address, keyed by its hash (`domain::suppression`).
pub fn suppression_pk(key: &str) -> String {
    format!("SUPPRESS#{key}")
}
pub fn unit_pk(unit: &str) -> String {
    format!("UNIT#{unit}")
}
/// Audit entries of one Vietnamese calendar day (a day's reads by staff are few).
pub fn audit_pk(day: NaiveDate) -> String {
    format!("AUDIT#{day}")
}
/// The early-warning reports sit in a statistics partition of their own (the
/// nightly function may write STATS# items; `!` sorts before every unit key).
pub const WARNINGS_UNIT: &str = "!warnings";
pub fn stats_pk(unit: &str) -> String {
    format!("STATS#{unit}")
}
pub const OPEN_CASES: &str = "OPENCASE";
pub const CASES_HOLDING_PERSONAL_DATA: &str = "CASEPII";
/// The case rules live beside the directory: the department maintains both.
pub const CASE_RULES_SK: &str = "CASE_RULES";
pub const OUTBOX: &str = "OUTBOX";
/// The GSI3 partition of events in the event outbox.
pub const EVENT_OUTBOX: &str = "EVENTS";
pub const AWAITING_INVITATION: &str = "INVITE";
pub const ORG_PK: &str = "ORG";
pub const ORG_SK: &str = "CURRENT";
