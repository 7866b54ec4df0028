//! Checks a directory before it replaces the current one: every problem at once,
//! each with the path of the field to fix.

use std::collections::HashMap;

use super::{Handler, OrgDirectory};
use crate::domain::fields::{DisplayName, EmailAddress, FieldError, OfficerId, UnitCode};

/// A national authority has a few thousand units; this bounds one import.
pub const MAX_UNITS: usize = 20_000;

fn valid_kind(kind: &str) -> bool {
    (1..=32).contains(&kind.len())
        && kind
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn check_handler_fields(errors: &mut Vec<FieldError>, field: String, h: &Handler) {
    if let Err(m) = DisplayName::parse(&h.name) {
        errors.push(FieldError::new(format!("{field}.name"), m));
    }
    if let Err(m) = EmailAddress::parse(&h.email) {
        errors.push(FieldError::new(format!("{field}.email"), m));
    }
}

impl OrgDirectory {
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut err = |field: String, message: String| errors.push(FieldError::new(field, message));
        if self.units.is_empty() {
            err(
                "units".into(),
                "must list at least the authority itself".into(),
            );
        }
        if self.units.len() > MAX_UNITS {
            err(
                "units".into(),
                format!("at most {MAX_UNITS} units per directory"),
            );
        }
        let mut first_at: HashMap<&str, usize> = HashMap::new();
        for (i, u) in self.units.iter().enumerate() {
            let at = |f: &str| format!("units[{i}].{f}");
            if let Err(m) = UnitCode::parse(&u.code) {
                err(at("code"), m);
            }
            if let Some(j) = first_at.insert(&u.code, i).filter(|_| !u.code.is_empty()) {
                first_at.insert(&u.code, j);
                err(
                    at("code"),
                    format!("{} appears twice (also units[{j}])", u.code),
                );
            }
            if let Err(m) = DisplayName::parse(&u.name) {
                err(at("name"), m);
            }
            if let Some(Err(m)) = u.name_en.as_deref().map(DisplayName::parse) {
                err(at("name_en"), m);
            }
            if !valid_kind(&u.kind) {
                err(
                    at("kind"),
                    "must be a label of small letters, digits or _, such as office or team".into(),
                );
            }
            let mut check_handler = |field: String, h: &Handler| {
                if let Err(m) = DisplayName::parse(&h.name) {
                    err(format!("{field}.name"), m);
                }
                if let Err(m) = EmailAddress::parse(&h.email) {
                    err(format!("{field}.email"), m);
                }
            };
            if let Some(head) = &u.head {
                check_handler(at("head"), head);
            }
            for (j, h) in u.handlers.iter().enumerate() {
                check_handler(at(&format!("handlers[{j}]")), h);
            }
            for (j, o) in u.officers.iter().enumerate() {
                let field = at(&format!("officers[{j}]"));
                check_handler(
                    field,
                    &Handler {
                        name: o.name.clone(),
                        email: o.email.clone(),
                    },
                );
            }
        }
        for (i, a) in self.administrators.iter().enumerate() {
            check_handler_fields(&mut errors, format!("administrators[{i}]"), a);
        }
        // An officer id names one person: the officer's page and their figures
        // are found by it.
        let mut officer_at: HashMap<&str, String> = HashMap::new();
        for (i, u) in self.units.iter().enumerate() {
            for (j, o) in u.officers.iter().enumerate() {
                let here = format!("units[{i}].officers[{j}]");
                if let Err(m) = OfficerId::parse(&o.id) {
                    errors.push(FieldError::new(format!("{here}.id"), m));
                }
                if let Some(first) = officer_at.get(o.id.as_str()) {
                    errors.push(FieldError::new(
                        format!("{here}.id"),
                        format!("{} appears twice (also {first})", o.id),
                    ));
                } else {
                    officer_at.insert(&o.id, here);
                }
            }
        }

        let roots: Vec<usize> = (0..self.units.len())
            .filter(|&i| self.units[i].parent.is_none())
            .collect();
        match roots.as_slice() {
            [] if !self.units.is_empty() => errors.push(FieldError::new(
                "units",
                "one unit (the authority) must have no parent",
            )),
            [root] => {
                if self.units[*root].head.is_none() {
                    errors.push(FieldError::new(
                        format!("units[{root}].head"),
                        "the authority needs a head: escalations end there",
                    ));
                }
            }
            many => {
                for &i in many.iter().skip(1) {
                    errors.push(FieldError::new(
                        format!("units[{i}].parent"),
                        format!(
                            "only one unit may lack a parent; {} already is the root",
                            self.units[many[0]].code
                        ),
                    ));
                }
            }
        }

        for (i, u) in self.units.iter().enumerate() {
            if let Some(p) = &u.parent {
                match self.unit(p) {
                    None => errors.push(FieldError::new(
                        format!("units[{i}].parent"),
                        format!("{p} is not a unit of this directory"),
                    )),
                    Some(_) if p == &u.code => errors.push(FieldError::new(
                        format!("units[{i}].parent"),
                        "a unit cannot be its own parent",
                    )),
                    Some(parent) if u.is_active() && !parent.is_active() => {
                        errors.push(FieldError::new(
                            format!("units[{i}].parent"),
                            format!("{p} is retired; an active unit needs an active parent"),
                        ))
                    }
                    Some(_) => {}
                }
            }
            if self.parent_chain_loops(&u.code) && u.parent.as_deref() != Some(&u.code) {
                errors.push(FieldError::new(
                    format!("units[{i}].parent"),
                    format!("the parents of {} lead back to it (a cycle)", u.code),
                ));
            }
            if let Some(s) = &u.successor {
                match self.unit(s) {
                    None => errors.push(FieldError::new(
                        format!("units[{i}].successor"),
                        format!("{s} is not a unit of this directory"),
                    )),
                    Some(_) if self.current_unit(&u.code).is_none_or(|c| !c.is_active()) => {
                        errors.push(FieldError::new(
                            format!("units[{i}].successor"),
                            format!(
                                "the merges from {} must end at an active unit (no cycle, no retired end)",
                                u.code
                            ),
                        ))
                    }
                    Some(_) => {}
                }
            }
        }

        for (field, code, what) in [
            (
                "inspection_unit",
                &self.inspection_unit,
                "misconduct complaints",
            ),
            (
                "default_unit",
                &self.default_unit,
                "complaints about unknown units",
            ),
        ] {
            match self.unit(code) {
                None => errors.push(FieldError::new(
                    field,
                    format!("{code:?} is not a unit of this directory"),
                )),
                Some(u) if !u.is_active() => errors.push(FieldError::new(
                    field,
                    format!("{code} is retired; {what} need an active unit"),
                )),
                Some(u) if u.head.is_none() => errors.push(FieldError::new(
                    field,
                    format!("{code} has no head, and its head receives {what}"),
                )),
                Some(_) => {}
            }
        }

        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    fn parent_chain_loops(&self, code: &str) -> bool {
        let mut at = self.unit(code).and_then(|u| u.parent.as_deref());
        // A chain longer than the directory must loop somewhere; only a loop
        // through `code` itself is reported at this unit.
        for _ in 0..=self.units.len() {
            match at {
                None => return false,
                Some(c) if c == code => return true,
                Some(c) => at = self.unit(c).and_then(|u| u.parent.as_deref()),
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{sample_org, unit};
    use super::*;

    fn fields(org: &OrgDirectory) -> Vec<String> {
        let org = OrgDirectory::new(&org.inspection_unit, &org.default_unit, org.units.clone());
        org.validate()
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    #[test]
    fn the_sample_is_valid() {
        assert_eq!(sample_org().validate(), Ok(()));
    }

    #[test]
    fn reports_every_problem_with_its_path() {
        let mut org = sample_org();
        org.units[3].code = "03CC02".into(); // duplicate of units[4]
        org.units[2].head.as_mut().unwrap().email = "nope".into();
        org.units[1].kind = "Region!".into();
        org.units
            .push(unit("99XX", "Lạc", "office", Some("NOWHERE")));
        org.units.push(unit("ab", "Sai mã", "team", Some("03CC")));
        let f = fields(&org);
        for expected in [
            "units[4].code",
            "units[2].head.email",
            "units[1].kind",
            "units[7].parent",
            "units[8].code",
        ] {
            assert!(
                f.contains(&expected.to_string()),
                "{expected} missing in {f:?}"
            );
        }
    }

    #[test]
    fn cycles_roots_and_heads() {
        let mut org = sample_org();
        org.units[1].parent = Some("03CC01".into()); // R03 under its own team: a cycle
        let f = fields(&org);
        assert!(
            f.iter().filter(|x| x.ends_with(".parent")).count() >= 3,
            "{f:?}"
        );

        let mut org = sample_org();
        org.units
            .push(unit("CUC2", "Cục thứ hai", "department", None));
        assert!(fields(&org).contains(&"units[7].parent".to_string()));

        let mut org = sample_org();
        org.units[0].head = None;
        org.units[5].head = None;
        let f = fields(&org);
        assert!(f.contains(&"units[0].head".to_string()));
        assert!(f.contains(&"inspection_unit".to_string()));

        let mut org = sample_org();
        org.default_unit = "NOPE".into();
        assert_eq!(fields(&org), ["default_unit"]);
    }

    #[test]
    fn merges_must_end_at_an_active_unit() {
        let mut org = sample_org();
        let mut a = unit("03DD", "A", "office", Some("R03"));
        a.successor = Some("03EE".into());
        let mut b = unit("03EE", "B", "office", Some("R03"));
        b.successor = Some("03DD".into());
        org.units.extend([a, b]);
        let f = fields(&org);
        assert!(f.contains(&"units[7].successor".to_string()), "{f:?}");

        let mut org = sample_org();
        org.units[1].retired = true; // region retired while its office is active
        assert!(fields(&org).contains(&"units[2].parent".to_string()));
    }
}
