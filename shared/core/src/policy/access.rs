//! Who a caller is to CSQ. The host says who the person is (a sign-in
//! session, or the identity provider's token the API's authorizer verified);
//! the directory in force says what they may do, at every request, so a head
//! replaced, moved or retired loses the old unit at once. A token's claims
//! never grant a role, except the operator tokens `csq staff-token` mints on
//! the machine, which are recorded as such.

use crate::auth::scope::Scope;
use crate::auth::staff::{StaffAuthError, StaffClaims, StaffRole};
use crate::domain::org::OrgDirectory;

/// How the host identified a request's caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// A person whose email address the host verified.
    Person { email: String },
    /// An operator's or a script's token minted on the machine, its role in it.
    Operator(StaffClaims),
}

/// The mark an operator token's subject carries in the audit log.
pub const OPERATOR_MARK: &str = "operator-token:";

/// Every role the directory names `email` in, the widest first: the
/// department (its administrators and the root's head), the inspection unit
/// (its head and handlers), each active unit they head or handle cases for,
/// and the officer they are. Retired units grant nothing.
pub fn grants(org: &OrgDirectory, email: &str) -> Vec<StaffClaims> {
    let email = email.trim().to_lowercase();
    let is = |e: &str| e.trim().to_lowercase() == email;
    let grant = |role, unit: Option<&str>, officer: Option<&str>| StaffClaims {
        sub: email.clone(),
        role,
        unit: unit.map(str::to_owned),
        officer: officer.map(str::to_owned),
    };
    let mut out: Vec<StaffClaims> = Vec::new();
    let mut add = |c: StaffClaims| {
        if !out.contains(&c) {
            out.push(c);
        }
    };
    let root = org.root().filter(|r| r.is_active());
    if org.administrators.iter().any(|a| is(&a.email))
        || root.is_some_and(|r| r.head.as_ref().is_some_and(|h| is(&h.email)))
    {
        add(grant(
            StaffRole::Department,
            root.map(|r| r.code.as_str()),
            None,
        ));
    }
    if let Some(inspection) = org.unit(&org.inspection_unit).filter(|u| u.is_active())
        && (inspection.head.iter().chain(&inspection.handlers)).any(|h| is(&h.email))
    {
        add(grant(StaffRole::Inspection, Some(&inspection.code), None));
    }
    // Parents before children: a head of a region is offered the region first.
    let mut units: Vec<_> = org.units.iter().filter(|u| u.is_active()).collect();
    units.sort_by_key(|u| org.ancestors(&u.code).len());
    for u in &units {
        if u.code == org.inspection_unit || root.is_some_and(|r| r.code == u.code) {
            continue;
        }
        if u.head.iter().chain(&u.handlers).any(|h| is(&h.email)) {
            add(grant(StaffRole::UnitHead, Some(&u.code), None));
        }
    }
    for u in &units {
        for o in u.officers.iter().filter(|o| is(&o.email)) {
            add(grant(StaffRole::Officer, None, Some(&o.id)));
        }
    }
    out
}

/// A role as the console offers it to the person who holds it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RoleView {
    /// What `X-CSQ-Role` takes.
    pub code: String,
    pub role: &'static str,
    pub unit: Option<String>,
    pub officer: Option<String>,
    /// Where the console opens for this role (see [`Home`]).
    pub home: Home,
}

/// The console's first view for a role: the work that role does most.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Home {
    /// The department: the leadership view.
    Leadership,
    /// A unit's head: the unit's figures (its cases one step away).
    Figures,
    /// A unit's case handler: their queue, overdue first.
    Queue,
    /// The inspection unit: misconduct reports.
    Misconduct,
    /// An officer: their own page.
    OwnPage,
}

impl RoleView {
    /// A role the directory gives the person at `email`: a unit's handler
    /// who is not its head works from the queue.
    pub fn for_person(org: &OrgDirectory, email: &str, grant: &StaffClaims) -> RoleView {
        let mut view = RoleView::from(grant);
        if grant.role == StaffRole::UnitHead {
            let is_head = grant
                .unit
                .as_deref()
                .and_then(|u| org.unit(u))
                .and_then(|u| u.head.as_ref())
                .is_some_and(|h| h.email.trim().eq_ignore_ascii_case(email.trim()));
            if !is_head {
                view.home = Home::Queue;
            }
        }
        view
    }
}

