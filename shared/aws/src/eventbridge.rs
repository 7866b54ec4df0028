//! Events to the stack's EventBridge bus: `source` is `csq`, `detail-type` the
//! event type (`complaint.opened`), `detail` the whole versioned event, so a
//! rule can match on any of its fields and a consumer dedupes by `detail.id`.

use async_trait::async_trait;
use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use csq_core::domain::event::{Event, SOURCE};
use csq_core::ports::{EventPublisher, PortError, PortResult};

/// PutEvents takes at most ten entries per call.
const BATCH: usize = 10;

#[derive(Clone, Debug)]
pub struct EventBridgePublisher {
    client: Client,
    bus: String,
}

impl EventBridgePublisher {
    pub fn new(client: Client, bus: impl Into<String>) -> EventBridgePublisher {
        EventBridgePublisher {
            client,
            bus: bus.into(),
        }
    }
}

/// The PutEvents entry of one event.
pub fn entry(bus: &str, event: &Event) -> PortResult<PutEventsRequestEntry> {
    let detail = serde_json::to_string(event).map_err(|e| PortError::new("event json", e))?;
    let time = aws_sdk_eventbridge::primitives::DateTime::from_secs(event.occurred_at.timestamp());
    Ok(PutEventsRequestEntry::builder()
        .event_bus_name(bus)
        .source(SOURCE)
        .detail_type(event.type_name())
        .detail(detail)
        .time(time)
        .build())
}

#[async_trait]
impl EventPublisher for EventBridgePublisher {
    async fn publish(&self, events: &[Event]) -> PortResult<()> {
        for chunk in events.chunks(BATCH) {
            let entries = chunk
                .iter()
                .map(|e| entry(&self.bus, e))
                .collect::<PortResult<Vec<_>>>()?;
            let out = self
                .client
                .put_events()
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| PortError::new("put events", aws_sdk_eventbridge::Error::from(e)))?;
            // PutEvents answers 200 with failed entries listed one by one.
            if out.failed_entry_count() > 0 {
                let why: Vec<String> = out
                    .entries()
                    .iter()
                    .filter_map(|r| {
                        r.error_code()
                            .map(|c| format!("{c}: {}", r.error_message().unwrap_or("")))
                    })
                    .collect();
                return Err(PortError::new(
                    "put events",
                    std::io::Error::other(format!(
                        "{} rejected: {}",
                        out.failed_entry_count(),
                        why.join("; ")
                    )),
                ));
            }
        }
        Ok(())
    }
}
