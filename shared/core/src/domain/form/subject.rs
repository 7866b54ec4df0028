//! What a form asks about: its office, teams, stages and officers, and the
//! statistics units each rating of them counts towards.

use super::*;

/// What a subject is; the stats unit of a rating follows from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    Branch,
    Team,
    Stage,
    Officer,
}

/// One thing rated on a form (đối tượng đánh giá).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    /// Stable within a form: `branch:03CC`, `team:03CC01`, `stage:clearance`,
    /// `officer:clearance:HP5678`.
    pub key: String,
    pub kind: SubjectKind,
    /// The customs office the declaration names (the "branch" of the contract).
    pub branch: UnitCode,
    pub team: Option<UnitCode>,
    pub stage: Option<Stage>,
    pub officer_id: Option<OfficerId>,
    pub officer_name: Option<DisplayName>,
    /// The office's or team's Vietnamese name from the directory, when it was known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_name_en: Option<String>,
    /// The statistics units this subject's ratings count towards, fixed from the
    /// directory in force when the form was issued: its own unit and, for an
    /// office or a stage, the same above it up to the authority. Empty on forms
    /// of the first version, which are placed in today's tree instead.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub counts_toward: Vec<String>,
}

impl Subject {
    /// The statistics unit of this subject itself. Stages are counted per office:
    /// "document check at 03CC" is what an office head can act on.
    pub fn unit(&self) -> String {
        match self.kind {
            SubjectKind::Branch => units::unit(self.branch.as_str()),
            SubjectKind::Team => units::unit(
                self.team
                    .as_ref()
                    .map(UnitCode::as_str)
                    .unwrap_or(self.branch.as_str()),
            ),
            SubjectKind::Stage => match self.stage {
                Some(stage) => units::stage(self.branch.as_str(), stage),
                None => units::unit(self.branch.as_str()),
            },
            SubjectKind::Officer => match &self.officer_id {
                Some(id) => units::officer(id.as_str()),
                None => units::unit(self.branch.as_str()),
            },
        }
    }

    /// Every statistics unit a rating of this subject counts towards.
    pub fn stats_units(&self, org: Option<&OrgDirectory>) -> Vec<String> {
        if !self.counts_toward.is_empty() {
            return self.counts_toward.clone();
        }
        let Some(org) = org else {
            return vec![self.unit()];
        };
        let office = self.branch.as_str();
        let above_office = || org.ancestors(office).into_iter().map(|u| u.code.as_str());
        match self.kind {
            SubjectKind::Branch => std::iter::once(office)
                .chain(above_office())
                .map(units::unit)
                .collect(),
            SubjectKind::Stage => match self.stage {
                Some(stage) => std::iter::once(office)
                    .chain(above_office())
                    .map(|u| units::stage(u, stage))
                    .collect(),
                None => vec![self.unit()],
            },
            // A team counts for itself and any level between it and its office
            // (a division); the office and above have their own rating.
            SubjectKind::Team => {
                let Some(team) = self.team.as_ref().map(UnitCode::as_str) else {
                    return vec![self.unit()];
                };
                let mut out = vec![units::unit(team)];
                for u in org.ancestors(team) {
                    if org.is_within(office, &u.code) {
                        break;
                    }
                    out.push(units::unit(&u.code));
                }
                out
            }
            SubjectKind::Officer => vec![self.unit()],
        }
    }

    fn unit_label(&self, lang: Language) -> Option<&str> {
        match (lang, &self.unit_name_en, &self.unit_name) {
            (Language::En, Some(en), _) => Some(en),
            (_, _, Some(vi)) => Some(vi),
            _ => None,
        }
    }

    pub fn label(&self, lang: Language) -> String {
        match self.kind {
            SubjectKind::Branch => match (self.unit_label(lang), lang) {
                (Some(name), _) => name.to_owned(),
                (None, Language::Vi) => format!("Hải quan {}", self.branch),
                (None, Language::En) => format!("Customs office {}", self.branch),
            },
            SubjectKind::Team => {
                let team = self.team.as_ref().map(UnitCode::as_str).unwrap_or("");
                match (self.unit_label(lang), lang) {
                    (Some(name), _) => name.to_owned(),
                    (None, Language::Vi) => format!("Đội công tác {team}"),
                    (None, Language::En) => format!("Team {team}"),
                }
            }
            SubjectKind::Stage => self.stage.map(|s| s.label(lang)).unwrap_or("").to_string(),
            SubjectKind::Officer => {
                let name = self
                    .officer_name
                    .as_ref()
                    .map(DisplayName::as_str)
                    .unwrap_or("");
                let stage = self.stage.map(|s| s.label(lang)).unwrap_or("");
                match lang {
                    Language::Vi => format!("Công chức {name} ({stage})"),
                    Language::En => format!("Officer {name} ({stage})"),
                }
            }
        }
    }
}

