//! Lambda: the nightly job (EventBridge Scheduler, Asia/Ho_Chi_Minh).

use csq_aws::lambda::{env::NIGHTLY, run_nightly};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    run_nightly(&NIGHTLY).await
}
