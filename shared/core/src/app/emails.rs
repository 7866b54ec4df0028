//! The emails CSQ sends: Vietnamese first, English below, HTML and plain text.
//! HTML goes through maud, which escapes every interpolated value.

use maud::{Markup, html};

use crate::domain::case::{Case, CaseKind};
use crate::domain::declaration::Language;
use crate::domain::form::Form;
use crate::domain::rating_scale::Level;
use crate::domain::time::{vn_deadline, vn_display};
use crate::policy::CaseView;
use crate::ports::{InlineImage, MailError, OutgoingEmail};

fn page(body: Markup) -> String {
    html! {
        (maud::DOCTYPE)
        html {
            head { meta charset="utf-8"; }
            body style="font-family: Arial, sans-serif; color: #1a1a1a; max-width: 640px;" {
                (body)
                hr;
                p style="color:#666;font-size:12px" {
                    "Thư này được gửi tự động từ hệ thống đánh giá chất lượng phục vụ của cơ quan hải quan. "
                    "This message was sent automatically by the customs service-quality rating system."
                }
            }
        }
    }
    .into_string()
}

/// Both languages, the business's own first.
fn ordered(lang: Language) -> [Language; 2] {
    [lang, lang.other()]
}

/// The content id of the invitation's QR code image.
const QR_CID: &str = "qr-rating-link";

/// The invitation to rate a form; `unsubscribe` is its signed one-click opt-out URL.
pub fn invitation(form: &Form, link: &str, unsubscribe: &str) -> OutgoingEmail {
    compose_invitation(form, link, unsubscribe, false)
}

pub fn reminder(form: &Form, link: &str, unsubscribe: &str) -> OutgoingEmail {
    compose_invitation(form, link, unsubscribe, true)
}

fn compose_invitation(form: &Form, link: &str, unsubscribe: &str, reminder: bool) -> OutgoingEmail {
    let number = form.declaration.number.as_str();
    let expires = vn_display(form.expires_at);
    let subject = if reminder {
        format!("Nhắc: đánh giá phục vụ tờ khai {number} / Reminder: rate our service")
    } else {
        format!("Đánh giá chất lượng phục vụ tờ khai {number} / Rate our service")
    };
    // A follow-up form rates stages added after the first form was submitted.
    let follow_up = form.follow_up_of.is_some();
    let qr = super::qr::png(link);
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
        p style="color:#666;font-size:12px" {
            "Không muốn nhận thư mời đánh giá? " a href=(unsubscribe) { "Từ chối nhận thư" }
            " · Do not want rating invitations? " a href=(unsubscribe) { "Unsubscribe" }
        }
    });
    text.push_str(&format!(
        "Từ chối nhận thư mời đánh giá / Unsubscribe from rating invitations:\n{unsubscribe}\n"
    ));
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

fn level_label(level: u8) -> &'static str {
    Level::new(level).map_or("", |l| l.label(Language::Vi))
}

/// What a staff email says of a case: the view built for its recipient (see
/// `policy`), so an escalation never carries a contact or a reporter it should not.
fn case_summary_text(case: &CaseView) -> String {
    let c = &case.complaint;
    let mut s = format!(
        "Tờ khai / Declaration: {}\nĐơn vị / Unit: {} ({})\n",
        c.declaration_number,
        c.office_name(),
        c.branch,
    );
    if let Some(b) = &c.business {
        s.push_str(&format!(
            "Doanh nghiệp / Business: {} ({})\n",
            b.name, b.tax_code
        ));
    }
    if let Some(contact) = &c.contact {
        s.push_str(&format!(
            "Liên hệ / Contact: {} {}\n",
            contact.name, contact.phone
        ));
    }
    for subj in &c.subjects {
        let reasons: Vec<&str> = subj.reasons.iter().map(|r| r.label(Language::Vi)).collect();
        s.push_str(&format!(
            "- {}: {} ({}){}{}\n",
            subj.subject.label,
            subj.level,
            level_label(subj.level),
            if reasons.is_empty() {
                String::new()
            } else {
                format!("; {}", reasons.join(", "))
            },
            subj.comment
                .as_deref()
                .map(|t| format!("; \"{t}\""))
                .unwrap_or_default(),
        ));
    }
    if let Some(t) = &c.overall_comment {
        s.push_str(&format!("Ý kiến chung / Overall: \"{t}\"\n"));
    }
    if let Some(t) = &c.suggestion {
        s.push_str(&format!("Kiến nghị / Suggestion: \"{t}\"\n"));
    }
    s
}

