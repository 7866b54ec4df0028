//! How often a business is asked: at most one email (an invitation or a
//! reminder) per business, by tax code, per period. A form beyond the cap is
//! issued all the same and can be rated from the declaration software's link
//! or QR code; its invitation state says `capped`.
//!
//! The stores keep, per business, when it was last emailed, and take the
//! next slot with one conditional write whose condition is this module's
//! `cutoff`: two forms issued at the same moment send one email.

use chrono::{DateTime, Duration, Utc};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvitationCap {
    /// Zero: no cap.
    pub period: Duration,
}

impl InvitationCap {
    pub fn days(days: i64) -> InvitationCap {
        InvitationCap {
            period: Duration::days(days.max(0)),
        }
    }

    pub fn is_off(&self) -> bool {
        self.period <= Duration::zero()
    }

    /// A business last emailed at or before this instant may be emailed at `now`.
    pub fn cutoff(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now - self.period
    }

    /// Whether a business last emailed at `last` may be emailed at `now`.
    pub fn allows(&self, last: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
        self.is_off() || last.is_none_or(|t| t <= self.cutoff(now))
    }

    /// How long a store keeps a business's last email (after that it
    /// allows the next one anyway): the period and a day.
    pub fn keep_until(&self, emailed_at: DateTime<Utc>) -> DateTime<Utc> {
        emailed_at + self.period + Duration::days(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_email_per_business_per_period() {
        let cap = InvitationCap::days(7);
        let now = DateTime::parse_from_rfc3339("2026-12-07T10:00:00+07:00")
            .unwrap()
            .to_utc();
        assert!(cap.allows(None, now), "never emailed");
        assert!(!cap.allows(Some(now - Duration::days(6)), now));
        assert!(
            cap.allows(Some(now - Duration::days(7)), now),
            "the period itself"
        );
        assert!(InvitationCap::days(0).allows(Some(now), now), "off");
        assert!(InvitationCap::days(-3).is_off());
        assert!(cap.keep_until(now) > now + cap.period);
    }
}
