//! Pages of the public rating form. maud escapes every interpolated value, so
//! whatever a business or the declaration system typed is shown, never run.

use maud::{DOCTYPE, Markup, html};

use crate::domain::declaration::Language;
use crate::domain::fields::FieldError;
use crate::domain::form::{Form, SubjectKind, Submission};
use crate::domain::privacy::PrivacyText;
use crate::domain::rating_scale::{Level, Polarity, Reason};
use crate::domain::time::vn_display;

/// Words of the page in one language.
struct Words {
    title: &'static str,
    declaration: &'static str,
    type_code: &'static str,
    registered: &'static str,
    branch: &'static str,
    lane: &'static str,
    business: &'static str,
    intro: &'static str,
    level: &'static str,
    good_reasons: &'static str,
    bad_reasons: &'static str,
    comment: &'static str,
    overall: &'static str,
    suggestion: &'static str,
    suggestion_note: &'static str,
    contact: &'static str,
    contact_note: &'static str,
    contact_name: &'static str,
    contact_phone: &'static str,
    save: &'static str,
    review_title: &'static str,
    review_intro: &'static str,
    edit: &'static str,
    send: &'static str,
    fix_errors: &'static str,
    not_rated: &'static str,
    thanks_title: &'static str,
    thanks: &'static str,
    thanks_complaint: &'static str,
    expires: &'static str,
    other_lang: &'static str,
    personal_data: &'static str,
    details: &'static str,
    send_now: &'static str,
}

const VI: Words = Words {
    title: "Đánh giá chất lượng phục vụ",
    declaration: "Tờ khai số",
    type_code: "Mã loại hình",
    registered: "Ngày đăng ký",
    branch: "Đơn vị",
    lane: "Phân luồng",
    business: "Doanh nghiệp",
    intro: "Chọn mức độ hài lòng cho từng đối tượng đã phục vụ Quý doanh nghiệp. Có thể bỏ qua đối tượng không tiếp xúc.",
    level: "Mức độ",
    good_reasons: "Lý do hài lòng (mức 3–5)",
    bad_reasons: "Lý do chưa hài lòng (mức 1–3)",
    comment: "Ý kiến khác",
    overall: "Ý kiến chung",
    suggestion: "Kiến nghị với đơn vị",
    suggestion_note: "Đề xuất cải tiến thủ tục, cách phục vụ: đơn vị sẽ trả lời qua email.",
    contact: "Thông tin liên hệ",
    contact_note: "Bắt buộc khi có mức 1 hoặc 2, để đơn vị xác minh và trả lời.",
    contact_name: "Họ tên người liên hệ",
    contact_phone: "Số điện thoại",
    save: "Ghi",
    review_title: "Xem lại trước khi gửi",
    review_intro: "Kiểm tra nội dung đánh giá. Bấm \u{201c}Gửi\u{201d} để hoàn tất; sau khi gửi không sửa được.",
    edit: "Sửa",
    send: "Gửi",
    fix_errors: "Vui lòng sửa các mục được đánh dấu.",
    not_rated: "Không đánh giá",
    thanks_title: "Cảm ơn Quý doanh nghiệp",
    thanks: "Đánh giá đã được ghi nhận.",
    thanks_complaint: "Phản ánh của Quý doanh nghiệp đã được chuyển đến đơn vị có thẩm quyền để xác minh, xử lý; kết quả sẽ được gửi qua email.",
    expires: "Hạn đánh giá",
    other_lang: "English",
    personal_data: "Dữ liệu cá nhân",
    details: "Đánh giá chi tiết: đội, khâu nghiệp vụ, công chức (không bắt buộc)",
    send_now: "Gửi đánh giá",
};

