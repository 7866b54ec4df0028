//! Lambda: the staff API behind the HTTP API's JWT authorizer, and the
//! business's outcome pages of its cases.

use csq_aws::lambda::{env::STAFF_API, run_http};
use csq_core::http::{StaffApi, staff};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    run_http(&STAFF_API, |env| {
        Ok(staff::router(StaffApi {
            records: env.records(),
            figures: env.figures(),
            directory: env.directory(),
            case_handling: env.case_handling()?,
            channels: env.channels(),
            data_requests: env.data_requests(),
            watch: env.watch(),
            pages: env.pages(),
            auth: env.staff_auth(),
            // Staff sign in at the identity provider; no local sessions here.
            sessions: None,
            identity_provider: env.identity_provider(),
            first_administrator: env.first_administrator(),
        }))
    })
    .await
}