fn case_summary_html(case: &CaseView) -> Markup {
    let c = &case.complaint;
    html! {
        table cellpadding="4" style="border-collapse:collapse" {
            tr { th align="left" { "Tờ khai / Declaration" } td { (c.declaration_number) } }
            tr { th align="left" { "Đơn vị / Unit" } td { (c.office_name()) " (" (c.branch) ")" } }
            @if let Some(b) = &c.business {
                tr { th align="left" { "Doanh nghiệp / Business" } td { (b.name) " (" (b.tax_code) ")" } }
            }
            @if let Some(contact) = &c.contact {
                tr { th align="left" { "Liên hệ / Contact" } td { (contact.name) " — " (contact.phone) } }
            }
        }
        ul {
            @for subj in &c.subjects {
                li {
                    strong { (subj.subject.label) } ": " (subj.level) " — " (level_label(subj.level))
                    @for r in &subj.reasons { " · " (r.label(Language::Vi)) }
                    @if let Some(t) = &subj.comment { br; em { (t) } }
                }
            }
        }
        @if let Some(t) = &c.overall_comment { p { "Ý kiến chung / Overall: " em { (t) } } }
        @if let Some(t) = &c.suggestion { p { "Kiến nghị / Suggestion: " em { (t) } } }
    }
}

/// What a case is, in both languages: (Vietnamese, English).
fn case_kind_words(case: &Case) -> (&'static str, &'static str) {
    match case.kind {
        CaseKind::Complaint => ("phản ánh", "complaint"),
        CaseKind::Suggestion => ("kiến nghị", "suggestion"),
    }
}

pub fn case_assigned(case: &Case, staff_url: &str) -> OutgoingEmail {
    let link = format!("{staff_url}/dashboard#case={}", case.id);
    let due = vn_deadline(case.due_at);
    let (vi, en) = case_kind_words(case);
    let (lead_vi, lead_en) = if case.response.appeal.is_some() {
        (
            format!(
                "Doanh nghiệp khiếu nại kết quả xử lý {vi}; hồ sơ được mở lại và giao cho đơn vị xem xét"
            ),
            format!(
                "The business appealed the outcome of its {en}; the case is reopened for your unit to review"
            ),
        )
    } else if !case.transfers.is_empty() {
        (
            format!("Một {vi} được chuyển cho đơn vị xử lý"),
            format!("A {en} has been transferred to your unit"),
        )
    } else {
        (
            format!("Một {vi} của doanh nghiệp được giao cho đơn vị"),
            format!("A business {en} has been assigned to your unit"),
        )
    };
    let subject = format!(
        "[CSQ] {} / {}: tờ khai {}",
        capitalise(vi),
        capitalise(en),
        case.complaint.declaration_number
    );
    let text = format!(
        "Kính gửi {name},\n\n{lead_vi} ({rule}).\n{lead_en}.\n\n{summary}\n\
         Hạn xử lý: {due_vi} / Due {due_en}\nHồ sơ / Case: {link}\n",
        name = case.assignment.name,
        rule = case.assignment.rule,
        due_vi = due.vi,
        due_en = due.en,
        summary = case_summary_text(&CaseView::for_assignee_email(case)),
    );
    let html = page(html! {
        p { "Kính gửi " strong { (case.assignment.name) } "," }
        p { (lead_vi) ". " (lead_en) "." }
        (case_summary_html(&CaseView::for_assignee_email(case)))
        p { "Hạn xử lý: " strong { (due.vi) } " / Due " strong { (due.en) } }
        p { "Hồ sơ / Case: " a href=(link) { (link) } }
    });
    to_assignee(case, subject, text, html)
}

