//! The emails CSQ sends: Vietnamese first, English below, HTML and plain text.
//! HTML goes through maud, which escapes every interpolated value. To a
//! business (`business.rs`: invitation, reminder, a case's outcome), to staff
//! (`staff.rs`: a case assigned, due, escalated; the early warning), and how
//! a message becomes MIME (here).

mod business;
mod staff;

pub use business::{PrivacyLinks, case_outcome, invitation, reminder};
pub use staff::{case_assigned, case_escalated, case_reminder, early_warning, sign_in_code};

use maud::{Markup, html};

use crate::domain::case::{Case, CaseKind};
use crate::domain::declaration::Language;
use crate::ports::{MailError, OutgoingEmail};

pub(super) fn page(body: Markup) -> String {
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
pub(super) fn ordered(lang: Language) -> [Language; 2] {
    [lang, lang.other()]
}

/// The content id of the invitation's QR code image.
pub(super) const QR_CID: &str = "qr-rating-link";

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
    // Every message names itself (mail filters expect it; the outbox and the
    // relay's copy share it): random, at the sender's domain.
    let message_id = format!(
        "<{}@{}>",
        uuid::Uuid::new_v4().simple(),
        from.email.domain()
    );
    let mut builder = lettre::Message::builder()
        .message_id(Some(message_id))
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

/// What a case is, in both languages: (Vietnamese, English).
pub(super) fn case_kind_words(case: &Case) -> (&'static str, &'static str) {
    match case.kind {
        CaseKind::Complaint => ("phản ánh", "complaint"),
        CaseKind::Suggestion => ("kiến nghị", "suggestion"),
    }
}

pub(super) fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::submission::tests::sample_form;

    fn privacy() -> PrivacyLinks {
        PrivacyLinks {
            vi: "https://csq.example/privacy?lang=vi".into(),
            en: "https://csq.example/privacy?lang=en".into(),
        }
    }

    #[test]
    fn invitation_has_both_languages_and_the_link() {
        let mut form = sample_form();
        form.business.name = crate::domain::fields::DisplayName::parse("A <b>&</b> Co").unwrap();
        let mail = invitation(
            &form,
            "https://csq.example/f/k1.abc.1.sig",
            "https://csq.example/u/k1.abc.1.sig",
            &privacy(),
        );
        assert_eq!(mail.to, "xnk@abc.com.vn");
        // Every email to a business says where its data's handling is explained.
        for link in [privacy().vi, privacy().en] {
            assert!(
                mail.html.contains(&link) && mail.text.contains(&link),
                "{link}"
            );
        }
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
            &privacy(),
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
        // Each message names itself, at the sender's domain, once.
        let ids: Vec<&str> = raw
            .lines()
            .filter(|l| l.starts_with("Message-ID: <"))
            .collect();
        assert_eq!(ids.len(), 1, "{raw}");
        assert!(ids[0].ends_with("@csq.example>"), "{}", ids[0]);
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
        let mail = reminder(&form, "l", "https://csq.example/u/x", &privacy());
        assert!(mail.text.contains(&privacy().en));
        assert!(mail.text.find("Dear") < mail.text.find("Kính gửi"));
        assert!(mail.subject.starts_with("Nhắc"));
    }
}
