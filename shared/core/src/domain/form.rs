//! A rating form (phiếu đánh giá): one per declaration, with the subjects the
//! business may rate, and what it submitted.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::declaration::{
    Business, Declaration, FormRequest, Handling, Language, MAX_HANDLING, Stage,
};
use super::fields::{DisplayName, OfficerId, UnitCode};
use super::org::{OrgDirectory, UnitLabel};
use super::rating_scale::{Level, Reason};
use super::time::has_passed;

/// What a subject is; the stats unit of a rating follows from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    Branch,
    Team,
    Stage,
    Officer,
}

/// One thing rated on a form (đối tượng đánh giá).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    /// Stable within a form: `branch:03CC`, `team:03CC01`, `stage:clearance`,
    /// `officer:clearance:HP5678`.
    pub key: String,
    pub kind: SubjectKind,
    /// The customs office the declaration names (the "branch" of the contract).
    pub branch: UnitCode,
    pub team: Option<UnitCode>,
    pub stage: Option<Stage>,
    pub officer_id: Option<OfficerId>,
    pub officer_name: Option<DisplayName>,
    /// The office's or team's Vietnamese name from the directory, when it was known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_name_en: Option<String>,
    /// The statistics units this subject's ratings count towards, fixed from the
    /// directory in force when the form was issued: its own unit and, for an
    /// office or a stage, the same above it up to the authority. Empty on forms
    /// of the first version, which are placed in today's tree instead.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub counts_toward: Vec<String>,
}

impl Subject {
    /// The statistics unit of this subject itself. Stages are counted per office:
    /// "document check at 03CC" is what an office head can act on.
    pub fn unit(&self) -> String {
        match self.kind {
            SubjectKind::Branch => units::unit(self.branch.as_str()),
            SubjectKind::Team => units::unit(
                self.team
                    .as_ref()
                    .map(UnitCode::as_str)
                    .unwrap_or(self.branch.as_str()),
            ),
            SubjectKind::Stage => match self.stage {
                Some(stage) => units::stage(self.branch.as_str(), stage),
                None => units::unit(self.branch.as_str()),
            },
            SubjectKind::Officer => match &self.officer_id {
                Some(id) => units::officer(id.as_str()),
                None => units::unit(self.branch.as_str()),
            },
        }
    }

    /// Every statistics unit a rating of this subject counts towards.
    pub fn stats_units(&self, org: Option<&OrgDirectory>) -> Vec<String> {
        if !self.counts_toward.is_empty() {
            return self.counts_toward.clone();
        }
        let Some(org) = org else {
            return vec![self.unit()];
        };
        let office = self.branch.as_str();
        let above_office = || org.ancestors(office).into_iter().map(|u| u.code.as_str());
        match self.kind {
            SubjectKind::Branch => std::iter::once(office)
                .chain(above_office())
                .map(units::unit)
                .collect(),
            SubjectKind::Stage => match self.stage {
                Some(stage) => std::iter::once(office)
                    .chain(above_office())
                    .map(|u| units::stage(u, stage))
                    .collect(),
                None => vec![self.unit()],
            },
            // A team counts for itself and any level between it and its office
            // (a division); the office and above have their own rating.
            SubjectKind::Team => {
                let Some(team) = self.team.as_ref().map(UnitCode::as_str) else {
                    return vec![self.unit()];
                };
                let mut out = vec![units::unit(team)];
                for u in org.ancestors(team) {
                    if org.is_within(office, &u.code) {
                        break;
                    }
                    out.push(units::unit(&u.code));
                }
                out
            }
            SubjectKind::Officer => vec![self.unit()],
        }
    }

    fn unit_label(&self, lang: Language) -> Option<&str> {
        match (lang, &self.unit_name_en, &self.unit_name) {
            (Language::En, Some(en), _) => Some(en),
            (_, _, Some(vi)) => Some(vi),
            _ => None,
        }
    }