fn to_assignee(case: &Case, subject: String, text: String, html: String) -> OutgoingEmail {
    OutgoingEmail {
        to_name: case.assignment.name.clone(),
        to: case.assignment.email.clone(),
        subject,
        text,
        html,
        ..OutgoingEmail::default()
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// The one reminder before a case's due date, to its assignee.
pub fn case_reminder(case: &Case, staff_url: &str) -> OutgoingEmail {
    let link = format!("{staff_url}/dashboard#case={}", case.id);
    let due = vn_deadline(case.due_at);
    let (vi, en) = case_kind_words(case);
    let subject = format!(
        "[CSQ] Nhắc hạn xử lý {vi} / Reminder: {en} due {}: tờ khai {}",
        due.en, case.complaint.declaration_number
    );
    let text = format!(
        "Kính gửi {name},\n\n{vi_cap} giao cho đơn vị sắp đến hạn xử lý: {due_vi}.\n         The {en} assigned to your unit is due {due_en}.\n\nHồ sơ / Case: {link}\n",
        name = case.assignment.name,
        vi_cap = capitalise(vi),
        due_vi = due.vi,
        due_en = due.en,
    );
    let html = page(html! {
        p { "Kính gửi " strong { (case.assignment.name) } "," }
        p { (capitalise(vi)) " giao cho đơn vị sắp đến hạn xử lý: " strong { (due.vi) } "." }
        p { "The " (en) " assigned to your unit is due " (due.en) "." }
        p { "Hồ sơ / Case: " a href=(link) { (link) } }
    });
    to_assignee(case, subject, text, html)
}

pub fn case_escalated(case: &Case, to_name: &str, to: &str, staff_url: &str) -> OutgoingEmail {
    let link = format!("{staff_url}/dashboard#case={}", case.id);
    let (vi, en) = case_kind_words(case);
    let subject = format!(
        "[CSQ] {} quá hạn / Overdue {en}: tờ khai {}",
        capitalise(vi),
        case.complaint.declaration_number
    );
    let text = format!(
        "{} giao cho {} ({}) đã quá hạn xử lý ({}).\nThe {en} assigned to {} is overdue: it was due {}.\n\n{}\nHồ sơ / Case: {link}\n",
        capitalise(vi),
        case.assignment.name,
        case.assignment.unit,
        vn_deadline(case.due_at).vi,
        case.assignment.name,
        vn_deadline(case.due_at).en,
        case_summary_text(&CaseView::for_escalation_email(case))
    );
    let html = page(html! {
        p { (capitalise(vi)) " giao cho " strong { (case.assignment.name) } " đã quá hạn xử lý (" (vn_deadline(case.due_at).vi) ")." }
        p { "The " (en) " assigned to " (case.assignment.name) " is overdue." }
        (case_summary_html(&CaseView::for_escalation_email(case)))
        p { a href=(link) { (link) } }
    });
    OutgoingEmail {
        to_name: to_name.to_owned(),
        to: to.to_owned(),
        subject,
        text,
        html,
        ..OutgoingEmail::default()
    }
}

/// The outcome to the business, with the link to accept it, rate how it was
/// handled or appeal (`link`: None only when no outcome link can be made).
pub fn case_outcome(case: &Case, link: Option<&str>) -> OutgoingEmail {
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
    });
    OutgoingEmail {
        to_name: c.business.name.to_string(),
        to: c.business.email.to_string(),
        subject,
        text,
        html,
        ..OutgoingEmail::default()
    }
}

