//! The integration contract's request: a registered declaration, its business and
//! who handled it. `FormRequest::parse` turns untrusted JSON into these types and
//! reports every problem at once, each with the JSON path of its field.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::fields::{
    DeclarationNumber, DisplayName, EmailAddress, FieldError, OfficerId, TaxCode, TypeCode,
    UnitCode,
};

/// Inspection lane assigned by VNACCS risk management.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lane {
    Green,
    Yellow,
    Red,
}

impl Lane {
    pub const ALL: [Lane; 3] = [Lane::Green, Lane::Yellow, Lane::Red];

    pub fn code(self) -> &'static str {
        match self {
            Lane::Green => "green",
            Lane::Yellow => "yellow",
            Lane::Red => "red",
        }
    }

    pub fn label(self, lang: Language) -> &'static str {
        match (self, lang) {
            (Lane::Green, Language::Vi) => "Luồng xanh",
            (Lane::Yellow, Language::Vi) => "Luồng vàng",
            (Lane::Red, Language::Vi) => "Luồng đỏ",
            (Lane::Green, Language::En) => "Green lane",
            (Lane::Yellow, Language::En) => "Yellow lane",
            (Lane::Red, Language::En) => "Red lane",
        }
    }
}

/// A step of the customs procedure (khâu nghiệp vụ).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Registration,
    DocumentCheck,
    PhysicalInspection,
    Valuation,
    TaxCollection,
    Clearance,
    Supervision,
}

impl Stage {
    pub const ALL: [Stage; 7] = [
        Stage::Registration,
        Stage::DocumentCheck,
        Stage::PhysicalInspection,
        Stage::Valuation,
        Stage::TaxCollection,
        Stage::Clearance,
        Stage::Supervision,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Stage::Registration => "registration",
            Stage::DocumentCheck => "document_check",
            Stage::PhysicalInspection => "physical_inspection",
            Stage::Valuation => "valuation",
            Stage::TaxCollection => "tax_collection",
            Stage::Clearance => "clearance",
            Stage::Supervision => "supervision",
        }
    }

    pub fn from_code(code: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|s| s.code() == code)
    }

    pub fn label(self, lang: Language) -> &'static str {
        match lang {
            Language::Vi => match self {
                Stage::Registration => "Tiếp nhận, đăng ký tờ khai",
                Stage::DocumentCheck => "Kiểm tra hồ sơ",
                Stage::PhysicalInspection => "Kiểm tra thực tế hàng hóa",
                Stage::Valuation => "Kiểm tra trị giá",
                Stage::TaxCollection => "Thu thuế",
                Stage::Clearance => "Thông quan, giải phóng hàng",
                Stage::Supervision => "Giám sát hải quan",
            },
            Language::En => match self {
                Stage::Registration => "Registration",
                Stage::DocumentCheck => "Document check",
                Stage::PhysicalInspection => "Physical inspection",
                Stage::Valuation => "Valuation",
                Stage::TaxCollection => "Tax collection",
                Stage::Clearance => "Clearance and release",
                Stage::Supervision => "Customs supervision",
            },
        }
    }
}

/// Language of the business's emails and pages; Vietnamese unless it asked otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    #[default]
    Vi,
    En,
}

