//! The one HTTP(S) client of the local host's outbound calls (webhook
//! deliveries, the identity provider's keys): hyper with rustls over the
//! system's CA roots (an authority's own CA included) and ring, the crypto
//! provider the AWS SDK uses too, so the whole build has one.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use http_body_util::BodyExt;

pub type HttpClient = hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    http_body_util::Full<hyper::body::Bytes>,
>;

pub fn client() -> anyhow::Result<HttpClient> {
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(Arc::new(rustls::crypto::ring::default_provider()))?
        .https_or_http()
        .enable_http1()
        .build();
    Ok(
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build(https),
    )
}

/// GETs a JSON document (at most 1 MiB, within ten seconds).
pub async fn get_json<T: serde::de::DeserializeOwned>(url: &str) -> anyhow::Result<T> {
    let uri: hyper::Uri = url
        .parse()
        .with_context(|| format!("{url:?} is not a URL"))?;
    let req = hyper::Request::get(uri)
        .header("accept", "application/json")
        .body(http_body_util::Full::new(hyper::body::Bytes::new()))?;
    let res = tokio::time::timeout(Duration::from_secs(10), client()?.request(req))
        .await
        .with_context(|| format!("{url} did not answer in time"))??;
    anyhow::ensure!(res.status().is_success(), "{url} answered {}", res.status());
    let body = http_body_util::Limited::new(res.into_body(), 1 << 20)
        .collect()
        .await
        .map_err(|e| anyhow::anyhow!("{url}: {e}"))?
        .to_bytes();
    serde_json::from_slice(&body).with_context(|| format!("{url} did not answer the JSON expected"))
}
