//! Ports: what the core needs from the outside world, one small trait per
//! capability. Every storage method maps to one DynamoDB GetItem, Query,
//! conditional write or transaction on one table (no Scan, no joins); the
//! embedded adapter keeps the same contract. `csq-contract` checks both.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use crate::domain::audit::AuditEntry;
use crate::domain::case::rules::StoredCaseRules;
use crate::domain::case::{Case, CaseEvent, CaseStatus, HandlingRatingRecord};
use crate::domain::complaint::Complaint;
use crate::domain::event::Event;
use crate::domain::form::{
    AddHandlingRefused, Form, InvitationResult, LaterHandling, RatingRecord, Submission,
};
use crate::domain::org::{OrgDirectory, OrgVersion, StoredOrg};
use crate::domain::report::WarningReport;
use crate::domain::sign_in::{SignInCode, StaffSession};
use crate::domain::stats::DailyStats;
use crate::domain::suppression::Suppression;
use crate::domain::webhook::{Delivery, Webhook};

/// A storage or transport failure the caller cannot fix by changing its input.
#[derive(Debug, thiserror::Error)]
#[error("{context}: {source}")]
pub struct PortError {
    pub context: String,
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

impl PortError {
    pub fn new(
        context: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        PortError {
            context: context.into(),
            source: source.into(),
        }
    }
}

impl PortError {
    /// A page cursor the store cannot use (made up, damaged, or from another
    /// listing): the caller's mistake, answered with 400, not an outage.
    pub fn bad_cursor(context: impl Into<String>) -> Self {
        PortError::new(context, BadCursor)
    }

