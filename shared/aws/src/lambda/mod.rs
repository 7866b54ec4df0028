//! What the Lambda functions share: configuration from the environment, the
//! clients built once per container, the staff identity from the JWT
//! authorizer, and the SQS and schedule handlers. Each `functions/*/main.rs`
//! picks its spec and calls one `run_*` here.

pub mod emf;
pub mod env;
pub mod events;
pub mod sdk;
pub mod staff_auth;

pub use env::{FunctionEnv, FunctionSpec, SPECS};

use csq_core::app::{CaseHandling, Housekeeping};

/// Structured JSON logs, as CloudWatch Logs Insights reads them. No secrets or
/// tokens are ever logged by the core.
///
/// The level comes from the function's log configuration (`AWS_LAMBDA_LOG_LEVEL`,
/// set by the template's `ApplicationLogLevel`), else `RUST_LOG` as a plain level.
pub fn init_logging() {
    let level = ["AWS_LAMBDA_LOG_LEVEL", "RUST_LOG"]
        .iter()
        .find_map(|name| std::env::var(name).ok()?.trim().parse().ok())
        .unwrap_or(tracing_subscriber::filter::LevelFilter::INFO);
    let _ = tracing_subscriber::fmt()
        .json()
        .with_max_level(level)
        .with_target(false)
        // Each line carries its request span (request id, route).
        .with_current_span(true)
        .with_span_list(false)
        .without_time()
        .try_init();
}

/// The function's core from its environment. A failure (a variable or a
/// parameter missing) is posted to the Runtime API's `/init/error` with its
/// message before the process ends, so Lambda shows why rather than a bare
/// exit. The messages name variables and parameters, never their values.
async fn init(spec: &'static FunctionSpec) -> Result<FunctionEnv, lambda_runtime::Error> {
    match FunctionEnv::from_process_env(spec).await {
        Ok(env) => Ok(env),
        Err(e) => {
            let message = format!("{e:#}");
            tracing::error!(error = %message, "function init failed");
            report_init_error(&message).await;
            Err(message.into())
        }
    }
}

async fn report_init_error(message: &str) {
    let body = serde_json::json!({"errorType": "Runtime.InitError", "errorMessage": message});
    let sent = async {
        let client = lambda_runtime_api_client::Client::builder().build()?;
        let request = lambda_runtime_api_client::build_request()
            .method("POST")
            .uri("/2018-06-01/runtime/init/error")
            .header("lambda-runtime-function-error-type", "Runtime.InitError")
            .body(lambda_runtime_api_client::body::Body::from(
                body.to_string(),
            ))?;
        client.call(request).await?;
        Ok::<_, lambda_runtime::Error>(())
    };
    if let Err(e) = sent.await {
        tracing::error!(error = %e, "init failure not reported to the Runtime API");
    }
}

/// A function's services from its environment, at init: a failure is
/// reported like a missing variable.
async fn build<T>(
    spec: &'static FunctionSpec,
    services: impl FnOnce(&FunctionEnv) -> anyhow::Result<T>,
) -> Result<T, lambda_runtime::Error> {
    let env = init(spec).await?;
    match services(&env) {
        Ok(built) => Ok(built),
        Err(e) => {
            let message = format!("{e:#}");
            tracing::error!(error = %message, "function init failed");
            report_init_error(&message).await;
            Err(message.into())
        }
    }
}

/// Serves one of the core's HTTP routers on Lambda, over the services the
/// function's main builds for it.
pub async fn run_http(
    spec: &'static FunctionSpec,
    router: impl FnOnce(&FunctionEnv) -> anyhow::Result<axum::Router>,
) -> Result<(), lambda_http::Error> {
    init_logging();
    let app = build(spec, router)
        .await?
        .layer(axum::middleware::from_fn(gateway_request_id));
    lambda_http::run(app).await
}

/// API Gateway's request id, for the core's request span (and its logs).
async fn gateway_request_id(
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    if let Some(lambda_http::request::RequestContext::ApiGatewayV2(ctx)) =
        req.extensions()
            .get::<lambda_http::request::RequestContext>()
        && let Some(id) = ctx.request_id.clone()
    {
        req.extensions_mut().insert(csq_core::http::RequestId(id));
    }
    next.run(req).await
}

/// The complaint router: an SQS event source with partial batch failures.
pub async fn run_complaint_router(
    spec: &'static FunctionSpec,
    services: impl FnOnce(&FunctionEnv) -> anyhow::Result<CaseHandling>,
) -> Result<(), lambda_runtime::Error> {
    init_logging();
    let cases = build(spec, services).await?;
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<aws_lambda_events::event::sqs::SqsEvent>| {
            let cases = cases.clone();
            async move {
                Ok::<_, lambda_runtime::Error>(events::route_sqs_batch(&cases, event.payload).await)
            }
        },
    ))
    .await
}

/// The nightly job and the frequent sweep, started by EventBridge schedules.
pub async fn run_nightly(
    spec: &'static FunctionSpec,
    services: impl FnOnce(&FunctionEnv) -> anyhow::Result<Housekeeping>,
) -> Result<(), lambda_runtime::Error> {
    init_logging();
    let housekeeping = build(spec, services).await?;
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<serde_json::Value>| {
            let housekeeping = housekeeping.clone();
            async move {
                events::scheduled(&housekeeping, &event.payload)
                    .await
                    .map_err(lambda_runtime::Error::from)
            }
        },
    ))
    .await
}
