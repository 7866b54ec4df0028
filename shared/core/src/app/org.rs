//! The org directory over time: replacing it makes a new version, the first
//! version's document is migrated once, and everyone reads the version in force.

use std::sync::Arc;

use super::all_pages;
use crate::domain::fields::FieldError;
use crate::domain::form::units;
use crate::domain::org::{
    ChangeKind, OrgDirectory, OrgVersion, StoredOrg, UnitChange, carry_forward, changes_between,
};
use crate::ports::{
    Clock, OrgStore, Page, PageRequest, PortError, SaveOrgOutcome, StatsStore, Store,
};

/// The days a first-version deployment can hold rollups for (it ran from 2026).
const FIRST_DAY: chrono::NaiveDate = chrono::NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
const LAST_DAY: chrono::NaiveDate = chrono::NaiveDate::from_ymd_opt(2100, 12, 31).unwrap();

/// A page of the directory's history, as `GET /v1/org/versions` asks for it.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct VersionsRequest {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum OrgError {
    #[error("the org directory has {} problem(s)", .0.len())]
    Invalid(Vec<FieldError>),
    #[error("someone else replaced the org directory at the same time; try again")]
    Conflict,
    #[error(transparent)]
    Storage(#[from] PortError),
}

/// What a replacement did.
#[derive(Debug, Clone, PartialEq)]
pub struct OrgSaved {
    pub version: OrgVersion,
    /// False when the directory sent equals the one in force: nothing was saved.
    pub created: bool,
}

/// The org directory over time: who the units are, their heads and handlers,
/// and every version replaced.
#[derive(Clone)]
pub struct Directory {
    pub(super) org: Arc<dyn OrgStore>,
    pub(super) stats: Arc<dyn StatsStore>,
    pub(super) clock: Arc<dyn Clock>,
}

impl Directory {
    pub fn new(store: &Arc<dyn Store>, clock: Arc<dyn Clock>) -> Directory {
        Directory {
            org: store.clone(),
            stats: store.clone(),
            clock,
        }
    }

    /// The directory in force and its version (0: a first-version document not
    /// migrated yet, read as a three-level tree all the same).
    pub async fn current_org(&self) -> Result<Option<(u32, OrgDirectory)>, PortError> {
        Ok(self
            .org
            .current_org()
            .await?
            .map(|c| (c.version, c.stored.into_tree())))
    }

    /// Validates `next`, keeps every unit it leaves out as retired, and saves
    /// the result as a new version. Sending the directory in force again saves
    /// nothing (a retried request changes nothing).
    #[tracing::instrument(name = "replace_org", skip_all)]
    pub async fn replace_org(&self, next: OrgDirectory, by: &str) -> Result<OrgSaved, OrgError> {
        next.validate().map_err(OrgError::Invalid)?;
        let current = self.current_org().await?;
        let previous = current.as_ref().map(|(_, o)| o);
        let merged = carry_forward(previous, next);
        merged.validate().map_err(OrgError::Invalid)?;
        let changes = changes_between(previous, &merged);
        let version = current.as_ref().map_or(0, |(v, _)| *v);
        if let Some((v, _)) = current.as_ref().filter(|_| changes.is_empty())
            && *v > 0
            && let Some(summary) = self.org_version_summary(*v).await?
        {
            return Ok(OrgSaved {
                version: summary,
                created: false,
            });
        }
        let summary = OrgVersion {
            version: crate::domain::versions::next(version),
            saved_at: self.clock.now(),
            saved_by: by.to_owned(),
            changes,
            units: merged.units.len(),
        };
        match self.org.save_org_version(&summary, &merged).await? {
            SaveOrgOutcome::Saved => {
                tracing::info!(
                    version = summary.version,
                    by,
                    changes = summary.changes.len(),
                    "org directory replaced"
                );
                Ok(OrgSaved {
                    version: summary,
                    created: true,
                })
            }
            SaveOrgOutcome::Conflict => Err(OrgError::Conflict),
        }
    }

    async fn org_version_summary(&self, version: u32) -> Result<Option<OrgVersion>, PortError> {
        // Versions are listed newest first; the one in force is the first.
        let page = self.org.org_versions(PageRequest::first(1)).await?;
        Ok(page.items.into_iter().find(|v| v.version == version))
    }

    /// Who replaced the directory, when, what changed: newest first, a page
    /// of `limit` (20 by default, 100 at most).
    pub async fn org_versions(&self, req: &VersionsRequest) -> Result<Page<OrgVersion>, PortError> {
        let page = PageRequest {
            after: req.cursor.clone(),
            limit: req.limit.unwrap_or(20).clamp(1, 100),
        };
        self.org.org_versions(page).await
    }

    pub async fn org_at_version(&self, version: u32) -> Result<Option<OrgDirectory>, PortError> {
        self.org.org_version(version).await
    }

    /// Turns a directory the first version wrote into version 1 of the tree, and
    /// copies the statistics it kept under `department`, `branch:X` and `team:X`
    /// to the tree's `unit:CODE` keys. Runs once: after it the directory has a
    /// version. The copy comes first, so a crash midway only repeats it.
    pub async fn migrate_first_version(&self) -> Result<bool, OrgError> {
        let Some(current) = self.org.current_org().await? else {
            return Ok(false);
        };
        let StoredOrg::Legacy(legacy) = current.stored else {
            return Ok(false);
        };
        let tree = legacy.clone().into_tree();
        let root = tree.root().map(|u| u.code.clone()).unwrap_or_default();
        let mut copied = 0;
        for (old_key, code) in legacy.stats_keys(&root) {
            let rows = self.stats.daily(&old_key, FIRST_DAY, LAST_DAY).await?;
            if rows.is_empty() {
                continue;
            }
            let moved: Vec<_> = rows
                .into_iter()
                .map(|mut r| {
                    r.unit = units::unit(&code);
                    r.owner = Some(code.clone());
                    r
                })
                .collect();
            copied += moved.len();
            self.stats.put_daily(&moved).await?;
        }
        let changes = vec![UnitChange {
            code: root,
            change: ChangeKind::Added,
            detail: format!(
                "{} units migrated from the first version's department › branch › team directory",
                tree.units.len()
            ),
        }];
        let summary = OrgVersion {
            version: 1,
            saved_at: self.clock.now(),
            saved_by: "migration".into(),
            changes,
            units: tree.units.len(),
        };
        match self.org.save_org_version(&summary, &tree).await? {
            SaveOrgOutcome::Saved => {
                tracing::info!(
                    units = tree.units.len(),
                    stats_rows = copied,
                    "org directory migrated to a tree"
                );
                Ok(true)
            }
            // Another process migrated it at the same moment.
            SaveOrgOutcome::Conflict => Ok(false),
        }
    }

    /// Every version summary (for the CLI): bounded by the number of versions.
    pub async fn all_org_versions(&self) -> Result<Vec<OrgVersion>, PortError> {
        all_pages(|p| self.org.org_versions(p)).await
    }
}