/// The weekly early warning to one head: the flags they should look at.
pub fn early_warning(
    to_name: &str,
    to: &str,
    report: &crate::domain::report::WarningReport,
    flags: &[&crate::domain::report::Flag],
    staff_url: &str,
) -> OutgoingEmail {
    let pct = |k: u64, n: u64| format!("{:.1}%", k as f64 * 100.0 / n.max(1) as f64);
    let link = format!("{staff_url}/dashboard#warnings");
    let subject = format!(
        "[CSQ] Cảnh báo sớm / Early warning: {} đơn vị, công chức giảm mức hài lòng (tuần đến {})",
        flags.len(),
        report.week_end
    );
    let lines: Vec<String> = flags
        .iter()
        .map(|f| {
            format!(
                "- {}: {} ({} lượt / ratings) so với / vs {} ({}), p = {:.4}",
                f.key,
                pct(f.recent_satisfied, f.recent_ratings),
                f.recent_ratings,
                pct(f.baseline_satisfied, f.baseline_ratings),
                f.baseline_ratings,
                f.p_value
            )
        })
        .collect();
    let text = format!(
        "Kính gửi {to_name},\n\nTỷ lệ hài lòng 4 tuần gần nhất ({} – {}) giảm rõ rệt so với 12 tuần trước đó:\n\
         The satisfied share of the last 4 weeks fell significantly below the 12 weeks before:\n\n{}\n\n{link}\n",
        report.recent_from,
        report.week_end,
        lines.join("\n")
    );
    let html = page(html! {
        p { "Kính gửi " strong { (to_name) } "," }
        p { "Tỷ lệ hài lòng 4 tuần gần nhất giảm rõ rệt so với 12 tuần trước đó. The satisfied share of the last 4 weeks fell significantly below the 12 weeks before." }
        ul { @for l in &lines { li { (l.trim_start_matches("- ")) } } }
        p { a href=(link) { (link) } }
    });
    OutgoingEmail {
        to_name: to_name.to_owned(),
        to: to.to_owned(),
        subject,
        text,
        html,
        ..OutgoingEmail::default()
    }
}