impl From<&StaffClaims> for RoleView {
    fn from(g: &StaffClaims) -> RoleView {
        RoleView {
            code: grant_code(g),
            role: g.role.code(),
            unit: g.unit.clone(),
            officer: g.officer.clone(),
            home: match g.role {
                StaffRole::Department => Home::Leadership,
                StaffRole::UnitHead => Home::Figures,
                StaffRole::Inspection => Home::Misconduct,
                StaffRole::Officer => Home::OwnPage,
            },
        }
    }
}

/// How a grant is named when a person chooses among theirs (`department`,
/// `inspection`, `unit_head:03CC`, `officer:HP1234`).
pub fn grant_code(c: &StaffClaims) -> String {
    match (c.role, c.unit.as_deref(), c.officer.as_deref()) {
        (StaffRole::UnitHead, Some(unit), _) => format!("unit_head:{unit}"),
        (StaffRole::Officer, _, Some(id)) => format!("officer:{id}"),
        (role, _, _) => role.code().to_owned(),
    }
}

/// The scope of one request: a person acts in the role they chose (`wanted`,
/// a grant code) or else their widest, as the directory in force grants it;
/// an operator token in the role it carries, marked as such.
///
/// Before any directory exists it names no one: the deployment's first
/// administrator (`first_administrator`) then acts as the department, to
/// import it, and no one else does.
pub fn scope_of(
    caller: Caller,
    current: Option<(u32, OrgDirectory)>,
    wanted: Option<&str>,
    first_administrator: Option<&str>,
) -> Result<Scope, StaffAuthError> {
    let version = current.as_ref().map_or(0, |(v, _)| *v);
    let org = current.map(|(_, o)| o);
    let claims = match caller {
        Caller::Operator(mut claims) => {
            claims.sub = format!("{OPERATOR_MARK}{}", claims.sub);
            claims
        }
        Caller::Person { email }
            if org.is_none()
                && first_administrator
                    .is_some_and(|a| a.trim().eq_ignore_ascii_case(email.trim())) =>
        {
            StaffClaims {
                sub: email.trim().to_lowercase(),
                role: StaffRole::Department,
                unit: None,
                officer: None,
            }
        }
        Caller::Person { email } => {
            let held = org.as_ref().map(|o| grants(o, &email)).unwrap_or_default();
            let chosen = match wanted {
                Some(code) => held.into_iter().find(|g| grant_code(g) == code),
                None => held.into_iter().next(),
            };
            chosen.ok_or(match wanted {
                Some(code) => StaffAuthError::RoleNotHeld(code.to_owned()),
                None => StaffAuthError::NotInDirectory,
            })?
        }
    };
    Ok(Scope::new(claims, org)?.with_org_version(version))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::org::tests::{h, sample_org};
    use crate::domain::org::{Handler, Officer};

    fn org() -> OrgDirectory {
        let mut org = sample_org();
        org.administrators = vec![h("Quản trị", "admin@customs.test")];
        let u = org.units.iter_mut().find(|u| u.code == "03CC").unwrap();
        u.handlers.push(h("Xử lý", "Handler@Customs.test"));
        u.officers.push(Officer {
            id: "HP1234".into(),
            name: "Trần Văn B".into(),
            email: "hp1234@customs.test".into(),
        });
        org
    }

    fn codes(org: &OrgDirectory, email: &str) -> Vec<String> {
        grants(org, email).iter().map(grant_code).collect()
    }

    #[test]
    fn the_directory_names_every_role() {
        let org = org();
        let root = org.root().unwrap().clone();
        let head_of = |code: &str| org.unit(code).unwrap().head.clone().unwrap().email;
        assert_eq!(codes(&org, "admin@customs.test"), ["department"]);
        assert_eq!(codes(&org, &root.head.unwrap().email), ["department"]);
        assert_eq!(codes(&org, &head_of(&org.inspection_unit)), ["inspection"]);
        assert_eq!(codes(&org, &head_of("03CC")), ["unit_head:03CC"]);
        // Addresses compare without case or spaces; a handler reads the unit's cases.
        assert_eq!(codes(&org, " handler@customs.TEST "), ["unit_head:03CC"]);
        assert_eq!(codes(&org, "hp1234@customs.test"), ["officer:HP1234"]);
        assert!(grants(&org, "stranger@example.com").is_empty());
    }

    #[test]
    fn each_role_opens_on_its_own_work() {
        let org = org();
        let home = |email: &str| -> Vec<Home> {
            grants(&org, email)
                .iter()
                .map(|g| RoleView::for_person(&org, email, g).home)
                .collect()
        };
        let head_of = |code: &str| org.unit(code).unwrap().head.clone().unwrap().email;
        assert_eq!(home("admin@customs.test"), [Home::Leadership]);
        assert_eq!(home(&head_of(&org.inspection_unit)), [Home::Misconduct]);
        assert_eq!(home(&head_of("03CC").to_uppercase()), [Home::Figures]);
        assert_eq!(home("handler@customs.test"), [Home::Queue]);
        assert_eq!(home("hp1234@customs.test"), [Home::OwnPage]);
    }

    #[test]
    fn a_person_may_hold_several_roles_and_choose_one() {
        let mut org = org();
        let inspector = h("Thanh tra", "both@customs.test");
        let i = org.inspection_unit.clone();
        org.units
            .iter_mut()
            .find(|u| u.code == i)
            .unwrap()
            .handlers
            .push(inspector.clone());
        org.units
            .iter_mut()
            .find(|u| u.code == "03CC")
            .unwrap()
            .head = Some(inspector);
        assert_eq!(
            codes(&org, "both@customs.test"),
            ["inspection", "unit_head:03CC"]
        );
        let person = || Caller::Person {
            email: "both@customs.test".into(),
        };
        let widest = scope_of(person(), Some((3, org.clone())), None, None).unwrap();
        assert_eq!(widest.role(), StaffRole::Inspection);
        let chosen = scope_of(
            person(),
            Some((3, org.clone())),
            Some("unit_head:03CC"),
            None,
        )
        .unwrap();
        assert_eq!(chosen.role(), StaffRole::UnitHead);
        assert_eq!(chosen.org_version(), 3);
        assert_eq!(
            scope_of(person(), Some((3, org)), Some("department"), None).unwrap_err(),
            StaffAuthError::RoleNotHeld("department".into())
        );
    }

    #[test]
    fn a_head_replaced_or_retired_loses_the_unit_at_once() {
        let before = org();
        let old_head = before.unit("03CC").unwrap().head.clone().unwrap().email;
        let person = || Caller::Person {
            email: old_head.clone(),
        };
        assert!(scope_of(person(), Some((1, before.clone())), None, None).is_ok());
        let mut replaced = before.clone();
        replaced
            .units
            .iter_mut()
            .find(|u| u.code == "03CC")
            .unwrap()
            .head = Some(Handler {
            name: "Người mới".into(),
            email: "new-head@customs.test".into(),
        });
        assert_eq!(
            scope_of(person(), Some((2, replaced)), None, None).unwrap_err(),
            StaffAuthError::NotInDirectory
        );
        let mut retired = before;
        retired
            .units
            .iter_mut()
            .find(|u| u.code == "03CC")
            .unwrap()
            .retired = true;
        assert_eq!(
            scope_of(person(), Some((2, retired)), None, None).unwrap_err(),
            StaffAuthError::NotInDirectory
        );
    }

    #[test]
    fn the_first_administrator_acts_only_until_a_directory_exists() {
        let admin = || Caller::Person {
            email: "First@Customs.test".into(),
        };
        let first = Some("first@customs.test");
        let scope = scope_of(admin(), None, None, first).unwrap();
        assert_eq!(scope.role(), StaffRole::Department);
        let other = Caller::Person {
            email: "other@customs.test".into(),
        };
        assert_eq!(
            scope_of(other, None, None, first).unwrap_err(),
            StaffAuthError::NotInDirectory
        );
        assert_eq!(
            scope_of(admin(), Some((1, org())), None, first).unwrap_err(),
            StaffAuthError::NotInDirectory,
            "the directory decides once it exists"
        );
    }

    #[test]
    fn an_operator_token_keeps_its_role_and_says_what_it_is() {
        let claims = StaffClaims {
            sub: "ops".into(),
            role: StaffRole::Department,
            unit: None,
            officer: None,
        };
        let scope = scope_of(Caller::Operator(claims), Some((1, org())), None, None).unwrap();
        assert_eq!(scope.role(), StaffRole::Department);
        assert_eq!(scope.who.sub, "operator-token:ops");
    }
}