impl Language {
    pub fn code(self) -> &'static str {
        match self {
            Language::Vi => "vi",
            Language::En => "en",
        }
    }

    pub fn from_code(code: &str) -> Option<Language> {
        match code {
            "vi" => Some(Language::Vi),
            "en" => Some(Language::En),
            _ => None,
        }
    }

    pub fn other(self) -> Language {
        match self {
            Language::Vi => Language::En,
            Language::En => Language::Vi,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Declaration {
    pub number: DeclarationNumber,
    pub type_code: TypeCode,
    pub registered_at: DateTime<Utc>,
    /// The branch (Chi cục) that handles the declaration.
    pub customs_office: UnitCode,
    pub lane: Lane,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Business {
    pub tax_code: TaxCode,
    pub name: DisplayName,
    pub email: EmailAddress,
    #[serde(default)]
    pub language: Language,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Officer {
    pub id: OfficerId,
    pub name: DisplayName,
}

/// One handling record: who did which stage, in which team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handling {
    pub stage: Stage,
    pub team: UnitCode,
    /// Absent for stages done by the system alone (green lane release, for example).
    pub officer: Option<Officer>,
}

/// A validated request to issue a rating form for one declaration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FormRequest {
    pub declaration: Declaration,
    pub business: Business,
    pub handling: Vec<Handling>,
    /// Service times sent with the form (`domain::times`): kept apart from it.
    #[serde(skip)]
    pub times: crate::domain::times::ReportedTimes,
}

/// The most handling records one declaration may carry; a real one has a handful.
/// The bound keeps one submission (form + a rating per subject + complaint) inside
/// DynamoDB's 100-item transaction limit.
pub const MAX_HANDLING: usize = 30;

/// Walks a JSON document and collects every problem instead of stopping at the first.
struct Reader {
    errors: Vec<FieldError>,
}

impl Reader {
    fn fail(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, message));
    }

    fn object<'v>(
        &mut self,
        v: Option<&'v Value>,
        field: &str,
    ) -> Option<&'v serde_json::Map<String, Value>> {
        match v {
            Some(Value::Object(map)) => Some(map),
            None | Some(Value::Null) => {
                self.fail(field, "is required");
                None
            }
            Some(_) => {
                self.fail(field, "must be an object");
                None
            }
        }
    }

    fn string<'v>(&mut self, v: Option<&'v Value>, field: &str) -> Option<&'v str> {
        match v {
            Some(Value::String(s)) => Some(s),
            None | Some(Value::Null) => {
                self.fail(field, "is required");
                None
            }
            Some(_) => {
                self.fail(field, "must be a string");
                None
            }
        }
    }

    fn parsed<T>(
        &mut self,
        v: Option<&Value>,
        field: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        let s = self.string(v, field)?;
        match parse(s) {
            Ok(t) => Some(t),
            Err(msg) => {
                self.fail(field, msg);
                None
            }
        }
    }

    /// A `handling` array: one record per stage done (and by whom).
    fn handling_list(&mut self, v: Option<&Value>) -> Option<Vec<Handling>> {
        let r = self;
        match v {
            Some(Value::Array(items)) if items.is_empty() => {
                r.fail("handling", "must list at least one handling record");
                None
            }
            Some(Value::Array(items)) if items.len() > MAX_HANDLING => {
                r.fail(
                    "handling",
                    format!("must list at most {MAX_HANDLING} handling records"),
                );
                None
            }
            Some(Value::Array(items)) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    let path = format!("handling[{i}]");
                    let Some(h) = r.object(Some(item), &path) else {
                        continue;
                    };
                    let stage = r.parsed(h.get("stage"), &format!("{path}.stage"), |s| {
                        Stage::from_code(s).ok_or_else(|| {
                            "must be one of registration, document_check, physical_inspection, valuation, tax_collection, clearance, supervision".to_string()
                        })
                    });
                    let team = r.parsed(h.get("team"), &format!("{path}.team"), UnitCode::parse);
                    let officer = match h.get("officer") {
                        None | Some(Value::Null) => Some(None),
                        v => r.object(v, &format!("{path}.officer")).and_then(|o| {
                            let id = r.parsed(
                                o.get("id"),
                                &format!("{path}.officer.id"),
                                OfficerId::parse,
                            );
                            let name = r.parsed(
                                o.get("name"),
                                &format!("{path}.officer.name"),
                                DisplayName::parse,
                            );
                            Some(Some(Officer {
                                id: id?,
                                name: name?,
                            }))
                        }),
                    };
                    if let (Some(stage), Some(team), Some(officer)) = (stage, team, officer) {
                        out.push(Handling {
                            stage,
                            team,
                            officer,
                        });
                    }
                }
                Some(out)
            }
            None | Some(Value::Null) => {
                r.fail("handling", "is required");
                None
            }
            Some(_) => {
                r.fail("handling", "must be an array");
                None
            }
        }
    }
}

