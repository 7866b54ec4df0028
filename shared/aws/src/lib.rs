//! AWS adapters for CSQ (DynamoDB, SESv2, SQS, EventBridge) and the Lambda glue that the
//! functions in `functions/` share. The same port contracts as the embedded
//! adapters hold here (`csq-contract`, run against an emulator).

pub mod dynamo;
pub mod eventbridge;
pub mod lambda;
pub mod ses;
pub mod sqs;

/// SDK configuration for a given endpoint (the emulator in tests) with static
/// test credentials; production uses `aws_config::load_defaults`.
pub fn emulator_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("ap-southeast-1"))
        .endpoint_url(endpoint)
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
