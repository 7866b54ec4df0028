//! The case rules file the department keeps (YAML or JSON), e.g.
//! `infra/case-rules/vn-2026.yaml`: read with every problem named.

use std::path::Path;

use anyhow::Context;
use csq_core::domain::case::rules::CaseRules;

/// The demo's rules: this year's Vietnamese public holidays, Tết included.
pub const DEMO: &str = include_str!("../../case-rules/vn-2026.yaml");

pub fn parse(text: &str, json: bool) -> anyhow::Result<CaseRules> {
    let rules: CaseRules = if json {
        serde_json::from_str(text)?
    } else {
        serde_norway::from_str(text)?
    };
    Ok(rules)
}

pub fn read(file: &Path) -> anyhow::Result<CaseRules> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let json = file.extension().is_some_and(|e| e == "json");
    parse(&text, json).with_context(|| format!("{} is not a case rules file", file.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_rules_are_valid_and_hold_tet() {
        let rules = parse(DEMO, false).unwrap();
        rules.validate().unwrap();
        let cal = rules.calendar();
        let d = |s: &str| s.parse::<chrono::NaiveDate>().unwrap();
        assert!(!cal.is_working_day(d("2026-02-17")), "Mùng 1 Tết");
        // Friday 13 February + 1 working day: Monday 23rd, after Tết.
        assert_eq!(cal.add_working_days(d("2026-02-13"), 1), d("2026-02-23"));
        assert_eq!(rules.measures.len(), 5);
    }

    #[test]
    fn a_bad_file_says_what_is_wrong() {
        let e = parse("holidays: [{date: 2026-13-01, name: x}]", false).unwrap_err();
        assert!(e.to_string().contains("holidays"), "{e}");
    }
}
