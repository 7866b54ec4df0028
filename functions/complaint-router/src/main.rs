//! Lambda: consumes the complaint queue (SQS, partial batch failures) and opens cases.

use csq_aws::lambda::{env::COMPLAINT_ROUTER, run_complaint_router};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    run_complaint_router(&COMPLAINT_ROUTER, |env| env.case_handling()).await
}
