//! The org directory: the authority's units as a tree of any depth (department,
//! regions, customs offices, teams — kind labels are data), who heads each unit,
//! and which units handle misconduct and complaints about unknown units.
//!
//! A unit keeps its code for life: renamed, moved, merged (it names its
//! successor) or retired, its ratings stay with it. Every replacement of the
//! directory is a new version (see `history`).

mod history;
pub mod legacy;
mod validate;

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

pub use history::{ChangeKind, OrgVersion, UnitChange, carry_forward, changes_between};
pub use legacy::{LegacyOrg, StoredOrg};

use super::declaration::Language;

/// Someone who receives cases: a unit's head or one of its handlers (or a
/// department administrator). Their email is how they sign in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handler {
    pub name: String,
    pub email: String,
}

/// A customs officer, under the unit they serve: rated by businesses, and
/// reads their own page when signed in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Officer {
    /// The officer id declarations name (`handling[].officer_id`).
    pub id: String,
    pub name: String,
    pub email: String,
}

/// One node of the tree (đơn vị).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unit {
    /// Stable for life: declarations name offices and teams by it, statistics key on it.
    pub code: String,
    /// The Vietnamese name.
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_en: Option<String>,
    /// A label such as department, region, office, team or inspection: data, not a rule.
    pub kind: String,
    /// None only for the root (the authority itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// Receives the unit's complaints and escalations from below.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head: Option<Handler>,
    /// Further people who may handle the unit's cases (of the inspection
    /// unit: its inspectors).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub handlers: Vec<Handler>,
    /// The officers who serve in the unit.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub officers: Vec<Officer>,
    /// Set when the unit was merged into another: its history counts there on request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub successor: Option<String>,
    /// No longer active (merged units are retired too); kept for its history.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub retired: bool,
}

impl Unit {
    /// An active unit without a head or handlers: fill in the rest with struct update.
    pub fn new(code: &str, name: &str, kind: &str, parent: Option<&str>) -> Unit {
        Unit {
            code: code.into(),
            name: name.into(),
            name_en: None,
            kind: kind.into(),
            parent: parent.map(Into::into),
            head: None,
            handlers: vec![],
            officers: vec![],
            successor: None,
            retired: false,
        }
    }

    /// The unit's name in the reader's language (Vietnamese when no English name is kept).
    pub fn name_in(&self, lang: Language) -> &str {
        match (lang, &self.name_en) {
            (Language::En, Some(en)) => en,
            _ => &self.name,
        }
    }

    pub fn is_active(&self) -> bool {
        !self.retired && self.successor.is_none()
    }

    pub fn label(&self) -> UnitLabel {
        UnitLabel {
            code: self.code.clone(),
            name: self.name.clone(),
            name_en: self.name_en.clone(),
        }
    }
}

/// A unit as named on a form or in an email: what stays readable after the
/// directory changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitLabel {
    pub code: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_en: Option<String>,
}

impl UnitLabel {
    pub fn name_in(&self, lang: Language) -> &str {
        match (lang, &self.name_en) {
            (Language::En, Some(en)) => en,
            _ => &self.name,
        }
    }
}

/// The whole directory, as imported and as stored in each version.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrgDirectory {
    /// Handles misconduct complaints (phiền hà, sách nhiễu, tiêu cực): its head is emailed.
    pub inspection_unit: String,
    /// Handles complaints about units not (yet) in the directory.
    pub default_unit: String,
    pub units: Vec<Unit>,
    /// The department's administrators: they keep the directory, the case
    /// rules and the settings, and read as the department does.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub administrators: Vec<Handler>,
    #[serde(skip)]
    index: UnitIndex,
}

impl PartialEq for OrgDirectory {
    fn eq(&self, other: &Self) -> bool {
        self.inspection_unit == other.inspection_unit
            && self.default_unit == other.default_unit
            && self.units == other.units
            && self.administrators == other.administrators
    }
}

/// Code → position, built on first use: scopes and routing look units up often,
/// and a national directory has a couple of thousand of them.
#[derive(Debug, Default)]
struct UnitIndex(OnceLock<HashMap<String, usize>>);

impl Clone for UnitIndex {
    fn clone(&self) -> Self {
        UnitIndex::default()
    }
}

/// The unit code under which legacy inspection-unit cases were filed.
pub const INSPECTION_UNIT: &str = "inspection";
/// The unit code under which legacy default-handler cases were filed.
pub const DEFAULT_UNIT: &str = "default";
/// Deeper than any real authority; guards every walk up the tree against bad data.
pub const MAX_DEPTH: usize = 16;

impl OrgDirectory {
    pub fn new(inspection_unit: &str, default_unit: &str, units: Vec<Unit>) -> OrgDirectory {
        OrgDirectory {
            inspection_unit: inspection_unit.to_owned(),
            default_unit: default_unit.to_owned(),
            units,
            administrators: vec![],
            index: UnitIndex::default(),
        }
    }

