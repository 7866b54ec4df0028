//! `csq org import FILE`: reads an org directory from YAML or CSV.
//!
//! YAML has the shape of `OrgDirectory` (see `examples/org.yaml`). CSV has one
//! row per unit: `kind,code,name,parent,handler_name,handler_email`, where kind is
//! department, inspection, default_handler, branch or team, and a team's parent
//! is its branch code.

use std::path::Path;

use anyhow::{Context, bail};
use csq_core::domain::org::{Branch, Handler, OrgDirectory, Team};
use serde::Deserialize;

pub fn read_org_file(path: &Path) -> anyhow::Result<OrgDirectory> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let org = match ext.as_str() {
        "yaml" | "yml" => serde_norway::from_str(&text)
            .with_context(|| format!("{} is not a valid org YAML", path.display()))?,
        "csv" => parse_csv(&text)?,
        _ => bail!("{}: use a .yaml, .yml or .csv file", path.display()),
    };
    check(org)
}

/// Runs the directory's own checks and turns the problems into one message.
pub fn check(org: OrgDirectory) -> anyhow::Result<OrgDirectory> {
    match org.validate() {
        Ok(()) => Ok(org),
        Err(errors) => {
            let lines: Vec<String> = errors
                .iter()
                .map(|e| format!("  {}: {}", e.field, e.message))
                .collect();
            bail!(
                "the org directory has {} problem(s):\n{}",
                errors.len(),
                lines.join("\n")
            )
        }
    }
}

#[derive(Debug, Deserialize)]
struct Row {
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

pub fn parse_csv(text: &str) -> anyhow::Result<OrgDirectory> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut department = None;
    let mut inspection = None;
    let mut default_handler = None;
    let mut branches: Vec<Branch> = Vec::new();
    let mut teams: Vec<(usize, String, Team)> = Vec::new();
    for (i, row) in reader.deserialize::<Row>().enumerate() {
        let line = i + 2;
        let row = row.with_context(|| format!("line {line}"))?;
        let handler = Handler {
            name: row.handler_name.clone(),
            email: row.handler_email.clone(),
        };
        match row.kind.as_str() {
            "department" => department = Some(row.name),
            "inspection" => {
                inspection = Some(Handler {
                    name: if row.handler_name.is_empty() {
                        row.name
                    } else {
                        row.handler_name
                    },
                    ..handler
                })
            }
            "default_handler" => {
                default_handler = Some(Handler {
                    name: if row.handler_name.is_empty() {
                        row.name
                    } else {
                        row.handler_name
                    },
                    ..handler
                })
            }
            "branch" => branches.push(Branch {
                code: row.code,
                name: row.name,
                head: handler,
                teams: vec![],
            }),
            "team" => teams.push((
                line,
                row.parent,
                Team {
                    code: row.code,
                    name: row.name,
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
    Ok(OrgDirectory {
        department: department.context("no department row")?,
        inspection: inspection.context("no inspection row")?,
        default_handler: default_handler.context("no default_handler row")?,
        branches,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSV: &str = "kind,code,name,parent,handler_name,handler_email
department,,Cục Hải quan Demo,,,
inspection,TT,Phòng Thanh tra,,Trưởng phòng Thanh tra,thanhtra@demo.invalid
default_handler,VP,Văn phòng Cục,,Chánh Văn phòng,vanphong@demo.invalid
branch,91AA,Chi cục Cảng Demo,,Chi cục trưởng A,cc91aa@demo.invalid
team,91AA01,Đội Thủ tục,91AA,,
";

    #[test]
    fn csv_builds_the_directory() {
        let org = check(parse_csv(CSV).unwrap()).unwrap();
        assert_eq!(org.branches[0].teams[0].code, "91AA01");
        assert_eq!(org.inspection.email, "thanhtra@demo.invalid");
    }

    #[test]
    fn shipped_examples_import_and_agree() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
        let yaml = read_org_file(&dir.join("org.yaml")).unwrap();
        let csv = read_org_file(&dir.join("org.csv")).unwrap();
        assert_eq!(yaml.branches.len(), 2);
        assert_eq!(yaml.branches, csv.branches);
        assert_eq!(yaml.inspection.email, csv.inspection.email);
        assert!(read_org_file(&dir.join("missing.yaml")).is_err());
    }

    #[test]
    fn csv_errors_name_the_line() {
        let bad = format!("{CSV}team,91ZZ01,Đội lạc,91ZZ,,\n");
        let err = parse_csv(&bad).unwrap_err().to_string();
        assert!(err.contains("line 7"), "{err}");
        let bad = CSV.replace("cc91aa@demo.invalid", "not-an-email");
        let err = check(parse_csv(&bad).unwrap()).unwrap_err().to_string();
        assert!(err.contains("branches[0].head.email"), "{err}");
    }
}