/// Names of statistics units, shared by aggregation, the stats API and scoping.
pub mod units {
    use super::Stage;

    /// Any unit of the tree, at any level: `unit:03CC`.
    pub fn unit(code: &str) -> String {
        format!("unit:{code}")
    }
    /// A stage within a unit: `stage:03CC:clearance`.
    pub fn stage(unit: &str, stage: Stage) -> String {
        format!("stage:{unit}:{}", stage.code())
    }
    pub fn officer(id: &str) -> String {
        format!("officer:{id}")
    }
    /// The org unit a statistics key belongs to (officers: none by the key alone).
    pub fn owner(key: &str) -> Option<&str> {
        if let Some(code) = key.strip_prefix("unit:") {
            return Some(code);
        }
        key.strip_prefix("stage:")?.split(':').next()
    }
}

/// Derives the subjects from the handling records, in the order a business thinks
/// of them: the branch, its teams, the stages, then each officer at a stage.
pub fn derive_subjects(declaration: &Declaration, handling: &[Handling]) -> Vec<Subject> {
    let branch = declaration.customs_office.clone();
    let mut subjects = vec![Subject {
        key: format!("branch:{branch}"),
        kind: SubjectKind::Branch,
        branch: branch.clone(),
        team: None,
        stage: None,
        officer_id: None,
        officer_name: None,
        unit_name: None,
        unit_name_en: None,
        counts_toward: vec![],
    }];
    let mut push_unique = |s: Subject| {
        if !subjects.iter().any(|x| x.key == s.key) {
            subjects.push(s);
        }
    };
    for h in handling {
        push_unique(Subject {
            key: format!("team:{}", h.team),
            kind: SubjectKind::Team,
            branch: branch.clone(),
            team: Some(h.team.clone()),
            stage: None,
            officer_id: None,
            officer_name: None,
            unit_name: None,
            unit_name_en: None,
            counts_toward: vec![],
        });
    }
    for h in handling {
        push_unique(Subject {
            key: format!("stage:{}", h.stage.code()),
            kind: SubjectKind::Stage,
            branch: branch.clone(),
            team: Some(h.team.clone()),
            stage: Some(h.stage),
            officer_id: None,
            officer_name: None,
            unit_name: None,
            unit_name_en: None,
            counts_toward: vec![],
        });
    }
    for h in handling {
        if let Some(officer) = &h.officer {
            push_unique(Subject {
                key: format!("officer:{}:{}", h.stage.code(), officer.id),
                kind: SubjectKind::Officer,
                branch: branch.clone(),
                team: Some(h.team.clone()),
                stage: Some(h.stage),
                officer_id: Some(officer.id.clone()),
                officer_name: Some(officer.name.clone()),
                unit_name: None,
                unit_name_en: None,
                counts_toward: vec![],
            });
        }
    }
    subjects
}

impl SubjectKind {
    /// The order a business reads subjects in.
    pub fn rank(self) -> u8 {
        match self {
            SubjectKind::Branch => 0,
            SubjectKind::Team => 1,
            SubjectKind::Stage => 2,
            SubjectKind::Officer => 3,
        }
    }
}

impl Subject {
    /// Names the subject's office or team and fixes the statistics units it
    /// counts towards, from the directory in force.
    pub fn place_in_org(&mut self, org: &OrgDirectory) {
        let named = match self.kind {
            SubjectKind::Branch => org.unit(self.branch.as_str()),
            SubjectKind::Team => self.team.as_ref().and_then(|t| org.unit(t.as_str())),
            _ => None,
        };
        self.unit_name = named.map(|u| u.name.clone());
        self.unit_name_en = named.and_then(|u| u.name_en.clone());
        self.counts_toward = vec![];
        self.counts_toward = self.stats_units(Some(org));
    }
}