    fn index(&self) -> &HashMap<String, usize> {
        self.index.0.get_or_init(|| {
            let mut map = HashMap::with_capacity(self.units.len());
            for (i, u) in self.units.iter().enumerate() {
                map.entry(u.code.clone()).or_insert(i);
            }
            map
        })
    }

    /// The same directory with other units (its index rebuilt on first use).
    pub fn with_units(self, units: Vec<Unit>) -> OrgDirectory {
        OrgDirectory {
            units,
            index: UnitIndex::default(),
            ..self
        }
    }

    pub fn unit(&self, code: &str) -> Option<&Unit> {
        self.index().get(code).map(|&i| &self.units[i])
    }

    /// The authority itself: the one unit without a parent.
    pub fn root(&self) -> Option<&Unit> {
        self.units.iter().find(|u| u.parent.is_none())
    }

    /// The units above `code`, nearest first, up to the root.
    pub fn ancestors(&self, code: &str) -> Vec<&Unit> {
        let mut out = Vec::new();
        let mut at = self.unit(code).and_then(|u| u.parent.as_deref());
        while let Some(p) = at {
            let Some(unit) = self.unit(p) else { break };
            if out.len() >= MAX_DEPTH || out.iter().any(|u: &&Unit| u.code == unit.code) {
                break;
            }
            out.push(unit);
            at = unit.parent.as_deref();
        }
        out
    }

    /// Root first, `code` last: what a page shows as "region › office".
    pub fn path(&self, code: &str) -> Vec<&Unit> {
        let mut path = self.ancestors(code);
        path.reverse();
        path.extend(self.unit(code));
        path
    }

    /// Units whose parent is `code`, active ones first, in directory order.
    pub fn children(&self, code: &str) -> Vec<&Unit> {
        let mut out: Vec<&Unit> = self
            .units
            .iter()
            .filter(|u| u.parent.as_deref() == Some(code))
            .collect();
        out.sort_by_key(|u| !u.is_active());
        out
    }

    /// The unit itself, everything below it, and every unit merged into one of
    /// those (a successor inherits its predecessors' history and their people).
    pub fn subtree(&self, code: &str) -> HashSet<String> {
        let mut below: HashMap<&str, Vec<&str>> = HashMap::new();
        for u in &self.units {
            for up in [u.parent.as_deref(), u.successor.as_deref()]
                .into_iter()
                .flatten()
            {
                below.entry(up).or_default().push(&u.code);
            }
        }
        let mut seen = HashSet::new();
        if self.unit(code).is_none() {
            return seen;
        }
        let mut todo = vec![code];
        while let Some(c) = todo.pop() {
            if seen.insert(c.to_owned()) {
                todo.extend(below.get(c).into_iter().flatten().copied());
            }
        }
        seen
    }

    /// Follows merges to the unit that carries `code` on today.
    pub fn current_unit(&self, code: &str) -> Option<&Unit> {
        let mut unit = self.unit(code)?;
        for _ in 0..MAX_DEPTH {
            match unit.successor.as_deref().and_then(|s| self.unit(s)) {
                Some(next) => unit = next,
                None => break,
            }
        }
        Some(unit)
    }

    /// Units merged into `code`, directly or through a chain of merges.
    pub fn predecessors(&self, code: &str) -> Vec<&Unit> {
        let mut out: Vec<&Unit> = Vec::new();
        let mut frontier = vec![code.to_owned()];
        while let Some(c) = frontier.pop() {
            for u in self
                .units
                .iter()
                .filter(|u| u.successor.as_deref() == Some(&c))
            {
                if u.code != code && !out.iter().any(|x| x.code == u.code) {
                    out.push(u);
                    frontier.push(u.code.clone());
                }
            }
        }
        out
    }

    /// The nearest head at or above `code` (after following merges): who handles
    /// a complaint about the unit, and the unit they head.
    pub fn head_for(&self, code: &str) -> Option<(&Unit, &Handler)> {
        let start = self.current_unit(code)?;
        std::iter::once(start)
            .chain(self.ancestors(&start.code))
            .find_map(|u| u.head.as_ref().map(|h| (u, h)))
    }

    pub fn inspection(&self) -> Option<(&Unit, &Handler)> {
        let u = self.unit(&self.inspection_unit)?;
        Some((u, u.head.as_ref()?))
    }

    pub fn default_handler(&self) -> Option<(&Unit, &Handler)> {
        self.head_for(&self.default_unit)
    }

    /// The tree unit behind a case list: `inspection` and `default` name the
    /// routing units; any other list is a unit code.
    pub fn case_list_unit<'a>(&'a self, list: &'a str) -> &'a str {
        match list {
            INSPECTION_UNIT => &self.inspection_unit,
            DEFAULT_UNIT => &self.default_unit,
            code => code,
        }
    }