const EN: Words = Words {
    title: "Customs service-quality rating",
    declaration: "Declaration",
    type_code: "Type code",
    registered: "Registered",
    branch: "Customs unit",
    lane: "Lane",
    business: "Business",
    intro: "Choose a level for each unit or officer that served you. You may skip those you did not deal with.",
    level: "Level",
    good_reasons: "Reasons for satisfaction (levels 3–5)",
    bad_reasons: "Reasons for dissatisfaction (levels 1–3)",
    comment: "Other comments",
    overall: "Overall comments",
    suggestion: "Suggestion to the office",
    suggestion_note: "Ideas to improve procedures or service: the office answers by email.",
    contact: "Contact",
    contact_note: "Required with any level 1 or 2, so the unit can verify and answer you.",
    contact_name: "Contact name",
    contact_phone: "Phone number",
    save: "Save",
    review_title: "Review before sending",
    review_intro: "Check your rating. Press \u{201c}Send\u{201d} to finish; it cannot be changed afterwards.",
    edit: "Edit",
    send: "Send",
    fix_errors: "Please correct the marked fields.",
    not_rated: "Not rated",
    thanks_title: "Thank you",
    thanks: "Your rating has been recorded.",
    thanks_complaint: "Your complaint has been passed to the competent unit for verification; you will receive the outcome by email.",
    expires: "Rate by",
    other_lang: "Tiếng Việt",
    personal_data: "Personal data",
    details: "Rate in detail: teams, stages, officers (optional)",
    send_now: "Send my rating",
};

fn words(lang: Language) -> &'static Words {
    match lang {
        Language::Vi => &VI,
        Language::En => &EN,
    }
}

/// Validation messages by key, in both languages.
fn message(key: &str, lang: Language) -> &'static str {
    let (vi, en) = match key {
        "level_missing" => (
            "Chọn mức độ cho đối tượng này.",
            "Choose a level for this subject.",
        ),
        "level_invalid" => ("Mức độ không hợp lệ.", "That level is not valid."),
        "reason_mismatch" => (
            "Lý do không phù hợp với mức độ đã chọn.",
            "A reason does not match the chosen level.",
        ),
        "reason_invalid" => ("Lý do không hợp lệ.", "A reason is not valid."),
        "nothing_rated" => (
            "Chọn mức độ cho ít nhất một đối tượng.",
            "Rate at least one subject.",
        ),
        "comment_too_long" => (
            "Ý kiến quá dài (tối đa 2000 ký tự).",
            "The comment is too long (2000 characters at most).",
        ),
        "contact_required" => (
            "Bắt buộc khi có mức 1 hoặc 2.",
            "Required with a level 1 or 2.",
        ),
        "contact_name_invalid" => ("Họ tên không hợp lệ.", "The name is not valid."),
        "phone_invalid" => (
            "Số điện thoại gồm 8–15 chữ số.",
            "A phone number has 8 to 15 digits.",
        ),
        _ => ("Giá trị không hợp lệ.", "Invalid value."),
    };
    match lang {
        Language::Vi => vi,
        Language::En => en,
    }
}

pub(super) fn layout(
    lang: Language,
    title: &str,
    switch_href: Option<&str>,
    body: Markup,
) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                title { (title) }
                link rel="stylesheet" href="/static/csq.css";
            }
            body {
                header.bar {
                    @if let Some(href) = switch_href {
                        a.lang href=(href) { (words(lang).other_lang) }
                    }
                    strong { (title) }
                }
                main { (body) }
                // Every public page leads to the full privacy notice.
                footer.muted { a href={ "/privacy?lang=" (lang.code()) } { (words(lang).personal_data) } }
            }
        }
    }
}

fn declaration_card(form: &Form, lang: Language) -> Markup {
    let w = words(lang);
    let d = &form.declaration;
    html! {
        section.card {
            dl.decl {
                dt { (w.declaration) } dd { strong { (d.number) } }
                dt { (w.type_code) } dd { (d.type_code) }
                dt { (w.registered) } dd { (vn_display(d.registered_at)) }
                dt { (w.branch) } dd {
                    // The path above the office (region › office), in the reader's language.
                    @if form.office_path.len() > 1 {
                        @for (i, u) in form.office_path.iter().skip(1).enumerate() {
                            @if i > 0 { " › " }
                            (u.name_in(lang))
                        }
                    } @else {
                        (form.office_name(lang))
                    }
                }
                dt { (w.lane) } dd { (d.lane.label(lang)) }
                dt { (w.business) } dd { (form.business.name) " (" (form.business.tax_code) ")" }
                dt { (w.expires) } dd { (vn_display(form.expires_at)) }
            }
        }
    }
}

/// The reason groups a level shows ("good", "bad" or both), as the domain fits
/// reasons to levels.
fn reason_groups(level: Level) -> &'static str {
    let fits = |p: Polarity| {
        Reason::ALL
            .into_iter()
            .any(|r| r.polarity() == p && r.fits(level))
    };
    match (fits(Polarity::Positive), fits(Polarity::Negative)) {
        (true, true) => "good bad",
        (true, false) => "good",
        (false, true) => "bad",
        (false, false) => "",
    }
}

