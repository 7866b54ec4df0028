//! Emails to a business: the invitation, its one reminder, a case's outcome.

use maud::html;

use super::{QR_CID, capitalise, case_kind_words, ordered, page};
use crate::domain::case::{Case, CaseKind};
use crate::domain::declaration::Language;
use crate::domain::form::{Channel, Form};
use crate::domain::time::vn_display;
use crate::ports::{InlineImage, OutgoingEmail};

/// Where each email to a business points for how its data is handled:
/// the full notice at `/privacy`, in both languages.
pub struct PrivacyLinks {
    pub vi: String,
    pub en: String,
}

impl PrivacyLinks {
    pub fn of(settings: &crate::app::Settings) -> PrivacyLinks {
        PrivacyLinks {
            vi: settings.privacy_link(Language::Vi),
            en: settings.privacy_link(Language::En),
        }
    }

    fn html(&self) -> maud::Markup {
        html! {
            p style="color:#666;font-size:12px" {
                a href=(self.vi) { "Thông báo về xử lý dữ liệu cá nhân" }
                " · " a href=(self.en) { "How your personal data is handled" }
            }
        }
    }

    fn text(&self) -> String {
        format!(
            "Thông báo về xử lý dữ liệu cá nhân / How your personal data is handled:\n{}\n{}\n",
            self.vi, self.en
        )
    }
}

/// The invitation to rate a form; `unsubscribe` is its signed one-click opt-out URL.
pub fn invitation(
    form: &Form,
    link: &str,
    unsubscribe: &str,
    privacy: &PrivacyLinks,
) -> OutgoingEmail {
    compose_invitation(form, link, unsubscribe, privacy, false)
}

pub fn reminder(
    form: &Form,
    link: &str,
    unsubscribe: &str,
    privacy: &PrivacyLinks,
) -> OutgoingEmail {
    compose_invitation(form, link, unsubscribe, privacy, true)
}

fn compose_invitation(
    form: &Form,
    link: &str,
    unsubscribe: &str,
    privacy: &PrivacyLinks,
    reminder: bool,
) -> OutgoingEmail {
    let number = form.declaration.number.as_str();
    let expires = vn_display(form.expires_at);
    let subject = if reminder {
        format!("Nhắc: đánh giá phục vụ tờ khai {number} / Reminder: rate our service")
    } else {
        format!("Đánh giá chất lượng phục vụ tờ khai {number} / Rate our service")
    };
    // A follow-up form rates stages added after the first form was submitted.
    let follow_up = form.follow_up_of.is_some();
    // The channel rides on the link (`via`), so figures can tell the email's
    // link and its level buttons from the declaration software's link.
    let base = link;
    let link = &format!("{base}?via={}", Channel::Email.code());
    let qr = crate::app::qr::png(link);
    let mut text = String::new();
    for lang in ordered(form.business.language) {
        text.push_str(&match lang {
            Language::Vi => format!(
                "Kính gửi {name},\n\n{lead}tờ khai số {number} (mã loại hình {tc}, đăng ký {reg}) tại {branch}.\n\
                 Mở liên kết sau để đánh giá (hạn đến {expires}):\n{link}\n\n",
                name = form.business.name,
                lead = match (reminder, follow_up) {
                    (true, _) => "Quý doanh nghiệp chưa đánh giá ",
                    (false, true) => "Tờ khai có thêm khâu nghiệp vụ được xử lý sau khi Quý doanh nghiệp đã đánh giá. Xin mời đánh giá các khâu này của ",
                    (false, false) => "Cảm ơn Quý doanh nghiệp. Xin mời đánh giá chất lượng phục vụ đối với ",
                },
                tc = form.declaration.type_code,
                reg = vn_display(form.declaration.registered_at),
                branch = form.office_name(Language::Vi),
            ),
            Language::En => format!(
                "Dear {name},\n\n{lead} declaration {number} (type {tc}, registered {reg}) at {branch}.\n\
                 Open this link to rate it (until {expires}):\n{link}\n\n",
                name = form.business.name,
                lead = match (reminder, follow_up) {
                    (true, _) => "You have not yet rated our service for",
                    (false, true) => "More stages were handled after you rated. Please rate them for",
                    (false, false) => "Thank you. Please rate our service for",
                },
                tc = form.declaration.type_code,
                reg = vn_display(form.declaration.registered_at),
                branch = form.office_name(Language::En),
            ),
        });
    }
    let html = page(html! {
        @for lang in ordered(form.business.language) {
            @match lang {
                Language::Vi => {
                    p { "Kính gửi " strong { (form.business.name) } "," }
                    p {
                        @if reminder { "Quý doanh nghiệp chưa đánh giá " } @else { "Xin mời Quý doanh nghiệp đánh giá chất lượng phục vụ đối với " }
                        "tờ khai số " strong { (number) } " (mã loại hình " (form.declaration.type_code) ", đăng ký "
                        (vn_display(form.declaration.registered_at)) ") tại " (form.office_name(Language::Vi)) "."
                    }
                    p { a href=(link) style="background:#0b5394;color:#fff;padding:10px 16px;text-decoration:none;border-radius:4px" { "Đánh giá ngay" } }
                    p style="font-size:13px" { "Liên kết có hiệu lực đến " (expires) "." }
                    @if qr.is_some() {
                        p {
                            img src={ "cid:" (QR_CID) } width="180" height="180"
                                alt="Mã QR của liên kết đánh giá / QR code of the rating link";
                            br;
                            span style="font-size:13px" { "Hoặc quét mã QR bằng điện thoại." }
                        }
                    }
                }
                Language::En => {
                    p { "Dear " strong { (form.business.name) } "," }
                    p {
                        @if reminder { "You have not yet rated our service for " } @else { "Please rate our service for " }
                        "declaration " strong { (number) } " (type " (form.declaration.type_code) ", registered "
                        (vn_display(form.declaration.registered_at)) ") at " (form.office_name(Language::En)) "."
                    }
                    p { a href=(link) { "Rate now" } }
                    p style="font-size:13px" { "The link is valid until " (expires) "." }
                }
            }
        }
        // Rate from the email: each level opens the form with it chosen for
        // the office (a GET records nothing), and one press there sends it.
        p {
            "Mức độ hài lòng với " (form.office_name(Language::Vi)) " / "
            span lang="en" { "Your satisfaction with " (form.office_name(Language::En)) } ":"
        }
        p {
            @for level in crate::domain::rating_scale::Level::ALL.iter().rev() {
                a href={ (base) "?via=" (Channel::EmailButton.code()) "&level=" (level.value()) }
                    style="display:inline-block;margin:0 6px 6px 0;padding:8px 12px;border:1px solid #0b5394;border-radius:4px;color:#0b5394;text-decoration:none" {
                    (level.value()) " – " (level.label(form.business.language))
                }
            }
        }
        p style="color:#666;font-size:12px" {
            "Không muốn nhận thư mời đánh giá? " a href=(unsubscribe) { "Từ chối nhận thư" }
            " · Do not want rating invitations? " a href=(unsubscribe) { "Unsubscribe" }
        }
        (privacy.html())
    });
    text.push_str(&format!(
        "Từ chối nhận thư mời đánh giá / Unsubscribe from rating invitations:\n{unsubscribe}\n"
    ));
    text.push_str(&privacy.text());
    OutgoingEmail {
        to_name: form.business.name.to_string(),
        to: form.business.email.to_string(),
        subject,
        text,
        html,
        inline_images: qr
            .map(|bytes| InlineImage {
                content_id: QR_CID.into(),
                content_type: "image/png",
                file_name: "qr.png".into(),
                bytes,
            })
            .into_iter()
            .collect(),
        unsubscribe: Some(unsubscribe.to_owned()),
    }
}

