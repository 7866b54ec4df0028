//! The template deployed for real to the emulator: transformed offline by
//! samtranslator, created by moto's CloudFormation, and then the DynamoDB and
//! SQS adapters pass their contract checks against exactly the table and
//! queues the stack made. Template and adapters cannot disagree about keys,
//! indexes or redrive.

mod support;

use std::path::Path;
use std::sync::Arc;

use aws_sdk_sqs::types::QueueAttributeName;
use csq_aws::dynamo::DynamoStore;
use csq_aws::sqs::SqsQueue;
use csq_core::ports::{ComplaintQueue, QueueConsumer};
use serde_json::Value;

struct Stack {
    sdk: aws_config::SdkConfig,
    resources: Value,
}

impl Stack {
    fn id(&self, logical: &str) -> String {
        self.resources[logical]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{logical} not created"))
            .to_owned()
    }
}

fn deploy() -> Stack {
    // A server of its own: moto's data endpoint stops answering once it holds
    // Lambda functions, which the other tests read SES mail from.
    let endpoint = support::spawn_moto();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = std::process::Command::new(support::python())
        .arg(root.join("infra/emulator/deploy_stack.py"))
        .arg(&endpoint)
        .arg(root.join("template.yaml"))
        .output()
        .expect("run deploy_stack.py (bash scripts/test.sh installs its tools)");
    assert!(
        out.status.success(),
        "deploy failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("deploy report");
    assert_eq!(report["status"], "CREATE_COMPLETE", "{report}");
    Stack {
        sdk: csq_aws::emulator_config(&endpoint),
        resources: report["resources"].clone(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_deployed_stack_serves_the_adapters() {
    let stack = tokio::task::spawn_blocking(deploy).await.unwrap();
    for (logical, kind) in [
        ("Table", "AWS::DynamoDB::Table"),
        ("ComplaintQueue", "AWS::SQS::Queue"),
        ("ComplaintDeadLetterQueue", "AWS::SQS::Queue"),
        (
            "ComplaintRouterFunctionComplaints",
            "AWS::Lambda::EventSourceMapping",
        ),
        ("IssueFormFunction", "AWS::Lambda::Function"),
        ("NightlyFunction", "AWS::Lambda::Function"),
        // Events for other systems, and SES's bounces to the nightly function.
        ("EventBus", "AWS::Events::EventBus"),
        ("ComplaintOpenedRule", "AWS::Events::Rule"),
        ("NightlyFunctionMailFeedback", "AWS::Events::Rule"),
    ] {
        assert_eq!(stack.resources[logical]["type"], kind, "{logical}");
    }

    // DynamoDB: the contract checks against the stack's own table.
    let dynamo = aws_sdk_dynamodb::Client::new(&stack.sdk);
    let store = Arc::new(DynamoStore::new(dynamo.clone(), stack.id("Table")));
    use csq_contract::{cases, forms, misc};
    forms::insert_is_once_per_declaration(store.clone()).await;
    forms::concurrent_submits_store_one(store.clone()).await;
    forms::submit_is_once_and_writes_everything(store.clone()).await;
    forms::issue_day_query_pages_without_gaps(store.clone()).await;
    forms::reminders_and_expiry_happen_once(store.clone()).await;
    cases::open_case_is_once_per_complaint(store.clone()).await;
    cases::updates_are_conditional_on_version(store.clone()).await;
    cases::unit_query_filters_status_and_pages(store.clone()).await;
    cases::day_and_due_queries(store.clone()).await;
    misc::daily_stats_overwrite_and_range(store.clone()).await;
    misc::org_versions_are_kept(store.clone()).await;
    // moto's CloudFormation ignores TimeToLiveSpecification (template.rs checks it).

    // SQS: the stack's redrive, exercised. A message nobody deletes goes to the
    // dead-letter queue after the template's maxReceiveCount receives.
    let sqs = aws_sdk_sqs::Client::new(&stack.sdk);
    let (queue_url, dlq_url) = (
        stack.id("ComplaintQueue"),
        stack.id("ComplaintDeadLetterQueue"),
    );
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap();
    assert_eq!(attrs[&QueueAttributeName::VisibilityTimeout], "180");
    let redrive: Value = serde_json::from_str(&attrs[&QueueAttributeName::RedrivePolicy]).unwrap();
    let max: u32 = redrive["maxReceiveCount"]
        .to_string()
        .trim_matches('"')
        .parse()
        .unwrap();
    assert_eq!(max, 5);

    let queue = SqsQueue::new(sqs.clone(), queue_url.clone(), Some(dlq_url));
    let form = csq_contract::fixtures::form(
        &csq_contract::fixtures::declaration_number(),
        chrono::Utc::now(),
    );
    queue
        .enqueue(&csq_contract::fixtures::complaint(
            &form,
            chrono::Utc::now(),
        ))
        .await
        .unwrap();
    let mut receives = 0;
    for _ in 0..max + 2 {
        let got = queue.receive(10).await.unwrap();
        let Some(m) = got.first() else { break };
        receives += 1;
        // Fail fast instead of waiting out the 180 s visibility timeout.
        sqs.change_message_visibility()
            .queue_url(&queue_url)
            .receipt_handle(&m.receipt)
            .visibility_timeout(0)
            .send()
            .await
            .unwrap();
    }
    // Seen here: moto moves the message after maxReceiveCount - 1 receives when
    // the visibility is reset to 0; real SQS hands it out maxReceiveCount times.
    assert!(
        (max - 1..=max).contains(&receives),
        "received {receives} times with maxReceiveCount {max}"
    );
    assert!(
        queue.receive(10).await.unwrap().is_empty(),
        "the message left the queue"
    );
    let dead = queue.dead_letters(10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert!(dead[0].body.contains(&form.id));
}
