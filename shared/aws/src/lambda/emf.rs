//! Business counters as CloudWatch metrics in the embedded metric format: a
//! JSON log line CloudWatch turns into metrics, so counting costs no API call
//! on the request's path.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use csq_core::domain::event::{Event, EventBody};
use csq_core::ports::{EventPublisher, PortResult};
use serde_json::{Value, json};

/// One EMF line: `metrics` (name, unit, value) in `namespace`, under one
/// dimension (name, value) or none.
pub fn line(
    namespace: &str,
    at: DateTime<Utc>,
    dimension: Option<(&str, &str)>,
    metrics: &[(&str, &str, f64)],
) -> String {
    let mut doc = serde_json::Map::new();
    let dimensions: Vec<&str> = dimension.iter().map(|(name, _)| *name).collect();
    doc.insert(
        "_aws".into(),
        json!({
            "Timestamp": at.timestamp_millis(),
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [dimensions],
                "Metrics": metrics
                    .iter()
                    .map(|(name, unit, _)| json!({"Name": name, "Unit": unit}))
                    .collect::<Vec<_>>(),
            }]
        }),
    );
    if let Some((name, value)) = dimension {
        doc.insert(name.into(), Value::from(value));
    }
    for (name, _, value) in metrics {
        doc.insert((*name).into(), json!(value));
    }
    Value::Object(doc).to_string()
}

/// The lines of one accepted batch of events: `Events` by `Type`, and
/// `Invitations` by `Outcome` (how each form's first invitation attempt
/// went, read from its `form.issued`).
pub fn event_lines(namespace: &str, at: DateTime<Utc>, events: &[Event]) -> Vec<String> {
    let mut by_type = BTreeMap::<&str, u32>::new();
    let mut by_outcome = BTreeMap::<String, u32>::new();
    for e in events {
        *by_type.entry(e.type_name()).or_default() += 1;
        if let EventBody::FormIssued(issued) = &e.body {
            let outcome = serde_json::to_value(issued.invitation)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            *by_outcome.entry(outcome).or_default() += 1;
        }
    }
    let types = by_type.into_iter().map(|(kind, n)| {
        line(
            namespace,
            at,
            Some(("Type", kind)),
            &[("Events", "Count", n.into())],
        )
    });
    let outcomes = by_outcome.iter().map(|(outcome, n)| {
        line(
            namespace,
            at,
            Some(("Outcome", outcome)),
            &[("Invitations", "Count", (*n).into())],
        )
    });
    types.chain(outcomes).collect()
}

/// The bus, counting what it accepted into the function's log.
pub struct CountingPublisher {
    pub inner: Arc<dyn EventPublisher>,
    pub namespace: String,
}

#[async_trait]
impl EventPublisher for CountingPublisher {
    async fn publish(&self, events: &[Event]) -> PortResult<()> {
        self.inner.publish(events).await?;
        for l in event_lines(&self.namespace, Utc::now(), events) {
            println!("{l}");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-07T18:05:00Z")
            .unwrap()
            .to_utc()
    }

    /// What CloudWatch reads: the metrics declared under `_aws` for the
    /// namespace and dimension, each value at the top level, one line each.
    #[test]
    fn a_line_declares_its_metrics_and_dimension() {
        let l = line(
            "CSQ/prod",
            at(),
            Some(("Type", "form.issued")),
            &[("Events", "Count", 3.0)],
        );
        assert!(!l.contains('\n'));
        let v: Value = serde_json::from_str(&l).unwrap();
        let declared = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(declared["Namespace"], "CSQ/prod");
        assert_eq!(declared["Dimensions"], json!([["Type"]]));
        assert_eq!(
            declared["Metrics"],
            json!([{"Name": "Events", "Unit": "Count"}])
        );
        assert_eq!(v["_aws"]["Timestamp"], at().timestamp_millis());
        assert_eq!(
            (v["Type"].as_str(), v["Events"].as_f64()),
            (Some("form.issued"), Some(3.0))
        );
        let bare: Value =
            serde_json::from_str(&line("N", at(), None, &[("X", "Seconds", 1.5)])).unwrap();
        assert_eq!(
            bare["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([[]])
        );
    }

    #[test]
    fn events_are_counted_by_type_and_invitations_by_outcome() {
        let form = csq_contract::fixtures::form("100000000001", at());
        let mut sent = form.clone();
        let issued = sent
            .finish_invitation(&csq_core::domain::form::InvitationResult::Sent(at()))
            .unwrap();
        let mut other = csq_contract::fixtures::form("100000000002", at());
        let busy = other
            .finish_invitation(&csq_core::domain::form::InvitationResult::Retry)
            .unwrap();
        let mut third = csq_contract::fixtures::form("100000000003", at());
        let again = third
            .finish_invitation(&csq_core::domain::form::InvitationResult::Sent(at()))
            .unwrap();
        let lines: Vec<Value> = event_lines("CSQ", at(), &[issued, busy, again])
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert_eq!(
            (lines[0]["Type"].as_str(), lines[0]["Events"].as_f64()),
            (Some("form.issued"), Some(3.0))
        );
        assert_eq!(
            (
                lines[1]["Outcome"].as_str(),
                lines[1]["Invitations"].as_f64()
            ),
            (Some("pending"), Some(1.0))
        );
        assert_eq!(
            (
                lines[2]["Outcome"].as_str(),
                lines[2]["Invitations"].as_f64()
            ),
            (Some("sent"), Some(2.0))
        );
        let address = form.business.email.as_str();
        assert!(!lines.iter().any(|l| l.to_string().contains(address)));
    }
}
