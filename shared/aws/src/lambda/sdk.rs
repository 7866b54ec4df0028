//! The SDK configuration of a function, from what Lambda puts in its environment.
//!
//! aws-config's loader would walk its provider chains (profile files, SSO,
//! web identity, IMDS) before finding what Lambda always sets: the region and the
//! execution role's credentials in environment variables. Reading them directly
//! keeps init to the one SSM round trip and leaves those chains (and the STS
//! client they carry) out of the binaries.

use anyhow::Context;
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_dynamodb::config::BehaviorVersion;
use aws_types::SdkConfig;
use aws_types::region::Region;

/// Region, credentials and (for the emulator) an endpoint, from the environment.
pub fn from_lambda_env() -> anyhow::Result<SdkConfig> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let region = var("AWS_REGION")
        .or_else(|| var("AWS_DEFAULT_REGION"))
        .context("AWS_REGION is not set (Lambda always sets it)")?;
    let credentials = Credentials::new(
        var("AWS_ACCESS_KEY_ID").context("AWS_ACCESS_KEY_ID is not set")?,
        var("AWS_SECRET_ACCESS_KEY").context("AWS_SECRET_ACCESS_KEY is not set")?,
        var("AWS_SESSION_TOKEN"),
        None,
        "lambda-environment",
    );
    let mut config = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region))
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .http_client(crate::https_client());
    // Not set on Lambda; the benchmark and local runs point the SDK at an emulator.
    if let Some(endpoint) = var("AWS_ENDPOINT_URL") {
        config = config.endpoint_url(endpoint);
    }
    Ok(config.build())
}
