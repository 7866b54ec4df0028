//! The AWS emulator for tests: moto server on 127.0.0.1 with a random port.
//!
//! `scripts/test.sh` starts one and exports `CSQ_MOTO_ENDPOINT`. Run alone
//! (`cargo test`), a test binary starts its own with `.venv/bin/python
//! infra/emulator/moto_serial.py` (one request at a time, as DynamoDB
//! transactions need), watched by a shell that stops it when the test process
//! exits. Every test makes its own table and queues, so tests share a
//! server without seeing each other's data.

#![allow(dead_code)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use aws_config::SdkConfig;
use csq_aws::dynamo::DynamoStore;
use csq_aws::sqs::SqsQueue;

static ENDPOINT: OnceLock<String> = OnceLock::new();

fn moto_command() -> String {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let python = root.join(".venv/bin/python");
    let python = if python.exists() {
        python
    } else {
        PathBuf::from("python3")
    };
    format!(
        "'{}' '{}'",
        python.display(),
        root.join("infra/emulator/moto_serial.py").display()
    )
}

fn wait_ready(endpoint: &str) -> bool {
    let addr = endpoint.trim_start_matches("http://");
    for _ in 0..100 {
        if std::net::TcpStream::connect(addr).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

pub fn endpoint() -> &'static str {
    ENDPOINT.get_or_init(|| std::env::var("CSQ_MOTO_ENDPOINT").unwrap_or_else(|_| spawn_moto()))
}

/// Starts a moto server of this test process's own and returns its endpoint.
pub fn spawn_moto() -> String {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let me = std::process::id();
    // The watcher ends moto when this test process is gone.
    let script = format!(
        "{} -H 127.0.0.1 -p {port} >/dev/null 2>&1 & m=$!; while kill -0 {me} 2>/dev/null; do sleep 1; done; kill $m",
        moto_command()
    );
    // The watcher exits with this process, so it is not waited on.
    let watcher = Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::null())
        .spawn()
        .expect("start moto_server (run `bash scripts/test.sh`, which installs it)");
    std::mem::forget(watcher);
    let endpoint = format!("http://127.0.0.1:{port}");
    assert!(
        wait_ready(&endpoint),
        "moto_server did not start at {endpoint}: run `bash scripts/test.sh`"
    );
    endpoint
}

/// The Python of the test tools' virtualenv (moto, samtranslator), else python3.
pub fn python() -> PathBuf {
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
    if venv.exists() {
        venv
    } else {
        PathBuf::from("python3")
    }
}

pub fn sdk() -> SdkConfig {
    csq_aws::emulator_config(endpoint())
}

pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

/// A fresh table with the production schema.
pub async fn store() -> Arc<DynamoStore> {
    let client = aws_sdk_dynamodb::Client::new(&sdk());
    let name = unique("csq");
    csq_aws::dynamo::table::create_table(&client, &name)
        .await
        .expect("create table");
    Arc::new(DynamoStore::new(client, name))
}

/// A fresh complaint queue with its dead-letter queue, configured as the
/// contract suite requires.
pub async fn queue() -> Arc<SqsQueue> {
    let client = aws_sdk_sqs::Client::new(&sdk());
    let (url, dlq) = create_queues(
        &client,
        csq_contract::queue::VISIBILITY.as_secs(),
        csq_contract::queue::MAX_RECEIVES,
    )
    .await;
    Arc::new(SqsQueue::new(client, url, Some(dlq)))
}

pub async fn create_queues(
    client: &aws_sdk_sqs::Client,
    visibility: u64,
    max_receives: u32,
) -> (String, String) {
    use aws_sdk_sqs::types::QueueAttributeName;
    let name = unique("complaints");
    let dlq_url = client
        .create_queue()
        .queue_name(format!("{name}-dlq"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let dlq_arn = queue_arn(client, &dlq_url).await;
    let redrive =
        format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":"{max_receives}"}}"#);
    let url = client
        .create_queue()
        .queue_name(&name)
        .attributes(
            QueueAttributeName::VisibilityTimeout,
            visibility.to_string(),
        )
        .attributes(QueueAttributeName::RedrivePolicy, redrive)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    (url, dlq_url)
}

/// An EventBridge bus whose every `csq` event lands in a queue, as a
/// subscriber's rule would deliver them. Returns (bus name, queue URL).
pub async fn create_event_bus(sdk: &aws_config::SdkConfig) -> (String, String) {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let eb = aws_sdk_eventbridge::Client::new(sdk);
    let bus = unique("csq-events");
    eb.create_event_bus().name(&bus).send().await.unwrap();
    let url = sqs
        .create_queue()
        .queue_name(unique("events"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let arn = queue_arn(&sqs, &url).await;
    eb.put_rule()
        .name("every-csq-event")
        .event_bus_name(&bus)
        .event_pattern(r#"{"source": ["csq"]}"#)
        .send()
        .await
        .unwrap();
    eb.put_targets()
        .rule("every-csq-event")
        .event_bus_name(&bus)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("queue")
                .arn(arn)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    (bus, url)
}

/// Every event the bus delivered to the queue so far (EventBridge envelopes).
pub async fn published_events(sdk: &aws_config::SdkConfig, url: &str) -> Vec<serde_json::Value> {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let mut out = Vec::new();
    loop {
        let got = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        let messages = got.messages.unwrap_or_default();
        if messages.is_empty() {
            return out;
        }
        for m in messages {
            out.push(serde_json::from_str(m.body().unwrap_or("null")).unwrap());
            sqs.delete_message()
                .queue_url(url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
}

async fn queue_arn(client: &aws_sdk_sqs::Client, url: &str) -> String {
    use aws_sdk_sqs::types::QueueAttributeName;
    client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()
        .remove(&QueueAttributeName::QueueArn)
        .unwrap()
}
