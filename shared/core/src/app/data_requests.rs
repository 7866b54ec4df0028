//! A person's requests about their data (Decree 13/2023 and the Law on
//! Personal Data Protection): the department finds everything held about an
//! email address or a phone number (forms, cases, the suppression list),
//! exports it, or erases it. The case, its finding and its trail stay,
//! anonymised as retention does at its limit. The console and the CLI both
//! come here; every request is audited by the person's key, never the
//! address or number.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::Settings;
use crate::domain::audit::AuditEntry;
use crate::domain::case::{Case, CaseKind};
use crate::domain::form::Form;
use crate::domain::privacy::person::PersonQuery;
use crate::domain::suppression::address_key;
use crate::ports::{
    AuditLog, CaseStore, Clock, FormStore, HeldRecord, PersonIndex, PortError, Store,
    SuppressionList, UpdateCaseOutcome,
};

/// The most records one request reads; a person holding more is read (and
/// erased) in further rounds, each bounded.
pub const RECORDS_PER_READ: u32 = 1000;
/// Rounds of an erasure: a business with fifty thousand forms is erased by
/// one request, and no request runs without a bound.
const ERASE_ROUNDS: usize = 50;

/// A rating as its author gave it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeldRating {
    pub subject: String,
    pub level: u8,
    pub reasons: Vec<String>,
    pub comment: Option<String>,
}

/// A form as the person reads what it holds about them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeldForm {
    pub form_id: String,
    pub declaration_number: String,
    pub customs_office: String,
    pub business: String,
    pub email: String,
    pub issued_at: DateTime<Utc>,
    pub status: String,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    pub ratings: Vec<HeldRating>,
    pub overall_comment: Option<String>,
    pub suggestion: Option<String>,
}

/// A case as the person reads what it holds about them: their own words
/// and the answer they were given, never who handled it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeldCase {
    pub case_id: String,
    pub kind: CaseKind,
    pub status: String,
    pub declaration_number: String,
    pub opened_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub email: String,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    pub finding: Option<String>,
}

/// An address on the suppression list (only an email address can be).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeldSuppression {
    pub reason: String,
    pub since: DateTime<Utc>,
}

/// Everything held about one person.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeldData {
    /// `email` or `phone`: what the person was found by.
    pub by: &'static str,
    pub forms: Vec<HeldForm>,
    pub cases: Vec<HeldCase>,
    pub suppression: Option<HeldSuppression>,
    /// More records than one read holds: the export lists the first
    /// `RECORDS_PER_READ` (an erasure reaches them all).
    pub truncated: bool,
}

/// What an erasure did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Erasure {
    pub forms_erased: usize,
    pub cases_anonymised: usize,
}

#[derive(Clone)]
pub struct DataRequests {
    forms: Arc<dyn FormStore>,
    cases: Arc<dyn CaseStore>,
    index: Arc<dyn PersonIndex>,
    suppressions: Arc<dyn SuppressionList>,
    audit: Arc<dyn AuditLog>,
    clock: Arc<dyn Clock>,
    settings: Arc<Settings>,
}

impl DataRequests {
    pub fn new(store: &Arc<dyn Store>, clock: Arc<dyn Clock>, settings: Arc<Settings>) -> Self {
        DataRequests {
            forms: store.clone(),
            cases: store.clone(),
            index: store.clone(),
            suppressions: store.clone(),
            audit: store.clone(),
            clock,
            settings,
        }
    }

    /// Everything held about the person (`what`: `personal-data-find` or
    /// `personal-data-export`, as the audit log says it).
    pub async fn find(
        &self,
        by: &str,
        person: &PersonQuery,
        what: &str,
    ) -> Result<HeldData, PortError> {
        let key = person.key();
        self.record(by, what, &key).await?;
        let records = self
            .index
            .records_of_person(&key, RECORDS_PER_READ + 1)
            .await?;
        let truncated = records.len() > RECORDS_PER_READ as usize;
        let mut held = HeldData {
            by: person.kind(),
            forms: vec![],
            cases: vec![],
            suppression: None,
            truncated,
        };
        for r in records.iter().take(RECORDS_PER_READ as usize) {
            match r {
                // An entry whose record no longer holds this person's data
                // (erased, anonymised) shows nothing.
                HeldRecord::Form(id) => {
                    if let Some(f) = self.forms.form(id).await?
                        && f.person_keys().contains(&key)
                    {
                        held.forms.push(held_form(&f));
                    }
                }
                HeldRecord::Case(id) => {
                    if let Some(c) = self.cases.case(id).await?
                        && c.person_keys().contains(&key)
                    {
                        held.cases.push(held_case(&c));
                    }
                }
            }
        }
        if let PersonQuery::Email(address) = person {
            held.suppression = self
                .suppressions
                .suppressed(&address_key(address))
                .await?
                .map(|s| HeldSuppression {
                    reason: s.reason.code().to_owned(),
                    since: s.at,
                });
        }
        Ok(held)
    }