/// Checks a configured sender such as `CSQ <no-reply@csq.example>` at start-up.
pub fn check_sender(from: &str) -> Result<(), String> {
    from.parse::<lettre::message::Mailbox>()
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Renders an email as an RFC 5322 message (multipart/alternative: text, then
/// HTML). lettre encodes non-ASCII headers and refuses line breaks in them, so no
/// name or subject can inject a header.
pub fn to_mime(email: &OutgoingEmail, from: &str) -> Result<Vec<u8>, MailError> {
    use lettre::message::header::{ContentType, HeaderName, HeaderValue};
    use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
    let bad = |what: &str, e: &dyn std::fmt::Display| MailError::Rejected(format!("{what}: {e}"));
    let from: Mailbox = from.parse().map_err(|e| bad("sender", &e))?;
    let to_addr: lettre::Address = email.to.parse().map_err(|e| bad("recipient", &e))?;
    if email.to_name.chars().any(char::is_control) || email.subject.chars().any(char::is_control) {
        return Err(MailError::Rejected("line break in a header".into()));
    }
    let to = Mailbox::new(Some(email.to_name.clone()), to_addr);
    let mut builder = lettre::Message::builder()
        .from(from)
        .to(to)
        .subject(email.subject.clone());
    if let Some(url) = &email.unsubscribe {
        for (name, value) in unsubscribe_headers(url)? {
            let name = HeaderName::new_from_ascii(name.into()).map_err(|e| bad("header", &e))?;
            builder = builder.raw_header(HeaderValue::new(name, value));
        }
    }
    let body = if email.inline_images.is_empty() {
        MultiPart::alternative_plain_html(email.text.clone(), email.html.clone())
    } else {
        // alternative(text, related(html, images)): the images belong to the HTML.
        let mut related = MultiPart::related().singlepart(SinglePart::html(email.html.clone()));
        for img in &email.inline_images {
            let kind = ContentType::parse(img.content_type).map_err(|e| bad("image", &e))?;
            related = related.singlepart(
                Attachment::new_inline_with_name(img.content_id.clone(), img.file_name.clone())
                    .body(img.bytes.clone(), kind),
            );
        }
        MultiPart::alternative()
            .singlepart(SinglePart::plain(email.text.clone()))
            .multipart(related)
    };
    builder
        .multipart(body)
        .map(|m| m.formatted())
        .map_err(|e| bad("message", &e))
}

/// The RFC 8058 one-click opt-out headers for `url`. Mail programs show an
/// "unsubscribe" button and POST `List-Unsubscribe=One-Click` to the URL.
pub fn unsubscribe_headers(url: &str) -> Result<[(&'static str, String); 2], MailError> {
    if !url.starts_with("https://") && !url.starts_with("http://")
        || url
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '>')
    {
        return Err(MailError::Rejected(
            "unsubscribe URL is not a plain URL".into(),
        ));
    }
    Ok([
        ("List-Unsubscribe", format!("<{url}>")),
        (
            "List-Unsubscribe-Post",
            "List-Unsubscribe=One-Click".to_owned(),
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::submission::tests::sample_form;

    #[test]
    fn invitation_has_both_languages_and_the_link() {
        let mut form = sample_form();
        form.business.name = crate::domain::fields::DisplayName::parse("A <b>&</b> Co").unwrap();
        let mail = invitation(
            &form,
            "https://csq.example/f/k1.abc.1.sig",
            "https://csq.example/u/k1.abc.1.sig",
        );
        assert_eq!(mail.to, "xnk@abc.com.vn");
        assert!(mail.subject.contains("105234567890"));
        assert!(mail.text.contains("Kính gửi") && mail.text.contains("Dear"));
        assert!(
            mail.text.find("Kính gửi") < mail.text.find("Dear"),
            "Vietnamese first"
        );
        assert!(mail.html.contains("https://csq.example/f/k1.abc.1.sig"));
        assert!(mail.html.contains("A &lt;b&gt;&amp;&lt;/b&gt; Co"));
        assert!(!mail.html.contains("<b>&</b>"));
    }

    #[test]
    fn mime_has_both_parts_and_encoded_headers() {
        let form = sample_form();
        let mail = invitation(
            &form,
            "http://127.0.0.1:8080/f/k1.abc.1.sig",
            "http://127.0.0.1:8080/u/k1.abc.1.sig",
        );
        let raw = String::from_utf8(to_mime(&mail, "CSQ Hải quan <no-reply@csq.example>").unwrap())
            .unwrap();
        assert!(raw.contains("multipart/alternative"));
        assert!(raw.contains("text/plain") && raw.contains("text/html"));
        assert!(
            raw.contains("To: =?utf-8?"),
            "non-ASCII name is encoded: {raw}"
        );
        // The QR code travels as an inline image of the HTML; the opt-out as RFC 8058 headers.
        assert!(raw.contains("multipart/related"), "{raw}");
        assert!(raw.contains("Content-ID: <qr-rating-link>"), "{raw}");
        assert!(mail.html.contains("src=\"cid:qr-rating-link\""));
        assert!(raw.contains("List-Unsubscribe: <http://127.0.0.1:8080/u/k1.abc.1.sig>"));
        assert!(raw.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
        assert!(mail.text.contains("http://127.0.0.1:8080/u/k1.abc.1.sig"));
        let mut evil = mail.clone();
        evil.unsubscribe = Some("https://x.example/u/1>\r\nBcc: spy@evil.example".into());
        assert!(to_mime(&evil, "a@b.cd").is_err());
        evil.to_name = "X\r\nBcc: spy@evil.example".into();
        assert!(to_mime(&evil, "a@b.cd").is_err());
        evil.to_name = "ok".into();
        evil.to = "a@b.cd\r\nBcc: spy@evil.example".into();
        assert!(to_mime(&evil, "a@b.cd").is_err());
    }

    #[test]
    fn english_business_reads_english_first() {
        let mut form = sample_form();
        form.business.language = Language::En;
        let mail = reminder(&form, "l", "https://csq.example/u/x");
        assert!(mail.text.find("Dear") < mail.text.find("Kính gửi"));
        assert!(mail.subject.starts_with("Nhắc"));
    }
}