/// The outcome to the business, with the link to accept it, rate how it was
/// handled or appeal (`link`: None only when no outcome link can be made).
pub fn case_outcome(case: &Case, link: Option<&str>, privacy: &PrivacyLinks) -> OutgoingEmail {
    let c = &case.complaint;
    let finding = case.finding.as_deref().unwrap_or("");
    let (kind_vi, kind_en) = case_kind_words(case);
    let (vi, en) = match (case.kind, case.status) {
        (CaseKind::Suggestion, _) => (
            "đã được xem xét và trả lời",
            "has been considered and answered",
        ),
        (_, crate::domain::case::CaseStatus::Resolved) => {
            ("đã được xác minh và xử lý", "has been verified and handled")
        }
        _ => (
            "đã được xác minh; nội dung phản ánh không có cơ sở",
            "has been verified and found without grounds",
        ),
    };
    let subject = format!(
        "Kết quả xử lý {kind_vi} tờ khai {} / Outcome of your {kind_en}",
        c.declaration_number
    );
    let mut text = String::new();
    for lang in ordered(c.business.language) {
        text.push_str(&match lang {
            Language::Vi => format!(
                "Kính gửi {},\n\n{} của Quý doanh nghiệp về tờ khai số {} {vi}.\nKết quả: {finding}\n{}\n",
                c.business.name,
                capitalise(kind_vi),
                c.declaration_number,
                link.map(|l| format!("Chấp nhận, đánh giá việc giải quyết hoặc khiếu nại kết quả: {l}\n")).unwrap_or_default()
            ),
            Language::En => format!(
                "Dear {},\n\nYour {kind_en} about declaration {} {en}.\nOutcome: {finding}\n{}\n",
                c.business.name,
                c.declaration_number,
                link.map(|l| format!("Accept it, rate how it was handled, or appeal: {l}\n")).unwrap_or_default()
            ),
        });
    }
    let html = page(html! {
        @for lang in ordered(c.business.language) {
            @match lang {
                Language::Vi => {
                    p { "Kính gửi " strong { (c.business.name) } "," }
                    p { (capitalise(kind_vi)) " của Quý doanh nghiệp về tờ khai số " strong { (c.declaration_number) } " " (vi) "." }
                    p { "Kết quả: " (finding) }
                    @if let Some(l) = link {
                        p { "Chấp nhận, đánh giá việc giải quyết hoặc khiếu nại kết quả: " a href=(l) { (l) } }
                    }
                }
                Language::En => {
                    p { "Dear " strong { (c.business.name) } "," }
                    p { "Your " (kind_en) " about declaration " strong { (c.declaration_number) } " " (en) "." }
                    p { "Outcome: " (finding) }
                    @if let Some(l) = link {
                        p { "Accept it, rate how it was handled, or appeal: " a href=(l) { (l) } }
                    }
                }
            }
        }
        (privacy.html())
    });
    let text = text + &privacy.text();
    OutgoingEmail {
        to_name: c.business.name.to_string(),
        to: c.business.email.to_string(),
        subject,
        text,
        html,
        ..OutgoingEmail::default()
    }
}
