//! What a person is told about their personal data: the short notice where
//! the rating page asks for a contact (and again at the confirm step), and the
//! full notice at `/privacy`. The wording is data: the department may replace
//! the whole text (a file on one machine, a parameter on AWS); the defaults,
//! in Vietnamese and English, are `default.json`.
//!
//! The texts name the periods in force through placeholders, filled from the
//! settings when a page is made, so a changed retention setting is never
//! contradicted by the words: `{personal_data_days}`, `{contact_grace_days}`,
//! `{audit_days}`, `{form_days}`, and in the full notice `{controller}` (the
//! directory's root unit).

pub mod person;

use serde::{Deserialize, Serialize};

use super::declaration::Language;

/// One section of the full notice. Blank lines separate its paragraphs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Section {
    pub heading: String,
    pub text: String,
}

/// The texts in one language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivacyText {
    /// Beside the contact fields of the rating form.
    pub notice: String,
    /// At the confirm step, beside the contact given, for a complaint.
    pub notice_complaint: String,
    /// The same for a report of an officer's misconduct (inspection only).
    pub notice_misconduct: String,
    /// The words of the link to the full notice.
    pub link: String,
    pub title: String,
    pub sections: Vec<Section>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivacyTexts {
    pub vi: PrivacyText,
    pub en: PrivacyText,
}

/// What the placeholders stand for, as in force when the page is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivacyFacts {
    pub personal_data_days: i64,
    pub contact_grace_days: i64,
    pub audit_days: i64,
    pub form_days: i64,
    /// The department (the directory's root unit), in the reader's language.
    pub controller: String,
}

