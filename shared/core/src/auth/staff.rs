//! Staff identity: who is calling the staff API and which units they may see.
//!
//! The claim model is the same on both hosts. The local host verifies HS256 JWTs
//! it minted itself (`csq staff-token`); on AWS the API's JWT authorizer verifies
//! the identity provider's token and the function reads the same claims.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{b64, hmac_sign, hmac_verify, unb64};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StaffRole {
    /// Department leadership and its office: sees everything.
    Department,
    /// Head of a unit at any level (region, office, team): that unit and
    /// everything below it. Tokens of the first version say `branch_head`.
    #[serde(alias = "branch_head")]
    UnitHead,
    /// The inspection unit: misconduct reports and cases in every unit.
    Inspection,
    /// A customs officer: their own figures and comments (`/v1/me`), nothing else.
    Officer,
}

impl StaffRole {
    pub fn code(self) -> &'static str {
        match self {
            StaffRole::Department => "department",
            StaffRole::UnitHead => "unit_head",
            StaffRole::Inspection => "inspection",
            StaffRole::Officer => "officer",
        }
    }

    pub fn from_code(s: &str) -> Option<StaffRole> {
        match s {
            "department" => Some(StaffRole::Department),
            "unit_head" | "branch_head" => Some(StaffRole::UnitHead),
            "inspection" => Some(StaffRole::Inspection),
            "officer" => Some(StaffRole::Officer),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffClaims {
    pub sub: String,
    pub role: StaffRole,
    /// The unit code of a unit head (the inspection unit's, or the root's, for
    /// those roles if given at all).
    pub unit: Option<String>,
    /// The officer id of an officer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub officer: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StaffAuthError {
    #[error("a bearer token is required")]
    Missing,
    #[error("the token is not valid")]
    Invalid,
    #[error("the token has expired")]
    Expired,
    #[error("the token's role is unknown, a unit head has no unit or an officer no officer id")]
    BadClaims,
    #[error("the token's unit {0} is not an active unit of the org directory")]
    UnknownUnit(String),
    #[error("the token's unit {unit} is not one the role {role} may hold")]
    UnitNotForRole { unit: String, role: &'static str },
    #[error("the token names no verified email address")]
    NoEmail,
    /// Signed in, but the directory in force names this person in no role.
    #[error("the org directory does not name you: ask the department to add you")]
    NotInDirectory,
    #[error("the org directory does not give you the role {0}")]
    RoleNotHeld(String),
}

impl StaffClaims {
    /// Reads the claims from a verified token payload. Identity providers put custom
    /// attributes under `custom:` (Cognito), so both spellings are read.
    pub fn from_payload(payload: &Value) -> Result<StaffClaims, StaffAuthError> {
        let get = |name: &str| {
            payload
                .get(name)
                .or_else(|| payload.get(format!("custom:{name}")))
                .and_then(Value::as_str)
        };
        let sub = get("sub").ok_or(StaffAuthError::BadClaims)?.to_owned();
        let role = get("role")
            .and_then(StaffRole::from_code)
            .ok_or(StaffAuthError::BadClaims)?;
        let unit = get("unit").filter(|u| !u.is_empty()).map(str::to_owned);
        let officer = get("officer").filter(|u| !u.is_empty()).map(str::to_owned);
        if (role == StaffRole::UnitHead && unit.is_none())
            || (role == StaffRole::Officer && officer.is_none())
        {
            return Err(StaffAuthError::BadClaims);
        }
        Ok(StaffClaims {
            sub,
            role,
            unit,
            officer,
        })
    }
}

/// HS256 JWTs for the local host.
#[derive(Clone)]
pub struct Hs256 {
    secret: Vec<u8>,
}

impl std::fmt::Debug for Hs256 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Hs256(..)")
    }
}

const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

impl Hs256 {
    pub fn new(secret: &[u8]) -> Hs256 {
        Hs256 {
            secret: secret.to_vec(),
        }
    }

    pub fn mint(&self, claims: &StaffClaims, expires_at: DateTime<Utc>) -> String {
        let mut payload = serde_json::to_value(claims).expect("claims serialize");
        payload["exp"] = expires_at.timestamp().into();
        payload["iat"] = Utc::now().timestamp().into();
        payload["iss"] = "csq-local".into();
        let signing_input = format!(
            "{}.{}",
            b64(HEADER.as_bytes()),
            b64(payload.to_string().as_bytes())
        );
        let sig = hmac_sign(&self.secret, signing_input.as_bytes());
        format!("{signing_input}.{}", b64(&sig))
    }

    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<StaffClaims, StaffAuthError> {
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(StaffAuthError::Invalid);
        };
        // Only HS256 is accepted: a token that names another algorithm ("none") is
        // rejected before its signature is even looked at.
        let header: Value = unb64(h)
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or(StaffAuthError::Invalid)?;
        if header.get("alg").and_then(Value::as_str) != Some("HS256") {
            return Err(StaffAuthError::Invalid);
        }
        let sig = unb64(s).ok_or(StaffAuthError::Invalid)?;
        if !hmac_verify(&self.secret, format!("{h}.{p}").as_bytes(), &sig) {
            return Err(StaffAuthError::Invalid);
        }
        let payload: Value = unb64(p)
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or(StaffAuthError::Invalid)?;
        let exp = payload
            .get("exp")
            .and_then(Value::as_i64)
            .ok_or(StaffAuthError::Invalid)?;
        if now.timestamp() >= exp {
            return Err(StaffAuthError::Expired);
        }
        StaffClaims::from_payload(&payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn head() -> StaffClaims {
        StaffClaims {
            sub: "u1".into(),
            role: StaffRole::UnitHead,
            unit: Some("03CC".into()),
            officer: None,
        }
    }

    #[test]
    fn mint_and_verify() {
        let jwt = Hs256::new(b"secret-secret-secret-secret-1234");
        let t = jwt.mint(&head(), Utc::now() + Duration::hours(1));
        assert_eq!(jwt.verify(&t, Utc::now()).unwrap(), head());
        assert_eq!(
            jwt.verify(&t, Utc::now() + Duration::hours(2)),
            Err(StaffAuthError::Expired)
        );
        let other = Hs256::new(b"another-secret-another-secret-12");
        assert_eq!(other.verify(&t, Utc::now()), Err(StaffAuthError::Invalid));
    }

    #[test]
    fn alg_none_and_tampered_payloads_fail() {
        let jwt = Hs256::new(b"secret-secret-secret-secret-1234");
        let t = jwt.mint(&head(), Utc::now() + Duration::hours(1));
        let parts: Vec<&str> = t.split('.').collect();
        let none_header = b64(br#"{"alg":"none","typ":"JWT"}"#);
        assert_eq!(
            jwt.verify(&format!("{none_header}.{}.", parts[1]), Utc::now()),
            Err(StaffAuthError::Invalid)
        );
        let dept = b64(br#"{"sub":"u1","role":"department","exp":9999999999}"#);
        assert_eq!(
            jwt.verify(&format!("{}.{dept}.{}", parts[0], parts[2]), Utc::now()),
            Err(StaffAuthError::Invalid)
        );
        assert_eq!(jwt.verify("a.b", Utc::now()), Err(StaffAuthError::Invalid));
    }

    #[test]
    fn claims_and_scope() {
        let p =
            serde_json::json!({"sub": "x", "custom:role": "branch_head", "custom:unit": "03CC"});
        let c = StaffClaims::from_payload(&p).unwrap();
        assert_eq!(
            (c.role, c.unit.as_deref()),
            (StaffRole::UnitHead, Some("03CC"))
        );
        let p = serde_json::json!({"sub": "x", "role": "branch_head"});
        assert_eq!(
            StaffClaims::from_payload(&p),
            Err(StaffAuthError::BadClaims)
        );
        let p = serde_json::json!({"sub": "x", "role": "admin"});
        assert_eq!(
            StaffClaims::from_payload(&p),
            Err(StaffAuthError::BadClaims)
        );
    }
}
