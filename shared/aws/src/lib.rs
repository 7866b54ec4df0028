//! AWS adapters for CSQ (DynamoDB, SESv2, SQS, EventBridge) and the Lambda glue that the
//! functions in `functions/` share. The same port contracts as the embedded
//! adapters hold here (`csq-contract`, run against an emulator).

pub mod dynamo;
pub mod eventbridge;
pub mod lambda;
pub mod ses;
pub mod sqs;

/// The HTTPS client of every SDK client: hyper and rustls with ring, the one
/// crypto provider of the whole build, and the system's CA roots.
pub fn https_client() -> aws_sdk_dynamodb::config::SharedHttpClient {
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// SDK configuration for a given endpoint (the emulator in tests) with static
/// test credentials; the functions use `lambda::sdk::from_lambda_env`.
pub fn emulator_config(endpoint: &str) -> aws_types::SdkConfig {
    aws_types::SdkConfig::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .region(aws_types::region::Region::new("ap-southeast-1"))
        .endpoint_url(endpoint)
        .http_client(https_client())
        .credentials_provider(aws_sdk_dynamodb::config::SharedCredentialsProvider::new(
            aws_sdk_dynamodb::config::Credentials::new(
                "testing",
                "testing",
                None,
                None,
                "csq-emulator",
            ),
        ))
        .build()
}
