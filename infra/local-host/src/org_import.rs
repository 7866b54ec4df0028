//! The org directory as files: `csq org import FILE`, `csq org export FILE`,
//! `csq org show`.
//!
//! YAML has the shape of `OrgDirectory` (see `examples/org.yaml`). CSV has one
//! row per unit with a parent column (see `examples/org.csv`):
//! `code,name,name_en,kind,parent,head_name,head_email,successor,retired,role`,
//! where role marks the `inspection` unit and the `default` unit. Files in the
//! first version's department › branch › team shape still import, as that tree.

use std::path::Path;

use anyhow::{Context, bail};
use csq_core::domain::declaration::Language;
use csq_core::domain::org::legacy::{LegacyBranch, LegacyTeam};
use csq_core::domain::org::{Handler, LegacyOrg, OrgDirectory, StoredOrg, Unit};
use serde::{Deserialize, Serialize};

fn extension(path: &Path) -> String {
    path.extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase()
}

pub fn read_org_file(path: &Path) -> anyhow::Result<OrgDirectory> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let org = match extension(path).as_str() {
        "yaml" | "yml" => serde_norway::from_str::<StoredOrg>(&text)
            .with_context(|| format!("{} is not a valid org YAML", path.display()))?
            .into_tree(),
        "csv" => parse_csv(&text)?,
        _ => bail!("{}: use a .yaml, .yml or .csv file", path.display()),
    };
    check(org)
}

/// Runs the directory's own checks and turns the problems into one message.
pub fn check(org: OrgDirectory) -> anyhow::Result<OrgDirectory> {
    match org.validate() {
        Ok(()) => Ok(org),
        Err(errors) => bail!("{}", describe_problems(&errors)),
    }
}

pub fn describe_problems(errors: &[csq_core::domain::fields::FieldError]) -> String {
    let lines: Vec<String> = errors
        .iter()
        .map(|e| format!("  {}: {}", e.field, e.message))
        .collect();
    format!(
        "the org directory has {} problem(s):\n{}",
        errors.len(),
        lines.join("\n")
    )
}

/// One CSV row: one unit.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Row {
    code: String,
    name: String,
    #[serde(default)]
    name_en: String,
    kind: String,
    #[serde(default)]
    parent: String,
    #[serde(default)]
    head_name: String,
    #[serde(default)]
    head_email: String,
    #[serde(default)]
    successor: String,
    #[serde(default)]
    retired: String,
    #[serde(default)]
    role: String,
}

fn some(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

pub fn parse_csv(text: &str) -> anyhow::Result<OrgDirectory> {
    let header = text.lines().next().unwrap_or_default();
    if header.contains("handler_email") {
        return Ok(parse_first_version_csv(text)?.into_tree());
    }
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let (mut inspection, mut default) = (None, None);
    let mut units = Vec::new();
    for (i, row) in reader.deserialize::<Row>().enumerate() {
        let line = i + 2;
        let row = row.with_context(|| format!("line {line}"))?;
        match row.role.as_str() {
            "" => {}
            "inspection" => inspection = Some(row.code.clone()),
            "default" => default = Some(row.code.clone()),
            other => bail!("line {line}: role {other:?} must be empty, inspection or default"),
        }
        let retired = match row.retired.to_ascii_lowercase().as_str() {
            "" | "no" | "false" => false,
            "yes" | "true" => true,
            other => bail!("line {line}: retired {other:?} must be yes or no"),
        };
        let head = match (row.head_name.is_empty(), row.head_email.is_empty()) {
            (true, true) => None,
            _ => Some(Handler {
                name: row.head_name,
                email: row.head_email,
            }),
        };
        units.push(Unit {
            code: row.code,
            name: row.name,
            name_en: some(row.name_en),
            kind: row.kind,
            parent: some(row.parent),
            head,
            handlers: vec![],
            officers: vec![],
            successor: some(row.successor),
            retired,
        });
    }
    Ok(OrgDirectory::new(
        &inspection.context("no row has role inspection")?,
        &default.context("no row has role default")?,
        units,
    ))
}

/// Writes the directory as CSV, one row per unit, parents before children.
pub fn to_csv(org: &OrgDirectory) -> anyhow::Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for u in &org.units {
        let role = if u.code == org.inspection_unit {
            "inspection"
        } else if u.code == org.default_unit {
            "default"
        } else {
            ""
        };
        w.serialize(Row {
            code: u.code.clone(),
            name: u.name.clone(),
            name_en: u.name_en.clone().unwrap_or_default(),
            kind: u.kind.clone(),
            parent: u.parent.clone().unwrap_or_default(),
            head_name: u.head.as_ref().map(|h| h.name.clone()).unwrap_or_default(),
            head_email: u.head.as_ref().map(|h| h.email.clone()).unwrap_or_default(),
            successor: u.successor.clone().unwrap_or_default(),
            retired: if u.retired {
                "yes".into()
            } else {
                String::new()
            },
            role: role.into(),
        })?;
    }
    Ok(String::from_utf8(w.into_inner()?)?)
}

