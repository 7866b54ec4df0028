//! Lambda: the staff API behind the HTTP API's JWT authorizer.

use csq_aws::lambda::{env::STAFF_API, run_http};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    run_http(&STAFF_API, csq_core::http::staff::router).await
}
