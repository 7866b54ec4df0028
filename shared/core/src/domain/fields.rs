//! Validated value types for the integration contract. Each is built only through
//! `parse`, so a `Declaration` or `Business` in the core is always well-formed
//! (parse, don't validate).

use std::fmt;

use serde::{Deserialize, Serialize};

/// One problem with one input field, phrased for the person who has to fix it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

macro_rules! string_newtype {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

string_newtype!(
    /// VNACCS declaration number: exactly 12 digits.
    DeclarationNumber
);
string_newtype!(
    /// VNACCS type code such as A11 or E31: one letter and two digits.
    TypeCode
);
string_newtype!(
    /// A customs office (branch) or team code such as `03CC` or `03CC01`.
    UnitCode
);
string_newtype!(
    /// Business tax code (MST): 10 digits, or 10 digits + "-" + 3 for a branch.
    TaxCode
);
string_newtype!(
    /// An email address that a mail header can carry safely.
    EmailAddress
);
string_newtype!(
    /// A person's or business's display name: no control characters, bounded length.
    DisplayName
);
string_newtype!(
    /// An officer's staff identifier such as `HP1234`.
    OfficerId
);

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

impl DeclarationNumber {
    pub fn parse(s: &str) -> Result<Self, String> {
        if s.len() == 12 && all_digits(s) {
            Ok(Self(s.to_owned()))
        } else {
            Err("must be exactly 12 digits".into())
        }
    }
}

impl TypeCode {
    pub fn parse(s: &str) -> Result<Self, String> {
        let b = s.as_bytes();
        if b.len() == 3 && b[0].is_ascii_uppercase() && all_digits(&s[1..]) {
            Ok(Self(s.to_owned()))
        } else {
            Err("must be one capital letter and two digits, such as A11".into())
        }
    }
}

impl UnitCode {
    pub fn parse(s: &str) -> Result<Self, String> {
        let ok = (2..=12).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err("must be 2 to 12 capital letters or digits, such as 03CC".into())
        }
    }
}

impl TaxCode {
    pub fn parse(s: &str) -> Result<Self, String> {
        let ok = match s.split_once('-') {
            None => s.len() == 10 && all_digits(s),
            Some((head, branch)) => {
                head.len() == 10 && all_digits(head) && branch.len() == 3 && all_digits(branch)
            }
        };
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err("must be 10 digits, or 10 digits, a hyphen and 3 digits".into())
        }
    }
}

impl EmailAddress {
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.len() > 254 || s.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err("must be a single email address without spaces".into());
        }
        // lettre's parser is the one that later writes the header, so accepting only
        // what it accepts means every stored address can be mailed.
        match s.parse::<lettre::Address>() {
            Ok(addr) if addr.domain().contains('.') => Ok(Self(s.to_owned())),
            _ => Err("must be an email address such as xnk@abc.com.vn".into()),
        }
    }
}

impl DisplayName {
    pub const MAX_CHARS: usize = 200;

    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.is_empty() {
            return Err("must not be empty".into());
        }
        if s.chars().count() > Self::MAX_CHARS {
            return Err(format!("must be at most {} characters", Self::MAX_CHARS));
        }
        // Names end up in mail headers and CSV files: a line break there is an
        // injection, not a name.
        if s.chars().any(char::is_control) {
            return Err("must not contain line breaks or control characters".into());
        }
        Ok(Self(s.to_owned()))
    }
}

impl OfficerId {
    pub fn parse(s: &str) -> Result<Self, String> {
        let ok = (2..=20).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err("must be 2 to 20 letters, digits, dots or underscores".into())
        }
    }
}

/// Free text typed by a business (comments): bounded, line breaks allowed, other
/// control characters dropped so they cannot confuse terminals or CSV readers.
pub fn clean_free_text(s: &str, max_chars: usize) -> Result<Option<String>, String> {
    let cleaned: String = s
        .replace("\r\n", "\n")
        .chars()
        .filter(|c| *c == '\n' || !c.is_control())
        .collect();
    let cleaned = cleaned.trim();
    if cleaned.is_empty() {
        return Ok(None);
    }
    if cleaned.chars().count() > max_chars {
        return Err(format!("must be at most {max_chars} characters"));
    }
    Ok(Some(cleaned.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declaration_number_is_twelve_digits() {
        assert!(DeclarationNumber::parse("105234567890").is_ok());
        for bad in [
            "10523456789",
            "1052345678901",
            "10523456789a",
            "",
            "１０５２３４５６７８９０",
        ] {
            assert!(DeclarationNumber::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn type_code_is_letter_and_two_digits() {
        assert!(TypeCode::parse("A11").is_ok());
        assert!(TypeCode::parse("E31").is_ok());
        for bad in ["a11", "A1", "A111", "111", "AB1"] {
            assert!(TypeCode::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tax_code_allows_branch_suffix() {
        assert!(TaxCode::parse("0200123456").is_ok());
        assert!(TaxCode::parse("0200123456-001").is_ok());
        for bad in [
            "020012345",
            "0200123456-01",
            "0200123456-0011",
            "0200123456_001",
            "02001234567",
        ] {
            assert!(TaxCode::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn email_rejects_header_injection() {
        assert!(EmailAddress::parse("xnk@abc.com.vn").is_ok());
        for bad in [
            "xnk@abc.com.vn\r\nBcc: evil@x.com",
            "xnk@abc.com.vn\nBcc: evil@x.com",
            "two words@abc.vn",
            "noat.example.com",
            "a@localhost",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn names_reject_line_breaks_and_keep_vietnamese() {
        assert_eq!(
            DisplayName::parse("  Công ty TNHH Thương mại ABC ")
                .unwrap()
                .as_str(),
            "Công ty TNHH Thương mại ABC"
        );
        assert!(DisplayName::parse("ABC\r\nBcc: x@y.z").is_err());
        assert!(DisplayName::parse("   ").is_err());
        assert!(DisplayName::parse(&"a".repeat(201)).is_err());
    }

    #[test]
    fn unit_codes() {
        assert!(UnitCode::parse("03CC").is_ok());
        assert!(UnitCode::parse("03CC01").is_ok());
        assert!(UnitCode::parse("03cc").is_err());
        assert!(UnitCode::parse("0").is_err());
    }

    #[test]
    fn free_text_keeps_newlines_drops_controls() {
        assert_eq!(
            clean_free_text("a\r\nb\u{7}c", 10).unwrap().as_deref(),
            Some("a\nbc")
        );
        assert_eq!(clean_free_text("   ", 10).unwrap(), None);
        assert!(clean_free_text("abcdef", 5).is_err());
    }
}
