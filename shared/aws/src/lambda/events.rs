//! Handlers for the non-HTTP events: SQS batches, the schedules, and SES's
//! bounce and complaint reports.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use chrono::NaiveDate;
use csq_core::app::housekeeping::{NightlyReport, SweepReport};
use csq_core::app::optout::MailFeedback;
use csq_core::app::{CaseHandling, Housekeeping};

/// Routes every record of a batch independently and concurrently, and reports
/// only the failed ones: SQS retries those alone, and a poison message reaches
/// the dead-letter queue without holding up the others.
pub async fn route_sqs_batch(cases: &CaseHandling, event: SqsEvent) -> SqsBatchResponse {
    let mut tasks = tokio::task::JoinSet::new();
    // Which message each task routes: a task that panics returns nothing, and
    // its record must still be reported failed, or SQS would delete it.
    let mut message_of = std::collections::HashMap::new();
    for record in event.records {
        let cases = cases.clone();
        let id = record.message_id.clone().unwrap_or_default();
        let task = tasks.spawn(async move {
            match record.body.as_deref() {
                Some(body) => cases
                    .route_complaint(body)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string()),
                None => Err("record without a body".to_owned()),
            }
        });
        message_of.insert(task.id(), id);
    }
    let mut response = SqsBatchResponse::default();
    while let Some(joined) = tasks.join_next_with_id().await {
        let (task, error) = match joined {
            Ok((_, Ok(()))) => continue,
            Ok((task, Err(e))) => (task, e),
            Err(e) => (e.id(), format!("routing task failed: {e}")),
        };
        let id = message_of.remove(&task).unwrap_or_default();
        tracing::warn!(message_id = %id, error = %error, "complaint not routed; SQS will retry it");
        let mut failure = BatchItemFailure::default();
        failure.item_identifier = id;
        response.batch_item_failures.push(failure);
    }
    response
}

/// What a scheduled invocation did.
#[derive(Debug, serde::Serialize)]
#[serde(untagged)]
pub enum ScheduledReport {
    Nightly(NightlyReport),
    Sweep(SweepReport),
    /// Addresses newly put on the suppression list by an SES report.
    MailFeedback {
        suppressed: usize,
    },
}

/// An SES bounce or complaint event as EventBridge delivers it (the
/// configuration set's event destination): what happened, to which addresses.
/// None for any other event.
pub fn ses_feedback(event: &serde_json::Value) -> Option<(MailFeedback, Vec<String>)> {
    if event.get("source").and_then(|s| s.as_str()) != Some("aws.ses") {
        return None;
    }
    let detail = event.get("detail")?;
    let (feedback, list) = match detail.get("eventType").and_then(|t| t.as_str())? {
        "Bounce" => {
            let bounce = detail.get("bounce")?;
            let kind = match bounce.get("bounceType").and_then(|t| t.as_str()) {
                Some("Permanent") => MailFeedback::PermanentBounce,
                _ => MailFeedback::TransientBounce,
            };
            (kind, bounce.get("bouncedRecipients")?)
        }
        "Complaint" => (
            MailFeedback::Complaint,
            detail.get("complaint")?.get("complainedRecipients")?,
        ),
        _ => return None,
    };
    let addresses = list
        .as_array()?
        .iter()
        .filter_map(|r| r.get("emailAddress")?.as_str().map(str::to_owned))
        .collect();
    Some((feedback, addresses))
}

/// The schedules' payloads: `{"task": "sweep"}` every few minutes; otherwise
/// the nightly job, where `{"date": "YYYY-MM-DD"}` reruns a given day and no
/// date rolls up yesterday in Asia/Ho_Chi_Minh.
pub async fn scheduled(
    housekeeping: &Housekeeping,
    payload: &serde_json::Value,
) -> Result<ScheduledReport, String> {
    if let Some((feedback, addresses)) = ses_feedback(payload) {
        return housekeeping
            .mail_feedback(feedback, &addresses)
            .await
            .map(|suppressed| ScheduledReport::MailFeedback { suppressed })
            .map_err(|e| e.to_string());
    }
    if payload.get("task").and_then(|t| t.as_str()) == Some("sweep") {
        return housekeeping
            .sweep()
            .await
            .map(ScheduledReport::Sweep)
            .map_err(|e| e.to_string());
    }
    let started = std::time::Instant::now();
    let report = nightly(housekeeping, payload).await?;
    // Read by the alarm on a nightly that has not succeeded for 26 hours.
    let namespace = std::env::var(super::env::METRICS_NAMESPACE).unwrap_or_else(|_| "CSQ".into());
    println!(
        "{}",
        nightly_metric_line(
            &namespace,
            started.elapsed().as_secs_f64(),
            chrono::Utc::now()
        )
    );
    Ok(ScheduledReport::Nightly(report))
}

/// A successful nightly run as CloudWatch metrics in the embedded metric
/// format: a log line CloudWatch turns into `NightlySucceeded` (1) and
/// `NightlySeconds` in `namespace`, with no dimension (what the alarm reads).
pub fn nightly_metric_line(
    namespace: &str,
    seconds: f64,
    at: chrono::DateTime<chrono::Utc>,
) -> String {
    super::emf::line(
        namespace,
        at,
        None,
        &[
            ("NightlySucceeded", "Count", 1.0),
            ("NightlySeconds", "Seconds", (seconds * 10.0).round() / 10.0),
        ],
    )
}

pub async fn nightly(
    housekeeping: &Housekeeping,
    payload: &serde_json::Value,
) -> Result<NightlyReport, String> {
    let date = match payload.get("date").and_then(|d| d.as_str()) {
        Some(d) => NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map_err(|_| format!("date {d:?} must be YYYY-MM-DD"))?,
        None => housekeeping.yesterday(),
    };
    housekeeping
        .run_nightly(date)
        .await
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The embedded metric format: the metrics declared under `_aws` for
    /// the namespace, each one's value at the top level, a millisecond time.
    #[test]
    fn a_nightly_success_is_a_metric_cloudwatch_reads_from_the_log() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-12-07T18:05:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let line = nightly_metric_line("CSQ/csq-prod", 12.34, at);
        assert!(!line.contains('\n'), "one log line");
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        let declared = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(declared["Namespace"], "CSQ/csq-prod");
        assert_eq!(declared["Dimensions"], serde_json::json!([[]]));
        assert_eq!(v["_aws"]["Timestamp"], at.timestamp_millis());
        let names: Vec<&str> = declared["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["Name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["NightlySucceeded", "NightlySeconds"]);
        assert_eq!(v["NightlySucceeded"].as_f64(), Some(1.0));
        assert_eq!(v["NightlySeconds"].as_f64(), Some(12.3));
    }
}
