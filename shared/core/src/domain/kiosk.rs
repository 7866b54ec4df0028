//! A tablet at an office's counter (kiosk mode): the department registers it
//! to one office and it keeps its own credential; staff type or scan a
//! declaration number and hand it to the business, whose form opens there.
//! Only declarations of that office open; a revoked tablet opens nothing.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::form::Form;

/// How many tablets a department may register: every listing of them stays
/// one bounded read.
pub const MAX_KIOSKS: usize = 500;

/// How long a tablet stays on a form nobody touches before it returns to its
/// start screen (the page's script counts it).
pub const IDLE_SECONDS: u32 = 60;

/// A registered tablet. The credential itself is shown once, when it is
/// registered; CSQ keeps only its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kiosk {
    pub id: String,
    /// The office whose declarations open on it (and the offices under it).
    pub office: String,
    /// What the department calls it ("Quầy 2, Chi cục Hải Phòng").
    pub name: String,
    pub secret_hash: String,
    pub registered_at: DateTime<Utc>,
    pub registered_by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KioskNameError {
    #[error("a tablet's name has 1 to 100 characters")]
    Name,
}

fn hash(secret: &str) -> String {
    crate::auth::b64(&Sha256::digest(secret.as_bytes()))
}

impl Kiosk {
    /// A new tablet of `office` with its credential (`{id}.{secret}`), to be
    /// entered once on the tablet.
    pub fn register(
        office: &str,
        name: &str,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<(Kiosk, String), KioskNameError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(KioskNameError::Name);
        }
        let id = format!("ki_{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let secret = crate::auth::random_secret(32);
        let kiosk = Kiosk {
            id: id.clone(),
            office: office.to_owned(),
            name: name.to_owned(),
            secret_hash: hash(&secret),
            registered_at: now,
            registered_by: by.to_owned(),
            revoked_at: None,
        };
        Ok((kiosk, format!("{id}.{secret}")))
    }

    /// The tablet a credential names (still to be checked with `accepts`).
    pub fn id_of(credential: &str) -> Option<&str> {
        let (id, _) = credential.trim().split_once('.')?;
        (id.starts_with("ki_") && id.len() <= 20).then_some(id)
    }

    /// The credential is this tablet's and the tablet is not revoked.
    pub fn accepts(&self, credential: &str) -> bool {
        let Some((id, secret)) = credential.trim().split_once('.') else {
            return false;
        };
        id == self.id
            && crate::auth::secrets_match(&self.secret_hash, &hash(secret))
            && self.revoked_at.is_none()
    }

    /// Revokes the tablet; false if it was revoked already.
    pub fn revoke(&mut self, now: DateTime<Utc>) -> bool {
        if self.revoked_at.is_some() {
            return false;
        }
        self.revoked_at = Some(now);
        true
    }

    /// A form of a declaration of this tablet's office (or of an office
    /// under it, as placed in the directory when the form was issued).
    pub fn may_open(&self, form: &Form) -> bool {
        form.declaration.customs_office.as_str() == self.office
            || form.office_path.iter().any(|u| u.code == self.office)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::submission::tests::sample_form;

    #[test]
    fn a_tablet_opens_its_own_office_with_its_own_credential_until_revoked() {
        let now = Utc::now();
        assert_eq!(
            Kiosk::register("03CC", " ", "dept", now).unwrap_err(),
            KioskNameError::Name
        );
        let (mut kiosk, credential) = Kiosk::register("03CC", "Quầy 1", "dept", now).unwrap();
        assert_eq!(Kiosk::id_of(&credential), Some(kiosk.id.as_str()));
        assert!(
            !credential.contains(&kiosk.secret_hash),
            "only the hash is kept"
        );
        assert!(kiosk.accepts(&credential));
        let (other, other_credential) = Kiosk::register("03CC", "Quầy 2", "dept", now).unwrap();
        assert!(!kiosk.accepts(&other_credential));
        assert!(!kiosk.accepts(&format!("{}.wrong", kiosk.id)));
        assert!(!kiosk.accepts("nonsense"));

        let mut form = sample_form();
        assert!(kiosk.may_open(&form));
        form.place_in_org(&crate::domain::org::tests::sample_org(), Some(1));
        let mut region = other.clone();
        region.office = "R03".into();
        assert!(region.may_open(&form), "an office under the tablet's unit");
        region.office = "04CC".into();
        assert!(!region.may_open(&form), "another office");

        assert!(kiosk.revoke(now));
        assert!(!kiosk.revoke(now), "once");
        assert!(!kiosk.accepts(&credential), "revoked");
    }
}
