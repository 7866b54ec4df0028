//! Complaint queue contract (producer and consumer sides, SQS semantics).

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use csq_core::ports::{ComplaintQueue, QueueConsumer};

use crate::fixtures::{complaint, declaration_number, form};

/// The visibility timeout the adapter under test must be configured with.
pub const VISIBILITY: Duration = Duration::from_secs(1);
/// Receives after which the adapter under test must dead-letter a message.
pub const MAX_RECEIVES: u32 = 3;

/// A queue as the contract sees it: both sides of one queue.
pub trait Queue: ComplaintQueue + QueueConsumer {}
impl<T: ComplaintQueue + QueueConsumer> Queue for T {}

async fn wait_visible() {
    tokio::time::sleep(VISIBILITY + Duration::from_millis(400)).await;
}

pub async fn received_messages_hide_until_deleted(q: Arc<dyn Queue>) {
    let c = complaint(&form(&declaration_number(), Utc::now()), Utc::now());
    q.enqueue(&c).await.unwrap();
    let got = q.receive(10).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].receive_count, 1);
    let body: serde_json::Value = serde_json::from_str(&got[0].body).unwrap();
    assert_eq!(body["id"], c.id.as_str());
    assert!(q.receive(10).await.unwrap().is_empty(), "in flight: hidden");
    q.delete(&got[0].receipt).await.unwrap();
    wait_visible().await;
    assert!(q.receive(10).await.unwrap().is_empty(), "deleted: gone");
}

pub async fn undeleted_messages_come_back(q: Arc<dyn Queue>) {
    let c = complaint(&form(&declaration_number(), Utc::now()), Utc::now());
    q.enqueue(&c).await.unwrap();
    let first = q.receive(10).await.unwrap();
    assert_eq!(first.len(), 1);
    wait_visible().await;
    let second = q.receive(10).await.unwrap();
    assert_eq!(
        second.len(),
        1,
        "not deleted within the visibility timeout: back again"
    );
    assert_eq!(second[0].message_id, first[0].message_id);
    assert_eq!(second[0].receive_count, 2);
    q.delete(&second[0].receipt).await.unwrap();
}

pub async fn poison_message_goes_to_dead_letters_without_blocking(q: Arc<dyn Queue>) {
    let poison = complaint(&form(&declaration_number(), Utc::now()), Utc::now());
    q.enqueue(&poison).await.unwrap();
    for attempt in 1..=MAX_RECEIVES {
        let got = q.receive(10).await.unwrap();
        assert_eq!(got.len(), 1, "attempt {attempt}");
        assert_eq!(got[0].receive_count, attempt);
        wait_visible().await;
    }
    let good = complaint(&form(&declaration_number(), Utc::now()), Utc::now());
    q.enqueue(&good).await.unwrap();
    let mut delivered = Vec::new();
    for _ in 0..5 {
        let got = q.receive(10).await.unwrap();
        for m in &got {
            q.delete(&m.receipt).await.unwrap();
        }
        delivered.extend(got);
        if !delivered.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert_eq!(delivered.len(), 1, "only the good message is handed out");
    assert!(delivered[0].body.contains(&good.id));
    let mut dead = Vec::new();
    for _ in 0..10 {
        dead = q.dead_letters(10).await.unwrap();
        if !dead.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert_eq!(dead.len(), 1);
    assert!(dead[0].body.contains(&poison.id));
}