/// Handling records of stages done after the form was issued
/// (`POST /v1/forms/{declaration_number}/handling`).
pub fn parse_later_handling(body: &Value) -> Result<Vec<Handling>, Vec<FieldError>> {
    let mut r = Reader { errors: Vec::new() };
    let Some(root) = r.object(Some(body), "$") else {
        return Err(r.errors);
    };
    match r.handling_list(root.get("handling")) {
        Some(h) if r.errors.is_empty() => Ok(h),
        _ => Err(r.errors),
    }
}

impl Handling {
    /// What makes a handling record the same one again: its stage and who did
    /// it (the team when the system did it alone). Adding later stages is
    /// idempotent by this key.
    pub fn key(&self) -> String {
        match &self.officer {
            Some(o) => format!("{}:officer:{}", self.stage.code(), o.id),
            None => format!("{}:team:{}", self.stage.code(), self.team),
        }
    }
}

impl FormRequest {
    /// Parses the body of `POST /v1/forms`.
    pub fn parse(body: &Value) -> Result<FormRequest, Vec<FieldError>> {
        let mut r = Reader { errors: Vec::new() };
        let Some(root) = r.object(Some(body), "$") else {
            return Err(r.errors);
        };

        let declaration = r.object(root.get("declaration"), "declaration").map(|d| {
            let number = r.parsed(
                d.get("number"),
                "declaration.number",
                DeclarationNumber::parse,
            );
            let type_code = r.parsed(d.get("type_code"), "declaration.type_code", TypeCode::parse);
            let registered_at =
                r.parsed(d.get("registered_at"), "declaration.registered_at", |s| {
                    DateTime::parse_from_rfc3339(s)
                        .map(|t| t.with_timezone(&Utc))
                        .map_err(|_| {
                            "must be a date-time with offset, such as 2026-11-27T09:30:00+07:00"
                                .to_string()
                        })
                });
            let office = r.parsed(
                d.get("customs_office"),
                "declaration.customs_office",
                UnitCode::parse,
            );
            let lane = r.parsed(d.get("lane"), "declaration.lane", |s| {
                Lane::ALL
                    .into_iter()
                    .find(|l| l.code() == s)
                    .ok_or_else(|| "must be one of green, yellow, red".to_string())
            });
            (number, type_code, registered_at, office, lane)
        });

        let business = r.object(root.get("business"), "business").map(|b| {
            let tax_code = r.parsed(b.get("tax_code"), "business.tax_code", TaxCode::parse);
            let name = r.parsed(b.get("name"), "business.name", DisplayName::parse);
            let email = r.parsed(b.get("email"), "business.email", EmailAddress::parse);
            let language = match b.get("language") {
                None | Some(Value::Null) => Some(Language::Vi),
                v => r.parsed(v, "business.language", |s| {
                    Language::from_code(s).ok_or_else(|| "must be vi or en".to_string())
                }),
            };
            (tax_code, name, email, language)
        });

        let handling = r.handling_list(root.get("handling"));
        let times = crate::domain::times::ReportedTimes::parse(body)
            .map_err(|e| r.errors.extend(e))
            .ok();

        if !r.errors.is_empty() {
            return Err(r.errors);
        }
        // No errors means every part above parsed; unwrap through `?`-free matching.
        match (declaration, business, handling) {
            (
                Some((
                    Some(number),
                    Some(type_code),
                    Some(registered_at),
                    Some(customs_office),
                    Some(lane),
                )),
                Some((Some(tax_code), Some(name), Some(email), Some(language))),
                Some(handling),
            ) => Ok(FormRequest {
                declaration: Declaration {
                    number,
                    type_code,
                    registered_at,
                    customs_office,
                    lane,
                },
                business: Business {
                    tax_code,
                    name,
                    email,
                    language,
                },
                handling,
                times: times.unwrap_or_default(),
            }),
            _ => Err(vec![FieldError::new("$", "could not be read")]),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    pub fn sample_request() -> Value {
        json!({
            "declaration": {
                "number": "105234567890",
                "type_code": "A11",
                "registered_at": "2026-11-27T09:30:00+07:00",
                "customs_office": "03CC",
                "lane": "yellow"
            },
            "business": {
                "tax_code": "0200123456",
                "name": "Công ty TNHH Thương mại ABC",
                "email": "xnk@abc.com.vn",
                "language": "vi"
            },
            "handling": [
                {"stage": "document_check", "team": "03CC01",
                 "officer": {"id": "HP1234", "name": "Nguyễn Văn An"}},
                {"stage": "clearance", "team": "03CC02",
                 "officer": {"id": "HP5678", "name": "Trần Thị Bình"}}
            ]
        })
    }

    fn error_fields(v: &Value) -> Vec<String> {
        FormRequest::parse(v)
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    #[test]
    fn parses_the_contract_example() {
        let req = FormRequest::parse(&sample_request()).unwrap();
        assert_eq!(req.declaration.number.as_str(), "105234567890");
        assert_eq!(
            req.declaration.registered_at.to_rfc3339(),
            "2026-11-27T02:30:00+00:00"
        );
        assert_eq!(req.declaration.lane, Lane::Yellow);
        assert_eq!(req.business.language, Language::Vi);
        assert_eq!(req.handling.len(), 2);
        assert_eq!(req.handling[1].stage, Stage::Clearance);
        assert_eq!(
            req.handling[0].officer.as_ref().unwrap().id.as_str(),
            "HP1234"
        );
    }

    #[test]
    fn language_defaults_to_vietnamese_and_officer_is_optional() {
        let mut v = sample_request();
        v["business"].as_object_mut().unwrap().remove("language");
        v["handling"][0].as_object_mut().unwrap().remove("officer");
        let req = FormRequest::parse(&v).unwrap();
        assert_eq!(req.business.language, Language::Vi);
        assert!(req.handling[0].officer.is_none());
    }

    #[test]
    fn each_field_wrong_in_turn_is_named() {
        let cases: &[(&str, Value, &str)] = &[
            ("/declaration/number", json!("12345"), "declaration.number"),
            (
                "/declaration/number",
                json!(105234567890u64),
                "declaration.number",
            ),
            (
                "/declaration/type_code",
                json!("a11"),
                "declaration.type_code",
            ),
            (
                "/declaration/registered_at",
                json!("2026-11-27 09:30"),
                "declaration.registered_at",
            ),
            (
                "/declaration/customs_office",
                json!("03 CC"),
                "declaration.customs_office",
            ),
            ("/declaration/lane", json!("blue"), "declaration.lane"),
            ("/business/tax_code", json!("02001"), "business.tax_code"),
            ("/business/name", json!(""), "business.name"),
            (
                "/business/name",
                json!("ABC\r\nBcc: a@b.c"),
                "business.name",
            ),
            ("/business/email", json!("not-an-email"), "business.email"),
            ("/business/language", json!("fr"), "business.language"),
            ("/handling", json!([]), "handling"),
            ("/handling", json!("x"), "handling"),
            ("/handling/0/stage", json!("lunch"), "handling[0].stage"),
            ("/handling/1/team", json!(""), "handling[1].team"),
            (
                "/handling/0/officer/id",
                json!("H P"),
                "handling[0].officer.id",
            ),
            (
                "/handling/1/officer/name",
                json!(7),
                "handling[1].officer.name",
            ),
        ];
        for (pointer, bad, field) in cases {
            let mut v = sample_request();
            *v.pointer_mut(pointer).unwrap() = bad.clone();
            assert_eq!(
                error_fields(&v),
                vec![field.to_string()],
                "{pointer} = {bad}"
            );
        }
    }

    #[test]
    fn missing_fields_are_all_reported_at_once() {
        let fields = error_fields(&json!({"declaration": {}, "business": {"name": "X"}}));
        for f in [
            "declaration.number",
            "declaration.type_code",
            "declaration.registered_at",
            "declaration.customs_office",
            "declaration.lane",
            "business.tax_code",
            "business.email",
            "handling",
        ] {
            assert!(
                fields.contains(&f.to_string()),
                "{f} missing from {fields:?}"
            );
        }
        assert!(!fields.contains(&"business.name".to_string()));
        assert_eq!(error_fields(&json!([1, 2])), vec!["$".to_string()]);
    }

    #[test]
    fn too_many_handling_records() {
        let mut v = sample_request();
        let one = v["handling"][0].clone();
        v["handling"] = Value::Array(vec![one; MAX_HANDLING + 1]);
        assert_eq!(error_fields(&v), vec!["handling".to_string()]);
    }
}
