//! The counter tablets on DynamoDB: one item per tablet in the `KIOSKS`
//! partition, so the department's listing is one bounded Query.

use csq_core::domain::kiosk::{Kiosk, MAX_KIOSKS};
use csq_core::ports::KioskRegistry;

use super::*;

const KIOSKS_PK: &str = "KIOSKS";

fn kiosk_sk(id: &str) -> String {
    format!("KIOSK#{id}")
}

#[async_trait]
impl KioskRegistry for DynamoStore {
    async fn save_kiosk(&self, kiosk: &Kiosk) -> PortResult<()> {
        let it = item(
            kiosk,
            &[(PK, KIOSKS_PK.to_owned()), (SK, kiosk_sk(&kiosk.id))],
        )?;
        self.put_item(it, "save kiosk").await
    }

    async fn kiosk(&self, id: &str) -> PortResult<Option<Kiosk>> {
        self.get(KIOSKS_PK, &kiosk_sk(id), "kiosk")
            .await?
            .map(doc)
            .transpose()
    }

    async fn kiosks(&self) -> PortResult<Vec<Kiosk>> {
        let page = PageRequest::first(MAX_KIOSKS as u32);
        let mut kiosks: Vec<Kiosk> = self
            .query_docs(
                None,
                KIOSKS_PK.to_owned(),
                SortKey::BeginsWith("KIOSK#".to_owned()),
                &page,
                "kiosks",
            )
            .await?
            .items;
        kiosks.sort_by(|a, b| (a.registered_at, &a.id).cmp(&(b.registered_at, &b.id)));
        Ok(kiosks)
    }
}
