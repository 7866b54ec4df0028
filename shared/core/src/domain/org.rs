//! The org directory: branches, their teams, and who handles complaints.

use serde::{Deserialize, Serialize};

use super::fields::{DisplayName, EmailAddress, FieldError, UnitCode};

/// Someone who receives cases: a branch head, the inspection unit, the default handler.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handler {
    pub name: String,
    pub email: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Team {
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Branch {
    /// The customs office code used on declarations.
    pub code: String,
    pub name: String,
    /// The head of the branch (Chi cục trưởng): handles its non-misconduct complaints.
    pub head: Handler,
    #[serde(default)]
    pub teams: Vec<Team>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgDirectory {
    /// The department (Cục Hải quan) this deployment serves.
    pub department: String,
    /// Handles misconduct complaints (phiền hà, sách nhiễu, tiêu cực).
    pub inspection: Handler,
    /// Handles complaints about units not (yet) in the directory, and escalations.
    pub default_handler: Handler,
    #[serde(default)]
    pub branches: Vec<Branch>,
}

/// The unit code under which inspection-unit cases are filed.
pub const INSPECTION_UNIT: &str = "inspection";
/// The unit code under which default-handler cases are filed.
pub const DEFAULT_UNIT: &str = "default";

impl OrgDirectory {
    pub fn branch(&self, code: &str) -> Option<&Branch> {
        self.branches.iter().find(|b| b.code == code)
    }

    pub fn has_team(&self, branch: &str, team: &str) -> bool {
        self.branch(branch)
            .is_some_and(|b| b.teams.iter().any(|t| t.code == team))
    }

    /// Checks a directory before it replaces the current one: every problem at once.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut check_handler = |field: &str, h: &Handler| {
            if let Err(m) = DisplayName::parse(&h.name) {
                errors.push(FieldError::new(format!("{field}.name"), m));
            }
            if let Err(m) = EmailAddress::parse(&h.email) {
                errors.push(FieldError::new(format!("{field}.email"), m));
            }
        };
        check_handler("inspection", &self.inspection);
        check_handler("default_handler", &self.default_handler);
        for (i, b) in self.branches.iter().enumerate() {
            check_handler(&format!("branches[{i}].head"), &b.head);
        }
        if let Err(m) = DisplayName::parse(&self.department) {
            errors.push(FieldError::new("department", m));
        }
        let mut seen = std::collections::HashSet::new();
        for (i, b) in self.branches.iter().enumerate() {
            if let Err(m) = UnitCode::parse(&b.code) {
                errors.push(FieldError::new(format!("branches[{i}].code"), m));
            }
            if !seen.insert(b.code.clone()) {
                errors.push(FieldError::new(
                    format!("branches[{i}].code"),
                    "appears twice",
                ));
            }
            if let Err(m) = DisplayName::parse(&b.name) {
                errors.push(FieldError::new(format!("branches[{i}].name"), m));
            }
            for (j, t) in b.teams.iter().enumerate() {
                if let Err(m) = UnitCode::parse(&t.code) {
                    errors.push(FieldError::new(format!("branches[{i}].teams[{j}].code"), m));
                }
                if !seen.insert(t.code.clone()) {
                    errors.push(FieldError::new(
                        format!("branches[{i}].teams[{j}].code"),
                        "appears twice",
                    ));
                }
                if let Err(m) = DisplayName::parse(&t.name) {
                    errors.push(FieldError::new(format!("branches[{i}].teams[{j}].name"), m));
                }
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn sample_org() -> OrgDirectory {
        let h = |name: &str, email: &str| Handler {
            name: name.into(),
            email: email.into(),
        };
        OrgDirectory {
            department: "Cục Hải quan Demo".into(),
            inspection: h("Phòng Thanh tra", "thanhtra@demo.customs.example"),
            default_handler: h("Văn phòng Cục", "vanphong@demo.customs.example"),
            branches: vec![Branch {
                code: "03CC".into(),
                name: "Chi cục Demo 1".into(),
                head: h("Chi cục trưởng Demo 1", "cc03@demo.customs.example"),
                teams: vec![
                    Team {
                        code: "03CC01".into(),
                        name: "Đội thủ tục".into(),
                    },
                    Team {
                        code: "03CC02".into(),
                        name: "Đội kiểm soát".into(),
                    },
                ],
            }],
        }
    }

    #[test]
    fn validation_reports_every_problem() {
        assert!(sample_org().validate().is_ok());
        let mut org = sample_org();
        org.inspection.email = "nope".into();
        org.branches.push(org.branches[0].clone());
        org.branches[1].head.name = "A\nB".into();
        let fields: Vec<String> = org
            .validate()
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert!(fields.contains(&"inspection.email".into()));
        assert!(fields.contains(&"branches[1].code".into()));
        assert!(fields.contains(&"branches[1].head.name".into()));
        assert!(fields.contains(&"branches[1].teams[0].code".into()));
    }
}