fn has(values: &[(String, String)], name: &str, value: &str) -> bool {
    values.iter().any(|(k, v)| k == name && v == value)
}

pub(super) fn value<'a>(values: &'a [(String, String)], name: &str) -> &'a str {
    values
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

fn field_errors(errors: &[FieldError], field: &str, lang: Language) -> Markup {
    html! {
        @for e in errors.iter().filter(|e| e.field == field) {
            p.error role="alert" { (message(&e.message, lang)) }
        }
    }
}

/// The short privacy notice and the link to the full one.
fn privacy_note(text: &str, privacy: &PrivacyText, lang: Language) -> Markup {
    html! {
        p.muted.privacy { (text) " " a href={ "/privacy?lang=" (lang.code()) } { (privacy.link) } }
    }
}

/// The rating form itself, refilled with `values` after a failed check or
/// "Sửa". `privacy`: the notices in the reader's language, periods filled in.
/// `send_now`: opened from a level button of the invitation, the form also
/// offers to send at once (the review step is for those who add more).
#[allow(clippy::too_many_arguments)]
pub fn form_page(
    form: &Form,
    token: &str,
    lang: Language,
    csrf: &str,
    values: &[(String, String)],
    errors: &[FieldError],
    privacy: &PrivacyText,
    send_now: bool,
) -> Markup {
    let w = words(lang);
    // How the business came (`via`) stays with the form through every step.
    let via = value(values, "via");
    // At a counter tablet: no autofill, and back to its start screen when idle.
    let counter = via == "kiosk";
    let switch = if via.is_empty() {
        format!("/f/{token}?lang={}", lang.other().code())
    } else {
        format!("/f/{token}?lang={}&via={via}", lang.other().code())
    };
    layout(
        lang,
        w.title,
        Some(&switch),
        html! {
            (declaration_card(form, lang))
            @if !errors.is_empty() {
                section.card.errors role="alert" { p.error { (w.fix_errors) } }
            }
            p { (w.intro) }
            form method="post" action={ "/f/" (token) }
                autocomplete=[counter.then_some("off")] data-kiosk-idle=[counter.then(super::kiosk::idle_seconds)] {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="lang" value=(lang.code());
                @if !via.is_empty() { input type="hidden" name="via" value=(via); }
                // The office first: most businesses are simply satisfied. Teams,
                // stages and officers wait in a section that opens when the
                // office's level is 3 or lower (rating.js), when something in it
                // was already chosen, or when the business opens it.
                @for (i, subject) in form.subjects.iter().enumerate().filter(|(_, s)| s.kind == SubjectKind::Branch) {
                    (subject_card(i, subject, lang, values, errors))
                }
                @if form.subjects.iter().any(|s| s.kind != SubjectKind::Branch) {
                    details.more open[details_open(form, values, errors)] {
                        summary { (w.details) }
                        @for (i, subject) in form.subjects.iter().enumerate().filter(|(_, s)| s.kind != SubjectKind::Branch) {
                            (subject_card(i, subject, lang, values, errors))
                        }
                    }
                }
                section.card {
                    label { strong { (w.overall) } textarea name="overall_comment" maxlength="2000" { (value(values, "overall_comment")) } }
                    (field_errors(errors, "overall_comment", lang))
                    label { strong { (w.suggestion) } span.muted { " — " (w.suggestion_note) } textarea name="suggestion" maxlength="2000" { (value(values, "suggestion")) } }
                    (field_errors(errors, "suggestion", lang))
                }
                section.card {
                    h2 { (w.contact) }
                    p.muted { (w.contact_note) }
                    (privacy_note(&privacy.notice, privacy, lang))
                    label { (w.contact_name) input type="text" name="contact_name" maxlength="200" autocomplete="name" value=(value(values, "contact_name")); }
                    (field_errors(errors, "contact_name", lang))
                    label { (w.contact_phone) input type="tel" name="contact_phone" maxlength="30" autocomplete="tel" value=(value(values, "contact_phone")); }
                    (field_errors(errors, "contact_phone", lang))
                }
                div.actions {
                    @if send_now {
                        button type="submit" formaction={ "/f/" (token) "/submit" } name="action" value="send" { (w.send_now) }
                        button.secondary type="submit" name="action" value="review" { (w.save) }
                    } @else {
                        button type="submit" name="action" value="review" { (w.save) }
                    }
                }
            }
            script src="/static/rating.js" {}
        },
    )
}

