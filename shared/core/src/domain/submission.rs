//! Reading what the business entered on the rating page into a `Submission`.
//!
//! Field names follow the page: `level.N`, `reason.N` (repeated), `comment.N` for
//! the N-th subject of the form, then `overall_comment`, `contact_name`,
//! `contact_phone`. Unrated subjects are skipped: a business may not have dealt
//! with every officer listed, and a forced answer would only add noise.

use super::fields::{DisplayName, FieldError, clean_free_text};
use super::form::{Channel, Contact, Form, SubjectRating, Submission};
use super::rating_scale::{Level, Reason};

pub const MAX_COMMENT_CHARS: usize = 2000;

/// The raw fields of the page, in the order the browser sent them.
pub type PageFields = Vec<(String, String)>;

fn values<'a>(fields: &'a [(String, String)], name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    fields
        .iter()
        .filter(move |(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn first<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

/// A phone number a person can call: 8–15 digits, with optional +, spaces, dots, dashes.
pub fn parse_phone(s: &str) -> Result<String, String> {
    let s = s.trim();
    let digits = s.chars().filter(char::is_ascii_digit).count();
    let allowed = s
        .chars()
        .enumerate()
        .all(|(i, c)| c.is_ascii_digit() || matches!(c, ' ' | '.' | '-') || (c == '+' && i == 0));
    if allowed && (8..=15).contains(&digits) {
        Ok(s.to_owned())
    } else {
        Err("phone_invalid".into())
    }
}

/// Message keys (not texts) so the page can show them in either language.
pub fn parse_submission(
    form: &Form,
    fields: &[(String, String)],
) -> Result<Submission, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut ratings = Vec::new();
    for (i, subject) in form.subjects.iter().enumerate() {
        let level_field = format!("level.{i}");
        let reasons_field = format!("reason.{i}");
        let comment_field = format!("comment.{i}");
        let level_raw = first(fields, &level_field).trim();
        let reason_codes: Vec<&str> = values(fields, &reasons_field).collect();
        let comment = match clean_free_text(first(fields, &comment_field), MAX_COMMENT_CHARS) {
            Ok(c) => c,
            Err(_) => {
                errors.push(FieldError::new(&comment_field, "comment_too_long"));
                None
            }
        };
        if level_raw.is_empty() {
            if !reason_codes.is_empty() || comment.is_some() {
                errors.push(FieldError::new(&level_field, "level_missing"));
            }
            continue;
        }
        let Some(level) = level_raw.parse::<u8>().ok().and_then(Level::new) else {
            errors.push(FieldError::new(&level_field, "level_invalid"));
            continue;
        };
        let mut reasons = Vec::new();
        for code in reason_codes {
            match Reason::from_code(code) {
                Some(r) if r.fits(level) => {
                    if !reasons.contains(&r) {
                        reasons.push(r);
                    }
                }
                Some(_) => errors.push(FieldError::new(&reasons_field, "reason_mismatch")),
                None => errors.push(FieldError::new(&reasons_field, "reason_invalid")),
            }
        }
        ratings.push(SubjectRating {
            subject_key: subject.key.clone(),
            level,
            reasons,
            comment,
        });
    }
    if ratings.is_empty() && errors.is_empty() {
        errors.push(FieldError::new("level.0", "nothing_rated"));
    }

    let overall_comment = clean_free_text(first(fields, "overall_comment"), MAX_COMMENT_CHARS)
        .unwrap_or_else(|_| {
            errors.push(FieldError::new("overall_comment", "comment_too_long"));
            None
        });

    let suggestion = clean_free_text(first(fields, "suggestion"), MAX_COMMENT_CHARS)
        .unwrap_or_else(|_| {
            errors.push(FieldError::new("suggestion", "comment_too_long"));
            None
        });

    let name = first(fields, "contact_name").trim();
    let phone = first(fields, "contact_phone").trim();
    let needs_contact = ratings.iter().any(|r| r.level.is_low());
    let contact = if name.is_empty() && phone.is_empty() {
        if needs_contact {
            errors.push(FieldError::new("contact_name", "contact_required"));
            errors.push(FieldError::new("contact_phone", "contact_required"));
        }
        None
    } else {
        let name = DisplayName::parse(name)
            .map_err(|_| FieldError::new("contact_name", "contact_name_invalid"));
        let phone =
            parse_phone(phone).map_err(|_| FieldError::new("contact_phone", "phone_invalid"));
        match (name, phone) {
            (Ok(name), Ok(phone)) => Some(Contact { name, phone }),
            (name, phone) => {
                errors.extend(name.err());
                errors.extend(phone.err());
                None
            }
        }
    };

    if errors.is_empty() {
        Ok(Submission {
            ratings,
            overall_comment,
            contact,
            suggestion,
            // The page carries its link's `via`; a kiosk is confirmed by the caller.
            channel: Some(Channel::recorded(
                fields
                    .iter()
                    .find(|(k, _)| k == "via")
                    .map(|(_, v)| v.as_str()),
                false,
            )),
        })
    } else {
        Err(errors)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::declaration::FormRequest;
    use crate::domain::declaration::tests::sample_request;
    use chrono::{Duration, Utc};

    pub fn sample_form() -> Form {
        let now = Utc::now();
        Form::new(
            "f1".into(),
            FormRequest::parse(&sample_request()).unwrap(),
            now,
            now + Duration::days(7),
            now + Duration::days(365),
            vec![],
        )
    }

    fn f(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn codes(r: Result<Submission, Vec<FieldError>>) -> Vec<(String, String)> {
        r.unwrap_err()
            .into_iter()
            .map(|e| (e.field, e.message))
            .collect()
    }

    #[test]
    fn happy_ratings_need_no_contact() {
        let form = sample_form();
        let s = parse_submission(
            &form,
            &f(&[
                ("level.0", "5"),
                ("reason.0", "fast"),
                ("reason.0", "fast"),
                ("level.5", "4"),
                ("comment.5", " ok "),
            ]),
        )
        .unwrap();
        assert_eq!(s.ratings.len(), 2);
        assert_eq!(s.ratings[0].reasons, vec![Reason::Fast]);
        assert_eq!(s.ratings[1].subject_key, "officer:document_check:HP1234");
        assert_eq!(s.ratings[1].comment.as_deref(), Some("ok"));
        assert!(s.contact.is_none());
    }

    #[test]
    fn low_level_requires_contact() {
        let form = sample_form();
        let errs = codes(parse_submission(&form, &f(&[("level.0", "2")])));
        assert!(errs.contains(&("contact_name".into(), "contact_required".into())));
        assert!(errs.contains(&("contact_phone".into(), "contact_required".into())));
        let ok = parse_submission(
            &form,
            &f(&[
                ("level.0", "2"),
                ("contact_name", "Lê Văn C"),
                ("contact_phone", "+84 912 345 678"),
            ]),
        )
        .unwrap();
        assert_eq!(ok.contact.unwrap().phone, "+84 912 345 678");
        let errs = codes(parse_submission(
            &form,
            &f(&[
                ("level.0", "1"),
                ("contact_name", "A"),
                ("contact_phone", "12ab"),
            ]),
        ));
        assert_eq!(
            errs,
            vec![("contact_phone".to_string(), "phone_invalid".to_string())]
        );
    }

    #[test]
    fn bad_levels_and_reasons_are_reported() {
        let form = sample_form();
        assert_eq!(
            codes(parse_submission(&form, &f(&[]))),
            vec![("level.0".into(), "nothing_rated".into())]
        );
        assert_eq!(
            codes(parse_submission(&form, &f(&[("level.1", "9")]))),
            vec![("level.1".into(), "level_invalid".into())]
        );
        assert_eq!(
            codes(parse_submission(
                &form,
                &f(&[("level.1", "5"), ("reason.1", "harassment")])
            )),
            vec![("reason.1".into(), "reason_mismatch".into())]
        );
        assert_eq!(
            codes(parse_submission(
                &form,
                &f(&[("level.1", "5"), ("reason.1", "bribe")])
            )),
            vec![("reason.1".into(), "reason_invalid".into())]
        );
        assert_eq!(
            codes(parse_submission(
                &form,
                &f(&[("level.1", "5"), ("reason.2", "fast")])
            )),
            vec![("level.2".into(), "level_missing".into())]
        );
        let long = "x".repeat(MAX_COMMENT_CHARS + 1);
        assert_eq!(
            codes(parse_submission(
                &form,
                &f(&[("level.1", "5"), ("overall_comment", &long)])
            )),
            vec![("overall_comment".into(), "comment_too_long".into())]
        );
    }

    #[test]
    fn phone_numbers() {
        assert!(parse_phone("0912345678").is_ok());
        assert!(parse_phone("+84-912.345.678").is_ok());
        assert!(parse_phone("1234567").is_err());
        assert!(parse_phone("09+12345678").is_err());
    }
}
