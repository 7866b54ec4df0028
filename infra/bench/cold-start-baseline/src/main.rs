//! The cold-start baseline of `scripts/bench.sh`: a hello-world Lambda that does only
//! what every CSQ function cannot avoid at init — set up the SDK as the functions do and read
//! one SSM parameter (named by `CSQ_BASELINE_PARAMETER`) — then echoes each event.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let sdk = csq_aws::lambda::sdk::from_lambda_env()?;
    let name = std::env::var("CSQ_BASELINE_PARAMETER")?;
    let value = aws_sdk_ssm::Client::new(&sdk)
        .get_parameter()
        .name(name)
        .with_decryption(true)
        .send()
        .await?
        .parameter
        .and_then(|p| p.value)
        .unwrap_or_default();
    let length = value.len();
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        Ok::<_, Error>(serde_json::json!({ "echo": event.payload, "parameter_length": length }))
    }))
    .await
}
