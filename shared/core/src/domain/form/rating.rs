//! What a business submits, and the rating records stored from it.

use super::*;

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
    /// How the business reached the form (absent on submissions stored
    /// before channels were recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<Channel>,
}

/// How a business reached the form it submitted: the figures compare ratings
/// and response by channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// The link (or QR code) of an invitation or reminder email.
    Email,
    /// A level button of the invitation email.
    EmailButton,
    /// The declaration software's link or QR code (`rating_url`).
    InApp,
    /// A tablet at the office's counter, registered by the department.
    Kiosk,
}

impl Channel {
    pub const ALL: [Channel; 4] = [
        Channel::Email,
        Channel::EmailButton,
        Channel::InApp,
        Channel::Kiosk,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::EmailButton => "email_button",
            Channel::InApp => "in_app",
            Channel::Kiosk => "kiosk",
        }
    }

    pub fn from_code(code: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.code() == code)
    }

    /// The channel a submission records from what its page carried (`via`,
    /// a hint in the link that nobody signs): a link without one is the
    /// declaration software's, and only a kiosk registered to the form's
    /// office may claim `kiosk`, so a business at home cannot swell the
    /// counter's figures.
    pub fn recorded(claimed: Option<&str>, at_registered_kiosk: bool) -> Channel {
        if at_registered_kiosk {
            return Channel::Kiosk;
        }
        match claimed.and_then(Channel::from_code) {
            Some(Channel::Kiosk) | None => Channel::InApp,
            Some(c) => c,
        }
    }
}

impl Submission {
    /// Any rating gives a misconduct reason: the whole submission is a misconduct report.
    pub fn reports_misconduct(&self) -> bool {
        self.ratings
            .iter()
            .any(|r| r.reasons.iter().any(|x| x.is_misconduct()))
    }
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