/// Writes the directory in the format the file's extension names.
pub fn write_org_file(path: &Path, org: &OrgDirectory) -> anyhow::Result<()> {
    let text = match extension(path).as_str() {
        "yaml" | "yml" => serde_norway::to_string(org)?,
        "csv" => to_csv(org)?,
        "json" => serde_json::to_string_pretty(org)?,
        _ => bail!("{}: use a .yaml, .yml, .csv or .json file", path.display()),
    };
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// The tree as indented lines: what `csq org show` prints.
pub fn render_tree(org: &OrgDirectory, version: u32) -> String {
    let mut out = format!(
        "org directory version {version}: {} units ({} active); misconduct → {}, unknown units → {}\n",
        org.units.len(),
        org.active_units(),
        org.inspection_unit,
        org.default_unit
    );
    fn walk(org: &OrgDirectory, unit: &Unit, depth: usize, out: &mut String) {
        let mut line = format!(
            "{}{} {} [{}]",
            "  ".repeat(depth),
            unit.code,
            unit.name_in(Language::Vi),
            unit.kind
        );
        if let Some(en) = &unit.name_en {
            line.push_str(&format!(" / {en}"));
        }
        if let Some(h) = &unit.head {
            line.push_str(&format!(" — head {} <{}>", h.name, h.email));
        }
        if let Some(s) = &unit.successor {
            line.push_str(&format!(" (merged into {s})"));
        } else if unit.retired {
            line.push_str(" (retired)");
        }
        out.push_str(&line);
        out.push('\n');
        if depth < csq_core::domain::org::MAX_DEPTH {
            for child in org.children(&unit.code) {
                walk(org, child, depth + 1, out);
            }
        }
    }
    if let Some(root) = org.root() {
        walk(org, root, 0, &mut out);
    }
    out
}

#[derive(Debug, Deserialize)]
struct FirstVersionRow {
    kind: String,
    code: String,
    name: String,
    #[serde(default)]
    parent: String,
    #[serde(default)]
    handler_name: String,
    #[serde(default)]
    handler_email: String,
}

/// The first version's CSV: `kind,code,name,parent,handler_name,handler_email`.
fn parse_first_version_csv(text: &str) -> anyhow::Result<LegacyOrg> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let (mut department, mut inspection, mut default_handler) = (None, None, None);
    let mut branches: Vec<LegacyBranch> = Vec::new();
    let mut teams: Vec<(usize, String, LegacyTeam)> = Vec::new();
    for (i, row) in reader.deserialize::<FirstVersionRow>().enumerate() {
        let line = i + 2;
        let row = row.with_context(|| format!("line {line}"))?;
        let handler = || Handler {
            name: if row.handler_name.is_empty() {
                row.name.clone()
            } else {
                row.handler_name.clone()
            },
            email: row.handler_email.clone(),
        };
        match row.kind.as_str() {
            "department" => department = Some(row.name.clone()),
            "inspection" => inspection = Some(handler()),
            "default_handler" => default_handler = Some(handler()),
            "branch" => branches.push(LegacyBranch {
                code: row.code.clone(),
                name: row.name.clone(),
                head: Handler {
                    name: row.handler_name.clone(),
                    email: row.handler_email.clone(),
                },
                teams: vec![],
            }),
            "team" => teams.push((
                line,
                row.parent.clone(),
                LegacyTeam {
                    code: row.code.clone(),
                    name: row.name.clone(),
                },
            )),
            other => bail!(
                "line {line}: kind {other:?} must be department, inspection, default_handler, branch or team"
            ),
        }
    }
    for (line, parent, team) in teams {
        let branch = branches
            .iter_mut()
            .find(|b| b.code == parent)
            .with_context(|| {
                format!(
                    "line {line}: team {} names branch {parent:?}, which is not listed",
                    team.code
                )
            })?;
        branch.teams.push(team);
    }
    Ok(LegacyOrg {
        department: department.context("no department row")?,
        inspection: inspection.context("no inspection row")?,
        default_handler: default_handler.context("no default_handler row")?,
        branches,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSV: &str = "code,name,name_en,kind,parent,head_name,head_email,successor,retired,role
CUC,Cục Hải quan Demo,Demo Customs,department,,Cục trưởng,cuc@demo.invalid,,,
TT,Phòng Thanh tra,,inspection,CUC,Trưởng phòng Thanh tra,thanhtra@demo.invalid,,,inspection
VP,Văn phòng Cục,,office,CUC,Chánh Văn phòng,vanphong@demo.invalid,,,default
R1,Chi cục Khu vực I,,region,CUC,,,,,
91AA,Hải quan Cảng Demo,Demo Port Office,office,R1,Đội trưởng A,aa@demo.invalid,,,
91AA01,Đội Thủ tục,,team,91AA,,,,,
91AB,Hải quan cũ,,office,R1,,,91AA,yes,
";

    #[test]
    fn csv_builds_the_tree_and_round_trips() {
        let org = check(parse_csv(CSV).unwrap()).unwrap();
        assert_eq!(org.inspection_unit, "TT");
        assert_eq!(org.unit("91AA01").unwrap().parent.as_deref(), Some("91AA"));
        assert_eq!(org.unit("91AB").unwrap().successor.as_deref(), Some("91AA"));
        let again = check(parse_csv(&to_csv(&org).unwrap()).unwrap()).unwrap();
        assert_eq!(again, org);
        let tree = render_tree(&org, 3);
        assert!(
            tree.contains("\n    91AA Hải quan Cảng Demo [office] / Demo Port Office"),
            "{tree}"
        );
        assert!(tree.contains("(merged into 91AA)"), "{tree}");
    }

    #[test]
    fn shipped_examples_import_and_agree() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
        let yaml = read_org_file(&dir.join("org.yaml")).unwrap();
        let csv = read_org_file(&dir.join("org.csv")).unwrap();
        assert_eq!(yaml, csv);
        assert_eq!(yaml.units.len(), 10);
        assert_eq!(yaml.current_unit("03DD").unwrap().code, "03CC");
        assert!(read_org_file(&dir.join("missing.yaml")).is_err());
        let out = tempfile::tempdir().unwrap();
        for name in ["o.yaml", "o.csv"] {
            write_org_file(&out.path().join(name), &yaml).unwrap();
            assert_eq!(read_org_file(&out.path().join(name)).unwrap(), yaml);
        }
    }

    #[test]
    fn first_version_files_still_import() {
        let csv = "kind,code,name,parent,handler_name,handler_email
department,,Cục Hải quan Demo,,,
inspection,TT,Phòng Thanh tra,,Trưởng phòng Thanh tra,thanhtra@demo.invalid
default_handler,VP,Văn phòng Cục,,Chánh Văn phòng,vanphong@demo.invalid
branch,91AA,Chi cục Cảng Demo,,Chi cục trưởng A,cc91aa@demo.invalid
team,91AA01,Đội Thủ tục,91AA,,
";
        let org = check(parse_csv(csv).unwrap()).unwrap();
        let path: Vec<&str> = org.path("91AA01").iter().map(|u| u.code.as_str()).collect();
        assert_eq!(path, ["CUC", "91AA", "91AA01"]);
        let bad = format!("{csv}team,91ZZ01,Đội lạc,91ZZ,,\n");
        assert!(parse_csv(&bad).unwrap_err().to_string().contains("line 7"));
    }

    #[test]
    fn problems_name_the_field() {
        let bad = CSV
            .replace("aa@demo.invalid", "not-an-email")
            .replace(",R1,Đội", ",R9,Đội");
        let err = check(parse_csv(&bad).unwrap()).unwrap_err().to_string();
        assert!(err.contains("units[4].head.email"), "{err}");
        let cycle = CSV.replace(
            "R1,Chi cục Khu vực I,,region,CUC",
            "R1,Chi cục Khu vực I,,region,91AA01",
        );
        let err = check(parse_csv(&cycle).unwrap()).unwrap_err().to_string();
        assert!(err.contains("cycle"), "{err}");
    }
}
