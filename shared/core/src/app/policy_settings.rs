//! The settings of the rules (periods, k, rankings, the public report), read
//! by both hosts under the same names, with the same defaults and limits: the
//! local host from its environment, the Lambda functions from theirs (the
//! template sets every one).

use chrono::Duration;

use super::Settings;

/// Each rule setting, as the hosts are configured with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicySettings {
    pub form_ttl_days: i64,
    pub remind_after_days: i64,
    pub personal_data_days: i64,
    /// k of the visibility policy (`policy::enough_ratings`).
    pub min_cell: u64,
    pub rank_min_ratings: u64,
    /// The kind of unit the public report lists.
    pub public_level: String,
    pub audit_days: i64,
    /// 0: a closed case forgets the complainant's contact the next night.
    pub contact_grace_days: i64,
    /// At most one email per business per this many days; 0: no cap.
    pub invitation_cap_days: i64,
}

impl Default for PolicySettings {
    fn default() -> Self {
        PolicySettings {
            form_ttl_days: 30,
            remind_after_days: 3,
            personal_data_days: 365,
            min_cell: crate::policy::DEFAULT_MIN_CELL,
            rank_min_ratings: 30,
            public_level: "office".into(),
            audit_days: 365,
            contact_grace_days: 30,
            invitation_cap_days: 7,
        }
    }
}

/// The variable names, once for both hosts.
pub const FORM_TTL_DAYS: &str = "CSQ_FORM_TTL_DAYS";
pub const REMIND_AFTER_DAYS: &str = "CSQ_REMIND_AFTER_DAYS";
pub const PERSONAL_DATA_DAYS: &str = "CSQ_PERSONAL_DATA_DAYS";
pub const MIN_CELL: &str = "CSQ_MIN_CELL";
pub const RANK_MIN_RATINGS: &str = "CSQ_RANK_MIN_RATINGS";
pub const PUBLIC_LEVEL: &str = "CSQ_PUBLIC_LEVEL";
pub const AUDIT_DAYS: &str = "CSQ_AUDIT_DAYS";
pub const CONTACT_GRACE_DAYS: &str = "CSQ_CONTACT_GRACE_DAYS";
pub const INVITATION_CAP_DAYS: &str = "CSQ_INVITATION_CAP_DAYS";

/// Every name, for hosts that must check they set them all.
pub const NAMES: [&str; 9] = [
    FORM_TTL_DAYS,
    REMIND_AFTER_DAYS,
    PERSONAL_DATA_DAYS,
    MIN_CELL,
    RANK_MIN_RATINGS,
    PUBLIC_LEVEL,
    AUDIT_DAYS,
    CONTACT_GRACE_DAYS,
    INVITATION_CAP_DAYS,
];

/// A setting given a value that is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name}={value:?} is not {expected}")]
pub struct BadSetting {
    pub name: &'static str,
    pub value: String,
    pub expected: &'static str,
}

impl PolicySettings {
    /// Reads each setting by its name; an empty or absent one keeps its default.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, BadSetting> {
        let given = |name: &'static str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let number = |name: &'static str, default: i64| -> Result<i64, BadSetting> {
            given(name).map_or(Ok(default), |v| {
                v.parse().map_err(|_| BadSetting {
                    name,
                    value: v,
                    expected: "a whole number",
                })
            })
        };
        let count = |name, default: u64| -> Result<u64, BadSetting> {
            let n = number(name, i64::try_from(default).unwrap_or(i64::MAX))?;
            u64::try_from(n).map_err(|_| BadSetting {
                name,
                value: n.to_string(),
                expected: "a count (0 or more)",
            })
        };
        let d = PolicySettings::default();
        Ok(PolicySettings {
            form_ttl_days: number(FORM_TTL_DAYS, d.form_ttl_days)?,
            remind_after_days: number(REMIND_AFTER_DAYS, d.remind_after_days)?,
            personal_data_days: number(PERSONAL_DATA_DAYS, d.personal_data_days)?,
            min_cell: count(MIN_CELL, d.min_cell)?,
            rank_min_ratings: count(RANK_MIN_RATINGS, d.rank_min_ratings)?,
            public_level: given(PUBLIC_LEVEL).unwrap_or(d.public_level),
            audit_days: number(AUDIT_DAYS, d.audit_days)?,
            contact_grace_days: number(CONTACT_GRACE_DAYS, d.contact_grace_days)?,
            invitation_cap_days: number(INVITATION_CAP_DAYS, d.invitation_cap_days)?,
        })
    }

    /// Puts the settings in force, each within its limits: periods of at
    /// least a day (contact grace may be 0), k and the ranking minimum at least 1.
    pub fn apply(&self, s: &mut Settings) {
        s.form_ttl = Duration::days(self.form_ttl_days.max(1));
        s.remind_after = Duration::days(self.remind_after_days.max(1));
        s.personal_data_retention = Duration::days(self.personal_data_days.max(1));
        s.min_cell = self.min_cell.max(1);
        s.rank_min_ratings = self.rank_min_ratings.max(1);
        s.public_level = self.public_level.clone();
        s.audit_retention = Duration::days(self.audit_days.max(1));
        s.contact_grace = Duration::days(self.contact_grace_days.max(0));
        s.invitation_cap = crate::domain::survey::InvitationCap::days(self.invitation_cap_days);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_reading_of_every_setting_with_defaults_and_limits() {
        let none = PolicySettings::from_lookup(|_| None).unwrap();
        assert_eq!(none, PolicySettings::default());
        let given = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let p = PolicySettings::from_lookup(given(&[
            (MIN_CELL, "0"),
            (CONTACT_GRACE_DAYS, "0"),
            (FORM_TTL_DAYS, " 14 "),
            (PUBLIC_LEVEL, "region"),
            (RANK_MIN_RATINGS, ""),
        ]))
        .unwrap();
        let mut s = Settings::new(
            "http://x",
            crate::auth::link::LinkKeys::parse("k1:0123456789abcdef0123456789abcdef").unwrap(),
        );
        p.apply(&mut s);
        assert_eq!(s.min_cell, 1, "k is at least 1");
        assert_eq!(s.contact_grace, Duration::zero(), "0 is allowed");
        assert_eq!(s.form_ttl, Duration::days(14));
        assert_eq!(s.public_level, "region");
        assert_eq!(s.rank_min_ratings, 30, "empty keeps the default");
        let bad = PolicySettings::from_lookup(given(&[(AUDIT_DAYS, "a year")])).unwrap_err();
        assert_eq!(
            bad.to_string(),
            "CSQ_AUDIT_DAYS=\"a year\" is not a whole number"
        );
        assert!(PolicySettings::from_lookup(given(&[(MIN_CELL, "-2")])).is_err());
    }
}