/// One subject's card: its level, the reasons that fit the level chosen,
/// a comment.
fn subject_card(
    i: usize,
    subject: &crate::domain::form::Subject,
    lang: Language,
    values: &[(String, String)],
    errors: &[FieldError],
) -> Markup {
    let w = words(lang);
    html! {
        @let level_name = format!("level.{i}");
        @let reason_name = format!("reason.{i}");
        @let comment_name = format!("comment.{i}");
        section.card.subject data-kind=(match subject.kind { SubjectKind::Branch => "branch", _ => "detail" }) {
            h2 { (subject.label(lang)) }
            fieldset {
                legend { (w.level) }
                div.levels {
                    @for level in Level::ALL {
                        @let v = level.value().to_string();
                        label {
                            input type="radio" class=(reason_groups(level)) name=(level_name) value=(v) checked[has(values, &level_name, &v)];
                            " " (level.value()) " – " (level.label(lang))
                        }
                    }
                }
                (field_errors(errors, &level_name, lang))
            }
            // On a phone twelve boxes per subject bury the form: csq.css shows
            // a group once a level that takes it is chosen (CSS :has(), no
            // script); browsers without :has() show both.
            div.reasons {
                @for (heading, polarity, group) in [(w.good_reasons, Polarity::Positive, "good"), (w.bad_reasons, Polarity::Negative, "bad")] {
                    div class=(group) {
                        h3 { (heading) }
                        @for reason in Reason::ALL.into_iter().filter(|r| r.polarity() == polarity) {
                            label {
                                input type="checkbox" name=(reason_name) value=(reason.code()) checked[has(values, &reason_name, reason.code())];
                                " " (reason.label(lang))
                            }
                        }
                    }
                }
            }
            (field_errors(errors, &reason_name, lang))
            label { (w.comment) textarea name=(comment_name) maxlength="2000" { (value(values, &comment_name)) } }
            (field_errors(errors, &comment_name, lang))
        }
    }
}

/// Whether the detailed subjects start open: the office was rated 3 or
/// lower, or a detailed subject already holds an answer or an error (the
/// page shown again after "Sửa" or a failed check).
fn details_open(form: &Form, values: &[(String, String)], errors: &[FieldError]) -> bool {
    let office_low = form
        .subjects
        .iter()
        .enumerate()
        .filter(|(_, s)| s.kind == SubjectKind::Branch)
        .any(|(i, _)| {
            value(values, &format!("level.{i}"))
                .parse::<u8>()
                .is_ok_and(|l| l <= 3)
        });
    let detail_touched = form
        .subjects
        .iter()
        .enumerate()
        .filter(|(_, s)| s.kind != SubjectKind::Branch)
        .any(|(i, _)| {
            let suffix = format!(".{i}");
            values
                .iter()
                .any(|(k, v)| k.ends_with(&suffix) && !v.trim().is_empty())
                || errors.iter().any(|e| e.field.ends_with(&suffix))
        });
    office_low || detail_touched
}

/// The review step: what will be sent, carried in hidden fields, with "Sửa" and "Gửi".
pub fn review_page(
    form: &Form,
    token: &str,
    lang: Language,
    csrf: &str,
    values: &[(String, String)],
    submission: &Submission,
    privacy: &PrivacyText,
) -> Markup {
    let w = words(lang);
    layout(
        lang,
        w.review_title,
        None,
        html! {
            (declaration_card(form, lang))
            section.card {
                h1 { (w.review_title) }
                p { (w.review_intro) }
                table {
                    @for subject in &form.subjects {
                        @let rating = submission.ratings.iter().find(|r| r.subject_key == subject.key);
                        tr {
                            th { (subject.label(lang)) }
                            td {
                                @match rating {
                                    Some(r) => {
                                        strong { (r.level.value()) " – " (r.level.label(lang)) }
                                        @for reason in &r.reasons { br; "· " (reason.label(lang)) }
                                        @if let Some(c) = &r.comment { br; em { (c) } }
                                    }
                                    None => span.muted { (w.not_rated) },
                                }
                            }
                        }
                    }
                }
                @if let Some(c) = &submission.overall_comment { p { strong { (w.overall) ": " } (c) } }
                @if let Some(c) = &submission.suggestion { p { strong { (w.suggestion) ": " } (c) } }
                @if let Some(c) = &submission.contact {
                    p { strong { (w.contact) ": " } (c.name) " — " (c.phone) }
                    @let said = if submission.reports_misconduct() { &privacy.notice_misconduct } else { &privacy.notice_complaint };
                    (privacy_note(said, privacy, lang))
                }
            }
            @let counter = value(values, "via") == "kiosk";
            form method="post" action={ "/f/" (token) "/submit" }
                autocomplete=[counter.then_some("off")] data-kiosk-idle=[counter.then(super::kiosk::idle_seconds)] {
                @for (k, v) in values.iter().filter(|(k, _)| k != "csrf" && k != "action" && k != "lang") {
                    input type="hidden" name=(k) value=(v);
                }
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="lang" value=(lang.code());
                div.actions {
                    button.secondary type="submit" formaction={ "/f/" (token) } name="action" value="edit" { (w.edit) }
                    button type="submit" name="action" value="send" { (w.send) }
                }
            }
            @if counter { script src="/static/rating.js" {} }
        },
    )
}

