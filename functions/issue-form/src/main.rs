//! Lambda: `POST /v1/forms`, the declaration system's integration route (IAM auth).

use csq_aws::lambda::{env::ISSUE_FORM, run_http};
use csq_core::http::{IntegrationApi, integration};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    run_http(&ISSUE_FORM, |env| {
        Ok(integration::router(IntegrationApi {
            issuance: env.issuance()?,
            auth: env.integration_auth(),
        }))
    })
    .await
}