    pub fn label(&self, lang: Language) -> String {
        match self.kind {
            SubjectKind::Branch => match (self.unit_label(lang), lang) {
                (Some(name), _) => name.to_owned(),
                (None, Language::Vi) => format!("Hải quan {}", self.branch),
                (None, Language::En) => format!("Customs office {}", self.branch),
            },
            SubjectKind::Team => {
                let team = self.team.as_ref().map(UnitCode::as_str).unwrap_or("");
                match (self.unit_label(lang), lang) {
                    (Some(name), _) => name.to_owned(),
                    (None, Language::Vi) => format!("Đội công tác {team}"),
                    (None, Language::En) => format!("Team {team}"),
                }
            }
            SubjectKind::Stage => self.stage.map(|s| s.label(lang)).unwrap_or("").to_string(),
            SubjectKind::Officer => {
                let name = self
                    .officer_name
                    .as_ref()
                    .map(DisplayName::as_str)
                    .unwrap_or("");
                let stage = self.stage.map(|s| s.label(lang)).unwrap_or("");
                match lang {
                    Language::Vi => format!("Công chức {name} ({stage})"),
                    Language::En => format!("Officer {name} ({stage})"),
                }
            }
        }
    }
}

/// Names of statistics units, shared by aggregation, the stats API and scoping.
pub mod units {
    use super::Stage;

    /// Any unit of the tree, at any level: `unit:03CC`.
    pub fn unit(code: &str) -> String {
        format!("unit:{code}")
    }
    /// A stage within a unit: `stage:03CC:clearance`.
    pub fn stage(unit: &str, stage: Stage) -> String {
        format!("stage:{unit}:{}", stage.code())
    }
    pub fn officer(id: &str) -> String {
        format!("officer:{id}")
    }
    /// The org unit a statistics key belongs to (officers: none by the key alone).
    pub fn owner(key: &str) -> Option<&str> {
        if let Some(code) = key.strip_prefix("unit:") {
            return Some(code);
        }
        key.strip_prefix("stage:")?.split(':').next()
    }
}

/// Derives the subjects from the handling records, in the order a business thinks
/// of them: the branch, its teams, the stages, then each officer at a stage.
pub fn derive_subjects(declaration: &Declaration, handling: &[Handling]) -> Vec<Subject> {
    let branch = declaration.customs_office.clone();
    let mut subjects = vec![Subject {
        key: format!("branch:{branch}"),
        kind: SubjectKind::Branch,
        branch: branch.clone(),
        team: None,
        stage: None,
        officer_id: None,
        officer_name: None,
        unit_name: None,
        unit_name_en: None,
        counts_toward: vec![],
    }];
    let mut push_unique = |s: Subject| {
        if !subjects.iter().any(|x| x.key == s.key) {
            subjects.push(s);
        }
    };
    for h in handling {
        push_unique(Subject {
            key: format!("team:{}", h.team),
            kind: SubjectKind::Team,
            branch: branch.clone(),
            team: Some(h.team.clone()),
            stage: None,
            officer_id: None,
            officer_name: None,
            unit_name: None,
            unit_name_en: None,
            counts_toward: vec![],
        });
    }
    for h in handling {
        push_unique(Subject {
            key: format!("stage:{}", h.stage.code()),
            kind: SubjectKind::Stage,
            branch: branch.clone(),
            team: Some(h.team.clone()),
            stage: Some(h.stage),
            officer_id: None,
            officer_name: None,
            unit_name: None,
            unit_name_en: None,
            counts_toward: vec![],
        });
    }
    for h in handling {
        if let Some(officer) = &h.officer {
            push_unique(Subject {
                key: format!("officer:{}:{}", h.stage.code(), officer.id),
                kind: SubjectKind::Officer,
                branch: branch.clone(),
                team: Some(h.team.clone()),
                stage: Some(h.stage),
                officer_id: Some(officer.id.clone()),
                officer_name: Some(officer.name.clone()),
                unit_name: None,
                unit_name_en: None,
                counts_toward: vec![],
            });
        }
    }
    subjects
}