/// `at_counter`: submitted on a counter tablet, which shows nothing of the
/// answer and goes back to its start screen.
pub fn thanks_page(form: &Form, lang: Language, complaint: bool, at_counter: bool) -> Markup {
    let w = words(lang);
    layout(
        lang,
        w.thanks_title,
        None,
        html! {
            (declaration_card(form, lang))
            section.card {
                h1 { (w.thanks_title) }
                p { (w.thanks) }
                @if complaint { p { (w.thanks_complaint) } }
                @if at_counter { (super::kiosk::after_submission()) }
            }
            @if at_counter { script src="/static/rating.js" {} }
        },
    )
}

/// The full privacy notice (`/privacy`): no sign-in, both languages.
pub fn privacy_page(lang: Language, text: &PrivacyText) -> Markup {
    let switch = format!("/privacy?lang={}", lang.other().code());
    layout(
        lang,
        &text.title,
        Some(&switch),
        html! {
            section.card {
                h1 { (text.title) }
                @for s in &text.sections {
                    h2 { (s.heading) }
                    @for paragraph in s.text.split("\n\n").filter(|p| !p.trim().is_empty()) {
                        p { (paragraph.trim()) }
                    }
                }
            }
        },
    )
}

/// Pages for links that cannot be used, in both languages: the business may not
/// have chosen a language yet, and nothing about the form is revealed.
pub(super) fn status_page(kind: StatusKind) -> Markup {
    let (vi_title, vi_text, en_title, en_text) = match kind {
        StatusKind::NotFound => (
            "Không tìm thấy phiếu đánh giá",
            "Liên kết không hợp lệ. Vui lòng mở đúng liên kết trong email đã nhận.",
            "Rating form not found",
            "This link is not valid. Please open the exact link from the email you received.",
        ),
        StatusKind::Expired => (
            "Phiếu đánh giá đã hết hạn",
            "Thời hạn đánh giá cho tờ khai này đã kết thúc.",
            "This rating form has expired",
            "The time to rate this declaration has ended.",
        ),
        StatusKind::AlreadySubmitted => (
            "Phiếu đánh giá đã được gửi",
            "Đánh giá cho tờ khai này đã được ghi nhận trước đó. Cảm ơn Quý doanh nghiệp.",
            "This rating form was already submitted",
            "Your rating for this declaration was already recorded. Thank you.",
        ),
        StatusKind::SessionExpired => (
            "Phiên làm việc không hợp lệ",
            "Vui lòng mở lại liên kết trong email và nhập lại đánh giá.",
            "Your session is not valid",
            "Please open the link from the email again and re-enter your rating.",
        ),
        StatusKind::Unavailable => (
            "Hệ thống đang bận",
            "Vui lòng thử lại sau ít phút. Thông tin đã nhập chưa được gửi.",
            "The service is busy",
            "Please try again in a few minutes. Nothing was sent yet.",
        ),
        StatusKind::TooLarge => (
            "Nội dung quá lớn",
            "Nội dung gửi vượt quá giới hạn cho phép.",
            "Too much content",
            "What was sent exceeds the allowed size.",
        ),
    };
    layout(
        Language::Vi,
        vi_title,
        None,
        html! {
            section.card { h1 { (vi_title) } p { (vi_text) } }
            section.card lang="en" { h1 { (en_title) } p { (en_text) } }
        },
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusKind {
    NotFound,
    Expired,
    AlreadySubmitted,
    SessionExpired,
    Unavailable,
    TooLarge,
}