    pub fn is_bad_cursor(&self) -> bool {
        self.source.downcast_ref::<BadCursor>().is_some()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the cursor is not one this listing gave out")]
pub struct BadCursor;

pub type PortResult<T> = Result<T, PortError>;

/// One page of a Query. `next` is an opaque cursor for the following page.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageRequest {
    pub after: Option<String>,
    pub limit: u32,
}

impl PageRequest {
    pub fn first(limit: u32) -> Self {
        PageRequest { after: None, limit }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum InsertFormOutcome {
    Created,
    /// This declaration already has a form: here it is, unchanged.
    Exists(Box<Form>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum AddHandlingOutcome {
    /// `added` records joined the form (0: it had them all already).
    Added {
        added: usize,
        form: Box<Form>,
    },
    Refused(AddHandlingRefused),
    NotFound,
}

impl AddHandlingOutcome {
    /// Applies `Form::add_handling` to the stored form inside a store's
    /// conditional write: the outcome, and whether the form must be written.
    pub fn apply(form: &mut Form, later: &LaterHandling, now: DateTime<Utc>) -> (Self, bool) {
        match form.add_handling(later, now) {
            Ok(added) => (
                AddHandlingOutcome::Added {
                    added,
                    form: Box::new(form.clone()),
                },
                added > 0,
            ),
            Err(refused) => (AddHandlingOutcome::Refused(refused), false),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubmitOutcome {
    Stored,
    AlreadySubmitted,
    Expired,
    NotFound,
}

impl From<crate::domain::form::SubmitRefused> for SubmitOutcome {
    fn from(r: crate::domain::form::SubmitRefused) -> Self {
        match r {
            crate::domain::form::SubmitRefused::AlreadySubmitted => SubmitOutcome::AlreadySubmitted,
            crate::domain::form::SubmitRefused::Expired => SubmitOutcome::Expired,
        }
    }
}

/// Everything a submission writes, in one all-or-nothing step.
#[derive(Debug, Clone)]
pub struct SubmissionWrite {
    pub form_id: String,
    pub submitted_at: DateTime<Utc>,
    pub submission: Submission,
    pub ratings: Vec<RatingRecord>,
    /// Written to the complaint outbox in the same transaction, so a complaint is
    /// never lost between storing the ratings and reaching the queue.
    pub complaint: Option<Complaint>,
    /// Written to the event outbox in the same transaction (`EventOutbox`).
    pub events: Vec<Event>,
}

impl SubmissionWrite {
    /// What storing `submission` of `form` at `now` writes: its ratings, its
    /// complaint if it makes one, and the `rating.submitted` event.
    pub fn new(form: &Form, submission: Submission, now: DateTime<Utc>) -> SubmissionWrite {
        let complaint = Complaint::from_submission(form, &submission, now);
        let submitted = Event::rating_submitted(form, &submission, now, complaint.as_ref());
        SubmissionWrite {
            form_id: form.id.clone(),
            submitted_at: now,
            ratings: RatingRecord::from_submission(form, &submission, now),
            submission,
            complaint,
            events: vec![submitted],
        }
    }
}

#[async_trait]
pub trait FormStore: Send + Sync {
    /// Conditional put keyed by declaration number (DECL#number) and form id.
    async fn insert_form(&self, form: &Form) -> PortResult<InsertFormOutcome>;
    /// GetItem FORM#id.
    async fn form(&self, form_id: &str) -> PortResult<Option<Form>>;
    /// GetItem DECL#key, then its form: the form stored under
    /// `Form::declaration_key` (a declaration's first form, or its n-th).
    async fn form_of_declaration(&self, key: &str) -> PortResult<Option<Form>>;
    /// Conditional update applying `Form::add_handling` (later stages).
    async fn add_handling(
        &self,
        form_id: &str,
        later: &LaterHandling,
        now: DateTime<Utc>,
    ) -> PortResult<AddHandlingOutcome>;
    /// Conditional update: takes the right to send the invitation until `until`,
    /// if it is not sent and nobody else holds an unexpired claim. True if taken.
    async fn claim_invitation(
        &self,
        form_id: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> PortResult<bool>;
    /// Query the sparse index of forms that await their invitation, oldest first.
    async fn pending_invitations(&self, limit: u32) -> PortResult<Vec<Form>>;
    /// Conditional update: records how the claimed send went (see
    /// `Form::finish_invitation`), and puts the event that returns in the
    /// event outbox in the same write. Returns that event.
    async fn finish_invitation(
        &self,
        form_id: &str,
        result: InvitationResult,
    ) -> PortResult<Option<Event>>;
    /// Transaction: the form goes from issued (and not expired at `submitted_at`) to
    /// submitted, its rating records and any complaint outbox entry are put.
    async fn submit(&self, write: &SubmissionWrite) -> PortResult<SubmitOutcome>;
    /// Query the issue-day index (Vietnamese calendar day).
    async fn forms_issued_on(&self, day: NaiveDate, page: PageRequest) -> PortResult<Page<Form>>;
    /// Query the rating-day index (Vietnamese calendar day of submission).
    async fn ratings_on(&self, day: NaiveDate, page: PageRequest)
    -> PortResult<Page<RatingRecord>>;
    /// Conditional update applying `Form::record_reminder`. True if this call reminded it.
    async fn mark_reminded(
        &self,
        form_id: &str,
        now: DateTime<Utc>,
        remind_after: chrono::Duration,
    ) -> PortResult<bool>;
    /// Conditional update applying `Form::expire`. True if this call closed it.
    async fn mark_expired(&self, form_id: &str, now: DateTime<Utc>) -> PortResult<bool>;
    /// Conditional update applying `Form::forget_contact`. True if a contact went.
    async fn forget_contact(&self, form_id: &str) -> PortResult<bool>;
    /// Conditional update applying `Form::erase_personal_data` (a person's
    /// request). True if anything went.
    async fn erase_personal_data(&self, form_id: &str) -> PortResult<bool>;
    /// Query the sparse index of complaints not yet handed to the queue.
    async fn pending_complaints(&self, limit: u32) -> PortResult<Vec<Complaint>>;
    /// Removes a complaint from the outbox once the queue accepted it.
    async fn complaint_dispatched(&self, complaint_id: &str) -> PortResult<()>;
    /// Deletes forms, their ratings and outbox entries past their personal-data
    /// limit. On DynamoDB the `ttl` attribute does this (reads already skip
    /// expired items); the embedded store deletes them here. Returns how many forms.
    async fn drop_expired_personal_data(&self, now: DateTime<Utc>) -> PortResult<u64>;
}

#[derive(Debug, Clone, PartialEq)]
pub enum OpenCaseOutcome {
    Opened,
    Exists(Box<Case>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateCaseOutcome {
    Updated,
    /// Someone else changed the case first (version mismatch).
    Conflict,
}

#[async_trait]
pub trait CaseStore: Send + Sync {
    /// Transaction: conditional put CASE#id (absent) + its first audit event
    /// + `announce` in the event outbox.
    async fn open_case(
        &self,
        case: &Case,
        event: &CaseEvent,
        announce: &[Event],
    ) -> PortResult<OpenCaseOutcome>;
    /// GetItem CASE#id.
    async fn case(&self, case_id: &str) -> PortResult<Option<Case>>;
    /// Transaction: update conditional on `expected_version` + put the audit
    /// event + `announce` in the event outbox.
    async fn update_case(
        &self,
        case: &Case,
        expected_version: u32,
        event: &CaseEvent,
        announce: &[Event],
    ) -> PortResult<UpdateCaseOutcome>;
    /// Query CASE#id, SK begins_with EVENT#: the audit trail, oldest first.
    async fn case_events(&self, case_id: &str) -> PortResult<Vec<CaseEvent>>;
    /// Query the unit index: SK = status#due, optionally one status only.
    async fn cases_of_unit(
        &self,
        unit: &str,
        status: Option<CaseStatus>,
        page: PageRequest,
    ) -> PortResult<Page<Case>>;
    /// Query the open-day index (Vietnamese calendar day the case was opened).
    async fn cases_opened_on(&self, day: NaiveDate, page: PageRequest) -> PortResult<Page<Case>>;
    /// Query the close-day index.
    async fn cases_closed_on(&self, day: NaiveDate, page: PageRequest) -> PortResult<Page<Case>>;
    /// Query the sparse index of closed cases still holding personal data
    /// (`Case::personal_data_expiry`) whose limit has passed at `t`
    /// (`time::has_passed`: the limit itself included), oldest first.
    async fn cases_with_personal_data_before(
        &self,
        t: DateTime<Utc>,
        page: PageRequest,
    ) -> PortResult<Page<Case>>;
    /// Transaction: the case update conditional on `expected_version`, its audit
    /// event, the handling rating (indexed by the day it was given), and
    /// `announce` in the event outbox.
    async fn record_handling_rating(
        &self,
        case: &Case,
        expected_version: u32,
        event: &CaseEvent,
        rating: &HandlingRatingRecord,
        announce: &[Event],
    ) -> PortResult<UpdateCaseOutcome>;
    /// Query the rating-day index of handling ratings (Vietnamese calendar day).
    async fn handling_ratings_on(
        &self,
        day: NaiveDate,
        page: PageRequest,
    ) -> PortResult<Page<HandlingRatingRecord>>;
    /// Query the sparse index of open cases by due time.
    async fn open_cases_due_before(
        &self,
        t: DateTime<Utc>,
        page: PageRequest,
    ) -> PortResult<Page<Case>>;
}

#[async_trait]
pub trait StatsStore: Send + Sync {
    /// Puts (overwrites) the rollups of one day: rerunning a day is harmless.
    async fn put_daily(&self, stats: &[DailyStats]) -> PortResult<()>;
    /// Query STATS#unit, SK between the two dates (inclusive).
    async fn daily(
        &self,
        unit: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> PortResult<Vec<DailyStats>>;
    /// Conditional put of a week's early-warning report: false (and nothing
    /// written) when that week's was saved already.
    async fn put_warnings(&self, report: &WarningReport) -> PortResult<bool>;
    /// Query the early-warning reports, newest first: the newest one.
    async fn latest_warnings(&self) -> PortResult<Option<WarningReport>>;
}

/// The directory in force.
#[derive(Debug, Clone, PartialEq)]
pub struct CurrentOrg {
    /// 0 for a document the first version wrote (before versions existed).
    pub version: u32,
    pub stored: StoredOrg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveOrgOutcome {
    Saved,
    /// Another replacement took this version number first (of the directory
    /// or of the case rules).
    Conflict,
}

#[async_trait]
pub trait OrgStore: Send + Sync {
    /// Transaction: put version `summary.version` (absent) with its directory,
    /// and move ORG#current to it, conditional on the current version being
    /// `summary.version - 1` (0: none, or a first-version document).
    async fn save_org_version(
        &self,
        summary: &OrgVersion,
        org: &OrgDirectory,
    ) -> PortResult<SaveOrgOutcome>;
    /// GetItem ORG#current.
    async fn current_org(&self) -> PortResult<Option<CurrentOrg>>;
    /// GetItem of one version's directory.
    async fn org_version(&self, version: u32) -> PortResult<Option<OrgDirectory>>;
    /// Query the version summaries, newest first.
    async fn org_versions(&self, page: PageRequest) -> PortResult<Page<OrgVersion>>;
    /// GetItem of the case rules in force (holidays, deadlines, measures).
    async fn case_rules(&self) -> PortResult<Option<StoredCaseRules>>;
    /// Conditional put: only over version `rules.version - 1` (0: none saved yet).
    async fn save_case_rules(&self, rules: &StoredCaseRules) -> PortResult<SaveOrgOutcome>;
}

/// Addresses that get no invitation or reminder (see `domain::suppression`).
#[async_trait]
pub trait SuppressionList: Send + Sync {
    /// Conditional put SUPPRESS#key: true if the address was not listed yet
    /// (the first reason is kept).
    async fn suppress(&self, entry: &Suppression) -> PortResult<bool>;
    /// GetItem SUPPRESS#key.
    async fn suppressed(&self, key: &str) -> PortResult<Option<Suppression>>;
    /// DeleteItem SUPPRESS#key: true if the address was listed.
    async fn lift(&self, key: &str) -> PortResult<bool>;
}

/// The department's webhooks and their deliveries, where the host delivers
/// events itself (one machine); see `domain::webhook`.
#[async_trait]
pub trait WebhookRegistry: Send + Sync {
    async fn add_webhook(&self, hook: &Webhook) -> PortResult<()>;
    /// Every receiver, oldest first (at most `MAX_WEBHOOKS`).
    async fn webhooks(&self) -> PortResult<Vec<Webhook>>;
    /// Stops deliveries to a receiver (pending ones are dropped). True if it existed.
    async fn remove_webhook(&self, id: &str) -> PortResult<bool>;
    /// Deliveries every attempt failed for, newest first.
    async fn dead_letters(&self, limit: u32) -> PortResult<Vec<Delivery>>;
    /// Sends again, with a full set of attempts: one event's deliveries, or
    /// every dead letter. Returns how many were queued.
    async fn redeliver(&self, event_id: Option<&str>) -> PortResult<usize>;
}

/// The audit log of personal-data reads by staff.
#[async_trait]
pub trait AuditLog: Send + Sync {
    /// PutItem AUDIT#day / at#id, with a TTL at `keep_until`.
    async fn record(&self, entry: &AuditEntry) -> PortResult<()>;
    /// Query AUDIT#day (Vietnamese calendar day), oldest first.
    async fn audit_on(&self, day: NaiveDate, page: PageRequest) -> PortResult<Page<AuditEntry>>;
    /// Deletes entries past `keep_until`; DynamoDB's TTL does it there.
    async fn drop_expired_audit(&self, now: DateTime<Utc>) -> PortResult<u64>;
}

/// Writes the directory as the first version of CSQ stored it, so the
/// migration can be tested on every adapter. Not used by the product.
#[async_trait]
pub trait FirstVersionOrgWriter: Send + Sync {
    async fn write_first_version_org(
        &self,
        legacy: &crate::domain::org::LegacyOrg,
    ) -> PortResult<()>;
}

/// An email ready to send; adapters turn it into an .eml file or an SES call.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OutgoingEmail {
    pub to_name: String,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// Images the HTML shows by `cid:` reference (the invitation's QR code).
    pub inline_images: Vec<InlineImage>,
    /// The signed one-click opt-out URL of a bulk email to a business
    /// (`List-Unsubscribe` and `List-Unsubscribe-Post`, RFC 8058).
    pub unsubscribe: Option<String>,
}

/// An image part of an email, referenced from its HTML as `cid:{content_id}`.
#[derive(Debug, Clone, PartialEq)]
pub struct InlineImage {
    pub content_id: String,
    pub content_type: &'static str,
    pub file_name: String,
    pub bytes: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// Try again later (throttling, a busy service).
    #[error("mail service busy: {0}")]
    Transient(String),
    /// Retrying will not help (rejected message, sending paused).
    #[error("mail rejected: {0}")]
    Rejected(String),
}

#[async_trait]
pub trait Mailer: Send + Sync {
    /// Returns the message id the mail service gave the message.
    async fn send(&self, email: &OutgoingEmail) -> Result<String, MailError>;
}

/// Where events for other systems go: an EventBridge bus on AWS, the webhook
/// outbox on the local host.
#[async_trait]
pub trait EventPublisher: Send + Sync {
    /// Accepts every event or fails; accepting one twice (same id) is harmless.
    async fn publish(&self, events: &[Event]) -> PortResult<()>;
}

/// When each business was last emailed (by tax code): one invitation or
/// reminder per business per survey period (`domain::survey`).
#[async_trait]
pub trait InvitationLedger: Send + Sync {
    /// Conditional write: records an email to `tax_code` at `now` if its last
    /// one was at or before `cap.cutoff(now)` (or there was none). True if
    /// this call took the slot; of concurrent callers, one does.
    async fn take_invitation_slot(
        &self,
        tax_code: &str,
        now: DateTime<Utc>,
        cap: &crate::domain::survey::InvitationCap,
    ) -> PortResult<bool>;
    /// The email taken at `taken_at` did not go: the slot is free again,
    /// unless someone took it since.
    async fn give_back_invitation_slot(
        &self,
        tax_code: &str,
        taken_at: DateTime<Utc>,
    ) -> PortResult<()>;
}

/// Service times of declarations (`domain::times`), kept apart from the
/// forms: one record per declaration, and a snapshot per day it changed.
#[async_trait]
pub trait TimesStore: Send + Sync {
    async fn declaration_times(
        &self,
        number: &str,
    ) -> PortResult<Option<crate::domain::times::DeclarationTimes>>;
    /// Stores `times` if the stored record is still the version before it
    /// (none for version 1), with its snapshot of the day `recorded_on`, in
    /// one transaction. False: someone changed it since it was read.
    async fn save_times(&self, times: &crate::domain::times::DeclarationTimes) -> PortResult<bool>;
    /// A business's declarations at an office registered in [from, to),
    /// oldest first, at most `limit` (the retaliation watch's read).
    async fn business_times(
        &self,
        office: &str,
        tax_code: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: u32,
    ) -> PortResult<Vec<crate::domain::times::DeclarationTimes>>;
    /// The declarations whose times changed on `day`, each as it stood at
    /// the end of that day's last change.
    async fn times_recorded_on(
        &self,
        day: NaiveDate,
        page: PageRequest,
    ) -> PortResult<Page<crate::domain::times::DeclarationTimes>>;
}

/// The retaliation watch's cases (inspection unit and department only).
#[async_trait]
pub trait WatchStore: Send + Sync {
    /// Stores the case if the stored one is still the version before it
    /// (none for version 1). False: it exists, or changed since it was read.
    async fn save_watch_case(&self, case: &crate::domain::watch::WatchCase) -> PortResult<bool>;
    async fn watch_case(&self, id: &str) -> PortResult<Option<crate::domain::watch::WatchCase>>;
    /// The newest cases first, at most `domain::watch::MAX_WATCH_CASES`.
    async fn watch_cases(&self) -> PortResult<Vec<crate::domain::watch::WatchCase>>;
}

/// The counter tablets the department registered (kiosk mode), at most
/// `domain::kiosk::MAX_KIOSKS`.
#[async_trait]
pub trait KioskRegistry: Send + Sync {
    /// Stores a tablet (a new one, or one revoked since it was read).
    async fn save_kiosk(&self, kiosk: &crate::domain::kiosk::Kiosk) -> PortResult<()>;
    async fn kiosk(&self, id: &str) -> PortResult<Option<crate::domain::kiosk::Kiosk>>;
    /// Every tablet, oldest first: one bounded read.
    async fn kiosks(&self) -> PortResult<Vec<crate::domain::kiosk::Kiosk>>;
}

/// A record holding a person's data, as the person index names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum HeldRecord {
    Form(String),
    Case(String),
}

/// Where a person's data is: each form and case is indexed under the keys of
/// `Form::person_keys` / `Case::person_keys` (keyed hashes, never the
/// address or number) in the same write that stores it, with the record's
/// personal-data limit, so a request never walks storage.
#[async_trait]
pub trait PersonIndex: Send + Sync {
    /// The records indexed under `key`, at most `limit`.
    async fn records_of_person(&self, key: &str, limit: u32) -> PortResult<Vec<HeldRecord>>;
    /// Drops these entries of `key` (their data was erased).
    async fn unindex_person(&self, key: &str, records: &[HeldRecord]) -> PortResult<()>;
}

/// Events written in the same transaction as the change they announce (a
/// form's first invitation attempt, a submission, a case change), kept until
/// the publisher accepts them: a crash between storing and publishing delays
/// an event, never loses it. Putting one twice (same id) keeps one.
#[async_trait]
pub trait EventOutbox: Send + Sync {
    /// Events not yet handed to the publisher, oldest first.
    async fn pending_events(&self, limit: u32) -> PortResult<Vec<Event>>;
    /// Removes events the publisher accepted (unknown ids are ignored).
    async fn events_relayed(&self, event_ids: &[String]) -> PortResult<()>;
}

/// The producer side of the complaint queue.
#[async_trait]
pub trait ComplaintQueue: Send + Sync {
    async fn enqueue(&self, complaint: &Complaint) -> PortResult<()>;
}

/// One message taken from a queue, as SQS hands it out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub message_id: String,
    /// Proof of this receive: deleting with a stale receipt does nothing.
    pub receipt: String,
    pub body: String,
    /// How many times the message has been received, this time included.
    pub receive_count: u32,
}

/// The consumer side, with SQS semantics: a received message is hidden for the
/// visibility timeout, comes back if not deleted, and moves to the dead-letter
/// queue once received more than the allowed number of times.
#[async_trait]
pub trait QueueConsumer: Send + Sync {
    async fn receive(&self, max: u32) -> PortResult<Vec<Received>>;
    async fn delete(&self, receipt: &str) -> PortResult<()>;
    /// Messages that ended in the dead-letter queue (oldest first).
    async fn dead_letters(&self, max: u32) -> PortResult<Vec<Received>>;
}

/// Sign-in codes and sessions of the one-machine sign-in (an identity
/// provider keeps its own elsewhere).
#[async_trait]
pub trait StaffSessions: Send + Sync {
    async fn sign_in_code(&self, address_key: &str) -> PortResult<Option<SignInCode>>;
    /// Puts `code` if the stored one is still at `code.version - 1` (or
    /// absent, for version 0). False: someone changed it first.
    async fn put_sign_in_code(&self, code: &SignInCode) -> PortResult<bool>;
    async fn session(&self, token_hash: &str) -> PortResult<Option<StaffSession>>;
    async fn put_session(&self, session: &StaffSession) -> PortResult<()>;
    async fn end_session(&self, token_hash: &str) -> PortResult<()>;
    /// Deletes sessions that ended before `now` and codes past their window:
    /// bounded by what the last day left.
    async fn drop_ended_sign_ins(&self, now: DateTime<Utc>) -> PortResult<u64>;
}

/// A store that keeps every kind of record: each host has one (SQLite on one
/// machine, DynamoDB on AWS), and the services take from it the ports they use.
pub trait Store:
    FormStore
    + CaseStore
    + StatsStore
    + OrgStore
    + AuditLog
    + SuppressionList
    + EventOutbox
    + PersonIndex
    + InvitationLedger
    + KioskRegistry
    + TimesStore
    + WatchStore
    + 'static
{
}

impl<T> Store for T where
    T: FormStore
        + CaseStore
        + StatsStore
        + OrgStore
        + AuditLog
        + SuppressionList
        + EventOutbox
        + PersonIndex
        + InvitationLedger
        + KioskRegistry
        + TimesStore
        + WatchStore
        + 'static
{
}

/// Time, behind a port so tests and the demo can set it.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that only moves when told to: for tests and for back-dating demo data.
#[derive(Debug)]
pub struct ManualClock(std::sync::Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn new(t: DateTime<Utc>) -> Self {
        ManualClock(std::sync::Mutex::new(t))
    }
    pub fn set(&self, t: DateTime<Utc>) {
        *self.0.lock().expect("clock lock") = t;
    }
    pub fn advance(&self, d: chrono::Duration) {
        *self.0.lock().expect("clock lock") += d;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().expect("clock lock")
    }
}