    /// Erases the person's data from every form and case that holds it;
    /// running it again erases nothing more. The suppression entry stays: it
    /// holds no address, only a keyed hash, and keeps the opt-out honoured.
    pub async fn erase(&self, by: &str, person: &PersonQuery) -> Result<Erasure, PortError> {
        let key = person.key();
        self.record(by, "personal-data-erase", &key).await?;
        let mut done = Erasure::default();
        for _ in 0..ERASE_ROUNDS {
            let records = self.index.records_of_person(&key, RECORDS_PER_READ).await?;
            if records.is_empty() {
                break;
            }
            for r in &records {
                match r {
                    HeldRecord::Form(id) => {
                        if self.forms.erase_personal_data(id).await? {
                            done.forms_erased += 1;
                        }
                    }
                    HeldRecord::Case(id) => {
                        if self.erase_case(id, by).await? {
                            done.cases_anonymised += 1;
                        }
                    }
                }
            }
            self.index.unindex_person(&key, &records).await?;
        }
        tracing::info!(?done, "personal data erased on request");
        Ok(done)
    }

    /// Anonymises one case, again if someone changed it meanwhile.
    async fn erase_case(&self, id: &str, by: &str) -> Result<bool, PortError> {
        for _ in 0..5 {
            let Some(case) = self.cases.case(id).await? else {
                return Ok(false);
            };
            let Some((next, event)) = case.erase_personal_data(self.clock.now(), by) else {
                return Ok(false);
            };
            if self
                .cases
                .update_case(&next, case.version, &event, &[])
                .await?
                == UpdateCaseOutcome::Updated
            {
                return Ok(true);
            }
        }
        Err(PortError::new(
            "erase case",
            std::io::Error::other(format!("case {id} kept changing")),
        ))
    }

    async fn record(&self, by: &str, what: &str, key: &str) -> Result<(), PortError> {
        let now = self.clock.now();
        self.audit
            .record(&AuditEntry::step(
                by,
                what,
                vec![key.to_owned()],
                now,
                self.settings.audit_retention,
            ))
            .await
    }
}

fn held_form(f: &Form) -> HeldForm {
    let s = f.submission.as_ref();
    let contact = s.and_then(|s| s.contact.as_ref());
    HeldForm {
        form_id: f.id.clone(),
        declaration_number: f.declaration.number.to_string(),
        customs_office: f.declaration.customs_office.to_string(),
        business: f.business.name.to_string(),
        email: f.business.email.to_string(),
        issued_at: f.issued_at,
        status: f.status.code().to_owned(),
        contact_name: contact.map(|c| c.name.to_string()),
        contact_phone: contact.map(|c| c.phone.clone()),
        ratings: s
            .map(|s| {
                s.ratings
                    .iter()
                    .map(|r| HeldRating {
                        subject: r.subject_key.clone(),
                        level: r.level.value(),
                        reasons: r.reasons.iter().map(|x| x.code().to_owned()).collect(),
                        comment: r.comment.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        overall_comment: s.and_then(|s| s.overall_comment.clone()),
        suggestion: s.and_then(|s| s.suggestion.clone()),
    }
}

fn held_case(c: &Case) -> HeldCase {
    let contact = c.complaint.contact.as_ref();
    HeldCase {
        case_id: c.id.clone(),
        kind: c.kind,
        status: c.status.code().to_owned(),
        declaration_number: c.complaint.declaration_number.clone(),
        opened_at: c.opened_at,
        closed_at: c.closed_at,
        email: c.complaint.business.email.to_string(),
        contact_name: contact.map(|x| x.name.to_string()),
        contact_phone: contact.map(|x| x.phone.clone()),
        finding: c.finding.clone(),
    }
}
