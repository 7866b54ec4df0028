//! A person asking for their data, by the email address or phone number they
//! used. Records that hold either are indexed under a keyed hash of it,
//! written with the record, so a request reads its records without walking
//! storage and the index itself names nobody.

use sha2::{Digest, Sha256};

use crate::domain::case::{Case, REMOVED_EMAIL};
use crate::domain::fields::EmailAddress;
use crate::domain::form::Form;

/// Whom a request is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PersonQuery {
    Email(String),
    Phone(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PersonQueryError {
    #[error("give an email address or a phone number, not both")]
    OneOf,
    #[error("{0:?} is not an email address")]
    NotAnAddress(String),
    #[error("a phone number has 8 to 15 digits")]
    NotAPhone,
}

impl PersonQuery {
    /// From a request's fields: exactly one of them.
    pub fn parse(
        email: Option<&str>,
        phone: Option<&str>,
    ) -> Result<PersonQuery, PersonQueryError> {
        fn given(v: Option<&str>) -> Option<&str> {
            v.map(str::trim).filter(|v| !v.is_empty())
        }
        match (given(email), given(phone)) {
            (Some(e), None) => EmailAddress::parse(e)
                .map(|a| PersonQuery::Email(a.as_str().to_owned()))
                .map_err(|_| PersonQueryError::NotAnAddress(e.chars().take(100).collect())),
            (None, Some(p)) => crate::domain::submission::parse_phone(p)
                .map(PersonQuery::Phone)
                .map_err(|_| PersonQueryError::NotAPhone),
            _ => Err(PersonQueryError::OneOf),
        }
    }

    /// The index key of the person (what the audit log names, never the
    /// address or number).
    pub fn key(&self) -> String {
        match self {
            PersonQuery::Email(e) => email_key(e),
            PersonQuery::Phone(p) => phone_key(p),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            PersonQuery::Email(_) => "email",
            PersonQuery::Phone(_) => "phone",
        }
    }
}

fn keyed(kind: &str, value: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"csq-person-v1:");
    h.update(kind.as_bytes());
    h.update(b":");
    h.update(value.as_bytes());
    let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    format!("{kind}:{hex}")
}

/// The key of an email address (case and surrounding spaces aside).
pub fn email_key(address: &str) -> String {
    keyed("email", &address.trim().to_lowercase())
}

/// The key of a phone number: its digits, a leading 84 (Viet Nam's country
/// code) written as the 0 of a national number.
pub fn phone_key(phone: &str) -> String {
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    let national = match digits.strip_prefix("84") {
        Some(rest) if digits.len() >= 11 => format!("0{rest}"),
        _ => digits,
    };
    keyed("phone", &national)
}

impl Form {
    /// The people this form holds data of: the invitation's address and the
    /// contact given with the submission.
    pub fn person_keys(&self) -> Vec<String> {
        let mut keys = Vec::new();
        if self.business.email.as_str() != REMOVED_EMAIL {
            keys.push(email_key(self.business.email.as_str()));
        }
        if let Some(c) = self.submission.as_ref().and_then(|s| s.contact.as_ref()) {
            keys.push(phone_key(&c.phone));
        }
        keys
    }

    /// A person asked for their data to be erased: the contact and the
    /// invitation's address go; the ratings stay. True if anything went.
    pub fn erase_personal_data(&mut self) -> bool {
        let mut changed = self.forget_contact();
        if self.business.email.as_str() != REMOVED_EMAIL {
            self.business.email =
                EmailAddress::parse(REMOVED_EMAIL).expect("the removed-address marker parses");
            changed = true;
        }
        changed
    }
}

impl Case {
    /// The people this case holds data of: the business's address and the
    /// complainant's contact.
    pub fn person_keys(&self) -> Vec<String> {
        let mut keys = Vec::new();
        let c = &self.complaint;
        if c.business.email.as_str() != REMOVED_EMAIL {
            keys.push(email_key(c.business.email.as_str()));
        }
        if let Some(contact) = &c.contact {
            keys.push(phone_key(&contact.phone));
        }
        keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_is_one_well_formed_address_or_number() {
        assert_eq!(
            PersonQuery::parse(Some(" XNK@abc.com.vn "), None)
                .unwrap()
                .key(),
            email_key("xnk@ABC.com.vn")
        );
        assert_eq!(
            PersonQuery::parse(None, Some("+84 901 234 567"))
                .unwrap()
                .key(),
            PersonQuery::parse(None, Some("0901234567")).unwrap().key(),
            "the same number written two ways"
        );
        assert_ne!(phone_key("0901234567"), phone_key("0901234568"));
        assert_ne!(email_key("0901234567"), phone_key("0901234567"));
        assert_eq!(
            PersonQuery::parse(Some("a@b.vn"), Some("0901234567")),
            Err(PersonQueryError::OneOf)
        );
        assert_eq!(
            PersonQuery::parse(None, Some(" ")),
            Err(PersonQueryError::OneOf)
        );
        assert!(matches!(
            PersonQuery::parse(Some("not an address"), None),
            Err(PersonQueryError::NotAnAddress(_))
        ));
        assert_eq!(
            PersonQuery::parse(None, Some("12")),
            Err(PersonQueryError::NotAPhone)
        );
        let key = email_key("xnk@abc.com.vn");
        assert!(key.starts_with("email:") && !key.contains("abc"), "{key}");
    }

    #[test]
    fn erasing_a_form_keeps_its_ratings_and_names_nobody() {
        let mut form = crate::domain::submission::tests::sample_form();
        let submission = crate::domain::submission::parse_submission(
            &form,
            &[
                ("level.0".to_owned(), "1".to_owned()),
                ("reason.0".to_owned(), "delay".to_owned()),
                ("contact_name".to_owned(), "Lan".to_owned()),
                ("contact_phone".to_owned(), "0901234567".to_owned()),
            ],
        )
        .unwrap();
        form.accept_submission(&submission, form.issued_at).unwrap();
        assert_eq!(
            form.person_keys(),
            [email_key("xnk@abc.com.vn"), phone_key("0901234567")]
        );
        assert!(form.erase_personal_data());
        assert!(form.person_keys().is_empty());
        assert_eq!(
            form.submission.as_ref().unwrap().ratings.len(),
            1,
            "ratings stay"
        );
        assert!(!form.erase_personal_data(), "once");
    }
}
