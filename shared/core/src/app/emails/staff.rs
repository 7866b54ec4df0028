//! Emails to staff: a case assigned, due soon, escalated; the weekly early warning.

use maud::{Markup, html};

use super::{capitalise, case_kind_words, page};
use crate::domain::case::Case;
use crate::domain::declaration::Language;
use crate::domain::rating_scale::Level;
use crate::domain::time::vn_deadline;
use crate::policy::CaseView;
use crate::ports::OutgoingEmail;

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

/// The one-time sign-in code, to an address the directory names.
pub fn sign_in_code(name: &str, to: &str, code: &str, console_url: &str) -> OutgoingEmail {
    let subject = format!("Mã đăng nhập CSQ / CSQ sign-in code: {code}");
    let text = format!(
        "Mã đăng nhập CSQ của {name}: {code}\nMã dùng được một lần trong 10 phút. \
         Nếu không phải bạn yêu cầu, hãy bỏ qua thư này.\n\n\
         Your CSQ sign-in code: {code}\nIt works once, within 10 minutes. \
         If you did not ask for it, ignore this email.\n\n{console_url}\n"
    );
    let html = page(html! {
        p { "Mã đăng nhập CSQ của " (name) ":" }
        p { strong style="font-size: 1.5em; letter-spacing: 0.2em" { (code) } }
        p { "Mã dùng được một lần trong 10 phút. Nếu không phải bạn yêu cầu, hãy bỏ qua thư này." }
        p lang="en" { "Your CSQ sign-in code. It works once, within 10 minutes. If you did not ask for it, ignore this email." }
        p { a href=(console_url) { (console_url) } }
    });
    OutgoingEmail {
        to_name: name.to_owned(),
        to: to.to_owned(),
        subject,
        text,
        html,
        ..OutgoingEmail::default()
    }
}
