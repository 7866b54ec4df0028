//! KioskRegistry contract: a counter tablet is kept with its credential's
//! hash only, listed oldest first, and a revocation is stored.

use std::sync::Arc;

use chrono::{Duration, Utc};
use csq_core::domain::kiosk::Kiosk;
use csq_core::ports::KioskRegistry;

pub async fn tablets_are_kept_listed_and_revoked(store: Arc<dyn KioskRegistry>) {
    let now = Utc::now();
    let before = store.kiosks().await.unwrap().len();
    let (first, credential) = Kiosk::register("03CC", "Quầy 1", "dept", now).unwrap();
    let (second, _) =
        Kiosk::register("04CC", "Quầy 2", "dept", now + Duration::seconds(1)).unwrap();
    store.save_kiosk(&second).await.unwrap();
    store.save_kiosk(&first).await.unwrap();
    let read = store.kiosk(&first.id).await.unwrap().expect("stored");
    assert_eq!(read, first);
    assert!(read.accepts(&credential), "the hash is what was stored");
    assert!(store.kiosk("ki_unknown").await.unwrap().is_none());

    let listed = store.kiosks().await.unwrap();
    assert_eq!(listed.len(), before + 2);
    let ours: Vec<&str> = listed
        .iter()
        .filter(|k| k.id == first.id || k.id == second.id)
        .map(|k| k.id.as_str())
        .collect();
    assert_eq!(
        ours,
        [first.id.as_str(), second.id.as_str()],
        "oldest first"
    );

    let mut revoked = read.clone();
    assert!(revoked.revoke(now + Duration::minutes(5)));
    store.save_kiosk(&revoked).await.unwrap();
    let again = store.kiosk(&first.id).await.unwrap().unwrap();
    assert!(again.revoked_at.is_some());
    assert!(!again.accepts(&credential));
    assert_eq!(
        store.kiosks().await.unwrap().len(),
        before + 2,
        "kept, marked"
    );
}
