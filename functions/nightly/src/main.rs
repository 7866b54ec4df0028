//! Lambda: the nightly job, the sweep and SES's bounce and complaint reports
//! (EventBridge Scheduler, Asia/Ho_Chi_Minh).

use csq_aws::lambda::{env::NIGHTLY, run_nightly};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    run_nightly(&NIGHTLY, |env| env.housekeeping()).await
}
