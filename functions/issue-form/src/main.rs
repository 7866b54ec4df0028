//! Lambda: `POST /v1/forms`, the declaration system's integration route (IAM auth).

use csq_aws::lambda::{env::ISSUE_FORM, run_http};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    run_http(&ISSUE_FORM, csq_core::http::integration::router).await
}
