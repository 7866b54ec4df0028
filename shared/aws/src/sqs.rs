//! SQS adapter: the complaint queue's producer side for the functions, and its
//! consumer side (receive, delete, dead letters) for operators and tests. In
//! production the router Lambda gets messages from the event source mapping.

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::MessageSystemAttributeName;
use csq_core::domain::complaint::Complaint;
use csq_core::ports::{ComplaintQueue, PortError, PortResult, QueueConsumer, Received};

#[derive(Clone, Debug)]
pub struct SqsQueue {
    client: Client,
    queue_url: String,
    dead_letter_url: Option<String>,
}

fn err(context: &str, e: impl std::error::Error + Send + Sync + 'static) -> PortError {
    PortError::new(format!("sqs: {context}"), e)
}

impl SqsQueue {
    pub fn new(
        client: Client,
        queue_url: impl Into<String>,
        dead_letter_url: Option<String>,
    ) -> SqsQueue {
        SqsQueue {
            client,
            queue_url: queue_url.into(),
            dead_letter_url,
        }
    }

    async fn receive_from(
        &self,
        url: &str,
        max: u32,
        visibility: Option<i32>,
    ) -> PortResult<Vec<Received>> {
        let res = self
            .client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(max.clamp(1, 10) as i32)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .set_visibility_timeout(visibility)
            .wait_time_seconds(0)
            .send()
            .await
            .map_err(|e| err("receive", e))?;
        Ok(res
            .messages
            .unwrap_or_default()
            .into_iter()
            .map(|m| {
                let receive_count = m
                    .attributes
                    .as_ref()
                    .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(1);
                Received {
                    message_id: m.message_id.unwrap_or_default(),
                    receipt: m.receipt_handle.unwrap_or_default(),
                    body: m.body.unwrap_or_default(),
                    receive_count,
                }
            })
            .collect())
    }
}

#[async_trait]
impl ComplaintQueue for SqsQueue {
    async fn enqueue(&self, complaint: &Complaint) -> PortResult<()> {
        let body = serde_json::to_string(complaint).map_err(|e| err("serialize complaint", e))?;
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .send()
            .await
            .map_err(|e| err("send", e))?;
        Ok(())
    }
}

#[async_trait]
impl QueueConsumer for SqsQueue {
    async fn receive(&self, max: u32) -> PortResult<Vec<Received>> {
        self.receive_from(&self.queue_url, max, None).await
    }

    async fn delete(&self, receipt: &str) -> PortResult<()> {
        self.client
            .delete_message()
            .queue_url(&self.queue_url)
            .receipt_handle(receipt)
            .send()
            .await
            .map_err(|e| err("delete", e))?;
        Ok(())
    }

    /// Peeks at the dead-letter queue: a zero visibility timeout leaves the
    /// messages there for an operator to redrive.
    async fn dead_letters(&self, max: u32) -> PortResult<Vec<Received>> {
        match &self.dead_letter_url {
            Some(url) => self.receive_from(url, max, Some(0)).await,
            None => Ok(Vec::new()),
        }
    }
}
