//! The directory as the first version of CSQ stored it: one department with
//! branches and teams. Read as a three-level tree; the migration then saves that
//! tree as version 1.

use serde::{Deserialize, Serialize};

use super::{Handler, OrgDirectory, Unit};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegacyTeam {
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegacyBranch {
    pub code: String,
    pub name: String,
    pub head: Handler,
    #[serde(default)]
    pub teams: Vec<LegacyTeam>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegacyOrg {
    pub department: String,
    pub inspection: Handler,
    pub default_handler: Handler,
    #[serde(default)]
    pub branches: Vec<LegacyBranch>,
}

/// What a store holds under the current directory: today's tree, or a document
/// written by the first version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum StoredOrg {
    Tree(OrgDirectory),
    Legacy(LegacyOrg),
}

impl StoredOrg {
    pub fn into_tree(self) -> OrgDirectory {
        match self {
            StoredOrg::Tree(t) => t,
            StoredOrg::Legacy(l) => l.into_tree(),
        }
    }
}

impl LegacyOrg {
    /// Department › branches › teams, with the inspection unit and the
    /// department office as units under the department. Their codes are the
    /// usual abbreviations (CUC, TT, VP) unless a branch already uses one.
    pub fn into_tree(self) -> OrgDirectory {
        let taken = |c: &str| {
            self.branches
                .iter()
                .any(|b| b.code == c || b.teams.iter().any(|t| t.code == c))
        };
        let free = |base: &str| {
            (0..)
                .map(|n| {
                    if n == 0 {
                        base.to_owned()
                    } else {
                        format!("{base}{n}")
                    }
                })
                .find(|c| !taken(c))
                .expect("an unused code exists")
        };
        let (root, inspection, office) = (free("CUC"), free("TT"), free("VP"));
        let unit =
            |code: &str, name: &str, kind: &str, parent: Option<&str>, head: Option<&Handler>| {
                Unit {
                    code: code.to_owned(),
                    name: name.to_owned(),
                    name_en: None,
                    kind: kind.to_owned(),
                    parent: parent.map(str::to_owned),
                    head: head.cloned(),
                    handlers: vec![],
                    officers: vec![],
                    successor: None,
                    retired: false,
                }
            };
        let mut units = vec![
            unit(
                &root,
                &self.department,
                "department",
                None,
                Some(&self.default_handler),
            ),
            unit(
                &inspection,
                &self.inspection.name,
                "inspection",
                Some(&root),
                Some(&self.inspection),
            ),
            unit(
                &office,
                &self.default_handler.name,
                "office",
                Some(&root),
                Some(&self.default_handler),
            ),
        ];
        for b in &self.branches {
            units.push(unit(&b.code, &b.name, "branch", Some(&root), Some(&b.head)));
            for t in &b.teams {
                units.push(unit(&t.code, &t.name, "team", Some(&b.code), None));
            }
        }
        OrgDirectory::new(&inspection, &office, units)
    }

    /// Statistics keys the first version wrote, each with the unit code it means.
    pub fn stats_keys(&self, root: &str) -> Vec<(String, String)> {
        let mut keys = vec![("department".to_owned(), root.to_owned())];
        for b in &self.branches {
            keys.push((format!("branch:{}", b.code), b.code.clone()));
            for t in &b.teams {
                keys.push((format!("team:{}", t.code), t.code.clone()));
            }
        }
        keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIRST_VERSION_DOC: &str = r#"{
        "department": "Cục Hải quan Demo",
        "inspection": {"name": "Phòng Thanh tra", "email": "tt@demo.customs.example"},
        "default_handler": {"name": "Văn phòng Cục", "email": "vp@demo.customs.example"},
        "branches": [{"code": "CUC", "name": "Chi cục CUC", "head": {"name": "A", "email": "a@demo.customs.example"},
                      "teams": [{"code": "CUC01", "name": "Đội 1"}]}]
    }"#;

    #[test]
    fn a_first_version_document_reads_as_a_valid_three_level_tree() {
        let stored: StoredOrg = serde_json::from_str(FIRST_VERSION_DOC).unwrap();
        assert!(matches!(stored, StoredOrg::Legacy(_)));
        let tree = stored.into_tree();
        assert_eq!(tree.validate(), Ok(()));
        let root = tree.root().unwrap();
        assert_eq!(root.code, "CUC1", "a branch already used CUC");
        let path: Vec<&str> = tree.path("CUC01").iter().map(|u| u.code.as_str()).collect();
        assert_eq!(path, ["CUC1", "CUC", "CUC01"]);
        assert_eq!(
            tree.inspection().unwrap().1.email,
            "tt@demo.customs.example"
        );
        assert_eq!(
            tree.head_for("CUC01").unwrap().1.email,
            "a@demo.customs.example"
        );

        let again: StoredOrg =
            serde_json::from_str(&serde_json::to_string(&tree).unwrap()).unwrap();
        assert_eq!(again, StoredOrg::Tree(tree));
    }
}