/// Why a submission cannot be stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubmitRefused {
    AlreadySubmitted,
    Expired,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FormStatus {
    Issued,
    Submitted,
    Expired,
}

impl FormStatus {
    pub fn code(self) -> &'static str {
        match self {
            FormStatus::Issued => "issued",
            FormStatus::Submitted => "submitted",
            FormStatus::Expired => "expired",
        }
    }
}

/// A business contact, required with any level 1–2 so the unit can call back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub name: DisplayName,
    pub phone: String,
}

/// The business's rating of one subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubjectRating {
    pub subject_key: String,
    pub level: Level,
    pub reasons: Vec<Reason>,
    pub comment: Option<String>,
}

/// What the business confirmed ("Gửi").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Submission {
    pub ratings: Vec<SubjectRating>,
    pub overall_comment: Option<String>,
    pub contact: Option<Contact>,
    /// A suggestion (kiến nghị) to the office: answered as its own case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suggestion: Option<String>,
}

impl Submission {
    /// Any rating gives a misconduct reason: the whole submission is a misconduct report.
    pub fn reports_misconduct(&self) -> bool {
        self.ratings
            .iter()
            .any(|r| r.reasons.iter().any(|x| x.is_misconduct()))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Form {
    pub id: String,
    pub declaration: Declaration,
    pub business: Business,
    pub handling: Vec<Handling>,
    pub subjects: Vec<Subject>,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub status: FormStatus,
    /// Branch and team codes not found in the org directory when the form was
    /// issued: accepted, but complaints about them go to the default handler.
    #[serde(default)]
    pub unknown_units: Vec<String>,
    pub email_sent_at: Option<DateTime<Utc>>,
    /// Whoever sends the invitation holds this lease meanwhile (see `claim_invitation`).
    #[serde(default)]
    pub invitation_claimed_until: Option<DateTime<Utc>>,
    /// Why the mail service refused the invitation for good (a bad address): no retry.
    #[serde(default)]
    pub invitation_rejected: Option<String>,
    /// The refusal was CSQ's own: the address is on the suppression list.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub invitation_suppressed: bool,
    pub reminded_at: Option<DateTime<Utc>>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub submission: Option<Submission>,
    /// After this instant the business's contact data is dropped (TTL on DynamoDB).
    pub personal_data_until: DateTime<Utc>,
    /// The directory version in force when the form was issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_version: Option<u32>,
    /// The office and the units above it, root first, as named at issue.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub office_path: Vec<UnitLabel>,
    /// A follow-up form (stages handled after the first form was submitted)
    /// names the declaration's first form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follow_up_of: Option<String>,
    /// 1 for a declaration's first form, 2.. for its follow-up forms.
    #[serde(default = "first_form", skip_serializing_if = "is_first_form")]
    pub sequence: u32,
}

fn first_form() -> u32 {
    1
}

fn is_first_form(n: &u32) -> bool {
    *n == 1
}

impl Form {
    /// The submitted form is a misconduct report (see
    /// `RatingRecord::is_part_of_misconduct_report`, the same rule per rating).
    pub fn is_misconduct_report(&self) -> bool {
        self.submission
            .as_ref()
            .is_some_and(Submission::reports_misconduct)
    }

    pub fn new(
        id: String,
        request: FormRequest,
        issued_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        personal_data_until: DateTime<Utc>,
        unknown_units: Vec<String>,
    ) -> Form {
        let subjects = derive_subjects(&request.declaration, &request.handling);
        Form {
            id,
            declaration: request.declaration,
            business: request.business,
            handling: request.handling,
            subjects,
            issued_at,
            expires_at,
            status: FormStatus::Issued,
            unknown_units,
            email_sent_at: None,
            invitation_claimed_until: None,
            invitation_rejected: None,
            invitation_suppressed: false,
            reminded_at: None,
            submitted_at: None,
            submission: None,
            personal_data_until,
            org_version: None,
            office_path: vec![],
            follow_up_of: None,
            sequence: 1,
        }
    }

    /// Takes the right to send the invitation until `until`, if it still needs
    /// sending and nobody holds an unexpired claim. Stores apply this inside a
    /// conditional update, so exactly one caller gets `true`.
    pub fn claim_invitation(&mut self, now: DateTime<Utc>, until: DateTime<Utc>) -> bool {
        let free = self.invitation_claimed_until.is_none_or(|t| t <= now);
        if self.invitation_state() == InvitationState::Pending && free {
            self.invitation_claimed_until = Some(until);
            true
        } else {
            false
        }
    }

    /// Records how a claimed send went and gives the claim back.
    pub fn finish_invitation(&mut self, result: &InvitationResult) {
        self.invitation_claimed_until = None;
        match result {
            InvitationResult::Sent(at) => self.email_sent_at = Some(*at),
            InvitationResult::Retry => {}
            InvitationResult::Rejected(why) => self.invitation_rejected = Some(why.clone()),
            // Recorded as a refusal too, so every "awaits its invitation" list
            // (both stores' sparse indexes) drops the form without a new rule.
            InvitationResult::Suppressed(reason) => {
                self.invitation_suppressed = true;
                self.invitation_rejected = Some(format!(
                    "the address is on the suppression list ({})",
                    reason.code()
                ));
            }
        }
    }

    /// An issued form whose invitation has neither gone out nor been refused:
    /// the sweep's work list (a sparse index on both stores).
    pub fn awaits_invitation(&self) -> bool {
        self.status == FormStatus::Issued && self.invitation_state() == InvitationState::Pending
    }

    pub fn invitation_state(&self) -> InvitationState {
        match (self.email_sent_at, &self.invitation_rejected) {
            (None, Some(_)) if self.invitation_suppressed => InvitationState::Suppressed,
            (Some(_), _) => InvitationState::Sent,
            (None, Some(_)) => InvitationState::Rejected,
            (None, None) => InvitationState::Pending,
        }
    }

    /// Marks the form submitted with what the business confirmed, unless it was
    /// submitted already or its window closed before `at`. Stores call this inside
    /// their conditional write, so the rule is the same on every adapter.
    pub fn accept_submission(
        &mut self,
        submission: &Submission,
        at: DateTime<Utc>,
    ) -> Result<(), SubmitRefused> {
        if self.status == FormStatus::Submitted {
            return Err(SubmitRefused::AlreadySubmitted);
        }
        if self.is_expired_at(at) {
            return Err(SubmitRefused::Expired);
        }
        self.status = FormStatus::Submitted;
        self.submitted_at = Some(at);
        self.submission = Some(submission.clone());
        Ok(())
    }

    /// Drops the complainant's contact from the stored submission (its case
    /// closed and the grace period passed). True if there was one to drop.
    pub fn forget_contact(&mut self) -> bool {
        self.submission
            .as_mut()
            .and_then(|s| s.contact.take())
            .is_some()
    }

    pub fn is_expired_at(&self, now: DateTime<Utc>) -> bool {
        self.status == FormStatus::Expired || self.expiry_due(now)
    }

    /// An issued form whose rating window has passed: the nightly closes it.
    pub fn expiry_due(&self, now: DateTime<Utc>) -> bool {
        self.status == FormStatus::Issued && has_passed(self.expires_at, now)
    }

    /// Closes the form if its window has passed (the stores apply this inside
    /// their conditional write). True if this call closed it.
    pub fn expire(&mut self, now: DateTime<Utc>) -> bool {
        let due = self.expiry_due(now);
        if due {
            self.status = FormStatus::Expired;
        }
        due
    }

    /// The form's one reminder is due: it still awaits its rating, was never
    /// reminded, `remind_after` has passed since it was issued and its window
    /// is still open.
    pub fn reminder_due(&self, now: DateTime<Utc>, remind_after: chrono::Duration) -> bool {
        self.status == FormStatus::Issued
            && self.reminded_at.is_none()
            && has_passed(self.issued_at + remind_after, now)
            && !self.is_expired_at(now)
    }

    /// Records the reminder if it is due (inside the stores' conditional
    /// write, so two nightly runs remind once). True if this call recorded it.
    pub fn record_reminder(&mut self, now: DateTime<Utc>, remind_after: chrono::Duration) -> bool {
        let due = self.reminder_due(now, remind_after);
        if due {
            self.reminded_at = Some(now);
        }
        due
    }

    /// Places the form in the directory version in force: names the office and
    /// teams, records the path above the office, and fixes which statistics
    /// units each subject counts towards, so later reorganisations leave the
    /// figures of this form where they were.
    pub fn place_in_org(&mut self, org: &OrgDirectory, version: Option<u32>) {
        self.org_version = version;
        self.office_path = org
            .path(self.declaration.customs_office.as_str())
            .into_iter()
            .map(|u| u.label())
            .collect();
        for s in &mut self.subjects {
            s.place_in_org(org);
        }
    }

    /// The key under which the stores keep this form unique: the declaration
    /// number for its first form, `{number}-{n}` for its n-th (a follow-up).
    pub fn declaration_key(&self) -> String {
        declaration_key(self.declaration.number.as_str(), self.sequence)
    }

    /// Whether the business can still rate this form at `now`.
    pub fn is_open_at(&self, now: DateTime<Utc>) -> bool {
        self.status == FormStatus::Issued && !self.is_expired_at(now)
    }

    /// Which of `handling` this form does not carry yet (by `Handling::key`).
    pub fn handling_not_on(&self, handling: &[Handling]) -> Vec<Handling> {
        let mut out: Vec<Handling> = Vec::new();
        for h in handling {
            let k = h.key();
            if !self.handling.iter().any(|x| x.key() == k) && !out.iter().any(|x| x.key() == k) {
                out.push(h.clone());
            }
        }
        out
    }

    /// Adds later stages to a form the business has not submitted yet, with
    /// their subjects (placed in the directory by the caller). Records already
    /// on the form are skipped, so a repeated call changes nothing. Stores call
    /// this inside their conditional write. Returns how many records were added.
    pub fn add_handling(
        &mut self,
        later: &LaterHandling,
        now: DateTime<Utc>,
    ) -> Result<usize, AddHandlingRefused> {
        if self.status == FormStatus::Submitted {
            return Err(AddHandlingRefused::Submitted);
        }
        if self.is_expired_at(now) {
            return Err(AddHandlingRefused::Expired);
        }
        let new = self.handling_not_on(&later.handling);
        if self.handling.len() + new.len() > MAX_HANDLING {
            return Err(AddHandlingRefused::TooMany);
        }
        for s in &later.subjects {
            if self.subject(&s.key).is_none() {
                self.subjects.push(s.clone());
            }
        }
        // Branch, teams, stages, officers: new subjects join their kind.
        self.subjects.sort_by_key(|s| s.kind.rank());
        for u in &later.unknown_units {
            if !self.unknown_units.contains(u) {
                self.unknown_units.push(u.clone());
            }
        }
        self.handling.extend(new.iter().cloned());
        Ok(new.len())
    }

    /// The next form of this declaration, for stages handled after this one
    /// was submitted (or closed): same declaration and business, its own
    /// window and invitation, only the later stages' subjects.
    pub fn follow_up(
        &self,
        id: String,
        handling: Vec<Handling>,
        issued_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        personal_data_until: DateTime<Utc>,
    ) -> Form {
        let request = FormRequest {
            declaration: self.declaration.clone(),
            business: self.business.clone(),
            handling,
        };
        let mut f = Form::new(
            id,
            request,
            issued_at,
            expires_at,
            personal_data_until,
            vec![],
        );
        f.follow_up_of = Some(self.follow_up_of.clone().unwrap_or_else(|| self.id.clone()));
        f.sequence = self.sequence + 1;
        f
    }
}

/// The store key of a declaration's n-th form (see `Form::declaration_key`).
pub fn declaration_key(number: &str, sequence: u32) -> String {
    if sequence <= 1 {
        number.to_owned()
    } else {
        format!("{number}-{sequence}")
    }
}

/// Later stages to add to an issued form: the records and the subjects they
/// bring, already placed in the directory in force.
#[derive(Debug, Clone, PartialEq)]
pub struct LaterHandling {
    pub handling: Vec<Handling>,
    pub subjects: Vec<Subject>,
    pub unknown_units: Vec<String>,
}

/// Why later stages cannot join a form: they get a follow-up form instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddHandlingRefused {
    Submitted,
    Expired,
    /// The form would carry more than `MAX_HANDLING` records.
    TooMany,
}

impl SubjectKind {
    /// The order a business reads subjects in.
    pub fn rank(self) -> u8 {
        match self {
            SubjectKind::Branch => 0,
            SubjectKind::Team => 1,
            SubjectKind::Stage => 2,
            SubjectKind::Officer => 3,
        }
    }
}

impl Subject {
    /// Names the subject's office or team and fixes the statistics units it
    /// counts towards, from the directory in force.
    pub fn place_in_org(&mut self, org: &OrgDirectory) {
        let named = match self.kind {
            SubjectKind::Branch => org.unit(self.branch.as_str()),
            SubjectKind::Team => self.team.as_ref().and_then(|t| org.unit(t.as_str())),
            _ => None,
        };
        self.unit_name = named.map(|u| u.name.clone());
        self.unit_name_en = named.and_then(|u| u.name_en.clone());
        self.counts_toward = vec![];
        self.counts_toward = self.stats_units(Some(org));
    }
}

impl Form {
    /// The office's name in the reader's language (its code when it was unknown).
    pub fn office_name(&self, lang: Language) -> String {
        self.subjects
            .iter()
            .find(|s| s.kind == SubjectKind::Branch)
            .map(|s| s.label(lang))
            .unwrap_or_else(|| self.declaration.customs_office.to_string())
    }

