//! Daily statistics of a unit, a stage or an officer as a reader may see
//! them, with predecessors' history and children for drill-down.

use super::*;

impl super::super::Figures {
    /// Daily rollups of one statistics unit, optionally with its predecessors'
    /// history added in and its child units' totals for drill-down.
    #[tracing::instrument(name = "unit_stats", skip_all)]
    pub async fn unit_stats(
        &self,
        who: &Scope,
        request: &StatsRequest,
    ) -> Result<UnitStats, QueryError> {
        who.may_use(StaffRoute::Stats)?;
        let (from, to) = date_range(vn_day(self.clock.now()), request.from, request.to)?;
        let empty = OrgDirectory::new("", "", vec![]);
        let org = who.org().unwrap_or(&empty);
        let key = StatsKey::parse(request.unit.as_deref().unwrap_or(""), org)?;
        if let Some(code) = key.unit_code()
            && !who.sees_unit(code)
        {
            return Err(Refusal::Unit(code.to_owned()).into());
        }
        let days = self
            .stats_of(who, &key, org, from, to, request.include_predecessors)
            .await?;
        let unit = key.unit_code().and_then(|c| org.unit(c));
        let children = match (request.children, &key) {
            (true, StatsKey::Unit(code)) => {
                let children = org.children(code);
                if children.len() > MAX_CHILDREN {
                    return Err(QueryError::BadRequest(format!(
                        "{code} has more than {MAX_CHILDREN} units below it; ask for them one by one"
                    )));
                }
                let mut out = Vec::with_capacity(children.len());
                // Each child's own figures, retired ones included: they add up
                // to the parent's (predecessors are only merged into the unit asked).
                for child in children {
                    let child_key = StatsKey::Unit(child.code.clone());
                    let rows = self.stats_of(who, &child_key, org, from, to, false).await?;
                    out.push(ChildStats {
                        unit: UnitInfo::of(child),
                        totals: total(&child_key.key(), &rows),
                    });
                }
                Some(out)
            }
            (true, _) => {
                return Err(QueryError::BadRequest(
                    "children=true needs a unit of the tree, such as unit=03CC".into(),
                ));
            }
            _ => None,
        };
        Ok(UnitStats {
            unit: key.key(),
            info: unit.map(UnitInfo::of),
            path: unit
                .map(|u| org.path(&u.code).into_iter().map(UnitInfo::of).collect())
                .unwrap_or_default(),
            predecessors: unit
                .filter(|_| request.include_predecessors)
                .map(|u| {
                    org.predecessors(&u.code)
                        .into_iter()
                        .map(|p| p.code.clone())
                        .collect()
                })
                .unwrap_or_default(),
            totals: total(&key.key(), &days),
            days: days
                .iter()
                .map(|d| StatsRowView::for_reader(who, d))
                .collect(),
            children,
        })
    }

    /// One key's rows as `who` may see them, or its rows and its predecessors'
    /// added up per day (each unit's cell judged on its own first).
    async fn stats_of(
        &self,
        who: &Scope,
        key: &StatsKey,
        org: &OrgDirectory,
        from: NaiveDate,
        to: NaiveDate,
        include_predecessors: bool,
    ) -> Result<Vec<DailyStats>, QueryError> {
        let read = |key: StatsKey| async move { self.scoped_rows(who, &key.key(), from, to).await };
        let mut rows = read(key.clone()).await?;
        let Some(code) = key.unit_code().filter(|_| include_predecessors) else {
            return Ok(rows);
        };
        let predecessors = org.predecessors(code);
        if predecessors.is_empty() {
            return Ok(rows);
        }
        for p in predecessors {
            rows.extend(read(key.with_unit(&p.code)).await?);
        }
        Ok(merge_days(&key.key(), Some(code), &rows))
    }
}

/// At most this many child units in one drill-down (one Query each).
pub const MAX_CHILDREN: usize = 500;