/// Placeholders the short notices may use: the rating page fills them
/// without reading the directory.
const NOTICE_PLACEHOLDERS: [&str; 4] = [
    "personal_data_days",
    "contact_grace_days",
    "audit_days",
    "form_days",
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrivacyTextError {
    #[error("the privacy texts are not valid JSON or YAML of the expected shape: {0}")]
    Shape(String),
    #[error("{lang}.{field} is empty")]
    Empty { lang: &'static str, field: String },
    #[error("{lang}.{field} uses {{{placeholder}}}, which is not one of {allowed}")]
    Placeholder {
        lang: &'static str,
        field: String,
        placeholder: String,
        allowed: String,
    },
}

impl Default for PrivacyTexts {
    fn default() -> PrivacyTexts {
        serde_json::from_str(include_str!("default.json")).expect("the default texts parse")
    }
}

impl PrivacyTexts {
    /// The department's texts, checked: both languages, nothing empty, only
    /// placeholders that are filled (the short notices without `{controller}`).
    pub fn checked(self) -> Result<PrivacyTexts, PrivacyTextError> {
        for (lang, text) in [("vi", &self.vi), ("en", &self.en)] {
            let notices = [
                ("notice", &text.notice),
                ("notice_complaint", &text.notice_complaint),
                ("notice_misconduct", &text.notice_misconduct),
                ("link", &text.link),
            ];
            for (field, value) in notices {
                check(lang, field, value, &NOTICE_PLACEHOLDERS)?;
            }
            let mut page = NOTICE_PLACEHOLDERS.to_vec();
            page.push("controller");
            check(lang, "title", &text.title, &page)?;
            if text.sections.is_empty() {
                return Err(PrivacyTextError::Empty {
                    lang,
                    field: "sections".into(),
                });
            }
            for (i, s) in text.sections.iter().enumerate() {
                check(lang, &format!("sections[{i}].heading"), &s.heading, &page)?;
                check(lang, &format!("sections[{i}].text"), &s.text, &page)?;
            }
        }
        Ok(self)
    }

    /// Parses and checks texts a department wrote (JSON, or YAML read into
    /// the same shape by the host).
    pub fn from_json(json: &str) -> Result<PrivacyTexts, PrivacyTextError> {
        serde_json::from_str::<PrivacyTexts>(json)
            .map_err(|e| PrivacyTextError::Shape(e.to_string()))?
            .checked()
    }

    pub fn in_lang(&self, lang: Language) -> &PrivacyText {
        match lang {
            Language::Vi => &self.vi,
            Language::En => &self.en,
        }
    }
}

fn check(
    lang: &'static str,
    field: &str,
    value: &str,
    allowed: &[&str],
) -> Result<(), PrivacyTextError> {
    if value.trim().is_empty() {
        return Err(PrivacyTextError::Empty {
            lang,
            field: field.into(),
        });
    }
    for placeholder in placeholders(value) {
        if !allowed.contains(&placeholder) {
            return Err(PrivacyTextError::Placeholder {
                lang,
                field: field.into(),
                placeholder: placeholder.into(),
                allowed: allowed
                    .iter()
                    .map(|p| format!("{{{p}}}"))
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
    }
    Ok(())
}

/// The `{name}` placeholders of a text (names of letters and underscores).
fn placeholders(text: &str) -> impl Iterator<Item = &str> {
    text.split('{').skip(1).filter_map(|rest| {
        let name = rest.split('}').next()?;
        (rest.contains('}')
            && !name.is_empty()
            && name.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        .then_some(name)
    })
}

impl PrivacyText {
    /// Every text with its placeholders replaced by `facts`.
    pub fn filled(&self, facts: &PrivacyFacts) -> PrivacyText {
        PrivacyText {
            notice: facts.fill(&self.notice),
            notice_complaint: facts.fill(&self.notice_complaint),
            notice_misconduct: facts.fill(&self.notice_misconduct),
            link: facts.fill(&self.link),
            title: facts.fill(&self.title),
            sections: self
                .sections
                .iter()
                .map(|s| Section {
                    heading: facts.fill(&s.heading),
                    text: facts.fill(&s.text),
                })
                .collect(),
        }
    }
}

impl PrivacyFacts {
    /// `text` with its placeholders replaced by the facts in force.
    pub fn fill(&self, text: &str) -> String {
        text.replace("{personal_data_days}", &self.personal_data_days.to_string())
            .replace("{contact_grace_days}", &self.contact_grace_days.to_string())
            .replace("{audit_days}", &self.audit_days.to_string())
            .replace("{form_days}", &self.form_days.to_string())
            .replace("{controller}", &self.controller)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> PrivacyFacts {
        PrivacyFacts {
            personal_data_days: 200,
            contact_grace_days: 15,
            audit_days: 400,
            form_days: 20,
            controller: "Cục Hải quan".into(),
        }
    }

    #[test]
    fn the_defaults_are_whole_and_name_every_period_in_force() {
        let texts = PrivacyTexts::default().checked().expect("valid defaults");
        for lang in [Language::Vi, Language::En] {
            let t = texts.in_lang(lang);
            let notice = facts().fill(&t.notice);
            assert!(notice.contains("200") && notice.contains("15"), "{notice}");
            assert!(!notice.contains('{'), "{notice}");
            let page: String = t.sections.iter().map(|s| facts().fill(&s.text)).collect();
            for figure in ["200", "15", "400", "20", "Cục Hải quan"] {
                assert!(page.contains(figure), "{lang:?} page lacks {figure}");
            }
            assert!(!page.contains('{'));
        }
    }

    #[test]
    fn a_departments_text_is_checked_before_it_is_used() {
        let mut texts = PrivacyTexts::default();
        texts.en.notice = "Kept {controller} days".into();
        let err = texts.clone().checked().unwrap_err();
        assert!(
            matches!(&err, PrivacyTextError::Placeholder { field, placeholder, .. } if field == "notice" && placeholder == "controller"),
            "{err}"
        );
        texts.en.notice = "  ".into();
        assert!(matches!(
            texts.clone().checked(),
            Err(PrivacyTextError::Empty { lang: "en", .. })
        ));
        texts.en.notice = "Kept {personal_data_days} days".into();
        texts.vi.sections[0].text = "{typo_days}".into();
        assert!(matches!(
            texts.clone().checked(),
            Err(PrivacyTextError::Placeholder { lang: "vi", .. })
        ));
        let json = serde_json::json!({"vi": serde_json::to_value(&texts.vi).unwrap()}).to_string();
        assert!(matches!(
            PrivacyTexts::from_json(&json),
            Err(PrivacyTextError::Shape(_))
        ));
        // Text in braces that is not a placeholder is kept as written.
        assert_eq!(placeholders("{a b} {} {x_y}").collect::<Vec<_>>(), ["x_y"]);
    }
}