    pub fn subject(&self, key: &str) -> Option<&Subject> {
        self.subjects.iter().find(|s| s.key == key)
    }
}

/// Where the invitation email stands. "Pending" invitations are retried by the
/// sweep (every few minutes) until sent or refused for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvitationState {
    Pending,
    Sent,
    Rejected,
    /// Not sent: the business opted out or its address bounced. The form is
    /// issued all the same and can be rated from the declaration software.
    Suppressed,
}

/// How one attempt to send an invitation went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvitationResult {
    Sent(DateTime<Utc>),
    /// A passing failure (throttling, an outage): try again later.
    Retry,
    /// Refused for good (bad address, sending paused): do not retry.
    Rejected(String),
    /// Not sent: the address is on the suppression list.
    Suppressed(super::suppression::SuppressionReason),
}

/// One stored rating of one subject: the row the statistics and the staff listing
/// read (queried by the Vietnamese day of submission).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RatingRecord {
    pub form_id: String,
    pub declaration_number: String,
    pub branch: UnitCode,
    pub subject: Subject,
    pub level: Level,
    pub reasons: Vec<Reason>,
    pub comment: Option<String>,
    pub submitted_at: DateTime<Utc>,
    /// Another rating on the same form reports misconduct: the whole report is
    /// withheld from those who may not see misconduct reports.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub part_of_misconduct_report: bool,
}

