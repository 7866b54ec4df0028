//! Whom CSQ asks, and how often: the department's survey rules.
//!
//! - **The cap per business**: at most one email (an invitation or a
//!   reminder) per business, by tax code, per period. A form beyond the cap
//!   is issued all the same and can be rated from the declaration software's
//!   link or QR code, or at the counter; its invitation state says `capped`.
//!   The stores keep, per business, when it was last emailed, and take the
//!   next slot with one conditional write whose condition is `cutoff`: two
//!   forms issued at the same moment send one email.
//! - **Sampling**: a share of declarations invited per office and lane,
//!   chosen by a keyed hash of the declaration number (`LinkKeys::sample_draw`),
//!   so a retry or a follow-up form gets the same answer and no one at an
//!   office can choose who is asked. A form not drawn is `sampled_out`.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::declaration::Lane;
use crate::domain::fields::FieldError;
use crate::domain::form::Form;

/// Draws run over 0..DRAWS: a share of p per cent invites the draws below p × 100.
pub const DRAWS: u32 = 10_000;

/// The survey section of the department's rules document (`survey`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurveyRules {
    /// Days between two emails to one business (0: no cap). Absent: the
    /// host's setting (`CSQ_INVITATION_CAP_DAYS`, 7 by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cap_days: Option<u32>,
    /// Which share of declarations get an email, per office and lane. The
    /// most specific rule that matches decides; no rule: every declaration.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sampling: Vec<SampleRule>,
}

/// One sampling rule: declarations of `office` (or of any office under it;
/// absent: every office) in `lane` (absent: every lane), `percent` of them invited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SampleRule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub office: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lane: Option<Lane>,
    pub percent: u32,
}

/// The most sampling rules a document may hold (a rule per office and lane
/// of a large department).
const MAX_SAMPLE_RULES: usize = 2_000;

impl SurveyRules {
    /// The cap in force: the rules' own period, else the host's.
    pub fn cap(&self, host: InvitationCap) -> InvitationCap {
        self.cap_days
            .map_or(host, |d| InvitationCap::days(i64::from(d)))
    }

    /// The rule that decides for `form`, if any: a rule naming the office
    /// itself beats one naming a unit above it, which beats one naming no
    /// office; between those, one naming the lane beats one that does not.
    pub fn rule_for(&self, form: &Form) -> Option<&SampleRule> {
        let office = form.declaration.customs_office.as_str();
        // Root first, the office last; a form placed in no directory knows its office alone.
        let path: Vec<&str> = if form.office_path.is_empty() {
            vec![office]
        } else {
            form.office_path.iter().map(|u| u.code.as_str()).collect()
        };
        self.sampling
            .iter()
            .filter_map(|r| {
                let depth = match r.office.as_deref() {
                    None => 0,
                    Some(o) if o == office => path.len() + 1,
                    Some(o) => path.iter().position(|u| *u == o)? + 1,
                };
                let lane = match r.lane {
                    None => 0,
                    Some(l) if l == form.declaration.lane => 1,
                    Some(_) => return None,
                };
                Some((depth * 2 + lane, r))
            })
            .max_by_key(|(score, _)| *score)
            .map(|(_, r)| r)
    }

    /// Whether `form`'s declaration is among those asked, given its draw
    /// (0..DRAWS, from the keyed hash of its number).
    pub fn invites(&self, form: &Form, draw: u32) -> bool {
        self.rule_for(form)
            .is_none_or(|r| draw < r.percent.min(100) * (DRAWS / 100))
    }

