//! The event outbox on DynamoDB: one item per event (`EVENT#id`, `OUTBOX`),
//! put in the transaction of the change it announces, found through the
//! sparse GSI3 partition `EVENTS` in the order written, deleted once published.

use csq_core::ports::EventOutbox;

use super::*;

/// The JSON of the event, kept whole in one attribute: the item's key
/// attributes must not mix with the event's own fields.
const EVENT_JSON: &str = "event";

impl DynamoStore {
    /// Puts of `events` into the outbox, for a transaction. No condition: an
    /// event already there is the same event (ids are stable per action).
    pub(super) fn outbox_puts(&self, events: &[Event]) -> PortResult<Vec<TransactWriteItem>> {
        events
            .iter()
            .map(|e| {
                let json = serde_json::to_string(e).map_err(|x| err("event json", x))?;
                let mut it = Item::new();
                it.insert(PK.to_owned(), s(event_pk(&e.id)));
                it.insert(SK.to_owned(), s(OUTBOX));
                it.insert("GSI3PK".to_owned(), s(EVENT_OUTBOX));
                it.insert(
                    "GSI3SK".to_owned(),
                    s(format!("{}#{}", ts(e.occurred_at), e.id)),
                );
                it.insert(EVENT_JSON.to_owned(), s(json));
                put_as_is(&self.table, it)
            })
            .collect()
    }
}

#[async_trait]
impl EventOutbox for DynamoStore {
    async fn pending_events(&self, limit: u32) -> PortResult<Vec<Event>> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(GSI3)
            .key_condition_expression("GSI3PK = :pk")
            .expression_attribute_values(":pk", s(EVENT_OUTBOX))
            .limit(limit.clamp(1, 1000) as i32)
            .send()
            .await
            .map_err(|e| err("pending events", e))?;
        out.items()
            .iter()
            .map(|it| {
                let json = it
                    .get(EVENT_JSON)
                    .and_then(|v| v.as_s().ok())
                    .ok_or_else(|| failed("pending events", "outbox item without its event"))?;
                serde_json::from_str(json).map_err(|e| err("pending events", e))
            })
            .collect()
    }

    async fn events_relayed(&self, event_ids: &[String]) -> PortResult<()> {
        let keys: Vec<(String, String)> = event_ids
            .iter()
            .map(|id| (event_pk(id), OUTBOX.to_owned()))
            .collect();
        self.delete_keys(&keys, "events relayed").await
    }
}
