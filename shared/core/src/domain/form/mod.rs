//! A rating form (phiếu đánh giá): one per declaration, with the subjects the
//! business may rate, and what it submitted.

mod rating;
mod subject;

pub use rating::{Channel, Contact, RatingRecord, SubjectRating, Submission};
pub use subject::{Subject, SubjectKind, derive_subjects, units};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::declaration::{
    Business, Declaration, FormRequest, Handling, Language, MAX_HANDLING, Stage,
};
use super::fields::{DisplayName, OfficerId, UnitCode};
use super::org::{OrgDirectory, UnitLabel};
use super::rating_scale::{Level, Reason};
use super::time::has_passed;

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
    /// Not sent: the business was emailed within the survey period.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub invitation_capped: bool,
    /// Not sent: the survey rules' sampling left the declaration out.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub invitation_sampled_out: bool,
    /// Its `form.issued` went to the event outbox (with the first invitation
    /// attempt's outcome), so a later attempt does not announce it again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub issue_announced: bool,
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
            invitation_capped: false,
            invitation_sampled_out: false,
            issue_announced: false,
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
    ///
    /// Returns the form's `form.issued` event after its first attempt (sent,
    /// refused, suppressed or to be retried): the store writes it to the
    /// event outbox with this change, so a crash cannot lose it.
    #[must_use = "the event goes to the outbox with the form"]
    pub fn finish_invitation(
        &mut self,
        result: &InvitationResult,
    ) -> Option<crate::domain::event::Event> {
        self.record_invitation(result);
        if self.issue_announced {
            return None;
        }
        self.issue_announced = true;
        Some(crate::domain::event::Event::form_issued(self))
    }

    fn record_invitation(&mut self, result: &InvitationResult) {
        self.invitation_claimed_until = None;
        match result {
            InvitationResult::Sent(at) => self.email_sent_at = Some(*at),
            InvitationResult::Retry => {}
            InvitationResult::Rejected(why) => self.invitation_rejected = Some(why.clone()),
            // Recorded as a refusal too, so every "awaits its invitation" list
            // (both stores' sparse indexes) drops the form without a new rule.
            InvitationResult::Capped => {
                self.invitation_capped = true;
                self.invitation_rejected =
                    Some("the business was emailed within the survey period (capped)".into());
            }
            InvitationResult::SampledOut => {
                self.invitation_sampled_out = true;
                self.invitation_rejected =
                    Some("the survey rules' sampling left the declaration out".into());
            }
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
            (None, Some(_)) if self.invitation_capped => InvitationState::Capped,
            (None, Some(_)) if self.invitation_sampled_out => InvitationState::SampledOut,
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
            // Its business was emailed for another form within the period,
            // or the declaration was not drawn: no email at all.
            && !self.invitation_capped
            && !self.invitation_sampled_out
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
            times: Default::default(),
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
    /// Not sent: the business was emailed within the survey period (the
    /// cap per business). Rated from the declaration software's link.
    Capped,
    /// Not sent: the survey rules invite a share of this office and lane's
    /// declarations, and this one was not drawn.
    SampledOut,
}

impl InvitationState {
    pub const ALL: [InvitationState; 6] = [
        InvitationState::Pending,
        InvitationState::Sent,
        InvitationState::Rejected,
        InvitationState::Suppressed,
        InvitationState::Capped,
        InvitationState::SampledOut,
    ];

    pub fn code(self) -> &'static str {
        match self {
            InvitationState::Pending => "pending",
            InvitationState::Sent => "sent",
            InvitationState::Rejected => "rejected",
            InvitationState::Suppressed => "suppressed",
            InvitationState::Capped => "capped",
            InvitationState::SampledOut => "sampled_out",
        }
    }
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
    /// Not sent: the business was emailed within the survey period.
    Capped,
    /// Not sent: the declaration was not drawn by the survey rules' sampling.
    SampledOut,
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
