//! A fake Lambda Runtime API (the HTTP interface a `provided.al2023` bootstrap
//! polls), enough to run the deployable binaries here: it hands out invocations,
//! collects their responses and errors, and notes when the binary first asks for
//! work — the end of its init phase, which is what Lambda bills as cold start.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot, watch};

const API: &str = "/2018-06-01/runtime";

/// What the function answered to one invocation.
#[derive(Debug)]
pub enum Outcome {
    Response(Value),
    /// The runtime reported the handler's error (`/invocation/{id}/error`).
    Error(Value),
}

struct Pending {
    request_id: String,
    payload: Value,
}

struct Shared {
    queue: tokio::sync::Mutex<mpsc::UnboundedReceiver<Pending>>,
    waiting: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    ready: watch::Sender<Option<Instant>>,
    init_error: Mutex<Option<Value>>,
}

/// One function's runtime endpoint (each process gets its own).
pub struct FakeRuntime {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    sender: mpsc::UnboundedSender<Pending>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakeRuntime {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn next(State(shared): State<Arc<Shared>>) -> Response {
    shared.ready.send_if_modified(|at| {
        let first = at.is_none();
        if first {
            *at = Some(Instant::now());
        }
        first
    });
    // One poll at a time per process, as the real API: hold the queue while waiting.
    let mut queue = shared.queue.lock().await;
    let Some(p) = queue.recv().await else {
        return StatusCode::GONE.into_response();
    };
    let mut headers = HeaderMap::new();
    let deadline = chrono::Utc::now().timestamp_millis() + 30_000;
    let arn = "arn:aws:lambda:ap-southeast-1:123456789012:function:csq-bench";
    for (k, v) in [
        ("lambda-runtime-aws-request-id", p.request_id.clone()),
        ("lambda-runtime-deadline-ms", deadline.to_string()),
        ("lambda-runtime-invoked-function-arn", arn.to_owned()),
        (
            "lambda-runtime-trace-id",
            "Root=1-67890abc-0123456789abcdef01234567;Sampled=0".to_owned(),
        ),
    ] {
        headers.insert(k, HeaderValue::from_str(&v).expect("header value"));
    }
    (headers, axum::Json(p.payload)).into_response()
}

fn body_json(body: &[u8]) -> Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}

/// Hands an invocation's answer to whoever waits for it.
fn deliver(shared: &Shared, id: &str, outcome: Outcome) -> StatusCode {
    if let Some(tx) = shared.waiting.lock().unwrap().remove(id) {
        let _ = tx.send(outcome);
    }
    StatusCode::ACCEPTED
}

async fn respond(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> StatusCode {
    deliver(&shared, &id, Outcome::Response(body_json(&body)))
}

async fn error(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> StatusCode {
    deliver(&shared, &id, Outcome::Error(body_json(&body)))
}

async fn init_error(State(shared): State<Arc<Shared>>, body: axum::body::Bytes) -> StatusCode {
    *shared.init_error.lock().unwrap() = Some(body_json(&body));
    // Its init is over, badly: `ready` reports the error without waiting.
    shared.ready.send_replace(Some(Instant::now()));
    StatusCode::ACCEPTED
}

impl FakeRuntime {
    pub async fn start() -> anyhow::Result<FakeRuntime> {
        let (sender, receiver) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            queue: tokio::sync::Mutex::new(receiver),
            waiting: Mutex::new(HashMap::new()),
            ready: watch::channel(None).0,
            init_error: Mutex::new(None),
        });
        let app = Router::new()
            .route(&format!("{API}/invocation/next"), get(next))
            .route(&format!("{API}/invocation/{{id}}/response"), post(respond))
            .route(&format!("{API}/invocation/{{id}}/error"), post(error))
            .route(&format!("{API}/init/error"), post(init_error))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(FakeRuntime {
            addr,
            shared,
            sender,
            server,
        })
    }

    /// Waits until the function first polls for work, i.e. its init is over.
    pub async fn ready(&self, within: Duration) -> anyhow::Result<Instant> {
        let mut ready = self.shared.ready.subscribe();
        let waited = tokio::time::timeout(within, ready.wait_for(|at| at.is_some())).await;
        if let Some(e) = self.shared.init_error.lock().unwrap().clone() {
            bail!("init failed: {e}");
        }
        match waited {
            Ok(Ok(at)) => Ok(at.expect("set")),
            _ => bail!("the function did not poll for work within {within:?}"),
        }
    }

    /// Hands the function one event and waits for its answer.
    pub async fn invoke(&self, payload: Value) -> anyhow::Result<Outcome> {
        let request_id = uuid::Uuid::new_v4().to_string();
        let (tx, rx) = oneshot::channel();
        self.shared
            .waiting
            .lock()
            .unwrap()
            .insert(request_id.clone(), tx);
        self.sender
            .send(Pending {
                request_id,
                payload,
            })
            .map_err(|_| anyhow::anyhow!("runtime stopped"))?;
        tokio::time::timeout(Duration::from_secs(900), rx)
            .await
            .context("no answer within 900 s (the nightly function's timeout)")?
            .context("runtime stopped")
    }
}

/// A deployable binary running against its own fake Runtime API, with the
/// environment Lambda gives a `provided.al2023` function.
pub struct Function {
    pub runtime: FakeRuntime,
    pub started: Instant,
    child: tokio::process::Child,
}

impl Function {
    pub async fn spawn(
        binary: &std::path::Path,
        vars: &HashMap<String, String>,
    ) -> anyhow::Result<Function> {
        let runtime = FakeRuntime::start().await?;
        let name = binary
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut command = tokio::process::Command::new(binary);
        command
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", runtime.addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", format!("csq-bench-{name}"))
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
            .env("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
            .env("_HANDLER", "bootstrap")
            .env("LAMBDA_TASK_ROOT", "/var/task")
            .env("TZ", ":UTC")
            .envs(vars)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(if std::env::var_os("CSQ_BENCH_LOGS").is_some() {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .kill_on_drop(true);
        let started = Instant::now();
        let child = command
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        Ok(Function {
            runtime,
            started,
            child,
        })
    }

    /// Init time: from exec to the first poll for work.
    pub async fn init(&self) -> anyhow::Result<Duration> {
        Ok(self.runtime.ready(Duration::from_secs(30)).await? - self.started)
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}
