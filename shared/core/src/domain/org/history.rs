//! Versions of the directory: who replaced it, when, and what changed.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{OrgDirectory, Unit};

/// One saved version: the directory as it was in force from `saved_at`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrgVersion {
    /// 1, 2, 3…: forms record the version in force when they were issued.
    pub version: u32,
    pub saved_at: DateTime<Utc>,
    /// The staff subject or command that saved it (`csq org import`, `migration`).
    pub saved_by: String,
    pub changes: Vec<UnitChange>,
    pub units: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    Added,
    Renamed,
    Moved,
    Merged,
    Retired,
    Reinstated,
    HeadChanged,
    /// Who handles a unit's cases or serves in it (handlers, officers), or the
    /// department's administrators: who may sign in as what.
    PeopleChanged,
    /// The routing roles (inspection unit, default unit) point elsewhere.
    RoutingChanged,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitChange {
    pub code: String,
    pub change: ChangeKind,
    /// Before → after, in words a keeper of the directory reads.
    pub detail: String,
}

/// Units of the previous version that the new one leaves out stay, retired: a
/// code keeps its history for life, so its ratings never lose their unit.
pub fn carry_forward(previous: Option<&OrgDirectory>, next: OrgDirectory) -> OrgDirectory {
    let Some(previous) = previous else {
        return next;
    };
    let mut units = next.units.clone();
    for old in &previous.units {
        if next.unit(&old.code).is_none() {
            let mut kept = old.clone();
            kept.retired = true;
            units.push(kept);
        }
    }
    next.with_units(units)
}

fn describe_parent(u: &Unit) -> &str {
    u.parent.as_deref().unwrap_or("(root)")
}

/// What changed from `previous` to `next`, unit by unit, in directory order.
pub fn changes_between(previous: Option<&OrgDirectory>, next: &OrgDirectory) -> Vec<UnitChange> {
    let mut out = Vec::new();
    let mut push = |code: &str, change, detail: String| {
        out.push(UnitChange {
            code: code.to_owned(),
            change,
            detail,
        })
    };
    for u in &next.units {
        let Some(old) = previous.and_then(|p| p.unit(&u.code)) else {
            push(
                &u.code,
                ChangeKind::Added,
                format!("{} under {}", u.name, describe_parent(u)),
            );
            continue;
        };
        if old.name != u.name || old.name_en != u.name_en {
            push(
                &u.code,
                ChangeKind::Renamed,
                format!("{} → {}", old.name, u.name),
            );
        }
        if old.parent != u.parent {
            push(
                &u.code,
                ChangeKind::Moved,
                format!("{} → {}", describe_parent(old), describe_parent(u)),
            );
        }
        if old.successor.is_none()
            && let Some(s) = &u.successor
        {
            push(&u.code, ChangeKind::Merged, format!("into {s}"));
        } else if old.is_active() && !u.is_active() {
            push(&u.code, ChangeKind::Retired, "no longer active".into());
        } else if !old.is_active() && u.is_active() {
            push(&u.code, ChangeKind::Reinstated, "active again".into());
        }
        if old.head != u.head {
            let email = |h: &Option<super::Handler>| {
                h.as_ref()
                    .map(|h| h.email.clone())
                    .unwrap_or_else(|| "none".into())
            };
            push(
                &u.code,
                ChangeKind::HeadChanged,
                format!("{} → {}", email(&old.head), email(&u.head)),
            );
        }
        if old.handlers != u.handlers || old.officers != u.officers {
            push(
                &u.code,
                ChangeKind::PeopleChanged,
                format!(
                    "handlers {} → {}, officers {} → {}",
                    old.handlers.len(),
                    u.handlers.len(),
                    old.officers.len(),
                    u.officers.len()
                ),
            );
        }
    }
    if let Some(p) = previous
        && p.administrators != next.administrators
    {
        let root = next.root().map_or("", |r| r.code.as_str());
        push(
            root,
            ChangeKind::PeopleChanged,
            format!(
                "administrators {} → {}",
                p.administrators.len(),
                next.administrators.len()
            ),
        );
    }
    if let Some(p) = previous {
        for (role, before, after) in [
            ("inspection_unit", &p.inspection_unit, &next.inspection_unit),
            ("default_unit", &p.default_unit, &next.default_unit),
        ] {
            if before != after {
                push(
                    after,
                    ChangeKind::RoutingChanged,
                    format!("{role}: {before} → {after}"),
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::tests::{sample_org, unit};
    use super::*;

    #[test]
    fn left_out_units_stay_retired_and_changes_are_named() {
        let before = sample_org();
        let mut units = before.units.clone();
        units.retain(|u| u.code != "03CC02");
        units[2].name = "Hải quan cửa khẩu Demo 1 (mới)".into();
        units[3].parent = Some("R03".into());
        let mut merged = unit("03DD", "Hải quan Demo 2", "office", Some("R03"));
        merged.successor = Some("03CC".into());
        merged.retired = true;
        units.push(merged);
        let after = carry_forward(Some(&before), OrgDirectory::new("TT", "VP", units));
        let kept = after.unit("03CC02").expect("carried forward");
        assert!(kept.retired && kept.parent.as_deref() == Some("03CC"));
        assert_eq!(after.validate(), Ok(()));

        let changes = changes_between(Some(&before), &after);
        let kinds: Vec<(&str, ChangeKind)> = changes
            .iter()
            .map(|c| (c.code.as_str(), c.change))
            .collect();
        assert!(kinds.contains(&("03CC", ChangeKind::Renamed)));
        assert!(kinds.contains(&("03CC01", ChangeKind::Moved)));
        assert!(kinds.contains(&("03CC02", ChangeKind::Retired)));
        assert!(kinds.contains(&("03DD", ChangeKind::Added)));
        assert_eq!(changes.len(), 4, "{changes:?}");

        assert!(changes_between(Some(&after), &after).is_empty());
        assert_eq!(changes_between(None, &after).len(), after.units.len());
    }
}