    /// Whether `code` is `ancestor` or below it.
    pub fn is_within(&self, code: &str, ancestor: &str) -> bool {
        code == ancestor || self.ancestors(code).iter().any(|u| u.code == ancestor)
    }

    pub fn active_units(&self) -> usize {
        self.units.iter().filter(|u| u.is_active()).count()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn h(name: &str, email: &str) -> Handler {
        Handler {
            name: name.into(),
            email: email.into(),
        }
    }

    pub fn unit(code: &str, name: &str, kind: &str, parent: Option<&str>) -> Unit {
        Unit::new(code, name, kind, parent)
    }

    /// Department › region 03 › office 03CC › two teams; inspection and office units.
    pub fn sample_org() -> OrgDirectory {
        let mut dept = unit("CUC", "Cục Hải quan Demo", "department", None);
        dept.head = Some(h("Cục trưởng Demo", "cuc@demo.customs.example"));
        let region = unit("R03", "Chi cục Khu vực Demo", "region", Some("CUC"));
        let mut office = unit("03CC", "Hải quan cửa khẩu Demo 1", "office", Some("R03"));
        office.name_en = Some("Demo 1 Border Office".into());
        office.head = Some(h("Đội trưởng Demo 1", "cc03@demo.customs.example"));
        let mut inspection = unit("TT", "Phòng Thanh tra", "inspection", Some("CUC"));
        inspection.head = Some(h("Phòng Thanh tra", "thanhtra@demo.customs.example"));
        let mut office_of_dept = unit("VP", "Văn phòng Cục", "office", Some("CUC"));
        office_of_dept.head = Some(h("Văn phòng Cục", "vanphong@demo.customs.example"));
        OrgDirectory::new(
            "TT",
            "VP",
            vec![
                dept,
                region,
                office,
                unit("03CC01", "Đội thủ tục", "team", Some("03CC")),
                unit("03CC02", "Đội kiểm soát", "team", Some("03CC")),
                inspection,
                office_of_dept,
            ],
        )
    }

    #[test]
    fn walks_the_tree() {
        let org = sample_org();
        let path: Vec<&str> = org.path("03CC01").iter().map(|u| u.code.as_str()).collect();
        assert_eq!(path, ["CUC", "R03", "03CC", "03CC01"]);
        assert!(org.is_within("03CC02", "R03"));
        assert!(!org.is_within("R03", "03CC"));
        let sub = org.subtree("R03");
        assert_eq!(sub.len(), 4);
        assert!(sub.contains("03CC01") && !sub.contains("TT"));
        assert_eq!(org.children("CUC").len(), 3);
        assert!(org.subtree("NOPE").is_empty());
        // A team without a head is handled by the office's head; the region has
        // none either, so the office is the first head up.
        let (u, head) = org.head_for("03CC01").unwrap();
        assert_eq!(
            (u.code.as_str(), head.email.as_str()),
            ("03CC", "cc03@demo.customs.example")
        );
        assert_eq!(org.head_for("R03").unwrap().0.code, "CUC");
        assert_eq!(
            org.inspection().unwrap().1.email,
            "thanhtra@demo.customs.example"
        );
    }

    #[test]
    fn merges_lead_to_the_successor() {
        let mut org = sample_org();
        let mut old = unit("03DD", "Hải quan cũ", "office", Some("R03"));
        old.successor = Some("03CC".into());
        old.retired = true;
        let mut older = unit("03EE", "Hải quan cũ hơn", "office", Some("CUC"));
        older.successor = Some("03DD".into());
        org.units.push(old);
        org.units.push(older);
        let org = OrgDirectory::new("TT", "VP", org.units);
        assert_eq!(org.current_unit("03EE").unwrap().code, "03CC");
        let preds: Vec<&str> = org
            .predecessors("03CC")
            .iter()
            .map(|u| u.code.as_str())
            .collect();
        assert_eq!(preds, ["03DD", "03EE"]);
        assert_eq!(org.head_for("03EE").unwrap().0.code, "03CC");
        // The successor's head sees its predecessors, wherever they hung.
        assert!(org.subtree("03CC").contains("03EE"));
        assert_eq!(org.children("R03").last().unwrap().code, "03DD");
    }

    #[test]
    fn names_in_the_readers_language() {
        let org = sample_org();
        let office = org.unit("03CC").unwrap();
        assert_eq!(office.name_in(Language::En), "Demo 1 Border Office");
        assert_eq!(office.name_in(Language::Vi), "Hải quan cửa khẩu Demo 1");
        let team = org.unit("03CC01").unwrap();
        assert_eq!(team.name_in(Language::En), "Đội thủ tục");
    }
}