    /// Every problem at once, with its field path under `survey`.
    pub fn validate(&self, problems: &mut Vec<FieldError>) {
        if self.cap_days.is_some_and(|d| d > 365) {
            problems.push(FieldError::new(
                "survey.cap_days",
                "the cap is 0 (none) to 365 days",
            ));
        }
        if self.sampling.len() > MAX_SAMPLE_RULES {
            problems.push(FieldError::new(
                "survey.sampling",
                format!("at most {MAX_SAMPLE_RULES} rules"),
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, r) in self.sampling.iter().enumerate() {
            if r.percent > 100 {
                problems.push(FieldError::new(
                    format!("survey.sampling[{i}].percent"),
                    "a share is 0 to 100 per cent",
                ));
            }
            if r.office
                .as_deref()
                .is_some_and(|o| o.trim().is_empty() || o.len() > 40)
            {
                problems.push(FieldError::new(
                    format!("survey.sampling[{i}].office"),
                    "an office code of 1 to 40 characters",
                ));
            }
            if !seen.insert((r.office.clone(), r.lane.map(Lane::code))) {
                problems.push(FieldError::new(
                    format!("survey.sampling[{i}]"),
                    "another rule names the same office and lane",
                ));
            }
        }
    }
}

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
    use crate::domain::submission::tests::sample_form;

    fn rule(office: Option<&str>, lane: Option<Lane>, percent: u32) -> SampleRule {
        SampleRule {
            office: office.map(str::to_owned),
            lane,
            percent,
        }
    }

    #[test]
    fn the_most_specific_sampling_rule_decides() {
        let mut form = sample_form();
        form.place_in_org(&crate::domain::org::tests::sample_org(), Some(1));
        let path: Vec<&str> = form.office_path.iter().map(|u| u.code.as_str()).collect();
        assert_eq!(path, ["CUC", "R03", "03CC"], "the sample tree");
        let lane = form.declaration.lane;
        let other_lane = Lane::ALL.into_iter().find(|l| *l != lane).unwrap();
        let rules = SurveyRules {
            cap_days: None,
            sampling: vec![
                rule(None, None, 10),
                rule(None, Some(lane), 20),
                rule(Some("R03"), None, 30),
                rule(Some("R03"), Some(lane), 40),
                rule(Some("03CC"), Some(other_lane), 90),
            ],
        };
        assert_eq!(rules.rule_for(&form).unwrap().percent, 40);
        let mut fewer = rules.clone();
        fewer.sampling.retain(|r| r.percent != 40);
        assert_eq!(fewer.rule_for(&form).unwrap().percent, 30, "the region");
        fewer.sampling.retain(|r| r.percent != 30);
        assert_eq!(fewer.rule_for(&form).unwrap().percent, 20, "the lane");
        fewer.sampling.push(rule(Some("03CC"), None, 70));
        assert_eq!(fewer.rule_for(&form).unwrap().percent, 70, "the office");
        assert!(
            SurveyRules::default().invites(&form, DRAWS - 1),
            "no rule: everyone"
        );
        let third = SurveyRules {
            cap_days: None,
            sampling: vec![rule(None, None, 33)],
        };
        assert!(third.invites(&form, 3_299));
        assert!(!third.invites(&form, 3_300));
        let none = SurveyRules {
            cap_days: None,
            sampling: vec![rule(None, None, 0)],
        };
        assert!(!none.invites(&form, 0));
    }

    /// The draw is a keyed hash: the same number always draws the same, a
    /// share of p per cent invites p per cent of 10,000 declarations within
    /// sampling error, and another key draws otherwise.
    #[test]
    fn sampling_is_deterministic_and_hits_its_share() {
        let keys = crate::auth::link::LinkKeys::parse(
            "k1:0123456789abcdef0123456789abcdef,k0:fedcba9876543210fedcba9876543210",
        )
        .unwrap();
        let other =
            crate::auth::link::LinkKeys::parse("k9:another-secret-of-thirty-two-bytes!!").unwrap();
        let mut form = sample_form();
        let rules = SurveyRules {
            cap_days: None,
            sampling: vec![rule(None, None, 33)],
        };
        let n = 10_000u32;
        let (mut invited, mut same_as_other) = (0u32, 0u32);
        for i in 0..n {
            let number = format!("{:012}", 100_000_000_000u64 + u64::from(i) * 7_919);
            let draw = keys.sample_draw(&number);
            assert!(draw < DRAWS);
            assert_eq!(draw, keys.sample_draw(&number), "deterministic");
            form.declaration.number =
                crate::domain::fields::DeclarationNumber::parse(&number).unwrap();
            if rules.invites(&form, draw) {
                invited += 1;
            }
            if draw == other.sample_draw(&number) {
                same_as_other += 1;
            }
        }
        // Binomial(10,000, 0.33): sd ≈ 47; four of them either side.
        let expected = f64::from(n) * 0.33;
        let sd = (expected * 0.67).sqrt();
        assert!(
            (f64::from(invited) - expected).abs() < 4.0 * sd,
            "{invited} of {n} invited"
        );
        assert!(same_as_other < 20, "another key draws otherwise");
    }

    #[test]
    fn survey_rules_are_checked_field_by_field() {
        let rules = SurveyRules {
            cap_days: Some(400),
            sampling: vec![
                rule(Some("03CC"), Some(Lane::Red), 101),
                rule(Some("03CC"), Some(Lane::Red), 50),
                rule(Some(" "), None, 50),
            ],
        };
        let mut problems = vec![];
        rules.validate(&mut problems);
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "survey.cap_days",
                "survey.sampling[0].percent",
                "survey.sampling[1]",
                "survey.sampling[2].office"
            ]
        );
        let host = InvitationCap::days(7);
        assert_eq!(SurveyRules::default().cap(host), host);
        assert!(
            SurveyRules {
                cap_days: Some(0),
                sampling: vec![]
            }
            .cap(host)
            .is_off()
        );
    }

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