impl RatingRecord {
    /// This rating itself gives a misconduct reason (phiền hà, sách nhiễu, tiêu cực).
    pub fn names_misconduct(&self) -> bool {
        self.reasons.iter().any(|x| x.is_misconduct())
    }

    /// This rating is, or belongs to a form that is, a misconduct report: the
    /// one definition listings and figures withhold. The whole report goes,
    /// not only the line that names the reason, or its other subjects' levels
    /// would lead back to the business that reported.
    pub fn is_part_of_misconduct_report(&self) -> bool {
        self.part_of_misconduct_report || self.names_misconduct()
    }

    pub fn from_submission(
        form: &Form,
        submission: &Submission,
        at: DateTime<Utc>,
    ) -> Vec<RatingRecord> {
        let misconduct = submission.reports_misconduct();
        submission
            .ratings
            .iter()
            .filter_map(|r| {
                let subject = form.subject(&r.subject_key)?;
                Some(RatingRecord {
                    form_id: form.id.clone(),
                    declaration_number: form.declaration.number.to_string(),
                    branch: form.declaration.customs_office.clone(),
                    subject: subject.clone(),
                    level: r.level,
                    reasons: r.reasons.clone(),
                    comment: r.comment.clone(),
                    submitted_at: at,
                    part_of_misconduct_report: misconduct,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::declaration::tests::sample_request;

    #[test]
    fn subjects_are_branch_teams_stages_officers() {
        let req = FormRequest::parse(&sample_request()).unwrap();
        let subjects = derive_subjects(&req.declaration, &req.handling);
        let keys: Vec<&str> = subjects.iter().map(|s| s.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "branch:03CC",
                "team:03CC01",
                "team:03CC02",
                "stage:document_check",
                "stage:clearance",
                "officer:document_check:HP1234",
                "officer:clearance:HP5678"
            ]
        );
        let units: Vec<String> = subjects.iter().map(Subject::unit).collect();
        assert_eq!(units[0], "unit:03CC");
        assert_eq!(units[1], "unit:03CC01");
        assert_eq!(units[3], "stage:03CC:document_check");
        assert_eq!(units[6], "officer:HP5678");
        assert!(subjects[5].label(Language::Vi).contains("Nguyễn Văn An"));
    }

    #[test]
    fn placed_in_the_tree_named_and_counted_up_to_the_authority() {
        let mut form = crate::domain::submission::tests::sample_form();
        form.place_in_org(&crate::domain::org::tests::sample_org(), Some(3));
        assert_eq!(form.org_version, Some(3));
        assert_eq!(
            form.subjects[0].label(Language::Vi),
            "Hải quan cửa khẩu Demo 1"
        );
        assert_eq!(form.subjects[0].label(Language::En), "Demo 1 Border Office");
        assert_eq!(form.office_name(Language::En), "Demo 1 Border Office");
        assert_eq!(form.subjects[1].label(Language::En), "Đội thủ tục");
        assert_eq!(
            form.subjects[3].unit_name, None,
            "stages keep their own labels"
        );
        let path: Vec<&str> = form.office_path.iter().map(|u| u.code.as_str()).collect();
        assert_eq!(path, ["CUC", "R03", "03CC"]);
        assert_eq!(
            form.subjects[0].counts_toward,
            ["unit:03CC", "unit:R03", "unit:CUC"]
        );
        assert_eq!(form.subjects[1].counts_toward, ["unit:03CC01"]);
        assert_eq!(
            form.subjects[3].counts_toward,
            [
                "stage:03CC:document_check",
                "stage:R03:document_check",
                "stage:CUC:document_check"
            ]
        );
        assert_eq!(form.subjects[5].counts_toward, ["officer:HP1234"]);
    }

    #[test]
    fn an_unknown_office_counts_for_itself_only() {
        let mut form = crate::domain::submission::tests::sample_form();
        let org = crate::domain::org::tests::sample_org();
        let mut unknown = form.clone();
        unknown.declaration.customs_office = UnitCode::parse("77ZZ").unwrap();
        for s in &mut unknown.subjects {
            s.branch = unknown.declaration.customs_office.clone();
        }
        unknown.place_in_org(&org, Some(1));
        assert_eq!(unknown.subjects[0].counts_toward, ["unit:77ZZ"]);
        assert_eq!(unknown.subjects[0].label(Language::Vi), "Hải quan 77ZZ");
        // A form of the first version (nothing recorded) is placed in today's tree.
        form.subjects[0].counts_toward.clear();
        assert_eq!(form.subjects[0].stats_units(Some(&org)).len(), 3);
        assert_eq!(form.subjects[0].stats_units(None), ["unit:03CC"]);
    }

    fn later(stage: &str, officer: &str) -> Vec<Handling> {
        let mut v = sample_request();
        v["handling"] = serde_json::json!([
            {"stage": stage, "team": "03CC02", "officer": {"id": officer, "name": "Lê Văn Cường"}}
        ]);
        FormRequest::parse(&v).unwrap().handling
    }

    fn later_for(form: &Form, handling: Vec<Handling>) -> LaterHandling {
        let mut subjects = derive_subjects(&form.declaration, &handling);
        subjects.retain(|s| form.subject(&s.key).is_none());
        LaterHandling {
            handling,
            subjects,
            unknown_units: vec![],
        }
    }

    #[test]
    fn later_stages_join_once_and_only_an_open_form() {
        let mut form = crate::domain::submission::tests::sample_form();
        let now = form.issued_at;
        let before = form.subjects.len();
        let l = later_for(&form, later("valuation", "HP9001"));
        assert_eq!(form.add_handling(&l, now), Ok(1));
        assert_eq!(form.subjects.len(), before + 2, "the stage and its officer");
        let kinds: Vec<u8> = form.subjects.iter().map(|s| s.kind.rank()).collect();
        assert!(kinds.is_sorted(), "grouped by kind: {kinds:?}");
        assert_eq!(form.add_handling(&l, now), Ok(0), "idempotent");
        assert_eq!(form.subjects.len(), before + 2);
        // Too many records in all.
        let mut many = form.clone();
        let mut v = sample_request();
        v["handling"] = (0..MAX_HANDLING)
            .map(|i| serde_json::json!({"stage": "supervision", "team": "03CC02", "officer": {"id": format!("HX{i:04}"), "name": "A"}}))
            .collect();
        let lots = FormRequest::parse(&v).unwrap().handling;
        let l2 = later_for(&many, lots);
        assert_eq!(
            many.add_handling(&l2, now),
            Err(AddHandlingRefused::TooMany)
        );
        // Submitted or past its window: refused.
        let mut closed = form.clone();
        closed.status = FormStatus::Submitted;
        let l3 = later_for(&closed, later("clearance", "HP9002"));
        assert_eq!(
            closed.add_handling(&l3, now),
            Err(AddHandlingRefused::Submitted)
        );
        assert_eq!(
            form.clone().add_handling(&l3, form.expires_at),
            Err(AddHandlingRefused::Expired)
        );
    }

    #[test]
    fn a_follow_up_form_is_the_next_of_its_declaration() {
        let first = crate::domain::submission::tests::sample_form();
        let t = first.issued_at;
        let second = first.follow_up("f2".into(), later("valuation", "HP9001"), t, t, t);
        assert_eq!(first.declaration_key(), "105234567890");
        assert_eq!(second.declaration_key(), "105234567890-2");
        assert_eq!(second.follow_up_of.as_deref(), Some(first.id.as_str()));
        let third = second.follow_up("f3".into(), later("clearance", "HP9002"), t, t, t);
        assert_eq!(third.declaration_key(), "105234567890-3");
        assert_eq!(
            third.follow_up_of.as_deref(),
            Some(first.id.as_str()),
            "always the first"
        );
        let keys: Vec<&str> = second.subjects.iter().map(|s| s.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "branch:03CC",
                "team:03CC02",
                "stage:valuation",
                "officer:valuation:HP9001"
            ]
        );
    }

    #[test]
    fn repeated_team_or_officer_appears_once() {
        let mut v = sample_request();
        v["handling"][1]["team"] = "03CC01".into();
        v["handling"][1]["stage"] = "document_check".into();
        v["handling"][1]["officer"]["id"] = "HP1234".into();
        let req = FormRequest::parse(&v).unwrap();
        let subjects = derive_subjects(&req.declaration, &req.handling);
        assert_eq!(subjects.len(), 4);
    }
}