/// Query of `GET /v1/stats`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct StatsRequest {
    pub unit: Option<String>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    #[serde(default)]
    pub include_predecessors: bool,
    #[serde(default)]
    pub children: bool,
}

/// What a statistics request names: a unit of the tree, a stage within a unit,
/// or an officer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatsKey {
    Unit(String),
    Stage(String, crate::domain::declaration::Stage),
    Officer(String),
}

impl StatsKey {
    /// Reads `03CC`, `unit:03CC`, `stage:03CC:clearance`, `officer:HP1234`, and the
    /// first version's `department`, `branch:03CC`, `team:03CC01`.
    pub fn parse(raw: &str, org: &OrgDirectory) -> Result<StatsKey, QueryError> {
        let bad = || {
            QueryError::BadRequest(
                "unit is required: a unit code at any level (03CC, or unit:03CC), department, stage:03CC:clearance or officer:HP1234".into(),
            )
        };
        if raw.is_empty() || raw.len() > 64 {
            return Err(bad());
        }
        let code_ok = |c: &str| crate::domain::fields::UnitCode::parse(c).is_ok();
        let key = match raw.split_once(':') {
            None if raw == "department" => {
                StatsKey::Unit(org.root().map(|u| u.code.clone()).ok_or_else(bad)?)
            }
            None if code_ok(raw) => StatsKey::Unit(raw.to_owned()),
            Some(("unit" | "branch" | "team", c)) if code_ok(c) => StatsKey::Unit(c.to_owned()),
            Some(("stage", rest)) => match rest.split_once(':') {
                Some((c, stage)) if code_ok(c) => StatsKey::Stage(
                    c.to_owned(),
                    crate::domain::declaration::Stage::from_code(stage).ok_or_else(bad)?,
                ),
                _ => return Err(bad()),
            },
            Some(("officer", id)) if !id.is_empty() => StatsKey::Officer(id.to_owned()),
            _ => return Err(bad()),
        };
        Ok(key)
    }

    pub fn key(&self) -> String {
        match self {
            StatsKey::Unit(c) => units::unit(c),
            StatsKey::Stage(c, s) => units::stage(c, *s),
            StatsKey::Officer(id) => units::officer(id),
        }
    }

    pub fn unit_code(&self) -> Option<&str> {
        match self {
            StatsKey::Unit(c) | StatsKey::Stage(c, _) => Some(c),
            StatsKey::Officer(_) => None,
        }
    }

    fn with_unit(&self, code: &str) -> StatsKey {
        match self {
            StatsKey::Unit(_) => StatsKey::Unit(code.to_owned()),
            StatsKey::Stage(_, s) => StatsKey::Stage(code.to_owned(), *s),
            StatsKey::Officer(id) => StatsKey::Officer(id.clone()),
        }
    }
}

/// A unit as the statistics name it.
#[derive(Debug, Clone, Serialize)]
pub struct UnitInfo {
    pub code: String,
    pub name: String,
    pub name_en: Option<String>,
    pub kind: String,
    pub active: bool,
}

impl UnitInfo {
    fn of(u: &Unit) -> UnitInfo {
        UnitInfo {
            code: u.code.clone(),
            name: u.name.clone(),
            name_en: u.name_en.clone(),
            kind: u.kind.clone(),
            active: u.is_active(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ChildStats {
    pub unit: UnitInfo,
    pub totals: StatsTotal,
}

#[derive(Debug, Clone, Serialize)]
pub struct UnitStats {
    /// The statistics key read, such as `unit:03CC`.
    pub unit: String,
    /// The unit of the tree it belongs to, when it is one.
    pub info: Option<UnitInfo>,
    /// Root first, the unit last: for breadcrumbs.
    pub path: Vec<UnitInfo>,
    /// Codes whose history was added in (`include_predecessors=true`).
    pub predecessors: Vec<String>,
    pub totals: StatsTotal,
    pub days: Vec<StatsRowView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub children: Option<Vec<ChildStats>>,
}
