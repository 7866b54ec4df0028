//! A counting proxy in front of the AWS emulator: every AWS request a binary makes
//! passes here, so the benchmark can say how many network round trips an init
//! took and how many DynamoDB requests (and capacity units) a job used.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

/// Requests per operation ("DynamoDB.Query", "SSM.GetParameters", "SESv2.SendEmail").
pub type Counts = BTreeMap<String, u64>;

#[derive(Default)]
struct Tally {
    requests: Counts,
    /// DynamoDB capacity units the responses reported, per operation.
    capacity: BTreeMap<String, f64>,
}

pub struct Proxy {
    pub endpoint: String,
    tally: Arc<Mutex<Tally>>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.server.abort();
    }
}

#[derive(Clone)]
struct Upstream {
    base: String,
    http: reqwest::Client,
    tally: Arc<Mutex<Tally>>,
}

/// The operation a request names: JSON-protocol services say it in
/// `X-Amz-Target` ("DynamoDB_20120810.Query", "AmazonSSM.GetParameters");
/// SESv2 is REST.
fn operation(method: &Method, uri: &Uri, headers: &HeaderMap) -> String {
    if let Some(target) = headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
        let (service, op) = target.split_once('.').unwrap_or(("?", target));
        let service = match service {
            s if s.starts_with("DynamoDB") => "DynamoDB",
            "AmazonSSM" => "SSM",
            "AmazonSQS" => "SQS",
            "AWSEvents" => "EventBridge",
            s => s,
        };
        return format!("{service}.{op}");
    }
    if uri.path().starts_with("/v2/email/outbound-emails") {
        return "SESv2.SendEmail".into();
    }
    format!("{method} {}", uri.path())
}

/// Sums `ConsumedCapacity` of a DynamoDB response (one object, or a list for
/// batch and transaction calls).
fn capacity(body: &[u8]) -> f64 {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return 0.0;
    };
    let units = |c: &serde_json::Value| c["CapacityUnits"].as_f64().unwrap_or(0.0);
    match &v["ConsumedCapacity"] {
        serde_json::Value::Array(list) => list.iter().map(units).sum(),
        c @ serde_json::Value::Object(_) => units(c),
        _ => 0.0,
    }
}

async fn forward(
    State(up): State<Upstream>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let op = operation(&method, &uri, &headers);
    // Ask DynamoDB for the capacity each request consumed (the store does not).
    let body = if op.starts_with("DynamoDB.") {
        match serde_json::from_slice::<serde_json::Value>(&body) {
            Ok(serde_json::Value::Object(mut m)) if !m.contains_key("ReturnConsumedCapacity") => {
                m.insert("ReturnConsumedCapacity".into(), "TOTAL".into());
                Bytes::from(serde_json::Value::Object(m).to_string())
            }
            _ => body,
        }
    } else {
        body
    };
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let mut request = up.http.request(method, format!("{}{path}", up.base));
    for (k, v) in &headers {
        if k != "host" && k != "content-length" {
            request = request.header(k, v);
        }
    }
    let answer = match request.body(body).send().await {
        Ok(a) => a,
        Err(e) => return (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    };
    let status = answer.status();
    let mut out_headers = HeaderMap::new();
    for (k, v) in answer.headers() {
        if k != "content-length" && k != "transfer-encoding" && k != "connection" {
            out_headers.insert(k, v.clone());
        }
    }
    let bytes = answer.bytes().await.unwrap_or_default();
    {
        let mut t = up.tally.lock().unwrap();
        *t.requests.entry(op.clone()).or_default() += 1;
        if op.starts_with("DynamoDB.") {
            *t.capacity.entry(op).or_default() += capacity(&bytes);
        }
    }
    (status, out_headers, bytes).into_response()
}

impl Proxy {
    pub async fn start(upstream: &str) -> anyhow::Result<Proxy> {
        let tally = Arc::new(Mutex::new(Tally::default()));
        let state = Upstream {
            base: upstream.trim_end_matches('/').to_owned(),
            http: reqwest::Client::new(),
            tally: tally.clone(),
        };
        let app = Router::new().fallback(forward).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr: SocketAddr = listener.local_addr()?;
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Proxy {
            endpoint: format!("http://{addr}"),
            tally,
            server,
        })
    }

    /// Requests so far, per operation.
    pub fn requests(&self) -> Counts {
        self.tally.lock().unwrap().requests.clone()
    }

    /// DynamoDB capacity units so far, per operation.
    pub fn capacity(&self) -> BTreeMap<String, f64> {
        self.tally.lock().unwrap().capacity.clone()
    }

    pub fn reset(&self) {
        *self.tally.lock().unwrap() = Tally::default();
    }
}

/// What happened between two snapshots of `requests()`.
pub fn since(before: &Counts, after: &Counts) -> Counts {
    after
        .iter()
        .filter_map(|(op, n)| {
            let d = n - before.get(op).copied().unwrap_or(0);
            (d > 0).then(|| (op.clone(), d))
        })
        .collect()
}
