//! Which units a member of staff may see, following the tree: the unit half of
//! the visibility policy. What each role sees of those units is `crate::policy`.

use std::collections::HashSet;

use super::staff::{StaffAuthError, StaffClaims, StaffRole};
use crate::domain::form::{Form, RatingRecord};
use crate::domain::org::{INSPECTION_UNIT, OrgDirectory};

#[derive(Debug, Clone)]
pub struct Scope {
    pub who: StaffClaims,
    /// None: every unit, including codes the directory does not know.
    units: Option<HashSet<String>>,
    /// The directory in force when the scope was made, and its version.
    org: Option<OrgDirectory>,
    org_version: u32,
}

impl Scope {
    /// A unit head's unit must be an active unit of the directory: a typo in a
    /// token or an identity provider must not widen (or silently empty) access.
    pub fn new(who: StaffClaims, org: Option<OrgDirectory>) -> Result<Scope, StaffAuthError> {
        // A unit claim on another role must still be the unit that role means.
        let unit_for_role = |expected: Option<&str>, role: &'static str| match (&who.unit, expected)
        {
            // The role's own name (`inspection`) is what first-version tokens carry.
            (Some(u), Some(e)) if u != e && u != role => Err(StaffAuthError::UnitNotForRole {
                unit: u.clone(),
                role,
            }),
            _ => Ok(()),
        };
        let units = match who.role {
            StaffRole::Department => {
                unit_for_role(
                    org.as_ref().and_then(|o| o.root()).map(|r| r.code.as_str()),
                    "department",
                )?;
                None
            }
            StaffRole::Inspection => {
                unit_for_role(
                    org.as_ref().map(|o| o.inspection_unit.as_str()),
                    "inspection",
                )?;
                None
            }
            // An officer sees no unit: only their own figures, through /v1/me.
            StaffRole::Officer => Some(HashSet::new()),
            StaffRole::UnitHead => {
                let code = who.unit.clone().unwrap_or_default();
                match org.as_ref().and_then(|o| Some((o, o.unit(&code)?))) {
                    Some((o, u)) if u.is_active() => Some(o.subtree(&code)),
                    _ => return Err(StaffAuthError::UnknownUnit(code)),
                }
            }
        };
        Ok(Scope {
            who,
            units,
            org,
            org_version: 0,
        })
    }

    /// Records which version the directory given to `new` is.
    pub fn with_org_version(mut self, version: u32) -> Scope {
        self.org_version = version;
        self
    }

    pub fn org(&self) -> Option<&OrgDirectory> {
        self.org.as_ref()
    }

    pub fn org_version(&self) -> u32 {
        self.org_version
    }

    /// The tree unit behind a case list, by the directory this scope was made from.
    pub fn case_list_unit<'a>(&'a self, list: &'a str) -> &'a str {
        self.org.as_ref().map_or(list, |o| o.case_list_unit(list))
    }

    pub fn role(&self) -> StaffRole {
        self.who.role
    }

    pub fn sees_every_unit(&self) -> bool {
        self.units.is_none()
    }

    pub fn sees_unit(&self, code: &str) -> bool {
        self.units.as_ref().is_none_or(|u| u.contains(code))
    }

    /// A form is in scope through its office or any team that handled it.
    pub fn form_in_scope(&self, form: &Form) -> bool {
        self.sees_unit(form.declaration.customs_office.as_str())
            || form
                .handling
                .iter()
                .any(|h| self.sees_unit(h.team.as_str()))
    }

    pub fn rating_in_scope(&self, r: &RatingRecord) -> bool {
        self.sees_unit(r.branch.as_str())
            || r.subject
                .team
                .as_ref()
                .is_some_and(|t| self.sees_unit(t.as_str()))
    }

    /// A statistics row, by the unit that owns it (rows without one: the whole authority).
    pub fn sees_owner(&self, owner: Option<&str>) -> bool {
        match owner {
            Some(code) => self.sees_unit(code),
            None => self.sees_every_unit(),
        }
    }

    /// The case list a person reads when they name none.
    pub fn default_case_unit(&self) -> Option<&str> {
        match self.who.role {
            StaffRole::Department | StaffRole::Officer => None,
            StaffRole::Inspection => Some(INSPECTION_UNIT),
            StaffRole::UnitHead => self.who.unit.as_deref(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::org::tests::sample_org;

    fn head(unit: &str) -> StaffClaims {
        StaffClaims {
            sub: "u".into(),
            role: StaffRole::UnitHead,
            unit: Some(unit.into()),
            officer: None,
        }
    }

    #[test]
    fn a_head_sees_the_unit_and_everything_below() {
        let org = sample_org();
        let region = Scope::new(head("R03"), Some(org.clone())).unwrap();
        assert!(region.sees_unit("R03") && region.sees_unit("03CC") && region.sees_unit("03CC02"));
        assert!(!region.sees_unit("CUC") && !region.sees_unit("TT") && !region.sees_unit("77ZZ"));
        let office = Scope::new(head("03CC"), Some(org.clone())).unwrap();
        assert!(!office.sees_unit("R03"));
        assert!(!office.sees_owner(None));
        let dept = Scope::new(
            StaffClaims {
                sub: "d".into(),
                role: StaffRole::Department,
                unit: None,
                officer: None,
            },
            Some(org),
        )
        .unwrap();
        assert!(dept.sees_unit("77ZZ") && dept.sees_owner(None));
    }

    #[test]
    fn an_unknown_or_retired_unit_claim_is_refused() {
        let mut org = sample_org();
        assert_eq!(
            Scope::new(head("03XX"), Some(org.clone())).unwrap_err(),
            StaffAuthError::UnknownUnit("03XX".into())
        );
        assert!(Scope::new(head("03CC"), None).is_err());
        let mut inspector = head("03CC");
        inspector.role = StaffRole::Inspection;
        assert!(matches!(
            Scope::new(inspector.clone(), Some(org.clone())),
            Err(StaffAuthError::UnitNotForRole { .. })
        ));
        inspector.unit = Some("TT".into());
        assert!(Scope::new(inspector.clone(), Some(org.clone())).is_ok());
        inspector.unit = Some("inspection".into());
        assert!(Scope::new(inspector, Some(org.clone())).is_ok());
        org.units[4].retired = true;
        assert!(Scope::new(head("03CC02"), Some(org)).is_err());
    }
}
